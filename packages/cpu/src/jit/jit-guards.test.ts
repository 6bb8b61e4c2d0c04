// The guards of the tag checks the compiled tier skips (emit-groups.ts Group, emit-tags.ts
// loop cache and shared check, emit-ops.ts access): each scenario is a guest program that
// only a guard keeps exact, run under the tier (threshold 1: translated at once) and the
// interpreter, which must end in the same state (registers, PC, ESR/FAR/ELR, retired count,
// the data and tags of the pages involved). Each test names the guard it stands for; it was
// seen to fail with that guard removed.

import { describe, expect, test } from 'vitest'
import { RAM_BASE, enableIdentityMmu, load, makeMachine, type Machine } from '../test-helpers.js'

const CODE = RAM_BASE + 0x20_0000
const VBAR = RAM_BASE + 0x1000
/** The identity map's L2 table (test-helpers enableIdentityMmu): entry i maps the 2 MiB block at RAM_BASE + i * 2 MiB. */
const L2 = RAM_BASE + 0x1_1000
/** L2 entry 2: a Tagged block (MAIR attr 1 = 0xF0). */
const TAGGED = RAM_BASE + 0x40_0000
/** L2 entry 3: the RAM the fillGuard scenario remaps entry 2 to (its frames' tags differ from TAGGED's); VA OTHER follows TAGGED's last page. */
const OTHER = RAM_BASE + 0x60_0000
/** L2 entry 4: VA[21:12] as TAGGED's, so the same fast-TLB and MMU TLB entries (both direct-mapped, indexed by VA[21:12] here). */
const FAR_BLOCK = RAM_BASE + 0x80_0000
/** L2 entry 5's RAM: where the page-boundary scenarios map VA OTHER (so that VA TAGGED's last page and the next are not physically adjacent). */
const SPARE = RAM_BASE + 0xa0_0000
const HVC_END = 0xd41e01a2 // hvc #0xf00d

/**
 * mov x11, #3; 1: subs x11, x11, #1; b.ne 1b (llvm-mc): a loop before a scenario, so that
 * the tier (which translates an entry when it is hot and runs it from its next visit) enters
 * its region at the loop and runs the straight-line scenario after it in the translation.
 */
const WARM = [0xd280006b, 0xf100056b, 0x54ffffe1]

const tagged = (tag: number, va: number): bigint => (BigInt(tag) << 56n) | BigInt(va)
/** B and B.NE from `from` to `to`. */
const b = (from: number, to: number): number => (0x14000000 | (((to - from) >> 2) & 0x3ff_ffff)) >>> 0
const bne = (from: number, to: number): number => (0x54000001 | ((((to - from) >> 2) & 0x7_ffff) << 5)) >>> 0

/** A block descriptor of the identity map for the 2 MiB at `pa`: Normal (attr 0) or Tagged (attr 1). */
const blockDescriptor = (pa: number, isTagged: boolean): number => (pa | (1 << 10) | (3 << 8) | ((isTagged ? 1 : 0) << 2) | 1) >>> 0

/** The 64 KiB windows (PAs) the scenarios use: data and tags are set and compared there. */
const WINDOWS = [TAGGED, TAGGED + 0x1f_0000, OTHER, FAR_BLOCK, SPARE]
const WINDOW = 0x1_0000

interface Scenario {
  words: number[]
  regs: Record<number, bigint>
  /** Granule tags (by PA) for the windows; 0 elsewhere. */
  tagAt: (pa: number) => number
  /** L2 entries made Tagged (2 always is; 3 and 4 on request). */
  taggedBlocks?: number[]
  /** L2 entries rewritten (after taggedBlocks): index to descriptor. */
  remap?: Record<number, number>
  /** Doublewords written over the data once it is set (PA, value). */
  poke?: [number, bigint][]
  /** PSTATE at the start (default EL1h, DAIF masked). */
  pstate?: number
  /** More code: words at other addresses (another page). */
  more?: [number, number[]][]
}

/** The vectors: `hvc #(0x100 + k)` at entry k, so that an exception taken to EL1 ends the run. */
const VECTORS = Array.from({ length: 16 * 32 }, (_, i) => (i % 32 === 0 ? (0xd4000002 | ((0x100 + i / 32) << 5)) >>> 0 : 0))

