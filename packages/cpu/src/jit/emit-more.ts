// Instructions the translator emits beyond emit.ts's switch (kept apart for the module size
// rule): CRC32/CRC32C through the byte tables in the state page; ADDG/SUBG through the
// state page's table of non-excluded tags; STG/STZG/ST2G/STZ2G on pages whose tags the fast
// TLB holds (Tagged and checked now, which implies tag access is on), else the interpreter.

import type { Instruction } from '@tagvm/a64'
import { chooseNonExcludedTag } from '../mte.js'
import { REG_DISCARD, REG_SP } from '../state.js'
import type { Emitter } from './emit.js'
import { access, lookup } from './emit-ops.js'
import { CRC_TABLE_BYTES, FN_HELPER, ST_ADDG, ST_CRC, ST_IRG_FLAGS, ST_MTE_ON, ST_RGSR, ST_RGSR_DIRTY, ST_TAGS_STORED, ST_TLB, TLB_TAGS } from './layout.js'
import type { Block } from './region.js'
import { I64, Op } from './wasm-encoder.js'

const wz = (n: number): number => (n === 31 ? REG_DISCARD : n)
const rs = (n: number): number => (n === 31 ? REG_SP : n)

export function emitMore(em: Emitter, b: Block, k: number): void {
  const fn = em.fn
  const d: Instruction = b.insns[k]!.d
  switch (d.name) {
    case 'LDP': case 'STP': case 'LDPSW': {
      const isWrite = d.name === 'STP'
      const elem = d.name === 'LDPSW' ? 4 : d.sf ? 8 : 4
      const writeback = d.mode === 1 || d.mode === 3
      em.spAligned(b, k, d.rn)
      em.get(rs(d.rn))
      if (d.mode !== 1 && d.imm !== 0) fn.i64(d.imm).op(Op.i64Add)
      fn.set(em.a)
      access(em, b, k, 2 * elem, elem, isWrite, d.rn === 31 && !writeback, true, true)
      if (isWrite) {
        em.store(d.rt, elem)
        em.store(d.rt2, elem, 0, em.h2)
      } else {
        em.load(elem, d.name === 'LDPSW')
        fn.set(em.v)
        em.load(elem, d.name === 'LDPSW', 0, em.h2)
        fn.set(em.w)
      }
      if (writeback) {
        fn.get(em.a)
        if (d.mode === 1 && d.imm !== 0) fn.i64(d.imm).op(Op.i64Add)
        em.set(rs(d.rn))
      }
      if (!isWrite) {
        fn.get(em.v)
        em.set(wz(d.rt))
        fn.get(em.w)
        em.set(wz(d.rt2))
      }
      return
    }
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
    case 'ADDG': case 'SUBG': {
      // Leave for the interpreter (UNDEFINED) unless the MTE instructions exist.
      fn.i32(0).mem(Op.i32Load, em.base + ST_MTE_ON).op(Op.i32Eqz)
      em.exitIf(b, k)
      // (Xn|SP ± offset) with bits 59:56 := table[tag(Xn) * 16 + tag offset].
      em.get(rs(d.rn))
      fn.tee(em.t1).i64(d.name === 'SUBG' ? -d.offset : d.offset).op(Op.i64Add)
      fn.i64(-1, ~(15 << 24)).op(Op.i64And)
      fn.get(em.t1).i64(52).op(Op.i64ShrU, Op.i32WrapI64).i32(0xf0).op(Op.i32And).mem(Op.i32Load8U, em.base + ST_ADDG + d.tag)
      fn.op(Op.i64ExtendI32U).i64(56).op(Op.i64Shl, Op.i64Or)
      em.set(rs(d.rd))
      return
    }
    case 'STG': case 'STZG': case 'ST2G': case 'STZ2G': {
      const granules = d.name.includes('2') ? 2 : 1
      const post = d.mode === 1
      em.spAligned(b, k, d.rn)
      em.get(rs(d.rn))
      if (!post && d.imm !== 0) fn.i64(d.imm).op(Op.i64Add)
      fn.set(em.a)
      // Aligned to 16, inside the page, writable: else the interpreter (alignment fault...).
      // One compare for the first two: the page offset rotated right by 4 is its granule
      // index when aligned, and at least 2^28 when not (emit-ops' access tests them apart).
      fn.get(em.a).op(Op.i32WrapI64).tee(em.c).i32(4095).op(Op.i32And).i32(4).op(Op.i32Rotr).i32(256 - granules).op(Op.i32GtU)
      em.exitIf(b, k)
      lookup(em, b, k, em.a, em.c, 16 * granules, 16, true, true, d.name.startsWith('STZ') ? em.h : undefined)
      // Tags held by the fast TLB for this page (else: untagged page or checks off; the
      // interpreter decides whether tags are stored).
      // (The entry's tag word is odd then: see emit-tags.ts tagCheck.)
      fn.get(em.e).mem(Op.i32Load, em.base + ST_TLB + TLB_TAGS).tee(em.tg).i32(1).op(Op.i32And)
      em.exitIf(b, k)
      if (d.name.startsWith('STZ')) {
        for (let at = 0; at < 16 * granules; at += 8) {
          fn.get(em.h).i64(0).mem(Op.i64Store, at)
        }
      }
      // The tag is Xt|SP<59:56>, a byte per granule from the tag of the granule of c (two
      // granules: one 16-bit store of tag * 0x101).
      fn.get(em.tg)
      if (d.mode === 2) {
        // No writeback: the address is Xn + offset again, from the register, so that only the
        // entry outlives the lookup's fill call (V8 spilled the address's locals around it and
        // read them back here, an instruction more a use than reading the register).
        em.get(rs(d.rn))
        if (d.rt === d.rn) fn.tee(em.t1)
        fn.op(Op.i32WrapI64)
        if (d.imm !== 0) fn.i32(d.imm).op(Op.i32Add)
        fn.i32(4).op(Op.i32ShrU, Op.i32Add)
        if (d.rt === d.rn) fn.get(em.t1)
        else em.get(rs(d.rt))
      } else {
        fn.get(em.c).i32(4).op(Op.i32ShrU, Op.i32Add)
        // (Xt is the address when it is Xn with no offset added: no second load of it.)
        if (d.rt === d.rn && (post || d.imm === 0)) fn.get(em.a)
        else em.get(rs(d.rt))
      }
      fn.i64(56).op(Op.i64ShrU, Op.i32WrapI64).i32(15).op(Op.i32And)
      if (granules === 2) fn.i32(0x101).op(Op.i32Mul).mem(Op.i32Store16, 0)
      else fn.mem(Op.i32Store8, 0)
      fn.get(em.state).i32(1).mem(Op.i32Store, ST_TAGS_STORED)
      if (d.mode !== 2) {
        fn.get(em.a)
        if (post && d.imm !== 0) fn.i64(d.imm).op(Op.i64Add)
        em.set(rs(d.rn))
      }
      return
    }
    case 'IRG': case 'GMI': case 'SUBP':
      // The MTE instructions are UNDEFINED without FEAT_MTE: the interpreter raises that.
      fn.i32(0).mem(Op.i32Load, em.base + ST_MTE_ON).op(Op.i32Eqz)
      em.exitIf(b, k)
      if (d.name !== 'IRG') return helperCall(em, b, k)
      // IRG excluding only GCR_EL1.Exclude (Xm<15:0> = 0) in wasm, else the handler.
      if (d.rm !== 31) {
        em.get(d.rm)
        fn.op(Op.i32WrapI64).i32(0xffff).op(Op.i32And)
        fn.if()
        helperCall(em, b, k)
        fn.else()
        irg(em, d.rn, d.rd)
        fn.end()
      } else irg(em, d.rn, d.rd)
      return
    case 'REV16': case 'REV32': case 'REV':
      return byteReverse(em, d.name, 'sf' in d ? d.sf : 1, d.rn, d.rd)
    case 'RBIT': case 'CLS':
      return helperCall(em, b, k)
    default:
      throw new Error(`the translator has no ${d.name}`)
  }
}

