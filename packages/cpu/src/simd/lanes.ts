// Lane-by-lane engines: one loop per operand shape, the operation passed as a lane
// function. Lane functions for 8/16/32-bit elements take and return plain numbers (the
// operands unsigned; a signed operation converts with sext); results are stored modulo
// 2^esize by the typed array. 64-bit lanes go through a separate function on (lo, hi) halves
// that leaves its result in alu[R_LO], alu[R_HI] (see u64.ts). Saturating lane functions call satS/satU, which raise `sat`;
// the engines return it so the caller can set FPSR.QC.

import { R_HI, R_LO, alu } from './u64.js'
import { type VRegs, V_SCRATCH, getU, lanesArray, setLane, zeroAbove } from './vregs.js'

/** Set by saturating lane functions; engines clear it first and return it. */
export const Q = { sat: 0 }

const SMAX = [0x7f, 0x7fff, 0x7fff_ffff] as const
const SMIN = [-0x80, -0x8000, -0x8000_0000] as const
const UMAX = [0xff, 0xffff, 0xffff_ffff] as const

/** Sign-extends the low (8 << e) bits of x (e = 0..2). */
export function sext(x: number, e: number): number {
  return e === 0 ? (x << 24) >> 24 : e === 1 ? (x << 16) >> 16 : x | 0
}

/** Signed saturation to (8 << e) bits; raises Q.sat when it clamps. */
export function satS(x: number, e: number): number {
  const max = SMAX[e as 0]
  if (x > max) {
    Q.sat = 1
    return max
  }
  const min = SMIN[e as 0]
  if (x < min) {
    Q.sat = 1
    return min
  }
  return x
}

/** Unsigned saturation to (8 << e) bits; raises Q.sat when it clamps. */
export function satU(x: number, e: number): number {
  const max = UMAX[e as 0]
  if (x > max) {
    Q.sat = 1
    return max
  }
  if (x < 0) {
    Q.sat = 1
    return 0
  }
  return x
}

/** Binary lane function: unsigned operands a (from Vn), b (from Vm), element size e. */
export type Lane2 = (a: number, b: number, e: number) => number
/** Ternary lane function: d is the destination's old lane. */
export type Lane3 = (d: number, a: number, b: number, e: number) => number
/** 64-bit lane function: result in alu[R_LO], alu[R_HI]. */
export type Lane64 = (alo: number, ahi: number, blo: number, bhi: number) => void
/** 64-bit ternary lane function: result in alu[R_LO], alu[R_HI]. */
export type Lane64x3 = (dlo: number, dhi: number, alo: number, ahi: number, blo: number, bhi: number) => void

function noLane64(): void {
  throw new Error('simd: no 64-bit form of this operation')
}

/**
 * Vd[i] = f(Vn[i], Vm[i]) for n lanes of (8 << esz) bits, the rest of Vd zeroed.
 * Each lane reads its operands before its result is written, so Vd may be Vn or Vm.
 */
export function lanes2(V: VRegs, f: Lane2, f64: Lane64 | undefined, esz: number, n: number, rd: number, rn: number, rm: number): number {
  Q.sat = 0
  if (esz === 3) {
    const g = f64 ?? noLane64
    const u32 = V.u32
    for (let i = 0; i < n; i++) {
      const a = (rn << 2) + 2 * i
      const b = (rm << 2) + 2 * i
      g(u32[a]!, u32[a + 1]!, u32[b]!, u32[b + 1]!)
      const d = (rd << 2) + 2 * i
      u32[d] = alu[R_LO]!
      u32[d + 1] = alu[R_HI]!
    }
  } else {
    const A = lanesArray(V, esz)
    const per = 16 >> esz
    const d = rd * per
    const a = rn * per
    const b = rm * per
    for (let i = 0; i < n; i++) A[d + i] = f(A[a + i]!, A[b + i]!, esz)
  }
  zeroAbove(V, rd, n << esz)
  return Q.sat
}

