// WebAssembly SIMD for the FP fast paths (emit-fp-simd.ts): the opcodes and their encoding
// (FunctionBody.op with the 0xfd prefix: the encoder knows no SIMD), the splatted constants,
// and the pieces every SIMD path shares: lane masks, TwoSum, the FPCR/FZ entry test, IXC.

import { SLOT } from '../sysreg-table.js'
import type { Emitter } from './emit.js'
import { ST_SYSREGS, ST_VREGS } from './layout.js'
import { I32, Op, type FunctionBody } from './wasm-encoder.js'

/** The v128 value type. */
export const V128 = 0x7b

/** WebAssembly SIMD opcodes (after the 0xfd prefix) the FP fast paths use. */
export const S = {
  load: 0x00, store: 0x0b, load64Zero: 0x5d, load32Splat: 0x09, load64Splat: 0x0a, i32x4Splat: 0x11, i64x2Splat: 0x12, i64x2ExtractLane: 0x1d,
  f64x2Eq: 0x47, f64x2Lt: 0x49, f64x2Gt: 0x4a, f64x2Le: 0x4b, f64x2Ge: 0x4c,
  and: 0x4e, andNot: 0x4f, or: 0x50, bitselect: 0x52, anyTrue: 0x53,
  f32x4Eq: 0x41, f32x4Lt: 0x43, f32x4Gt: 0x44, f32x4Le: 0x45, f32x4DemoteF64x2Zero: 0x5e, f64x2PromoteLowF32x4: 0x5f,
  i32x4AllTrue: 0xa3, i64x2AllTrue: 0xc3, i64x2Shl: 0xcb, i64x2ShrU: 0xcd, i64x2Sub: 0xd1, i64x2Eq: 0xd6, i64x2Ne: 0xd7, i64x2GtS: 0xd9,
  f32x4Abs: 0xe0, f32x4Neg: 0xe1, f32x4Add: 0xe4, f32x4Sub: 0xe5, f64x2Abs: 0xec, f64x2Neg: 0xed, f64x2Add: 0xf0, f64x2Sub: 0xf1, f64x2Mul: 0xf2,
} as const

const FPCR_RMODE = 0x00c0_0000
const FPCR_FZ = 0x0100_0000
const FPSR_IXC = 0x10

/** Emits SIMD operations (the prefix, then each opcode as an unsigned LEB128). */
export function simd(fn: FunctionBody, ...codes: number[]): void {
  for (const c of codes) {
    if (c < 0x80) fn.op(0xfd, c)
    else fn.op(0xfd, (c & 0x7f) | 0x80, c >> 7)
  }
}

/** A SIMD load or store (opcode below 0x80) with a constant offset. */
export function simdMem(fn: FunctionBody, code: number, offset: number): void {
  fn.op(0xfd)
  fn.mem(code, offset)
}

/**
 * A source operand: a register (its lanes), or for the by-element forms one element of a
 * register, `index` counted in elements of the instruction's size, in every lane.
 */
export type Operand = number | { reg: number; index: number }

/**
 * Pushes operand `src` as a v128: a register's 16 bytes (`whole`) or low 8 (the high ones zero),
 * or an element (4 bytes, or 8 when `double`) splatted to every lane. `at`: a byte offset into
 * the register (the second half of a 4S register); ignored for an element.
 */
export function loadOperand(em: Emitter, src: Operand, double: boolean, whole: boolean, at = 0): void {
  em.fn.get(em.state)
  if (typeof src === 'number') simdMem(em.fn, whole ? S.load : S.load64Zero, ST_VREGS + 16 * src + at)
  else if (double) simdMem(em.fn, S.load64Splat, ST_VREGS + 16 * src.reg + 8 * src.index)
  else simdMem(em.fn, S.load32Splat, ST_VREGS + 16 * src.reg + 4 * src.index)
}

/** Pushes the 64-bit pattern hi:lo in both lanes. */
export function splat(fn: FunctionBody, lo: number, hi: number): void {
  fn.i64(lo | 0, hi | 0)
  simd(fn, S.i64x2Splat)
}

// Doubles as bit patterns [low word, high word].
/** +0 (as a double). */
export const F64_ZERO = [0, 0] as const
/** The least normal double, 2^-1022. */
export const F64_MIN_NORMAL = [0, 0x0010_0000] as const
/** The largest finite double. */
export const F64_MAX = [-1, 0x7fef_ffff] as const
/** The least normal single, 2^-126, as a double. */
export const F32_MIN_NORMAL_AS_F64 = [0, 0x3810_0000] as const

/**
 * Closes a fast path's `if` (the lanes written): while FPSR.IXC is clear, `exactLanes` sets
 * the v128 local it is given to the mask of exact lanes, and IXC is set unless all are; else
 * (the `else` of that `if`) the instruction's handler runs. IXC is sticky: once set (most of
 * the time), whether this instruction is exact does not matter.
 */
