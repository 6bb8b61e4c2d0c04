// Integer lane functions (Arm ARM names in comments). Operands arrive unsigned; see lanes.ts.

import { Q, sext, satS, satU, type Lane2, type Lane3, type Lane64} from './lanes.js'
import { R_HI, R_LO, alu, add64, asr64, bit64, cmpS64, cmpU64, lsr64, mulS32, neg64, shl64, sub64 } from './u64.js'

const TWO32 = 0x1_0000_0000
const ONES = 0xffff_ffff

// ---------------------------------------------------------------- shifts (shared core)

/** Output handling of a shift: wrap to esize, or saturate signed / unsigned (raising QC). */
export const WRAP = 0
export const SAT_S = 1
export const SAT_U = 2

/**
 * (x + round) shifted by s bits (left if s >= 0, right if s < 0, 8/16/32-bit lanes), exact,
 * then wrapped or saturated: the ASL of SSHL/USHL/SRSHL/SQSHL/.../SQSHLU and the shifts by
 * immediate. x is the operand's signed or unsigned value as the instruction reads it.
 */
export function shiftLane(x: number, s: number, round: boolean, out: number, e: number): number {
  if (s >= 0) {
    if (out === WRAP) return s >= 8 << e ? 0 : x << s // the store keeps the low esize bits
    const r = x === 0 ? 0 : x * 2 ** s // exact: a power of two times at most 33 bits
    return out === SAT_S ? satS(r, e) : satU(r, e)
  }
  // Right shifts never leave the range, whatever the output handling. x is in
  // [-2^31, 2^32): `>>` for negative values, `>>>` for the others.
  const n = -s
  if (n < 32) {
    const shifted = x < 0 ? x >> n : x >>> n
    return round ? shifted + ((x >>> (n - 1)) & 1) : shifted
  }
  // n >= 32: the sign, or with rounding (x + 2^(n-1)) >> n, which is 1 only for an
  // unsigned x >= 2^31 shifted by exactly 32.
  if (!round) return x < 0 ? -1 : 0
  return n === 32 && x >= 0 ? x >>> 31 : 0
}

/** The same on a 64-bit lane (lo, hi); the signed-ness of the operand is `signed`. Result in alu[R_LO], alu[R_HI]. */
export function shiftLane64(lo: number, hi: number, signed: boolean, s: number, round: boolean, out: number): void {
  if (s >= 0) {
    if ((lo | hi) === 0) {
      alu[R_LO] = alu[R_HI] = 0
      return
    }
    const negative = signed && (hi | 0) < 0
    if (out === WRAP) {
      shl64(lo, hi, s)
      return
    }
    if (out === SAT_U && negative) {
      Q.sat = 1
      alu[R_LO] = alu[R_HI] = 0
      return
    }
    let fits = s < 64
    if (fits) {
      shl64(lo, hi, s)
      const rlo = alu[R_LO]!
      const rhi = alu[R_HI]!
      if (signed && out === SAT_S) asr64(rlo, rhi, s)
      else lsr64(rlo, rhi, s)
      fits = alu[R_LO]! === lo >>> 0 && alu[R_HI]! === hi >>> 0
      alu[R_LO] = rlo
      alu[R_HI] = rhi
    }
    if (!fits) {
      Q.sat = 1
      if (out === SAT_U) alu[R_LO] = alu[R_HI] = ONES
      else if (negative) {
        alu[R_LO] = 0
        alu[R_HI] = 0x8000_0000
      } else {
        alu[R_LO] = ONES
        alu[R_HI] = 0x7fff_ffff
      }
    }
    return
  }
  const n = -s
  if (round) {
    if (n > 64) {
      alu[R_LO] = alu[R_HI] = 0
    } else if (n === 64) {
      // (x + 2^63) >> 64: 1 for unsigned x >= 2^63; 0 for every signed x.
      alu[R_LO] = signed ? 0 : hi >>> 31
      alu[R_HI] = 0
    } else {
      const carry = bit64(lo, hi, n - 1)
      if (signed) asr64(lo, hi, n)
      else lsr64(lo, hi, n)
      add64(alu[R_LO]!, alu[R_HI]!, carry, 0)
    }
  } else if (signed) asr64(lo, hi, n)
  else lsr64(lo, hi, n)
  // Right shifts cannot overflow; a signed value saturated as unsigned (SQSHRUN) is handled by callers.
}

// ---------------------------------------------------------------- three same

