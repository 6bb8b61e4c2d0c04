// Handler bodies for every FP instruction the decoder knows: given the decoded fields and the
// register state, compute the result. The CPU calls FP_HANDLERS[insn.name](insn, ctx) after
// its own checks (FP/SIMD enabled); the differential replay harness calls the same table.
//
// Lanes follow the Arm ARM: Elem[vector, e, esize] is little-endian element e; a 64-bit vector
// result clears bits 127:64; a scalar result clears everything above its size.

import type { InstructionName, InstructionOf } from '@tagvm/a64'
import {
  fpAbd,
  fpAbs,
  fpAdd,
  fpDiv,
  fpMaxMin,
  fpMul,
  fpMulAdd,
  fpMulAddH,
  fpMulX,
  fpNeg,
  fpRSqrtStep,
  fpRecipStep,
  fpSqrt,
  fpSub,
} from './arith.js'
import { fpCompare, fpCompareEQ, fpCompareGE, fpCompareGT } from './compare.js'
import { fixedToFp, fpConvert, fpRoundInt, fpRoundIntN, fpToFixed, fpToFixedJS } from './convert.js'
import { DOUBLE, FORMAT_BY_ESZ, HALF, SINGLE, res, toBits32, toWords, type Format } from './core.js'
import { fpRSqrtEstimate, fpRecipEstimate, fpRecpX, unsignedRSqrtEstimate, unsignedRecipEstimate } from './estimate.js'
import { RA, RM, RN, RO, RP, RZ, roundingMode, type FpStatus } from './status.js'

/** What an FP handler reads and writes. */
export interface FpContext {
  /** V0-V31: V[n] is words 4n..4n+3, least significant first (little-endian bytes). */
  readonly v: Uint32Array
  /** X0-X30: Xn is words 2n (low) and 2n+1 (high). Register 31 is never read or written here. */
  readonly x: Uint32Array
  /** FPCR in, cumulative FPSR flags out. */
  readonly fp: FpStatus
  /** PSTATE.NZCV as a 4-bit value (N = 8, Z = 4, C = 2, V = 1): read by FCCMP/FCSEL, written by compares and FJCVTZS. */
  nzcv: number
}

type Handler<K extends InstructionName> = (insn: InstructionOf<K>, ctx: FpContext) => void
type Unary = (st: FpStatus, fmt: Format, lo: number, hi: number) => number
type Binary = (st: FpStatus, fmt: Format, aLo: number, aHi: number, bLo: number, bHi: number) => number
type Predicate = (st: FpStatus, fmt: Format, aLo: number, aHi: number, bLo: number, bHi: number) => boolean

function fmtOf(esz: number): Format {
  return FORMAT_BY_ESZ[esz] as Format
}

// ---------------------------------------------------------------------------------------
// Lane access

let laneHi = 0
/** Elem[V[reg], e, 8 << esz]: returns the low word; a 64-bit element's high word goes to laneHi. */
function elem(v: Uint32Array, reg: number, esz: number, e: number): number {
  const b = reg << 2
  if (esz === 3) {
    laneHi = v[b + 2 * e + 1] as number
    return v[b + 2 * e] as number
  }
  laneHi = 0
  if (esz === 2) return v[b + e] as number
  return ((v[b + (e >> 1)] as number) >>> ((e & 1) << 4)) & 0xffff
}

/** The result being built (written to the register file only when complete: Vd may be a source). */
const OUT = new Uint32Array(4)
function put(esz: number, e: number, lo: number, hi: number): void {
  if (esz === 3) {
    OUT[2 * e] = lo
    OUT[2 * e + 1] = hi
  } else if (esz === 2) {
    OUT[e] = lo
  } else {
    const w = e >> 1
    const sh = (e & 1) << 4
    OUT[w] = ((OUT[w] as number) & ~(0xffff << sh)) | ((lo & 0xffff) << sh)
  }
}
/** V[d] = OUT (bits 127:64 cleared for a 64-bit vector). */
function commit(v: Uint32Array, d: number, q: number): void {
  const b = d << 2
  v[b] = OUT[0] as number
  v[b + 1] = OUT[1] as number
  v[b + 2] = q ? (OUT[2] as number) : 0
  v[b + 3] = q ? (OUT[3] as number) : 0
}
/** V[d] = a scalar of 8 << esz bits, zero-extended to 128. */
function setScalar(v: Uint32Array, d: number, esz: number, lo: number, hi: number): void {
  const b = d << 2
  v[b] = esz === 1 ? lo & 0xffff : lo
  v[b + 1] = esz === 3 ? hi : 0
  v[b + 2] = 0
  v[b + 3] = 0
}
function lanes(esz: number, q: number): number {
  return (q ? 16 : 8) >> esz
}

// ---------------------------------------------------------------------------------------
// Shapes: vector and scalar, unary and binary, by element, pairwise, reduction