function machine(jit: boolean, s: Scenario): Machine {
  const m = makeMachine(16 << 20, true, false, jit ? { threshold: 1 } : undefined)
  const cpu = m.cpu
  enableIdentityMmu(m)
  for (const i of [2, ...(s.taggedBlocks ?? [])]) m.memory.write32(L2 + 8 * i, blockDescriptor(RAM_BASE + i * 0x20_0000, true))
  for (const [i, descriptor] of Object.entries(s.remap ?? {})) m.memory.write32(L2 + 8 * Number(i), descriptor)
  // MTE implemented and allowed (HCR_EL2.ATA), TBI0, SCTLR_EL1.ATA, synchronous tag check faults.
  cpu.setSysreg('ID_AA64PFR1_EL1', cpu.getSysreg('ID_AA64PFR1_EL1') | (3n << 8n))
  cpu.setHcrEl2(1n | (1n << 56n))
  cpu.setSysreg('TCR_EL1', cpu.getSysreg('TCR_EL1') | (1n << 37n))
  cpu.setSysreg('SCTLR_EL1', cpu.getSysreg('SCTLR_EL1') | (1n << 43n) | (1n << 40n))
  load(m, VECTORS, VBAR)
  cpu.setSysreg('VBAR_EL1', BigInt(VBAR))
  for (const base of WINDOWS) {
    for (let g = 0; g < WINDOW / 16; g++) m.memory.setTag(base + 16 * g, s.tagAt(base + 16 * g))
    for (let i = 0; i < WINDOW; i += 4) m.memory.write32(base + i, Math.imul(base + i, 0x85ebca6b) >>> 0)
  }
  for (const [pa, v] of s.poke ?? []) {
    m.memory.write32(pa, Number(v & 0xffff_ffffn))
    m.memory.write32(pa + 4, Number(v >> 32n))
  }
  for (let r = 0; r < 31; r++) cpu.setX(r, s.regs[r] ?? BigInt(r) * 0x0101_0101n)
  cpu.sp = BigInt(RAM_BASE + 0x3f_0000)
  cpu.pstate = s.pstate ?? 0x3c5
  for (const [at, words] of s.more ?? []) load(m, words, at)
  load(m, [...s.words, HVC_END], CODE)
  return m
}

/** What the tier and the interpreter must agree on. */
function state(m: Machine): string {
  const cpu = m.cpu
  let digest = 0
  for (const base of WINDOWS) {
    for (let i = 0; i < WINDOW; i += 4) digest = (Math.imul(digest, 31) + m.memory.read32(base + i)) | 0
    for (let g = 0; g < WINDOW / 16; g++) digest = (Math.imul(digest, 31) + m.memory.getTag(base + 16 * g)) | 0
  }
  const sys = (['ESR_EL1', 'FAR_EL1', 'ELR_EL1'] as const).map((n) => cpu.getSysreg(n).toString(16))
  return JSON.stringify({ x: Array.from({ length: 31 }, (_, r) => cpu.getX(r).toString(16)), pc: cpu.pc.toString(16), sys, retired: cpu.retired, digest })
}

/** Runs the scenario under the tier and the interpreter (up to 1000 instructions): the same exit and state. The tier's machine. */
function both(s: Scenario): Machine {
  const run = (m: Machine): string => `${m.cpu.run(1000).kind} ${state(m)}`
  const jit = machine(true, s)
  expect(run(jit)).toEqual(run(machine(false, s)))
  return jit
}

const esrOf = (m: Machine): bigint => m.cpu.getSysreg('ESR_EL1')
const farOf = (m: Machine): bigint => m.cpu.getSysreg('FAR_EL1')
/** EC 0x25 (data abort, same EL), DFSC 0x11 (synchronous tag check fault). */
const isTagFault = (esr: bigint): boolean => esr >> 26n === 0x25n && (esr & 0x3fn) === 0x11n

/**
 * Tags for the page-boundary scenarios: TAGGED's last page of tag 5 and the next VA page
 * (mapped to SPARE) of tag 6, each with a granule of tag 7 (checked entries, not uniform
 * ones); the RAM physically after TAGGED's last page (OTHER, not mapped there) of tag 5,
 * what a check that read past the page's tags would find.
 */