export const shadd: Lane2 = (a, b, e) => Math.floor((sext(a, e) + sext(b, e)) / 2)
export const uhadd: Lane2 = (a, b) => Math.floor((a + b) / 2)
export const srhadd: Lane2 = (a, b, e) => Math.floor((sext(a, e) + sext(b, e) + 1) / 2)
export const urhadd: Lane2 = (a, b) => Math.floor((a + b + 1) / 2)
export const shsub: Lane2 = (a, b, e) => Math.floor((sext(a, e) - sext(b, e)) / 2)
export const uhsub: Lane2 = (a, b) => Math.floor((a - b) / 2)

export const sqadd: Lane2 = (a, b, e) => satS(sext(a, e) + sext(b, e), e)
export const uqadd: Lane2 = (a, b, e) => satU(a + b, e)
export const sqsub: Lane2 = (a, b, e) => satS(sext(a, e) - sext(b, e), e)
export const uqsub: Lane2 = (a, b, e) => satU(a - b, e)

function satMaxMin64(negative: boolean): void {
  Q.sat = 1
  if (negative) {
    alu[R_LO] = 0
    alu[R_HI] = 0x8000_0000
  } else {
    alu[R_LO] = ONES
    alu[R_HI] = 0x7fff_ffff
  }
}

export const sqadd64: Lane64 = (alo, ahi, blo, bhi) => {
  add64(alo, ahi, blo, bhi)
  const sa = ahi >>> 31
  if (sa === bhi >>> 31 && alu[R_HI]! >>> 31 !== sa) satMaxMin64(sa === 1)
}
export const sqsub64: Lane64 = (alo, ahi, blo, bhi) => {
  sub64(alo, ahi, blo, bhi)
  const sa = ahi >>> 31
  if (sa !== bhi >>> 31 && alu[R_HI]! >>> 31 !== sa) satMaxMin64(sa === 1)
}
export const uqadd64: Lane64 = (alo, ahi, blo, bhi) => {
  add64(alo, ahi, blo, bhi)
  if (cmpU64(alu[R_LO]!, alu[R_HI]!, alo, ahi) < 0) {
    Q.sat = 1
    alu[R_LO] = alu[R_HI] = ONES
  }
}
export const uqsub64: Lane64 = (alo, ahi, blo, bhi) => {
  if (cmpU64(alo, ahi, blo, bhi) < 0) {
    Q.sat = 1
    alu[R_LO] = alu[R_HI] = 0
  } else sub64(alo, ahi, blo, bhi)
}

const mask64 = (c: boolean): void => {
  alu[R_LO] = alu[R_HI] = c ? ONES : 0
}
export const cmgt: Lane2 = (a, b, e) => (sext(a, e) > sext(b, e) ? -1 : 0)
export const cmge: Lane2 = (a, b, e) => (sext(a, e) >= sext(b, e) ? -1 : 0)
export const cmhi: Lane2 = (a, b) => (a > b ? -1 : 0)
export const cmhs: Lane2 = (a, b) => (a >= b ? -1 : 0)
export const cmeq: Lane2 = (a, b) => (a === b ? -1 : 0)
export const cmtst: Lane2 = (a, b) => ((a & b) !== 0 ? -1 : 0)
export const cmgt64: Lane64 = (alo, ahi, blo, bhi) => mask64(cmpS64(alo, ahi, blo, bhi) > 0)
export const cmge64: Lane64 = (alo, ahi, blo, bhi) => mask64(cmpS64(alo, ahi, blo, bhi) >= 0)
export const cmhi64: Lane64 = (alo, ahi, blo, bhi) => mask64(cmpU64(alo, ahi, blo, bhi) > 0)
export const cmhs64: Lane64 = (alo, ahi, blo, bhi) => mask64(cmpU64(alo, ahi, blo, bhi) >= 0)
export const cmeq64: Lane64 = (alo, ahi, blo, bhi) => mask64(alo === blo && ahi === bhi)
export const cmtst64: Lane64 = (alo, ahi, blo, bhi) => mask64(((alo & blo) | (ahi & bhi)) !== 0)

