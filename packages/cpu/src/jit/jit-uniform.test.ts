// Uniform-tag entries of the fast TLB (tag-summary.ts): a page whose tags are all the
// pointer's tag is accessed without checks, and every way its tags can change afterwards
// (the guest's STG in the interpreter, a translation's STG through another mapping of the
// page, the VMM's write) must end that before the next access. Each scenario runs under the
// tier (threshold 1: translated at once) and the interpreter, and must end in the same state.

import { describe, expect, test } from 'vitest'
import { RAM_BASE, enableIdentityMmu, makeMachine, type Machine } from '../test-helpers.js'

const CODE = RAM_BASE + 0x20_0000
const VBAR = RAM_BASE + 0x1000
/** A Tagged 2 MiB block of the identity map (MAIR attr 1 = 0xF0). */
const TAGGED = RAM_BASE + 0x40_0000
/** A second mapping of the same 2 MiB of RAM (Tagged too), 2 MiB above it. */
const ALIAS = RAM_BASE + 0x60_0000
const HVC_END = 0xd41e01a2 // hvc #0xf00d
const L2 = RAM_BASE + 0x1_1000

/**
 * mov x11, #3; 1: subs x11, x11, #1; b.ne 1b (llvm-mc): a loop before a scenario, so that
 * the tier (which translates an entry when it is hot and runs it from its next visit) enters
 * its region and runs the straight-line scenario after it in the translation.
 */
const WARM = [0xd280006b, 0xf100056b, 0x54ffffe1]

const tagged = (tag: number, va: number): bigint => (BigInt(tag) << 56n) | BigInt(va)

function machine(jit: boolean, words: number[], regs: Record<number, bigint>, tagOf: (g: number) => number): Machine {
  const m = makeMachine(16 << 20, true, false, jit ? { threshold: 1 } : undefined)
  const cpu = m.cpu
  enableIdentityMmu(m)
  m.memory.write32(L2 + 8 * 2, (TAGGED | (1 << 10) | (3 << 8) | (1 << 2) | 1) >>> 0)
  m.memory.write32(L2 + 8 * 3, (TAGGED | (1 << 10) | (3 << 8) | (1 << 2) | 1) >>> 0)
  cpu.setSysreg('ID_AA64PFR1_EL1', cpu.getSysreg('ID_AA64PFR1_EL1') | (3n << 8n))
  cpu.setHcrEl2(1n | (1n << 56n))
  cpu.setSysreg('TCR_EL1', cpu.getSysreg('TCR_EL1') | (1n << 37n)) // TBI0
  cpu.setSysreg('SCTLR_EL1', cpu.getSysreg('SCTLR_EL1') | (1n << 43n) | (1n << 40n)) // ATA, TCF sync
  for (let k = 0; k < 16; k++) m.memory.write32(VBAR + 0x80 * k, (0xd4000002 | ((0x100 + k) << 5)) >>> 0)
  cpu.setSysreg('VBAR_EL1', BigInt(VBAR))
  for (let g = 0; g < 0x4000 / 16; g++) m.memory.setTag(TAGGED + 16 * g, tagOf(g))
  for (let i = 0; i < 0x4000; i += 4) m.memory.write32(TAGGED + i, (i * 0x85ebca6b) >>> 0)
  words.forEach((w, i) => m.memory.write32(CODE + 4 * i, w))
  m.memory.write32(CODE + 4 * words.length, HVC_END)
  cpu.invalidateCode(CODE, 4 * words.length + 4)
  for (let r = 0; r < 31; r++) cpu.setX(r, regs[r] ?? BigInt(r))
  cpu.sp = BigInt(RAM_BASE + 0x3f_0000)
  cpu.pstate = 0x3c5
  cpu.pc = BigInt(CODE)
  return m
}

/** Registers, PC, the fault syndrome and the tags of the first 4 KiB: what both must agree on. */
function state(m: Machine): string {
  const cpu = m.cpu
  const tags = Array.from({ length: 256 }, (_, g) => m.memory.getTag(TAGGED + 16 * g).toString(16)).join('')
  const sys = (['ESR_EL1', 'FAR_EL1', 'ELR_EL1'] as const).map((n) => cpu.getSysreg(n).toString(16))
  return JSON.stringify({ x: Array.from({ length: 31 }, (_, r) => cpu.getX(r).toString(16)), pc: cpu.pc.toString(16), sys, tags, retired: cpu.retired })
}

