// The inline MTE tag check of the memory fast path (emit-ops.ts `lookup` calls it once the
// fast TLB has the page), and what lets an access skip it: the check two accesses off one base
// register in a block share and the verified-range cache of loops (a region's groups of
// accesses off one base register: emit-groups.ts). Split out of emit-ops.ts.

import type { Instruction } from '@tagvm/a64'
import { RANGE_SLOTS, ST_RANGE_CHECKED, ST_RANGE_HOST, ST_RANGE_LIMIT, ST_RANGE_START, ST_TLB, TLB_HOST, TLB_TAGS } from './layout.js'
import { simd, simdMem, S } from './emit-fp-simd-ops.js'
import { readsFlags, registersOf, setsFlags, type Block } from './region.js'
import type { Emitter } from './emit.js'
import { I32, I64, Op } from './wasm-encoder.js'
import { granulePairDifference, pointerTop as pointerTopOf, tagAddress as tagAddressOf } from './emit-tlb.js'
import { groupVerified, regionGroups, type GroupSite } from './emit-groups.js'
import { ALU, LOADS, REGISTER_OFFSET, innermostSpan, isStore, loopSpans, memoryOperand } from './region-access.js'

/**
 * The MTE check of `span` bytes (at most 32) at the address in locals `a` (i64) and `c` (its
 * low half), against the tags of the fast-TLB entry in local `e`.
 *
 * Tags are a byte per granule (tag-memory's storage), and the entry's tag word is the frame's
 * tag offset less the page's VA >> 4 (jit.ts fill), so the tag of the granule of byte c is
 * `load8(tags + (c >> 4))`: one shift, one add, one load and a compare with the pointer's tag.
 * The word is odd (-1) when the page's accesses are not checked now. A range of bytes is
 * checked granule by granule: the first and the last (one load each; from 16 bytes on a
 * 16-bit load of the first and the next, the middle one of a range over three).
 */