function vUnary(c: FpContext, esz: number, q: number, d: number, n: number, op: Unary): void {
  const fmt = fmtOf(esz)
  const count = lanes(esz, q)
  for (let e = 0; e < count; e++) {
    const a = elem(c.v, n, esz, e)
    put(esz, e, op(c.fp, fmt, a, laneHi), res.hi)
  }
  commit(c.v, d, q)
}
function sUnary(c: FpContext, esz: number, d: number, n: number, op: Unary): void {
  const a = elem(c.v, n, esz, 0)
  const r = op(c.fp, fmtOf(esz), a, laneHi)
  setScalar(c.v, d, esz, r, res.hi)
}
/** op(Elem[Vn, e], Elem[Vm, e]), or by element: op(Elem[Vn, e], Elem[Vm, idx]) for idx >= 0. */
function vBinary(c: FpContext, esz: number, q: number, d: number, n: number, m: number, op: Binary, idx = -1): void {
  const fmt = fmtOf(esz)
  const count = lanes(esz, q)
  for (let e = 0; e < count; e++) {
    const a = elem(c.v, n, esz, e)
    const ah = laneHi
    const b = elem(c.v, m, esz, idx < 0 ? e : idx)
    put(esz, e, op(c.fp, fmt, a, ah, b, laneHi), res.hi)
  }
  commit(c.v, d, q)
}
/** Scalar op(Vn, Vm), or by element: op(Vn, Elem[Vm, idx]). */
function sBinary(c: FpContext, esz: number, d: number, n: number, m: number, op: Binary, idx = 0): void {
  const a = elem(c.v, n, esz, 0)
  const ah = laneHi
  const b = elem(c.v, m, esz, idx)
  const r = op(c.fp, fmtOf(esz), a, ah, b, laneHi)
  setScalar(c.v, d, esz, r, res.hi)
}
/** FPMulAdd(Elem[Vd, e], ±Elem[Vn, e], Elem[Vm, e or idx]): FMLA/FMLS, vector or by element. */
function vMulAdd(c: FpContext, esz: number, q: number, d: number, n: number, m: number, idx: number, neg: boolean): void {
  const fmt = fmtOf(esz)
  const count = lanes(esz, q)
  const sign = esz === 3 ? 0x80000000 : esz === 2 ? 0x80000000 : 0x8000
  for (let e = 0; e < count; e++) {
    let a = elem(c.v, n, esz, e)
    let ah = laneHi
    if (neg) {
      if (esz === 3) ah = (ah ^ sign) >>> 0
      else a = (a ^ sign) >>> 0
    }
    const b = elem(c.v, m, esz, idx < 0 ? e : idx)
    const bh = laneHi
    const acc = elem(c.v, d, esz, e)
    put(esz, e, fpMulAdd(c.fp, fmt, acc, laneHi, a, ah, b, bh), res.hi)
  }
  commit(c.v, d, q)
}
/** Compare masks: all ones where the predicate holds. */
function vCompare(c: FpContext, esz: number, q: number, d: number, n: number, m: number, op: Predicate, zero: number): void {
  const fmt = fmtOf(esz)
  const count = lanes(esz, q)
  for (let e = 0; e < count; e++) {
    let a = elem(c.v, n, esz, e)
    let ah = laneHi
    let b = 0
    let bh = 0
    if (zero === 0) {
      b = elem(c.v, m, esz, e)
      bh = laneHi
    } else if (zero === 2) {
      // FCMLT/FCMLE: the zero is the first operand.
      b = a
      bh = ah
      a = 0
      ah = 0
    }
    const t = op(c.fp, fmt, a, ah, b, bh) ? 0xffffffff : 0
    put(esz, e, t, t)
  }
  commit(c.v, d, q)
}
function sCompare(c: FpContext, esz: number, d: number, n: number, m: number, op: Predicate, zero: number): void {
  let a = elem(c.v, n, esz, 0)
  let ah = laneHi
  let b = 0
  let bh = 0
  if (zero === 0) {
    b = elem(c.v, m, esz, 0)
    bh = laneHi
  } else if (zero === 2) {
    b = a
    bh = ah
    a = 0
    ah = 0
  }
  const t = op(c.fp, fmtOf(esz), a, ah, b, bh) ? 0xffffffff : 0
  setScalar(c.v, d, esz, t, t)
}
/** Pairwise: result[e] = op(concat[2e], concat[2e+1]) where concat = Vm:Vn. */
function vPairwise(c: FpContext, esz: number, q: number, d: number, n: number, m: number, op: Binary): void {
  const fmt = fmtOf(esz)
  const count = lanes(esz, q)
  const half = count >> 1
  for (let e = 0; e < count; e++) {
    const src = e < half ? n : m
    const i = (e < half ? e : e - half) * 2
    const a = elem(c.v, src, esz, i)
    const ah = laneHi
    const b = elem(c.v, src, esz, i + 1)
    put(esz, e, op(c.fp, fmt, a, ah, b, laneHi), res.hi)
  }
  commit(c.v, d, q)
}
/** Scalar pairwise: op(Elem[Vn, 0], Elem[Vn, 1]). */
function sPairwise(c: FpContext, esz: number, d: number, n: number, op: Binary): void {
  const a = elem(c.v, n, esz, 0)
  const ah = laneHi
  const b = elem(c.v, n, esz, 1)
  const r = op(c.fp, fmtOf(esz), a, ah, b, laneHi)
  setScalar(c.v, d, esz, r, res.hi)
}
/** Reduce(op, V[n], esize) over `count` elements: op(Reduce(low half), Reduce(high half)). */
function reduce(c: FpContext, fmt: Format, esz: number, n: number, first: number, count: number, op: Binary): number {
  if (count === 1) return elem(c.v, n, esz, first)
  const half = count >> 1
  const lo = reduce(c, fmt, esz, n, first, half, op)
  const hi = reduce(c, fmt, esz, n, first + half, half, op)
  return op(c.fp, fmt, lo, 0, hi, 0)
}
function across(c: FpContext, esz: number, q: number, d: number, n: number, op: Binary): void {
  const r = reduce(c, fmtOf(esz), esz, n, 0, lanes(esz, q), op)
  setScalar(c.v, d, esz, r, 0)
}

// ---------------------------------------------------------------------------------------
// Operations with their extra arguments bound

const fmax: Binary = (st, f, a, ah, b, bh) => fpMaxMin(st, f, a, ah, b, bh, true, false)
const fmin: Binary = (st, f, a, ah, b, bh) => fpMaxMin(st, f, a, ah, b, bh, false, false)
const fmaxnm: Binary = (st, f, a, ah, b, bh) => fpMaxMin(st, f, a, ah, b, bh, true, true)
const fminnm: Binary = (st, f, a, ah, b, bh) => fpMaxMin(st, f, a, ah, b, bh, false, true)
const fnmul: Binary = (st, f, a, ah, b, bh) => {
  const lo = fpMul(st, f, a, ah, b, bh)
  return fpNeg(f, lo, res.hi)
}
const facge: Predicate = (st, f, a, ah, b, bh) => {
  const x = fpAbs(f, a, ah)
  const xh = res.hi
  const y = fpAbs(f, b, bh)
  return fpCompareGE(st, f, x, xh, y, res.hi)
}
const facgt: Predicate = (st, f, a, ah, b, bh) => {
  const x = fpAbs(f, a, ah)
  const xh = res.hi
  const y = fpAbs(f, b, bh)
  return fpCompareGT(st, f, x, xh, y, res.hi)
}
const fabs: Unary = (_st, f, lo, hi) => fpAbs(f, lo, hi)
const fneg: Unary = (_st, f, lo, hi) => fpNeg(f, lo, hi)
const fmov: Unary = (_st, _f, lo, hi) => {
  res.hi = hi
  return lo
}
const fsqrt: Unary = (st, f, lo, hi) => fpSqrt(st, f, lo, hi)

