// FP arithmetic in wasm where wasm's IEEE arithmetic is Arm's result and changes no flag:
// FADD/FSUB/FMUL scalar (S, D), here; the vector FADD/FSUB/FMUL and FMLA/FMLS, and
// FMLA/FMLS/FMUL by element, in WebAssembly SIMD, emit-fp-simd.ts.
//
// When it is exact (else the instruction's handler runs, emit-sys.ts sysCall, as for every other
// FP instruction):
// - FPCR.RMode is round to nearest (wasm's only mode).
// - Every operand is a normal number or a zero (no subnormal, infinity or NaN: no FZ flush, no
//   IDC, no NaN propagation or default NaN, no invalid operation), and every result is normal
//   and finite, or an exact zero: FADD/FSUB a sum that is exactly zero (+0 rounding to nearest,
//   in IEEE as in Arm), FMUL a zero factor (the product an exact ±0, its sign the XOR of the
//   factors', in both; a zero from an underflow is not one). Rounded to nearest, |r| > the
//   least normal means the exact value was not tiny (no underflow, UFC) and |r| <= the largest
//   finite means no overflow (OFC). Then Arm's FPAdd/FPSub/FPMul is the IEEE-754
//   round-to-nearest result, which wasm's is, and the only flag it can raise is IXC: set when
//   TwoSum's error is not zero (FADD/FSUB), when the single product (exact as a double) differs
//   from its rounding (FMUL, singles), when Dekker's TwoProduct error is not zero (FMUL,
//   doubles, in the ranges where it is exact).
// If the lane fails a condition, it is not written and the handler does the instruction.

import type { Instruction } from '@tagvm/a64'
import { SLOT } from '../sysreg-table.js'
import type { Emitter } from './emit.js'
import { ST_SYSREGS, ST_VREGS } from './layout.js'
import type { Block } from './region.js'
import { emitArithSimd, emitFmlaSimd } from './emit-fp-simd.js'
import { inexactElseHandler } from './emit-fp-simd-ops.js'
import { F32, F64, I32, Op } from './wasm-encoder.js'

const FPCR_RMODE = 0x00c0_0000

type Kind = 'add' | 'sub' | 'mul'

/**
 * Emits FP arithmetic instruction k of block b with the fast path above (after `fpAllowed`, the
 * FP trap's test; `handler` emits the run of its handler, emit-sys.ts sysCall); false, having
 * emitted nothing, if it is not one of them.
 */
