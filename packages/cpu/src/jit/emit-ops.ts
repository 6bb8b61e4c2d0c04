// Parts of the translator that emit one operation each (operands, arithmetic that needs
// several wasm instructions, the memory fast path, conditions), split out of emit.ts.

import {
  FN_COND, FN_FILL, ST_STRICT_ALIGN, CC_ADD32, CC_ADD64, CC_LOGIC32, CC_LOGIC64, CC_SUB32, CC_SUB64, ST_TLB, TLB_ENTRIES, TLB_ENTRY_BYTES, TLB_HOST, TLB_MASK, TLB_READ_KEY, TLB_TAGS,
  TLB_WRITE_KEY, ST_TAG_CACHE, ST_GROUP_FLAGS, GROUP_FLAGS,
} from './layout.js'
import type { Instruction } from '@tagvm/a64'
import { readsFlags, registersOf, setsFlags, type Block } from './region.js'
import { REG_DISCARD } from '../state.js'
import type { Emitter, SetterKind } from './emit.js'
import { I32, I64, Op, type FunctionBody } from './wasm-encoder.js'

/** Keeps the low 32 bits of the i64 on the stack. */
export const MASK32 = (fn: FunctionBody): FunctionBody => fn.i64(-1, 0).op(Op.i64And)

const wz = (n: number): number => (n === 31 ? REG_DISCARD : n)

export function bitfield(em: Emitter, name: 'SBFM' | 'UBFM' | 'BFM', sf: number, immr: number, imms: number, rn: number, rd: number): void {
  const fn = em.fn
  const width = sf ? 64 : 32
  const I = sf
    ? { shl: Op.i64Shl, shrU: Op.i64ShrU, shrS: Op.i64ShrS, and: Op.i64And, or: Op.i64Or, k: (v: number) => fn.i64(v), mask: (n: number) => (n >= 64 ? fn.i64(-1) : n >= 32 ? fn.i64(-1, (2 ** (n - 32) - 1) | 0) : fn.i64((2 ** n - 1) | 0, 0)) }
    : { shl: Op.i32Shl, shrU: Op.i32ShrU, shrS: Op.i32ShrS, and: Op.i32And, or: Op.i32Or, k: (v: number) => fn.i32(v), mask: (n: number) => fn.i32((2 ** n - 1) | 0) }
  /** Pushes the constant v and applies op (a shift by v). */
  const by = (v: number, op: number): void => {
    I.k(v)
    fn.op(op)
  }
  const src = (): void => {
    em.get(rn)
    if (!sf) fn.op(Op.i32WrapI64)
  }
  let fieldWidth: number
  let pos: number
  if (imms >= immr) {
    fieldWidth = imms - immr + 1
    pos = 0
  } else {
    fieldWidth = imms + 1
    pos = width - immr
  }
  if (name === 'BFM') {
    // dst = dst with bits [pos + fieldWidth - 1 : pos] from the source field.
    src()
    if (imms >= immr) by(immr, I.shrU)
    I.mask(fieldWidth)
    fn.op(I.and)
    if (pos !== 0) by(pos, I.shl)
    em.get(rd)
    if (!sf) fn.op(Op.i32WrapI64)
    I.mask(fieldWidth)
    if (pos !== 0) by(pos, I.shl)
    I.k(-1)
    fn.op(sf ? Op.i64Xor : Op.i32Xor, I.and, I.or)
  } else if (name === 'UBFM') {
    src()
    if (imms >= immr) {
      if (immr !== 0) by(immr, I.shrU)
    }
    I.mask(fieldWidth)
    fn.op(I.and)
    if (pos !== 0) by(pos, I.shl)
  } else {
    // SBFM: sign-extend the field from its top bit, then place it.
    src()
    const up = width - 1 - imms
    if (up !== 0) by(up, I.shl)
    if (imms >= immr) {
      if (up + immr !== 0) by(up + immr, I.shrS)
    } else {
      if (up !== 0) by(up, I.shrS)
      if (pos !== 0) by(pos, I.shl)
    }
  }
  if (!sf) fn.op(Op.i64ExtendI32U)
  em.set(wz(rd))
}

/** Pushes the high 64 bits of the 128-bit product of Xn and Xm. */
export function mulHigh(em: Emitter, rn: number, rm: number, signed: boolean): void {
  const fn = em.fn
  const [aLo, aHi, bLo, bHi] = [em.t1, em.t2, em.t3, em.t4]
  em.get(rn)
  fn.tee(em.v)
  MASK32(fn).set(aLo)
  fn.get(em.v).i64(32).op(Op.i64ShrU).set(aHi)
  em.get(rm)
  fn.tee(em.w)
  MASK32(fn).set(bLo)
  fn.get(em.w).i64(32).op(Op.i64ShrU).set(bHi)
  // mid = (aLo*bLo >> 32) + lo32(aLo*bHi) + lo32(aHi*bLo)
  fn.get(aLo).get(bLo).op(Op.i64Mul).i64(32).op(Op.i64ShrU)
  fn.get(aLo).get(bHi).op(Op.i64Mul).tee(em.a)
  MASK32(fn).op(Op.i64Add)
  fn.get(aHi).get(bLo).op(Op.i64Mul).tee(aLo) // aLo is free now: holds aHi*bLo
  MASK32(fn).op(Op.i64Add)
  fn.i64(32).op(Op.i64ShrU)
  fn.get(aHi).get(bHi).op(Op.i64Mul, Op.i64Add)
  fn.get(em.a).i64(32).op(Op.i64ShrU, Op.i64Add)
  fn.get(aLo).i64(32).op(Op.i64ShrU, Op.i64Add)
  if (signed) {
    // Signed high half = unsigned one - (a < 0 ? b : 0) - (b < 0 ? a : 0).
    fn.get(em.w).i64(0).get(em.v).i64(0).op(Op.i64LtS, Op.select, Op.i64Sub)
    fn.get(em.v).i64(0).get(em.w).i64(0).op(Op.i64LtS, Op.select, Op.i64Sub)
  }
}