export function tagCheck(em: Emitter, b: Block, k: number, a: number, c: number, span: number, share?: Share, site?: GroupSite): void {
  const fn = em.fn
  const tlb = em.base + ST_TLB
  const last = span - 1
  const tagAddress = (offset: number): void => tagAddressOf(em, c, offset)
  const pointerTop = (): void => pointerTopOf(em, a)
  /**
   * Pushes the tags of the granules of bytes c .. c + end (end < 32; every granule of them in
   * this page) XOR the pointer's tag in every byte, masked to the tags' nibbles: zero when they
   * all carry it. (The mask comes last so that the compiler folds it into the branch's test.)
   */
  const difference = (end: number): void => {
    tagAddress(0)
    if (end === 0) {
      fn.mem(Op.i32Load8U, 0)
      pointerTop()
      fn.op(Op.i32Xor).i32(15).op(Op.i32And)
      return
    }
    // From 16 bytes on, the granule after the first lies in the range too (of three at most):
    // one 16-bit load reads both.
    fn.mem(end >= 16 ? Op.i32Load16U : Op.i32Load8U, 0)
    tagAddress(end)
    fn.mem(Op.i32Load8U, 0).i32(end >= 16 ? 16 : 8).op(Op.i32Shl, Op.i32Or)
    pointerTop()
    fn.i32(end >= 16 ? 0x10101 : 0x101).op(Op.i32Mul, Op.i32Xor).i32(end >= 16 ? 0x0f0f0f : 0x0f0f).op(Op.i32And)
  }
  if (site !== undefined) {
    // An access of a group (never a shared check's or a loop cache's): nothing to do where
    // its range is verified on every way here; else it checks its own bytes and verifies the
    // range (see Group).
    if (groupVerified(em, b, k, site.group)) return
    fn.get(em.e).mem(Op.i32Load, tlb + TLB_TAGS).tee(em.tg).i32(1).op(Op.i32And, Op.i32Eqz)
    fn.if()
    difference(last)
    em.exitIf(b, k)
    fn.end()
    const { group, off } = site
    const size = group.hi - group.lo
    const from = group.lo - off
    // Does the range reach past the granule its start is in? (bench-list: no, a node is one
    // granule.) For a range of a whole granule: its start is not the granule's.
    fn.get(c)
    if (from !== 0) fn.i32(from).op(Op.i32Add)
    fn.i32(15).op(Op.i32And)
    if (size < 16) fn.i32(16 - size).op(Op.i32GtU)
    fn.if()
    // Two granules: across a page boundary the range is not this entry's (leave: the
    // interpreter runs the access); on a checked page both granules must carry the pointer's
    // tag, else leave too (the access's own bytes matched: only its neighbour's did not).
    fn.get(c)
    if (from !== 0) fn.i32(from).op(Op.i32Add)
    fn.i32(4095).op(Op.i32And).i32(4096 - size).op(Op.i32GtU)
    em.exitIf(b, k)
    fn.get(em.tg).i32(1).op(Op.i32And, Op.i32Eqz)
    fn.if()
    granulePairDifference(em, a, c, from, from + size - 1)
    em.exitIf(b, k)
    fn.end()
    fn.end()
    return
  }
  fn.get(em.e).mem(Op.i32Load, tlb + TLB_TAGS).tee(em.tg).i32(1).op(Op.i32And, Op.i32Eqz)
  // A follower whose leader checked its bytes too (the flag set) has nothing left to check.
  if (share !== undefined && share.lead === 0) fn.get(sharedFlag(em)).op(Op.i32Eqz, Op.i32And)
  fn.if()
  const leads = share !== undefined && share.lead !== 0
  if (leads) {
    // The leader: its bytes and its follower's, [c, c + lead), when they lie in this page (else
    // their tags are not this entry's to read); the flag says they matched. If not, its own
    // check as any other access.
    const flag = sharedFlag(em)
    fn.get(c).i32(4095).op(Op.i32And).i32(4096 - share.lead).op(Op.i32LeU).tee(flag)
    fn.if()
    difference(share.lead - 1)
    fn.op(Op.i32Eqz).set(flag)
    fn.end()
    fn.get(flag).op(Op.i32Eqz)
    fn.if()
  }
  difference(last)
  em.exitIf(b, k)
  if (leads) {
    fn.end()
    // An unchecked page: the flag says only that the follower's bytes lie in this page (its
    // access may then reuse this entry: emit-ops.ts access).
    fn.else()
    fn.get(c).i32(4095).op(Op.i32And).i32(4096 - share.lead).op(Op.i32LeU).set(sharedFlag(em))
  }
  fn.end()
}

