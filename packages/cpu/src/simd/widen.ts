// Widening and narrowing: the "three different" group (…L, …W, …HN), XTN and its
// saturating forms, SHLL/SSHLL/USHLL, pairwise long adds. Results that change lane size are
// built in a scratch register first, because they read source lanes the destination overlaps.

import { Q, sext, satS, satU } from './lanes.js'
import { clmul8, sqadd64, sqsub64 } from './int-ops.js'
import { R_HI, R_LO, alu, add64, fromNumber, mulS32, mulU32, sub64 } from './u64.js'
import { type VRegs, V_SCRATCH, getU, setLane, zeroAbove } from './vregs.js'

const S = V_SCRATCH

/** What a long operation computes from a pair of source lanes. */
export const LONG_ADD = 0
export const LONG_SUB = 1
export const LONG_ABD = 2
export const LONG_MUL = 3
/** Saturating doubling multiply (SQDMULL and the product of SQDMLAL/SQDMLSL). */
export const LONG_DMUL = 4
/** Polynomial multiply of bytes (PMULL, 8-bit). */
export const LONG_PMUL = 5

/** Accumulation into the destination: none, add, subtract. */
export const ACC_NONE = 0
export const ACC_ADD = 1
export const ACC_SUB = 2

function pairValue(op: number, a: number, b: number, e: number): number {
  switch (op) {
    case LONG_ADD:
      return a + b
    case LONG_SUB:
      return a - b
    case LONG_ABD:
      return Math.abs(a - b)
    case LONG_MUL:
      return a * b
    case LONG_DMUL:
      return satS(2 * a * b, e + 1)
    default:
      return clmul8(a, b)
  }
}

/** The same for 32-bit sources: the 64-bit value in alu[R_LO], alu[R_HI]. */
function pairValue64(op: number, a: number, b: number, signed: boolean): void {
  switch (op) {
    case LONG_ADD:
      fromNumber(a + b)
      return
    case LONG_SUB:
      fromNumber(a - b)
      return
    case LONG_ABD:
      fromNumber(Math.abs(a - b))
      return
    case LONG_MUL:
      if (signed) mulS32(a, b)
      else mulU32(a, b)
      return
    default: {
      // LONG_DMUL: 2ab overflows only for (-2^31)^2.
      if (a === -0x8000_0000 && b === -0x8000_0000) {
        Q.sat = 1
        alu[R_LO] = 0xffff_ffff
        alu[R_HI] = 0x7fff_ffff
        return
      }
      mulS32(a, b)
      add64(alu[R_LO]!, alu[R_HI]!, alu[R_LO]!, alu[R_HI]!)
    }
  }
}

/**
 * Long operations: Vd (lanes of 2*esize) = [Vd ±] op(Vn[base+i], Vm[base+i]) for n lanes,
 * base = the upper half for the "2" forms (q = 1). `sat` saturates the accumulation
 * (SQDMLAL/SQDMLSL). Scalar forms pass n = 1, q = 0.
 */
export function long3(
  V: VRegs,
  op: number,
  signed: boolean,
  acc: number,
  sat: boolean,
  esz: number,
  q: number,
  n: number,
  rd: number,
  rn: number,
  rm: number,
): number {
  Q.sat = 0
  const base = q ? 8 >> esz : 0
  const w = esz + 1
  for (let i = 0; i < n; i++) {
    let a = getU(V, esz, rn, base + i)
    let b = getU(V, esz, rm, base + i)
    if (signed) {
      a = sext(a, esz)
      b = sext(b, esz)
    }
    if (w < 3) {
      let x = pairValue(op, a, b, esz)
      if (acc !== ACC_NONE) {
        const d = getU(V, w, rd, i)
        x = acc === ACC_ADD ? (sat ? sext(d, w) + x : d + x) : sat ? sext(d, w) - x : d - x
        if (sat) x = satS(x, w)
      }
      setLane(V, w, S, i, x)
    } else {
      pairValue64(op, a, b, signed)
      if (acc !== ACC_NONE) {
        const d = (rd << 2) + 2 * i
        const dlo = V.u32[d]!
        const dhi = V.u32[d + 1]!
        if (sat) {
          if (acc === ACC_ADD) sqadd64(dlo, dhi, alu[R_LO]!, alu[R_HI]!)
          else sqsub64(dlo, dhi, alu[R_LO]!, alu[R_HI]!)
        } else if (acc === ACC_ADD) add64(dlo, dhi, alu[R_LO]!, alu[R_HI]!)
        else sub64(dlo, dhi, alu[R_LO]!, alu[R_HI]!)
      }
      V.u32[(S << 2) + 2 * i] = alu[R_LO]!
      V.u32[(S << 2) + 2 * i + 1] = alu[R_HI]!
    }
  }
  copyOut(V, rd, S, n << w)
  return Q.sat
}

