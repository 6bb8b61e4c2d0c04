// Comparisons after the Arm ARM: FPCompare (FCMP/FCMPE/FCCMP/FCCMPE, an NZCV result) and
// FPCompareEQ/GE/GT (the vector and scalar FCM*/FAC* masks).

import { T_QNAN, T_SNAN, uVal, unpack, type Format } from './core.js'
import { FPSR_IOC, type FpStatus } from './status.js'

/** NZCV values FPCompare produces. */
export const NZCV_UNORDERED = 0x3
export const NZCV_EQUAL = 0x6
export const NZCV_LESS = 0x8
export const NZCV_GREATER = 0x2

/** FPCompare(op1, op2, signalNaNs): NZCV as a 4-bit value (N = 8, Z = 4, C = 2, V = 1). */
export function fpCompare(
  st: FpStatus,
  fmt: Format,
  aLo: number,
  aHi: number,
  bLo: number,
  bHi: number,
  signalNaNs: boolean,
): number {
  const ta = unpack(st, fmt, aLo, aHi, 0, false)
  const tb = unpack(st, fmt, bLo, bHi, 1, false)
  if (ta >= T_QNAN || tb >= T_QNAN) {
    if (ta === T_SNAN || tb === T_SNAN || signalNaNs) st.fpsr |= FPSR_IOC
    return NZCV_UNORDERED
  }
  const va = uVal[0] as number
  const vb = uVal[1] as number
  return va === vb ? NZCV_EQUAL : va < vb ? NZCV_LESS : NZCV_GREATER
}

/** FPCompareEQ: false for any NaN, IOC only for a signalling one. */
export function fpCompareEQ(st: FpStatus, fmt: Format, aLo: number, aHi: number, bLo: number, bHi: number): boolean {
  const ta = unpack(st, fmt, aLo, aHi, 0, false)
  const tb = unpack(st, fmt, bLo, bHi, 1, false)
  if (ta >= T_QNAN || tb >= T_QNAN) {
    if (ta === T_SNAN || tb === T_SNAN) st.fpsr |= FPSR_IOC
    return false
  }
  return uVal[0] === uVal[1]
}

/** FPCompareGE: false and IOC for any NaN. */
export function fpCompareGE(st: FpStatus, fmt: Format, aLo: number, aHi: number, bLo: number, bHi: number): boolean {
  const ta = unpack(st, fmt, aLo, aHi, 0, false)
  const tb = unpack(st, fmt, bLo, bHi, 1, false)
  if (ta >= T_QNAN || tb >= T_QNAN) {
    st.fpsr |= FPSR_IOC
    return false
  }
  return (uVal[0] as number) >= (uVal[1] as number)
}

/** FPCompareGT: false and IOC for any NaN. */
export function fpCompareGT(st: FpStatus, fmt: Format, aLo: number, aHi: number, bLo: number, bHi: number): boolean {
  const ta = unpack(st, fmt, aLo, aHi, 0, false)
  const tb = unpack(st, fmt, bLo, bHi, 1, false)
  if (ta >= T_QNAN || tb >= T_QNAN) {
    st.fpsr |= FPSR_IOC
    return false
  }
  return (uVal[0] as number) > (uVal[1] as number)
}
