// 64-bit integer helpers on (lo, hi) uint32 halves for 64-bit lanes: ../alu.ts (the integer
// unit's helpers) plus what lanes need beyond it (subtraction, comparisons, shifts by 64 or
// more, exact doubles). Same convention as alu.ts: results in alu[R_LO], alu[R_HI].

import { R_HI, R_LO, alu, add64 as addWithCarry, asr64 as asrBelow64, lsl64, lsr64 as lsrBelow64, mul32x32 } from '../alu.js'

export { R_HI, R_LO, alu }

const TWO32 = 0x1_0000_0000

export function add64(alo: number, ahi: number, blo: number, bhi: number): void {
  addWithCarry(alo, ahi, blo, bhi, 0)
}

export function sub64(alo: number, ahi: number, blo: number, bhi: number): void {
  addWithCarry(alo, ahi, ~blo >>> 0, ~bhi >>> 0, 1)
}

export function neg64(lo: number, hi: number): void {
  sub64(0, 0, lo, hi)
}

/** Signed comparison: negative, zero or positive. */
export function cmpS64(alo: number, ahi: number, blo: number, bhi: number): number {
  const ah = ahi | 0
  const bh = bhi | 0
  if (ah !== bh) return ah < bh ? -1 : 1
  const al = alo >>> 0
  const bl = blo >>> 0
  return al === bl ? 0 : al < bl ? -1 : 1
}

/** Unsigned comparison: negative, zero or positive. */
export function cmpU64(alo: number, ahi: number, blo: number, bhi: number): number {
  const ah = ahi >>> 0
  const bh = bhi >>> 0
  if (ah !== bh) return ah < bh ? -1 : 1
  const al = alo >>> 0
  const bl = blo >>> 0
  return al === bl ? 0 : al < bl ? -1 : 1
}

/** Logical shift left by n >= 0 (n >= 64 gives 0). */
export function shl64(lo: number, hi: number, n: number): void {
  if (n < 64) lsl64(lo, hi, n)
  else alu[R_LO] = alu[R_HI] = 0
}

/** Logical shift right by n >= 0 (n >= 64 gives 0). */
export function lsr64(lo: number, hi: number, n: number): void {
  if (n < 64) lsrBelow64(lo, hi, n)
  else alu[R_LO] = alu[R_HI] = 0
}

/** Arithmetic shift right by n >= 0 (n >= 64 gives the sign in every bit). */
export function asr64(lo: number, hi: number, n: number): void {
  if (n < 64) asrBelow64(lo, hi, n)
  else alu[R_LO] = alu[R_HI] = (hi >> 31) >>> 0
}

/** Bit n (0..63) of the value. */
export function bit64(lo: number, hi: number, n: number): number {
  return n < 32 ? (lo >>> n) & 1 : (hi >>> (n - 32)) & 1
}

/** Exact unsigned 32 x 32 -> 64-bit product. */
export function mulU32(a: number, b: number): void {
  mul32x32(a, b, false)
}

/** Exact signed 32 x 32 -> 64-bit product. */
export function mulS32(a: number, b: number): void {
  mul32x32(a | 0, b | 0, true)
}

/** Converts an exact integer (as a double, -2^63 <= x < 2^64) to (lo, hi). */
export function fromNumber(x: number): void {
  const hi = Math.floor(x / TWO32)
  alu[R_LO] = (x - hi * TWO32) >>> 0
  alu[R_HI] = hi >>> 0
}
