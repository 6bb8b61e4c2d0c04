/** PSCI function ids (SMC Calling Convention, 64-bit where both exist) and return codes. */
export const PsciFunction = {
  VERSION: 0x8400_0000,
  CPU_SUSPEND_64: 0xc400_0001,
  CPU_OFF: 0x8400_0002,
  CPU_ON_64: 0xc400_0003,
  AFFINITY_INFO_64: 0xc400_0004,
  MIGRATE_INFO_TYPE: 0x8400_0006,
  SYSTEM_OFF: 0x8400_0008,
  SYSTEM_RESET: 0x8400_0009,
  FEATURES: 0x8400_000a,
} as const

export const PsciReturn = {
  SUCCESS: 0,
  NOT_SUPPORTED: -1,
  INVALID_PARAMETERS: -2,
  DENIED: -3,
  ALREADY_ON: -4,
  ON_PENDING: -5,
  INTERNAL_FAILURE: -6,
  NOT_PRESENT: -7,
  DISABLED: -8,
  INVALID_ADDRESS: -9,
} as const

/** PSCI 1.1 as reported by PSCI_VERSION: major in 31:16, minor in 15:0. */
export const PSCI_VERSION_1_1 = (1 << 16) | 1

/** Further SMCCC / PSCI 1.x function ids KVM answers. */
export const SmcccFunction = {
  SMCCC_VERSION: 0x8000_0000,
  SMCCC_ARCH_FEATURES: 0x8000_0001,
  CPU_SUSPEND_32: 0x8400_0001,
  CPU_ON_32: 0x8400_0003,
  AFFINITY_INFO_32: 0x8400_0004,
  SYSTEM_RESET2_32: 0x8400_0012,
  SYSTEM_RESET2_64: 0xc400_0012,
} as const

/** SMCCC version KVM reports (ARM_SMCCC_VERSION_1_1). */
export const SMCCC_VERSION_1_1 = 0x10001
/** AFFINITY_INFO results. */
export const PSCI_AFFINITY_ON = 0
export const PSCI_AFFINITY_OFF = 1
/** MIGRATE_INFO_TYPE: no Trusted OS that needs migration (PSCI_0_2_TOS_MP). */
export const PSCI_TOS_MP = 2
/** KVM_SYSTEM_EVENT_* types and the PSCI SYSTEM_RESET2 flag (include/uapi/linux/kvm.h). */
export const KVM_SYSTEM_EVENT_SHUTDOWN = 1
export const KVM_SYSTEM_EVENT_RESET = 2
export const KVM_SYSTEM_EVENT_RESET_FLAG_PSCI_RESET2 = 1n

/** MPIDR_EL1 affinity bits a PSCI caller may name (MPIDR_HWID_BITMASK). */
export const MPIDR_HWID_BITMASK = 0xff00ffffffn

/** MPIDR_EL1 KVM gives vCPU `id` (reset_mpidr): Aff0 = id[3:0], Aff1 = id[11:4], Aff2 = id[19:12], bit 31 RES1. */
export function mpidrForVcpu(id: number): bigint {
  const aff0 = id & 0xf
  const aff1 = (id >>> 4) & 0xff
  const aff2 = (id >>> 12) & 0xff
  return (1n << 31n) | BigInt(aff0 | (aff1 << 8) | (aff2 << 16))
}

/** What the PSCI code needs to know about, and do to, the vCPUs of a VM. */
export interface PsciVcpu {
  readonly mpidr: bigint
  readonly stopped: boolean
}

/** The outcome of one SMCCC call (HVC #0 or SMC #0). */
export type SmcccResult =
  /** Write x0 (and keep running). */
  | { readonly kind: 'return'; readonly x0: bigint }
  /** Power this vCPU off (CPU_OFF); x0 is not written. */
  | { readonly kind: 'cpu-off' }
  /** Start `target`: reset it, PC = entry, X0 = context id; caller gets SUCCESS. */
  | { readonly kind: 'cpu-on'; readonly target: number; readonly entry: bigint; readonly contextId: bigint }
  /** Exit to the VMM with KVM_EXIT_SYSTEM_EVENT; x0 preloaded with INTERNAL_FAILURE. */
  | { readonly kind: 'system-event'; readonly type: number; readonly flags: bigint }
  /** CPU_SUSPEND: behaves as WFI, returns SUCCESS. */
  | { readonly kind: 'suspend' }

