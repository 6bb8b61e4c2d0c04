// FP arithmetic in wasm where wasm's IEEE arithmetic is Arm's result and changes no flag:
// FADD/FSUB/FMUL (scalar S and D; vector 2S, 4S, 2D) and FMLA (vector 2S, 4S, fused).
//
// When it is exact (else the instruction's handler runs, emit-sys.ts sysCall, as for every other
// FP instruction):
// - FPCR.RMode is round to nearest (wasm's only mode).
// - Every operand is a normal number (FADD/FSUB: or a zero; no subnormal, infinity or NaN: no FZ
//   flush, no IDC, no NaN propagation or default NaN, no invalid operation), and every result
//   is normal and finite (FADD/FSUB: or an exact zero): rounded to nearest, |r| > the least
//   normal means the exact value was not tiny (no underflow, UFC) and |r| <= the largest finite
//   means no overflow (OFC). Then Arm's FPAdd/FPSub/FPMul is the IEEE-754 round-to-nearest
//   result, which wasm's is, and the only flag it can raise is IXC: set when TwoSum's error is
//   not zero (FADD/FSUB), when the single product (exact as a double) differs from its rounding
//   (FMUL, singles), when Dekker's TwoProduct error is not zero (FMUL, doubles, in the ranges
//   where it is exact).
// - FMLA (FPMulAdd, rounded once), singles: the product of two singles is exact in double, s =
//   p + c is rounded once; when TwoSum says s is exact, or s is not halfway between two singles,
//   rounding s to single is the single rounding of p + c (a double that lies strictly between
//   the exact sum and s would be nearer the sum than s is), as fp/arith.ts fmaFast32 argues.
// If any lane fails a condition, no lane is written and the handler does the instruction.

import type { Instruction } from '@tagvm/a64'
import { SLOT } from '../sysreg-table.js'
import type { Emitter } from './emit.js'
import { ST_SYSREGS, ST_VREGS } from './layout.js'
import type { Block } from './region.js'
import { F32, F64, I32, Op } from './wasm-encoder.js'

const FPCR_RMODE = 0x00c0_0000
const FPSR_IXC = 0x10

type Kind = 'add' | 'sub' | 'mul' | 'fmla'

/**
 * Emits FP arithmetic instruction k of block b with the fast path above (after `fpAllowed`, the
 * FP trap's test; `handler` emits the run of its handler, emit-sys.ts sysCall); false, having
 * emitted nothing, if it is not one of them.
 */
