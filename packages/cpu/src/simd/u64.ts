// 64-bit integer arithmetic on (lo, hi) uint32 halves, without BigInt and without
// allocation: every helper leaves its result in R (R.lo, R.hi as uint32; read the signed
// high half as R.hi | 0).

export const R = { lo: 0, hi: 0 }

const TWO32 = 0x1_0000_0000

export function add64(alo: number, ahi: number, blo: number, bhi: number): void {
  const lo = alo + blo
  R.lo = lo >>> 0
  R.hi = (ahi + bhi + (lo >= TWO32 ? 1 : 0)) >>> 0
}

export function sub64(alo: number, ahi: number, blo: number, bhi: number): void {
  R.lo = (alo - blo) >>> 0
  R.hi = (ahi - bhi - (alo >>> 0 < blo >>> 0 ? 1 : 0)) >>> 0
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
  if (n === 0) {
    R.lo = lo >>> 0
    R.hi = hi >>> 0
  } else if (n < 32) {
    R.hi = ((hi << n) | (lo >>> (32 - n))) >>> 0
    R.lo = (lo << n) >>> 0
  } else if (n < 64) {
    R.hi = (lo << (n - 32)) >>> 0
    R.lo = 0
  } else {
    R.lo = 0
    R.hi = 0
  }
}

/** Logical shift right by n >= 0 (n >= 64 gives 0). */
export function lsr64(lo: number, hi: number, n: number): void {
  if (n === 0) {
    R.lo = lo >>> 0
    R.hi = hi >>> 0
  } else if (n < 32) {
    R.lo = ((lo >>> n) | (hi << (32 - n))) >>> 0
    R.hi = hi >>> n
  } else if (n < 64) {
    R.lo = hi >>> (n - 32)
    R.hi = 0
  } else {
    R.lo = 0
    R.hi = 0
  }
}

/** Arithmetic shift right by n >= 0 (n >= 64 gives the sign in every bit). */
export function asr64(lo: number, hi: number, n: number): void {
  if (n === 0) {
    R.lo = lo >>> 0
    R.hi = hi >>> 0
  } else if (n < 32) {
    R.lo = ((lo >>> n) | (hi << (32 - n))) >>> 0
    R.hi = (hi >> n) >>> 0
  } else if (n < 64) {
    R.lo = (hi >> (n - 32)) >>> 0
    R.hi = (hi >> 31) >>> 0
  } else {
    R.lo = R.hi = (hi >> 31) >>> 0
  }
}

/** Bit n (0..63) of the value. */
export function bit64(lo: number, hi: number, n: number): number {
  return n < 32 ? (lo >>> n) & 1 : (hi >>> (n - 32)) & 1
}

/** Exact unsigned 32 x 32 -> 64-bit product. */
export function mulU32(a: number, b: number): void {
  a >>>= 0
  b >>>= 0
  const a0 = a & 0xffff
  const a1 = a >>> 16
  const b0 = b & 0xffff
  const b1 = b >>> 16
  const p00 = a0 * b0
  const mid = a1 * b0 + a0 * b1 // < 2^33
  const lo = p00 + (mid % 0x10000) * 0x10000 // < 2^49, exact
  R.lo = lo >>> 0
  R.hi = (a1 * b1 + Math.floor(mid / 0x10000) + Math.floor(lo / TWO32)) >>> 0
}

/** Exact signed 32 x 32 -> 64-bit product. */
export function mulS32(a: number, b: number): void {
  a |= 0
  b |= 0
  const neg = a < 0 !== b < 0
  mulU32(a < 0 ? -a : a, b < 0 ? -b : b)
  if (neg) neg64(R.lo, R.hi)
}

/** Converts an exact integer |x| < 2^63 (as a double) to (lo, hi). */
export function fromNumber(x: number): void {
  const hi = Math.floor(x / TWO32)
  R.lo = (x - hi * TWO32) >>> 0
  R.hi = hi >>> 0
}

/** Count of leading zero bits (0..64). */
export function clz64(lo: number, hi: number): number {
  return hi !== 0 ? Math.clz32(hi) : 32 + Math.clz32(lo)
}