/** Pushes Xn / Xm (0 for a zero divisor; INT_MIN / -1 = INT_MIN), without a wasm trap. */
export function divide(em: Emitter, rn: number, rm: number, sf: number, signed: boolean): void {
  const fn = em.fn
  if (sf) {
    em.get(rm)
    fn.tee(em.t2).op(Op.i64Eqz)
    fn.if('', I64).i64(0).else()
    if (signed) {
      fn.get(em.t2).i64(-1).op(Op.i64Eq)
      fn.if('', I64).i64(0)
      em.get(rn)
      fn.op(Op.i64Sub).else()
      em.get(rn)
      fn.get(em.t2).op(Op.i64DivS).end()
    } else {
      em.get(rn)
      fn.get(em.t2).op(Op.i64DivU)
    }
    fn.end()
  } else {
    em.get(rm)
    fn.op(Op.i32WrapI64).tee(em.c).op(Op.i32Eqz)
    fn.if('', I32).i32(0).else()
    if (signed) {
      fn.get(em.c).i32(-1).op(Op.i32Eq)
      fn.if('', I32).i32(0)
      em.get(rn)
      fn.op(Op.i32WrapI64, Op.i32Sub).else()
      em.get(rn)
      fn.op(Op.i32WrapI64).get(em.c).op(Op.i32DivS).end()
    } else {
      em.get(rn)
      fn.op(Op.i32WrapI64).get(em.c).op(Op.i32DivU)
    }
    fn.end().op(Op.i64ExtendI32U)
  }
}

// ---- memory ----
/**
 * The fast path of an access of `span` bytes at the address in local `a`, made of parts of
 * `elem` bytes: aligned to `elem`, a fast-TLB hit (or a fill that succeeds) with the
 * permission, and the pointer's tag equal to that of every granule touched unless
 * `unchecked`. Leaves the host address in `h`; else side exit. A pair (span = 2 * elem)
 * may cross into the next page when `pairs` says so: each element is then looked up on its
 * own page (both before anything is written), and `h2` holds the second element's host
 * address (h + elem otherwise). Without `pairs` a page-crossing access leaves. With
 * `mayMisalign` (plain loads, stores and pairs) an access need not be aligned to `elem`
 * (see misaligned).
 */
export function access(
  em: Emitter, b: Block, k: number, span: number, elem: number, isWrite: boolean, unchecked: boolean, pairs = false, mayMisalign = false,
): void {
  const fn = em.fn
  const site = unchecked ? undefined : groupSite(em, b, k)
  const share = unchecked || site !== undefined ? undefined : sharePlan(em, b).get(k)
  const slot = unchecked || site !== undefined ? undefined : loopCache(em, b).get(k)
  if (share !== undefined && share.lead !== 0) fn.i32(0).set(sharedFlag(em))
  fn.get(em.a).op(Op.i32WrapI64).tee(em.c)
  if (span === elem) {
    if (elem > 1) {
      fn.i32(elem - 1).op(Op.i32And)
      if (mayMisalign) misaligned(em, b, k, span)
      else em.exitIf(b, k)
    } else fn.op(Op.drop)
    lookup(em, b, k, em.a, em.c, span, elem, isWrite, unchecked, em.h, share, site, slot)
    if (mayMisalign && elem > 1 && !unchecked) {
      // The tag check looked at the first byte's granule: a misaligned access reaching into the
      // next granule of a tag-checked page leaves for the interpreter.
      fn.get(em.c).i32(15).op(Op.i32And).i32(16 - elem).op(Op.i32GtU)
      fn.get(em.e).mem(Op.i32Load, em.base + ST_TLB + TLB_TAGS).i32(0).op(Op.i32GeS, Op.i32And)
      em.exitIf(b, k)
    }
    return
  }
  fn.i32(elem - 1).op(Op.i32And)
  if (!pairs) {
    fn.get(em.c).i32(4095).op(Op.i32And).i32(4096 - span).op(Op.i32GtU, Op.i32Or)
    em.exitIf(b, k)
    lookup(em, b, k, em.a, em.c, span, elem, isWrite, unchecked, em.h, share, site, slot)
    return
  }
  // A misaligned pair that stays in its page goes on (its tag check covers its whole span);
  // only aligned pairs reach the page-crossing case below.
  if (mayMisalign) misaligned(em, b, k, span)
  else em.exitIf(b, k)
  fn.get(em.c).i32(4095).op(Op.i32And).i32(4096 - span).op(Op.i32GtU)
  fn.if()
  // The pair crosses a page: an element on each (aligned elements never straddle one).
  // (A leader's shared check needs its access in one page: here it checks only its own.)
  const own = share?.lead === 0 ? share : undefined
  lookup(em, b, k, em.a, em.c, elem, elem, isWrite, unchecked, em.h, own)
  fn.get(em.a).i64(elem).op(Op.i64Add).tee(em.a2).op(Op.i32WrapI64).set(em.c2)
  lookup(em, b, k, em.a2, em.c2, elem, elem, isWrite, unchecked, em.h2, own)
  fn.else()
  lookup(em, b, k, em.a, em.c, span, elem, isWrite, unchecked, em.h, share, site, slot)
  fn.get(em.h).i32(elem).op(Op.i32Add).set(em.h2)
  fn.end()
}

