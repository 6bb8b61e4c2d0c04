// FP arithmetic after the Arm ARM: FPAdd, FPSub, FPMul, FPMulX, FPDiv, FPSqrt, FPMulAdd
// (fused, rounded once), FPMulAddH (FMLAL), FPRecipStepFused, FPRSqrtStepFused, FPMin/FPMax
// and their Num forms, FPAbs/FPNeg.
//
// Every operation takes the format and its operands as (lo, hi) words (hi is only read for
// doubles), returns the low 32 bits of the result and puts a double's high word in res.hi.
// Round-to-nearest operations on normal operands with a normal result take a fast path: one
// JavaScript operation, with IXC from an error-free transformation.

import {
  DOUBLE,
  HALF,
  SINGLE,
  T_INF,
  T_QNAN,
  T_ZERO,
  exactZero,
  exponentOf,
  fromBits32,
  fromWords,
  packDefaultNaN,
  packInf,
  packZero,
  pickNaN2,
  pickNaN3,
  processNaN,
  res,
  roundReal,
  scale2,
  toBits32,
  toWords,
  twoProductErr,
  twoSumErr,
  uHi,
  uLo,
  uSign,
  uType,
  uVal,
  unpack,
  type Format,
} from './core.js'
import { convertNaN } from './nan.js'
import { FPCR_RMODE_MASK, FPSR_DZC, FPSR_IOC, FPSR_IXC, roundingMode, type FpStatus } from './status.js'

const MIN_NORMAL64 = 2.2250738585072014e-308
const MAX64 = 1.7976931348623157e308
const MIN_NORMAL32 = 1.1754943508222875e-38
const MAX32 = 3.4028234663852886e38
/** Products of doubles whose exponents sum to at least this keep an exact TwoProduct error. */
const SAFE_PRODUCT_LOW = 2 ** -960
const SAFE_SPLIT_HIGH = 2 ** 995

function isNormal64(hi: number): boolean {
  const e = (hi >>> 20) & 0x7ff
  return e !== 0 && e !== 0x7ff
}
function isNormal32(b: number): boolean {
  const e = (b >>> 23) & 0xff
  return e !== 0 && e !== 0xff
}

function invalid(st: FpStatus, fmt: Format): number {
  st.fpsr |= FPSR_IOC
  return packDefaultNaN(fmt)
}

/** The bits of the operand in `slot` (an exactly representable result). */
function slotBits(slot: number): number {
  res.hi = uHi[slot] as number
  return uLo[slot] as number
}

// ---------------------------------------------------------------------------------------
// Exact-value helpers: each rounds an exactly known real to `fmt`.

/** FPRound(a * b) for finite nonzero doubles a, b. */
function roundProduct(st: FpStatus, fmt: Format, a: number, b: number, rmode: number): number {
  if (fmt !== DOUBLE) return roundReal(st, fmt, a * b, 0, 0, 0, rmode, false)
  const ea = exponentOf(a)
  const eb = exponentOf(b)
  const ma = scale2(a, -ea)
  const mb = scale2(b, -eb)
  const p = ma * mb
  return roundReal(st, fmt, p, twoProductErr(ma, mb, p), 0, ea + eb, rmode, false)
}

/** FPRound(a + b * c) (scaled by 2^extra) for finite a and finite nonzero b, c. */
function roundFused(st: FpStatus, fmt: Format, a: number, b: number, c: number, extra: number, rmode: number): number {
  const eb = exponentOf(b)
  const ec = exponentOf(c)
  const mb = scale2(b, -eb)
  const mc = scale2(c, -ec)
  const p = mb * mc
  const pl = twoProductErr(mb, mc, p)
  const s = eb + ec
  if (a === 0) return roundReal(st, fmt, p, pl, 0, s + extra, rmode, false)
  const d = exponentOf(a) - s
  // The product is below a tiny fraction of the addend's last place: only its sign counts.
  if (d > 110) return roundReal(st, fmt, a, 0, p > 0 ? 1 : -1, extra, rmode, false)
  // The addend is far below the product's last bit: likewise.
  if (d < -300) return roundReal(st, fmt, p, pl, a > 0 ? 1 : -1, s + extra, rmode, false)
  const as = scale2(a, -s)
  // a' + p + pl exactly as hi + lo + e4 (TwoSum cascade).
  const s1 = as + p
  const e1 = twoSumErr(as, p, s1)
  const s2 = e1 + pl
  const e2 = twoSumErr(e1, pl, s2)
  let hi = s1 + s2
  const e3 = twoSumErr(s1, s2, hi)
  let lo = e3 + e2
  let e4 = twoSumErr(e3, e2, lo)
  if (hi === 0) {
    hi = lo
    lo = e4
    e4 = 0
    if (hi === 0) return exactZero(fmt, rmode)
  }
  return roundReal(st, fmt, hi, lo, e4 > 0 ? 1 : e4 < 0 ? -1 : 0, s + extra, rmode, false)
}

