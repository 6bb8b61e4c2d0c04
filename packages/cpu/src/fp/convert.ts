// Conversions after the Arm ARM: FPConvert (between precisions, FCVT/FCVTN/FCVTL/FCVTXN),
// FPToFixed (FCVT[NAPMZ][SU], fixed-point forms), FixedToFP (SCVTF/UCVTF), FPRoundInt
// (FRINT[NAPMZXI]), FPRoundIntN (FRINT32/64[ZX]) and FPToFixedJS (FJCVTZS).

import {
  DOUBLE,
  HALF,
  SINGLE,
  T_INF,
  T_QNAN,
  T_SNAN,
  T_ZERO,
  packDefaultNaN,
  packInf,
  packZero,
  pow2,
  processNaN,
  res,
  roundReal,
  fromBits32,
  fromWords,
  toBits32,
  toWords,
  twoSumErr,
  uSign,
  uVal,
  unpack,
  type Format,
} from './core.js'
import { convertNaN } from './nan.js'
import {
  FPCR_AHP,
  FPCR_DN,
  FPSR_IOC,
  FPSR_IXC,
  RM,
  RN,
  RP,
  RZ,
  type FpStatus,
} from './status.js'

const MIN_NORMAL32 = 1.1754943508222875e-38
const MAX32 = 3.4028234663852886e38

/** FPConvert(op, fpcr, rmode) from `from` to `to` (rmode may be RO for FCVTXN). */
export function fpConvert(st: FpStatus, to: Format, from: Format, lo: number, hi: number, rmode: number): number {
  if (from === DOUBLE && to === SINGLE && rmode === RN) {
    // A normal double to single: Math.fround is the round-to-nearest conversion.
    const e = (hi >>> 20) & 0x7ff
    if (e !== 0 && e !== 0x7ff) {
      const x = fromWords(lo, hi)
      const r = Math.fround(x)
      const m = Math.abs(x)
      if (m > MIN_NORMAL32 && Math.abs(r) <= MAX32) {
        if (r !== x) st.fpsr |= FPSR_IXC
        return toBits32(r)
      }
    }
  } else if (from === SINGLE && to === DOUBLE) {
    // Exact for every normal single.
    const e = (lo >>> 23) & 0xff
    if (e !== 0 && e !== 0xff) return toWords(fromBits32(lo))
  }
  const t = unpack(st, from, lo, hi, 0, true)
  const sign = uSign[0] as number
  const altHp = to === HALF && (st.fpcr & FPCR_AHP) !== 0
  if (t === T_QNAN || t === T_SNAN) {
    let r: number
    if (altHp) r = packZero(to, sign)
    else if (st.fpcr & FPCR_DN) r = packDefaultNaN(to)
    else r = convertNaN(to, from, lo, hi)
    if (t === T_SNAN || altHp) st.fpsr |= FPSR_IOC
    return r
  }
  if (t === T_INF) {
    if (altHp) {
      st.fpsr |= FPSR_IOC
      return sign ? 0xffff : 0x7fff
    }
    return packInf(to, sign)
  }
  if (t === T_ZERO) return packZero(to, sign)
  return roundReal(st, to, uVal[0] as number, 0, 0, 0, rmode, true)
}

/** The 2's complement words of the integer n (|n| < 2^64) as an M-bit result; high word in res.hi. */
function intWords(n: number, m: number): number {
  if (m === 64) {
    const h = Math.floor(n / 4294967296)
    res.hi = h >>> 0
    return (n - h * 4294967296) >>> 0
  }
  res.hi = 0
  return m === 32 ? n >>> 0 : n & 0xffff
}

/** The largest M-bit integer, signed or unsigned, as words. */
function maxInt(m: number, unsigned: boolean): number {
  if (m === 64) {
    res.hi = unsigned ? 0xffffffff : 0x7fffffff
    return 0xffffffff
  }
  res.hi = 0
  if (m === 32) return unsigned ? 0xffffffff : 0x7fffffff
  return unsigned ? 0xffff : 0x7fff
}

/** Whether RoundDown(x) + 1 is taken, given the error x - RoundDown(x) in [0, 1). */
function roundsUp(rmode: number, n: number, err: number): boolean {
  switch (rmode) {
    case RN:
      return err > 0.5 || (err === 0.5 && Math.abs(n % 2) === 1)
    case RP:
      return err !== 0
    case RM:
      return false
    case RZ:
      return err !== 0 && n < 0
    default: // RA
      return err > 0.5 || (err === 0.5 && n >= 0)
  }
}

/**
 * FPToFixed(op, fbits, unsigned, fpcr, rmode) into an M-bit integer (M = 16, 32 or 64);
 * the low word is returned, the high word of a 64-bit result goes to res.hi.
 */
export function fpToFixed(
  st: FpStatus,
  fmt: Format,
  lo: number,
  hi: number,
  fbits: number,
  unsigned: boolean,
  m: number,
  rmode: number,
): number {
  const t = unpack(st, fmt, lo, hi, 0, false)
  let v = uVal[0] as number
  if (t === T_QNAN || t === T_SNAN) {
    st.fpsr |= FPSR_IOC
    v = 0
  }
  const x = v * pow2(fbits)
  let n: number
  let overflow = false
  let inexact = false
  if (!Number.isFinite(x)) {
    overflow = true
    n = x
  } else {
    n = Math.floor(x)
    const err = x - n
    if (roundsUp(rmode, n, err)) n += 1
    inexact = err !== 0
  }
  // n must lie in [low, limit); the largest value (2^m - 1 or 2^(m-1) - 1) is not a double for m = 64.
  const low = unsigned ? 0 : -pow2(m - 1)
  const limit = unsigned ? pow2(m) : pow2(m - 1)
  if (n >= limit) {
    st.fpsr |= FPSR_IOC
    return maxInt(m, unsigned)
  }
  if (n < low) {
    n = low
    overflow = true
  }
  if (overflow) st.fpsr |= FPSR_IOC
  else if (inexact) st.fpsr |= FPSR_IXC
  return intWords(n, m)
}