/**
 * With the misalignment (address & (elem - 1)) on the stack: a misaligned access leaves when
 * the runtime says misaligned accesses must (ST_STRICT_ALIGN: SCTLR_EL1.A, stage 1 off) or it
 * crosses its page; else it goes on (the fast TLB then holds no Device page, where it would
 * fault). Aligned accesses do not look at either.
 */
function misaligned(em: Emitter, b: Block, k: number, span: number): void {
  const fn = em.fn
  fn.if()
  fn.get(em.state).mem(Op.i32Load, ST_STRICT_ALIGN)
  fn.get(em.c).i32(4095).op(Op.i32And).i32(4096 - span).op(Op.i32GtU, Op.i32Or)
  em.exitIf(b, k)
  fn.end()
}

/**
 * One page's part of an access (see access): `span` bytes of `elem`-byte parts at the address
 * in locals `a` (i64) and `c` (its low half); the host address to `host`.
 */
export function lookup(
  em: Emitter, b: Block, k: number, a: number, c: number, span: number, elem: number, isWrite: boolean, unchecked: boolean, host: number,
  share?: Share, site?: GroupSite, slot?: number,
): void {
  const fn = em.fn
  const tlb = em.base + ST_TLB
  fn.get(c).i32(12).op(Op.i32ShrU).i32(TLB_ENTRIES - 1).op(Op.i32And).i32(Math.log2(TLB_ENTRY_BYTES)).op(Op.i32Shl).set(em.e)
  const key = isWrite ? TLB_WRITE_KEY : TLB_READ_KEY
  fn.get(a).get(em.e).mem(Op.i64Load, tlb + TLB_MASK).op(Op.i64And).get(em.e).mem(Op.i64Load, tlb + key).op(Op.i64Ne)
  fn.if()
  fn.get(c).get(a).i64(32).op(Op.i64ShrU, Op.i32WrapI64).i32(isWrite ? 1 : 0).call(FN_FILL).op(Op.i32Eqz)
  em.exitIf(b, k)
  // A fill read the MMU: what the flags say was verified is not trusted across it (see Group).
  forgetGroups(em)
  loopCacheReset(em, b)
  fn.end()
  if (!unchecked) {
    if (span > 32) throw new RangeError(`a checked access of ${span} bytes: the tag check covers at most two granules`)
    tagCheck(em, b, k, a, c, span > elem ? span : 1, share, site, slot)
  }
  fn.get(em.e).mem(Op.i32Load, tlb + TLB_HOST).get(c).i32(4095).op(Op.i32And, Op.i32Add).set(host)
}

/**
 * The MTE check of `span` bytes (at most 32: one granule or two) at the address in locals `a`
 * (i64) and `c` (its low half), against the tags of the fast-TLB entry in local `e`.
 *
 * Tags are packed two granules a byte: granule g = page offset >> 4 has byte tags[g >> 1],
 * nibble g & 1. The bytes of the first and the last granule (the same byte, or the next one)
 * are compared whole against the pointer's tag in every nibble (tag * 0x11 or * 0x1111): data
 * tagged a buffer or an object of 32 bytes or more at a time passes with that one compare.
 * Only a byte that holds two tags is looked at nibble by nibble, on the same XOR (the
 * nibbles of the granules touched must be zero in it: one load a byte, as tagcost17c did).
 */
