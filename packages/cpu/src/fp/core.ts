// The IEEE core shared by every FP operation: formats, operand unpacking (FPUnpack), NaN
// handling (FPProcessNaN/FPProcessNaNs), result packing and FPRound, after the Arm ARM
// pseudocode. Values are JavaScript doubles (every half, single and double value is one);
// exact results are carried as hi + lo + sticky (see roundReal) so nothing needs BigInt.
//
// Results: every operation returns the low 32 bits of its result; a 64-bit result puts its
// high 32 bits in `res.hi`. Nothing here allocates.

import {
  FPCR_AHP,
  FPCR_DN,
  FPCR_FZ,
  FPCR_FZ16,
  FPSR_IDC,
  FPSR_IOC,
  FPSR_IXC,
  FPSR_OFC,
  FPSR_UFC,
  RM,
  RN,
  RO,
  RP,
  RZ,
  type FpStatus,
} from './status.js'

/** The high word of the last 64-bit result. */
export const res = { hi: 0 }

/** An IEEE binary format as FPRound sees it: N bits, E exponent bits, F fraction bits. */
export interface Format {
  readonly n: 16 | 32 | 64
  readonly e: number
  readonly f: number
  /** The exponent of the smallest normal number. */
  readonly emin: number
  /** All-ones exponent field (infinities and NaNs, or AHP's largest binade). */
  readonly expOnes: number
}
export const HALF: Format = { n: 16, e: 5, f: 10, emin: -14, expOnes: 31 }
export const SINGLE: Format = { n: 32, e: 8, f: 23, emin: -126, expOnes: 255 }
export const DOUBLE: Format = { n: 64, e: 11, f: 52, emin: -1022, expOnes: 2047 }
/** Format by esz (log2 of the size in bytes): 1 half, 2 single, 3 double. */
export const FORMAT_BY_ESZ: readonly (Format | undefined)[] = [undefined, HALF, SINGLE, DOUBLE]

// ---------------------------------------------------------------------------------------
// Bit views and exact double helpers

const f64v = new Float64Array(1)
const u64v = new Uint32Array(f64v.buffer)
const f32v = new Float32Array(1)
const u32v = new Uint32Array(f32v.buffer)

/** The double with the given 64-bit pattern (not for NaNs: their payload may not survive). */
export function fromWords(lo: number, hi: number): number {
  u64v[0] = lo
  u64v[1] = hi
  return f64v[0] as number
}
/** The bits of a double: returns the low word, the high word goes to res.hi. */
export function toWords(x: number): number {
  f64v[0] = x
  res.hi = u64v[1] as number
  return u64v[0] as number
}
/** The single with the given bits, as a double (exact). */
export function fromBits32(b: number): number {
  u32v[0] = b
  return f32v[0] as number
}
/** The bits of a double that is exactly a single. */
export function toBits32(x: number): number {
  f32v[0] = x
  return u32v[0] as number
}
/** The half with the given bits, as a double; IEEE (AHP = 0) unless alt. Not for Inf/NaN. */
export function fromBits16(b: number, alt = false): number {
  const exp = (b >>> 10) & 31
  const frac = b & 0x3ff
  let v: number
  if (exp === 0) v = frac * 5.960464477539063e-8 // 2^-24
  else if (exp === 31 && !alt) v = frac === 0 ? Infinity : NaN
  else v = (frac + 1024) * POW2[exp - 25 + POW2_BIAS]!
  return b & 0x8000 ? -v : v
}

const POW2_BIAS = 1074
/** POW2[k + 1074] = 2^k for k in [-1074, 1023]. */
const POW2 = new Float64Array(1074 + 1024)
for (let k = -1074; k <= 1023; k++) {
  POW2[k + POW2_BIAS] = k >= -1022 ? fromWords(0, (k + 1023) << 20) : fromWords(0, 0x100000) * 2 ** (k + 1022)
}
/** 2^k for k in [-1074, 1023]. */
export function pow2(k: number): number {
  return POW2[k + POW2_BIAS]!
}
/** x * 2^k, exact whenever the result is representable (normal, or a subnormal that keeps every bit). */
export function scale2(x: number, k: number): number {
  while (k > 1023) {
    x *= 8.98846567431158e307
    k -= 1023
  }
  while (k < -1022) {
    x *= 2.2250738585072014e-308
    k += 1022
  }
  return x * POW2[k + POW2_BIAS]!
}
/** floor(log2(|x|)) for a finite nonzero double (subnormals included). */
export function exponentOf(x: number): number {
  f64v[0] = x
  const hi = u64v[1] as number
  const e = (hi >>> 20) & 0x7ff
  if (e !== 0) return e - 1023
  const m = hi & 0xfffff
  if (m !== 0) return 31 - Math.clz32(m) + 32 - 1074
  return 31 - Math.clz32(u64v[0] as number) - 1074
}