/**
 * The range caches of a region's loops (regionLoops: the blocks between a backward branch and
 * its target, a block that branches to itself among them): for up to four accesses of a loop
 * and RANGE_SLOTS of the region (lone ones or leaders of a shared check; not followers, not
 * group members, not SP-based), each with a slot of its own, a range of bytes its next runs
 * may use with no fast-TLB probe and no tag check: its start (VA with the pointer's top byte,
 * ST_RANGE_START), how far past the start an access may begin (ST_RANGE_LIMIT) and the host
 * address of the start (ST_RANGE_HOST). An aligned access inside it (the same top byte) takes
 * its host address with a subtract, a rotate, a compare and an add (loopCacheHit); any other
 * goes the whole way (lookup, fill, check), and records the range it may reuse once it passed
 * (loopCacheRecord): on a page whose accesses are not tag-checked, the page from its start;
 * on a checked one, the granules from that of the access up to the first of another tag in
 * its 256-byte block (a 128-bit load of sixteen tag bytes, compared with the pointer's tag),
 * so an object of up to 256 bytes with its own tag (bench-alloc, whose objects are aligned to
 * their size) is one range. A cache is emptied (limit 0: nothing passes) at the region
 * function's start (loopCacheResetAll) and whenever the runtime empties the fast TLB
 * (fast-tlb.ts emptyRanges); a checked range also on every way into its loop from outside it
 * (loopCacheEnter; the loop's back edges keep it), so that the tags it stands for were read
 * in this pass of the loop (below). Unchecked ranges last across passes: bench-string's loops
 * run a few times a word, and emptied at each entry their accesses missed more than they hit.
 *
 * Why reusing a page's translation is exact: what a range stands for (the page's mapping,
 * permissions, frame, and whether its accesses are checked now) changes only by TLB
 * maintenance, a change of translation regime, of the MTE settings or of the frame's tags
 * summary, after which the runtime empties the fast TLB (and so the ranges) or the translation
 * leaves. The one other way is a guest that rewrites a descriptor with no TLBI: the
 * interpreter then uses the old translation until its TLB entry is evicted, so a fill that
 * walks (and may evict) empties every range too (jit.ts fill); a fill the MMU's TLB answers
 * changes nothing, and a range outlives the fast-TLB entry it came from. The loop itself may only hold plain loads and stores,
 * register arithmetic and branches (no tag write, no system instruction, barrier, acquire,
 * exclusive or atomic, no call out of wasm but the fill and the register-only helpers).
 *
 * Why reusing a tag read is exact: the loop's own plain stores do not change tags, and any
 * other writer in this process (the VMM, the hypervisor, the interpreter, a handler, a tag
 * store of the same region outside the loop) runs while this CPU is outside the loop, whose
 * next entry empties the cache. Another vCPU's
 * tag write may race the loop: the cached tag is then what an earlier read of that granule
 * returned, which the memory model allows as long as nothing orders the later check after
 * that write: no barrier or acquire in the loop, and the access's address must not depend on
 * a value loaded inside the loop (a load that saw a pointer published after an STG must see
 * the new tag). So an access whose range holds checked tags must not have its address
 * registers computed, inside the loop, from any loaded value or from flags set from one (an
 * access that may, bench-alloc-nomte's object loops inside its step loop, gets ranges of
 * unchecked pages only: RangeSlot.checked): a register may hold such a value at
 * a block's start if any instruction of the loop writes it from one (a fixed point round the
 * back edges), and within the block it is followed exactly (bench-alloc's `add x21, x2, x5,
 * lsl #3; ldr x21, [x21, #8]`: x21 is loaded in the loop, but not the value the load's
 * address is).
 * (A uniform-tag page's range stands for its tags as its fast-TLB entry does, and lasts as
 * long.) (The tag cache and its argument come from the unmerged tagcost17c round; the host
 * address and the unchecked pages' ranges from loop19.)
 */

/** WebAssembly SIMD opcodes (after the 0xfd prefix) of the checked range's tag compare. */
const I8X16_SPLAT = 0x0f
const I8X16_EQ = 0x23
const I8X16_BITMASK = 0x64

const deltas = new WeakMap<Emitter, number>()

/**
 * Opens the `if` of a slot's access (address in local a, aligned to `elem` bytes when it
 * hits) that lies in the slot's range: inside it, local `host` holds its host address. The
 * caller emits the whole way (lookup, which records the range: loopCacheRecord) in the `else`.
 */
export function loopCacheHit(em: Emitter, a: number, slot: number, elem: number, host: number): void {
  const fn = em.fn
  let d = deltas.get(em)
  if (d === undefined) deltas.set(em, (d = fn.local(I64)))
  fn.get(a).get(em.state).mem(Op.i64Load, ST_RANGE_START + 8 * slot).op(Op.i64Sub).tee(d)
  // A misaligned access's low bits rotate into the top: no range is that long.
  if (elem > 1) fn.i64(Math.log2(elem)).op(Op.i64Rotr)
  fn.get(em.state).mem(Op.i64Load, ST_RANGE_LIMIT + 8 * slot).op(Op.i64LtU)
  fn.if()
  fn.get(em.state).mem(Op.i32Load, ST_RANGE_HOST + 4 * slot).get(d).op(Op.i32WrapI64, Op.i32Add).set(host)
}