function tagCheck(em: Emitter, b: Block, k: number, a: number, c: number, span: number, share?: Share, site?: GroupSite, slot?: number): void {
  const fn = em.fn
  const tlb = em.base + ST_TLB
  const last = span - 1
  /** Pushes tags + (page offset of byte `at` >> 5): the address of that byte's tag byte. */
  const tagByte = (at: number): void => {
    fn.get(em.tg).get(c)
    if (at !== 0) fn.i32(at).op(Op.i32Add)
    fn.i32(4095).op(Op.i32And).i32(5).op(Op.i32ShrU, Op.i32Add)
  }
  const pointerTag = (): void => {
    fn.get(a).i64(56).op(Op.i64ShrU, Op.i32WrapI64).i32(15).op(Op.i32And)
  }
  /** Pushes the nibble mask of the granule of byte `c + at` in its tag byte, shifted left by `by`. */
  const nibble = (at: number, by: number): void => {
    fn.i32(0xf0 << by).i32(0x0f << by).get(c)
    if (at !== 0) fn.i32(at).op(Op.i32Add)
    fn.i32(16).op(Op.i32And, Op.select)
  }
  /** Pushes whether the bytes from `c` to `c + end` are not all in granules of the pointer's tag. */
  const mismatch = (end: number): void => {
    tagByte(0)
    fn.mem(Op.i32Load8U, 0)
    if (end !== 0) {
      tagByte(end)
      fn.mem(Op.i32Load8U, 0).i32(8).op(Op.i32Shl, Op.i32Or)
    }
    pointerTag()
    fn.i32(end !== 0 ? 0x1111 : 0x11).op(Op.i32Mul, Op.i32Ne)
  }
  fn.get(em.e).mem(Op.i32Load, tlb + TLB_TAGS).tee(em.tg).i32(0).op(Op.i32GeS)
  // A follower whose leader checked its bytes too (the flag set) has nothing left to check.
  if (share !== undefined && share.lead === 0) fn.get(sharedFlag(em)).op(Op.i32Eqz, Op.i32And)
  fn.if()
  // An access of a group whose range was verified for its base register's value: likewise
  // (tested only on a checked page: MTE off never reads the flag).
  if (site !== undefined) {
    fn.get(em.state).mem(Op.i32Load, groupFlag(site.group)).op(Op.i32Eqz)
    fn.if()
  }
  const leads = share !== undefined && share.lead !== 0
  const covered = share !== undefined && share.lead !== 0 ? share.lead : span
  if (slot !== undefined) {
    // Outside the verified block (or nothing verified yet: the empty start is no VA)?
    fn.get(a).get(em.state).mem(Op.i64Load, ST_TAG_CACHE + 8 * slot).op(Op.i64Sub).i64(256 - covered).op(Op.i64GtU)
    fn.if()
  }
  if (share !== undefined && share.lead !== 0) {
    // The leader: its bytes and its follower's, [c, c + lead), when they lie in this page;
    // the flag says they matched. If not, its own check as any other access.
    const flag = sharedFlag(em)
    mismatch(share.lead - 1)
    fn.op(Op.i32Eqz).get(c).i32(4095).op(Op.i32And).i32(4096 - share.lead).op(Op.i32LeU, Op.i32And).tee(flag)
    fn.op(Op.i32Eqz)
    fn.if()
  }
  // The tag bytes XOR the pointer's tag in every nibble: zero when they match whole; else only
  // the nibbles of the granules touched must be zero (a byte with two tags: bench-list's
  // 16-byte nodes), tested on the same XOR.
  const x = scratch(em)
  tagByte(0)
  fn.mem(Op.i32Load8U, 0)
  if (last !== 0) {
    tagByte(last)
    fn.mem(Op.i32Load8U, 0).i32(8).op(Op.i32Shl, Op.i32Or)
  }
  pointerTag()
  fn.i32(last !== 0 ? 0x1111 : 0x11).op(Op.i32Mul, Op.i32Xor).tee(x)
  fn.if()
  fn.get(x)
  nibble(0, 0)
  if (last !== 0) {
    nibble(last, 8)
    fn.op(Op.i32Or)
  }
  fn.op(Op.i32And)
  em.exitIf(b, k)
  fn.end()
  if (share !== undefined && share.lead !== 0) fn.end()
  if (site !== undefined) {
    // Passed: the group's range [base + lo, base + hi) is verified too when it lies in the
    // granule of this access's first byte (bench-list: a 16-byte node, one granule), which
    // the check above covered.
    const { group, off } = site
    fn.get(em.state)
    fn.get(c).i32(group.lo - off).op(Op.i32Add).get(c).op(Op.i32Xor)
    fn.get(c).i32(group.hi - 1 - off).op(Op.i32Add).get(c).op(Op.i32Xor, Op.i32Or)
    fn.i32(16).op(Op.i32LtU).mem(Op.i32Store, groupFlag(group))
    fn.end()
  }
  if (slot !== undefined) {
    // Passed: if the 256-byte block of byte c (eight tag bytes) is all of the pointer's tag,
    // it is the verified block now; else the cache keeps the block it had.
    fn.get(em.tg).get(c).i32(4095).op(Op.i32And).i32(5).op(Op.i32ShrU).i32(0x78).op(Op.i32And, Op.i32Add)
    fn.mem(Op.i64Load, 0)
    fn.get(a).i64(56).op(Op.i64ShrU).i64(15).op(Op.i64And).i64(0x1111_1111, 0x1111_1111).op(Op.i64Mul, Op.i64Eq)
    fn.if()
    fn.get(em.state).get(a).i64(-256, -1).op(Op.i64And).mem(Op.i64Store, ST_TAG_CACHE + 8 * slot)
    fn.end()
    fn.else()
    // In the verified block: for a leader, its follower's bytes too.
    if (leads) fn.i32(1).set(sharedFlag(em))
    fn.end()
  }
  fn.end()
}