/** Copies `bytes` bytes of scratch s into rd and zeroes the rest of rd. */
function copyOut(V: VRegs, rd: number, s: number, bytes: number): void {
  const u32 = V.u32
  if (bytes < 4) {
    if (bytes === 1) V.u8[rd << 4] = V.u8[s << 4]!
    else V.u16[rd << 3] = V.u16[s << 3]!
  } else {
    for (let k = 0; k < bytes >> 2; k++) u32[(rd << 2) + k] = u32[(s << 2) + k]!
  }
  zeroAbove(V, rd, bytes)
}

/** Wide operations (SADDW…USUBW): Vd[i] = Vn[i] (2*esize) ± Vm[base+i] (esize, extended). */
export function wide3(V: VRegs, subtract: boolean, signed: boolean, esz: number, q: number, rd: number, rn: number, rm: number): void {
  const base = q ? 8 >> esz : 0
  const w = esz + 1
  const n = 8 >> esz
  for (let i = 0; i < n; i++) {
    let b = getU(V, esz, rm, base + i)
    if (signed) b = sext(b, esz)
    if (w < 3) {
      const a = getU(V, w, rn, i)
      setLane(V, w, S, i, subtract ? a - b : a + b)
    } else {
      const k = (rn << 2) + 2 * i
      const bhi = b < 0 ? 0xffff_ffff : 0
      if (subtract) sub64(V.u32[k]!, V.u32[k + 1]!, b >>> 0, bhi)
      else add64(V.u32[k]!, V.u32[k + 1]!, b >>> 0, bhi)
      V.u32[(S << 2) + 2 * i] = alu[R_LO]!
      V.u32[(S << 2) + 2 * i + 1] = alu[R_HI]!
    }
  }
  copyOut(V, rd, S, 16)
}

/**
 * Writes n narrow results held in lanes 0..n-1 of scratch S: to the low half of Vd (upper
 * half zeroed) for q = 0, to the upper half (low half kept) for the "2" forms, or, for a
 * scalar (n = 1 with scalar set), to lane 0 with the rest zeroed.
 */
export function writeNarrow(V: VRegs, esz: number, q: number, rd: number, scalar: boolean): void {
  const u32 = V.u32
  if (scalar) {
    copyOut(V, rd, S, 1 << esz)
    return
  }
  const s = S << 2
  const d = rd << 2
  if (q) {
    u32[d + 2] = u32[s]!
    u32[d + 3] = u32[s + 1]!
  } else {
    u32[d] = u32[s]!
    u32[d + 1] = u32[s + 1]!
    u32[d + 2] = 0
    u32[d + 3] = 0
  }
}

/** ADDHN/RADDHN/SUBHN/RSUBHN: the high half of each 2*esize sum or difference. */
export function narrowHigh3(V: VRegs, subtract: boolean, round: boolean, esz: number, q: number, rd: number, rn: number, rm: number): void {
  const w = esz + 1
  const n = 8 >> esz
  for (let i = 0; i < n; i++) {
    if (w < 3) {
      const bits = 8 << esz
      const a = getU(V, w, rn, i)
      const b = getU(V, w, rm, i)
      // Modulo 2^(2*esize) first, as the architecture computes the sum in that width.
      let x = (subtract ? a - b : a + b) + (round ? 2 ** (bits - 1) : 0)
      x = ((x % 2 ** (2 * bits)) + 2 ** (2 * bits)) % 2 ** (2 * bits)
      setLane(V, esz, S, i, Math.floor(x / 2 ** bits))
    } else {
      const ka = (rn << 2) + 2 * i
      const kb = (rm << 2) + 2 * i
      if (subtract) sub64(V.u32[ka]!, V.u32[ka + 1]!, V.u32[kb]!, V.u32[kb + 1]!)
      else add64(V.u32[ka]!, V.u32[ka + 1]!, V.u32[kb]!, V.u32[kb + 1]!)
      if (round) add64(alu[R_LO]!, alu[R_HI]!, 0x8000_0000, 0)
      V.u32[(S << 2) + i] = alu[R_HI]!
    }
  }
  writeNarrow(V, esz, q, rd, false)
}