// Shift by register: the shift is the signed low byte of the Vm lane.
const shiftOf = (b: number): number => (b << 24) >> 24
export const sshl: Lane2 = (a, b, e) => shiftLane(sext(a, e), shiftOf(b), false, WRAP, e)
export const ushl: Lane2 = (a, b, e) => shiftLane(a, shiftOf(b), false, WRAP, e)
export const srshl: Lane2 = (a, b, e) => shiftLane(sext(a, e), shiftOf(b), true, WRAP, e)
export const urshl: Lane2 = (a, b, e) => shiftLane(a, shiftOf(b), true, WRAP, e)
export const sqshl: Lane2 = (a, b, e) => shiftLane(sext(a, e), shiftOf(b), false, SAT_S, e)
export const uqshl: Lane2 = (a, b, e) => shiftLane(a, shiftOf(b), false, SAT_U, e)
export const sqrshl: Lane2 = (a, b, e) => shiftLane(sext(a, e), shiftOf(b), true, SAT_S, e)
export const uqrshl: Lane2 = (a, b, e) => shiftLane(a, shiftOf(b), true, SAT_U, e)
export const sshl64: Lane64 = (alo, ahi, blo) => shiftLane64(alo, ahi, true, shiftOf(blo), false, WRAP)
export const ushl64: Lane64 = (alo, ahi, blo) => shiftLane64(alo, ahi, false, shiftOf(blo), false, WRAP)
export const srshl64: Lane64 = (alo, ahi, blo) => shiftLane64(alo, ahi, true, shiftOf(blo), true, WRAP)
export const urshl64: Lane64 = (alo, ahi, blo) => shiftLane64(alo, ahi, false, shiftOf(blo), true, WRAP)
export const sqshl64: Lane64 = (alo, ahi, blo) => shiftLane64(alo, ahi, true, shiftOf(blo), false, SAT_S)
export const uqshl64: Lane64 = (alo, ahi, blo) => shiftLane64(alo, ahi, false, shiftOf(blo), false, SAT_U)
export const sqrshl64: Lane64 = (alo, ahi, blo) => shiftLane64(alo, ahi, true, shiftOf(blo), true, SAT_S)
export const uqrshl64: Lane64 = (alo, ahi, blo) => shiftLane64(alo, ahi, false, shiftOf(blo), true, SAT_U)

export const smax: Lane2 = (a, b, e) => Math.max(sext(a, e), sext(b, e))
export const umax: Lane2 = (a, b) => Math.max(a, b)
export const smin: Lane2 = (a, b, e) => Math.min(sext(a, e), sext(b, e))
export const umin: Lane2 = (a, b) => Math.min(a, b)
export const sabd: Lane2 = (a, b, e) => Math.abs(sext(a, e) - sext(b, e))
export const uabd: Lane2 = (a, b) => Math.abs(a - b)
export const saba: Lane3 = (d, a, b, e) => d + Math.abs(sext(a, e) - sext(b, e))
export const uaba: Lane3 = (d, a, b) => d + Math.abs(a - b)

export const add: Lane2 = (a, b) => a + b
export const sub: Lane2 = (a, b) => a - b
export const add64l: Lane64 = (alo, ahi, blo, bhi) => add64(alo, ahi, blo, bhi)
export const sub64l: Lane64 = (alo, ahi, blo, bhi) => sub64(alo, ahi, blo, bhi)
export const mul: Lane2 = (a, b) => Math.imul(a, b)
export const mla: Lane3 = (d, a, b) => d + Math.imul(a, b)
export const mls: Lane3 = (d, a, b) => d - Math.imul(a, b)

/** Carry-less product of two bytes (PMUL keeps its low 8 bits, PMULL all 16). */
export function clmul8(a: number, b: number): number {
  let r = 0
  for (let i = 0; i < 8; i++) if ((b >>> i) & 1) r ^= a << i
  return r
}
export const pmul: Lane2 = (a, b) => clmul8(a, b)

/** High half of 2*a*b (+ rounding), saturated: SQDMULH / SQRDMULH on 16- or 32-bit lanes. */
function sqdmulhCore(a: number, b: number, round: boolean, e: number): number {
  if (e === 1) return satS(Math.floor((2 * a * b + (round ? 0x8000 : 0)) / 0x10000), 1)
  mulS32(a, b)
  const lo2 = ((alu[R_LO]! << 1) >>> 0) + (round ? 0x8000_0000 : 0)
  return satS(2 * (alu[R_HI]! | 0) + (alu[R_LO]! >>> 31) + (lo2 >= TWO32 ? 1 : 0), 2)
}
export const sqdmulh: Lane2 = (a, b, e) => sqdmulhCore(sext(a, e), sext(b, e), false, e)
export const sqrdmulh: Lane2 = (a, b, e) => sqdmulhCore(sext(a, e), sext(b, e), true, e)

/** SQRDMLAH / SQRDMLSH: (d << esize) +/- 2*a*b + 2^(esize-1), high half, saturated. */
function sqrdmlxh(d: number, a: number, b: number, e: number, subtract: boolean): number {
  if (e === 1) {
    const p = 2 * a * b
    return satS(Math.floor((d * 0x10000 + (subtract ? -p : p) + 0x8000) / 0x10000), 1)
  }
  mulS32(a, b)
  if (subtract) neg64(alu[R_LO]!, alu[R_HI]!)
  const lo2 = ((alu[R_LO]! << 1) >>> 0) + 0x8000_0000
  return satS(d + 2 * (alu[R_HI]! | 0) + (alu[R_LO]! >>> 31) + (lo2 >= TWO32 ? 1 : 0), 2)
}
export const sqrdmlah: Lane3 = (d, a, b, e) => sqrdmlxh(sext(d, e), sext(a, e), sext(b, e), e, false)
export const sqrdmlsh: Lane3 = (d, a, b, e) => sqrdmlxh(sext(d, e), sext(a, e), sext(b, e), e, true)

