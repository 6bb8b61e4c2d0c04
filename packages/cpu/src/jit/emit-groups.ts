// Tag-check groups: a region's plain accesses off one base register within 16 bytes, and
// whether their range is verified, known when the region is translated. Split out of emit-tags.ts.

import { ST_TLB, TLB_READ_KEY, TLB_TAGS } from './layout.js'
import { granulePairDifference, tlbEntry, tlbMiss } from './emit-tlb.js'
import { registersOf, type Block } from './region.js'
import type { Emitter } from './emit.js'
import { Op } from './wasm-encoder.js'
import { LOADS, forgetsAll, loopSpans, memoryOperand } from './region-access.js'

/**
 * A group: the plain accesses of a region off one base register (no writeback, not SP) whose
 * bytes all lie in [base + lo, base + hi), at most 16 bytes, when there are two or more of
 * them. Whether a group's range is verified for its base register's value is known when the
 * region is translated, on every way to each access (groupVerified: a dataflow over the
 * region's blocks): a verified access does nothing for its tags, not even a test; any other
 * (the leader) checks its own bytes and then verifies the range, or leaves before it runs.
 * bench-list's loop reads a node's value and next pointer in two blocks and writes the value
 * back in a third: the first read checks, the other two cost nothing.
 *
 * What verifies: a leader, after its own bytes matched (else it leaves and the interpreter
 * faults), when the range lies in the granule of its first byte (one and-with-15; in the
 * interpreter's terms the range's tags are those its own check read), or else in two granules
 * of its page that both carry the pointer's tag; a range across a page boundary, or a
 * neighbour granule of another tag, leaves before the access (its bytes matched, so the
 * interpreter runs it, and no more). On a page whose accesses are not checked (tags word
 * odd) only the page boundary matters: every access of the range then uses that same entry.
 *
 * What unverifies: a write of the base register (the range is another's), and every
 * instruction that is not a plain load or store, register arithmetic or a branch (tag stores
 * and DC G*ZVA, system instructions and their handlers, barriers, acquires, exclusives,
 * atomics, FP/SIMD: forgetsAll). Plain stores do not change tags.
 *
 * Why it is exact: a verified access uses the fast-TLB entry its leader used (same page, and
 * an entry changes only at a fill). A fill at a point where some range is verified leaves
 * before its access when the entry it made is a checked one (fillGuard): it may have evicted
 * and refilled a verified range's page with another frame, and no follower may then skip;
 * an unchecked entry needs no check. Every writer of tags outside the translation (the VMM,
 * the interpreter, a handler) runs between runs, and a run never starts with a range
 * unverified where the region's blocks would have it verified: entering a block that starts
 * with ranges verified on every way inside the region, the region function's start verifies
 * them for the registers' values (entryVerify), or leaves for the interpreter (bench-list's
 * loop head, entered from outside once a walk; the Linux boot enters such blocks ~1.8 M times). Another vCPU's
 * tag write can only race the range's tag read, as it would race the check it stands for:
 * nothing between the two orders the later access after that write (no barrier or acquire,
 * and the later access's address is the same register value, not one loaded since). Check
 * state (TCF, TCO, TCMA, the EL) only changes through system instructions or exception entry
 * and return, which leave.
 */
export interface Group {
  /** The base register. */
  rn: number
  lo: number
  hi: number
}
export interface GroupSite {
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
  // A base register a loop steps (writes other than by a load, with an access off it in the
  // loop: bench-alloc's fill loop) is left to the loop's cache: its group would be forgotten at
  // every step, each forgetting a store that MTE off pays too.
  const stepped = new Set<number>()
  for (const [lo, hi] of loopSpans(em)) {
    const members = em.region.blocks.slice(lo, hi + 1)
    const based = new Set(members.flatMap((b) => b.insns.map(({ d }) => memoryOperand(d)?.rn)))
    for (const b of members) {
      for (const { d } of b.insns) {
        const m = memoryOperand(d)
        const steps = !LOADS.test(d.name) ? registersOf(d).writes : m?.writeback === true ? [m.rn] : []
        for (const w of steps) if (based.has(w)) stepped.add(w)
      }
    }
  }
  for (const [rn, { lo, hi, count }] of sites) {
    if (count >= 2 && hi - lo <= 16 && !stepped.has(rn)) byRegister.set(rn, { rn, lo, hi })
  }
  return byRegister
}

export function groupSite(em: Emitter, b: Block, k: number): GroupSite | undefined {
  const m = memoryOperand(b.insns[k]!.d)
  if (m === null || m.writeback || m.rn === 31) return undefined
  const group = regionGroups(em).get(m.rn)
  return group === undefined ? undefined : { group, off: m.off }
}