/**
 * REV16/REV32/REV in wasm (Linux's checksum and network code runs ~1 M of them a boot; through
 * the helper each was a call into JS): bytes swapped within halfwords, then halfwords within
 * words (REV32, and REV of a W register), then the words (REV of an X register).
 */
function byteReverse(em: Emitter, name: 'REV16' | 'REV32' | 'REV', sf: number, rn: number, rd: number): void {
  const fn = em.fn
  /** v -> (v >> by) & mask | (v & mask) << by, for the i64 on the stack (mask: the same i32 in both halves). */
  const swap = (by: number, mask: number): void => {
    fn.tee(em.t1).i64(by).op(Op.i64ShrU).i64(mask, mask).op(Op.i64And)
    fn.get(em.t1).i64(mask, mask).op(Op.i64And).i64(by).op(Op.i64Shl, Op.i64Or)
  }
  em.get(rn)
  if (!sf) fn.i64(-1, 0).op(Op.i64And)
  swap(8, 0x00ff_00ff)
  if (name !== 'REV16') swap(16, 0x0000_ffff)
  if (name === 'REV' && sf) fn.i64(32).op(Op.i64Rotr)
  em.set(wz(rd))
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

/** ADDG/SUBG's table (see ST_ADDG): 0 everywhere when tag access is off. */
export function addgTable(exclude: number, ata: boolean): Uint8Array {
  const t = new Uint8Array(256)
  if (!ata) return t
  for (let tag = 0; tag < 16; tag++) {
    for (let off = 0; off < 16; off++) t[tag * 16 + off] = chooseNonExcludedTag(tag, off, exclude)
  }
  return t
}

/**
 * An instruction that only reads and writes general registers (and system registers the
 * translation does not cache, such as RGSR_EL1 for IRG) and cannot fault, run by the
 * interpreter's own handler through the `helper` import: translations keep the registers in
 * the Cpu's `x` array, where the handler reads and writes them.
 */
function helperCall(em: Emitter, b: Block, k: number): void {
  const helpers = em.region.helpers
  em.fn.i32(helpers.length).call(FN_HELPER).op(Op.drop)
  helpers.push(b.insns[k]!.off)
}

/**
 * IRG Xd, Xn with the exclusion GCR_EL1.Exclude: with tag access on, four steps of the
 * RGSR_EL1 seed's LFSR (as the interpreter: mte.ts lfsrStep4; RRND with a zero seed uses 1)
 * give the offset, ST_ADDG's table ChooseNonExcludedTag(RGSR.TAG, offset), and RGSR_EL1
 * takes the new seed and tag (in the state page, written back at the exit); with it off,
 * tag 0 and RGSR unchanged.
 */
function irg(em: Emitter, rn: number, rd: number): void {
  const fn = em.fn
  const [seed, offset, rgsr, flags] = [em.c, em.e, em.tg, em.h]
  fn.i32(0).mem(Op.i32Load, em.base + ST_IRG_FLAGS).tee(flags).i32(1).op(Op.i32And)
  fn.if('', I64)
  // seed = RGSR.SEED, or RRND (flags >> 1: 0 or 1) when it is zero (a select: no branch).
  fn.i32(0).mem(Op.i32Load, em.base + ST_RGSR).tee(rgsr).i32(8).op(Op.i32ShrU).i32(0xffff).op(Op.i32And).tee(seed)
  fn.get(flags).i32(1).op(Op.i32ShrU).get(seed).op(Op.select).set(seed)
  // Four steps at once: the taps (bits 0, 2, 3, 5) of the first four steps are bits 0-8 of the
  // seed, which the bits shifted in at 15 do not reach within four steps, so the four new bits
  // are offset = (s ^ s >> 2 ^ s >> 3 ^ s >> 5) & 15, as t ^ t >> 2 with t = s ^ s >> 3, and
  // the seed becomes s >> 4 | offset << 12.
  fn.get(seed).get(seed).i32(3).op(Op.i32ShrU, Op.i32Xor).tee(offset).get(offset).i32(2).op(Op.i32ShrU, Op.i32Xor)
  fn.i32(15).op(Op.i32And).set(offset)
  fn.get(seed).i32(4).op(Op.i32ShrU).get(offset).i32(12).op(Op.i32Shl, Op.i32Or).set(seed)
  // tag = table[RGSR.TAG * 16 + offset]; RGSR = seed << 8 | tag
  fn.get(rgsr).i32(15).op(Op.i32And).i32(4).op(Op.i32Shl).get(offset).op(Op.i32Or).mem(Op.i32Load8U, em.base + ST_ADDG).set(offset)
  fn.i32(0).get(seed).i32(8).op(Op.i32Shl).get(offset).op(Op.i32Or).mem(Op.i32Store, em.base + ST_RGSR)
  fn.i32(0).i32(1).mem(Op.i32Store, em.base + ST_RGSR_DIRTY)
  fn.get(offset).op(Op.i64ExtendI32U).i64(56).op(Op.i64Shl)
  fn.else().i64(0).end()
  em.get(rs(rn))
  fn.i64(-1, ~(15 << 24)).op(Op.i64And, Op.i64Or)
  em.set(rs(rd))
}
