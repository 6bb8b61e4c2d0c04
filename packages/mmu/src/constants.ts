/** What an access does. LDTR/STTR at EL1 are passed as EL0 accesses. */
export type AccessKind = 0 | 1 | 2
export const ACCESS_READ = 0
export const ACCESS_WRITE = 1
export const ACCESS_FETCH = 2

// Flag bits of a TLB entry (Tlb.flags). One bit per (EL, access, PAN) case, so the hot
// path checks a permission with a single AND.
export const PERM_EL0_R = 1 << 0
export const PERM_EL0_W = 1 << 1
export const PERM_EL0_X = 1 << 2
export const PERM_EL1_R = 1 << 3
export const PERM_EL1_W = 1 << 4
export const PERM_EL1_X = 1 << 5
/** EL1 data read/write allowed while PSTATE.PAN=1 (PAN, and EPAN when SCTLR_EL1.EPAN=1). */
export const PERM_EL1_PAN_R = 1 << 6
export const PERM_EL1_PAN_W = 1 << 7
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

export type FaultKind = number
export const FAULT_NONE = 0
export const FAULT_TRANSLATION = 1
export const FAULT_ACCESS_FLAG = 2
export const FAULT_PERMISSION = 3
export const FAULT_ADDRESS_SIZE = 4
export const FAULT_ALIGNMENT = 5
/** Synchronous external abort on a table walk: the descriptor's PA is not backed by memory. */
export const FAULT_EXTERNAL_ON_WALK = 6

/** TLBI operations (the IS forms map to the same value: one vCPU's TLB). */
export type TlbiOp = number
export const TLBI_VMALLE1 = 0
export const TLBI_VAE1 = 1
export const TLBI_VALE1 = 2
export const TLBI_ASIDE1 = 3
export const TLBI_VAAE1 = 4
export const TLBI_VAALE1 = 5
export const TLBI_IPAS2E1 = 6
export const TLBI_IPAS2LE1 = 7
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