export function emitFpArith(em: Emitter, b: Block, k: number, fpAllowed: () => void, handler: () => void): boolean {
  const d: Instruction = b.insns[k]!.d
  let kind: Kind
  let double: boolean
  switch (d.name) {
    case 'FADD_f': case 'FSUB_f': case 'FMUL_f':
      if (d.esz !== 2 && d.esz !== 3) return false
      kind = d.name === 'FADD_f' ? 'add' : d.name === 'FSUB_f' ? 'sub' : 'mul'
      double = d.esz === 3
      break
    case 'FADD_v': case 'FSUB_v': case 'FMUL_v':
      if ((d.esz !== 2 && d.esz !== 3) || (d.esz === 3 && !d.q)) return false
      kind = d.name === 'FADD_v' ? 'add' : d.name === 'FSUB_v' ? 'sub' : 'mul'
      double = d.esz === 3
      // All the lanes at once in WebAssembly SIMD (emit-fp-simd.ts).
      emitArithSimd(em, kind, double, d.q, d.rd, d.rn, d.rm, fpAllowed, handler)
      return true
    case 'FMLA_v': case 'FMLS_v':
      // All the lanes at once in WebAssembly SIMD (emit-fp-simd.ts).
      if ((d.esz !== 2 && d.esz !== 3) || (d.esz === 3 && !d.q)) return false
      emitFmlaSimd(em, d.esz === 3, d.q, d.rd, d.rn, d.rm, d.name === 'FMLS_v', fpAllowed, handler)
      return true
    case 'FMLA_ve': case 'FMLS_ve':
      // By element: Vm's element idx in every lane.
      if ((d.esz !== 2 && d.esz !== 3) || (d.esz === 3 && !d.q)) return false
      emitFmlaSimd(em, d.esz === 3, d.q, d.rd, d.rn, { reg: d.rm, index: d.idx }, d.name === 'FMLS_ve', fpAllowed, handler)
      return true
    case 'FMUL_ve':
      // By element (2S, 4S, 2D).
      if ((d.esz !== 2 && d.esz !== 3) || (d.esz === 3 && !d.q)) return false
      emitArithSimd(em, 'mul', d.esz === 3, d.q, d.rd, d.rn, { reg: d.rm, index: d.idx }, fpAllowed, handler)
      return true
    default:
      return false
  }
  const { rd, rn, rm } = d
  const fn = em.fn
  fpAllowed()
  const lane = (n: number): number => ST_VREGS + 16 * n
  const ok = fn.local(I32)
  const inexact = fn.local(I32)
  const addSub = kind === 'add' || kind === 'sub'
  // FPCR.RMode = RN.
  fn.get(em.state).mem(Op.i32Load, ST_SYSREGS + 8 * SLOT.FPCR).i32(FPCR_RMODE).op(Op.i32And, Op.i32Eqz).set(ok)
  fn.i32(0).set(inexact)
  /**
   * ok &= the operand at `offset` is normal (biased exponent neither all zeros nor all ones) or
   * a zero; `isZero`, when given, is set to whether it is a zero.
   */
  const operand = (offset: number, isZero?: number): void => {
    fn.get(ok)
    if (double) {
      fn.get(em.state).mem(Op.i64Load, offset).i64(-1, 0x7fff_ffff).op(Op.i64And).tee(em.t1)
      fn.i64(52).op(Op.i64ShrU, Op.i32WrapI64)
    } else {
      fn.get(em.state).mem(Op.i32Load, offset).i32(0x7fff_ffff).op(Op.i32And).tee(em.c)
      fn.i32(23).op(Op.i32ShrU)
    }
    fn.i32(1).op(Op.i32Sub).i32(double ? 0x7fe : 0xfe).op(Op.i32LtU)
    if (double) fn.get(em.t1).op(Op.i64Eqz)
    else fn.get(em.c).op(Op.i32Eqz)
    if (isZero !== undefined) fn.tee(isZero)
    fn.op(Op.i32Or, Op.i32And).set(ok)
  }
  const r = fn.local(double ? F64 : F32)
  if (addSub) {
    operand(lane(rn))
    operand(lane(rm))
    addSubLane(em, ok, inexact, r, double, kind === 'sub', lane(rn), lane(rm))
  } else {
    // FMUL: a zero factor makes the product an exact ±0.
    const [zeroA, zeroB, zeroP] = [fn.local(I32), fn.local(I32), fn.local(I32)]
    operand(lane(rn), zeroA)
    operand(lane(rm), zeroB)
    fn.get(zeroA).get(zeroB).op(Op.i32Or).set(zeroP)
    mulLane(em, ok, inexact, r, zeroP, double, lane(rn), lane(rm))
  }
  fn.get(ok)
  fn.if()
  fn.get(em.state).get(r).mem(double ? Op.f64Store : Op.f32Store, lane(rd))
  // The rest of Vd: zero above the scalar.
  if (!double) fn.get(em.state).i32(0).mem(Op.i32Store, ST_VREGS + 16 * rd + 4)
  fn.get(em.state).i64(0).mem(Op.i64Store, ST_VREGS + 16 * rd + 8)
  fn.get(inexact)
  inexactElseHandler(em, handler)
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
 * One FMUL lane: r = a * b (operands normal or zero); ok &= r normal and finite, or a factor
 * is zero (`zeroP`: the product is an exact ±0, its sign the XOR of theirs, as Arm's FPMul).
 * Singles: the product is exact as a double, so r is inexact when it differs from it. Doubles:
 * Dekker's TwoProduct error (no FMA in wasm), exact when |a|, |b| < 2^995 and |r| >= 2^-960
 * (else ok is cleared, unless a factor is zero: no error then).
 */
function mulLane(em: Emitter, ok: number, inexact: number, r: number, zeroP: number, double: boolean, a: number, b: number): void {
  const fn = em.fn
  // The conditions on the product, apart from those on the operands already in ok.
  const operandsOk = fn.local(I32)
  fn.get(ok).set(operandsOk).i32(1).set(ok)
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
    // A zero factor: no error (TwoProduct of a zero and a huge factor would be a NaN).
    fn.i64(0).op(Op.f64ReinterpretI64)
    twoProduct(em, x, y, r)
    fn.get(zeroP).op(Op.select)
    notZero(em, inexact, true)
  } else {
    const p = fn.local(F64)
    fn.get(em.state).mem(Op.f32Load, a).op(Op.f64PromoteF32).get(em.state).mem(Op.f32Load, b).op(Op.f64PromoteF32, Op.f64Mul).tee(p)
    fn.op(Op.f32DemoteF64).tee(r)
    finiteNormal(em, ok, false, false)
    fn.get(r).op(Op.f64PromoteF32).get(p).op(Op.f64Sub)
    notZero(em, inexact, true)
  }
  fn.get(operandsOk).get(ok).get(zeroP).op(Op.i32Or, Op.i32And).set(ok)
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