// ---------------------------------------------------------------------------------------
// FPAdd / FPSub

function addSlow(st: FpStatus, fmt: Format, aLo: number, aHi: number, bLo: number, bHi: number, sub: boolean): number {
  const rmode = roundingMode(st.fpcr)
  const ta = unpack(st, fmt, aLo, aHi, 0, false)
  const tb = unpack(st, fmt, bLo, bHi, 1, false)
  const nan = pickNaN2(0, 1)
  if (nan >= 0) return processNaN(st, fmt, nan)
  let va = uVal[0] as number
  let vb = uVal[1] as number
  const sa = uSign[0] as number
  let sb = uSign[1] as number
  if (sub) {
    vb = -vb
    sb ^= 1
  }
  if (ta === T_INF && tb === T_INF && sa !== sb) return invalid(st, fmt)
  if (ta === T_INF) return packInf(fmt, sa)
  if (tb === T_INF) return packInf(fmt, sb)
  if (ta === T_ZERO && tb === T_ZERO && sa === sb) return packZero(fmt, sa)
  if (ta === T_ZERO || tb === T_ZERO) {
    const v = ta === T_ZERO ? vb : va
    return v === 0 ? exactZero(fmt, rmode) : roundReal(st, fmt, v, 0, 0, 0, rmode, false)
  }
  let s = va + vb
  if (s === 0) return exactZero(fmt, rmode)
  let scale = 0
  if (!Number.isFinite(s)) {
    // Only doubles overflow here; both operands are then large, so halving them is exact.
    va *= 0.5
    vb *= 0.5
    s = va + vb
    scale = 1
  }
  return roundReal(st, fmt, s, twoSumErr(va, vb, s), 0, scale, rmode, false)
}

/** FPAdd. */
export function fpAdd(st: FpStatus, fmt: Format, aLo: number, aHi: number, bLo: number, bHi: number): number {
  if ((st.fpcr & FPCR_RMODE_MASK) === 0) {
    const r = addFast(st, fmt, aLo, aHi, bLo, bHi, false)
    if (r === r) return r
  }
  return addSlow(st, fmt, aLo, aHi, bLo, bHi, false)
}

/** FPSub. */
export function fpSub(st: FpStatus, fmt: Format, aLo: number, aHi: number, bLo: number, bHi: number): number {
  if ((st.fpcr & FPCR_RMODE_MASK) === 0) {
    const r = addFast(st, fmt, aLo, aHi, bLo, bHi, true)
    if (r === r) return r
  }
  return addSlow(st, fmt, aLo, aHi, bLo, bHi, true)
}

/**
 * Round-to-nearest a ± b of normal doubles or singles when one JavaScript addition settles it;
 * NaN (never a result word) when the exact path must decide.
 */
function addFast(st: FpStatus, fmt: Format, aLo: number, aHi: number, bLo: number, bHi: number, sub: boolean): number {
  if (fmt === DOUBLE) {
    if (!isNormal64(aHi) || !isNormal64(bHi)) return NaN
    const a = fromWords(aLo, aHi)
    const b = sub ? -fromWords(bLo, bHi) : fromWords(bLo, bHi)
    const s = a + b
    const m = Math.abs(s)
    // Strictly above the smallest normal: the exact sum is then not tiny (FZ, UFC).
    if (!(m > MIN_NORMAL64 && m <= MAX64)) return NaN
    if (twoSumErr(a, b, s) !== 0) st.fpsr |= FPSR_IXC
    return toWords(s)
  }
  if (fmt !== SINGLE || !isNormal32(aLo) || !isNormal32(bLo)) return NaN
  const a = fromBits32(aLo)
  const b = sub ? -fromBits32(bLo) : fromBits32(bLo)
  const s = a + b
  const r = Math.fround(s)
  const e = twoSumErr(a, b, s)
  // fround(s) is the single rounding unless s sits exactly on a tie (then e decides); the
  // unrounded sum must not be tiny, the rounded one not overflow.
  if (!(Math.abs(s) > MIN_NORMAL32 && Math.abs(r) <= MAX32 && (e === 0 || !isSingleTie(s, r)))) return NaN
  if (e !== 0 || r !== s) st.fpsr |= FPSR_IXC
  return toBits32(r)
}