/** XTN, SQXTN, UQXTN, SQXTUN: narrow each 2*esize lane of Vn. */
export const XTN = 0
export const SQXTN = 1
export const UQXTN = 2
export const SQXTUN = 3

export function extractNarrow(V: VRegs, kind: number, esz: number, q: number, rd: number, rn: number, scalar: boolean): number {
  Q.sat = 0
  const w = esz + 1
  const n = scalar ? 1 : 8 >> esz
  for (let i = 0; i < n; i++) {
    let x: number
    if (w < 3) {
      x = getU(V, w, rn, i)
      if (kind === SQXTN || kind === SQXTUN) x = sext(x, w)
    } else {
      const k = (rn << 2) + 2 * i
      const lo = V.u32[k]!
      const hi = V.u32[k + 1]!
      // Only whether the value fits in 32 bits matters; collapse larger ones to a bound.
      if (kind === XTN) x = lo
      else if (kind === SQXTN || kind === SQXTUN) {
        x = (hi | 0) === 0 ? lo : (hi | 0) === -1 ? lo - 0x1_0000_0000 : (hi | 0) < 0 ? -(2 ** 40) : 2 ** 40
      } else x = hi === 0 ? lo : 2 ** 40
    }
    if (kind === SQXTN) x = satS(x, esz)
    else if (kind !== XTN) x = satU(x, esz)
    setLane(V, esz, S, i, x)
  }
  writeNarrow(V, esz, q, rd, scalar)
  return Q.sat
}

/** SSHLL/USHLL (shift 0..esize-1) and SHLL (shift = esize): widen and shift left. */
export function longShift(V: VRegs, signed: boolean, shift: number, esz: number, q: number, rd: number, rn: number): void {
  const base = q ? 8 >> esz : 0
  const w = esz + 1
  const n = 8 >> esz
  for (let i = 0; i < n; i++) {
    let a = getU(V, esz, rn, base + i)
    if (signed) a = sext(a, esz)
    const x = a * 2 ** shift
    if (w < 3) setLane(V, w, S, i, x)
    else {
      fromNumber(x)
      V.u32[(S << 2) + 2 * i] = alu[R_LO]!
      V.u32[(S << 2) + 2 * i + 1] = alu[R_HI]!
    }
  }
  copyOut(V, rd, S, 16)
}

/** SADDLP/UADDLP (acc false) and SADALP/UADALP (acc true): add adjacent pairs into 2*esize lanes. */
export function pairwiseLong(V: VRegs, signed: boolean, acc: boolean, esz: number, q: number, rd: number, rn: number): void {
  const w = esz + 1
  const n = (q ? 16 : 8) >> w
  // Result lane i overlaps exactly source lanes 2i and 2i+1, which are read first: in place is safe.
  for (let i = 0; i < n; i++) {
    let a = getU(V, esz, rn, 2 * i)
    let b = getU(V, esz, rn, 2 * i + 1)
    if (signed) {
      a = sext(a, esz)
      b = sext(b, esz)
    }
    if (w < 3) setLane(V, w, rd, i, (acc ? getU(V, w, rd, i) : 0) + a + b)
    else {
      fromNumber(a + b)
      const k = (rd << 2) + 2 * i
      if (acc) add64(V.u32[k]!, V.u32[k + 1]!, alu[R_LO]!, alu[R_HI]!)
      V.u32[k] = alu[R_LO]!
      V.u32[k + 1] = alu[R_HI]!
    }
  }
  zeroAbove(V, rd, q ? 16 : 8)
}
