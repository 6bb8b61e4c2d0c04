// The two helper functions every translation module carries: NZCV from the lazy flags, and
// ConditionHolds on NZCV.

import { CC_ADD32, CC_ADD64, CC_LIT, CC_LOGIC32, CC_LOGIC64, CC_SUB32, CC_SUB64 } from './layout.js'
import { FunctionBody, I32, I64, Op } from './wasm-encoder.js'

/** NZCV (bits 31:28) of lazy flags (op, a, b, literal). */
export function nzcvFunction(): FunctionBody {
  const fn = new FunctionBody(4)
  const [op, a, b, lit] = [0, 1, 2, 3]
  const r = fn.local(I64)
  const n = fn.local(I32)
  const z = fn.local(I32)
  const c = fn.local(I32)
  const v = fn.local(I32)
  const is = (k: number): void => void fn.get(op).i32(k).op(Op.i32Eq).if()
  // 64-bit: r = a - b or a + b or a; N, Z from r; C and V per operation.
  is(CC_LIT)
  fn.get(lit).op(Op.return)
  fn.end()
  is(CC_SUB64)
  fn.get(a).get(b).op(Op.i64Sub).set(r)
  fn.get(a).get(b).op(Op.i64GeU).set(c)
  fn.get(a).get(b).op(Op.i64Xor).get(a).get(r).op(Op.i64Xor, Op.i64And).i64(0).op(Op.i64LtS).set(v)
  fn.end()
  is(CC_ADD64)
  fn.get(a).get(b).op(Op.i64Add).tee(r).get(a).op(Op.i64LtU).set(c)
  fn.get(a).get(r).op(Op.i64Xor).get(b).get(r).op(Op.i64Xor, Op.i64And).i64(0).op(Op.i64LtS).set(v)
  fn.end()
  is(CC_LOGIC64)
  fn.get(a).set(r)
  fn.end()
  // 32-bit: the same on the low halves, r sign-extended so N and Z read the same way.
  is(CC_SUB32)
  fn.get(a).op(Op.i32WrapI64).get(b).op(Op.i32WrapI64).op(Op.i32Sub, Op.i64ExtendI32S).set(r)
  fn.get(a).op(Op.i32WrapI64).get(b).op(Op.i32WrapI64).op(Op.i32GeU).set(c)
  fn.get(a).get(b).op(Op.i64Xor).get(a).get(r).op(Op.i64Xor, Op.i64And, Op.i32WrapI64).i32(0).op(Op.i32LtS).set(v)
  fn.end()
  is(CC_ADD32)
  fn.get(a).op(Op.i32WrapI64).get(b).op(Op.i32WrapI64).op(Op.i32Add, Op.i64ExtendI32S).set(r)
  fn.get(r).op(Op.i32WrapI64).get(a).op(Op.i32WrapI64).op(Op.i32LtU).set(c)
  fn.get(a).get(r).op(Op.i64Xor).get(b).get(r).op(Op.i64Xor, Op.i64And, Op.i32WrapI64).i32(0).op(Op.i32LtS).set(v)
  fn.end()
  is(CC_LOGIC32)
  fn.get(a).op(Op.i32WrapI64, Op.i64ExtendI32S).set(r)
  fn.end()
  fn.get(r).i64(0).op(Op.i64LtS).set(n)
  // Z: for 32-bit ops only the low half counts (r is sign-extended from it, so r == 0 iff it is 0).
  fn.get(r).op(Op.i64Eqz).set(z)
  fn.get(n).i32(31).op(Op.i32Shl).get(z).i32(30).op(Op.i32Shl, Op.i32Or)
  fn.get(c).i32(29).op(Op.i32Shl, Op.i32Or).get(v).i32(28).op(Op.i32Shl, Op.i32Or)
  return fn
}

/** ConditionHolds(cond, NZCV in bits 31:28) as 0/1, branch-free. */
export function condFunction(): FunctionBody {
  const fn = new FunctionBody(2)
  const [cond, nzcv] = [0, 1]
  const n = fn.local(I32)
  const z = fn.local(I32)
  const c = fn.local(I32)
  const v = fn.local(I32)
  const bit = (local: number, shift: number): void => void fn.get(nzcv).i32(shift).op(Op.i32ShrU).i32(1).op(Op.i32And).set(local)
  bit(n, 31)
  bit(z, 30)
  bit(c, 29)
  bit(v, 28)
  // Bit k of m: the condition pair k (EQ, CS, MI, VS, HI, GE, GT, AL) holds.
  fn.get(z)
  fn.get(c).i32(1).op(Op.i32Shl, Op.i32Or)
  fn.get(n).i32(2).op(Op.i32Shl, Op.i32Or)
  fn.get(v).i32(3).op(Op.i32Shl, Op.i32Or)
  fn.get(c).get(z).i32(1).op(Op.i32Xor, Op.i32And).i32(4).op(Op.i32Shl, Op.i32Or)
  fn.get(n).get(v).op(Op.i32Xor).i32(1).op(Op.i32Xor).i32(5).op(Op.i32Shl, Op.i32Or)
  fn.get(n).get(v).op(Op.i32Xor).get(z).op(Op.i32Or).i32(1).op(Op.i32Xor).i32(6).op(Op.i32Shl, Op.i32Or)
  fn.i32(0x80).op(Op.i32Or)
  fn.get(cond).i32(1).op(Op.i32ShrU, Op.i32ShrU).i32(1).op(Op.i32And)
  // Odd conditions invert, except NV (15), which holds like AL.
  fn.get(cond).i32(1).op(Op.i32And).get(cond).i32(15).op(Op.i32Ne, Op.i32And, Op.i32Xor)
  return fn
}