/** True when the double s lies exactly halfway between two singles (r = fround(s) is one of them). */
function isSingleTie(s: number, r: number): boolean {
  const d = Math.abs(s - r)
  if (d === 0) return false
  // Half a single ulp at r's binade (or the binade below when r is a power of two and s < r).
  const e = exponentOf(r)
  const half = scale2(1, e - 24)
  return d === half || d === half / 2
}

// ---------------------------------------------------------------------------------------
// FPMul / FPMulX

function mulSlow(st: FpStatus, fmt: Format, aLo: number, aHi: number, bLo: number, bHi: number, mulx: boolean): number {
  const ta = unpack(st, fmt, aLo, aHi, 0, false)
  const tb = unpack(st, fmt, bLo, bHi, 1, false)
  const nan = pickNaN2(0, 1)
  if (nan >= 0) return processNaN(st, fmt, nan)
  const sign = (uSign[0] as number) ^ (uSign[1] as number)
  if ((ta === T_INF && tb === T_ZERO) || (ta === T_ZERO && tb === T_INF)) {
    return mulx ? packTwo(fmt, sign) : invalid(st, fmt)
  }
  if (ta === T_INF || tb === T_INF) return packInf(fmt, sign)
  if (ta === T_ZERO || tb === T_ZERO) return packZero(fmt, sign)
  return roundProduct(st, fmt, uVal[0] as number, uVal[1] as number, roundingMode(st.fpcr))
}

function mulFast(st: FpStatus, fmt: Format, aLo: number, aHi: number, bLo: number, bHi: number): number {
  if (fmt === DOUBLE) {
    if (isNormal64(aHi) && isNormal64(bHi)) {
      const a = fromWords(aLo, aHi)
      const b = fromWords(bLo, bHi)
      const p = a * b
      const m = Math.abs(p)
      if (m >= SAFE_PRODUCT_LOW && m <= MAX64 && Math.abs(a) < SAFE_SPLIT_HIGH && Math.abs(b) < SAFE_SPLIT_HIGH) {
        if (twoProductErr(a, b, p) !== 0) st.fpsr |= FPSR_IXC
        return toWords(p)
      }
    }
  } else if (fmt === SINGLE && isNormal32(aLo) && isNormal32(bLo)) {
    // The double product of two singles is exact; one rounding to single follows.
    const p = fromBits32(aLo) * fromBits32(bLo)
    const r = Math.fround(p)
    if (Math.abs(p) >= MIN_NORMAL32 && Math.abs(r) <= MAX32) {
      if (r !== p) st.fpsr |= FPSR_IXC
      return toBits32(r)
    }
  }
  return -1
}

/** FPMul. */
export function fpMul(st: FpStatus, fmt: Format, aLo: number, aHi: number, bLo: number, bHi: number): number {
  if ((st.fpcr & FPCR_RMODE_MASK) === 0 && fmt !== HALF) {
    const r = mulFast(st, fmt, aLo, aHi, bLo, bHi)
    if (r !== -1) return r
  }
  return mulSlow(st, fmt, aLo, aHi, bLo, bHi, false)
}

/** FPMulX: as FPMul, but infinity times zero is 2 with the product's sign. */
export function fpMulX(st: FpStatus, fmt: Format, aLo: number, aHi: number, bLo: number, bHi: number): number {
  if ((st.fpcr & FPCR_RMODE_MASK) === 0 && fmt !== HALF) {
    const r = mulFast(st, fmt, aLo, aHi, bLo, bHi)
    if (r !== -1) return r
  }
  return mulSlow(st, fmt, aLo, aHi, bLo, bHi, true)
}

