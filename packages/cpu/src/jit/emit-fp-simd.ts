// FMLA and FMLS (vector and by element: 2S, 4S, 2D; FPMulAdd, rounded once), FADD/FSUB (vector:
// 2S, 4S, 2D) and FMUL (vector and by element: 2S, 4S) in WebAssembly SIMD, all the lanes of a
// register at once (by element: the element splatted to every lane; FMLS negates Vn's lanes),
// two doubles or four singles in a v128 (bench-dot spent half its time in the lane-by-lane scalar code this
// replaces: four lanes, three operand checks and a TwoSum each). FADD/FSUB/FMUL: see
// emitArithSimd; the rest of this comment is FMLA's.
//
// When it is exact (else the instruction's handler runs, emit-sys.ts sysCall):
// - FPCR.RMode is round to nearest (wasm's only mode), and FPCR.FZ is 0 or (FZ = 1, tested
//   only then) no operand lane is subnormal. Without flushing, Arm reads a subnormal operand
//   as its value and raises no flag for it (IDC comes only from a flush), so an operand needs
//   no test where the result's tests catch the rest: an infinity or a NaN makes the sum an
//   infinity or a NaN, which fails them (compared as floats, a NaN fails every comparison).
//   Every result taken is normal or zero, so FZ's flush of results never applies.
// - Singles: the product of two finite singles is exact as a double (48 significant bits,
//   exponent down to 2^-298) and s = p + c is rounded once. When s is exact (TwoSum's error
//   zero, tested only when a lane is a tie) or not halfway between two singles, rounding s to
//   single is the single rounding of p + c (a double strictly between the exact sum and s
//   would be nearer the sum than s is), as fp/arith.ts fmaFast32 argues; a tie with an error
//   goes to the handler. |s| above the least normal single means the exact sum was
//   not tiny (no UFC), r finite no overflow (OFC); IXC when TwoSum says s is inexact or r
//   differs from s, a test made only while FPSR.IXC is clear (it is sticky).
// - Doubles, fp/arith.ts fmaFast64's chain: p + pe = a * b (Dekker's TwoProduct: no FMA in
//   wasm), s + e1 = p + c, t + e2 = e1 + pe, r + e3 = s + t, all exact when the factors are
//   normal or zero and below 2^995 and |p| is in [2^-960, largest finite] (the addend may be any
//   finite double: TwoSum is exact for all), so the exact value is r + e3 + e2, and r is its
//   rounding unless e2 could move it across a rounding boundary: e2 = 0, or r's exponent over
//   53, r not a power of two and | |e3| - half an ulp of r | > 2 |e2|. r normal and finite;
//   IXC when e3 + e2 is not zero. A zero factor makes the product an exact ±0: r = p + c (c,
//   or for two zeros the sign Arm's FPMulAdd gives them rounding to nearest, as IEEE's sum).
// If any lane fails a condition, no lane is written and the handler does the instruction.

import type { Emitter } from './emit.js'
import { ST_VREGS } from './layout.js'
import { Op, type FunctionBody } from './wasm-encoder.js'
import {
  F32_MIN_NORMAL_AS_F64, F64_MAX, F64_MIN_NORMAL, F64_ZERO, S, V128, andInto, enter, inexactElseHandler, isZero, loadOperand, magnitude, simd, simdMem,
  singleFinite, splat, stickyInexact, twoSum, type Operand,
} from './emit-fp-simd-ops.js'

/** 2^995 and 2^-960 (TwoProduct's ranges), as doubles [low word, high word]. */
const F64_TWO_995 = [0, 0x7e20_0000] as const
const F64_TWO_M960 = [0, 0x03f0_0000] as const
/** 2^27 + 1, Veltkamp's splitter. */
const SPLITTER = [0x0200_0000, 0x41a0_0000] as const