const acrossTags = (pa: number): number => (pa === OTHER - 0x800 || pa === SPARE + 0x800 ? 7 : pa >= SPARE && pa < SPARE + WINDOW ? 6 : 5)

describe("guards of the groups' skipped checks (emit-groups.ts Group)", () => {
  test.each([
    { farTagged: false, uniform: true },
    { farTagged: true, uniform: true },
    { farTagged: false, uniform: false },
    { farTagged: true, uniform: false },
  ])('fillGuard: a group verified on one frame, its page refilled with another before the follower, checks the follower (%o)', ({ farTagged, uniform }) => {
    // ldr x1, [x21]; str x23, [x24]; ldr x2, [x22]; ldr x3, [x21, #8] (llvm-mc). x21's two
    // loads are a group (one granule); the first verifies it on the frame page P maps to.
    // The store rewrites P's L2 descriptor (no TLBI: the MMU's TLB keeps the old translation)
    // to the other 2 MiB of RAM, whose granule has another tag; the load off x22, 4 MiB above
    // P, evicts P's entry from the fast TLB and the MMU's TLB (both direct-mapped on
    // VA[21:12] here), so the follower's access walks the tables again and finds the new
    // frame: the interpreter's check faults there, and the tier must not skip it (fillGuard
    // leaves at a checked fill while a range is verified). With x22's block Tagged the guard
    // leaves at x22's fill; with it Normal (an unchecked entry) at the follower's own fill.
    // P's first frame is all of the pointer's tag (a uniform entry: the leader is not
    // checked) or has one granule of another tag away from P (a checked entry); x22's page
    // has one (a checked entry when Tagged).
    const words = [...WARM, 0xf94002a1, 0xf9000317, 0xf94002c2, 0xf94006a3]
    const p = TAGGED + 0x3100
    const jit = both({
      words,
      regs: { 21: tagged(5, p), 22: tagged(5, p + 0x40_0000), 23: BigInt(blockDescriptor(OTHER, true)), 24: BigInt(L2 + 8 * 2) },
      tagAt: (pa) => (pa >= OTHER && pa < OTHER + WINDOW ? 6 : (!uniform && pa === p + 0x400) || pa === p + 0x40_0400 ? 7 : 5),
      taggedBlocks: farTagged ? [3, 4] : [3],
    })
    expect(jit.cpu.jit!.stats.entries).toBeGreaterThan(0)
    expect(jit.cpu.jit!.stats.uniformFills > 0).toBe(uniform)
    expect(isTagFault(esrOf(jit))).toBe(true)
    expect(farOf(jit)).toBe(tagged(5, p + 8))
  })


  test("a group's leader whose range crosses into the next page leaves (the range's tags there are another page's)", () => {
    // ldr x3, [x22]; ldr x1, [x21]; ldr x2, [x21, #8] (llvm-mc), x21 8 bytes before the end of
    // TAGGED's last page: the group's range [x21, x21 + 16) crosses into the next VA page,
    // which maps to SPARE, of another tag. The leader's own bytes match; the follower's do not
    // (the interpreter faults there). The first load (tag 6, into that page) puts the next
    // page in the fast TLB, so that the follower's access makes no fill (fillGuard).
    const words = [...WARM, 0xf94002c3, 0xf94002a1, 0xf94006a2]
    const jit = both({
      words,
      regs: { 21: tagged(5, OTHER - 8), 22: tagged(6, OTHER + 0x10) },
      tagAt: acrossTags,
      taggedBlocks: [3],
      remap: { 3: blockDescriptor(SPARE, true) },
    })
    expect(jit.cpu.jit!.stats.entries).toBeGreaterThan(0)
    expect(isTagFault(esrOf(jit))).toBe(true)
    expect(farOf(jit)).toBe(tagged(5, OTHER))
  })

  /**
   * Page 1 (CODE): b 2f; 1: ldr x1, [x21]; ldr x2, [x21, #8]; subs x10, x10, #1; b.ne 1b; b 2f
   * Page 2: 2: `first`; add x21, x21, #`stride`; mov x10, #3; subs x12, x12, #1; b.ne 1b
   * (llvm-mc). The loop at 1 keeps x21's range verified round its back edge, so its accesses
   * have no check: each entry from page 2 (another region) verifies the range at the region's
   * start (entryVerify), x21 `stride` bytes further each round, x12 - 1 rounds. The tier's
   * machine, after the states of the two were compared.
   */
  function verifiedLoop(first: number, stride: number, s: Omit<Scenario, 'words' | 'more'>): Machine {
    const step = CODE + 0x1000
    const words = [b(CODE, step), 0xf94002a1, 0xf94006a2, 0xf100054a, bne(CODE + 16, CODE + 4), b(CODE + 20, step)]
    const stepWords = [first, (0x91000000 | (stride << 10) | (21 << 5) | 21) >>> 0, 0xd280006a, 0xf100058c, bne(step + 16, CODE + 4), HVC_END]
    const jit = both({ ...s, words, more: [[step, stepWords]] })
    expect(jit.cpu.jit!.stats.entries).toBeGreaterThan(2)
    expect(isTagFault(esrOf(jit))).toBe(true)
    return jit
  }

  test("a block entered with a group's range verified re-verifies it at entry: a range that crosses a page leaves (entryVerify)", () => {
    // verifiedLoop with ldr x3, [x22] first in page 2 (llvm-mc). x21 steps 8 bytes a round up
    // to 8 bytes before the end of TAGGED's last page: in the last round the range crosses
    // into the next VA page (SPARE, another tag), where the interpreter faults at ldr x2.
    // Page 2's load keeps that page in the fast TLB (the follower then makes no fill: fillGuard).
    const regs = { 21: tagged(5, OTHER - 48), 22: tagged(6, OTHER + 0x10), 12: 6n }
    const jit = verifiedLoop(0xf94002c3, 8, { regs, tagAt: acrossTags, taggedBlocks: [3], remap: { 3: blockDescriptor(SPARE, true) } })
    expect(farOf(jit)).toBe(tagged(5, OTHER))
    expect(jit.cpu.getX(12)).toBe(1n)
  })

  test("entryVerify reads the range's tags at each entry: a granule retagged (STG, in another region) since the loop verified it faults", () => {
    // verifiedLoop with stg x23, [x25] first in page 2 (llvm-mc): x21 steps a granule a
    // round; the STG (tag 9, in page 2's translation: no flush of the fast TLB) has retagged
    // the granule x21 reaches in the fourth round: the interpreter faults at ldr x1 there,
    // and the entry must leave. A granule of tag 7 elsewhere keeps the page's entry a checked one.
    const at = TAGGED + 0x3000
    const regs = { 21: tagged(5, at - 16), 23: tagged(9, 0), 25: tagged(5, at + 48), 12: 6n }
    const jit = verifiedLoop(0xd9200b37, 16, { regs, tagAt: (pa) => (pa === at + 0x800 ? 7 : 5) })
    expect(farOf(jit)).toBe(tagged(5, at + 48))
  })

  test("a tag store by DC GVA (a system instruction, run by its handler inside the translation) unverifies a group's range", () => {
    // ldr x1, [x21]; dc gva, x23; ldr x2, [x21, #8] (llvm-mc): DC GVA sets the tags of x21's
    // 64-byte block to 9; the follower (tag 5) must fault.
    const at = TAGGED + 0x3100
    const jit = both({ words: [...WARM, 0xf94002a1, 0xd50b7477, 0xf94006a2], regs: { 21: tagged(5, at), 23: tagged(9, at) }, tagAt: (pa) => (pa === at + 0x800 ? 7 : 5) })
    expect(jit.cpu.jit!.stats.entries).toBeGreaterThan(0)
    expect(isTagFault(esrOf(jit))).toBe(true)
    expect(farOf(jit)).toBe(tagged(5, at + 8))
  })

  test('MSR TCO (checks back on, by its handler inside the translation) leaves: the follower of a group verified while they were off is checked', () => {
    // ldr x1, [x21]; msr tco, #0; ldr x2, [x21, #8] (llvm-mc) from PSTATE.TCO = 1: the
    // leader is not checked (its granule has tag 6, the pointer 5); the follower is. The
    // handler made the fast TLB stale (its entries say "not checked"): the translation must
    // leave after it (jit.ts sysCall), or the follower, unverified (forgetsAll) but hitting
    // the stale entry, would not be checked.
    const at = TAGGED + 0x3100
    const jit = both({ words: [...WARM, 0xf94002a1, 0xd503409f, 0xf94006a2], regs: { 21: tagged(5, at) }, tagAt: (pa) => (pa === at ? 6 : pa === at + 0x800 ? 7 : 5), pstate: 0x3c5 | (1 << 25) })
    expect(jit.cpu.jit!.stats.entries).toBeGreaterThan(0)
    expect(isTagFault(esrOf(jit))).toBe(true)
    expect(farOf(jit)).toBe(tagged(5, at + 8))
  })

  test('accesses off one register over more than 16 bytes are no group: a granule in the middle or at the end of their range is checked', () => {
    // ldr x1, [x21]; ldr x2, [x21, #24] (llvm-mc): [x21, x21 + 32), two granules (x21
    // 16-aligned; a group's leader verifies at most two, first and last); the second (tag 6)
    // faults at the second load.
    const at = TAGGED + 0x3100
    const jit = both({ words: [...WARM, 0xf94002a1, 0xf9400ea2], regs: { 21: tagged(5, at) }, tagAt: (pa) => (pa === at + 16 ? 6 : pa === at + 0x800 ? 7 : 5) })
    expect(jit.cpu.jit!.stats.entries).toBeGreaterThan(0)
    expect(isTagFault(esrOf(jit))).toBe(true)
    expect(farOf(jit)).toBe(tagged(5, at + 24))
  })
})