/** FPTwo(sign). */
function packTwo(fmt: Format, sign: number): number {
  if (fmt.n === 64) {
    res.hi = (sign ? 0xc0000000 : 0x40000000) >>> 0
    return 0
  }
  return fmt.n === 32 ? (sign ? 0xc0000000 : 0x40000000) >>> 0 : sign ? 0xc000 : 0x4000
}

// ---------------------------------------------------------------------------------------
// FPDiv, FPSqrt

/** FPDiv. */
export function fpDiv(st: FpStatus, fmt: Format, aLo: number, aHi: number, bLo: number, bHi: number): number {
  if ((st.fpcr & FPCR_RMODE_MASK) === 0) {
    if (fmt === DOUBLE) {
      if (isNormal64(aHi) && isNormal64(bHi)) {
        const a = fromWords(aLo, aHi)
        const b = fromWords(bLo, bHi)
        const q = a / b
        const m = Math.abs(q)
        if (
          m > MIN_NORMAL64 &&
          m <= MAX64 &&
          Math.abs(a) >= SAFE_PRODUCT_LOW &&
          // q * b is a: its split halves' product may round past MAX64 when a is near it
          // (0x7feffffffc000000 / 2^29 set IXC on an exact quotient).
          Math.abs(a) < SAFE_SPLIT_HIGH &&
          Math.abs(b) < SAFE_SPLIT_HIGH &&
          m < SAFE_SPLIT_HIGH
        ) {
          const p = q * b
          if (p !== a || twoProductErr(q, b, p) !== 0) st.fpsr |= FPSR_IXC
          return toWords(q)
        }
      }
    } else if (fmt === SINGLE && isNormal32(aLo) && isNormal32(bLo)) {
      // Double rounding through double is harmless for single division (53 >= 2*24 + 2).
      const a = fromBits32(aLo)
      const b = fromBits32(bLo)
      const q = a / b
      const r = Math.fround(q)
      if (Math.abs(q) > MIN_NORMAL32 && Math.abs(r) <= MAX32) {
        if (r * b !== a) st.fpsr |= FPSR_IXC
        return toBits32(r)
      }
    }
  }
  const ta = unpack(st, fmt, aLo, aHi, 0, false)
  const tb = unpack(st, fmt, bLo, bHi, 1, false)
  const nan = pickNaN2(0, 1)
  if (nan >= 0) return processNaN(st, fmt, nan)
  const sign = (uSign[0] as number) ^ (uSign[1] as number)
  if ((ta === T_INF && tb === T_INF) || (ta === T_ZERO && tb === T_ZERO)) return invalid(st, fmt)
  if (ta === T_INF || tb === T_ZERO) {
    if (ta !== T_INF) st.fpsr |= FPSR_DZC
    return packInf(fmt, sign)
  }
  if (ta === T_ZERO || tb === T_INF) return packZero(fmt, sign)
  const a = Math.abs(uVal[0] as number)
  const b = Math.abs(uVal[1] as number)
  const ea = exponentOf(a)
  const eb = exponentOf(b)
  const ma = scale2(a, -ea)
  const mb = scale2(b, -eb)
  const q = ma / mb
  const p = q * mb
  const r = ma - p - twoProductErr(q, mb, p)
  const sticky = r > 0 ? 1 : r < 0 ? -1 : 0
  return roundReal(st, fmt, sign ? -q : q, 0, sign ? -sticky : sticky, ea - eb, roundingMode(st.fpcr), false)
}