/**
 * FixedToFP(op, fbits, unsigned, fpcr, rmode): the M-bit integer hi:lo (M = 16, 32, 64)
 * divided by 2^fbits, rounded to `fmt`.
 */
export function fixedToFp(
  st: FpStatus,
  fmt: Format,
  lo: number,
  hi: number,
  m: number,
  fbits: number,
  unsigned: boolean,
  rmode: number,
): number {
  let h: number
  let l = 0
  if (m === 64) {
    h = (unsigned ? hi >>> 0 : hi | 0) * 4294967296
    l = lo >>> 0
  } else if (m === 32) {
    h = unsigned ? lo >>> 0 : lo | 0
  } else {
    h = unsigned ? lo & 0xffff : (lo << 16) >> 16
  }
  if (h === 0 && l === 0) return packZero(fmt, 0)
  const s = h + l
  return roundReal(st, fmt, s, twoSumErr(h, l, s), 0, -fbits, rmode, false)
}

/** FPRoundInt(op, fpcr, rmode, exact): FRINTN/A/P/M/Z (exact false), FRINTX (true), FRINTI. */
export function fpRoundInt(st: FpStatus, fmt: Format, lo: number, hi: number, rmode: number, exact: boolean): number {
  const t = unpack(st, fmt, lo, hi, 0, false)
  if (t === T_QNAN || t === T_SNAN) return processNaN(st, fmt, 0)
  const sign = uSign[0] as number
  if (t === T_INF) return packInf(fmt, sign)
  if (t === T_ZERO) return packZero(fmt, sign)
  const v = uVal[0] as number
  let n = Math.floor(v)
  const err = v - n
  if (roundsUp(rmode, n, err)) n += 1
  const r = n === 0 ? packZero(fmt, sign) : roundReal(st, fmt, n, 0, 0, 0, RZ, false)
  if (err !== 0 && exact) st.fpsr |= FPSR_IXC
  return r
}

/** -2^(intsize-1) in `fmt`: what FPRoundIntN gives for NaNs, infinities and out-of-range values. */
function packIntMin(fmt: Format, intsize: number): number {
  if (fmt === DOUBLE) {
    res.hi = (0x80000000 | ((1022 + intsize) << 20)) >>> 0
    return 0
  }
  return (0x80000000 | ((126 + intsize) << 23)) >>> 0
}

/** FPRoundIntN(op, fpcr, rmode, intsize): FRINT32Z/X, FRINT64Z/X (single and double). */
export function fpRoundIntN(st: FpStatus, fmt: Format, lo: number, hi: number, rmode: number, intsize: number): number {
  const t = unpack(st, fmt, lo, hi, 0, false)
  if (t === T_QNAN || t === T_SNAN || t === T_INF) {
    st.fpsr |= FPSR_IOC
    return packIntMin(fmt, intsize)
  }
  const sign = uSign[0] as number
  if (t === T_ZERO) return packZero(fmt, sign)
  const v = uVal[0] as number
  let n = Math.floor(v)
  const err = v - n
  if (roundsUp(rmode, n, err)) n += 1
  const limit = pow2(intsize - 1)
  if (n >= limit || n < -limit) {
    st.fpsr |= FPSR_IOC
    return packIntMin(fmt, intsize)
  }
  const r = n === 0 ? packZero(fmt, sign) : roundReal(st, fmt, n, 0, 0, 0, RZ, false)
  if (err !== 0) st.fpsr |= FPSR_IXC
  return r
}

/**
 * FPToFixedJS (FJCVTZS): the double hi:lo rounded toward zero, modulo 2^32. Returns the 32-bit
 * result; res.hi gets the NZCV value the instruction writes (0b0Z00).
 */
export function fpToFixedJS(st: FpStatus, lo: number, hi: number): number {
  const t = unpack(st, DOUBLE, lo, hi, 0, false)
  let z = 1
  let v = uVal[0] as number
  if (t === T_QNAN || t === T_SNAN) {
    st.fpsr |= FPSR_IOC
    z = 0
    v = 0
  }
  let result: number
  if (t === T_INF) {
    st.fpsr |= FPSR_IOC
    z = 0
    result = 0
  } else {
    let n = Math.floor(v)
    const err = v - n
    if (err !== 0 && n < 0) n += 1
    result = n >>> 0
    if (n < -2147483648 || n > 2147483647) {
      st.fpsr |= FPSR_IOC
      z = 0
    } else if (err !== 0) {
      st.fpsr |= FPSR_IXC
      z = 0
    }
  }
  // -0, and (in later Arm ARM versions, as QEMU does) a positive denormal flushed by FZ, are
  // not exact for JavaScript.
  if (v === 0 && (uSign[0] === 1 || (hi & 0xfffff) !== 0 || lo !== 0)) z = 0
  res.hi = z << 2
  return result
}