/** FRINT with a fixed rounding mode, or the FPCR's (mode -1); `exact` raises IXC (FRINTX). */
function frint(mode: number, exact: boolean): Unary {
  return (st, f, lo, hi) => fpRoundInt(st, f, lo, hi, mode < 0 ? roundingMode(st.fpcr) : mode, exact)
}
function frintN(mode: number, intsize: number): Unary {
  return (st, f, lo, hi) => fpRoundIntN(st, f, lo, hi, mode < 0 ? roundingMode(st.fpcr) : mode, intsize)
}
/** FP to same-size integer lanes (FCVT*_v, _s and the fixed-point forms with fbits). */
function toInt(mode: number, unsigned: boolean, fbits = 0): Unary {
  return (st, f, lo, hi) => fpToFixed(st, f, lo, hi, fbits, unsigned, f.n, mode)
}
/** Same-size integer lanes to FP (SCVTF/UCVTF vector and scalar), FPCR rounding. */
function toFp(unsigned: boolean, fbits = 0): Unary {
  return (st, f, lo, hi) => fixedToFp(st, f, lo, hi, f.n, fbits, unsigned, roundingMode(st.fpcr))
}
const frecpe: Unary = (st, f, lo, hi) => fpRecipEstimate(st, f, lo, hi)
const frsqrte: Unary = (st, f, lo, hi) => fpRSqrtEstimate(st, f, lo, hi)
const frecpx: Unary = (st, f, lo, hi) => fpRecpX(st, f, lo, hi)
const urecpe: Unary = (_st, _f, lo) => unsignedRecipEstimate(lo)
const ursqrte: Unary = (_st, _f, lo) => unsignedRSqrtEstimate(lo)

const RINT_N = frint(RN, false)
const RINT_P = frint(RP, false)
const RINT_M = frint(RM, false)
const RINT_Z = frint(RZ, false)
const RINT_A = frint(RA, false)
const RINT_X = frint(-1, true)
const RINT_I = frint(-1, false)
const RINT_32Z = frintN(RZ, 32)
const RINT_32X = frintN(-1, 32)
const RINT_64Z = frintN(RZ, 64)
const RINT_64X = frintN(-1, 64)
const CVT_NS = toInt(RN, false)
const CVT_NU = toInt(RN, true)
const CVT_PS = toInt(RP, false)
const CVT_PU = toInt(RP, true)
const CVT_MS = toInt(RM, false)
const CVT_MU = toInt(RM, true)
const CVT_ZS = toInt(RZ, false)
const CVT_ZU = toInt(RZ, true)
const CVT_AS = toInt(RA, false)
const CVT_AU = toInt(RA, true)
const SCVT = toFp(false)
const UCVT = toFp(true)

/** Fixed-point vector/scalar forms: fbits differs per instruction, so bind at call time. */
function vFixedToInt(c: FpContext, esz: number, q: number, d: number, n: number, fbits: number, unsigned: boolean): void {
  const fmt = fmtOf(esz)
  const count = lanes(esz, q)
  for (let e = 0; e < count; e++) {
    const a = elem(c.v, n, esz, e)
    put(esz, e, fpToFixed(c.fp, fmt, a, laneHi, fbits, unsigned, fmt.n, RZ), res.hi)
  }
  commit(c.v, d, q)
}
function vIntToFixed(c: FpContext, esz: number, q: number, d: number, n: number, fbits: number, unsigned: boolean): void {
  const fmt = fmtOf(esz)
  const count = lanes(esz, q)
  const mode = roundingMode(c.fp.fpcr)
  for (let e = 0; e < count; e++) {
    const a = elem(c.v, n, esz, e)
    put(esz, e, fixedToFp(c.fp, fmt, a, laneHi, fmt.n, fbits, unsigned, mode), res.hi)
  }
  commit(c.v, d, q)
}

// ---------------------------------------------------------------------------------------
// General registers, conditions

function readX(c: FpContext, r: number): number {
  if (r === 31) {
    laneHi = 0
    return 0
  }
  laneHi = c.x[2 * r + 1] as number
  return c.x[2 * r] as number
}
/** X[d] = hi:lo (a 32-bit write passes hi = 0). Register 31 is XZR here: the write is dropped. */
function writeX(c: FpContext, r: number, lo: number, hi: number): void {
  if (r === 31) return
  c.x[2 * r] = lo
  c.x[2 * r + 1] = hi
}

/** ConditionHolds(cond) for NZCV as a 4-bit value. */
export function conditionHolds(cond: number, nzcv: number): boolean {
  const n = (nzcv >>> 3) & 1
  const z = (nzcv >>> 2) & 1
  const cf = (nzcv >>> 1) & 1
  const vf = nzcv & 1
  let r: boolean
  switch (cond >>> 1) {
    case 0: r = z === 1; break
    case 1: r = cf === 1; break
    case 2: r = n === 1; break
    case 3: r = vf === 1; break
    case 4: r = cf === 1 && z === 0; break
    case 5: r = n === vf; break
    case 6: r = n === vf && z === 0; break
    default: r = true
  }
  return (cond & 1) === 1 && cond !== 15 ? !r : r
}

/** FP to a W or X register (FCVT*_g, FCVTZ*_gfx). */
function toGeneral(c: FpContext, esz: number, sf: number, d: number, n: number, mode: number, unsigned: boolean, fbits: number): void {
  const a = elem(c.v, n, esz, 0)
  const m = sf ? 64 : 32
  const r = fpToFixed(c.fp, fmtOf(esz), a, laneHi, fbits, unsigned, m, mode)
  writeX(c, d, r, sf ? res.hi : 0)
}
/** A W or X register to FP (SCVTF/UCVTF _g and _gfx), FPCR rounding. */
function fromGeneral(c: FpContext, esz: number, sf: number, d: number, n: number, unsigned: boolean, fbits: number): void {
  const lo = readX(c, n)
  const hi = laneHi
  const r = fixedToFp(c.fp, fmtOf(esz), lo, hi, sf ? 64 : 32, fbits, unsigned, roundingMode(c.fp.fpcr))
  setScalar(c.v, d, esz, r, res.hi)
}

/** The bits of an FMOV immediate (VFPExpandImm value) in the format of esz. */
function immBits(esz: number, value: number): number {
  if (esz === 3) return toWords(value)
  res.hi = 0
  if (esz === 2) return toBits32(value)
  // Half: the value is ±(16..31)/16 * 2^(-3..4), always normal.
  const sign = value < 0 ? 0x8000 : 0
  const mag = Math.abs(value)
  const e = Math.floor(Math.log2(mag))
  const frac = Math.round((mag / 2 ** e - 1) * 1024)
  return sign | ((e + 15) << 10) | frac
}

// ---------------------------------------------------------------------------------------
// Complex and widening forms

