/**
 * ESR_EL2 fields of a stage-2 abort, as KVM reads them (arch/arm64/include/asm/esr.h and
 * kvm_emulate.h). ESR values are unsigned 32-bit numbers.
 */
export const EC_IABT_LOWER = 0x20
export const EC_DABT_LOWER = 0x24

export const ISS_ISV = 1 << 24
export const ISS_SSE = 1 << 21
export const ISS_SF = 1 << 15
export const ISS_AR = 1 << 14
export const ISS_FNV = 1 << 10
export const ISS_EA = 1 << 9
export const ISS_CM = 1 << 8
export const ISS_S1PTW = 1 << 7
export const ISS_WNR = 1 << 6

/** HPFAR_EL2.FIPA is IPA[51:12] in bits 43:4 (PA bits 51:48 unused on a 48-bit model). */
export function ipaFromHpfar(hpfar: number): number {
  return Math.floor(hpfar / 16) * 4096
}

export function esrClass(esr: number): number {
  return esr >>> 26
}

export function esrFsc(esr: number): number {
  return esr & 0x3f
}

export function isTranslationFault(fsc: number): boolean {
  return (fsc & 0x3c) === 0x04
}

export function isAccessFlagFault(fsc: number): boolean {
  return (fsc & 0x3c) === 0x08
}

export function isPermissionFault(fsc: number): boolean {
  return (fsc & 0x3c) === 0x0c
}

/** Synchronous external abort, on access or on a table walk, incl. parity/ECC (kvm_vcpu_abt_issea). */
export function isExternalAbort(fsc: number): boolean {
  return fsc === 0x10 || fsc === 0x13 || (fsc >= 0x14 && fsc <= 0x18) || (fsc >= 0x1b && fsc <= 0x1f)
}

/** Data-abort ISS decoded for MMIO emulation (KVM's decode of the syndrome). */
export interface DataAbortSyndrome {
  readonly isv: boolean
  /** Access size in bytes: 1 << SAS. */
  readonly size: number
  readonly signExtend: boolean
  /** Register transferred (31 = XZR). */
  readonly srt: number
  /** 64-bit register (SF). */
  readonly sixtyFour: boolean
  readonly write: boolean
  readonly s1ptw: boolean
  readonly cacheMaintenance: boolean
}

export function decodeDataAbort(esr: number): DataAbortSyndrome {
  return {
    isv: (esr & ISS_ISV) !== 0,
    size: 1 << ((esr >>> 22) & 3),
    signExtend: (esr & ISS_SSE) !== 0,
    srt: (esr >>> 16) & 0x1f,
    sixtyFour: (esr & ISS_SF) !== 0,
    write: (esr & ISS_WNR) !== 0,
    s1ptw: (esr & ISS_S1PTW) !== 0,
    cacheMaintenance: (esr & ISS_CM) !== 0,
  }
}

/**
 * The ISS KVM gives userspace for a data abort without valid syndrome
 * (kvm_vcpu_dabt_iss_nisv_sanitized): only CM, WnR and the FSC survive.
 */
export function nisvSanitisedIss(esr: number): number {
  return esr & (ISS_CM | ISS_WNR | 0x3f)
}