/** TwoSum error: a + b = s + twoSumErr(a, b, s) exactly, s = fl(a + b). */
export function twoSumErr(a: number, b: number, s: number): number {
  const bb = s - a
  return a - (s - bb) + (b - bb)
}
const SPLIT = 134217729 // 2^27 + 1
/** TwoProduct error (Dekker): a * b = p + err exactly, p = fl(a * b); needs |a|,|b| < 2^995 and no underflow. */
export function twoProductErr(a: number, b: number, p: number): number {
  let t = SPLIT * a
  const ah = t - (t - a)
  const al = a - ah
  t = SPLIT * b
  const bh = t - (t - b)
  const bl = b - bh
  return al * bl - (p - ah * bh - al * bh - ah * bl)
}

// ---------------------------------------------------------------------------------------
// Operand unpacking (FPUnpack / FPUnpackCV)

export const T_ZERO = 0
export const T_NUM = 1
export const T_INF = 2
export const T_QNAN = 3
export const T_SNAN = 4

/** Unpacked operands, by slot (0..3): type, signed value (±0, ±Inf, finite, NaN), raw bits, sign. */
export const uType = new Int32Array(4)
export const uVal = new Float64Array(4)
export const uLo = new Uint32Array(4)
export const uHi = new Uint32Array(4)
export const uSign = new Int32Array(4)

/**
 * FPUnpack (cv = false: AHP ignored, FZ16 applies) or FPUnpackCV (cv = true: FZ16 ignored,
 * AHP applies) of the operand with bits hi:lo into `slot`. Single and double denormals are
 * flushed under FZ with IDC; half denormals under FZ16 without IDC. Returns the type.
 */
export function unpack(st: FpStatus, fmt: Format, lo: number, hi: number, slot: number, cv: boolean): number {
  const fpcr = st.fpcr
  let type: number
  let val: number
  let sign: number
  if (fmt.n === 64) {
    sign = hi >>> 31
    const exp = (hi >>> 20) & 0x7ff
    const fracZero = (hi & 0xfffff) === 0 && lo === 0
    if (exp === 0) {
      if (fracZero || fpcr & FPCR_FZ) {
        if (!fracZero) st.fpsr |= FPSR_IDC
        type = T_ZERO
        val = sign ? -0 : 0
      } else {
        type = T_NUM
        val = fromWords(lo, hi)
      }
    } else if (exp === 0x7ff) {
      if (fracZero) {
        type = T_INF
        val = sign ? -Infinity : Infinity
      } else {
        type = hi & 0x80000 ? T_QNAN : T_SNAN
        val = NaN
      }
    } else {
      type = T_NUM
      val = fromWords(lo, hi)
    }
  } else if (fmt.n === 32) {
    sign = lo >>> 31
    const exp = (lo >>> 23) & 0xff
    const frac = lo & 0x7fffff
    if (exp === 0) {
      if (frac === 0 || fpcr & FPCR_FZ) {
        if (frac !== 0) st.fpsr |= FPSR_IDC
        type = T_ZERO
        val = sign ? -0 : 0
      } else {
        type = T_NUM
        val = fromBits32(lo)
      }
    } else if (exp === 0xff) {
      if (frac === 0) {
        type = T_INF
        val = sign ? -Infinity : Infinity
      } else {
        type = lo & 0x400000 ? T_QNAN : T_SNAN
        val = NaN
      }
    } else {
      type = T_NUM
      val = fromBits32(lo)
    }
  } else {
    sign = (lo >>> 15) & 1
    const exp = (lo >>> 10) & 31
    const frac = lo & 0x3ff
    if (exp === 0) {
      if (frac === 0 || (!cv && fpcr & FPCR_FZ16)) {
        type = T_ZERO
        val = sign ? -0 : 0
      } else {
        type = T_NUM
        val = fromBits16(lo)
      }
    } else if (exp === 31 && !(cv && fpcr & FPCR_AHP)) {
      if (frac === 0) {
        type = T_INF
        val = sign ? -Infinity : Infinity
      } else {
        type = lo & 0x200 ? T_QNAN : T_SNAN
        val = NaN
      }
    } else {
      type = T_NUM
      val = fromBits16(lo, true)
    }
  }
  uType[slot] = type
  uVal[slot] = val
  uLo[slot] = lo
  uHi[slot] = hi
  uSign[slot] = sign
  return type
}