/**
 * The verified-block cache of a tight loop (a block that branches to itself, emitted as a
 * wasm loop): for up to two checked accesses of the block (lone ones or leaders of a shared
 * check; not followers, not group members), an i64 of the state page (ST_TAG_CACHE) holding
 * the start (VA with its tag byte) of a 256-byte block whose sixteen granules were all seen
 * to carry that pointer tag since the loop was entered; an access inside it, with the same
 * pointer tag, passes its check with one subtract and compare. `loopCacheReset` empties it
 * before the loop on every entry (the back edge keeps it) and on every fast-TLB fill.
 *
 * Why reusing a tag read is exact there: the loop may only hold plain loads and stores,
 * register arithmetic and branches (no tag write, no system instruction, barrier, acquire,
 * exclusive or atomic, no call out of wasm but the fill and the register-only helpers); its
 * own plain stores do not change tags, and any other writer in this process (the VMM, the
 * hypervisor, the interpreter, a handler) runs while this CPU is outside the loop, whose next
 * entry empties the cache. Another vCPU's tag write may race the loop: the cached tag is then
 * what an earlier read of that granule returned, which the memory model allows as long as
 * nothing orders the later check after that write: no barrier or acquire in the loop, and the
 * access's address must not depend on a value loaded inside the loop (a load that saw a
 * pointer published after an STG must see the new tag). So the cached accesses' address
 * registers must not be computed, inside the loop, from any loaded value or from flags set
 * from one. The empty start is 0x0040_0000_0000_0000: VA bits 55:48 that are not all equal
 * translate nowhere, so no access that got past the fast TLB lies in its block.
 * (The cache and its argument come from the unmerged tagcost17c round.)
 */
const CACHE_EMPTY_HI = 0x0040_0000
const caches = new WeakMap<Emitter, Map<Block, Map<number, number>>>()

/** Instructions a cached loop may hold besides loads, stores and register arithmetic. */
const LOOP_SAFE = /^(B|B_cond|CBZ|CBNZ|TBZ|TBNZ|CCMP_[ri]|CCMN_[ri])$/
const LOADS = /^(LDR_(ui|post|pre|reg)|LDRS_(ui|post|pre|reg)|LDUR|LDURS|LDP|LDPSW)$/
/** A pseudo register for NZCV in the dependency walk. */
const FLAGS = -1

/** The cache slots (0, 1) of block b's accesses (by instruction index): none unless b is a loop the cache is exact in. */
export function loopCache(em: Emitter, b: Block): Map<number, number> {
  let byBlock = caches.get(em)
  if (byBlock === undefined) caches.set(em, (byBlock = new Map()))
  let sites = byBlock.get(b)
  if (sites !== undefined) return sites
  sites = new Map()
  byBlock.set(b, sites)
  const t = b.term
  if (!((t.kind === 'jump' || t.kind === 'cond') && t.target === b.start)) return sites
  if (!b.insns.every(({ d }) => memoryOperand(d) !== null || REGISTER_OFFSET.test(d.name) || ALU.test(d.name) || LOOP_SAFE.test(d.name))) return sites
  // Registers (and NZCV) whose value in the loop depends on a value loaded in it, round the
  // back edge too: iterate to a fixed point.
  const loaded = new Set<number>()
  for (let changed = true; changed; ) {
    changed = false
    for (const { d } of b.insns) {
      const { reads, writes } = registersOf(d)
      const base = memoryOperand(d)?.writeback === true ? reads[0]! : undefined
      const tainted = LOADS.test(d.name) || reads.some((r) => loaded.has(r)) || (readsFlags(d) && loaded.has(FLAGS))
      const out = setsFlags(d) ? [...writes, FLAGS] : writes
      for (const w of out) {
        // A load's written-back base is the base plus an immediate: loaded only if the base was.
        const isLoaded = w === base ? loaded.has(base) : tainted
        if (isLoaded && !loaded.has(w)) {
          loaded.add(w)
          changed = true
        }
      }
    }
  }
  const plan = sharePlan(em, b)
  const grouped = regionGroups(em)
  b.insns.forEach(({ d }, k) => {
    if (sites!.size >= 2 || plan.get(k)?.lead === 0) return
    const m = memoryOperand(d)
    const isRegisterOffset = REGISTER_OFFSET.test(d.name)
    if (m === null && !isRegisterOffset) return
    // Unchecked accesses (SP + immediate, no writeback) have no check to cache; groups have their own.
    if (m !== null && ((m.rn === 31 && !m.writeback) || (!m.writeback && grouped.has(m.rn)))) return
    const address = isRegisterOffset ? registersOf(d).reads.slice(0, 2) : registersOf(d).reads.slice(0, 1)
    if (address.some((r) => loaded.has(r))) return
    sites!.set(k, sites!.size)
  })
  return sites
}

/** Before a loop block (on every entry but its back edge), and at a fill in it: its caches hold no verified block. */
export function loopCacheReset(em: Emitter, b: Block): void {
  for (const slot of loopCache(em, b).values()) em.fn.get(em.state).i64(0, CACHE_EMPTY_HI).mem(Op.i64Store, ST_TAG_CACHE + 8 * slot)
}

