/** What an access does. LDTR/STTR at EL1 are passed as EL0 accesses. */
export type AccessKind = 0 | 1 | 2
/** A data read. */
export const ACCESS_READ = 0
/** A data write (also the write half of an atomic or CAS). */
export const ACCESS_WRITE = 1
/** An instruction fetch. */
export const ACCESS_FETCH = 2

// Flag bits of a TLB entry (Tlb.flags). One bit per (EL, access, PAN) case, so the hot
// path checks a permission with a single AND.
/** EL0 may read. */
export const PERM_EL0_R = 1 << 0
/** EL0 may write. */
export const PERM_EL0_W = 1 << 1
/** EL0 may execute. */
export const PERM_EL0_X = 1 << 2
/** EL1 may read (PSTATE.PAN=0). */
export const PERM_EL1_R = 1 << 3
/** EL1 may write (PSTATE.PAN=0). */
export const PERM_EL1_W = 1 << 4
/** EL1 may execute. */
export const PERM_EL1_X = 1 << 5
/** EL1 data read/write allowed while PSTATE.PAN=1 (PAN, and EPAN when SCTLR_EL1.EPAN=1). */
export const PERM_EL1_PAN_R = 1 << 6
/** EL1 data write allowed while PSTATE.PAN=1. */
export const PERM_EL1_PAN_W = 1 << 7
/** Every permission bit: a mapping anyone may read, write and execute. */
export const PERM_ALL = 0xff
/** Entry survives ASID changes (nG=0, or stage 1 off). */
export const TLB_GLOBAL = 1 << 8
/** Combined memory type is Device (unaligned data accesses fault; no speculation). */
export const TLB_DEVICE = 1 << 9
/** Combined memory is Normal Tagged: data accesses are tag-checked here. */
export const TLB_TAGGED = 1 << 10
/** Bits 23:16 of the flags hold the combined attributes as a MAIR byte (for PAR_EL1). */
export const TLB_ATTR_SHIFT = 16

/** The single flag bit an access needs in a TLB entry's flags. */
export function permissionBit(el: 0 | 1, access: AccessKind, pan: boolean): number {
  if (el === 0) return access === ACCESS_READ ? PERM_EL0_R : access === ACCESS_WRITE ? PERM_EL0_W : PERM_EL0_X
  if (access === ACCESS_FETCH) return PERM_EL1_X
  if (access === ACCESS_READ) return pan ? PERM_EL1_PAN_R : PERM_EL1_R
  return pan ? PERM_EL1_PAN_W : PERM_EL1_W
}

/** Why a translation failed: one of the FAULT_* values (the kinds ESR's fault status code encodes). */
export type FaultKind = number
/** The translation succeeded. */
export const FAULT_NONE = 0
/** No valid descriptor at some level (DFSC/IFSC 0b0001LL). */
export const FAULT_TRANSLATION = 1
/** The descriptor's access flag is clear (0b0010LL). */
export const FAULT_ACCESS_FLAG = 2
/** The access is not permitted by the descriptor's permissions (0b0011LL). */
export const FAULT_PERMISSION = 3
/** An address or table base beyond the configured output or input size (0b0000LL). */
export const FAULT_ADDRESS_SIZE = 4
/** An unaligned access where one is not allowed, e.g. to Device memory (DFSC 0b100001). */
export const FAULT_ALIGNMENT = 5
/** Synchronous external abort on a table walk: the descriptor's PA is not backed by memory. */
export const FAULT_EXTERNAL_ON_WALK = 6

/** TLBI operations (the IS forms map to the same value: one vCPU's TLB). */
export type TlbiOp = number
/** TLBI VMALLE1: every stage-1 entry of the current VMID. */
export const TLBI_VMALLE1 = 0
/** TLBI VAE1: one VA, for the operand's ASID and for global entries. */
export const TLBI_VAE1 = 1
/** TLBI VALE1: as VAE1, last level only. */
export const TLBI_VALE1 = 2
/** TLBI ASIDE1: every non-global entry of one ASID. */
export const TLBI_ASIDE1 = 3
/** TLBI VAAE1: one VA for every ASID. */
export const TLBI_VAAE1 = 4
/** TLBI VAALE1: as VAAE1, last level only. */
export const TLBI_VAALE1 = 5
/** TLBI IPAS2E1: stage-2 entries for one IPA of the current VMID. */
export const TLBI_IPAS2E1 = 6
/** TLBI IPAS2LE1: as IPAS2E1, last level only. */
export const TLBI_IPAS2LE1 = 7
/** TLBI VMALLS12E1: every stage-1 and stage-2 entry of the current VMID. */
export const TLBI_VMALLS12E1 = 8

/**
 * ID register fields describing what this MMU implements, as hi/lo halves with only
 * MMU fields set (the CPU ORs in its own fields; the hypervisor may hide some from a guest).
 * ID_AA64MMFR0_EL1: PARange 48 bits, ASIDBits 16, TGran4/16/64 supported at stage 1 and
 * (TGranX_2 = 0b0010) at stage 2. ID_AA64MMFR1_EL1: HAFDBS 0 (no hardware AF/dirty
 * updates), VMIDBits 16, HPDS, PAN 0b0011 (PAN3/EPAN), XNX. ID_AA64MMFR2_EL1: FWB.
 */
export const MMU_ID_FIELDS = {
  mmfr0Hi: 0x222,
  mmfr0Lo: 0x5 | (0b0010 << 4) | (0b0001 << 20),
  mmfr1Hi: 0,
  mmfr1Lo: (0b0010 << 4) | (0b0001 << 12) | (0b0011 << 20) | (0b0001 << 28),
  mmfr2Hi: 0b0001 << 8,
  mmfr2Lo: 0,
} as const