/**
 * After a slot's access went the whole way and passed (the fast-TLB entry in local e, its tags
 * word in tg; `covered` bytes from a: its own, or a leader's and its follower's): records the
 * range its next runs may use (see the range caches above). An unchecked page: the page, from
 * its start (its limit keeps the covered bytes in the page). A checked one: the
 * granules from that of byte c up to the first of another tag in its 256-byte block (sixteen
 * tag bytes, one v128 load compared with the pointer's tag), when they hold the `covered`
 * bytes, when the access's address is not loaded in its loop (range.checked); else the cache
 * keeps the range it had.
 */
export function loopCacheRecord(em: Emitter, a: number, c: number, range: RangeSlot, covered: number, elem: number): void {
  const fn = em.fn
  const { slot } = range
  const tlb = em.base + ST_TLB
  const shift = Math.log2(elem)
  const store = (start: () => void, limit: () => void, host: () => void, checked: number): void => {
    fn.get(em.state).i32(checked).mem(Op.i32Store, ST_RANGE_CHECKED + 4 * slot)
    fn.get(em.state)
    start()
    fn.mem(Op.i64Store, ST_RANGE_START + 8 * slot)
    fn.get(em.state)
    limit()
    fn.mem(Op.i64Store, ST_RANGE_LIMIT + 8 * slot)
    fn.get(em.state).get(em.e).mem(Op.i32Load, tlb + TLB_HOST)
    host()
    fn.mem(Op.i32Store, ST_RANGE_HOST + 4 * slot)
  }
  fn.get(em.tg).i32(1).op(Op.i32And)
  fn.if()
  // (A leader whose follower lies past the page records the page too: no access there is in
  // the range, whose limit keeps the covered bytes in the page.)
  store(() => fn.get(a).i64(-4096).op(Op.i64And), () => fn.i64(((4096 - covered) >>> shift) + 1), () => {}, 0)
  if (!range.checked) {
    fn.end()
    return
  }
  fn.else()
  const at = scratch(em)
  // The block's sixteen tags, those equal to the pointer's as a bit each; the first granule
  // of another tag from c's on (16: none in the block), in bytes past c's granule, less covered.
  fn.get(em.tg).get(c).i32(4).op(Op.i32ShrU).i32(-16).op(Op.i32And, Op.i32Add)
  simdMem(fn, S.load, 0)
  pointerTopOf(em, a)
  fn.i32(15).op(Op.i32And)
  simd(fn, I8X16_SPLAT, I8X16_EQ, I8X16_BITMASK)
  fn.i32(-1).op(Op.i32Xor)
  fn.i32(-1).get(c).i32(4).op(Op.i32ShrU).i32(15).op(Op.i32And, Op.i32Shl, Op.i32And, Op.i32Ctz)
  fn.i32(4).op(Op.i32Shl).get(c).i32(0xf0).op(Op.i32And, Op.i32Sub).i32(covered).op(Op.i32Sub).tee(at)
  fn.i32(0).op(Op.i32GeS)
  fn.if()
  store(
    () => fn.get(a).i64(-16).op(Op.i64And),
    () => fn.get(at).i32(shift).op(Op.i32ShrU).i32(1).op(Op.i32Add, Op.i64ExtendI32U),
    () => fn.get(c).i32(0xff0).op(Op.i32And, Op.i32Add),
    1,
  )
  fn.end()
  fn.end()
}

/**
 * A cached access's range slot, and whether it may hold a range of a tag-checked page: not
 * when its address may be a value loaded in the loop (the taint rule below); its ranges are
 * then pages whose accesses are not checked.
 */
export interface RangeSlot {
  slot: number
  checked: boolean
}

