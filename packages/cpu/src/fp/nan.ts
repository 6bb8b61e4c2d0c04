// FPConvertNaN: a NaN moved between formats keeps its sign and the top of its payload, and is
// always quiet.

import { res, type Format } from './core.js'

/** FPConvertNaN of the `from`-format NaN with bits hi:lo into `to` (64-bit: high word in res.hi). */
export function convertNaN(to: Format, from: Format, lo: number, hi: number): number {
  // The payload below the quiet bit, left-aligned in 51 bits as (p19 high bits, p32 low bits).
  let sign: number
  let p19: number
  let p32: number
  if (from.n === 64) {
    sign = hi >>> 31
    p19 = hi & 0x7ffff
    p32 = lo
  } else if (from.n === 32) {
    sign = lo >>> 31
    const frac22 = lo & 0x3fffff
    p19 = frac22 >>> 3
    p32 = (frac22 & 7) << 29
  } else {
    sign = (lo >>> 15) & 1
    p19 = (lo & 0x1ff) << 10
    p32 = 0
  }
  if (to.n === 64) {
    res.hi = ((sign << 31) | 0x7ff80000 | p19) >>> 0
    return p32 >>> 0
  }
  if (to.n === 32) return ((sign << 31) | 0x7fc00000 | (p19 << 3) | (p32 >>> 29)) >>> 0
  return (sign << 15) | 0x7e00 | (p19 >>> 10)
}