// ---------------------------------------------------------------- two-register misc

export const suqadd: Lane2 = (d, a, e) => satS(sext(d, e) + a, e)
export const usqadd: Lane2 = (d, a, e) => satU(d + sext(a, e), e)
/** SUQADD, 64-bit: signed d + unsigned n, saturated signed. */
export const suqadd64: Lane64 = (dlo, dhi, nlo, nhi) => {
  // Overflow only upwards: when n > INT64_MAX - d (that difference fits in 64 unsigned bits).
  sub64(ONES, 0x7fff_ffff, dlo, dhi)
  if (cmpU64(nlo, nhi, alu[R_LO]!, alu[R_HI]!) > 0) satMaxMin64(false)
  else add64(dlo, dhi, nlo, nhi)
}
/** USQADD, 64-bit: unsigned d + signed n, saturated unsigned. */
export const usqadd64: Lane64 = (dlo, dhi, nlo, nhi) => {
  if ((nhi | 0) >= 0) {
    uqadd64(dlo, dhi, nlo, nhi)
    return
  }
  neg64(nlo, nhi)
  uqsub64(dlo, dhi, alu[R_LO]!, alu[R_HI]!)
}

export const sqabs: Lane2 = (a, _b, e) => satS(Math.abs(sext(a, e)), e)
export const sqneg: Lane2 = (a, _b, e) => satS(-sext(a, e), e)
export const abs: Lane2 = (a, _b, e) => Math.abs(sext(a, e))
export const neg: Lane2 = (a) => -a
export const sqabs64: Lane64 = (lo, hi) => {
  if ((hi | 0) < 0) sqneg64(lo, hi, 0, 0)
  else {
    alu[R_LO] = lo
    alu[R_HI] = hi
  }
}
export const sqneg64: Lane64 = (lo, hi) => {
  if (lo === 0 && hi === 0x8000_0000) satMaxMin64(false)
  else neg64(lo, hi)
}
export const abs64: Lane64 = (lo, hi) => {
  if ((hi | 0) < 0) neg64(lo, hi)
  else {
    alu[R_LO] = lo
    alu[R_HI] = hi
  }
}
export const neg64l: Lane64 = (lo, hi) => neg64(lo, hi)

export const cmgtz: Lane2 = (a, _b, e) => (sext(a, e) > 0 ? -1 : 0)
export const cmgez: Lane2 = (a, _b, e) => (sext(a, e) >= 0 ? -1 : 0)
export const cmeqz: Lane2 = (a) => (a === 0 ? -1 : 0)
export const cmlez: Lane2 = (a, _b, e) => (sext(a, e) <= 0 ? -1 : 0)
export const cmltz: Lane2 = (a, _b, e) => (sext(a, e) < 0 ? -1 : 0)
export const cmgtz64: Lane64 = (lo, hi) => mask64((hi | 0) > 0 || ((hi | 0) === 0 && lo !== 0))
export const cmgez64: Lane64 = (_lo, hi) => mask64((hi | 0) >= 0)
export const cmeqz64: Lane64 = (lo, hi) => mask64((lo | hi) === 0)
export const cmlez64: Lane64 = (lo, hi) => mask64((hi | 0) < 0 || (lo | hi) === 0)
export const cmltz64: Lane64 = (_lo, hi) => mask64((hi | 0) < 0)

export const clz: Lane2 = (a, _b, e) => Math.clz32(a) - (32 - (8 << e))
/** Leading bits equal to the sign bit, not counting the sign bit itself. */
export const cls: Lane2 = (a, _b, e) => {
  const bits = 8 << e
  const low = bits === 32 ? 0x7fff_ffff : (1 << (bits - 1)) - 1
  return Math.clz32(((a >>> 1) ^ a) & low) - (33 - bits)
}
export const cnt: Lane2 = (a) => {
  let x = a - ((a >>> 1) & 0x55)
  x = (x & 0x33) + ((x >>> 2) & 0x33)
  return (x + (x >>> 4)) & 0x0f
}
export const rbit: Lane2 = (a) => {
  let r = 0
  for (let i = 0; i < 8; i++) r |= ((a >>> i) & 1) << (7 - i)
  return r
}
export const not: Lane2 = (a) => ~a