// ---------------------------------------------------------------------------------------
// Packing special results

/** ±0 in `fmt`. */
export function packZero(fmt: Format, sign: number): number {
  if (fmt.n === 64) {
    res.hi = sign ? 0x80000000 : 0
    return 0
  }
  return fmt.n === 32 ? (sign ? 0x80000000 : 0) : sign ? 0x8000 : 0
}
/** ±Infinity in `fmt`. */
export function packInf(fmt: Format, sign: number): number {
  if (fmt.n === 64) {
    res.hi = (sign ? 0xfff00000 : 0x7ff00000) >>> 0
    return 0
  }
  return fmt.n === 32 ? (sign ? 0xff800000 : 0x7f800000) : sign ? 0xfc00 : 0x7c00
}
/** The largest finite magnitude with the given sign (FPMaxNormal). */
export function packMaxNormal(fmt: Format, sign: number): number {
  if (fmt.n === 64) {
    res.hi = (sign ? 0xffefffff : 0x7fefffff) >>> 0
    return 0xffffffff
  }
  return fmt.n === 32 ? (sign ? 0xff7fffff : 0x7f7fffff) : sign ? 0xfbff : 0x7bff
}
/** FPDefaultNaN. */
export function packDefaultNaN(fmt: Format): number {
  if (fmt.n === 64) {
    res.hi = 0x7ff80000
    return 0
  }
  return fmt.n === 32 ? 0x7fc00000 : 0x7e00
}
/** A signed value given as sign, biased exponent and fraction bits (fraction < 2^F). */
function packFields(fmt: Format, sign: number, biasedExp: number, frac: number): number {
  if (fmt.n === 64) {
    res.hi = ((sign << 31) | (biasedExp << 20) | (Math.floor(frac / 4294967296) & 0xfffff)) >>> 0
    return frac >>> 0
  }
  return ((sign << (fmt.n - 1)) | (biasedExp << fmt.f) | frac) >>> 0
}

/** FPProcessNaN of the operand in `slot` (its type is a NaN). */
export function processNaN(st: FpStatus, fmt: Format, slot: number): number {
  if (uType[slot] === T_SNAN) st.fpsr |= FPSR_IOC
  if (st.fpcr & FPCR_DN) return packDefaultNaN(fmt)
  const lo = uLo[slot] as number
  if (fmt.n === 64) {
    res.hi = ((uHi[slot] as number) | 0x80000) >>> 0
    return lo
  }
  return (fmt.n === 32 ? lo | 0x400000 : lo | 0x200) >>> 0
}

/** FPProcessNaNs: -1 when neither slot a nor b holds a NaN, else the slot whose NaN wins. */
export function pickNaN2(a: number, b: number): number {
  const ta = uType[a] as number
  const tb = uType[b] as number
  if (ta < T_QNAN && tb < T_QNAN) return -1
  if (ta === T_SNAN) return a
  if (tb === T_SNAN) return b
  return ta === T_QNAN ? a : b
}
/** FPProcessNaNs3 over slots a, b, c. */
export function pickNaN3(a: number, b: number, c: number): number {
  const ta = uType[a] as number
  const tb = uType[b] as number
  const tc = uType[c] as number
  if (ta < T_QNAN && tb < T_QNAN && tc < T_QNAN) return -1
  if (ta === T_SNAN) return a
  if (tb === T_SNAN) return b
  if (tc === T_SNAN) return c
  if (ta === T_QNAN) return a
  return tb === T_QNAN ? b : c
}

// ---------------------------------------------------------------------------------------
// FPRound

/**
 * FPRoundBase (cv = false: FPRound, AHP ignored; cv = true: FPRoundCV, FZ16 ignored) of the
 * nonzero real value (hi + lo + ε·sticky) · 2^scale, where ε is an infinitesimal, sticky is
 * -1, 0 or 1, hi a finite nonzero double and |lo| ≤ ulp(hi) (so lo only decides which side of a
 * rounding boundary near hi the value lies). `rmode` is RN, RP, RM, RZ or RO.
 * Sets UFC/OFC/IXC/IOC as FPRound does; returns the result bits (64-bit: high word in res.hi).
 */