/** Runs both, `between` called after each cut (a budget run out); the states after every run. */
function both(words: number[], regs: Record<number, bigint>, tagOf: (g: number) => number, budgets: number[], between?: (m: Machine) => void): { jit: Machine; seen: string[] } {
  const runs = (m: Machine): string[] => {
    const seen: string[] = []
    for (const budget of budgets) {
      const exit = m.cpu.run(budget)
      seen.push(`${exit.kind} ${state(m)}`)
      if (exit.kind !== 'budget') break
      between?.(m)
    }
    return seen
  }
  const jit = machine(true, words, regs, tagOf)
  const seen = runs(jit)
  expect(seen).toEqual(runs(machine(false, words, regs, tagOf)))
  return { jit, seen }
}

const esrOf = (m: Machine): bigint => m.cpu.getSysreg('ESR_EL1')
const farOf = (m: Machine): bigint => m.cpu.getSysreg('FAR_EL1')
/** EC 0x25 (data abort, same EL), DFSC 0x11 (synchronous tag check fault). */
const isTagFault = (esr: bigint): boolean => esr >> 26n === 0x25n && (esr & 0x3fn) === 0x11n

describe('uniform-tag entries (tag-summary.ts)', () => {
  test('a page of one tag is read without checks; the guest retagging a granule of it (STG, same mapping) faults the next access', () => {
    // ldr x1, [x21]; stg x22, [x21]; mov x12, #3; 1: subs x12, x12, #1; b.ne 1b;
    // ldr x2, [x21] (llvm-mc). The first load makes a uniform entry for tag 5. The STG goes
    // through that entry, which holds no tags, so it leaves for the interpreter; the loop
    // after it brings the last load back into a translation, which must not find the entry:
    // the interpreter's tag write empties the fast TLB.
    const words = [...WARM, 0xf94002a1, 0xd9200ab6, 0xd280006c, 0xf100058c, 0x54ffffe1, 0xf94002a2]
    const { jit } = both(words, { 21: tagged(5, TAGGED + 0x100), 22: tagged(9, 0) }, () => 5, [100])
    expect(jit.cpu.jit!.stats.uniformFills).toBeGreaterThan(0)
    expect(isTagFault(esrOf(jit))).toBe(true)
    expect(farOf(jit)).toBe(tagged(5, TAGGED + 0x100))
    expect(jit.memory.getTag(TAGGED + 0x100)).toBe(9)
  })

  test("a translation's STG through another mapping of the page cannot change its tags behind a uniform entry", () => {
    // stg x25, [x23]; ldr x1, [x21]; stg x22, [x23]; ldr x2, [x24] (llvm-mc). x23 is the page
    // through the second mapping, granule 0x10 of which first has tag 3 among tag 7's: the
    // first STG (tag 7, in wasm, through a checked entry that may write tags) makes the page
    // all 7s; the load through the first mapping then makes it a uniform entry, and from then
    // on the checked entry of the other mapping must not store tags in wasm (its write key is
    // taken away): the second STG (tag 2) goes to the interpreter, whose tag write empties the
    // fast TLB, and the last load (tag 7, granule 0x10) faults.
    const words = [...WARM, 0xd9200af9, 0xf94002a1, 0xd9200af6, 0xf9400302]
    const regs = { 21: tagged(7, TAGGED + 0x800), 22: tagged(2, 0), 23: tagged(4, ALIAS + 0x100), 24: tagged(7, TAGGED + 0x100), 25: tagged(7, 0) }
    const { jit } = both(words, regs, (g) => (g === 0x10 ? 3 : 7), [100])
    expect(jit.cpu.jit!.stats.uniformFills).toBeGreaterThan(0)
    expect(isTagFault(esrOf(jit))).toBe(true)
    expect(farOf(jit)).toBe(tagged(7, TAGGED + 0x100))
    expect(jit.memory.getTag(TAGGED + 0x100)).toBe(2)
  })

  test('the VMM retagging a granule between two runs of a loop over a uniform page: the loop faults there', () => {
    // 1: ldrb w1, [x21, x9]; add x9, x9, #1; subs x10, x10, #1; b.ne 1b (llvm-mc) over 4 KiB
    // of tag 0xc. After the first cut the VMM (the memory's setTag) retags the granule the
    // loop reaches next but one; the loop's next access there must fault.
    const words = [0x38696aa1, 0x91000529, 0xf100054a, 0x54ffffa1]
    for (const first of [37, 400, 1601]) {
      let retagged = 0
      const { jit, seen } = both(words, { 21: tagged(0xc, TAGGED), 9: 0n, 10: 4096n }, () => 0xc, [first, 100_000], (m) => {
        retagged = TAGGED + ((Number(m.cpu.getX(9)) + 16) & ~15)
        m.memory.setTag(retagged, 1)
      })
      expect(seen).toHaveLength(2)
      expect(jit.cpu.jit!.stats.uniformFills).toBeGreaterThan(0)
      expect(isTagFault(esrOf(jit))).toBe(true)
      expect(farOf(jit)).toBe(tagged(0xc, retagged))
    }
  })

  test("a handler's tag store into a uniform page, between two passes of a loop in one translation, ends the loop's range over the page: the next pass faults", () => {
    // 1: ldr x0, [x20, x10, lsl #3]; sub x10, x10, #1; cbnz x10, 1b; dc gva, x22;
    // mov x10, #8; subs x12, x12, #1; b.ne 1b (llvm-mc). The loop reads 64 bytes of a page of
    // tag 6 through a uniform entry, its load's range the page (emit-tags.ts: an unchecked
    // range, kept across passes). DC GVA (its handler, in the translation) gives the next block
    // tag 11: the memory's tag write ends the page's uniform tags and empties the fast TLB, and
    // with it the range (fast-tlb.ts emptyRanges); the second pass's first load faults there.
    const words = [...WARM, 0xf86a7a80, 0xd100054a, 0xb5ffffca, 0xd50b7476, 0xd280010a, 0xf100058c, 0x54ffff41]
    const regs = { 20: tagged(6, TAGGED + 0x300), 22: tagged(11, TAGGED + 0x340), 10: 8n, 12: 2n }
    const { jit } = both(words, regs, () => 6, [100])
    expect(jit.cpu.jit!.stats.uniformFills).toBeGreaterThan(0)
    expect(isTagFault(esrOf(jit))).toBe(true)
    expect(farOf(jit)).toBe(tagged(6, TAGGED + 0x340))
    expect(jit.cpu.getX(12)).toBe(1n)
  })

  test('a page the guest tags as a whole in a translation gets uniform entries after the run loop next enters one', () => {
    // 1: st2g x21, [x21], #32; subs x10, x10, #1; b.ne 1b; sub x21, x21, #4096; mov x9, #0;
    // mov x10, #4096; 2: ldrb w1, [x21, x9]; add x9, x9, #1; subs x10, x10, #1; b.ne 2b
    // (llvm-mc): tag a page of mixed tags all 6, then read it, cut anywhere around the end of
    // the tagging. The tagging loop's entry for the page is a checked one (the page was mixed
    // when it was made), and only the run loop's next entry into a translation drops it (a
    // translation's tag stores say so in the state page): the reading loop's fills then see
    // the page all of one tag.
    const words = [0xd9a026b5, 0xf100054a, 0x54ffffc1, 0xd14006b5, 0xd2800009, 0xd282000a, 0x38696aa1, 0x91000529, 0xf100054a, 0x54ffffa1]
    for (const cut of [386, 390, 420, 2000, 9000]) {
      const { jit } = both(words, { 21: tagged(6, TAGGED), 10: 128n }, (g) => g % 16, [cut, 100_000])
      expect(jit.cpu.getX(10)).toBe(0n)
      for (let g = 0; g < 256; g++) expect(jit.memory.getTag(TAGGED + 16 * g)).toBe(6)
      expect(jit.cpu.jit!.stats.uniformFills).toBeGreaterThan(0)
    }
  })

  // After a translation stored tags the run loop's next entry drops only the checked entries
  // whose frame's tags became all one value (fast-tlb.ts dropMadeUniform): a frame whose tags
  // still differ keeps its entry, which a fill would only make again. (bench-alloc tags objects
  // in every step: dropping every checked entry refilled each page it uses at every entry.)
  test('a page whose tags still differ keeps its checked entry across the run loop\'s entries after tag stores: no refill', () => {
    // 1: stg x22, [x21]; ldr x1, [x21, #16]; subs x10, x10, #1; b.ne 1b (llvm-mc): retags
    // granule 0 of a page of tags g % 16 with 1 and reads granule 1 (tag 1) in every step, cut
    // every 41 instructions. The page stays mixed: after the first fill no entry needs another.
    const words = [0xd9200ab6, 0xf9400aa1, 0xf100054a, 0x54ffffa1]
    const budgets = [41, 41, 41, 41, 41, 41, 41, 41, 41, 41, 10_000]
    const { jit, seen } = both(words, { 21: tagged(1, TAGGED), 22: tagged(1, 0), 10: 400n }, (g) => g % 16, budgets)
    expect(seen).toHaveLength(budgets.length)
    expect(jit.cpu.getX(10)).toBe(0n)
    const stats = jit.cpu.jit!.stats
    // The run loop entered the translation at every cut, each after tag stores.
    expect(stats.entries).toBeGreaterThanOrEqual(budgets.length)
    // One fill, for the first access (with the rule before: one more after every cut).
    expect(stats.tlbFills).toBe(1)
    expect(stats.uniformFills).toBe(0)
  })

  test('of two pages, one tagged as a whole and one read, only the first is refilled after the tag stores (as a uniform entry)', () => {
    // 1: stg x22, [x21], #16; ldr x1, [x23]; subs x10, x10, #1; b.ne 1b; sub x21, x21, #1, lsl #12;
    // mov x4, #256; 2: ldr x2, [x21], #16; subs x4, x4, #1; b.ne 2b (llvm-mc), cut every 300
    // instructions. The first loop retags all of page 0 (tags g % 16) with 5, reading page 1
    // (mixed) in every step; the second reads page 0 through a tag-5 pointer. After the cut
    // that follows the last STG, page 0's checked entry is dropped and its next fill makes a
    // uniform entry; page 1's entry is never dropped.
    const words = [0xd92016b6, 0xf94002e1, 0xf100054a, 0x54ffffa1, 0xd14006b5, 0xd2802004, 0xf84106a2, 0xf1000484, 0x54ffffc1]
    const regs = { 21: tagged(5, TAGGED), 22: tagged(5, 0), 23: tagged(7, TAGGED + 0x1010), 10: 256n }
    const { jit } = both(words, regs, (g) => (g < 256 ? g % 16 : g % 3 === 0 ? 0 : 7), [300, 300, 300, 300, 10_000])
    expect(jit.cpu.getX(4)).toBe(0n)
    for (let g = 0; g < 256; g++) expect(jit.memory.getTag(TAGGED + 16 * g)).toBe(5)
    const stats = jit.cpu.jit!.stats
    // Page 0 for the STGs, page 1, page 0 again as a uniform entry.
    expect(stats.uniformFills).toBe(1)
    expect(stats.tlbFills).toBe(3)
  })

  test('tag stores at a page\'s end and misaligned: ST2G of its last granule pair stays in the translation, one across the page and a misaligned STG leave for the interpreter', () => {
    // st2g x22, [x21]; st2g x22, [x23] (llvm-mc) after the warm-up loop, in a translation: the
    // page's last pair (0xfe0), then a pair across the end of the block (its second granule is
    // the alias block's first, PA TAGGED). Then the same with stg x22, [x24] (llvm-mc) at 0x208,
    // not 16-aligned: an alignment fault.
    const regs = { 21: tagged(1, TAGGED + 0xfe0), 22: tagged(9, 0), 23: tagged(2, ALIAS - 0x10), 24: tagged(3, TAGGED + 0x208) }
    const across = both([...WARM, 0xd9a00ab6, 0xd9a00af6], regs, () => 4, [100]).jit
    expect(across.cpu.jit!.stats.regions).toBeGreaterThan(0)
    for (const at of [TAGGED + 0xfe0, TAGGED + 0xff0, ALIAS - 0x10, TAGGED]) expect(across.memory.getTag(at)).toBe(9)
    expect(across.memory.getTag(TAGGED + 0x10)).toBe(4)
    const misaligned = both([...WARM, 0xd9200b16], regs, () => 4, [100]).jit
    expect(misaligned.cpu.jit!.stats.regions).toBeGreaterThan(0)
    expect(misaligned.memory.getTag(TAGGED + 0x200)).toBe(4)
    // EC 0x25 (data abort, same EL), DFSC 0x21 (alignment fault), at the STG's address.
    expect(esrOf(misaligned) >> 26n).toBe(0x25n)
    expect(esrOf(misaligned) & 0x3fn).toBe(0x21n)
    expect(farOf(misaligned)).toBe(tagged(3, TAGGED + 0x208))
  })

  test("a shared check's follower reuses its leader's entry only in the leader's page: across the end of the block it looks up its own (another frame)", () => {
    // ldr x1, [x21]; ldr x2, [x21, #24] (llvm-mc) after the warm-up loop: a shared check whose
    // leader reads the last 16 bytes of the Tagged block's last page, on a uniform entry
    // (unchecked: all its tags are the pointer's 0), and whose follower lies past the block's
    // end, in the alias block, whose first page is PA TAGGED: another frame than the one after
    // the leader's. Reusing the leader's entry there would read the host memory after the
    // leader's frame instead.
    const regs = { 21: tagged(0, ALIAS - 0x10) }
    const { jit } = both([...WARM, 0xf94002a1, 0xf9400ea2], regs, () => 0, [100])
    expect(jit.cpu.jit!.stats.regions).toBeGreaterThan(0)
    expect(jit.cpu.jit!.stats.uniformFills).toBeGreaterThan(0)
    expect(jit.cpu.getX(2)).toBe((BigInt(jit.memory.read32(TAGGED + 12)) << 32n) | BigInt(jit.memory.read32(TAGGED + 8)))
    expect(jit.cpu.getX(2)).not.toBe(0n)
  })
})