/** Vd[i] = f(Vd[i], Vn[i], Vm[i]); as lanes2. */
export function lanes3(V: VRegs, f: Lane3, f64: Lane64x3 | undefined, esz: number, n: number, rd: number, rn: number, rm: number): number {
  Q.sat = 0
  if (esz === 3) {
    const g = f64 ?? noLane64
    const u32 = V.u32
    for (let i = 0; i < n; i++) {
      const a = (rn << 2) + 2 * i
      const b = (rm << 2) + 2 * i
      const d = (rd << 2) + 2 * i
      g(u32[d]!, u32[d + 1]!, u32[a]!, u32[a + 1]!, u32[b]!, u32[b + 1]!)
      u32[d] = alu[R_LO]!
      u32[d + 1] = alu[R_HI]!
    }
  } else {
    const A = lanesArray(V, esz)
    const per = 16 >> esz
    const d = rd * per
    const a = rn * per
    const b = rm * per
    for (let i = 0; i < n; i++) A[d + i] = f(A[d + i]!, A[a + i]!, A[b + i]!, esz)
  }
  zeroAbove(V, rd, n << esz)
  return Q.sat
}

/** Vd[i] = f(Vn[i], 0) for unary operations (the second operand is unused or a constant). */
export function lanes1(V: VRegs, f: Lane2, f64: Lane64 | undefined, esz: number, n: number, rd: number, rn: number, k = 0): number {
  Q.sat = 0
  if (esz === 3) {
    const g = f64 ?? noLane64
    const u32 = V.u32
    for (let i = 0; i < n; i++) {
      const a = (rn << 2) + 2 * i
      g(u32[a]!, u32[a + 1]!, k, 0)
      const d = (rd << 2) + 2 * i
      u32[d] = alu[R_LO]!
      u32[d + 1] = alu[R_HI]!
    }
  } else {
    const A = lanesArray(V, esz)
    const per = 16 >> esz
    const d = rd * per
    const a = rn * per
    for (let i = 0; i < n; i++) A[d + i] = f(A[a + i]!, k, esz)
  }
  zeroAbove(V, rd, n << esz)
  return Q.sat
}

/** Vd[i] = f(Vd[i], Vn[i], k): accumulating unary operations (shift-and-accumulate, insert). */
export function lanes1acc(V: VRegs, f: Lane3, f64: Lane64x3 | undefined, esz: number, n: number, rd: number, rn: number, k: number): number {
  Q.sat = 0
  if (esz === 3) {
    const g = f64 ?? noLane64
    const u32 = V.u32
    for (let i = 0; i < n; i++) {
      const a = (rn << 2) + 2 * i
      const d = (rd << 2) + 2 * i
      g(u32[d]!, u32[d + 1]!, u32[a]!, u32[a + 1]!, k, 0)
      u32[d] = alu[R_LO]!
      u32[d + 1] = alu[R_HI]!
    }
  } else {
    const A = lanesArray(V, esz)
    const per = 16 >> esz
    const d = rd * per
    const a = rn * per
    for (let i = 0; i < n; i++) A[d + i] = f(A[d + i]!, A[a + i]!, k, esz)
  }
  zeroAbove(V, rd, n << esz)
  return Q.sat
}

/**
 * Copies lane idx of Vm into every lane of a scratch register and returns that register,
 * so a by-element form runs as the vector form with Vm replaced.
 */
export function broadcastToScratch(V: VRegs, esz: number, rm: number, idx: number): number {
  const s = V_SCRATCH + 7
  if (esz === 3) {
    const u32 = V.u32
    const lo = u32[(rm << 2) + 2 * idx]!
    const hi = u32[(rm << 2) + 2 * idx + 1]!
    u32[s << 2] = u32[(s << 2) + 2] = lo
    u32[(s << 2) + 1] = u32[(s << 2) + 3] = hi
  } else {
    const x = getU(V, esz, rm, idx)
    for (let i = 0, n = 16 >> esz; i < n; i++) setLane(V, esz, s, i, x)
  }
  return s
}
