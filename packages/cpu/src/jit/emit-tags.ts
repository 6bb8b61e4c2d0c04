// The inline MTE tag check of the memory fast path (emit-ops.ts `lookup` calls it once the
// fast TLB has the page), and what lets an access skip it: the check two accesses off one base
// register in a block share, a region's groups of accesses off one base register, and the
// verified-block cache of tight loops. Split out of emit-ops.ts.

import type { Instruction } from '@tagvm/a64'
import { ST_GROUP_FLAGS, ST_TAG_CACHE, ST_TLB, TLB_TAGS, GROUP_FLAGS } from './layout.js'
import { readsFlags, registersOf, setsFlags, type Block } from './region.js'
import type { Emitter } from './emit.js'
import { I32, Op } from './wasm-encoder.js'

/**
 * The MTE check of `span` bytes (at most 32) at the address in locals `a` (i64) and `c` (its
 * low half), against the tags of the fast-TLB entry in local `e`.
 *
 * Tags are a byte per granule (tag-memory's storage), and the entry's tag word is the frame's
 * tag offset less the page's VA >> 4 (jit.ts fill), so the tag of the granule of byte c is
 * `load8(tags + (c >> 4))`: one shift, one add, one load and a compare with the pointer's tag.
 * The word is odd (-1) when the page's accesses are not checked now. A range of bytes is
 * checked granule by granule: the first and the last (one load each), and the middle one of a
 * range over three (at the first's address + 1).
 */
export function tagCheck(em: Emitter, b: Block, k: number, a: number, c: number, span: number, share?: Share, site?: GroupSite, slot?: number): void {
  const fn = em.fn
  const tlb = em.base + ST_TLB
  const last = span - 1
  /** A tag byte's address, for a second load from it. */
  const at = scratch(em)
  /** Pushes the address of the tag of the granule of byte `c + at`. */
  const tagAddress = (offset: number): void => {
    fn.get(em.tg).get(c)
    if (offset !== 0) fn.i32(offset).op(Op.i32Add)
    fn.i32(4).op(Op.i32ShrU, Op.i32Add)
  }
  const pointerTag = (): void => {
    fn.get(a).i64(56).op(Op.i64ShrU, Op.i32WrapI64).i32(15).op(Op.i32And)
  }
  /**
   * Pushes the tags of the granules of bytes c .. c + end (end < 32; every granule of them in
   * this page) XOR the pointer's tag in every byte: zero when they all carry it.
   */
  const difference = (end: number): void => {
    tagAddress(0)
    if (end === 0) {
      fn.mem(Op.i32Load8U, 0)
      pointerTag()
      fn.op(Op.i32Xor)
      return
    }
    let ones = 0x101
    if (end >= 16) {
      // Three granules at most: the one after the first lies in the range too.
      fn.tee(at).mem(Op.i32Load8U, 0).get(at).mem(Op.i32Load8U, 1).i32(8).op(Op.i32Shl, Op.i32Or)
      ones = 0x10101
    } else fn.mem(Op.i32Load8U, 0)
    tagAddress(end)
    fn.mem(Op.i32Load8U, 0).i32(end >= 16 ? 16 : 8).op(Op.i32Shl, Op.i32Or)
    pointerTag()
    fn.i32(ones).op(Op.i32Mul, Op.i32Xor)
  }
  fn.get(em.e).mem(Op.i32Load, tlb + TLB_TAGS).tee(em.tg).i32(1).op(Op.i32And, Op.i32Eqz)
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
  const covered = leads ? share.lead : span
  if (slot !== undefined) {
    // Outside the verified block (or nothing verified yet: the empty start is no VA)?
    fn.get(a).get(em.state).mem(Op.i64Load, ST_TAG_CACHE + 8 * slot).op(Op.i64Sub).i64(256 - covered).op(Op.i64GtU)
    fn.if()
  }
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
  if (leads) fn.end()
  if (site !== undefined) {
    // Passed: the group's range [base + lo, base + hi) is verified too when it lies in the
    // granule of this access's first byte (bench-list: a 16-byte node, one granule), which the
    // check above covered: (c & 15) + (lo - off) in [0, 16 - (hi - lo)], one unsigned compare.
    const { group, off } = site
    fn.get(em.state)
    fn.get(c).i32(15).op(Op.i32And)
    if (group.lo !== off) fn.i32(group.lo - off).op(Op.i32Add)
    fn.i32(16 - (group.hi - group.lo)).op(Op.i32LeU).mem(Op.i32Store, groupFlag(group))
    fn.end()
  }
  if (slot !== undefined) {
    // Passed: if the 256-byte block of byte c (sixteen tag bytes, two i64) is all of the
    // pointer's tag, it is the verified block now; else the cache keeps the block it had.
    const everyByte = (): void => {
      fn.get(a).i64(56).op(Op.i64ShrU).i64(15).op(Op.i64And).i64(0x0101_0101, 0x0101_0101).op(Op.i64Mul, Op.i64Xor)
    }
    fn.get(em.tg).get(c).i32(4).op(Op.i32ShrU).i32(-16).op(Op.i32And, Op.i32Add).tee(at)
    fn.mem(Op.i64Load, 0)
    everyByte()
    fn.get(at).mem(Op.i64Load, 8)
    everyByte()
    fn.op(Op.i64Or, Op.i64Eqz)
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
  for (const [rn, { lo, hi, count }] of sites) {
    if (count >= 2 && hi - lo <= 16 && byRegister.size < GROUP_FLAGS) byRegister.set(rn, { lo, hi, slot: byRegister.size })
  }
  return byRegister
}

export function groupSite(em: Emitter, b: Block, k: number): GroupSite | undefined {
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
 * checks the bytes of both, [its address, its address + lead) (lead at most 32: three granules
 * at most), when they lie in one page, and sets a flag when they match; the second (lead 0, the
 * follower) skips its check when the flag is set. Its own TLB lookup still runs (its
 * permission, its host address), and with the flag clear it checks as any other access, so a
 * mismatch in the follower's granules still faults at the follower, after the leader ran.
 * Between the two: only instructions that cannot write the base register, tags or the tag
 * check's state (plain loads and stores, integer arithmetic); the leader has no writeback and
 * the follower's offset is not below the leader's.
 */
export interface Share {
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

export function sharedFlag(em: Emitter): number {
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