const U64 = (1n << 64n) - 1n
function ret(value: number): SmcccResult {
  return { kind: 'return', x0: BigInt(value) & U64 }
}

/** PSCI_AFFINITY_MASK for a lowest affinity level (0 when the level is above 3). */
function affinityMask(level: bigint): bigint {
  if (level > 3n) return 0n
  const shift = BigInt(((1 << Number(level)) >> 1) << 3)
  return MPIDR_HWID_BITMASK & ~((1n << shift) - 1n) & U64
}

/** PSCI versions a VMM can select through the KVM_REG_ARM_PSCI_VERSION pseudo-register. */
export const KVM_ARM_PSCI_0_1 = 0
export const KVM_ARM_PSCI_0_2 = 2
export const KVM_ARM_PSCI_1_0 = 0x10000
export const KVM_ARM_PSCI_1_1 = PSCI_VERSION_1_1
/** PSCI 0.1 function ids KVM defines (KVM_PSCI_FN_BASE + n). */
export const KVM_PSCI_FN_CPU_OFF = 0x95c1_ba5f
export const KVM_PSCI_FN_CPU_ON = 0x95c1_ba60

/**
 * KVM's SMCCC handler with in-kernel PSCI (arch/arm64/kvm/hypercalls.c, psci.c): `args`
 * are X0..X3 of the caller, `vcpus` every vCPU of the VM in id order, `version` the
 * VM's PSCI version (1.1 unless the VMM chose another).
 */
export function handleSmcccCall(
  args: readonly [bigint, bigint, bigint, bigint],
  vcpus: readonly PsciVcpu[],
  version: number = KVM_ARM_PSCI_1_1,
): SmcccResult {
  const fn = Number(args[0] & 0xffff_ffffn)
  if (version === KVM_ARM_PSCI_0_1) return psci01(fn, args, vcpus)
  if (fn === SmcccFunction.SYSTEM_RESET2_32 || fn === SmcccFunction.SYSTEM_RESET2_64) {
    if (version < KVM_ARM_PSCI_1_1) return ret(PsciReturn.NOT_SUPPORTED)
  }
  if (fn === PsciFunction.FEATURES && version < KVM_ARM_PSCI_1_0) return ret(PsciReturn.NOT_SUPPORTED)
  if (fn === PsciFunction.VERSION) return ret(version)
  return psci1x(fn, args, vcpus)
}

/** PSCI 0.1: only KVM's own CPU_OFF and CPU_ON ids; errors are INVALID_PARAMETERS. */
function psci01(fn: number, args: readonly [bigint, bigint, bigint, bigint], vcpus: readonly PsciVcpu[]): SmcccResult {
  if (fn === KVM_PSCI_FN_CPU_OFF) return { kind: 'cpu-off' }
  if (fn !== KVM_PSCI_FN_CPU_ON) return ret(PsciReturn.NOT_SUPPORTED)
  const result = psci1x(PsciFunction.CPU_ON_64, [BigInt(PsciFunction.CPU_ON_64), args[1], args[2], 0n], vcpus)
  return result.kind === 'return' ? ret(PsciReturn.INVALID_PARAMETERS) : result
}