/** FCMLA (vector or by element; idx < 0 for vector): two fused multiply-adds per complex pair. */
function fcmla(c: FpContext, esz: number, q: number, d: number, n: number, m: number, idx: number, rot: number): void {
  const fmt = fmtOf(esz)
  const count = lanes(esz, q)
  const sign = esz === 1 ? 0x8000 : 0x80000000
  for (let e = 0; e < count >> 1; e++) {
    const pr = idx < 0 ? 2 * e : 2 * idx
    // element2 and element4: Vn's real (rot 0, 2) or imaginary (rot 1, 3) part.
    const nPart = 2 * e + (rot & 1)
    const x = elem(c.v, n, esz, nPart)
    const xh = laneHi
    const re = elem(c.v, m, esz, pr)
    const reh = laneHi
    const im = elem(c.v, m, esz, pr + 1)
    const imh = laneHi
    // element1 (for the real result) and element3 (for the imaginary one), FPNeg as the rotation says.
    let e1 = rot & 1 ? im : re
    let e1h = rot & 1 ? imh : reh
    let e3 = rot & 1 ? re : im
    let e3h = rot & 1 ? reh : imh
    const neg1 = rot === 1 || rot === 2
    const neg3 = rot === 2 || rot === 3
    if (esz === 3) {
      if (neg1) e1h = (e1h ^ sign) >>> 0
      if (neg3) e3h = (e3h ^ sign) >>> 0
    } else {
      if (neg1) e1 = (e1 ^ sign) >>> 0
      if (neg3) e3 = (e3 ^ sign) >>> 0
    }
    const accRe = elem(c.v, d, esz, 2 * e)
    const accReh = laneHi
    put(esz, 2 * e, fpMulAdd(c.fp, fmt, accRe, accReh, x, xh, e1, e1h), res.hi)
    const accIm = elem(c.v, d, esz, 2 * e + 1)
    put(esz, 2 * e + 1, fpMulAdd(c.fp, fmt, accIm, laneHi, x, xh, e3, e3h), res.hi)
  }
  commit(c.v, d, q)
}

/** FCADD: Vn + Vm rotated by 90 (rot 0) or 270 (rot 1) degrees, pair by pair. */
function fcadd(c: FpContext, esz: number, q: number, d: number, n: number, m: number, rot: number): void {
  const fmt = fmtOf(esz)
  const count = lanes(esz, q)
  const sign = esz === 1 ? 0x8000 : 0x80000000
  for (let e = 0; e < count >> 1; e++) {
    const re = elem(c.v, m, esz, 2 * e)
    const reh = laneHi
    const im = elem(c.v, m, esz, 2 * e + 1)
    const imh = laneHi
    // rot 90: element1 = -im, element3 = re; rot 270: element1 = im, element3 = -re.
    let e1 = im
    let e1h = imh
    let e3 = re
    let e3h = reh
    if (esz === 3) {
      if (rot === 0) e1h = (e1h ^ sign) >>> 0
      else e3h = (e3h ^ sign) >>> 0
    } else if (rot === 0) e1 = (e1 ^ sign) >>> 0
    else e3 = (e3 ^ sign) >>> 0
    const a = elem(c.v, n, esz, 2 * e)
    put(esz, 2 * e, fpAdd(c.fp, fmt, a, laneHi, e1, e1h), res.hi)
    const b = elem(c.v, n, esz, 2 * e + 1)
    put(esz, 2 * e + 1, fpAdd(c.fp, fmt, b, laneHi, e3, e3h), res.hi)
  }
  commit(c.v, d, q)
}

/** FMLAL/FMLSL (part 0) and FMLAL2/FMLSL2 (part 1); idx >= 0 for the by-element forms. */
function fmlal(c: FpContext, q: number, d: number, n: number, m: number, idx: number, part: number, neg: boolean): void {
  const count = q ? 4 : 2
  // Vpart(n, part) of datasize/2 bits: halves count*part .. count*part + count - 1.
  const base = part * count
  const byElem = idx >= 0 ? elem(c.v, m, 1, idx) : 0
  for (let e = 0; e < count; e++) {
    let a = elem(c.v, n, 1, base + e)
    if (neg) a ^= 0x8000
    const b = idx >= 0 ? byElem : elem(c.v, m, 1, base + e)
    const acc = elem(c.v, d, 2, e)
    put(2, e, fpMulAddH(c.fp, SINGLE, acc, a, b), 0)
  }
  commit(c.v, d, q)
}

/** FCVTN/FCVTXN (narrow into the lower or upper half) and FCVTL (widen from one). */
function narrow(c: FpContext, q: number, d: number, n: number, sz: number, mode: number): void {
  // sz = 1: double to single; sz = 0: single to half.
  const from = sz ? DOUBLE : SINGLE
  const to = sz ? SINGLE : HALF
  const srcEsz = sz ? 3 : 2
  const count = sz ? 2 : 4
  const rmode = mode < 0 ? roundingMode(c.fp.fpcr) : mode
  const b = d << 2
  // Vpart(d, q) = result: the other half is kept (q = 1) or cleared (q = 0).
  OUT[0] = q ? (c.v[b] as number) : 0
  OUT[1] = q ? (c.v[b + 1] as number) : 0
  OUT[2] = OUT[3] = 0
  for (let e = 0; e < count; e++) {
    const a = elem(c.v, n, srcEsz, e)
    put(srcEsz - 1, e + (q ? count : 0), fpConvert(c.fp, to, from, a, laneHi, rmode), 0)
  }
  commit(c.v, d, 1)
}
function widen(c: FpContext, q: number, d: number, n: number, sz: number): void {
  // sz = 1: single to double; sz = 0: half to single.
  const from = sz ? SINGLE : HALF
  const to = sz ? DOUBLE : SINGLE
  const srcEsz = sz ? 2 : 1
  const count = sz ? 2 : 4
  const rmode = roundingMode(c.fp.fpcr)
  for (let e = 0; e < count; e++) {
    const a = elem(c.v, n, srcEsz, e + (q ? count : 0))
    put(srcEsz + 1, e, fpConvert(c.fp, to, from, a, 0, rmode), res.hi)
  }
  commit(c.v, d, 1)
}

// ---------------------------------------------------------------------------------------
// The table