export function emitFpArith(em: Emitter, b: Block, k: number, fpAllowed: () => void, handler: () => void): boolean {
  const d: Instruction = b.insns[k]!.d
  let kind: Kind
  let double: boolean
  let lanes: number
  switch (d.name) {
    case 'FADD_f': case 'FSUB_f': case 'FMUL_f':
      if (d.esz !== 2 && d.esz !== 3) return false
      kind = d.name === 'FADD_f' ? 'add' : d.name === 'FSUB_f' ? 'sub' : 'mul'
      double = d.esz === 3
      lanes = 1
      break
    case 'FADD_v': case 'FSUB_v': case 'FMUL_v':
      if ((d.esz !== 2 && d.esz !== 3) || (d.esz === 3 && !d.q)) return false
      kind = d.name === 'FADD_v' ? 'add' : d.name === 'FSUB_v' ? 'sub' : 'mul'
      double = d.esz === 3
      lanes = (d.q ? 16 : 8) >> d.esz
      break
    case 'FMLA_v':
      if ((d.esz !== 2 && d.esz !== 3) || (d.esz === 3 && !d.q)) return false
      kind = 'fmla'
      double = d.esz === 3
      lanes = (d.q ? 16 : 8) >> d.esz
      break
    default:
      return false
  }
  const { rd, rn, rm } = d
  const fn = em.fn
  fpAllowed()
  const size = double ? 8 : 4
  const lane = (n: number, i: number): number => ST_VREGS + 16 * n + size * i
  const ok = fn.local(I32)
  const inexact = fn.local(I32)
  const addSub = kind === 'add' || kind === 'sub'
  // FPCR.RMode = RN.
  fn.get(em.state).mem(Op.i32Load, ST_SYSREGS + 8 * SLOT.FPCR).i32(FPCR_RMODE).op(Op.i32And, Op.i32Eqz).set(ok)
  fn.i32(0).set(inexact)
  /** ok &= the operand at `offset` is normal (biased exponent neither all zeros nor all ones), or a zero when `zero`. */
  const operand = (offset: number, zero: boolean): void => {
    fn.get(ok)
    if (double) {
      fn.get(em.state).mem(Op.i64Load, offset).i64(-1, 0x7fff_ffff).op(Op.i64And)
      if (zero) fn.tee(em.t1)
      fn.i64(52).op(Op.i64ShrU, Op.i32WrapI64)
    } else {
      fn.get(em.state).mem(Op.i32Load, offset).i32(0x7fff_ffff).op(Op.i32And)
      if (zero) fn.tee(em.c)
      fn.i32(23).op(Op.i32ShrU)
    }
    fn.i32(1).op(Op.i32Sub).i32(double ? 0x7fe : 0xfe).op(Op.i32LtU)
    if (zero) {
      if (double) fn.get(em.t1).op(Op.i64Eqz)
      else fn.get(em.c).op(Op.i32Eqz)
      fn.op(Op.i32Or)
    }
    fn.op(Op.i32And).set(ok)
  }
  const results: number[] = []
  for (let i = 0; i < lanes; i++) {
    operand(lane(rn, i), addSub)
    operand(lane(rm, i), addSub)
    if (kind === 'fmla') operand(lane(rd, i), false)
    const r = fn.local(double ? F64 : F32)
    results.push(r)
    if (kind === 'fmla' && double) fmlaLane64(em, ok, inexact, r, lane(rd, i), lane(rn, i), lane(rm, i))
    else if (kind === 'fmla') fmlaLane(em, ok, inexact, r, lane(rd, i), lane(rn, i), lane(rm, i))
    else if (addSub) addSubLane(em, ok, inexact, r, double, kind === 'sub', lane(rn, i), lane(rm, i))
    else mulLane(em, ok, inexact, r, double, lane(rn, i), lane(rm, i))
  }
  fn.get(ok)
  fn.if()
  results.forEach((r, i) => fn.get(em.state).get(r).mem(double ? Op.f64Store : Op.f32Store, lane(rd, i)))
  // The rest of Vd: zero above the scalar or the 64-bit vector.
  const written = lanes * size
  if (written <= 4) fn.get(em.state).i32(0).mem(Op.i32Store, ST_VREGS + 16 * rd + 4)
  if (written <= 8) fn.get(em.state).i64(0).mem(Op.i64Store, ST_VREGS + 16 * rd + 8)
  fn.get(inexact)
  fn.if()
  fn.get(em.state).get(em.state).mem(Op.i32Load, ST_SYSREGS + 8 * SLOT.FPSR).i32(FPSR_IXC).op(Op.i32Or).mem(Op.i32Store, ST_SYSREGS + 8 * SLOT.FPSR)
  fn.end()
  fn.else()
  handler()
  fn.end()
  return true
}

/**
 * One FADD/FSUB lane: r = a ± b; ok &= r normal and finite, or an exact zero (x - x is +0
 * rounding to nearest, as in wasm); inexact |= TwoSum's error is not zero.
 */
function addSubLane(em: Emitter, ok: number, inexact: number, r: number, double: boolean, sub: boolean, a: number, b: number): void {
  const fn = em.fn
  const F = double ? F64 : F32
  const x = fn.local(F)
  const y = fn.local(F)
  const bb = fn.local(F)
  const [load, add, subOp] = double ? [Op.f64Load, Op.f64Add, Op.f64Sub] : [Op.f32Load, Op.f32Add, Op.f32Sub]
  fn.get(em.state).mem(load, a).tee(x).get(em.state).mem(load, b)
  if (sub) {
    // a - b = a + (-b), and -b is exact: negate through the sign bit.
    fn.op(double ? Op.i64ReinterpretF64 : Op.i32ReinterpretF32)
    if (double) fn.i64(0, -0x8000_0000).op(Op.i64Xor, Op.f64ReinterpretI64)
    else fn.i32(-0x8000_0000).op(Op.i32Xor, Op.f32ReinterpretI32)
  }
  fn.tee(y).op(add).tee(r)
  finiteNormal(em, ok, double, true)
  // TwoSum error: (x - (r - bb)) + (y - bb), bb = r - x.
  fn.get(r).get(x).op(subOp).set(bb)
  fn.get(x).get(r).get(bb).op(subOp, subOp).get(y).get(bb).op(subOp, add)
  notZero(em, inexact, double)
}