/**
 * A group: the plain accesses of a region off one base register (no writeback, not SP) whose
 * bytes all lie in [base + lo, base + hi), at most 16 bytes, when there are two or more of
 * them. Its flag (an i32 of the state page, ST_GROUP_FLAGS) is set by an access of the group
 * whose own check passed when the whole range lies in the granule that check covered, and
 * cleared after anything that writes the base register; while it is set, the group's
 * accesses on a checked page skip their tag check (their TLB lookup still runs). bench-list's
 * loop reads a node's value and next pointer in two blocks and writes the value back in a
 * third: one check a node instead of two or three.
 *
 * Why a set flag is exact: besides the base register's writes, every instruction of the region
 * that is not a plain load or store, register arithmetic or a branch clears all flags after it
 * runs (tag stores and DC G*ZVA, system instructions and their handlers, barriers, acquires,
 * exclusives and atomics), and so does every fast-TLB fill (it read the MMU: a page's frame is
 * not assumed to be the one the range was verified in). Plain stores do not change tags; every
 * run of a region function, chained or from the run loop, starts by clearing its flags, so
 * none outlives the run that set it (every writer of tags outside the translation, the VMM's,
 * the interpreter's, a handler's, runs between runs). Another vCPU's tag write can only race
 * the range's tag read, as it would race the check it stands for: nothing between the two
 * orders the later access after that write (no barrier or acquire, and the later access's
 * address is the same register, not one loaded since). Check state (TCF, TCO, TCMA, the EL)
 * only changes through system instructions or exception entry and return, which leave.
 */
interface Group {
  lo: number
  hi: number
  /** Its flag's index in ST_GROUP_FLAGS. */
  slot: number
}
interface GroupSite {
  group: Group
  /** The access's offset from the base register. */
  off: number
}
const groups = new WeakMap<Emitter, Map<number, Group>>()

/** The groups of the emitter's region, by base register. */
export function regionGroups(em: Emitter): Map<number, Group> {
  let byRegister = groups.get(em)
  if (byRegister !== undefined) return byRegister
  byRegister = new Map()
  groups.set(em, byRegister)
  const sites = new Map<number, { lo: number; hi: number; count: number }>()
  for (const b of em.region.blocks) {
    for (const { d } of b.insns) {
      const m = memoryOperand(d)
      if (m === null || m.writeback || m.rn === 31) continue
      const r = sites.get(m.rn)
      if (r === undefined) sites.set(m.rn, { lo: m.off, hi: m.off + m.span, count: 1 })
      else {
        r.lo = Math.min(r.lo, m.off)
        r.hi = Math.max(r.hi, m.off + m.span)
        r.count++
      }
    }
  }
  for (const [rn, { lo, hi, count }] of sites) {
    if (count >= 2 && hi - lo <= 16 && byRegister.size < GROUP_FLAGS) byRegister.set(rn, { lo, hi, slot: byRegister.size })
  }
  return byRegister
}

function groupSite(em: Emitter, b: Block, k: number): GroupSite | undefined {
  const m = memoryOperand(b.insns[k]!.d)
  if (m === null || m.writeback || m.rn === 31) return undefined
  const group = regionGroups(em).get(m.rn)
  return group === undefined ? undefined : { group, off: m.off }
}

const groupFlag = (g: Group): number => ST_GROUP_FLAGS + 4 * g.slot

/** Clears every group's flag (also at the start of every run of the region function: emit.ts build). */
export function forgetGroups(em: Emitter): void {
  for (const g of regionGroups(em).values()) em.fn.get(em.state).i32(0).mem(Op.i32Store, groupFlag(g))
}

const BRANCH = /^(B|BL|B_cond|CBZ|CBNZ|TBZ|TBNZ|BR|BLR|RET|CCMP_[ri]|CCMN_[ri])$/
const REGISTER_OFFSET = /^(LDR|LDRS|STR)_reg$/

/** After instruction d: clear the flags it may have made wrong (see Group). */
export function afterInsn(em: Emitter, d: Instruction): void {
  const byRegister = regionGroups(em)
  if (byRegister.size === 0) return
  if (memoryOperand(d) === null && !REGISTER_OFFSET.test(d.name) && !ALU.test(d.name) && !BRANCH.test(d.name)) {
    forgetGroups(em)
    return
  }
  for (const r of registersOf(d).writes) {
    const g = byRegister.get(r)
    if (g !== undefined) em.fn.get(em.state).i32(0).mem(Op.i32Store, groupFlag(g))
  }
}

/**
 * Two accesses off one base register in a block share a tag check: the first (the leader)
 * checks the bytes of both, [its address, its address + lead), when they lie in one page and
 * in at most two tag bytes, and sets a flag when they match; the second (lead 0, the
 * follower) skips its check when the flag is set. Its own TLB lookup still runs (its
 * permission, its host address), and with the flag clear it checks as any other access, so a
 * mismatch in the follower's granules still faults at the follower, after the leader ran.
 * Between the two: only instructions that cannot write the base register, tags or the tag
 * check's state (plain loads and stores, integer arithmetic); the leader has no writeback and
 * the follower's offset is not below the leader's.
 */
interface Share {
  lead: number
}
const plans = new WeakMap<Block, Map<number, Share>>()
const flags = new WeakMap<Emitter, number>()

const scratches = new WeakMap<Emitter, number>()

function scratch(em: Emitter): number {
  let l = scratches.get(em)
  if (l === undefined) scratches.set(em, (l = em.fn.local(I32)))
  return l
}