/**
 * Emits FMLA (vector, or by element: `rm` an element) of 2S, 4S (`double` false) or 2D
 * (`double`, q = 1) Vd += Vn * Vm with the wasm fast path above, else `handler` (after
 * `fpAllowed`, the FP trap's test); FMLS (`negate`): Vd += (-Vn) * Vm, as Arm's FPMulAdd takes
 * it (the negation is exact, and a NaN, whose sign it would change, goes to the handler).
 */
export function emitFmlaSimd(em: Emitter, double: boolean, q: number, rd: number, rn: number, rm: Operand, negate: boolean, fpAllowed: () => void, handler: () => void): void {
  const fn = em.fn
  fpAllowed()
  const ok = fn.local(V128)
  const halves = double || q ? [0, 8] : [0]
  const v = ST_VREGS + 16 * rd
  if (double) {
    const { result, exact } = fmlaDoubles(em, ok, rd, rn, rm, negate)
    enter(em, ok, [rn, rm, rd], true, true)
    fn.get(em.state).get(result)
    simdMem(fn, S.store, v)
    fn.get(exact)
    simd(fn, S.i64x2AllTrue)
    fn.op(Op.i32Eqz)
    inexactElseHandler(em, handler)
    return
  }
  const sums = halves.map((at, h) => fmlaSinglesHalf(em, ok, h === 0, rd, rn, rm, negate, at))
  // A tie rounds right only if s is exact (TwoSum's error zero). Ties are rare but for products
  // of integers (p exact, 25 significant bits): test the error only when a lane is one.
  sums.forEach(({ tie }, h) => {
    fn.get(tie)
    if (h > 0) simd(fn, S.or)
  })
  simd(fn, S.anyTrue)
  fn.if()
  sums.forEach(({ p, cd, s, tie }) => {
    fn.get(ok).get(tie)
    twoSum(em, p, cd, s)
    splat(fn, ...F64_ZERO)
    simd(fn, S.f64x2Eq, S.andNot, S.andNot)
    fn.set(ok)
  })
  fn.end()
  enter(em, ok, [rn, rm, rd], false, q === 1)
  // Each half's results are the low doubleword of its demoted v128 (lanes 0 and 1).
  halves.forEach((at, h) => {
    fn.get(em.state).get(sums[h]!.r)
    simd(fn, S.i64x2ExtractLane)
    fn.op(0).mem(Op.i64Store, v + at)
  })
  if (!q) fn.get(em.state).i64(0).mem(Op.i64Store, v + 8)
  stickyInexact(em, handler, (exact) => {
    // Exact lanes: TwoSum's error of p + c is zero and rounding s to single is exact (r = s).
    sums.forEach(({ p, cd, s, r }, h) => {
      twoSum(em, p, cd, s)
      splat(fn, ...F64_ZERO)
      simd(fn, S.f64x2Eq)
      fn.get(r)
      simd(fn, S.f64x2PromoteLowF32x4)
      fn.get(s)
      simd(fn, S.f64x2Eq, S.and)
      andInto(fn, exact, h === 0)
    })
  })
}

/**
 * Emits FADD/FSUB (vector: 2S, 4S, 2D) and FMUL (vector and by element, `rm` an element: 2S,
 * 4S, 2D) with WebAssembly SIMD when that is exact, else `handler` (after `fpAllowed`); FMUL
 * .2D: mulDoubles. As for FMLA: FPCR.RMode = RN, and FPCR.FZ = 0
 * or no operand lane subnormal, so operands need no other test (an infinity or a NaN fails
 * the result's). FADD/FSUB in the
 * operands' precision: r normal and finite, or ±0 (a sum that rounds to zero is exact, and
 * IEEE's sign for it rounding to nearest is Arm's); IXC when TwoSum's error is not zero. FMUL
 * of singles as doubles (the product is exact): |p| above the least normal single (not tiny)
 * or p = ±0 (a zero factor: the sign of the product is the XOR of the factors', in both),
 * single(p) finite; IXC when single(p) differs from p.
 */