/**
 * One FMUL lane: r = a * b (normal operands); ok &= r normal and finite. Singles: the product is
 * exact as a double, so r is inexact when it differs from it. Doubles: Dekker's TwoProduct
 * error (no FMA in wasm), exact when |a|, |b| < 2^995 and |r| >= 2^-960 (else ok is cleared).
 */
function mulLane(em: Emitter, ok: number, inexact: number, r: number, double: boolean, a: number, b: number): void {
  const fn = em.fn
  if (double) {
    const x = fn.local(F64)
    const y = fn.local(F64)
    fn.get(em.state).mem(Op.f64Load, a).tee(x).get(em.state).mem(Op.f64Load, b).tee(y).op(Op.f64Mul).tee(r)
    finiteNormal(em, ok, true, false)
    // The ranges where TwoProduct is exact: |r| >= 2^-960, |a| and |b| < 2^995.
    const below = (v: number, bits: number): void => {
      fn.get(ok).get(v).op(Op.i64ReinterpretF64).i64(-1, 0x7fff_ffff).op(Op.i64And).i64(0, bits).op(Op.i64LtU, Op.i32And).set(ok)
    }
    below(x, 0x7e20_0000)
    below(y, 0x7e20_0000)
    fn.get(ok).get(r).op(Op.i64ReinterpretF64).i64(-1, 0x7fff_ffff).op(Op.i64And).i64(0, 0x03f0_0000).op(Op.i64GeU, Op.i32And).set(ok)
    twoProduct(em, x, y, r)
    notZero(em, inexact, true)
    return
  }
  const p = fn.local(F64)
  fn.get(em.state).mem(Op.f32Load, a).op(Op.f64PromoteF32).get(em.state).mem(Op.f32Load, b).op(Op.f64PromoteF32, Op.f64Mul).tee(p)
  fn.op(Op.f32DemoteF64).tee(r)
  finiteNormal(em, ok, false, false)
  fn.get(r).op(Op.f64PromoteF32).get(p).op(Op.f64Sub)
  notZero(em, inexact, true)
}

/** Pushes Dekker's TwoProduct error of locals x * y = p (exact in the ranges mulLane checks): ((xh*yh - p) + xh*yl + xl*yh) + xl*yl. */
function twoProduct(em: Emitter, x: number, y: number, p: number): void {
  const fn = em.fn
  const [xh, xl, yh, yl] = [split(em, x), fn.local(F64), split(em, y), fn.local(F64)]
  fn.get(x).get(xh).op(Op.f64Sub).set(xl)
  fn.get(y).get(yh).op(Op.f64Sub).set(yl)
  fn.get(xh).get(yh).op(Op.f64Mul).get(p).op(Op.f64Sub).get(xh).get(yl).op(Op.f64Mul, Op.f64Add)
  fn.get(xl).get(yh).op(Op.f64Mul, Op.f64Add).get(xl).get(yl).op(Op.f64Mul, Op.f64Add)
}

/** Pushes TwoSum's error of locals a + b = s (doubles): (a - (s - bb)) + (b - bb), bb = s - a. */
function twoSum(em: Emitter, a: number, b: number, s: number): void {
  const fn = em.fn
  const bb = fn.local(F64)
  fn.get(s).get(a).op(Op.f64Sub).set(bb)
  fn.get(a).get(s).get(bb).op(Op.f64Sub, Op.f64Sub).get(b).get(bb).op(Op.f64Sub, Op.f64Add)
}

/**
 * One FMLA lane (doubles), fp/arith.ts fmaFast64 in wasm: p + pe = a * b (TwoProduct), s + e1 =
 * p + c, t + e2 = e1 + pe, r + e3 = s + t, so the exact value is r + e3 + e2, and r is its
 * rounding unless e2 could move it across a rounding boundary. ok &= the ranges where all that
 * is exact (|p| in [2^-960, largest finite], |a| and |b| < 2^995, r normal and finite) and, when
 * e2 is not zero, r not a power of two, its exponent over 53, and | |e3| - half an ulp of r |
 * greater than 2 |e2|; inexact |= e3 + e2 is not zero.
 */