/** FPSqrt. */
export function fpSqrt(st: FpStatus, fmt: Format, aLo: number, aHi: number): number {
  if ((st.fpcr & FPCR_RMODE_MASK) === 0) {
    if (fmt === DOUBLE) {
      if (isNormal64(aHi) && aHi >>> 31 === 0 && aHi >= 0x03f00000) {
        // (a >= 2^-960 keeps the TwoProduct error of r * r exact)
        const a = fromWords(aLo, aHi)
        const r = Math.sqrt(a)
        const p = r * r
        if (p !== a || twoProductErr(r, r, p) !== 0) st.fpsr |= FPSR_IXC
        return toWords(r)
      }
    } else if (fmt === SINGLE && isNormal32(aLo) && aLo >>> 31 === 0) {
      const a = fromBits32(aLo)
      const r = Math.fround(Math.sqrt(a))
      if (r * r !== a) st.fpsr |= FPSR_IXC
      return toBits32(r)
    }
  }
  const t = unpack(st, fmt, aLo, aHi, 0, false)
  if (t >= T_QNAN) return processNaN(st, fmt, 0)
  const sign = uSign[0] as number
  if (t === T_ZERO) return packZero(fmt, sign)
  if (t === T_INF && sign === 0) return packInf(fmt, 0)
  if (sign === 1) return invalid(st, fmt)
  const v = uVal[0] as number
  const e = exponentOf(v) & ~1
  const m = scale2(v, -e)
  const r = Math.sqrt(m)
  const p = r * r
  const rem = m - p - twoProductErr(r, r, p)
  return roundReal(st, fmt, r, 0, rem > 0 ? 1 : rem < 0 ? -1 : 0, e / 2, roundingMode(st.fpcr), false)
}

// ---------------------------------------------------------------------------------------
// FPMulAdd (and FPMulAddH for FMLAL)

/**
 * FPMulAdd(addend, op1, op2), fused: addend + op1 * op2 rounded once. Negated forms (FMSUB,
 * FNMADD, FMLS...) flip the operand's sign bit before the call, as FPNeg does.
 */
export function fpMulAdd(
  st: FpStatus,
  fmt: Format,
  cLo: number,
  cHi: number,
  aLo: number,
  aHi: number,
  bLo: number,
  bHi: number,
): number {
  if ((st.fpcr & FPCR_RMODE_MASK) === 0) {
    if (fmt === SINGLE) {
      if (isNormal32(cLo) && isNormal32(aLo) && isNormal32(bLo)) {
        const r = fmaFast32(st, cLo, aLo, bLo)
        if (r !== -1) return r
      }
    } else if (fmt === DOUBLE && isNormal64(cHi) && isNormal64(aHi) && isNormal64(bHi)) {
      const r = fmaFast64(st, fromWords(cLo, cHi), fromWords(aLo, aHi), fromWords(bLo, bHi))
      if (r === r) return toWords(r)
    }
  }
  unpack(st, fmt, cLo, cHi, 0, false)
  unpack(st, fmt, aLo, aHi, 1, false)
  unpack(st, fmt, bLo, bHi, 2, false)
  return mulAddUnpacked(st, fmt, fmt, 0)
}

/** Round-to-nearest single c + a * b for normal operands, or -1 for the exact path. */
function fmaFast32(st: FpStatus, cBits: number, aBits: number, bBits: number): number {
  // The product of two singles is exact in double; one TwoSum makes the sum exact too.
  const c = fromBits32(cBits)
  const p = fromBits32(aBits) * fromBits32(bBits)
  const s = p + c
  const r = Math.fround(s)
  const e = twoSumErr(p, c, s)
  if (Math.abs(s) > MIN_NORMAL32 && Math.abs(r) <= MAX32 && (e === 0 || !isSingleTie(s, r))) {
    if (e !== 0 || r !== s) st.fpsr |= FPSR_IXC
    return toBits32(r)
  }
  return -1
}

/**
 * Round-to-nearest c + a * b for normal doubles when error-free transformations settle it:
 * p + pe = a * b (TwoProduct), s + e1 = p + c, t + e2 = e1 + pe, r + e3 = s + t, so the exact
 * value is r + e3 + e2 and r is its rounding unless e2 could move it across a rounding
 * boundary (then, or when a range condition fails, NaN: take the exact path).
 */