/** Handlers by instruction name, for every FP instruction of the decoder (FP scalar, FP vector). */
export const FP_HANDLERS = {
  // --- Scalar FP data processing
  FMOV_f: (i, c) => sUnary(c, i.esz, i.rd, i.rn, fmov),
  FABS_f: (i, c) => sUnary(c, i.esz, i.rd, i.rn, fabs),
  FNEG_f: (i, c) => sUnary(c, i.esz, i.rd, i.rn, fneg),
  FSQRT_f: (i, c) => sUnary(c, i.esz, i.rd, i.rn, fsqrt),
  FRINTN_f: (i, c) => sUnary(c, i.esz, i.rd, i.rn, RINT_N),
  FRINTP_f: (i, c) => sUnary(c, i.esz, i.rd, i.rn, RINT_P),
  FRINTM_f: (i, c) => sUnary(c, i.esz, i.rd, i.rn, RINT_M),
  FRINTZ_f: (i, c) => sUnary(c, i.esz, i.rd, i.rn, RINT_Z),
  FRINTA_f: (i, c) => sUnary(c, i.esz, i.rd, i.rn, RINT_A),
  FRINTX_f: (i, c) => sUnary(c, i.esz, i.rd, i.rn, RINT_X),
  FRINTI_f: (i, c) => sUnary(c, i.esz, i.rd, i.rn, RINT_I),
  FRINT32Z_f: (i, c) => sUnary(c, i.esz, i.rd, i.rn, RINT_32Z),
  FRINT32X_f: (i, c) => sUnary(c, i.esz, i.rd, i.rn, RINT_32X),
  FRINT64Z_f: (i, c) => sUnary(c, i.esz, i.rd, i.rn, RINT_64Z),
  FRINT64X_f: (i, c) => sUnary(c, i.esz, i.rd, i.rn, RINT_64X),
  FCVT_f: (i, c) => {
    const a = elem(c.v, i.rn, i.esz, 0)
    const r = fpConvert(c.fp, fmtOf(i.desz), fmtOf(i.esz), a, laneHi, roundingMode(c.fp.fpcr))
    setScalar(c.v, i.rd, i.desz, r, res.hi)
  },
  FCMP_f: (i, c) => fcmp(c, i.esz, i.rn, i.rm, false),
  FCMP_fz: (i, c) => fcmp(c, i.esz, i.rn, -1, false),
  FCMPE_f: (i, c) => fcmp(c, i.esz, i.rn, i.rm, true),
  FCMPE_fz: (i, c) => fcmp(c, i.esz, i.rn, -1, true),
  FCCMP_f: (i, c) => {
    if (conditionHolds(i.cond, c.nzcv)) fcmp(c, i.esz, i.rn, i.rm, false)
    else c.nzcv = i.nzcv
  },
  FCCMPE_f: (i, c) => {
    if (conditionHolds(i.cond, c.nzcv)) fcmp(c, i.esz, i.rn, i.rm, true)
    else c.nzcv = i.nzcv
  },
  FMOV_fi: (i, c) => setScalar(c.v, i.rd, i.esz, immBits(i.esz, i.fimm), res.hi),
  FMUL_f: (i, c) => sBinary(c, i.esz, i.rd, i.rn, i.rm, fpMul),
  FDIV_f: (i, c) => sBinary(c, i.esz, i.rd, i.rn, i.rm, fpDiv),
  FADD_f: (i, c) => sBinary(c, i.esz, i.rd, i.rn, i.rm, fpAdd),
  FSUB_f: (i, c) => sBinary(c, i.esz, i.rd, i.rn, i.rm, fpSub),
  FMAX_f: (i, c) => sBinary(c, i.esz, i.rd, i.rn, i.rm, fmax),
  FMIN_f: (i, c) => sBinary(c, i.esz, i.rd, i.rn, i.rm, fmin),
  FMAXNM_f: (i, c) => sBinary(c, i.esz, i.rd, i.rn, i.rm, fmaxnm),
  FMINNM_f: (i, c) => sBinary(c, i.esz, i.rd, i.rn, i.rm, fminnm),
  FNMUL_f: (i, c) => sBinary(c, i.esz, i.rd, i.rn, i.rm, fnmul),
  FCSEL_f: (i, c) => {
    const r = elem(c.v, conditionHolds(i.cond, c.nzcv) ? i.rn : i.rm, i.esz, 0)
    setScalar(c.v, i.rd, i.esz, r, laneHi)
  },
  FMADD_f: (i, c) => fmadd(c, i.esz, i.rd, i.rn, i.rm, i.ra, false, false),
  FMSUB_f: (i, c) => fmadd(c, i.esz, i.rd, i.rn, i.rm, i.ra, false, true),
  FNMADD_f: (i, c) => fmadd(c, i.esz, i.rd, i.rn, i.rm, i.ra, true, true),
  FNMSUB_f: (i, c) => fmadd(c, i.esz, i.rd, i.rn, i.rm, i.ra, true, false),

  // --- Conversions between FP and general registers
  FCVTNS_g: (i, c) => toGeneral(c, i.esz, i.sf, i.rd, i.rn, RN, false, 0),
  FCVTNU_g: (i, c) => toGeneral(c, i.esz, i.sf, i.rd, i.rn, RN, true, 0),
  FCVTAS_g: (i, c) => toGeneral(c, i.esz, i.sf, i.rd, i.rn, RA, false, 0),
  FCVTAU_g: (i, c) => toGeneral(c, i.esz, i.sf, i.rd, i.rn, RA, true, 0),
  FCVTPS_g: (i, c) => toGeneral(c, i.esz, i.sf, i.rd, i.rn, RP, false, 0),
  FCVTPU_g: (i, c) => toGeneral(c, i.esz, i.sf, i.rd, i.rn, RP, true, 0),
  FCVTMS_g: (i, c) => toGeneral(c, i.esz, i.sf, i.rd, i.rn, RM, false, 0),
  FCVTMU_g: (i, c) => toGeneral(c, i.esz, i.sf, i.rd, i.rn, RM, true, 0),
  FCVTZS_g: (i, c) => toGeneral(c, i.esz, i.sf, i.rd, i.rn, RZ, false, 0),
  FCVTZU_g: (i, c) => toGeneral(c, i.esz, i.sf, i.rd, i.rn, RZ, true, 0),
  FCVTZS_gfx: (i, c) => toGeneral(c, i.esz, i.sf, i.rd, i.rn, RZ, false, i.fbits),
  FCVTZU_gfx: (i, c) => toGeneral(c, i.esz, i.sf, i.rd, i.rn, RZ, true, i.fbits),
  SCVTF_g: (i, c) => fromGeneral(c, i.esz, i.sf, i.rd, i.rn, false, 0),
  UCVTF_g: (i, c) => fromGeneral(c, i.esz, i.sf, i.rd, i.rn, true, 0),
  SCVTF_gfx: (i, c) => fromGeneral(c, i.esz, i.sf, i.rd, i.rn, false, i.fbits),
  UCVTF_gfx: (i, c) => fromGeneral(c, i.esz, i.sf, i.rd, i.rn, true, i.fbits),
  FMOV_gf: (i, c) => {
    // FP to general: zero-extend the esize bits.
    const lo = elem(c.v, i.rn, i.esz, 0)
    writeX(c, i.rd, lo, i.sf && i.esz === 3 ? laneHi : 0)
  },
  FMOV_fg: (i, c) => {
    const lo = readX(c, i.rn)
    setScalar(c.v, i.rd, i.esz, i.esz === 1 ? lo & 0xffff : lo, laneHi)
  },
  FMOV_gd1: (i, c) => writeX(c, i.rd, c.v[(i.rn << 2) + 2] as number, c.v[(i.rn << 2) + 3] as number),
  FMOV_d1g: (i, c) => {
    // Vpart(d, 1) = X[n]: the low 64 bits stay.
    const lo = readX(c, i.rn)
    c.v[(i.rd << 2) + 2] = lo
    c.v[(i.rd << 2) + 3] = laneHi
  },
  FJCVTZS: (i, c) => {
    const a = elem(c.v, i.rn, 3, 0)
    const r = fpToFixedJS(c.fp, a, laneHi)
    c.nzcv = res.hi
    writeX(c, i.rd, r, 0)
  },

  // --- Advanced SIMD three same (FP)
  FADD_v: (i, c) => vBinary(c, i.esz, i.q, i.rd, i.rn, i.rm, fpAdd),
  FSUB_v: (i, c) => vBinary(c, i.esz, i.q, i.rd, i.rn, i.rm, fpSub),
  FMUL_v: (i, c) => vBinary(c, i.esz, i.q, i.rd, i.rn, i.rm, fpMul),
  FDIV_v: (i, c) => vBinary(c, i.esz, i.q, i.rd, i.rn, i.rm, fpDiv),
  FMULX_v: (i, c) => vBinary(c, i.esz, i.q, i.rd, i.rn, i.rm, fpMulX),
  FMAX_v: (i, c) => vBinary(c, i.esz, i.q, i.rd, i.rn, i.rm, fmax),
  FMIN_v: (i, c) => vBinary(c, i.esz, i.q, i.rd, i.rn, i.rm, fmin),
  FMAXNM_v: (i, c) => vBinary(c, i.esz, i.q, i.rd, i.rn, i.rm, fmaxnm),
  FMINNM_v: (i, c) => vBinary(c, i.esz, i.q, i.rd, i.rn, i.rm, fminnm),
  FABD_v: (i, c) => vBinary(c, i.esz, i.q, i.rd, i.rn, i.rm, fpAbd),
  FRECPS_v: (i, c) => vBinary(c, i.esz, i.q, i.rd, i.rn, i.rm, fpRecipStep),
  FRSQRTS_v: (i, c) => vBinary(c, i.esz, i.q, i.rd, i.rn, i.rm, fpRSqrtStep),
  FMLA_v: (i, c) => vMulAdd(c, i.esz, i.q, i.rd, i.rn, i.rm, -1, false),
  FMLS_v: (i, c) => vMulAdd(c, i.esz, i.q, i.rd, i.rn, i.rm, -1, true),
  FCMEQ_v: (i, c) => vCompare(c, i.esz, i.q, i.rd, i.rn, i.rm, fpCompareEQ, 0),
  FCMGE_v: (i, c) => vCompare(c, i.esz, i.q, i.rd, i.rn, i.rm, fpCompareGE, 0),
  FCMGT_v: (i, c) => vCompare(c, i.esz, i.q, i.rd, i.rn, i.rm, fpCompareGT, 0),
  FACGE_v: (i, c) => vCompare(c, i.esz, i.q, i.rd, i.rn, i.rm, facge, 0),
  FACGT_v: (i, c) => vCompare(c, i.esz, i.q, i.rd, i.rn, i.rm, facgt, 0),
  FADDP_v: (i, c) => vPairwise(c, i.esz, i.q, i.rd, i.rn, i.rm, fpAdd),
  FMAXP_v: (i, c) => vPairwise(c, i.esz, i.q, i.rd, i.rn, i.rm, fmax),
  FMINP_v: (i, c) => vPairwise(c, i.esz, i.q, i.rd, i.rn, i.rm, fmin),
  FMAXNMP_v: (i, c) => vPairwise(c, i.esz, i.q, i.rd, i.rn, i.rm, fmaxnm),
  FMINNMP_v: (i, c) => vPairwise(c, i.esz, i.q, i.rd, i.rn, i.rm, fminnm),
  FMLAL_v: (i, c) => fmlal(c, i.q, i.rd, i.rn, i.rm, -1, 0, false),
  FMLSL_v: (i, c) => fmlal(c, i.q, i.rd, i.rn, i.rm, -1, 0, true),
  FMLAL2_v: (i, c) => fmlal(c, i.q, i.rd, i.rn, i.rm, -1, 1, false),
  FMLSL2_v: (i, c) => fmlal(c, i.q, i.rd, i.rn, i.rm, -1, 1, true),
  FCMLA_v: (i, c) => fcmla(c, i.esz, i.q, i.rd, i.rn, i.rm, -1, i.rot),
  FCADD_v: (i, c) => fcadd(c, i.esz, i.q, i.rd, i.rn, i.rm, i.rot),

  // --- Advanced SIMD two-register miscellaneous (FP)
  FRINTN_v: (i, c) => vUnary(c, i.esz, i.q, i.rd, i.rn, RINT_N),
  FRINTM_v: (i, c) => vUnary(c, i.esz, i.q, i.rd, i.rn, RINT_M),
  FRINTP_v: (i, c) => vUnary(c, i.esz, i.q, i.rd, i.rn, RINT_P),
  FRINTZ_v: (i, c) => vUnary(c, i.esz, i.q, i.rd, i.rn, RINT_Z),
  FRINTA_v: (i, c) => vUnary(c, i.esz, i.q, i.rd, i.rn, RINT_A),
  FRINTX_v: (i, c) => vUnary(c, i.esz, i.q, i.rd, i.rn, RINT_X),
  FRINTI_v: (i, c) => vUnary(c, i.esz, i.q, i.rd, i.rn, RINT_I),
  FRINT32Z_v: (i, c) => vUnary(c, i.esz, i.q, i.rd, i.rn, RINT_32Z),
  FRINT32X_v: (i, c) => vUnary(c, i.esz, i.q, i.rd, i.rn, RINT_32X),
  FRINT64Z_v: (i, c) => vUnary(c, i.esz, i.q, i.rd, i.rn, RINT_64Z),
  FRINT64X_v: (i, c) => vUnary(c, i.esz, i.q, i.rd, i.rn, RINT_64X),
  FCVTNS_v: (i, c) => vUnary(c, i.esz, i.q, i.rd, i.rn, CVT_NS),
  FCVTNU_v: (i, c) => vUnary(c, i.esz, i.q, i.rd, i.rn, CVT_NU),
  FCVTMS_v: (i, c) => vUnary(c, i.esz, i.q, i.rd, i.rn, CVT_MS),
  FCVTMU_v: (i, c) => vUnary(c, i.esz, i.q, i.rd, i.rn, CVT_MU),
  FCVTAS_v: (i, c) => vUnary(c, i.esz, i.q, i.rd, i.rn, CVT_AS),
  FCVTAU_v: (i, c) => vUnary(c, i.esz, i.q, i.rd, i.rn, CVT_AU),
  FCVTPS_v: (i, c) => vUnary(c, i.esz, i.q, i.rd, i.rn, CVT_PS),
  FCVTPU_v: (i, c) => vUnary(c, i.esz, i.q, i.rd, i.rn, CVT_PU),
  FCVTZS_v: (i, c) => vUnary(c, i.esz, i.q, i.rd, i.rn, CVT_ZS),
  FCVTZU_v: (i, c) => vUnary(c, i.esz, i.q, i.rd, i.rn, CVT_ZU),
  SCVTF_v: (i, c) => vUnary(c, i.esz, i.q, i.rd, i.rn, SCVT),
  UCVTF_v: (i, c) => vUnary(c, i.esz, i.q, i.rd, i.rn, UCVT),
  FABS_v: (i, c) => vUnary(c, i.esz, i.q, i.rd, i.rn, fabs),
  FNEG_v: (i, c) => vUnary(c, i.esz, i.q, i.rd, i.rn, fneg),
  FSQRT_v: (i, c) => vUnary(c, i.esz, i.q, i.rd, i.rn, fsqrt),
  FRECPE_v: (i, c) => vUnary(c, i.esz, i.q, i.rd, i.rn, frecpe),
  FRSQRTE_v: (i, c) => vUnary(c, i.esz, i.q, i.rd, i.rn, frsqrte),
  URECPE_v: (i, c) => vUnary(c, 2, i.q, i.rd, i.rn, urecpe),
  URSQRTE_v: (i, c) => vUnary(c, 2, i.q, i.rd, i.rn, ursqrte),
  FCMGT_vz: (i, c) => vCompare(c, i.esz, i.q, i.rd, i.rn, 0, fpCompareGT, 1),
  FCMGE_vz: (i, c) => vCompare(c, i.esz, i.q, i.rd, i.rn, 0, fpCompareGE, 1),
  FCMEQ_vz: (i, c) => vCompare(c, i.esz, i.q, i.rd, i.rn, 0, fpCompareEQ, 1),
  FCMLT_vz: (i, c) => vCompare(c, i.esz, i.q, i.rd, i.rn, 0, fpCompareGT, 2),
  FCMLE_vz: (i, c) => vCompare(c, i.esz, i.q, i.rd, i.rn, 0, fpCompareGE, 2),
  FCVTN_v: (i, c) => narrow(c, i.q, i.rd, i.rn, i.sz, -1),
  FCVTXN_v: (i, c) => narrow(c, i.q, i.rd, i.rn, 1, RO),
  FCVTL_v: (i, c) => widen(c, i.q, i.rd, i.rn, i.sz),

  // --- Across lanes
  FMAXNMV: (i, c) => across(c, i.esz, i.q, i.rd, i.rn, fmaxnm),
  FMINNMV: (i, c) => across(c, i.esz, i.q, i.rd, i.rn, fminnm),
  FMAXV: (i, c) => across(c, i.esz, i.q, i.rd, i.rn, fmax),
  FMINV: (i, c) => across(c, i.esz, i.q, i.rd, i.rn, fmin),

  // --- Modified immediate
  FMOV_vi: (i, c) => {
    OUT[0] = i.immLo
    OUT[1] = i.immHi
    OUT[2] = i.immLo
    OUT[3] = i.immHi
    commit(c.v, i.rd, i.q)
  },

  // --- Shift by immediate: fixed-point conversions
  SCVTF_vfx: (i, c) => vIntToFixed(c, i.esz, i.q, i.rd, i.rn, i.fbits, false),
  UCVTF_vfx: (i, c) => vIntToFixed(c, i.esz, i.q, i.rd, i.rn, i.fbits, true),
  FCVTZS_vfx: (i, c) => vFixedToInt(c, i.esz, i.q, i.rd, i.rn, i.fbits, false),
  FCVTZU_vfx: (i, c) => vFixedToInt(c, i.esz, i.q, i.rd, i.rn, i.fbits, true),
  SCVTF_sfx: (i, c) => sFixed(c, i.esz, i.rd, i.rn, i.fbits, false, true),
  UCVTF_sfx: (i, c) => sFixed(c, i.esz, i.rd, i.rn, i.fbits, true, true),
  FCVTZS_sfx: (i, c) => sFixed(c, i.esz, i.rd, i.rn, i.fbits, false, false),
  FCVTZU_sfx: (i, c) => sFixed(c, i.esz, i.rd, i.rn, i.fbits, true, false),

  // --- By element
  FMLA_ve: (i, c) => vMulAdd(c, i.esz, i.q, i.rd, i.rn, i.rm, i.idx, false),
  FMLS_ve: (i, c) => vMulAdd(c, i.esz, i.q, i.rd, i.rn, i.rm, i.idx, true),
  FMUL_ve: (i, c) => vBinary(c, i.esz, i.q, i.rd, i.rn, i.rm, fpMul, i.idx),
  FMULX_ve: (i, c) => vBinary(c, i.esz, i.q, i.rd, i.rn, i.rm, fpMulX, i.idx),
  FMLAL_ve: (i, c) => fmlal(c, i.q, i.rd, i.rn, i.rm, i.idx, 0, false),
  FMLSL_ve: (i, c) => fmlal(c, i.q, i.rd, i.rn, i.rm, i.idx, 0, true),
  FMLAL2_ve: (i, c) => fmlal(c, i.q, i.rd, i.rn, i.rm, i.idx, 1, false),
  FMLSL2_ve: (i, c) => fmlal(c, i.q, i.rd, i.rn, i.rm, i.idx, 1, true),
  FCMLA_ve: (i, c) => fcmla(c, i.esz, i.q, i.rd, i.rn, i.rm, i.idx, i.rot),
  FMLA_se: (i, c) => sMulAdd(c, i.esz, i.rd, i.rn, i.rm, i.idx, false),
  FMLS_se: (i, c) => sMulAdd(c, i.esz, i.rd, i.rn, i.rm, i.idx, true),
  FMUL_se: (i, c) => sBinary(c, i.esz, i.rd, i.rn, i.rm, fpMul, i.idx),
  FMULX_se: (i, c) => sBinary(c, i.esz, i.rd, i.rn, i.rm, fpMulX, i.idx),

  // --- Advanced SIMD scalar three same and two-register misc (FP)
  FMULX_s: (i, c) => sBinary(c, i.esz, i.rd, i.rn, i.rm, fpMulX),
  FRECPS_s: (i, c) => sBinary(c, i.esz, i.rd, i.rn, i.rm, fpRecipStep),
  FRSQRTS_s: (i, c) => sBinary(c, i.esz, i.rd, i.rn, i.rm, fpRSqrtStep),
  FABD_s: (i, c) => sBinary(c, i.esz, i.rd, i.rn, i.rm, fpAbd),
  FCMEQ_s: (i, c) => sCompare(c, i.esz, i.rd, i.rn, i.rm, fpCompareEQ, 0),
  FCMGE_s: (i, c) => sCompare(c, i.esz, i.rd, i.rn, i.rm, fpCompareGE, 0),
  FCMGT_s: (i, c) => sCompare(c, i.esz, i.rd, i.rn, i.rm, fpCompareGT, 0),
  FACGE_s: (i, c) => sCompare(c, i.esz, i.rd, i.rn, i.rm, facge, 0),
  FACGT_s: (i, c) => sCompare(c, i.esz, i.rd, i.rn, i.rm, facgt, 0),
  FCMGT_sz: (i, c) => sCompare(c, i.esz, i.rd, i.rn, 0, fpCompareGT, 1),
  FCMGE_sz: (i, c) => sCompare(c, i.esz, i.rd, i.rn, 0, fpCompareGE, 1),
  FCMEQ_sz: (i, c) => sCompare(c, i.esz, i.rd, i.rn, 0, fpCompareEQ, 1),
  FCMLT_sz: (i, c) => sCompare(c, i.esz, i.rd, i.rn, 0, fpCompareGT, 2),
  FCMLE_sz: (i, c) => sCompare(c, i.esz, i.rd, i.rn, 0, fpCompareGE, 2),
  FCVTNS_s: (i, c) => sUnary(c, i.esz, i.rd, i.rn, CVT_NS),
  FCVTNU_s: (i, c) => sUnary(c, i.esz, i.rd, i.rn, CVT_NU),
  FCVTMS_s: (i, c) => sUnary(c, i.esz, i.rd, i.rn, CVT_MS),
  FCVTMU_s: (i, c) => sUnary(c, i.esz, i.rd, i.rn, CVT_MU),
  FCVTAS_s: (i, c) => sUnary(c, i.esz, i.rd, i.rn, CVT_AS),
  FCVTAU_s: (i, c) => sUnary(c, i.esz, i.rd, i.rn, CVT_AU),
  FCVTPS_s: (i, c) => sUnary(c, i.esz, i.rd, i.rn, CVT_PS),
  FCVTPU_s: (i, c) => sUnary(c, i.esz, i.rd, i.rn, CVT_PU),
  FCVTZS_s: (i, c) => sUnary(c, i.esz, i.rd, i.rn, CVT_ZS),
  FCVTZU_s: (i, c) => sUnary(c, i.esz, i.rd, i.rn, CVT_ZU),
  SCVTF_s: (i, c) => sUnary(c, i.esz, i.rd, i.rn, SCVT),
  UCVTF_s: (i, c) => sUnary(c, i.esz, i.rd, i.rn, UCVT),
  FRECPE_s: (i, c) => sUnary(c, i.esz, i.rd, i.rn, frecpe),
  FRSQRTE_s: (i, c) => sUnary(c, i.esz, i.rd, i.rn, frsqrte),
  FRECPX_s: (i, c) => sUnary(c, i.esz, i.rd, i.rn, frecpx),
  FCVTXN_s: (i, c) => {
    const a = elem(c.v, i.rn, 3, 0)
    setScalar(c.v, i.rd, 2, fpConvert(c.fp, SINGLE, DOUBLE, a, laneHi, RO), 0)
  },

  // --- Advanced SIMD scalar pairwise (FP)
  FADDP_s: (i, c) => sPairwise(c, i.esz, i.rd, i.rn, fpAdd),
  FMAXP_s: (i, c) => sPairwise(c, i.esz, i.rd, i.rn, fmax),
  FMINP_s: (i, c) => sPairwise(c, i.esz, i.rd, i.rn, fmin),
  FMAXNMP_s: (i, c) => sPairwise(c, i.esz, i.rd, i.rn, fmaxnm),
  FMINNMP_s: (i, c) => sPairwise(c, i.esz, i.rd, i.rn, fminnm),
} satisfies { readonly [K in InstructionName]?: Handler<K> }

