// Shifts by immediate (vector and scalar): SSHR…URSRA, SHL, SQSHL/UQSHL/SQSHLU, SRI/SLI,
// the narrowing shifts (SHRN…UQRSHRN) and, through widen.ts, SSHLL/USHLL.

import { Q, lanes1, lanes1acc, satS, satU, sext, type Lane2, type Lane3, type Lane64, type Lane64x3 } from './lanes.js'
import { SAT_S, SAT_U, WRAP, shiftLane, shiftLane64 } from './int-ops.js'
import { R_HI, R_LO, alu, add64 } from './u64.js'
import { type VRegs, getU, setLane, V_SCRATCH } from './vregs.js'
import { writeNarrow } from './widen.js'

// Lane functions take the shift amount as their second operand.
const sshr: Lane2 = (a, k, e) => shiftLane(sext(a, e), -k, false, WRAP, e)
const ushr: Lane2 = (a, k, e) => shiftLane(a, -k, false, WRAP, e)
const srshr: Lane2 = (a, k, e) => shiftLane(sext(a, e), -k, true, WRAP, e)
const urshr: Lane2 = (a, k, e) => shiftLane(a, -k, true, WRAP, e)
const sshr64: Lane64 = (lo, hi, k) => shiftLane64(lo, hi, true, -k, false, WRAP)
const ushr64: Lane64 = (lo, hi, k) => shiftLane64(lo, hi, false, -k, false, WRAP)
const srshr64: Lane64 = (lo, hi, k) => shiftLane64(lo, hi, true, -k, true, WRAP)
const urshr64: Lane64 = (lo, hi, k) => shiftLane64(lo, hi, false, -k, true, WRAP)

const shl: Lane2 = (a, k, e) => shiftLane(a, k, false, WRAP, e)
const sqshl: Lane2 = (a, k, e) => shiftLane(sext(a, e), k, false, SAT_S, e)
const uqshl: Lane2 = (a, k, e) => shiftLane(a, k, false, SAT_U, e)
const sqshlu: Lane2 = (a, k, e) => shiftLane(sext(a, e), k, false, SAT_U, e)
const shl64: Lane64 = (lo, hi, k) => shiftLane64(lo, hi, false, k, false, WRAP)
const sqshl64: Lane64 = (lo, hi, k) => shiftLane64(lo, hi, true, k, false, SAT_S)
const uqshl64: Lane64 = (lo, hi, k) => shiftLane64(lo, hi, false, k, false, SAT_U)
const sqshlu64: Lane64 = (lo, hi, k) => shiftLane64(lo, hi, true, k, false, SAT_U)

function accumulate(f: Lane2): Lane3 {
  return (d, a, k, e) => d + f(a, k, e)
}
function accumulate64(f: Lane64): Lane64x3 {
  return (dlo, dhi, lo, hi, k) => {
    f(lo, hi, k, 0)
    add64(dlo, dhi, alu[R_LO]!, alu[R_HI]!)
  }
}

/** SRI: the shifted operand replaces the low (esize - k) bits; the top k bits of Vd stay. */
const sri: Lane3 = (d, a, k, e) => {
  const bits = 8 << e
  if (k >= bits) return d
  const mask = bits === 32 ? 0xffff_ffff : (1 << bits) - 1
  const keep = mask ^ (mask >>> k) // the bits of d above the inserted field
  return ((d & keep) | (a >>> k)) >>> 0
}
/** SLI: the shifted operand replaces all but the low k bits of Vd. */
const sli: Lane3 = (d, a, k) => ((d & ((1 << k) - 1)) | (a << k)) >>> 0

const sri64: Lane64x3 = (dlo, dhi, lo, hi, k) => {
  if (k >= 64) {
    alu[R_LO] = dlo
    alu[R_HI] = dhi
    return
  }
  // Keep the top k bits of d, take the rest from (lo, hi) >> k.
  shiftLane64(lo, hi, false, -k, false, WRAP)
  const rlo = alu[R_LO]!
  const rhi = alu[R_HI]!
  const keepHi = k === 0 ? 0 : k >= 32 ? 0xffff_ffff : ~(0xffff_ffff >>> k)
  const keepLo = k <= 32 ? 0 : ~(0xffff_ffff >>> (k - 32))
  alu[R_LO] = ((dlo & keepLo) | rlo) >>> 0
  alu[R_HI] = ((dhi & keepHi) | rhi) >>> 0
}
const sli64: Lane64x3 = (dlo, dhi, lo, hi, k) => {
  shiftLane64(lo, hi, false, k, false, WRAP)
  const keepLo = k >= 32 ? 0xffff_ffff : (1 << k) - 1
  const keepHi = k <= 32 ? 0 : (1 << (k - 32)) - 1
  alu[R_LO] = ((dlo & keepLo) | alu[R_LO]!) >>> 0
  alu[R_HI] = ((dhi & keepHi) | alu[R_HI]!) >>> 0
}