export function emitArithSimd(em: Emitter, kind: 'add' | 'sub' | 'mul', double: boolean, q: number, rd: number, rn: number, rm: Operand, fpAllowed: () => void, handler: () => void): void {
  const fn = em.fn
  fpAllowed()
  const ok = fn.local(V128)
  const v = ST_VREGS + 16 * rd
  if (kind === 'mul' && double) {
    mulDoubles(em, ok, v, rn, rm, handler)
    return
  }
  const whole = double || q === 1
  /** Stores the v128 local `r` to Vd (its low doubleword, the high one zeroed, for 2S). */
  const store = (r: number, at: number): void => {
    fn.get(em.state).get(r)
    if (whole && kind !== 'mul') {
      simdMem(fn, S.store, v)
      return
    }
    simd(fn, S.i64x2ExtractLane)
    fn.op(0).mem(Op.i64Store, v + at)
  }
  if (kind === 'mul') {
    const halves = q ? [0, 8] : [0]
    const products = halves.map((at, h) => {
      const [p, r] = [fn.local(V128), fn.local(V128)]
      loadOperand(em, rn, false, false, at)
      simd(fn, S.f64x2PromoteLowF32x4)
      loadOperand(em, rm, false, false, at)
      simd(fn, S.f64x2PromoteLowF32x4, S.f64x2Mul)
      fn.tee(p)
      simd(fn, S.f32x4DemoteF64x2Zero)
      fn.tee(r)
      singleFinite(fn)
      magnitude(fn, p, F32_MIN_NORMAL_AS_F64, S.f64x2Gt)
      isZero(fn, p)
      simd(fn, S.or, S.and)
      andInto(fn, ok, h === 0)
      return { p, r, at }
    })
    enter(em, ok, [rn, rm], false, q === 1)
    products.forEach(({ r, at }) => store(r, at))
    if (!q) fn.get(em.state).i64(0).mem(Op.i64Store, v + 8)
    stickyInexact(em, handler, (exact) => {
      products.forEach(({ p, r }, h) => {
        fn.get(r)
        simd(fn, S.f64x2PromoteLowF32x4)
        fn.get(p)
        simd(fn, S.f64x2Eq)
        andInto(fn, exact, h === 0)
      })
    })
    return
  }
  // FADD/FSUB in the operands' precision: x + y, y negated for FSUB (exact).
  const W = double
    ? { add: S.f64x2Add, sub: S.f64x2Sub, neg: S.f64x2Neg, abs: S.f64x2Abs, gt: S.f64x2Gt, le: S.f64x2Le, eq: S.f64x2Eq }
    : { add: S.f32x4Add, sub: S.f32x4Sub, neg: S.f32x4Neg, abs: S.f32x4Abs, gt: S.f32x4Gt, le: S.f32x4Le, eq: S.f32x4Eq }
  const [x, y, r] = [fn.local(V128), fn.local(V128), fn.local(V128)]
  const load = (n: Operand, into: number): void => {
    loadOperand(em, n, double, whole)
    fn.set(into)
  }
  /** Pushes the value as a splat of the element size: the double hi:lo, or the single `hi`. */
  const constant = (lo: number, hi: number): void => {
    if (double) splat(fn, lo, hi)
    else {
      fn.i32(hi)
      simd(fn, S.i32x4Splat)
    }
  }
  load(rn, x)
  load(rm, y)
  if (kind === 'sub') {
    fn.get(y)
    simd(fn, W.neg)
    fn.set(y)
  }
  fn.get(x).get(y)
  simd(fn, W.add)
  fn.tee(r)
  // r normal and finite (|r| > the least normal, <= the largest finite), or ±0.
  simd(fn, W.abs)
  if (double) constant(...F64_MIN_NORMAL)
  else constant(0, 0x0080_0000)
  simd(fn, W.gt)
  fn.get(r)
  simd(fn, W.abs)
  if (double) constant(...F64_MAX)
  else constant(0, 0x7f7f_ffff)
  simd(fn, W.le, S.and)
  fn.get(r)
  constant(0, 0)
  simd(fn, W.eq, S.or)
  fn.set(ok)
  enter(em, ok, [rn, rm], double, whole)
  store(r, 0)
  if (!whole) fn.get(em.state).i64(0).mem(Op.i64Store, v + 8)
  stickyInexact(em, handler, (exact) => {
    // TwoSum's error of x + y = r, zero in every lane.
    twoSum(em, x, y, r, W.add, W.sub)
    constant(0, 0)
    simd(fn, W.eq)
    fn.set(exact)
  })
}