function fmlaLane64(em: Emitter, ok: number, inexact: number, r: number, c: number, a: number, b: number): void {
  const fn = em.fn
  const local = (): number => fn.local(F64)
  const [x, y, cd, p, s, e1, pe, t, e2, e3] = [local(), local(), local(), local(), local(), local(), local(), local(), local(), local()]
  const abs = (v: number): void => {
    fn.get(v).op(Op.i64ReinterpretF64).i64(-1, 0x7fff_ffff).op(Op.i64And)
  }
  /** ok &= |v| (as bits) compares with the bits `hi`:0 by `cmp`. */
  const bound = (v: number, hi: number, cmp: number): void => {
    fn.get(ok)
    abs(v)
    fn.i64(0, hi).op(cmp, Op.i32And).set(ok)
  }
  fn.get(em.state).mem(Op.f64Load, a).tee(x).get(em.state).mem(Op.f64Load, b).tee(y).op(Op.f64Mul).set(p)
  fn.get(em.state).mem(Op.f64Load, c).set(cd)
  bound(p, 0x03f0_0000, Op.i64GeU)
  bound(p, 0x7ff0_0000, Op.i64LtU)
  bound(x, 0x7e20_0000, Op.i64LtU)
  bound(y, 0x7e20_0000, Op.i64LtU)
  twoProduct(em, x, y, p)
  fn.set(pe)
  fn.get(p).get(cd).op(Op.f64Add).set(s)
  twoSum(em, p, cd, s)
  fn.set(e1)
  fn.get(e1).get(pe).op(Op.f64Add).set(t)
  twoSum(em, e1, pe, t)
  fn.set(e2)
  fn.get(s).get(t).op(Op.f64Add).tee(r)
  finiteNormal(em, ok, true, false)
  twoSum(em, s, t, r)
  fn.set(e3)
  // e2 = 0, or: r's biased exponent > 53, r not a power of two, ||e3| - half| > 2|e2|.
  fn.get(e2).op(Op.i64ReinterpretF64).i64(1).op(Op.i64Shl, Op.i64Eqz)
  fn.get(r).op(Op.i64ReinterpretF64).i64(52).op(Op.i64ShrU).i64(0x7ff).op(Op.i64And).i64(53).op(Op.i64GtU)
  fn.get(r).op(Op.i64ReinterpretF64).i64(-1, 0x000f_ffff).op(Op.i64And, Op.i64Eqz, Op.i32Eqz, Op.i32And)
  fn.get(e3).op(Op.f64Abs)
  // half an ulp of r: 2^(exponent - 53), the bits (biased exponent - 53) << 52.
  fn.get(r).op(Op.i64ReinterpretF64).i64(52).op(Op.i64ShrU).i64(0x7ff).op(Op.i64And).i64(53).op(Op.i64Sub).i64(52).op(Op.i64Shl, Op.f64ReinterpretI64)
  fn.op(Op.f64Sub, Op.f64Abs).get(e2).op(Op.f64Abs).get(e2).op(Op.f64Abs, Op.f64Add, Op.f64Gt, Op.i32And, Op.i32Or)
  fn.get(ok).op(Op.i32And).set(ok)
  fn.get(e3).get(e2).op(Op.f64Add)
  notZero(em, inexact, true)
}

/** Veltkamp's split of the double in local v: returns a local holding its high 26 bits (t - (t - v), t = (2^27 + 1) v). */
function split(em: Emitter, v: number): number {
  const fn = em.fn
  const t = fn.local(F64)
  const high = fn.local(F64)
  fn.i64(0x0200_0000, 0x41a0_0000).op(Op.f64ReinterpretI64).get(v).op(Op.f64Mul).tee(t)
  fn.get(t).get(v).op(Op.f64Sub, Op.f64Sub).set(high)
  return high
}