function fmaFast64(st: FpStatus, c: number, a: number, b: number): number {
  const p = a * b
  const mp = Math.abs(p)
  if (!(mp >= SAFE_PRODUCT_LOW && mp <= MAX64 && Math.abs(a) < SAFE_SPLIT_HIGH && Math.abs(b) < SAFE_SPLIT_HIGH)) return NaN
  const pe = twoProductErr(a, b, p)
  const s = p + c
  const e1 = twoSumErr(p, c, s)
  const t = e1 + pe
  const e2 = twoSumErr(e1, pe, t)
  const r = s + t
  const e3 = twoSumErr(s, t, r)
  const m = Math.abs(r)
  if (!(m > MIN_NORMAL64 && m <= MAX64)) return NaN
  if (e2 !== 0) {
    // r is right unless e3 + e2 can reach half an ulp of r (or r is a power of two).
    const lo = toWords(r)
    const hi = res.hi
    const be = (hi >>> 20) & 0x7ff
    if (be <= 53 || ((hi & 0xfffff) === 0 && lo === 0)) return NaN
    const half = fromWords(0, (be - 53) << 20)
    if (Math.abs(Math.abs(e3) - half) <= 2 * Math.abs(e2)) return NaN
  }
  if (e3 !== 0 || e2 !== 0) {
    if (e3 + e2 !== 0) st.fpsr |= FPSR_IXC
  }
  return r
}

/**
 * FPMulAddH: a single (or double) addend plus the product of two half-width operands
 * (FMLAL/FMLSL), rounded once. The halves are unpacked with FZ16; NaNs from them are
 * converted to the addend's format.
 */
export function fpMulAddH(st: FpStatus, fmt: Format, addend: number, a: number, b: number): number {
  unpack(st, fmt, addend, 0, 0, false)
  unpack(st, HALF, a, 0, 1, false)
  unpack(st, HALF, b, 0, 2, false)
  return mulAddUnpacked(st, fmt, HALF, 0)
}

/** FPMulAdd on slots 0 (addend), 1, 2; `extra` scales the exact result (FRSQRTS halves it). */
function mulAddUnpacked(st: FpStatus, fmt: Format, opFmt: Format, extra: number): number {
  const tA = uType[0] as number
  const t1 = uType[1] as number
  const t2 = uType[2] as number
  const infZero = (t1 === T_INF && t2 === T_ZERO) || (t1 === T_ZERO && t2 === T_INF)
  if (tA === T_QNAN && infZero) return invalid(st, fmt)
  const nan = pickNaN3(0, 1, 2)
  if (nan >= 0) {
    if (nan === 0 || opFmt === fmt) return processNaN(st, fmt, nan)
    return convertNaN(fmt, opFmt, processNaN(st, opFmt, nan), res.hi)
  }
  const sA = uSign[0] as number
  const sP = (uSign[1] as number) ^ (uSign[2] as number)
  const infA = tA === T_INF
  const infP = t1 === T_INF || t2 === T_INF
  const zeroA = tA === T_ZERO
  const zeroP = t1 === T_ZERO || t2 === T_ZERO
  if (infZero || (infA && infP && sA !== sP)) return invalid(st, fmt)
  if ((infA && sA === 0) || (infP && sP === 0)) return packInf(fmt, 0)
  if ((infA && sA === 1) || (infP && sP === 1)) return packInf(fmt, 1)
  if (zeroA && zeroP && sA === sP) return packZero(fmt, sA)
  const rmode = roundingMode(st.fpcr)
  const vA = uVal[0] as number
  if (zeroP) return vA === 0 ? exactZero(fmt, rmode) : roundReal(st, fmt, vA, 0, 0, extra, rmode, false)
  return roundFused(st, fmt, zeroA ? 0 : vA, uVal[1] as number, uVal[2] as number, extra, rmode)
}

/** FPRecipStepFused: 2 - op1 * op2, fused (FRECPS). */
export function fpRecipStep(st: FpStatus, fmt: Format, aLo: number, aHi: number, bLo: number, bHi: number): number {
  return stepFused(st, fmt, aLo, aHi, bLo, bHi, false)
}
/** FPRSqrtStepFused: (3 - op1 * op2) / 2, fused (FRSQRTS). */
export function fpRSqrtStep(st: FpStatus, fmt: Format, aLo: number, aHi: number, bLo: number, bHi: number): number {
  return stepFused(st, fmt, aLo, aHi, bLo, bHi, true)
}