/**
 * FMUL .2D (Vd at state offset `v`): p = x * y where the factors are normal or zero and below
 * 2^995 and |p| is in [2^-960, largest finite] (normal: no UFC, no OFC), or a factor is zero
 * (p an exact ±0 with the XOR of the signs, Arm's and IEEE's alike). IXC, while it is clear,
 * when Dekker's TwoProduct error (exact in those ranges; 0 for a zero factor) is not zero.
 */
function mulDoubles(em: Emitter, ok: number, v: number, rn: number, rm: Operand, handler: () => void): void {
  const fn = em.fn
  const { x, y, p, zeroP, factors, range } = doublesProduct(em, rn, rm, false)
  // ok = the factors' conditions and (the product's, or a zero factor).
  fn.get(factors).get(range).get(zeroP)
  simd(fn, S.or, S.and)
  fn.set(ok)
  enter(em, ok, [rn, rm], true, true)
  fn.get(em.state).get(p)
  simdMem(fn, S.store, v)
  stickyInexact(em, handler, (exact) => {
    // TwoProduct's error, zero in every lane.
    twoProduct(fn, x, y, p)
    splat(fn, ...F64_ZERO)
    simd(fn, S.f64x2Eq)
    fn.set(exact)
  })
}

/**
 * Two single lanes (the doubleword at byte `at` of each register; an element operand in both)
 * as doubles: p = a * b (exact; a negated for FMLS), s = p + c (one rounding), r = single(s). ok &= r finite, |s| > the least normal
 * single or s = ±0. Returns the locals, and `tie`: the mask of lanes where s is halfway
 * between two singles (the caller's test).
 */
function fmlaSinglesHalf(em: Emitter, ok: number, first: boolean, rd: number, rn: number, rm: Operand, negate: boolean, at: number): { p: number; cd: number; s: number; r: number; tie: number } {
  const fn = em.fn
  const local = (): number => fn.local(V128)
  const [p, cd, s, r] = [local(), local(), local(), local()]
  const load = (n: Operand): void => {
    loadOperand(em, n, false, false, at)
    simd(fn, S.f64x2PromoteLowF32x4)
  }
  load(rn)
  if (negate) simd(fn, S.f64x2Neg)
  load(rm)
  simd(fn, S.f64x2Mul)
  fn.tee(p)
  load(rd)
  fn.tee(cd)
  simd(fn, S.f64x2Add)
  fn.tee(s)
  simd(fn, S.f32x4DemoteF64x2Zero)
  fn.tee(r)
  // r finite, lane by lane as singles: [r0, r1, 0, 0].
  singleFinite(fn)
  // |s| > the least normal single: the exact sum is not tiny (no UFC); or s = ±0: p + c is then
  // exact (p is a multiple of 2^-298, c of 2^-149, and no nonzero multiple of 2^-298 rounds to
  // a zero double), and IEEE's sign for it rounding to nearest is Arm's FPMulAdd's (two zeros of
  // one sign: that sign; else +0).
  magnitude(fn, s, F32_MIN_NORMAL_AS_F64, S.f64x2Gt)
  isZero(fn, s)
  simd(fn, S.or, S.and)
  andInto(fn, ok, first)
  // Ties: s's 29 mantissa bits below a single's are exactly one half.
  const tie = local()
  fn.get(s)
  splat(fn, 0x1fff_ffff, 0)
  simd(fn, S.and)
  splat(fn, 0x1000_0000, 0)
  simd(fn, S.i64x2Eq)
  fn.set(tie)
  return { p, cd, s, r, tie }
}