describe("guards of the shared check (two accesses off one register in a block, emit-tags.ts Share)", () => {
  /** The shared checks' data: x21 16-aligned in TAGGED, tag 5 (a granule of tag 7 elsewhere: a checked entry). */
  const at = TAGGED + 0x3100
  /** Tag 5 but at the given granules. */
  const tagsBut = (other: Record<number, number>) => (pa: number): number => other[pa] ?? (pa === at + 0x800 ? 7 : 5)
  /** Runs the straight-line words after WARM under both; the tier's machine. */
  const run = (words: number[], s: Omit<Scenario, 'words'>): Machine => {
    const jit = both({ ...s, words: [...WARM, ...words] })
    expect(jit.cpu.jit!.stats.entries).toBeGreaterThan(0)
    return jit
  }

  test.each([true, false])("the leader claims its follower's bytes only when they lie in its page (Tagged: %s)", (isTagged) => {
    // ldr x1, [x21]; ldr x2, [x21, #16] (llvm-mc), 24 bytes (no group: more than 16), x21 16
    // bytes before the end of TAGGED's last page: the follower is in the next VA page,
    // mapped to SPARE, not the RAM physically after. Tagged: SPARE's granule has another
    // tag, the interpreter faults at the follower (the leader must not have checked the
    // tags after its own page's). Not tagged: the follower must load SPARE's data (it must
    // not reuse the leader's entry).
    const remap = { 2: blockDescriptor(TAGGED, isTagged), 3: blockDescriptor(SPARE, isTagged) }
    const jit = run([0xf94002a1, 0xf9400aa2], { regs: { 21: tagged(isTagged ? 5 : 0, OTHER - 16) }, tagAt: acrossTags, remap })
    if (isTagged) {
      expect(isTagFault(esrOf(jit))).toBe(true)
      expect(farOf(jit)).toBe(tagged(5, OTHER))
    } else {
      expect(esrOf(jit)).toBe(0n)
      expect(jit.cpu.getX(2)).toBe(BigInt(jit.memory.read32(SPARE)) | (BigInt(jit.memory.read32(SPARE + 4)) << 32n))
    }
  })

  test("a store following a load does not reuse the load's entry: on a read-only page it faults", () => {
    // ldr x1, [x21]; str x2, [x21, #16] (llvm-mc) in a read-only block (AP[2]): a permission
    // fault at the store.
    const jit = run([0xf94002a1, 0xf9000aa2], { regs: { 21: tagged(5, at) }, tagAt: tagsBut({}), remap: { 2: (blockDescriptor(TAGGED, true) | (1 << 7)) >>> 0 } })
    expect(esrOf(jit) >> 26n).toBe(0x25n)
    expect(esrOf(jit) & 0x3cn).toBe(0xcn) // permission fault
    expect(farOf(jit)).toBe(tagged(5, at + 16))
  })

  test.each([
    // ldr x1, [x21]; add x21, x21, #64; ldr x2, [x21, #24]: the base register written between.
    { what: 'the base register written between', words: [0xf94002a1, 0x910102b5, 0xf9400ea2], other: at + 80, far: at + 88 },
    // ldr x21, [x21]; ldr x2, [x21, #24]: a load into its own base register (x21 then points
    // at + 0x200 on: its second granule has the other tag).
    { what: 'a load into its own base register', words: [0xf94002b5, 0xf9400ea2], other: at + 0x210, far: at + 0x218 },
    // ldr x1, [x21, #24]; ldr x2, [x21]: the second below the first.
    { what: 'a second access below the first', words: [0xf9400ea1, 0xf94002a2], other: at, far: at },
    // ldr x1, [x21]; stg x23, [x22]; ldr x2, [x21, #24]: a tag store between (x22 = x21 + 16, tag 9).
    { what: 'a tag store between', words: [0xf94002a1, 0xd9200ad7, 0xf9400ea2], other: -1, far: at + 24 },
  ])('no shared check across $what: the second access faults on its own granule', ({ words, other, far }) => {
    // (llvm-mc.) Each time the second access's granule has another tag than its pointer's
    // (6, or 9 from the STG), and the interpreter faults there.
    const regs = { 21: tagged(5, at), 22: tagged(5, at + 16), 23: tagged(9, 0) }
    const jit = run(words, { regs, tagAt: tagsBut({ [other]: 6 }), poke: [[at, tagged(5, at + 0x200)]] })
    expect(isTagFault(esrOf(jit))).toBe(true)
    expect(farOf(jit)).toBe(tagged(5, far))
  })
})