/** A loop the cache is exact in: its blocks (by index) and its accesses' slots, by block. */
interface Loop {
  blocks: Set<number>
  sites: Map<Block, Map<number, RangeSlot>>
  /** Its slots (indices into the region's RANGE_SLOTS). */
  slots: number[]
}
/** Cached accesses a loop may have (TurboFan's registers: two were the old limit). */
const LOOP_SLOTS = 6
const loops = new WeakMap<Emitter, Map<number, Loop>>()

/** A pseudo register for NZCV in the dependency walk. */
const FLAGS = -1

/**
 * Registers (and NZCV) that instruction d leaves holding a value that depends on one loaded
 * in the loop, given those that did before it (`loaded`, updated in place); true if any was added.
 */
function taint(d: Instruction, loaded: Set<number>): boolean {
  const { reads, writes } = registersOf(d)
  const base = memoryOperand(d)?.writeback === true ? reads[0]! : undefined
  const tainted = LOADS.test(d.name) || reads.some((r) => loaded.has(r)) || (readsFlags(d) && loaded.has(FLAGS))
  let changed = false
  for (const w of setsFlags(d) ? [...writes, FLAGS] : writes) {
    // A load's written-back base is the base plus an immediate: loaded only if the base was.
    const isLoaded = w === base ? loaded.has(base) : tainted
    if (isLoaded !== loaded.has(w)) {
      if (isLoaded) loaded.add(w)
      else loaded.delete(w)
      changed = true
    }
  }
  return changed
}


/**
 * The region's cached loops, by block index: the blocks between a backward branch (or a
 * block's branch to itself) and its target, when every one of them is in the region and holds
 * only what LOOP_SAFE allows; overlapping ones merged. Every way into a loop from outside it
 * (a branch from another block of the region, the region function's start) empties its
 * caches: loopCacheEnter, loopCacheResetAll.
 */
function regionLoops(em: Emitter): Map<number, Loop> {
  let byBlock = loops.get(em)
  if (byBlock !== undefined) return byBlock
  byBlock = new Map()
  loops.set(em, byBlock)
  const { blocks } = em.region
  let slots = 0
  for (const [lo, hi] of loopSpans(em)) {
    const members = blocks.slice(lo, hi + 1)
    // Registers (and NZCV) that may hold, somewhere in the loop, a value that depends on one
    // loaded in it, round the back edges too: iterate to a fixed point (writes only add).
    const anywhere = new Set<number>()
    for (let changed = true; changed; ) {
      changed = false
      for (const b of members) {
        for (const { d } of b.insns) {
          const before = anywhere.size
          const now = new Set(anywhere)
          taint(d, now)
          for (const r of now) anywhere.add(r)
          if (anywhere.size !== before) changed = true
        }
      }
    }
    const loop: Loop = { blocks: new Set(members.map((_, x) => lo + x)), sites: new Map(), slots: [] }
    const grouped = regionGroups(em)
    // The accesses that may have a cache, innermost loops' first (they run most often).
    const candidates: { b: Block; k: number; depth: number; checked: boolean }[] = []
    members.forEach((b, x) => {
      loop.sites.set(b, new Map())
      const plan = sharePlan(em, b)
      // In the block, exactly: a register written before the access from values not loaded in
      // the loop is not loaded there, whatever it holds elsewhere in the loop.
      const loaded = new Set(anywhere)
      b.insns.forEach(({ d }, k) => {
        const m = memoryOperand(d)
        const isRegisterOffset = REGISTER_OFFSET.test(d.name)
        const eligible = plan.get(k)?.lead !== 0 && (m !== null || isRegisterOffset) &&
          // Unchecked accesses (SP + immediate, no writeback) have no check to cache; groups have their own.
          !(m !== null && ((m.rn === 31 && !m.writeback) || (!m.writeback && grouped.has(m.rn))))
        if (eligible) {
          const checked = !(isRegisterOffset ? registersOf(d).reads.slice(0, 2) : registersOf(d).reads.slice(0, 1)).some((r) => loaded.has(r))
          candidates.push({ b, k, depth: innermostSpan(em, lo + x), checked })
        }
        taint(d, loaded)
      })
    })
    candidates.sort((p, q) => p.depth - q.depth)
    for (const { b, k, checked } of candidates.slice(0, Math.min(LOOP_SLOTS, RANGE_SLOTS - slots))) {
      loop.sites.get(b)!.set(k, { slot: slots, checked })
      loop.slots.push(slots++)
    }
    for (const x of loop.blocks) byBlock.set(x, loop)
  }
  return byBlock
}