function psci1x(fn: number, args: readonly [bigint, bigint, bigint, bigint], vcpus: readonly PsciVcpu[]): SmcccResult {
  // SMC32 function ids take 32-bit arguments (kvm_psci_narrow_to_32bit).
  const narrow = (v: bigint): bigint => ((fn & 0x4000_0000) === 0 ? v & 0xffff_ffffn : v)
  const a1 = narrow(args[1])
  const a2 = narrow(args[2])
  const a3 = narrow(args[3])
  switch (fn) {
    case SmcccFunction.SMCCC_VERSION:
      return ret(SMCCC_VERSION_1_1)
    case SmcccFunction.SMCCC_ARCH_FEATURES:
      return ret(PsciReturn.NOT_SUPPORTED)
    case PsciFunction.VERSION:
      return ret(PSCI_VERSION_1_1)
    case SmcccFunction.CPU_SUSPEND_32:
    case PsciFunction.CPU_SUSPEND_64:
      return { kind: 'suspend' }
    case PsciFunction.CPU_OFF:
      return { kind: 'cpu-off' }
    case SmcccFunction.CPU_ON_32:
    case PsciFunction.CPU_ON_64: {
      if (a1 & ~MPIDR_HWID_BITMASK) return ret(PsciReturn.INVALID_PARAMETERS)
      const target = vcpus.findIndex((v) => (v.mpidr & MPIDR_HWID_BITMASK) === a1)
      if (target < 0) return ret(PsciReturn.INVALID_PARAMETERS)
      if (!(vcpus[target] as PsciVcpu).stopped) return ret(PsciReturn.ALREADY_ON)
      return { kind: 'cpu-on', target, entry: a2, contextId: a3 }
    }
    case SmcccFunction.AFFINITY_INFO_32:
    case PsciFunction.AFFINITY_INFO_64: {
      if (a1 & ~MPIDR_HWID_BITMASK) return ret(PsciReturn.INVALID_PARAMETERS)
      const mask = affinityMask(a2)
      if (mask === 0n) return ret(PsciReturn.INVALID_PARAMETERS)
      const target = a1 & mask
      const on = vcpus.some((v) => (v.mpidr & mask) === target && !v.stopped)
      return ret(on ? PSCI_AFFINITY_ON : PSCI_AFFINITY_OFF)
    }
    case PsciFunction.MIGRATE_INFO_TYPE:
      return ret(PSCI_TOS_MP)
    case PsciFunction.SYSTEM_OFF:
      return { kind: 'system-event', type: KVM_SYSTEM_EVENT_SHUTDOWN, flags: 0n }
    case PsciFunction.SYSTEM_RESET:
      return { kind: 'system-event', type: KVM_SYSTEM_EVENT_RESET, flags: 0n }
    case SmcccFunction.SYSTEM_RESET2_32:
    case SmcccFunction.SYSTEM_RESET2_64: {
      // Architectural warm reset (0) or a vendor reset (bit 31); anything else is invalid.
      const resetType = Number(a1 & 0xffff_ffffn)
      if (resetType === 0 || (resetType & 0x8000_0000) !== 0) {
        return { kind: 'system-event', type: KVM_SYSTEM_EVENT_RESET, flags: KVM_SYSTEM_EVENT_RESET_FLAG_PSCI_RESET2 }
      }
      return ret(PsciReturn.INVALID_PARAMETERS)
    }
    case PsciFunction.FEATURES:
      return ret(psciFeature(Number(a1 & 0xffff_ffffn)))
    default:
      return ret(PsciReturn.NOT_SUPPORTED)
  }
}

/** PSCI_FEATURES: 0 for each function KVM implements (PSCI 1.1), NOT_SUPPORTED otherwise. */
function psciFeature(fn: number): number {
  switch (fn) {
    case PsciFunction.VERSION:
    case SmcccFunction.CPU_SUSPEND_32:
    case PsciFunction.CPU_SUSPEND_64:
    case PsciFunction.CPU_OFF:
    case SmcccFunction.CPU_ON_32:
    case PsciFunction.CPU_ON_64:
    case SmcccFunction.AFFINITY_INFO_32:
    case PsciFunction.AFFINITY_INFO_64:
    case PsciFunction.MIGRATE_INFO_TYPE:
    case PsciFunction.SYSTEM_OFF:
    case PsciFunction.SYSTEM_RESET:
    case PsciFunction.FEATURES:
    case SmcccFunction.SMCCC_VERSION:
    case SmcccFunction.SYSTEM_RESET2_32:
    case SmcccFunction.SYSTEM_RESET2_64:
      return PsciReturn.SUCCESS
    default:
      return PsciReturn.NOT_SUPPORTED
  }
}