/** The FP instruction names (the keys of FP_HANDLERS). */
export type FpInstructionName = keyof typeof FP_HANDLERS

/** FPCompare into NZCV; m < 0 compares with +0.0. */
function fcmp(c: FpContext, esz: number, n: number, m: number, signal: boolean): void {
  const a = elem(c.v, n, esz, 0)
  const ah = laneHi
  let b = 0
  let bh = 0
  if (m >= 0) {
    b = elem(c.v, m, esz, 0)
    bh = laneHi
  }
  c.nzcv = fpCompare(c.fp, fmtOf(esz), a, ah, b, bh, signal)
}

/** FMADD family: FPMulAdd(±Va, ±Vn, Vm). */
function fmadd(c: FpContext, esz: number, d: number, n: number, m: number, a: number, negA: boolean, negN: boolean): void {
  const sign = esz === 1 ? 0x8000 : 0x80000000
  let acc = elem(c.v, a, esz, 0)
  let acch = laneHi
  let x = elem(c.v, n, esz, 0)
  let xh = laneHi
  const y = elem(c.v, m, esz, 0)
  const yh = laneHi
  if (esz === 3) {
    if (negA) acch = (acch ^ sign) >>> 0
    if (negN) xh = (xh ^ sign) >>> 0
  } else {
    if (negA) acc = (acc ^ sign) >>> 0
    if (negN) x = (x ^ sign) >>> 0
  }
  const r = fpMulAdd(c.fp, fmtOf(esz), acc, acch, x, xh, y, yh)
  setScalar(c.v, d, esz, r, res.hi)
}

