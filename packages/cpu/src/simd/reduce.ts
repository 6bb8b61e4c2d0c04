// Pairwise operations (ADDP, SMAXP…UMINP, scalar ADDP), reductions across lanes (ADDV,
// SADDLV/UADDLV, SMAXV…UMINV) and the dot products (SDOT/UDOT).

import { sext, type Lane2, type Lane64 } from './lanes.js'
import { R_HI, R_LO, alu, add64, fromNumber } from './u64.js'
import { type VRegs, V_SCRATCH, getU, setLane, zeroAbove } from './vregs.js'

const S = V_SCRATCH

/** Pairwise: lanes of Vm:Vn taken two at a time, f applied to each pair. */
export function pairwise(V: VRegs, f: Lane2, f64: Lane64 | undefined, esz: number, q: number, rd: number, rn: number, rm: number): void {
  const n = (q ? 16 : 8) >> esz
  const half = n >> 1
  const u32 = V.u32
  for (let i = 0; i < n; i++) {
    const src = i < half ? rn : rm
    const j = 2 * (i < half ? i : i - half)
    if (esz === 3) {
      const k = (src << 2) + 2 * j
      f64!(u32[k]!, u32[k + 1]!, u32[k + 2]!, u32[k + 3]!)
      u32[(S << 2) + 2 * i] = alu[R_LO]!
      u32[(S << 2) + 2 * i + 1] = alu[R_HI]!
    } else setLane(V, esz, S, i, f(getU(V, esz, src, j), getU(V, esz, src, j + 1), esz))
  }
  const d = rd << 2
  u32[d] = u32[S << 2]!
  u32[d + 1] = u32[(S << 2) + 1]!
  u32[d + 2] = q ? u32[(S << 2) + 2]! : 0
  u32[d + 3] = q ? u32[(S << 2) + 3]! : 0
}

/** ADDP (scalar): D[d] = Vn.d[0] + Vn.d[1]. */
export function addpScalar(V: VRegs, rd: number, rn: number): void {
  const u32 = V.u32
  const k = rn << 2
  add64(u32[k]!, u32[k + 1]!, u32[k + 2]!, u32[k + 3]!)
  u32[rd << 2] = alu[R_LO]!
  u32[(rd << 2) + 1] = alu[R_HI]!
  zeroAbove(V, rd, 8)
}

/** Across-lanes operations. */
export const ADDV = 0
export const SADDLV = 1
export const UADDLV = 2
export const SMAXV = 3
export const UMAXV = 4
export const SMINV = 5
export const UMINV = 6

/** The reduction of all lanes of Vn into a scalar (esize, or 2*esize for the long adds). */
export function acrossLanes(V: VRegs, op: number, esz: number, q: number, rd: number, rn: number): void {
  const n = (q ? 16 : 8) >> esz
  const signed = op === SADDLV || op === SMAXV || op === SMINV
  let acc = signed ? sext(getU(V, esz, rn, 0), esz) : getU(V, esz, rn, 0)
  for (let i = 1; i < n; i++) {
    const x = signed ? sext(getU(V, esz, rn, i), esz) : getU(V, esz, rn, i)
    switch (op) {
      case SMAXV:
      case UMAXV:
        if (x > acc) acc = x
        break
      case SMINV:
      case UMINV:
        if (x < acc) acc = x
        break
      default:
        acc += x
    }
  }
  const long = op === SADDLV || op === UADDLV
  const resultEsz = long ? esz + 1 : esz
  if (resultEsz === 3) {
    fromNumber(acc)
    V.u32[rd << 2] = alu[R_LO]!
    V.u32[(rd << 2) + 1] = alu[R_HI]!
  } else setLane(V, resultEsz, rd, 0, acc)
  zeroAbove(V, rd, 1 << resultEsz)
}

/**
 * SDOT/UDOT: each 32-bit lane of Vd plus the four products of the bytes in the same lane of
 * Vn and Vm. By element: `idx` >= 0 takes Vm's bytes from its 32-bit lane idx for every lane
 * (dotElement passes a copy, since lane idx of Vm may be a lane of Vd written earlier).
 */
export function dot(V: VRegs, signed: boolean, q: number, rd: number, rn: number, rm: number, idx: number): void {
  const n = q ? 4 : 2
  const a8 = signed ? V.i8 : V.u8
  for (let i = 0; i < n; i++) {
    const na = (rn << 4) + 4 * i
    const mb = (rm << 4) + 4 * (idx >= 0 ? idx : i)
    const sum = a8[na]! * a8[mb]! + a8[na + 1]! * a8[mb + 1]! + a8[na + 2]! * a8[mb + 2]! + a8[na + 3]! * a8[mb + 3]!
    V.u32[(rd << 2) + i] = V.u32[(rd << 2) + i]! + sum
  }
  zeroAbove(V, rd, q ? 16 : 8)
}

/** By-element dot product: copies Vm's lane to scratch first, as Vd may be Vm. */
export function dotElement(V: VRegs, signed: boolean, q: number, rd: number, rn: number, rm: number, idx: number): void {
  V.u32[S << 2] = V.u32[(rm << 2) + idx]!
  dot(V, signed, q, rd, rn, S, 0)
}
