// The fast-TLB probe and the tag-byte reads every inline tag check is made of, shared by the
// memory fast path (emit-ops.ts lookup), the tag check (emit-tags.ts) and the groups' entry
// verification (emit-groups.ts).

import { ST_TLB, TLB_ENTRIES, TLB_ENTRY_BYTES, TLB_MASK } from './layout.js'
import type { Emitter } from './emit.js'
import { Op } from './wasm-encoder.js'

/** Sets local e to the fast-TLB entry (its byte offset in the table) of the VA whose low half is in local c. */
export function tlbEntry(em: Emitter, c: number): void {
  em.fn.get(c).i32(12).op(Op.i32ShrU).i32(TLB_ENTRIES - 1).op(Op.i32And).i32(Math.log2(TLB_ENTRY_BYTES)).op(Op.i32Shl).set(em.e)
}

/** Pushes whether entry e does not hold the VA in local a (i64) for the access whose key is at `key` (TLB_READ_KEY, TLB_WRITE_KEY). */
export function tlbMiss(em: Emitter, a: number, key: number): void {
  const tlb = em.base + ST_TLB
  em.fn.get(a).get(em.e).mem(Op.i64Load, tlb + TLB_MASK).op(Op.i64And).get(em.e).mem(Op.i64Load, tlb + key).op(Op.i64Ne)
}

/** Pushes the address of the tag of the granule of byte `c + offset` (tags word in local tg). */
export function tagAddress(em: Emitter, c: number, offset: number): void {
  em.fn.get(em.tg).get(c)
  if (offset !== 0) em.fn.i32(offset).op(Op.i32Add)
  em.fn.i32(4).op(Op.i32ShrU, Op.i32Add)
}

/** Pushes the pointer's top byte: its tag is the low nibble (tag memory holds 0..15 a granule). */
export function pointerTop(em: Emitter, a: number): void {
  em.fn.get(a).i64(56).op(Op.i64ShrU, Op.i32WrapI64)
}

/**
 * Pushes the tags of the granules of bytes `c + first` and `c + last` (in this page; the same
 * granule or the next) XOR the pointer's tag in both bytes, masked to the nibbles: zero when
 * both carry it.
 */
export function granulePairDifference(em: Emitter, a: number, c: number, first: number, last: number): void {
  const fn = em.fn
  tagAddress(em, c, first)
  fn.mem(Op.i32Load8U, 0)
  tagAddress(em, c, last)
  fn.mem(Op.i32Load8U, 0).i32(8).op(Op.i32Shl, Op.i32Or)
  pointerTop(em, a)
  fn.i32(0x101).op(Op.i32Mul, Op.i32Xor).i32(0x0f0f).op(Op.i32And)
}