/** Scalar FMLA/FMLS by element. */
function sMulAdd(c: FpContext, esz: number, d: number, n: number, m: number, idx: number, neg: boolean): void {
  const sign = esz === 1 ? 0x8000 : 0x80000000
  const y = elem(c.v, m, esz, idx)
  const yh = laneHi
  let x = elem(c.v, n, esz, 0)
  let xh = laneHi
  if (neg) {
    if (esz === 3) xh = (xh ^ sign) >>> 0
    else x = (x ^ sign) >>> 0
  }
  const acc = elem(c.v, d, esz, 0)
  const r = fpMulAdd(c.fp, fmtOf(esz), acc, laneHi, x, xh, y, yh)
  setScalar(c.v, d, esz, r, res.hi)
}

/** Scalar fixed-point conversions (SCVTF/UCVTF/FCVTZS/FCVTZU with fbits). */
function sFixed(c: FpContext, esz: number, d: number, n: number, fbits: number, unsigned: boolean, toFloat: boolean): void {
  const a = elem(c.v, n, esz, 0)
  const fmt = fmtOf(esz)
  const r = toFloat
    ? fixedToFp(c.fp, fmt, a, laneHi, fmt.n, fbits, unsigned, roundingMode(c.fp.fpcr))
    : fpToFixed(c.fp, fmt, a, laneHi, fbits, unsigned, fmt.n, RZ)
  setScalar(c.v, d, esz, r, res.hi)
}