const SHIFT_RIGHT: Record<string, [Lane2, Lane64]> = {
  SSHR: [sshr, sshr64],
  USHR: [ushr, ushr64],
  SRSHR: [srshr, srshr64],
  URSHR: [urshr, urshr64],
}
const SHIFT_LEFT: Record<string, [Lane2, Lane64]> = {
  SHL: [shl, shl64],
  SQSHL: [sqshl, sqshl64],
  UQSHL: [uqshl, uqshl64],
  SQSHLU: [sqshlu, sqshlu64],
}
const ACCUMULATE: Record<string, [Lane3, Lane64x3]> = {
  SSRA: [accumulate(sshr), accumulate64(sshr64)],
  USRA: [accumulate(ushr), accumulate64(ushr64)],
  SRSRA: [accumulate(srshr), accumulate64(srshr64)],
  URSRA: [accumulate(urshr), accumulate64(urshr64)],
  SRI: [sri, sri64],
  SLI: [sli, sli64],
}

export type ShiftImmOp = 'SSHR' | 'USHR' | 'SRSHR' | 'URSHR' | 'SHL' | 'SQSHL' | 'UQSHL' | 'SQSHLU' | 'SSRA' | 'USRA' | 'SRSRA' | 'URSRA' | 'SRI' | 'SLI'

/** Resolves a shift-by-immediate mnemonic to its lane functions once (at decode time). */
export function shiftImmOp(op: ShiftImmOp): (V: VRegs, esz: number, n: number, rd: number, rn: number, shift: number) => number {
  const r = SHIFT_RIGHT[op]
  if (r) return (V, esz, n, rd, rn, shift) => lanes1(V, r[0], r[1], esz, n, rd, rn, shift)
  const l = SHIFT_LEFT[op]
  if (l) return (V, esz, n, rd, rn, shift) => lanes1(V, l[0], l[1], esz, n, rd, rn, shift)
  const a = ACCUMULATE[op]!
  return (V, esz, n, rd, rn, shift) => lanes1acc(V, a[0], a[1], esz, n, rd, rn, shift)
}

/** Narrowing shift right kinds. */
export const SHRN = 0
export const SQSHRN = 1
export const UQSHRN = 2
export const SQSHRUN = 3

/**
 * SHRN/RSHRN (kind SHRN), SQSHRN/SQRSHRN, UQSHRN/UQRSHRN, SQSHRUN/SQRSHRUN: each 2*esize lane
 * of Vn shifted right by `shift` (1..esize), rounded if asked, narrowed to esize.
 */
export function shiftRightNarrow(V: VRegs, kind: number, round: boolean, esz: number, q: number, rd: number, rn: number, shift: number, scalar: boolean): number {
  Q.sat = 0
  const w = esz + 1
  const n = scalar ? 1 : 8 >> esz
  const signed = kind === SQSHRN || kind === SQSHRUN
  for (let i = 0; i < n; i++) {
    let x: number
    if (w < 3) {
      const a = getU(V, w, rn, i)
      x = shiftLane(signed ? sext(a, w) : a, -shift, round, WRAP, w)
    } else {
      const k = (rn << 2) + 2 * i
      shiftLane64(V.u32[k]!, V.u32[k + 1]!, signed, -shift, round, WRAP)
      // Exact whenever the value fits in 33 bits, which is all saturation needs to know.
      x = signed ? (alu[R_HI]! | 0) * 0x1_0000_0000 + alu[R_LO]! : alu[R_HI]! * 0x1_0000_0000 + alu[R_LO]!
      if (kind === SHRN) x = alu[R_LO]!
    }
    if (kind === SQSHRN) x = satS(x, esz)
    else if (kind !== SHRN) x = satU(x, esz)
    setLane(V, esz, V_SCRATCH, i, x)
  }
  writeNarrow(V, esz, q, rd, scalar)
  return Q.sat
}