describe("guards of the loops' verified-range cache (emit-tags.ts regionLoops)", () => {
  /** A 128-byte block of TAGGED (tag 5, a granule of tag 7 elsewhere: a checked entry). */
  const at = TAGGED + 0x3100

  test('a fill in the loop empties its cache: the page remapped (no TLBI) and evicted mid-loop is checked on its new frame', () => {
    // 1: ldr x1, [x21, x9]; str x23, [x24]; ldr x2, [x22, x9]; add x9, x9, #8;
    // subs x10, x10, #1; b.ne 1b (llvm-mc). The first load's check is cached (the range of
    // granules of its tag in x21's 256-byte block). The store rewrites x21's L2 descriptor to OTHER's
    // RAM (tag 6); the MMU's TLB keeps the old translation until the third load, which walks
    // up to the page 4 MiB above x21's (the same fast-TLB and MMU TLB entry) in the fourth
    // round. In the fifth the first load refills its entry with the new frame and the
    // interpreter faults: the fill must empty the cache (jit.ts fill: a walk empties the ranges).
    const words = [0xf8696aa1, 0xf9000317, 0xf8696ac2, 0x91002129, 0xf100054a, bne(20, 0)]
    const regs = { 21: tagged(5, at), 22: BigInt(TAGGED + 0x3000 + 0x40_0000 - 24), 23: BigInt(blockDescriptor(OTHER, true)), 24: BigInt(L2 + 8 * 2), 9: 0n, 10: 8n }
    const jit = both({ words, regs, tagAt: (pa) => (pa >= OTHER && pa < OTHER + WINDOW ? 6 : pa === at + 0x800 ? 7 : 5), taggedBlocks: [3] })
    expect(jit.cpu.jit!.stats.entries).toBeGreaterThan(0)
    expect(isTagFault(esrOf(jit))).toBe(true)
    expect(farOf(jit)).toBe(tagged(5, at + 32))
  })

  test('a loop that stores tags has no cache: a granule it retagged ahead of its load faults', () => {
    // 1: ldr x1, [x21, x9]; stg x23, [x25], #-16; add x9, x9, #8; subs x10, x10, #1; b.ne 1b
    // (llvm-mc). The STG walks down x21's 128-byte block from its last granule (tag 9), the
    // load up from its first: the load reaches a retagged granule in the seventh round.
    const words = [0xf8696aa1, 0xd93ff737, 0x91002129, 0xf100054a, bne(16, 0)]
    const regs = { 21: tagged(5, at), 23: tagged(9, 0), 25: BigInt(at + 112), 9: 0n, 10: 12n }
    const jit = both({ words, regs, tagAt: (pa) => (pa === at + 0x800 ? 7 : 5) })
    expect(jit.cpu.jit!.stats.entries).toBeGreaterThan(0)
    expect(isTagFault(esrOf(jit))).toBe(true)
    expect(farOf(jit)).toBe(tagged(5, at + 48))
  })

  test("the cache holds the pointer's tag: the same granules through a pointer of another tag fault", () => {
    // 1: ldr x1, [x21, x9]; add x21, x21, x12; mov x12, x11; add x9, x9, #8;
    // subs x10, x10, #1; b.ne 1b (llvm-mc), x12 = 0 and x11 = -(1 << 56): x21's tag is 5 in
    // the first two rounds, 4 from the third, in a block of tag 5 that the second verified.
    const words = [0xf8696aa1, 0x8b0c02b5, 0xaa0b03ec, 0x91002129, 0xf100054a, bne(20, 0)]
    const regs = { 21: tagged(5, at), 12: 0n, 11: BigInt.asUintN(64, -(1n << 56n)), 9: 0n, 10: 8n }
    const jit = both({ words, regs, tagAt: (pa) => (pa === at + 0x800 ? 7 : 5) })
    expect(jit.cpu.jit!.stats.entries).toBeGreaterThan(0)
    expect(isTagFault(esrOf(jit))).toBe(true)
    expect(farOf(jit)).toBe(tagged(4, at + 16))
  })

  test.each([
    // 1: ldr x1, [x21]; ldr x2, [x21, #16]; add x21, x21, #8; subs x10, x10, #1; b.ne 1b: a
    // shared check of 24 bytes, its leader cached. The block's fifth granule has tag 6: the
    // range a passing leader verifies ends 24 bytes before it, so that the follower's bytes
    // lie in it too; the follower reaches it in the seventh round.
    { what: "its follower's bytes", words: [0xf94002a1, 0xf9400aa2, 0x910022b5], other: [4], far: 64 },
    // 1: ldr x1, [x21, #8]; ldr x2, [x21, #32]; add x21, x21, #64; subs x10, x10, #1; b.ne 1b:
    // 32 bytes over three granules, the middle one of tag 6 in the first two rounds (the
    // shared check fails, each access passes its own: the range then holds nothing), the
    // leader's own granule in the third.
    { what: 'only ranges that hold the access', words: [0xf94006a1, 0xf94012a2, 0x910102b5], other: [1, 5, 8], far: 136 },
  ])("a cached shared check's leader verifies $what", ({ words, other, far }) => {
    // (llvm-mc.)
    const regs = { 21: tagged(5, at), 9: 0n, 10: 10n }
    const jit = both({ words: [...words, 0xf100054a, bne(16, 0)], regs, tagAt: (pa) => (other.includes((pa - at) / 16) ? 6 : pa === at + 0x800 ? 7 : 5) })
    expect(jit.cpu.jit!.stats.entries).toBeGreaterThan(0)
    expect(isTagFault(esrOf(jit))).toBe(true)
    expect(farOf(jit)).toBe(tagged(5, at + far))
  })
})

describe('the misaligned-granule test (emit-ops.ts access)', () => {
  test.each([
    { what: 'ldr x1, [x21]', word: 0xf94002a1, off: 12 },
    { what: 'str x2, [x21]', word: 0xf90002a2, off: 9 },
    { what: 'ldr w1, [x21]', word: 0xb94002a1, off: 14 },
  ])("a misaligned access reaching into the next granule of another tag faults ($what)", ({ word, off }) => {
    // (llvm-mc.) The access starts `off` bytes into a granule of its pointer's tag (5) and
    // ends in the next, of tag 6: the check looks at its first byte's granule, and the
    // misaligned access must leave for the interpreter, which checks both and faults.
    const at = TAGGED + 0x3100
    const jit = both({ words: [...WARM, word], regs: { 21: tagged(5, at + off) }, tagAt: (pa) => (pa === at + 16 ? 6 : pa === at + 0x800 ? 7 : 5) })
    expect(jit.cpu.jit!.stats.entries).toBeGreaterThan(0)
    expect(isTagFault(esrOf(jit))).toBe(true)
  })
})