/** The cache slots of block b's accesses (by instruction index): none unless b is in a loop the cache is exact in. */
export function loopCache(em: Emitter, b: Block): Map<number, RangeSlot> {
  const i = em.region.blockAt.get(b.start)
  return (i === undefined ? undefined : regionLoops(em).get(i)?.sites.get(b)) ?? new Map()
}

/** On the way from block `from` to block `to` (indices): entering a loop from outside it empties its checked ranges. */
export function loopCacheEnter(em: Emitter, from: number, to: number): void {
  const loop = regionLoops(em).get(to)
  if (loop === undefined || loop.blocks.has(from)) return
  const fn = em.fn
  for (const slot of loop.slots) {
    fn.get(em.state).mem(Op.i32Load, ST_RANGE_CHECKED + 4 * slot)
    fn.if()
    fn.get(em.state).i64(0).mem(Op.i64Store, ST_RANGE_LIMIT + 8 * slot)
    fn.end()
  }
}

/** At the start of every run of the region function: every cache is empty. */
export function loopCacheResetAll(em: Emitter): void {
  for (const loop of new Set(regionLoops(em).values())) {
    for (const slot of loop.slots) em.fn.get(em.state).i64(0).mem(Op.i64Store, ST_RANGE_LIMIT + 8 * slot)
  }
}

/**
 * Two accesses off one base register in a block share a tag check: the first (the leader)
 * checks the bytes of both, [its address, its address + lead) (lead at most 32: three granules
 * at most), when they lie in one page, and sets a flag when they match; the second (lead 0, the
 * follower) skips its check when the flag is set. A follower of the leader's kind (load or
 * store) and size reuses the leader's entry when the flag is set (on an unchecked page the
 * leader sets it when both lie in its page): its host address is the leader's plus the
 * offset between them, with no TLB lookup; else its own lookup runs, and with the flag clear it checks as any other access, so a
 * mismatch in the follower's granules still faults at the follower, after the leader ran.
 * Between the two: only instructions that cannot write the base register, tags or the tag
 * check's state (plain loads and stores, integer arithmetic); the leader has no writeback and
 * the follower's offset is not below the leader's.
 */
export interface Share {
  lead: number
  /** A follower's offset from its leader's address. */
  delta?: number
  /** A follower that is a load of a load, or a store of a store (the same TLB key). */
  sameKey?: boolean
}
const plans = new WeakMap<Block, Map<number, Share>>()
const flags = new WeakMap<Emitter, number>()

const scratches = new WeakMap<Emitter, number>()

function scratch(em: Emitter): number {
  let l = scratches.get(em)
  if (l === undefined) scratches.set(em, (l = em.fn.local(I32)))
  return l
}

export function sharedFlag(em: Emitter): number {
  let f = flags.get(em)
  if (f === undefined) flags.set(em, (f = em.fn.local(I32)))
  return f
}




/** Which accesses of block b lead or follow a shared tag check (by instruction index); a group's base register has its own. */
export function sharePlan(em: Emitter, b: Block): Map<number, Share> {
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
        plan!.set(k, { lead: 0, delta: m.off - leader.off, sameKey: isStore(b.insns[leader.k]!.d) === isStore(d) })
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