export function stickyInexact(em: Emitter, handler: () => void, exactLanes: (exact: number) => void): void {
  const fn = em.fn
  fn.get(em.state).mem(Op.i32Load, ST_SYSREGS + 8 * SLOT.FPSR).i32(FPSR_IXC).op(Op.i32And, Op.i32Eqz)
  fn.if()
  const exact = fn.local(V128)
  exactLanes(exact)
  fn.get(exact)
  simd(fn, S.i32x4AllTrue)
  fn.op(Op.i32Eqz)
  fn.if()
  setIxc(em)
  fn.end()
  fn.end()
  fn.else()
  handler()
  fn.end()
}

/** With a v128 of singles on the stack: pushes the mask of its finite lanes (a NaN compares false). */
export function singleFinite(fn: FunctionBody): void {
  simd(fn, S.f32x4Abs)
  fn.i32(0x7f7f_ffff)
  simd(fn, S.i32x4Splat, S.f32x4Le)
}

/**
 * Opens the fast path's `if`: FPCR.RMode = RN; FPCR.FZ = 0, or no lane of the operand registers
 * `operands` is subnormal (FZ would flush it and raise IDC; with normal or zero operands and
 * the normal or zero results every path requires, FZ changes nothing; an element operand: that
 * element); and every lane's
 * conditions in `ok` (all ones in every 32-bit lane: a single's mask may clear half of a
 * 64-bit lane). `double`: the lanes are doubles; `whole`: all 16 bytes are lanes (else 8).
 */
export function enter(em: Emitter, ok: number, operands: Operand[], double: boolean, whole: boolean): void {
  const fn = em.fn
  const fpcr = fn.local(I32)
  const allowed = fn.local(I32)
  fn.get(em.state).mem(Op.i32Load, ST_SYSREGS + 8 * SLOT.FPCR).tee(fpcr).i32(FPCR_FZ).op(Op.i32And, Op.i32Eqz).set(allowed)
  fn.get(allowed).op(Op.i32Eqz)
  fn.if()
  // FZ = 1: any subnormal lane (|x| below the least normal, not zero) sends it to the handler.
  const x = fn.local(V128)
  operands.forEach((n, i) => {
    loadOperand(em, n, double, whole)
    fn.set(x)
    if (double) {
      magnitude(fn, x, F64_MIN_NORMAL, S.f64x2Lt)
      isZero(fn, x)
    } else {
      fn.get(x)
      simd(fn, S.f32x4Abs)
      fn.i32(0x0080_0000)
      simd(fn, S.i32x4Splat, S.f32x4Lt)
      fn.get(x)
      fn.i32(0)
      simd(fn, S.i32x4Splat, S.f32x4Eq)
    }
    simd(fn, S.andNot)
    if (i > 0) simd(fn, S.or)
  })
  simd(fn, S.anyTrue)
  fn.op(Op.i32Eqz).set(allowed)
  fn.end()
  fn.get(fpcr).i32(FPCR_RMODE).op(Op.i32And, Op.i32Eqz)
  fn.get(allowed).op(Op.i32And)
  fn.get(ok)
  simd(fn, S.i32x4AllTrue)
  fn.op(Op.i32And)
  fn.if()
}

/** FPSR.IXC = 1. */
function setIxc(em: Emitter): void {
  em.fn.get(em.state).get(em.state).mem(Op.i32Load, ST_SYSREGS + 8 * SLOT.FPSR).i32(FPSR_IXC).op(Op.i32Or).mem(Op.i32Store, ST_SYSREGS + 8 * SLOT.FPSR)
}

/**
 * Closes a fast path's `if` (its condition met: the lanes written): FPSR.IXC is set when the
 * i32 on the stack is not zero; else (the `else` of that `if`) the instruction's handler runs.
 */
export function inexactElseHandler(em: Emitter, handler: () => void): void {
  const fn = em.fn
  fn.if()
  setIxc(em)
  fn.end()
  fn.else()
  handler()
  fn.end()
}

/** Pushes the mask of the lanes of local v (f64x2) whose magnitude compares with `bound` by `cmp`. */
export function magnitude(fn: FunctionBody, v: number, bound: readonly [number, number], cmp: number): void {
  fn.get(v)
  simd(fn, S.f64x2Abs)
  splat(fn, ...bound)
  simd(fn, cmp)
}

/** Pushes the mask of the lanes of local v (f64x2) that are ±0. */
export function isZero(fn: FunctionBody, v: number): void {
  fn.get(v)
  splat(fn, ...F64_ZERO)
  simd(fn, S.f64x2Eq)
}

/** local `into` = its value AND the v128 on the stack (`first`: = the v128 on the stack). */
export function andInto(fn: FunctionBody, into: number, first: boolean): void {
  if (!first) {
    fn.get(into)
    simd(fn, S.and)
  }
  fn.set(into)
}

/**
 * Pushes TwoSum's error of locals a + b = s: (a - (s - bb)) + (b - bb), bb = s - a; f64x2 unless
 * `add` and `sub` are f32x4's.
 */
export function twoSum(em: Emitter, a: number, b: number, s: number, add: number = S.f64x2Add, sub: number = S.f64x2Sub): void {
  const fn = em.fn
  const bb = fn.local(V128)
  fn.get(s).get(a)
  simd(fn, sub)
  fn.set(bb)
  fn.get(a).get(s).get(bb)
  simd(fn, sub, sub)
  fn.get(b).get(bb)
  simd(fn, sub, add)
}
