// Reciprocal and reciprocal-square-root estimates after the Arm ARM: FPRecipEstimate (FRECPE),
// FPRSqrtEstimate (FRSQRTE), FPRecpX (FRECPX), UnsignedRecipEstimate (URECPE) and
// UnsignedRSqrtEstimate (URSQRTE), built on Arm's 8-bit tables RecipEstimate and
// RecipSqrtEstimate (computed once here from their integer definitions).

import {
  T_INF,
  T_QNAN,
  T_SNAN,
  T_ZERO,
  packDefaultNaN,
  packInf,
  packMaxNormal,
  packZero,
  pow2,
  processNaN,
  res,
  uSign,
  uVal,
  unpack,
  type Format,
} from './core.js'
import {
  FPCR_FZ,
  FPCR_FZ16,
  FPSR_DZC,
  FPSR_IOC,
  FPSR_IXC,
  FPSR_OFC,
  FPSR_UFC,
  RM,
  RN,
  RP,
  roundingMode,
  type FpStatus,
} from './status.js'

/** RecipEstimate(a) for a in [256, 512): a 9-bit estimate of 1/a. */
const RECIP = new Uint16Array(512)
for (let a = 256; a < 512; a++) {
  const b = Math.floor(2 ** 19 / (a * 2 + 1))
  RECIP[a] = Math.floor((b + 1) / 2)
}
/** RecipSqrtEstimate(a) for a in [128, 512): a 9-bit estimate of 1/sqrt(a). */
const RSQRT = new Uint16Array(512)
for (let a0 = 128; a0 < 512; a0++) {
  const a = a0 < 256 ? a0 * 2 + 1 : ((a0 >> 1) << 1) * 2 + 2
  let b = 512
  while (a * (b + 1) * (b + 1) < 2 ** 28) b++
  RSQRT[a0] = Math.floor((b + 1) / 2)
}

/** The fraction field as a 52-bit integer (left-aligned) and the biased exponent field. */
let fieldExp = 0
function fraction52(fmt: Format, lo: number, hi: number): number {
  if (fmt.n === 64) {
    fieldExp = (hi >>> 20) & 0x7ff
    return (hi & 0xfffff) * 4294967296 + lo
  }
  if (fmt.n === 32) {
    fieldExp = (lo >>> 23) & 0xff
    return (lo & 0x7fffff) * 536870912 // 2^29
  }
  fieldExp = (lo >>> 10) & 31
  return (lo & 0x3ff) * 4398046511104 // 2^42
}

/** sign : exp : the top F bits of a 52-bit fraction. */
function packFrac52(fmt: Format, sign: number, exp: number, frac52: number): number {
  if (fmt.n === 64) {
    res.hi = ((sign << 31) | (exp << 20) | Math.floor(frac52 / 4294967296)) >>> 0
    return frac52 >>> 0
  }
  if (fmt.n === 32) return ((sign << 31) | (exp << 23) | Math.floor(frac52 / 536870912)) >>> 0
  return (sign << 15) | (exp << 10) | Math.floor(frac52 / 4398046511104)
}

const TWO52 = 4503599627370496
const TWO51 = 2251799813685248
const TWO50 = 1125899906842624
const TWO44 = 17592186044416