/** With an f64 (or f32) on the stack: inexact |= it is not ±0. */
function notZero(em: Emitter, inexact: number, double: boolean): void {
  const fn = em.fn
  if (double) fn.op(Op.i64ReinterpretF64).i64(1).op(Op.i64Shl, Op.i64Eqz, Op.i32Eqz)
  else fn.op(Op.i32ReinterpretF32).i32(1).op(Op.i32Shl, Op.i32Eqz, Op.i32Eqz)
  fn.get(inexact).op(Op.i32Or).set(inexact)
}

/**
 * With a result (f32 or f64) on the stack: ok &= it is normal and finite (|r| in (least normal,
 * largest finite]), or (`zero`) it is ±0.
 */
function finiteNormal(em: Emitter, ok: number, double: boolean, zero: boolean): void {
  const fn = em.fn
  if (double) {
    fn.op(Op.i64ReinterpretF64).i64(-1, 0x7fff_ffff).op(Op.i64And)
    if (zero) fn.tee(em.t1)
    // |bits| - (least normal + 1) <u largest finite - least normal
    fn.i64(-1, -0x0010_0001).op(Op.i64Add).i64(-1, 0x7fdf_ffff).op(Op.i64LtU)
    if (zero) fn.get(em.t1).op(Op.i64Eqz, Op.i32Or)
  } else {
    fn.op(Op.i32ReinterpretF32).i32(0x7fff_ffff).op(Op.i32And)
    if (zero) fn.tee(em.c)
    fn.i32(0x0080_0001).op(Op.i32Sub).i32(0x7f7f_ffff - 0x0080_0001 + 1).op(Op.i32LtU)
    if (zero) fn.get(em.c).op(Op.i32Eqz, Op.i32Or)
  }
  fn.get(ok).op(Op.i32And).set(ok)
}

/**
 * One FMLA lane (singles): r = single(s), s = double(a) * double(b) + double(c); ok &= |s| above
 * the least normal single, r finite, and (s exact or s not halfway between two singles);
 * inexact |= s was inexact or r differs from s.
 */
function fmlaLane(em: Emitter, ok: number, inexact: number, r: number, c: number, a: number, b: number): void {
  const fn = em.fn
  const p = fn.local(F64)
  const s = fn.local(F64)
  const cd = fn.local(F64)
  const bb = fn.local(F64)
  const e = fn.local(F64)
  fn.get(em.state).mem(Op.f32Load, a).op(Op.f64PromoteF32).get(em.state).mem(Op.f32Load, b).op(Op.f64PromoteF32, Op.f64Mul).tee(p)
  fn.get(em.state).mem(Op.f32Load, c).op(Op.f64PromoteF32).tee(cd).op(Op.f64Add).tee(s)
  fn.op(Op.f32DemoteF64).tee(r)
  // No overflow: |r| <= the largest single.
  fn.op(Op.i32ReinterpretF32).i32(0x7fff_ffff).op(Op.i32And).i32(0x7f7f_ffff).op(Op.i32LeU)
  // |s| > the least normal single (as a double: 2^-126 = 0x3810_0000_0000_0000): no underflow.
  fn.get(s).op(Op.i64ReinterpretF64).i64(-1, 0x7fff_ffff).op(Op.i64And).i64(0, 0x3810_0000).op(Op.i64GtU, Op.i32And)
  // TwoSum: e = (p - (s - bb)) + (c - bb), bb = s - p; s is exact when e is ±0...
  fn.get(s).get(p).op(Op.f64Sub).set(bb)
  fn.get(p).get(s).get(bb).op(Op.f64Sub, Op.f64Sub).get(cd).get(bb).op(Op.f64Sub, Op.f64Add).tee(e)
  fn.op(Op.i64ReinterpretF64).i64(1).op(Op.i64Shl, Op.i64Eqz)
  // ...or s is not a tie: its 29 mantissa bits below a single's are not exactly one half.
  fn.get(s).op(Op.i64ReinterpretF64).i64(0x1fff_ffff).op(Op.i64And).i64(0x1000_0000).op(Op.i64Ne, Op.i32Or, Op.i32And)
  fn.get(ok).op(Op.i32And).set(ok)
  fn.get(e)
  notZero(em, inexact, true)
  fn.get(r).op(Op.f64PromoteF32).get(s).op(Op.f64Sub)
  notZero(em, inexact, true)
}