function stepFused(
  st: FpStatus,
  fmt: Format,
  aLo: number,
  aHi: number,
  bLo: number,
  bHi: number,
  rsqrt: boolean,
): number {
  // op1 = FPNeg(op1) before anything, so a NaN from op1 comes out with its sign flipped.
  if (fmt.n === 64) aHi = (aHi ^ 0x80000000) >>> 0
  else aLo = (aLo ^ (fmt.n === 32 ? 0x80000000 : 0x8000)) >>> 0
  const t1 = unpack(st, fmt, aLo, aHi, 1, false)
  const t2 = unpack(st, fmt, bLo, bHi, 2, false)
  const nan = pickNaN2(1, 2)
  if (nan >= 0) return processNaN(st, fmt, nan)
  if ((t1 === T_INF && t2 === T_ZERO) || (t1 === T_ZERO && t2 === T_INF)) {
    return rsqrt ? packOnePointFive(fmt) : packTwo(fmt, 0)
  }
  if (t1 === T_INF || t2 === T_INF) return packInf(fmt, (uSign[1] as number) ^ (uSign[2] as number))
  const rmode = roundingMode(st.fpcr)
  const addend = rsqrt ? 3 : 2
  const extra = rsqrt ? -1 : 0
  if (t1 === T_ZERO || t2 === T_ZERO) return roundReal(st, fmt, addend, 0, 0, extra, rmode, false)
  return roundFused(st, fmt, addend, uVal[1] as number, uVal[2] as number, extra, rmode)
}

/** FPOnePointFive(0). */
function packOnePointFive(fmt: Format): number {
  if (fmt.n === 64) {
    res.hi = 0x3ff80000
    return 0
  }
  return fmt.n === 32 ? 0x3fc00000 : 0x3e00
}

// ---------------------------------------------------------------------------------------
// FPMax, FPMin, FPMaxNum, FPMinNum

/** FPMax (max) or FPMin; `num` gives FPMaxNum/FPMinNum (a quiet NaN loses to a number). */
export function fpMaxMin(
  st: FpStatus,
  fmt: Format,
  aLo: number,
  aHi: number,
  bLo: number,
  bHi: number,
  max: boolean,
  num: boolean,
): number {
  let ta = unpack(st, fmt, aLo, aHi, 0, false)
  let tb = unpack(st, fmt, bLo, bHi, 1, false)
  if (num) {
    // The quiet NaN becomes the infinity that never wins.
    const inf = max ? -Infinity : Infinity
    if (ta === T_QNAN && tb !== T_QNAN) {
      ta = T_INF
      uType[0] = T_INF
      uVal[0] = inf
      uSign[0] = max ? 1 : 0
    } else if (ta !== T_QNAN && tb === T_QNAN) {
      tb = T_INF
      uType[1] = T_INF
      uVal[1] = inf
      uSign[1] = max ? 1 : 0
    }
  }
  const nan = pickNaN2(0, 1)
  if (nan >= 0) return processNaN(st, fmt, nan)
  const va = uVal[0] as number
  const vb = uVal[1] as number
  const pick = (max ? va > vb : va < vb) ? 0 : 1
  const t = pick === 0 ? ta : tb
  if (t === T_INF) return packInf(fmt, uSign[pick] as number)
  if (t === T_ZERO) {
    const sa = uSign[0] as number
    const sb = uSign[1] as number
    return packZero(fmt, max ? sa & sb : sa | sb)
  }
  // FPRound of a value already in the format: its own bits.
  return slotBits(pick)
}

/** FPAbs: clears the sign bit (NaNs included). */
export function fpAbs(fmt: Format, lo: number, hi: number): number {
  if (fmt.n === 64) {
    res.hi = hi & 0x7fffffff
    return lo
  }
  return fmt.n === 32 ? lo & 0x7fffffff : lo & 0x7fff
}
/** FPNeg: flips the sign bit (NaNs included). */
export function fpNeg(fmt: Format, lo: number, hi: number): number {
  if (fmt.n === 64) {
    res.hi = (hi ^ 0x80000000) >>> 0
    return lo
  }
  return fmt.n === 32 ? (lo ^ 0x80000000) >>> 0 : lo ^ 0x8000
}

/** FABD: FPAbs(FPSub(a, b)). */
export function fpAbd(st: FpStatus, fmt: Format, aLo: number, aHi: number, bLo: number, bHi: number): number {
  const lo = fpSub(st, fmt, aLo, aHi, bLo, bHi)
  return fpAbs(fmt, lo, res.hi)
}