/** FPRecipEstimate (FRECPE). */
export function fpRecipEstimate(st: FpStatus, fmt: Format, lo: number, hi: number): number {
  const t = unpack(st, fmt, lo, hi, 0, false)
  if (t === T_QNAN || t === T_SNAN) return processNaN(st, fmt, 0)
  const sign = uSign[0] as number
  if (t === T_INF) return packZero(fmt, sign)
  if (t === T_ZERO) {
    st.fpsr |= FPSR_DZC
    return packInf(fmt, sign)
  }
  const mag = Math.abs(uVal[0] as number)
  const bias = fmt.n === 16 ? 15 : fmt.n === 32 ? 127 : 1023
  if (mag < pow2(-bias - 1)) {
    // So small that the reciprocal overflows.
    const rmode = roundingMode(st.fpcr)
    const toInf = rmode === RN || (rmode === RP && sign === 0) || (rmode === RM && sign === 1)
    st.fpsr |= FPSR_OFC | FPSR_IXC
    return toInf ? packInf(fmt, sign) : packMaxNormal(fmt, sign)
  }
  const fz = fmt.n === 16 ? st.fpcr & FPCR_FZ16 : st.fpcr & FPCR_FZ
  if (fz && mag >= pow2(bias - 1)) {
    // The reciprocal would be denormal: flushed.
    st.fpsr |= FPSR_UFC
    return packZero(fmt, sign)
  }
  let frac = fraction52(fmt, lo, hi)
  let exp = fieldExp
  if (exp === 0) {
    if (frac < TWO51) {
      exp = -1
      frac = (frac * 4) % TWO52
    } else {
      frac = (frac * 2) % TWO52
    }
  }
  const scaled = 256 + Math.floor(frac / TWO44)
  let resultExp = 2 * bias - 1 - exp
  const estimate = RECIP[scaled] as number
  frac = (estimate & 0xff) * TWO44
  if (resultExp === 0) {
    frac = TWO51 + Math.floor(frac / 2)
  } else if (resultExp === -1) {
    frac = TWO50 + Math.floor(frac / 4)
    resultExp = 0
  }
  return packFrac52(fmt, sign, resultExp, frac)
}

/** FPRSqrtEstimate (FRSQRTE). */
export function fpRSqrtEstimate(st: FpStatus, fmt: Format, lo: number, hi: number): number {
  const t = unpack(st, fmt, lo, hi, 0, false)
  if (t === T_QNAN || t === T_SNAN) return processNaN(st, fmt, 0)
  const sign = uSign[0] as number
  if (t === T_ZERO) {
    st.fpsr |= FPSR_DZC
    return packInf(fmt, sign)
  }
  if (sign === 1) {
    st.fpsr |= FPSR_IOC
    return packDefaultNaN(fmt)
  }
  if (t === T_INF) return packZero(fmt, 0)
  let frac = fraction52(fmt, lo, hi)
  let exp = fieldExp
  if (exp === 0) {
    while (frac < TWO51) {
      frac *= 2
      exp -= 1
    }
    frac = (frac * 2) % TWO52
  }
  const scaled = (exp & 1) === 0 ? 256 + Math.floor(frac / TWO44) : 128 + Math.floor(frac / (TWO44 * 2))
  const bias = fmt.n === 16 ? 15 : fmt.n === 32 ? 127 : 1023
  const resultExp = Math.floor((3 * bias - 1 - exp) / 2)
  const estimate = RSQRT[scaled] as number
  return packFrac52(fmt, 0, resultExp, (estimate & 0xff) * TWO44)
}

/** FPRecpX (FRECPX): the exponent inverted, the fraction cleared. */
export function fpRecpX(st: FpStatus, fmt: Format, lo: number, hi: number): number {
  const t = unpack(st, fmt, lo, hi, 0, false)
  if (t === T_QNAN || t === T_SNAN) return processNaN(st, fmt, 0)
  fraction52(fmt, lo, hi)
  const sign = uSign[0] as number
  const ones = fmt.n === 16 ? 31 : fmt.n === 32 ? 255 : 2047
  const exp = fieldExp === 0 ? ones - 1 : ~fieldExp & ones
  return packFrac52(fmt, sign, exp, 0)
}

/** UnsignedRecipEstimate (URECPE) of a 32-bit lane. */
export function unsignedRecipEstimate(x: number): number {
  if (x >>> 31 === 0) return 0xffffffff
  return ((RECIP[x >>> 23] as number) << 23) >>> 0
}

/** UnsignedRSqrtEstimate (URSQRTE) of a 32-bit lane. */
export function unsignedRSqrtEstimate(x: number): number {
  if (x >>> 30 === 0) return 0xffffffff
  return ((RSQRT[x >>> 23] as number) << 23) >>> 0
}