/** Instruction k's effect on the set of verified groups (see Group). */
function verifyEffect(em: Emitter, b: Block, k: number, verified: Set<Group>): void {
  const d = b.insns[k]!.d
  const byRegister = regionGroups(em)
  if (forgetsAll(d)) {
    verified.clear()
    return
  }
  const site = groupSite(em, b, k)
  if (site !== undefined) verified.add(site.group)
  for (const r of registersOf(d).writes) {
    const g = byRegister.get(r)
    if (g !== undefined) verified.delete(g)
  }
}

const verifiedAtStart = new WeakMap<Emitter, Set<Group>[]>()

/**
 * The groups verified at each block's start (by index), on every way in from the region's
 * blocks: a forward dataflow from "all" down to its fixed point. A block no other block of the
 * region reaches starts with none; entering one with some, the region's start verifies them (entryVerify).
 */
function startStates(em: Emitter): Set<Group>[] {
  const atStart = verifiedAtStart.get(em)
  if (atStart !== undefined) return atStart
  const { blocks, blockAt } = em.region
  const all = [...regionGroups(em).values()]
  const preds: number[][] = blocks.map(() => [])
  blocks.forEach((x, i) => {
    const t = x.term
    for (const to of t.kind === 'cond' ? [t.target, t.next] : t.kind === 'jump' ? [t.target] : t.kind === 'fall' ? [t.next] : []) {
      const j = blockAt.get(to)
      if (j !== undefined) preds[j]!.push(i)
    }
  })
  const starts = blocks.map(() => new Set<Group>())
  const ends = blocks.map(() => new Set(all))
  for (let changed = true; changed; ) {
    changed = false
    blocks.forEach((x, i) => {
      starts[i] = new Set(preds[i]!.length === 0 ? [] : all.filter((g) => preds[i]!.every((p) => ends[p]!.has(g))))
      const now = new Set(starts[i])
      for (let q = 0; q < x.insns.length; q++) verifyEffect(em, x, q, now)
      if (now.size !== ends[i]!.size) changed = true
      ends[i] = now
    })
  }
  verifiedAtStart.set(em, starts)
  return starts
}

/** The groups verified before instruction k of block b, on every way there. */
function verifiedBefore(em: Emitter, b: Block, k: number): Set<Group> {
  const i = em.region.blockAt.get(b.start)
  const now = new Set(i === undefined ? [] : startStates(em)[i])
  for (let q = 0; q < k; q++) verifyEffect(em, b, q, now)
  return now
}

/** Whether group g's range is verified before instruction k of block b (its access then skips its check). */
export function groupVerified(em: Emitter, b: Block, k: number, g: Group): boolean {
  return verifiedBefore(em, b, k).has(g)
}

/** The blocks (by index) that start with a group verified: the region function's start verifies their ranges there (entryVerify). */
export function verifiedEntries(em: Emitter): number[] {
  return startStates(em).flatMap((v, i) => (v.size > 0 ? [i] : []))
}

/**
 * At the region function's start, entering block i (a verifiedEntries one): verifies the
 * ranges its way in from the region's blocks would have, for the registers' values now, or
 * pushes nothing and runs `leave` (the interpreter runs the block): a range across a page,
 * a page not in the fast TLB for reading, or a granule of another tag on a checked page.
 */
export function entryVerify(em: Emitter, i: number, leave: () => void): void {
  const fn = em.fn
  const tlb = em.base + ST_TLB
  const leaveIf = (): void => {
    fn.if()
    leave()
    fn.end()
  }
  for (const g of startStates(em)[i]!) {
    const size = g.hi - g.lo
    em.get(g.rn)
    if (g.lo !== 0) fn.i64(g.lo).op(Op.i64Add)
    fn.tee(em.a).op(Op.i32WrapI64).tee(em.c).i32(4095).op(Op.i32And).i32(4096 - size).op(Op.i32GtU)
    leaveIf()
    tlbEntry(em, em.c)
    tlbMiss(em, em.a, TLB_READ_KEY)
    leaveIf()
    fn.get(em.e).mem(Op.i32Load, tlb + TLB_TAGS).tee(em.tg).i32(1).op(Op.i32And, Op.i32Eqz)
    fn.if()
    // The tags of the range's first and last granules (the same one when it lies in one).
    granulePairDifference(em, em.a, em.c, 0, size - 1)
    leaveIf()
    fn.end()
  }
}

/**
 * On a fill before instruction k of block b (entry index in local e, just written): where a
 * group's range is verified, a checked entry leaves before the access (see Group).
 */
export function fillGuard(em: Emitter, b: Block, k: number): void {
  if (verifiedBefore(em, b, k).size === 0) return
  em.fn.get(em.e).mem(Op.i32Load, em.base + ST_TLB + TLB_TAGS).i32(1).op(Op.i32And, Op.i32Eqz)
  em.exitIf(b, k)
}