export function roundReal(
  st: FpStatus,
  fmt: Format,
  hi: number,
  lo: number,
  sticky: number,
  scale: number,
  rmode: number,
  cv: boolean,
): number {
  const fpcr = st.fpcr
  let sign = 0
  if (hi < 0) {
    sign = 1
    hi = -hi
    lo = -lo
    sticky = -sticky
  }
  // The exponent of the value: one below hi's when hi is a power of two and the rest is negative.
  let ex = exponentOf(hi)
  if ((lo < 0 || (lo === 0 && sticky < 0)) && hi === scale2(1, ex)) ex -= 1
  const exponent = ex + scale
  const f = fmt.f
  const flush = fmt.n === 16 ? !cv && (fpcr & FPCR_FZ16) !== 0 : (fpcr & FPCR_FZ) !== 0
  if (flush && exponent < fmt.emin) {
    st.fpsr |= FPSR_UFC
    return packZero(fmt, sign)
  }
  let biased = exponent - fmt.emin + 1
  if (biased < 0) biased = 0
  // The unit of the last place: int_mant = floor(value / 2^unit).
  const unit = (biased === 0 ? fmt.emin : exponent) - f
  let mant: number
  let errZero: boolean
  let errVsHalf: number // sign of (error - 0.5)
  if (exponent <= unit - 2) {
    // Below a quarter of the smallest step: the integer part is 0 and the error in (0, 0.5).
    mant = 0
    errZero = false
    errVsHalf = -1
  } else {
    const k = scale - unit
    const q = scale2(hi, k)
    let ql = 0
    if (lo !== 0) {
      ql = scale2(lo, k)
      if (Math.abs(ql) < 1e-290) {
        // So far below the grid that only its sign matters.
        ql = 0
        sticky = lo > 0 ? 1 : -1
      }
    }
    const n0 = Math.floor(q)
    const frac = q - n0
    let base: number
    if (cmpFrac(0, frac, ql, sticky) < 0) {
      mant = n0 - 1
      base = 1
    } else if (cmpFrac(1, frac, ql, sticky) >= 0) {
      mant = n0 + 1
      base = -1
    } else {
      mant = n0
      base = 0
    }
    errZero = cmpFrac(-base, frac, ql, sticky) === 0
    errVsHalf = cmpFrac(0.5 - base, frac, ql, sticky)
  }
  if (biased === 0 && !errZero) st.fpsr |= FPSR_UFC
  let roundUp: boolean
  let overflowToInf: boolean
  switch (rmode) {
    case RN:
      roundUp = errVsHalf > 0 || (errVsHalf === 0 && mant % 2 === 1)
      overflowToInf = true
      break
    case RP:
      roundUp = !errZero && sign === 0
      overflowToInf = sign === 0
      break
    case RM:
      roundUp = !errZero && sign === 1
      overflowToInf = sign === 1
      break
    default: // RZ, RO
      roundUp = false
      overflowToInf = false
  }
  const top = pow2(f)
  if (roundUp) {
    mant += 1
    if (mant === top) biased = 1
    if (mant === top * 2) {
      biased += 1
      mant = top
    }
  }
  if (!errZero && rmode === RO && mant % 2 === 0) mant += 1
  let inexact = !errZero
  let out: number
  if (fmt.n === 16 && cv && fpcr & FPCR_AHP) {
    if (biased >= 32) {
      st.fpsr |= FPSR_IOC
      return sign ? 0xffff : 0x7fff
    }
    out = packFields(fmt, sign, biased, mant % top)
  } else if (biased >= fmt.expOnes) {
    out = overflowToInf ? packInf(fmt, sign) : packMaxNormal(fmt, sign)
    st.fpsr |= FPSR_OFC
    inexact = true
  } else {
    out = packFields(fmt, sign, biased, mant % top)
  }
  if (inexact) st.fpsr |= FPSR_IXC
  return out
}

/** Sign of (frac + ql + ε·sticky - c); c - frac is exact for the c roundReal uses. */
function cmpFrac(c: number, frac: number, ql: number, sticky: number): number {
  const d = c - frac
  return ql > d ? 1 : ql < d ? -1 : sticky > 0 ? 1 : sticky < 0 ? -1 : 0
}

/** The zero an exact zero sum rounds to: -0 in round-toward-minus, else +0. */
export function exactZero(fmt: Format, rmode: number): number {
  return packZero(fmt, rmode === RM ? 1 : 0)
}

/** Rounding mode constants re-exported for the operation modules. */
export { RM, RN, RO, RP, RZ }