/**
 * Pushes the f64x2 mask of lanes of v (a v128 local) that are normal or zero and below 2^995
 * (as a factor of TwoProduct may be).
 */
function factorOk(fn: FunctionBody, v: number): void {
  magnitude(fn, v, F64_MIN_NORMAL, S.f64x2Ge)
  magnitude(fn, v, F64_TWO_995, S.f64x2Lt)
  simd(fn, S.and)
  isZero(fn, v)
  simd(fn, S.or)
}

/** Veltkamp's split of the doubles in local v: returns locals holding their high and low halves. */
function split(fn: FunctionBody, v: number): [number, number] {
  const t = fn.local(V128)
  const high = fn.local(V128)
  const low = fn.local(V128)
  splat(fn, ...SPLITTER)
  fn.get(v)
  simd(fn, S.f64x2Mul)
  fn.tee(t).get(t).get(v)
  simd(fn, S.f64x2Sub, S.f64x2Sub)
  fn.set(high)
  fn.get(v).get(high)
  simd(fn, S.f64x2Sub)
  fn.set(low)
  return [high, low]
}

/**
 * Pushes Dekker's TwoProduct error of the f64x2 locals x * y = p (exact when the factors are
 * normal or zero and below 2^995 and |p| >= 2^-960): ((xh*yh - p) + xh*yl + xl*yh) + xl*yl.
 */
function twoProduct(fn: FunctionBody, x: number, y: number, p: number): void {
  const [xh, xl] = split(fn, x)
  const [yh, yl] = split(fn, y)
  fn.get(xh).get(yh)
  simd(fn, S.f64x2Mul)
  fn.get(p)
  simd(fn, S.f64x2Sub)
  fn.get(xh).get(yl)
  simd(fn, S.f64x2Mul, S.f64x2Add)
  fn.get(xl).get(yh)
  simd(fn, S.f64x2Mul, S.f64x2Add)
  fn.get(xl).get(yl)
  simd(fn, S.f64x2Mul, S.f64x2Add)
}

/**
 * The double product of FMUL and FMLA .2D: x = Vn's lanes (negated for FMLS: exact), y = Vm's
 * (or its element), p = x * y; the masks of lanes with a zero factor (zeroP), whose factors are
 * normal or zero and below 2^995 (factors), and whose |p| is in [2^-960, largest finite]
 * (range): TwoProduct's ranges. All v128 locals.
 */
function doublesProduct(em: Emitter, rn: number, rm: Operand, negate: boolean): { x: number; y: number; p: number; zeroP: number; factors: number; range: number } {
  const fn = em.fn
  const [x, y, p, zeroP, factors, range] = [fn.local(V128), fn.local(V128), fn.local(V128), fn.local(V128), fn.local(V128), fn.local(V128)]
  loadOperand(em, rn, true, true)
  if (negate) simd(fn, S.f64x2Neg)
  fn.set(x)
  loadOperand(em, rm, true, true)
  fn.set(y)
  factorOk(fn, x)
  factorOk(fn, y)
  simd(fn, S.and)
  fn.set(factors)
  isZero(fn, x)
  isZero(fn, y)
  simd(fn, S.or)
  fn.set(zeroP)
  fn.get(x).get(y)
  simd(fn, S.f64x2Mul)
  fn.set(p)
  magnitude(fn, p, F64_TWO_M960, S.f64x2Ge)
  magnitude(fn, p, F64_MAX, S.f64x2Le)
  simd(fn, S.and)
  fn.set(range)
  return { x, y, p, zeroP, factors, range }
}

/**
 * The two double lanes of FMLA .2D, emit-fp-arith.ts fmlaLane64 in f64x2 (its comment has the
 * argument): p + pe = a * b, s + e1 = p + c, t + e2 = e1 + pe, r + e3 = s + t. Returns the
 * result's local and that of the mask of its exact lanes.
 */
