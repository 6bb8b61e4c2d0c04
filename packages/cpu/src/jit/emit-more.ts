// Instructions the translator emits beyond emit.ts's switch (kept apart for the module size
// rule): CRC32/CRC32C through the byte tables in the state page.

import type { Instruction } from '@tagvm/a64'
import { REG_DISCARD } from '../state.js'
import type { Emitter } from './emit.js'
import { CRC_TABLE_BYTES, ST_CRC } from './layout.js'
import type { Block } from './region.js'
import { Op } from './wasm-encoder.js'

const wz = (n: number): number => (n === 31 ? REG_DISCARD : n)

export function emitMore(em: Emitter, b: Block, k: number): void {
  const fn = em.fn
  const d: Instruction = b.insns[k]!.d
  switch (d.name) {
    case 'CRC32': case 'CRC32C': {
      // Reflected table update a byte at a time, low byte first; no inversion (as the instruction).
      const table = em.base + ST_CRC + (d.name === 'CRC32C' ? CRC_TABLE_BYTES : 0)
      em.get(d.rm)
      fn.set(em.v)
      em.get(d.rn)
      fn.op(Op.i32WrapI64).set(em.c)
      for (let i = 0; i < 1 << d.sz; i++) {
        fn.get(em.v)
        if (i !== 0) fn.i64(8 * i).op(Op.i64ShrU)
        fn.op(Op.i32WrapI64).get(em.c).op(Op.i32Xor).i32(255).op(Op.i32And).i32(2).op(Op.i32Shl).mem(Op.i32Load, table)
        fn.get(em.c).i32(8).op(Op.i32ShrU, Op.i32Xor).set(em.c)
      }
      fn.get(em.c).op(Op.i64ExtendI32U)
      em.set(wz(d.rd))
      return
    }
    default:
      throw new Error(`the translator has no ${d.name}`)
  }
}

/** The 256-entry table of a reflected CRC polynomial, for the state page. */
export function crcTable(poly: number): Uint32Array {
  const t = new Uint32Array(256)
  for (let i = 0; i < 256; i++) {
    let c = i
    for (let j = 0; j < 8; j++) c = c & 1 ? (c >>> 1) ^ poly : c >>> 1
    t[i] = c >>> 0
  }
  return t
}
