/**
 * KVM_GET_ONE_REG / KVM_SET_ONE_REG register ids for arm64 (arch/arm64/include/uapi/asm/kvm.h).
 * Ids are 64-bit, so they are bigints here (an API edge, never a hot path).
 */
export const KVM_REG_ARM64 = 0x6000_0000_0000_0000n
export const KVM_REG_SIZE_SHIFT = 52n
export const KVM_REG_SIZE_MASK = 0x00f0_0000_0000_0000n
export const KVM_REG_SIZE_U32 = 0x0020_0000_0000_0000n
export const KVM_REG_SIZE_U64 = 0x0030_0000_0000_0000n
export const KVM_REG_SIZE_U128 = 0x0040_0000_0000_0000n
export const KVM_REG_ARM_COPROC_MASK = 0x0000_0000_0fff_0000n
export const KVM_REG_ARM_CORE = 0x0010n << 16n
export const KVM_REG_ARM64_SYSREG = 0x0013n << 16n
export const KVM_REG_ARM_FW = 0x0014n << 16n

/** Bytes of a register with this id (1 << size field). */
export function oneRegSize(id: bigint): number {
  return 1 << Number((id & KVM_REG_SIZE_MASK) >> KVM_REG_SIZE_SHIFT)
}

/**
 * Byte offsets in struct kvm_regs: user_pt_regs { regs[31], sp, pc, pstate }, sp_el1,
 * elr_el1, spsr[5], then user_fpsimd_state { vregs[32] (128-bit), fpsr, fpcr }, which
 * starts 16-byte aligned (offset 336, not 328).
 */
export const CoreOffset = {
  X0: 0,
  SP: 31 * 8,
  PC: 32 * 8,
  PSTATE: 33 * 8,
  SP_EL1: 34 * 8,
  ELR_EL1: 35 * 8,
  SPSR: 36 * 8,
  V0: 42 * 8,
  FPSR: 42 * 8 + 32 * 16,
  FPCR: 42 * 8 + 32 * 16 + 4,
} as const

/** KVM_REG_ARM_CORE_REG(offset) with its size: the index is the byte offset / 4. */
export function coreRegId(offset: number, size: 4 | 8 | 16 = 8): bigint {
  const sizeBits = size === 4 ? KVM_REG_SIZE_U32 : size === 8 ? KVM_REG_SIZE_U64 : KVM_REG_SIZE_U128
  return KVM_REG_ARM64 | sizeBits | KVM_REG_ARM_CORE | BigInt(offset / 4)
}

/** Core register ids a VMM uses most. */
export function xRegId(n: number): bigint {
  if (!Number.isInteger(n) || n < 0 || n > 30) throw new RangeError(`X register ${n} is not 0..30`)
  return coreRegId(CoreOffset.X0 + 8 * n)
}
/** fp_regs.vregs[n] (n = 0..31): a 128-bit core register. */
export function vRegId(n: number): bigint {
  if (!Number.isInteger(n) || n < 0 || n > 31) throw new RangeError(`V register ${n} is not 0..31`)
  return coreRegId(CoreOffset.V0 + 16 * n, 16)
}
export const REG_SP = coreRegId(CoreOffset.SP)
export const REG_PC = coreRegId(CoreOffset.PC)
export const REG_PSTATE = coreRegId(CoreOffset.PSTATE)
export const REG_SP_EL1 = coreRegId(CoreOffset.SP_EL1)
export const REG_ELR_EL1 = coreRegId(CoreOffset.ELR_EL1)
/** spsr[KVM_SPSR_EL1 = 0]. */
export const REG_SPSR_EL1 = coreRegId(CoreOffset.SPSR)
/** fp_regs.fpsr: FPSR as a 32-bit core register. */
export const REG_FPSR = coreRegId(CoreOffset.FPSR, 4)
/** fp_regs.fpcr: FPCR as a 32-bit core register. */
export const REG_FPCR = coreRegId(CoreOffset.FPCR, 4)

/** ARM64_SYS_REG(op0, op1, CRn, CRm, op2): the 16-bit key under KVM_REG_ARM64_SYSREG. */
export function sysregId(op0: number, op1: number, crn: number, crm: number, op2: number): bigint {
  return sysregIdFromKey((op0 << 14) | (op1 << 11) | (crn << 7) | (crm << 3) | op2)
}

export function sysregIdFromKey(key: number): bigint {
  return KVM_REG_ARM64 | KVM_REG_SIZE_U64 | KVM_REG_ARM64_SYSREG | BigInt(key & 0xffff)
}

/** The MTE registers of kvm-mte.md §3 (visible only when the VM has KVM_CAP_ARM_MTE). */
export const REG_RGSR_EL1 = sysregId(3, 0, 1, 0, 5)
export const REG_GCR_EL1 = sysregId(3, 0, 1, 0, 6)
export const REG_TFSR_EL1 = sysregId(3, 0, 5, 6, 0)
export const REG_TFSRE0_EL1 = sysregId(3, 0, 5, 6, 1)
export const REG_ID_AA64PFR1_EL1 = sysregId(3, 0, 0, 4, 1)

/** KVM_REG_ARM_FW_REG(0): the PSCI version the guest sees. */
export const REG_PSCI_VERSION = KVM_REG_ARM64 | KVM_REG_SIZE_U64 | KVM_REG_ARM_FW | 0n

export type DecodedRegId =
  | { readonly kind: 'core'; readonly offset: number; readonly size: number }
  | { readonly kind: 'sysreg'; readonly key: number }
  | { readonly kind: 'fw'; readonly index: number }

/** Splits an id into its class; undefined for ids that are not arm64 ids this model knows. */
export function decodeRegId(id: bigint): DecodedRegId | undefined {
  if (id < 0n || id >> 64n !== 0n) return undefined
  if ((id & 0xff00_0000_0000_0000n) !== KVM_REG_ARM64) return undefined
  const size = oneRegSize(id)
  const coproc = id & KVM_REG_ARM_COPROC_MASK
  const rest = id & ~(KVM_REG_ARM64 | KVM_REG_SIZE_MASK | KVM_REG_ARM_COPROC_MASK)
  if (coproc === KVM_REG_ARM_CORE) return { kind: 'core', offset: Number(rest) * 4, size }
  if (coproc === KVM_REG_ARM64_SYSREG && size === 8 && rest <= 0xffffn) return { kind: 'sysreg', key: Number(rest) }
  if (coproc === KVM_REG_ARM_FW && size === 8 && rest <= 0xffffn) return { kind: 'fw', index: Number(rest) }
  return undefined
}