function sharedFlag(em: Emitter): number {
  let f = flags.get(em)
  if (f === undefined) flags.set(em, (f = em.fn.local(I32)))
  return f
}

/** The register-only instructions that may lie between a leader and its follower. */
const ALU = /^(ADDS?|SUBS?|ANDS?|ORR|EOR|BICS?|ORN|EON)_[a-z]+$|^(ADCS?|SBCS?|ADRP?|ASRV|LSLV|LSRV|RORV|BFM|SBFM|UBFM|EXTR|CL[SZ]|RBIT|REV(16|32)?|CSEL|CSINC|CSINV|CSNEG|MOV[KNZ]|MADD|MSUB|[SU]MADDL|[SU]MSUBL|[SU]MULH|[SU]DIV|CRC32C?|NOP)$/

/** A plain load or store's base register, offset from it, bytes, and whether it writes the base back. */
function memoryOperand(d: Instruction): { rn: number; off: number; span: number; writeback: boolean } | null {
  switch (d.name) {
    case 'LDR_ui': case 'STR_ui': case 'LDRS_ui': case 'LDUR': case 'STUR': case 'LDURS':
      return { rn: d.rn, off: d.imm, span: 1 << d.size, writeback: false }
    case 'LDR_post': case 'STR_post': case 'LDRS_post':
      return { rn: d.rn, off: 0, span: 1 << d.size, writeback: true }
    case 'LDR_pre': case 'STR_pre': case 'LDRS_pre':
      return { rn: d.rn, off: d.imm, span: 1 << d.size, writeback: true }
    case 'LDP': case 'STP': case 'LDPSW': {
      const elem = d.name === 'LDPSW' ? 4 : d.sf ? 8 : 4
      return { rn: d.rn, off: d.mode === 1 ? 0 : d.imm, span: 2 * elem, writeback: d.mode === 1 || d.mode === 3 }
    }
    default:
      return null
  }
}

/** Which accesses of block b lead or follow a shared tag check (by instruction index); a group's base register has its own. */
function sharePlan(em: Emitter, b: Block): Map<number, Share> {
  let plan = plans.get(b)
  if (plan !== undefined) return plan
  plan = new Map()
  const grouped = regionGroups(em)
  let leader: { k: number; rn: number; off: number; span: number } | null = null
  b.insns.forEach(({ d }, k) => {
    const m0 = memoryOperand(d)
    const m = m0 !== null && grouped.has(m0.rn) ? null : m0
    if (leader !== null && m !== null && m.rn === leader.rn) {
      const lead = Math.max(leader.off + leader.span, m.off + m.span) - leader.off
      if (m.off >= leader.off && lead <= 32) {
        plan!.set(leader.k, { lead })
        plan!.set(k, { lead: 0 })
        leader = null
        return
      }
    }
    if (leader !== null && ((m0 === null && !ALU.test(d.name)) || registersOf(d).writes.includes(leader.rn))) leader = null
    // SP-based accesses without writeback are not checked (and SP is slot 32, not 31, in writes).
    // (A load into its own base register leads nothing: the follower's base is the loaded value.)
    if (m !== null && !m.writeback && m.rn !== 31 && !registersOf(d).writes.includes(m.rn)) leader = { k, rn: m.rn, off: m.off, span: m.span }
  })
  plans.set(b, plan)
  return plan
}

// ---- operands ----
export function shifted(em: Emitter, rm: number, shift: number, amount: number, sf: number): void {
  const fn = em.fn
  em.get(rm)
  if (!sf) {
    fn.op(Op.i32WrapI64)
    if (amount !== 0) fn.i32(amount).op([Op.i32Shl, Op.i32ShrU, Op.i32ShrS, Op.i32Rotr][shift]!)
    fn.op(Op.i64ExtendI32U)
  } else if (amount !== 0) {
    fn.i64(amount).op([Op.i64Shl, Op.i64ShrU, Op.i64ShrS, Op.i64Rotr][shift]!)
  }
}

export function extended(em: Emitter, rm: number, option: number, amount: number): void {
  const fn = em.fn
  em.get(rm)
  switch (option) {
    case 0: fn.i64(0xff).op(Op.i64And); break
    case 1: fn.i64(0xffff).op(Op.i64And); break
    case 2: MASK32(fn); break
    case 4: fn.op(Op.i64Extend8S); break
    case 5: fn.op(Op.i64Extend16S); break
    case 6: fn.op(Op.i64Extend32S); break
    default: break
  }
  if (amount !== 0) fn.i64(amount).op(Op.i64Shl)
}