function fmlaDoubles(em: Emitter, ok: number, rd: number, rn: number, rm: Operand, negate: boolean): { result: number; exact: number } {
  const fn = em.fn
  const local = (): number => fn.local(V128)
  const [cd, s, e1, pe, t, e2, r, e3] = [local(), local(), local(), local(), local(), local(), local(), local()]
  const { x, y, p, zeroP, factors, range: chain } = doublesProduct(em, rn, rm, negate)
  loadOperand(em, rd, true, true)
  fn.set(cd)
  fn.get(factors)
  fn.set(ok)
  twoProduct(fn, x, y, p)
  fn.set(pe)
  fn.get(p).get(cd)
  simd(fn, S.f64x2Add)
  fn.set(s)
  twoSum(em, p, cd, s)
  fn.set(e1)
  fn.get(e1).get(pe)
  simd(fn, S.f64x2Add)
  fn.set(t)
  twoSum(em, e1, pe, t)
  fn.set(e2)
  fn.get(s).get(t)
  simd(fn, S.f64x2Add)
  fn.set(r)
  // r normal and finite: |r| > the least normal, <= the largest finite; or r = ±0 with e2 = 0:
  // then e3 = 0 too, the exact value is zero and r is +0 (s + t cancelling, or both +0), which
  // is Arm's FPMulAdd's exact zero rounding to nearest.
  magnitude(fn, r, F64_MIN_NORMAL, S.f64x2Gt)
  magnitude(fn, r, F64_MAX, S.f64x2Le)
  simd(fn, S.and)
  isZero(fn, r)
  isZero(fn, e2)
  simd(fn, S.and, S.or)
  fn.get(chain)
  simd(fn, S.and)
  fn.set(chain)
  twoSum(em, s, t, r)
  fn.set(e3)
  // e2 = 0, or: r's biased exponent > 53, r not a power of two, ||e3| - half an ulp of r| > 2|e2|.
  const exponent = local()
  fn.get(r)
  fn.i32(52)
  simd(fn, S.i64x2ShrU)
  splat(fn, 0x7ff, 0)
  simd(fn, S.and)
  fn.tee(exponent)
  splat(fn, 53, 0)
  simd(fn, S.i64x2GtS)
  fn.get(r)
  splat(fn, -1, 0x000f_ffff)
  simd(fn, S.and)
  splat(fn, 0, 0)
  simd(fn, S.i64x2Ne, S.and)
  fn.get(e3)
  simd(fn, S.f64x2Abs)
  // half an ulp of r: 2^(exponent - 53), the bits (biased exponent - 53) << 52.
  fn.get(exponent)
  splat(fn, 53, 0)
  simd(fn, S.i64x2Sub)
  fn.i32(52)
  simd(fn, S.i64x2Shl, S.f64x2Sub, S.f64x2Abs)
  fn.get(e2)
  simd(fn, S.f64x2Abs)
  fn.get(e2)
  simd(fn, S.f64x2Abs, S.f64x2Add, S.f64x2Gt, S.and)
  isZero(fn, e2)
  simd(fn, S.or)
  fn.get(chain)
  simd(fn, S.and)
  // ok = the factors' conditions and (the chain's, or a zero factor).
  fn.get(zeroP)
  simd(fn, S.or)
  fn.get(ok)
  simd(fn, S.and)
  fn.set(ok)
  // Exact lanes: e3 + e2 = 0 (with a zero factor, below 2^995, every error is 0).
  fn.get(e3).get(e2)
  simd(fn, S.f64x2Add)
  splat(fn, ...F64_ZERO)
  simd(fn, S.f64x2Eq)
  const exact = local()
  fn.set(exact)
  // r = p + c where a factor is zero.
  const result = local()
  fn.get(p).get(cd)
  simd(fn, S.f64x2Add)
  fn.get(r).get(zeroP)
  simd(fn, S.bitselect)
  fn.set(result)
  return { result, exact }
}
