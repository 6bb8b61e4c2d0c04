// FPCR and FPSR: the bits the FP library reads and sets.

/**
 * The floating-point control and status an operation works under. `fpcr` is read (rounding
 * mode, FZ, FZ16, DN, AHP); `fpsr` collects the cumulative exception flags the operation
 * raises (OR-ed in, never cleared). The CPU keeps its FPCR/FPSR in one such object, so an
 * operation allocates nothing.
 */
export interface FpStatus {
  fpcr: number
  fpsr: number
}

/** FPCR fields (AArch64). */
export const FPCR_AHP = 1 << 26
export const FPCR_DN = 1 << 25
export const FPCR_FZ = 1 << 24
export const FPCR_RMODE_SHIFT = 22
export const FPCR_RMODE_MASK = 3 << 22
export const FPCR_FZ16 = 1 << 19

/** FPSR cumulative flags (AArch64). */
export const FPSR_IOC = 1 << 0
export const FPSR_DZC = 1 << 1
export const FPSR_OFC = 1 << 2
export const FPSR_UFC = 1 << 3
export const FPSR_IXC = 1 << 4
export const FPSR_IDC = 1 << 7
export const FPSR_QC = 1 << 27

/**
 * Rounding modes: 0-3 are FPCR.RMode values (FPDecodeRounding); TIEAWAY and ODD are only
 * ever asked for by an instruction (FCVTA*, FRINTA; FCVTXN).
 */
export const RN = 0
export const RP = 1
export const RM = 2
export const RZ = 3
export const RA = 4
export const RO = 5

/** FPCR.RMode as one of RN, RP, RM, RZ. */
export function roundingMode(fpcr: number): number {
  return (fpcr >>> FPCR_RMODE_SHIFT) & 3
}

/** A fresh status: FPCR 0 (round to nearest, no flush, IEEE NaNs), no flags. */
export function fpStatus(fpcr = 0): FpStatus {
  return { fpcr, fpsr: 0 }
}