/** Pushes ConditionHolds(cond) as i32, from the setter in this block if known, else NZCV. */
export function cond(em: Emitter, cond: number, setter: SetterKind): void {
  const fn = em.fn
  if (cond >= 14) {
    fn.i32(1)
    return
  }
  if (setter !== null) {
    const { op } = setter
    const sub = op === CC_SUB64 || op === CC_SUB32
    const logic = op === CC_LOGIC64 || op === CC_LOGIC32
    const narrow = op === CC_SUB32 || op === CC_LOGIC32 || op === CC_ADD32
    const pushA = (): void => {
      fn.get(em.ccA)
      if (narrow) fn.op(Op.i32WrapI64)
    }
    const pushB = (): void => {
      if (logic) fn.op(narrow ? Op.i32Const : Op.i64Const, 0)
      else {
        fn.get(em.ccB)
        if (narrow) fn.op(Op.i32WrapI64)
      }
    }
    const N = narrow
      ? { eq: Op.i32Eq, ne: Op.i32Ne, geU: Op.i32GeU, ltU: Op.i32LtU, gtU: Op.i32GtU, leU: Op.i32LeU, geS: Op.i32GeS, ltS: Op.i32LtS, gtS: Op.i32GtS, leS: Op.i32LeS }
      : { eq: Op.i64Eq, ne: Op.i64Ne, geU: Op.i64GeU, ltU: Op.i64LtU, gtU: Op.i64GtU, leU: Op.i64LeU, geS: Op.i64GeS, ltS: Op.i64LtS, gtS: Op.i64GtS, leS: Op.i64LeS }
    // SUBS: each condition is one compare of the operands; ANDS: of the result with 0 (C = V = 0).
    const subOps: (number | undefined)[] = [N.eq, N.ne, N.geU, N.ltU, undefined, undefined, undefined, undefined, N.gtU, N.leU, N.geS, N.ltS, N.gtS, N.leS]
    const logicOps: (number | undefined)[] = [N.eq, N.ne, undefined, undefined, N.ltS, N.geS, undefined, undefined, undefined, undefined, N.geS, N.ltS, N.gtS, N.leS]
    const opcode = sub ? subOps[cond] : logic ? logicOps[cond] : undefined
    if (opcode !== undefined) {
      pushA()
      pushB()
      fn.op(opcode)
      return
    }
    if (op === CC_ADD64 || op === CC_ADD32) return addCond(em, cond, narrow)
    if (logic && (cond === 2 || cond === 8)) return void fn.i32(0) // HS, HI: C = 0
    if (logic && (cond === 3 || cond === 9)) return void fn.i32(1) // LO, LS
    if (logic && (cond === 6)) return void fn.i32(0) // VS
    if (logic && (cond === 7)) return void fn.i32(1) // VC
  }
  fn.i32(cond)
  em.nzcv()
  fn.call(FN_COND)
}

/**
 * ConditionHolds after ADDS/CMN in the same block, from its operands: r = a + b (in the
 * operation's width), Z = r == 0, N = r < 0, C = r <u a (the add carried out), V = a and b
 * of one sign and r of the other.
 */
function addCond(em: Emitter, cond: number, narrow: boolean): void {
  const fn = em.fn
  const I = narrow
    ? { add: Op.i32Add, eqz: Op.i32Eqz, ltU: Op.i32LtU, ltS: Op.i32LtS, xor: Op.i32Xor, and: Op.i32And, zero: () => fn.i32(0) }
    : { add: Op.i64Add, eqz: Op.i64Eqz, ltU: Op.i64LtU, ltS: Op.i64LtS, xor: Op.i64Xor, and: Op.i64And, zero: () => fn.i64(0) }
  const a = (): void => {
    fn.get(em.ccA)
    if (narrow) fn.op(Op.i32WrapI64)
  }
  const b = (): void => {
    fn.get(em.ccB)
    if (narrow) fn.op(Op.i32WrapI64)
  }
  const r = (): void => {
    a()
    b()
    fn.op(I.add)
  }
  const z = (): void => {
    r()
    fn.op(I.eqz)
  }
  const n = (): void => {
    r()
    I.zero()
    fn.op(I.ltS)
  }
  const c = (): void => {
    r()
    a()
    fn.op(I.ltU)
  }
  const v = (): void => {
    // (a ^ r) & (b ^ r) < 0
    a()
    r()
    fn.op(I.xor)
    b()
    r()
    fn.op(I.xor, I.and)
    I.zero()
    fn.op(I.ltS)
  }
  // Conditions come in pairs: odd ones are the even one negated.
  switch (cond >> 1) {
    case 0: z(); break
    case 1: c(); break
    case 2: n(); break
    case 3: v(); break
    case 4: c(); z(); fn.op(Op.i32Eqz, Op.i32And); break // HI: C && !Z
    case 5: n(); v(); fn.op(Op.i32Xor, Op.i32Eqz); break // GE: N == V
    case 6: n(); v(); fn.op(Op.i32Xor, Op.i32Eqz); z(); fn.op(Op.i32Eqz, Op.i32And); break // GT: !Z && N == V
  }
  if (cond & 1) fn.op(Op.i32Eqz)
}

/** What the flag setter before instruction k of block b in the same block was, if any. */
export function setterKind(b: Block, k: number): SetterKind {
  const s = b.setterOf.get(k)
  if (s === undefined || s < 0) return null
  const d = b.insns[s]!.d
  if (d.name.startsWith('CC')) return null // CCMP/CCMN: which flags depends on a condition
  const sf = (d as { sf: number }).sf
  if (d.name.startsWith('SUBS')) return { op: sf ? CC_SUB64 : CC_SUB32 }
  if (d.name.startsWith('ADDS')) return { op: sf ? CC_ADD64 : CC_ADD32 }
  return { op: sf ? CC_LOGIC64 : CC_LOGIC32 }
}
