// The compiled tier against the interpreter on random programs: the same random words (the
// instructions the tier implements, branches within the program, loads and stores through
// pointers into RAM, some tagged, some misaligned, some into MMIO space), the same random
// registers, flags and MTE settings, then equal registers, SP, PC, NZCV, memory, tags,
// ESR/FAR/ELR and retired counts, for budgets that cut translations anywhere.

import { decode } from '@tagvm/a64'
import { describe, expect, test } from 'vitest'
import type { Cpu } from '../cpu.js'
import { RAM_BASE, enableIdentityMmu, makeMachine, type Machine } from '../test-helpers.js'
import { EXIT_SLOW } from './layout.js'
import { isSupported } from './region.js'

function rng(seed: number): () => number {
  let s = seed >>> 0 || 1
  return () => {
    s ^= s << 13
    s >>>= 0
    s ^= s >>> 17
    s ^= s << 5
    s >>>= 0
    return s
  }
}

const CODE = RAM_BASE + 0x20_0000
const DATA = RAM_BASE + 0x30_0000
/** Tagged 2 MiB block of the identity map (MAIR attr 1 = 0xF0). */
const TAGGED = RAM_BASE + 0x40_0000
const VBAR = RAM_BASE + 0x1000
/** Bytes of DATA and TAGGED the programs' pointers reach, reset before and compared after each run. */
const WINDOW = 0x1_0000
const HVC_END = 0xd41e01a2 // hvc #0xf00d
/** The random programs' initial SP lies up to 1 KiB below. */
const STACK_TOP = DATA + 0x10_0000

/** A word the tier implements, with register fields biased to the few registers that hold pointers. */
function randomInsn(next: () => number, index: number, length: number): number {
  for (;;) {
    let w = next()
    const kind = w % 8
    // Data processing (immediate: op0 100x; register: x101).
    if (kind <= 2) w = ((w & ~(0xf << 25)) | ([0b1000, 0b1001, 0b0101, 0b1101][next() % 4]! << 25)) >>> 0
    if (kind === 3 || kind === 4) {
      // Loads/stores with the base register one of x20..x23 (pointers) or SP.
      w = ((w & 0x3fffffff) | 0x38000000) >>> 0
      const bases = [20, 21, 22, 23, 31]
      w = ((w & ~(31 << 5)) | (bases[next() % bases.length]! << 5)) >>> 0
      if (next() % 3 === 0) w = ((w & ~(31 << 16)) | ((24 + (next() % 2)) << 16)) >>> 0 // index x24/x25
    }
    if (kind === 5) {
      // Pairs.
      w = ((w & 0x3fffffff) | 0x28000000) >>> 0
      w = ((w & ~(31 << 5)) | ([20, 21, 22, 31][next() % 4]! << 5)) >>> 0
    }
    if (kind === 6 && next() % 2 === 0) {
      // CRC32/CRC32C: rare among random words, so made on purpose.
      const sz = next() % 4
      w = ((sz === 3 ? 1 << 31 : 0) | (0b0011010110 << 21) | ((next() % 32) << 16) | (0b010 << 13) | ((next() % 2) << 12) | (sz << 10) | (w & 0x3ff)) >>> 0
    }
    if (kind === 6 && next() % 3 === 0) {
      // Register-only instructions the tier runs through the interpreter's handler: IRG, GMI,
      // SUBP (MTE, on random and pointer registers) and RBIT/REV16/REV32/REV/CLS.
      const rn = [21, 23, 31, next() % 32][next() % 4]!
      const rd = next() % 20
      if (next() % 2 === 0) w = ((1 << 31) | (0b0011010110 << 21) | ((next() % 32) << 16) | ([0b000100, 0b000101, 0b000000][next() % 3]! << 10) | (rn << 5) | rd) >>> 0
      else w = (((next() % 2) << 31) | (1 << 30) | (0b11010110 << 21) | ([0, 1, 2, 3, 5][next() % 5]! << 10) | (rn << 5) | rd) >>> 0
    }
    if (kind === 7 && next() % 4 === 0) {
      // MTE: ADDG/SUBG, or STG/STZG/ST2G/STZ2G (post, offset, pre) through a pointer or SP.
      const base = [21, 23, 31, 20][next() % 4]!
      if (next() % 2 === 0) {
        const rd = [0, 1, 2, 5, 21, 23][next() % 6]!
        w = ((1 << 31) | ((next() % 2) << 30) | (0b100011 << 23) | ((next() % 64) << 16) | ((next() % 16) << 10) | (base << 5) | rd) >>> 0
      } else {
        const imm9 = ((next() % 9) - 4) & 0x1ff
        w = ((0b11011001 << 24) | ((next() % 4) << 22) | (1 << 21) | (imm9 << 12) | ((1 + (next() % 3)) << 10) | (base << 5) | (next() % 32)) >>> 0
      }
    }
    if (kind === 4 && next() % 6 === 0) {
      // Exclusives (LDXR/LDAXR/STXR/STLXR, pairs), CAS/CASP and the LSE atomics through a
      // pointer or SP (tagged, misaligned, MMIO): the tier runs their handler in the translation.
      const base = [20, 21, 22, 23, 31][next() % 5]!
      const size = next() % 4
      const rs = [0, 2, 4, 6, next() % 32][next() % 5]!
      const rt = [1, 2, 3, 8, next() % 32][next() % 5]!
      const pick = next() % 4
      if (pick === 0) {
        // size 001000 o2=0 L o1 Rs o0 Rt2 Rn Rt (o1: pair, 32/64-bit only).
        const pair = next() % 3 === 0
        const sz = pair ? 2 + (next() % 2) : size
        w = ((sz << 30) | (0b001000 << 24) | ((next() % 2) << 22) | ((pair ? 1 : 0) << 21) | (rs << 16) | ((next() % 2) << 15) | ((pair ? next() % 16 : 31) << 10) | (base << 5) | rt) >>> 0
      } else if (pick === 1) {
        // CAS: size 001000 1 L 1 Rs o0 11111 Rn Rt; CASP: 0 sz 001000 0 L 1 Rs o0 11111 Rn Rt (Rs, Rt even).
        const pair = next() % 2 === 0
        const top = pair ? (next() % 2) << 30 : (size << 30) | (1 << 23)
        w = (top | (0b001000 << 24) | ((next() % 2) << 22) | (1 << 21) | ((pair ? rs & ~1 : rs) << 16) | ((next() % 2) << 15) | (31 << 10) | (base << 5) | (pair ? rt & ~1 : rt)) >>> 0
      } else {
        // LD<op>/ST<op>/SWP: size 111 0 00 A R 1 Rs o3 opc 00 Rn Rt.
        const swp = next() % 4 === 0
        w = ((size << 30) | (0b111 << 27) | ((next() % 2) << 23) | ((next() % 2) << 22) | (1 << 21) | (rs << 16) | ((swp ? 1 : 0) << 15) | ((swp ? 0 : next() % 8) << 12) | (base << 5) | (pick === 3 ? 31 : rt)) >>> 0
      }
    }
    if (kind === 2 && next() % 3 === 0) {
      // SIMD&FP data processing (op0 x111): moves, MOVI, the bitwise vector ops (in wasm), the
      // FP arithmetic and compares (through their handler, FCMP setting NZCV). The loads/stores
      // above are SIMD&FP ones when their bit 26 is set.
      w = ((w & ~(0xf << 25)) | ([0b0111, 0b1111][next() % 2]! << 25)) >>> 0
    }
    if (kind === 0 && next() % 6 === 0) {
      // Hints (NOP, YIELD, PACIASP, AUTIASP, BTI, CSDB...: the tier runs those the interpreter
      // runs as NOPs; WFE/WFI/SEV stay out) and DSB/DMB.
      w = next() % 3 === 0 ? (0xd503309f | ((next() % 16) << 8) | ((4 + (next() % 2)) << 5)) >>> 0 : (0xd503201f | ((next() % 128) << 5)) >>> 0
    }
    const d = decode(w >>> 0)
    if (!isSupported(d)) continue
    // Branches stay inside the program (or jump just past it, to the end).
    if (d.name === 'BR' || d.name === 'BLR' || d.name === 'RET') continue
    if (d.name === 'B' || d.name === 'BL' || d.name === 'B_cond' || d.name === 'CBZ' || d.name === 'CBNZ' || d.name === 'TBZ' || d.name === 'TBNZ') {
      const target = next() % (length + 1) // forward or backward; loops end through the budget
      const delta = (target - index) * 4
      if (d.name === 'B' || d.name === 'BL') return ((w & 0xfc000000) | ((delta >> 2) & 0x03ffffff)) >>> 0
      if (d.name === 'TBZ' || d.name === 'TBNZ') return ((w & 0xfff8001f) | (((delta >> 2) & 0x3fff) << 5)) >>> 0
      return ((w & 0xff00001f) | (((delta >> 2) & 0x7ffff) << 5)) >>> 0
    }
    // Never write the pointer registers or SP with ALU results (loads and writeback may).
    const rd = w & 31
    if (rd >= 20 && rd <= 25 && !/^(LD|ST)/.test(d.name) && d.name !== 'ADDG' && d.name !== 'SUBG') continue
    if (rd === 31 && /^(ADD|SUB|AND|ORR|EOR)_[ix]$/.test(d.name)) continue
    return w >>> 0
  }
}

interface Setup {
  words: number[]
  regs: bigint[]
  nzcv: number
  sp: bigint
  tcf: number
  tco: number
  mmu: boolean
  rgsr: bigint
  gcr: bigint
  /** SCTLR_EL1.A: every misaligned access faults (else only on Device memory: stage 1 off). */
  strictAlign?: boolean
  /** Granule g's tag at TAGGED (default (g >> 1) % 16: both granules of each tag byte alike). */
  tagOf?: (g: number) => number
  /** Doublewords written over the data (address, value) once memory and tags are set. */
  poke?: [number, bigint][]
  /** CPACR_EL1.FPEN lets FP/SIMD run at EL1 (else every FP/SIMD instruction traps). */
  fpen?: boolean
  /** V0-V31 at the start, and FPCR. */
  vregs?: bigint[]
  fpcr?: bigint
}

function randomSetup(next: () => number): Setup {
  const length = 8 + (next() % 40)
  const words: number[] = []
  for (let i = 0; i < length; i++) words.push(randomInsn(next, i, length))
  const regs: bigint[] = []
  const r64 = (): bigint => (BigInt(next()) << 32n) | BigInt(next())
  const small = (): bigint => BigInt(next() % 64) - 32n
  for (let r = 0; r < 31; r++) {
    const k = next() % 4
    regs.push(k === 0 ? r64() : k === 1 ? BigInt.asUintN(64, small()) : k === 2 ? BigInt(next()) : BigInt(next() % 4096))
  }
  // Half of the tagged pointers 16-aligned, so that tag stores (STG...) mostly do not fault.
  const tagged = (base: number): bigint => (BigInt(next() % 16) << 56n) | BigInt(base + (next() % 2048) * (next() % 2 === 0 ? 16 : 8))
  regs[20] = BigInt(DATA + (next() % 8192) * 8)
  regs[21] = tagged(TAGGED)
  regs[22] = next() % 8 === 0 ? BigInt(0x0900_0000 + (next() % 64) * 4) : BigInt(DATA + (next() % 65536))
  regs[23] = tagged(TAGGED + 0x1000)
  regs[24] = BigInt(next() % 256) * 8n
  regs[25] = BigInt.asUintN(64, small() * 8n)
  return {
    words, regs, nzcv: next() & 0xf, sp: BigInt(STACK_TOP - (next() % 64) * 16 - (next() % 4 === 0 ? 8 : 0)),
    tcf: next() % 4, tco: next() % 4 === 0 ? 1 : 0, mmu: next() % 4 !== 0,
    rgsr: BigInt((next() & 0xffff) << 8 | (next() & 15)), gcr: BigInt(next() % 4 === 0 ? next() & 0xffff : 1),
    strictAlign: next() % 5 === 0,
    fpen: next() % 8 !== 0,
    // V registers: random bits, or doubles / floats of small integers (finite arithmetic).
    vregs: Array.from({ length: 32 }, () => {
      const k = next() % 3
      if (k === 0) return (r64() << 64n) | r64()
      const lane = (): bigint => BigInt(k === 1 ? 0x4000_0000 + (next() % 4096) * 0x1_0000 : next() % 2 === 0 ? 0x4100_0000 : 0xc0a0_0000)
      return k === 1 ? ((lane() << 96n) | (lane() << 32n)) : (lane() << 96n) | (lane() << 64n) | (lane() << 32n) | lane()
    }),
    fpcr: next() % 4 === 0 ? BigInt(next() & 0x07c8_0000) : 0n,
  }
}

function machine(jit: boolean, setup: Setup): Machine {
  const m = makeMachine(16 << 20, true, false, jit ? { threshold: 1 } : undefined)
  const cpu = m.cpu
  if (setup.mmu) enableIdentityMmu(m)
  // Identity map attr 1 (MAIR 0xF0: Tagged) for the block at TAGGED.
  if (setup.mmu) m.memory.write32(RAM_BASE + 0x1_1000 + 8 * 2, (TAGGED | (1 << 10) | (3 << 8) | (1 << 2) | 1) >>> 0)
  cpu.setSysreg('ID_AA64PFR1_EL1', cpu.getSysreg('ID_AA64PFR1_EL1') | (3n << 8n))
  cpu.setHcrEl2(1n | (1n << 56n))
  cpu.setSysreg('TCR_EL1', cpu.getSysreg('TCR_EL1') | (1n << 37n)) // TBI0
  cpu.setSysreg('SCTLR_EL1', cpu.getSysreg('SCTLR_EL1') | (1n << 43n) | (BigInt(setup.tcf) << 40n) | (setup.strictAlign === true ? 2n : 0n))
  for (let k = 0; k < 16; k++) m.memory.write32(VBAR + 0x80 * k, (0xd4000002 | ((0x100 + k) << 5)) >>> 0)
  cpu.setSysreg('VBAR_EL1', BigInt(VBAR))
  return m
}

function start(m: Machine, setup: Setup): void {
  const cpu = m.cpu
  // Memory and tags as the program first saw them: granules 2h and 2h + 1 of the tagged pages
  // have tag h % 16 (a pair spanning two granules passes from an even one, fails from an odd).
  // The whole window the pointers reach (x21/x23 start up to 32 KiB in; the warm-up pass's
  // stores must not survive into the compared one).
  const tagOf = setup.tagOf ?? ((g: number): number => (g >> 1) % 16)
  for (let g = 0; g < WINDOW / 16; g++) m.memory.setTag(TAGGED + 16 * g, tagOf(g))
  for (let i = 0; i < WINDOW; i += 4) {
    m.memory.write32(DATA + i, (i * 0x9e3779b1) >>> 0)
    m.memory.write32(TAGGED + i, (i * 0x85ebca6b) >>> 0)
  }
  // The stack as well: SP-based loads (exclusives, atomics) must not see the warm-up pass's stores.
  m.memory.fill(STACK_TOP - 0x1_0000, 0x1_8000, 0)
  for (const [at, v] of setup.poke ?? []) {
    m.memory.write32(at, Number(v & 0xffff_ffffn))
    m.memory.write32(at + 4, Number(v >> 32n))
  }
  for (const name of ['ESR_EL1', 'FAR_EL1', 'ELR_EL1', 'SPSR_EL1', 'TFSR_EL1'] as const) cpu.setSysreg(name, 0n)
  // IRG's state (the warm-up pass advanced it) and exclusions, from the setup.
  cpu.setSysreg('RGSR_EL1', setup.rgsr)
  cpu.setSysreg('GCR_EL1', setup.gcr)
  setup.words.forEach((w, i) => m.memory.write32(CODE + 4 * i, w))
  m.memory.write32(CODE + 4 * setup.words.length, HVC_END)
  cpu.invalidateCode(CODE, 4 * setup.words.length + 4)
  setup.regs.forEach((v, r) => cpu.setX(r, v))
  cpu.sp = setup.sp
  cpu.pstate = ((setup.nzcv << 28) | (setup.tco << 25) | 0x3c5) >>> 0
  cpu.setSysreg('CPACR_EL1', setup.fpen === true ? 3n << 20n : 0n)
  cpu.setSysreg('FPCR', setup.fpcr ?? 0n)
  cpu.setSysreg('FPSR', 0n)
  for (let n = 0; n < 32; n++) cpu.setV(n, setup.vregs?.[n] ?? 0n)
  cpu.pc = BigInt(CODE)
}

function snapshot(cpu: Cpu, retired: number): string {
  const regs = Array.from({ length: 31 }, (_, r) => cpu.getX(r).toString(16))
  const sys = ['ESR_EL1', 'FAR_EL1', 'ELR_EL1', 'SPSR_EL1', 'TFSR_EL1', 'RGSR_EL1', 'FPSR'].map((n) => cpu.getSysreg(n as 'ESR_EL1').toString(16))
  const v = Array.from({ length: 32 }, (_, n) => cpu.getV(n).toString(16))
  return JSON.stringify({ regs, sp: cpu.sp.toString(16), pc: cpu.pc.toString(16), pstate: cpu.pstate.toString(16), sys, v, retired })
}

function memoryDigest(m: Machine): string {
  let h = 0
  for (const base of [DATA, TAGGED]) {
    for (let i = 0; i < WINDOW; i += 4) h = (Math.imul(h, 31) + m.memory.read32(base + i)) | 0
  }
  for (let g = 0; g < WINDOW / 16; g++) h = (Math.imul(h, 31) + m.memory.getTag(TAGGED + 16 * g)) | 0
  return h.toString(16)
}

/** Runs the program under `budgets` (each a run() call, with exits answered), returns the states seen. */
function play(m: Machine, setup: Setup, budgets: number[]): string[] {
  const seen: string[] = []
  start(m, setup)
  const first = m.cpu.retired
  for (const budget of budgets) {
    const exit = m.cpu.run(budget)
    seen.push(`${exit.kind} ${snapshot(m.cpu, m.cpu.retired - first)}`)
    if (exit.kind === 'data-abort') m.cpu.advancePc() // MMIO: skip it
    else if (exit.kind !== 'budget') break
  }
  seen.push(memoryDigest(m))
  return seen
}

/**
 * Runs the program `first` instructions; if the budget ended it, lets `retag` change a tag (as
 * the VMM would between runs; it says where, or null) and runs on. The states seen.
 */
/**
 * A list walk of the group tests (x21 the first node, x22 an STG's tag, x10 nodes - 1, x9 = 0)
 * under the tier and the interpreter, TCF by round, budgets that cut it in odd rounds: both
 * must see the same states. The tier's machine, for the caller's counts.
 */
function playWalk(words: number[], round: number, next: () => number, first: bigint, stgTag: bigint, nodes: number, tags: Map<number, number>, poke: [number, bigint][]): Machine {
  const regs = Array.from({ length: 31 }, (_, r) => BigInt(r) * 0x0101_0101_0101n)
  regs[21] = first
  regs[22] = stgTag
  regs[9] = 0n
  regs[10] = BigInt(nodes - 1)
  const setup: Setup = {
    words, regs, nzcv: 0, sp: BigInt(DATA + 0x10_0000), tcf: round % 4, tco: 0, mmu: true, rgsr: 0x100n, gcr: 0n,
    tagOf: (g) => tags.get(g) ?? 0, poke,
  }
  const budgets = round % 2 === 0 ? [100_000] : [1 + (next() % 40), 1 + (next() % 300), 100_000]
  const jit = machine(true, setup)
  expect(play(jit, setup, budgets)).toEqual(play(machine(false, setup), setup, budgets))
  return jit
}

function runRetagged(m: Machine, setup: Setup, first: number, retag: (m: Machine) => number | null): string[] {
  start(m, setup)
  const seen: string[] = []
  let exit = m.cpu.run(first)
  seen.push(`${exit.kind} ${snapshot(m.cpu, 0)}`)
  if (exit.kind === 'budget') {
    seen.push(String(retag(m)))
    exit = m.cpu.run(100_000)
    seen.push(`${exit.kind} ${snapshot(m.cpu, 0)}`)
  }
  seen.push(memoryDigest(m))
  return seen
}

describe('compiled tier vs interpreter on random programs', () => {
  test('500 random programs: same state after every run, whatever the budgets', () => {
    const next = rng(0x5eed)
    let translatedRuns = 0
    for (let round = 0; round < 500; round++) {
      const setup = randomSetup(next)
      const budgets = [1 + (next() % 7), 1 + (next() % 50), 1000, 10_000]
      const interp = machine(false, setup)
      const jit = machine(true, setup)
      // Warm the tier: the first pass translates (threshold 1), the compared pass runs translations.
      play(jit, setup, budgets)
      const expected = play(interp, setup, budgets)
      const before = jit.cpu.jit!.stats.entries
      const got = play(jit, setup, budgets)
      if (jit.cpu.jit!.stats.entries > before) translatedRuns++
      if (JSON.stringify(got) !== JSON.stringify(expected)) {
        const listing = setup.words.map((w, i) => `${i}: ${w.toString(16).padStart(8, '0')} ${decode(w).name}`).join('\n')
        expect.soft(got, `round ${round}\n${listing}\n${JSON.stringify(setup, (_, v: unknown) => (typeof v === 'bigint' ? v.toString(16) : v))}`).toEqual(expected)
        return
      }
    }
    expect(translatedRuns).toBeGreaterThan(100)
    // ~17 s alone; beside the other test files at load 5-10 it has taken over the config's 120 s.
  }, 600_000)

  test('pairs and CRC32 on tagged memory: every granule a pair touches is checked', () => {
    // LDP/STP at every 8-byte offset of four granules (tags 0, 0, 1, 1, 2 from TAGGED), with each
    // pointer tag: a pair spanning granules 1 and 2 matches the first and not the second.
    // 1: ldp x0, x1, [x21], #8; crc32x w6, w6, x0; crc32cb w7, w7, w1; stp x2, x3, [x23], #8;
    // ldp w4, w5, [x21, #4]; subs x10, x10, #1; b.ne 1b (llvm-mc): the first pass translates
    // (threshold 1), the second runs translated, 8 bytes further on.
    const words = [0xa8c086a0, 0x9ac04cc6, 0x1ac150e7, 0xa8808ee2, 0x294096a4, 0xf100054a, 0x54ffff41]
    let compared = 0
    for (let off = 0; off < 64; off += 8) {
      for (const tag of [0, 1, 2]) {
        const regs = Array.from({ length: 31 }, (_, r) => BigInt(r) * 0x1111_1111_1111n)
        regs[21] = (BigInt(tag) << 56n) | BigInt(TAGGED + off)
        regs[23] = (BigInt(tag) << 56n) | BigInt(TAGGED + off)
        regs[10] = 2n
        const setup: Setup = { words, regs, nzcv: 0, sp: BigInt(DATA + 0x10_0000), tcf: 1, tco: 0, mmu: true, rgsr: 0x100n, gcr: 0n }
        const jit = machine(true, setup)
        expect(play(jit, setup, [100])).toEqual(play(machine(false, setup), setup, [100]))
        if (jit.cpu.getX(10) === 0n) expect(jit.cpu.jit!.stats.entries).toBeGreaterThan(0)
        compared++
      }
    }
    expect(compared).toBe(24)
  })

  test('tag checks on granules whose tag byte holds two different tags, from each nibble', () => {
    // The inline check compares the whole tag byte first (both granules tagged alike), then
    // the granule's own nibble. Tags here differ between the two granules of a byte (the
    // random programs' never do). 1: ldr x0, [x21]; ldrb w1, [x21, #16]; str x2, [x21, #32];
    // ldp x3, x4, [x21, #40]; stp x5, x6, [x21, #56]; ldr x7, [x21, #72]; ldrh w8, [x21, #88];
    // strb w9, [x21, #104]; ldp w10, w11, [x21, #116]; add x21, x21, #128; subs x12, x12, #1;
    // b.ne 1b (llvm-mc): the first pass (interpreted; translates, threshold 1) reads granules
    // that all carry the pointer's tag, the second (translated) the next eight, starting on an
    // even or an odd granule. Each of those keeps the pointer's tag with probability 3/4, else
    // another (0 and 15 among them), so some runs pass every check and the others fault at
    // the first granule that differs, in each TCF mode.
    const words = [0xf94002a0, 0x394042a1, 0xf90012a2, 0xa94292a3, 0xa9039aa5, 0xf94026a7, 0x7940b2a8, 0x3901a2a9, 0x294eaeaa, 0x910202b5, 0xf100058c, 0x54fffea1]
    const next = rng(0x7a95)
    let faults = 0
    let passes = 0
    for (let round = 0; round < 96; round++) {
      const tag = round % 16
      const first = 2 * (next() % 64) + (round % 2)
      const tags = new Map<number, number>()
      for (let g = first; g < first + 8; g++) tags.set(g, tag)
      for (let g = first + 8; g < first + 16; g++) {
        if (next() % 4 !== 0) tags.set(g, tag)
        else tags.set(g, [0, 15, tag ^ 1, tag ^ 8, next() % 16][next() % 5]!)
      }
      const regs = Array.from({ length: 31 }, (_, r) => BigInt(r) * 0x0101_0101_0101n)
      regs[21] = (BigInt(tag) << 56n) | BigInt(TAGGED + 16 * first)
      regs[12] = 2n
      const setup: Setup = {
        words, regs, nzcv: 0, sp: BigInt(DATA + 0x10_0000), tcf: 1 + (round % 3), tco: 0, mmu: true, rgsr: 0x100n, gcr: 0n,
        tagOf: (g) => tags.get(g) ?? (g * 7) % 16,
      }
      const jit = machine(true, setup)
      expect(play(jit, setup, [100])).toEqual(play(machine(false, setup), setup, [100]))
      expect(jit.cpu.jit!.stats.entries).toBeGreaterThan(0)
      if (jit.cpu.getSysreg('ESR_EL1') !== 0n) faults++
      else passes++
    }
    expect(faults).toBeGreaterThan(10)
    expect(passes).toBeGreaterThan(10)
  })

  test('every condition after ADDS and CMN in the same block, on edge operands', () => {
    // adds x0, x1, x2 or cmn x1, #imm, then csinc x3..x16, xzr, xzr, <cond 0..13> (CSET of the
    // inverted condition) in the one block; the same with adds w0, w1, w2 / cmn w1, #imm into
    // x17..x30 (llvm-mc encodings; cond in bits 15:12); subs x10, x10, #1; b.ne back: the
    // first time round is interpreted (and makes the block hot), the second translated.
    const csinc = (rd: number, cond: number): number => (0x9a9f07e0 | (cond << 12) | rd) >>> 0
    const edges = [0n, 1n, 26n, 0x7fff_ffffn, 0x8000_0000n, 0xffff_ffe6n, 0xffff_ffffn, 0x1_0000_0000n, 0x7fff_ffff_ffff_ffffn, 0x8000_0000_0000_0000n,
      0xffff_ffff_ffff_ffe6n, 0xffff_ffff_ffff_ffe5n, 0xffff_ffff_ffff_ffffn]
    let compared = 0
    for (const imm of [null, 0, 26, 4095]) {
      const add64 = imm === null ? 0xab020020 : (0xb100003f | (imm << 10)) >>> 0
      const add32 = imm === null ? 0x2b020020 : (0x3100003f | (imm << 10)) >>> 0
      const words = [add64, ...Array.from({ length: 14 }, (_, c) => csinc(3 + c, c)), add32, ...Array.from({ length: 14 }, (_, c) => csinc(17 + c, c))]
      words.push(0xf100054a, (0x54000001 | ((-words.length & 0x7ffff) << 5)) >>> 0)
      for (let i = 0; i < edges.length; i++) {
        for (let j = 0; j < edges.length; j += imm === null ? 1 : edges.length) {
          const regs = Array.from({ length: 31 }, () => 0n)
          regs[1] = edges[i]!
          regs[2] = edges[j]!
          regs[10] = 2n
          const setup: Setup = { words, regs, nzcv: 0, sp: BigInt(DATA + 0x10_0000), tcf: 0, tco: 0, mmu: false, rgsr: 0x100n, gcr: 0n }
          const jit = machine(true, setup)
          expect(play(jit, setup, [100]), `imm ${imm} a ${edges[i]!.toString(16)} b ${edges[j]!.toString(16)}`).toEqual(play(machine(false, setup), setup, [100]))
          expect(jit.cpu.jit!.stats.retired).toBeGreaterThan(30)
          compared++
        }
      }
    }
    expect(compared).toBe(13 * 13 + 3 * 13)
  })

  test('IRG in wasm: RGSR_EL1 seeds, GCR_EL1 exclusions and RRND, Xm exclusions through the handler, tag access off', () => {
    // irg x1, x2; irg x3, x1, x4; irg x5, x5; irg sp, x6; subs x10, x10, #1; b.ne back
    // (llvm-mc): the first time round interpreted, the next three translated; x4 = 0 keeps
    // the second IRG in wasm, a non-zero x4 sends it to the handler between wasm ones.
    const words = [0x9adf1041, 0x9ac41023, 0x9adf10a5, 0x9adf10df, 0xf100054a, (0x54000001 | ((-5 & 0x7ffff) << 5)) >>> 0]
    let compared = 0
    for (const ata of [true, false]) {
      for (const gcr of [0n, 1n, 0xfffen, 0xffffn, 0x1_0000n, 0x1_00f0n]) {
        for (const rgsr of [0n, 0x100n, 0xabcd05n, 0xffff0fn]) {
          for (const x4 of [0n, 0x8001n]) {
            const regs = Array.from({ length: 31 }, (_, r) => BigInt(r) * 0x0101_0101_0101n)
            regs[4] = x4
            regs[10] = 4n
            const setup: Setup = { words, regs, nzcv: 0, sp: BigInt(DATA + 0x10_0000), tcf: 0, tco: 0, mmu: false, rgsr, gcr }
            const [jit, interp] = [machine(true, setup), machine(false, setup)]
            if (!ata) for (const m of [jit, interp]) m.cpu.setSysreg('SCTLR_EL1', m.cpu.getSysreg('SCTLR_EL1') & ~(1n << 43n))
            expect(play(jit, setup, [100]), `ata ${ata} gcr ${gcr.toString(16)} rgsr ${rgsr.toString(16)} x4 ${x4}`).toEqual(play(interp, setup, [100]))
            expect(jit.cpu.jit!.stats.retired).toBeGreaterThan(15)
            compared++
          }
        }
      }
    }
    expect(compared).toBe(2 * 6 * 4 * 2)
  })

  test('pairs over mixed tags: one compare when both granules match a tag byte, else each nibble; faults on either element', () => {
    // 1: ldp x0, x1, [x21]; stp x2, x3, [x23]; ldp w4, w5, [x24]; stp w6, w7, [x25];
    // ldpsw x8, x9, [x24, #4]; add x21, x21, #8; add x23, x23, #8; add x24, x24, #4;
    // add x25, x25, #4; subs x10, x10, #1; b.ne 1b (llvm-mc). The first pass (interpreted;
    // translates, threshold 1) runs on granules of the pointer's tag, the translated passes
    // walk on, pairs from every 4- or 8-byte offset: within a granule, across two granules
    // of one tag byte, across two tag bytes. Granules after the first two carry the pointer's
    // tag, or (a quarter of them, more in some rounds) another, so that bytes hold two tags
    // and a pair may match in its first element and not its second; all four TCF modes.
    const words = [0xa94006a0, 0xa9000ee2, 0x29401704, 0x29001f26, 0x6940a708, 0x910022b5, 0x910022f7, 0x91001318, 0x91001339, 0xf100054a, (0x54000001 | ((-10 & 0x7ffff) << 5)) >>> 0]
    const next = rng(0x9a1c)
    let faults = 0
    let secondElement = 0
    let clean = 0
    for (let round = 0; round < 100; round++) {
      const tag = (round * 7) % 16
      const tcf = round % 4
      // Four areas, one per pointer, 256 bytes apart; each starts 0-7 words into a granule pair.
      const base = TAGGED + 0x400 * (round % 3) + 32 * (next() % 8)
      const start = [base + 8 * (next() % 4), base + 0x100 + 8 * (next() % 4), base + 0x200 + 4 * (next() % 8), base + 0x300 + 4 * (next() % 8)]
      const odds = round % 5 === 0 ? 0 : round % 5 === 1 ? 2 : 4
      const tags = new Map<number, number>()
      for (let g = 0; g < 0x1000 / 16; g++) {
        const near = start.some((p) => g >= (p - TAGGED) >> 4 && g < ((p - TAGGED) >> 4) + 2)
        tags.set(g, near || odds === 0 || next() % odds !== 0 ? tag : [0, 15, tag ^ 1, tag ^ 8][next() % 4]!)
      }
      const regs = Array.from({ length: 31 }, (_, r) => BigInt(r) * 0x0101_0101_0101n)
      ;[21, 23, 24, 25].forEach((r, i) => (regs[r] = (BigInt(tag) << 56n) | BigInt(start[i]!)))
      regs[10] = 14n
      const setup: Setup = { words, regs, nzcv: 0, sp: BigInt(DATA + 0x10_0000), tcf, tco: 0, mmu: true, rgsr: 0x100n, gcr: 0n, tagOf: (g) => tags.get(g) ?? 0 }
      const jit = machine(true, setup)
      expect(play(jit, setup, [1000])).toEqual(play(machine(false, setup), setup, [1000]))
      expect(jit.cpu.jit!.stats.entries).toBeGreaterThan(0)
      const esr = jit.cpu.getSysreg('ESR_EL1')
      if (esr !== 0n) {
        faults++
        // Which pair faulted (ELR), and on which element (FAR against its base register).
        const index = Number(jit.cpu.getSysreg('ELR_EL1')) - CODE >> 2
        const baseReg = [21, 23, 24, 25, 24][index]!
        const far = jit.cpu.getSysreg('FAR_EL1') & 0xffff_ffff_ffffn
        const first = (jit.cpu.getX(baseReg) & 0xffff_ffff_ffffn) + (index === 4 ? 4n : 0n)
        if (far !== first) secondElement++
      } else if (jit.cpu.getSysreg('TFSR_EL1') === 0n) {
        // No tag mismatch anywhere: the translation ran the whole loop without leaving (its one
        // side exit is the HVC after it): a matching pair never goes to the interpreter.
        expect(jit.cpu.getX(10)).toBe(0n)
        expect(jit.cpu.jit!.stats.exits[EXIT_SLOW]).toBe(1)
        clean++
      }
    }
    expect(faults).toBeGreaterThan(10)
    // The pointers walk up, so the first granule that differs is met by a pair's second element.
    expect(secondElement).toBeGreaterThan(10)
    expect(clean).toBeGreaterThan(20)
  })

  test('a shared check over three granules reads the middle one too', () => {
    // 1: ldp x0, x1, [x21]; ldp x2, x3, [x21, #16]; add x21, x21, #32; subs x10, x10, #1;
    // b.ne 1b (llvm-mc). The first pair leads a check of 32 bytes for both; from 8 bytes into
    // a granule they touch three granules, and with a 32-byte stride the middle one is never
    // the first or last granule of a leader's range: a leader reading only the two ends would
    // let the follower (which reads the middle granule) skip a mismatch there.
    const words = [0xa94006a0, 0xa9410ea2, 0x910082b5, 0xf100054a, (0x54000001 | ((-4 & 0x7ffff) << 5)) >>> 0]
    const next = rng(0x3a17)
    let faults = 0
    for (let round = 0; round < 60; round++) {
      const tag = (round * 5) % 16
      const tcf = 1 + (round % 3)
      const start = TAGGED + 0x200 * (round % 4) + 16 * (next() % 4) + 8
      const middle = round % 5 === 0 ? -1 : ((start - TAGGED) >> 4) + 2 * (1 + (next() % 7)) + 1
      const setup: Setup = {
        words,
        regs: Array.from({ length: 31 }, (_, r) => (r === 21 ? (BigInt(tag) << 56n) | BigInt(start) : r === 10 ? 8n : BigInt(r))),
        nzcv: 0, sp: BigInt(DATA + 0x10_0000), tcf, tco: 0, mmu: true, rgsr: 0x100n, gcr: 0n,
        tagOf: (g) => (g === middle ? tag ^ 4 : tag),
      }
      const jit = machine(true, setup)
      expect(play(jit, setup, [1000])).toEqual(play(machine(false, setup), setup, [1000]))
      expect(jit.cpu.jit!.stats.entries).toBeGreaterThan(0)
      if (jit.cpu.getSysreg('ESR_EL1') !== 0n) faults++
    }
    expect(faults).toBeGreaterThan(10)
  })

  test('two accesses off one base register share a tag check: the second still faults on its own granules, in its own page', () => {
    // 1: ldp x0, x1, [x21]; add x9, x9, #1; ldp x2, x3, [x21, #16]; ldr x4, [x23];
    // str x5, [x23, #8]; ldr w6, [x22, #4]; ldrb w7, [x22, #20]; add x21, x21, #24;
    // add x23, x23, #8; add x22, x22, #12; subs x10, x10, #1; b.ne 1b (llvm-mc). Each first
    // access off x21/x23/x22 checks its bytes and the second's at once (32, 16, 17 bytes) when
    // they lie in one page; the second checks its own when that failed. The pointers start
    // up to 192 bytes before a page boundary between two tagged pages and walk across it
    // (a check that wrapped round to its own page's first tag bytes would miss the next page's);
    // granules carry the pointer's tag or (some) another, and in some rounds the next page
    // carries another tag throughout, so that a second access faults where its first passed,
    // within the page and across it; all four TCF modes.
    const words = [0xa94006a0, 0x91000529, 0xa9410ea2, 0xf94002e4, 0xf90006e5, 0xb94006c6, 0x394052c7, 0x910062b5, 0x910022f7, 0x910032d6, 0xf100054a, (0x54000001 | ((-11 & 0x7ffff) << 5)) >>> 0]
    const next = rng(0x5a7e)
    let secondFaults = 0
    let translated = 0
    for (let round = 0; round < 100; round++) {
      const tag = (round * 5) % 16
      const boundary = TAGGED + 0x1000 * (1 + (round % 3))
      const start = [boundary - 8 * (1 + (next() % 24)), boundary - 8 * (1 + (next() % 12)), boundary - 4 * (1 + (next() % 24))]
      const nextPage = round % 4 === 0 ? (tag + 1 + (next() % 15)) % 16 : -1
      const tags = new Map<number, number>()
      for (let g = (boundary - TAGGED - 0x1000) >> 4; g < (boundary - TAGGED + 0x200) >> 4; g++) {
        const near = start.some((p) => g >= (p - TAGGED) >> 4 && g < ((p - TAGGED) >> 4) + 2)
        const other = [0, 15, tag ^ 1, tag ^ 8][next() % 4]!
        if (nextPage >= 0 && TAGGED + 16 * g >= boundary) tags.set(g, nextPage)
        else tags.set(g, near || next() % 6 !== 0 ? tag : other)
      }
      const regs = Array.from({ length: 31 }, (_, r) => BigInt(r) * 0x0101_0101_0101n)
      ;[21, 23, 22].forEach((r, i) => (regs[r] = (BigInt(tag) << 56n) | BigInt(start[i]!)))
      regs[10] = 10n
      const setup: Setup = { words, regs, nzcv: 0, sp: BigInt(DATA + 0x10_0000), tcf: round % 4, tco: 0, mmu: true, rgsr: 0x100n, gcr: 0n, tagOf: (g) => tags.get(g) ?? 0 }
      const jit = machine(true, setup)
      expect(play(jit, setup, [1000])).toEqual(play(machine(false, setup), setup, [1000]))
      if (jit.cpu.jit!.stats.entries > 0) translated++
      const elr = Number(jit.cpu.getSysreg('ELR_EL1'))
      if (jit.cpu.getSysreg('ESR_EL1') !== 0n && [2, 4, 6].includes((elr - CODE) >> 2)) secondFaults++
    }
    expect(translated).toBeGreaterThan(80)
    expect(secondFaults).toBeGreaterThan(10)
  })

  test('accesses off one base register in several blocks share one check until the register or the tags change', () => {
    // 1: ldr x1, [x21, #8]; add x9, x9, x1; tbz w9, #2, 2f; str x9, [x21, #8]; tbz w9, #3, 2f;
    // stg x22, [x21]; 2: ldr w3, [x21, #4]; ldr x21, [x21]; subs x10, x10, #1; b.ne 1b
    // (llvm-mc): bench-list's walk. x21's four accesses make one group ([x21, x21 + 16), one
    // granule: emit-tags.ts Group), so the first of them checks the node's granule and the
    // others skip their checks while x21 holds the same value. Nodes are single granules
    // scattered over four tagged pages, a third of them of a random tag (two tags in a tag
    // byte), the rest of a common one; some next pointers carry another tag than their node's
    // (the next node's first access must fault: the flag must not survive the load into x21),
    // and the STG retags the node with x22's tag (another tag in a third of the rounds), which
    // the LDR after it must see (the flag must not survive a tag store). All four TCF modes,
    // budgets that cut the walk.
    const words = [0xf94006a1, 0x8b010129, 0x36100089, 0xf90006a9, 0x36180049, 0xd9200ab6, 0xb94006a3, 0xf94002b5, 0xf100054a, 0x54fffee1]
    const next = rng(0x6c15)
    let nodeFaults = 0
    let stgFaults = 0
    let translated = 0
    for (let round = 0; round < 80; round++) {
      const nodes = 60 + (next() % 60)
      const granules = new Set<number>()
      while (granules.size < nodes) granules.add(next() % 1024)
      const order = [...granules]
      const common = next() % 16
      const tags = new Map(order.map((g) => [g, next() % 3 === 0 ? next() % 16 : common]))
      const pointer = (i: number): bigint => {
        const g = order[i]!
        const tag = next() % 16 === 0 ? (tags.get(g)! + 1 + (next() % 15)) % 16 : tags.get(g)!
        return (BigInt(tag) << 56n) | BigInt(TAGGED + 16 * g)
      }
      const poke: [number, bigint][] = []
      order.forEach((g, i) => {
        poke.push([TAGGED + 16 * g, i + 1 < nodes ? pointer(i + 1) : 0n])
        poke.push([TAGGED + 16 * g + 8, BigInt(next()) * 0x1_0001n])
      })
      const stg = BigInt(round % 3 === 0 ? (common + 1 + (next() % 15)) % 16 : common) << 56n
      const jit = playWalk(words, round, next, pointer(0), stg, nodes, tags, poke)
      if (jit.cpu.jit!.stats.retired > 20) translated++
      if (jit.cpu.getSysreg('ESR_EL1') !== 0n) {
        const at = (Number(jit.cpu.getSysreg('ELR_EL1')) - CODE) >> 2
        if (at === 0) nodeFaults++
        if (at === 6) stgFaults++
      }
    }
    expect(translated).toBeGreaterThan(50)
    // Sync and asymmetric rounds (half) fault, at a node's first access or after the STG.
    expect(nodeFaults).toBeGreaterThan(6)
    expect(stgFaults).toBeGreaterThan(10)
  })

  test('a group whose range reaches into a second granule verifies both, and leaves on a neighbour of another tag or a page boundary', () => {
    // 1: ldr x1, [x21, #8]; add x9, x9, x1; tbz w9, #2, 2f; str x9, [x21, #8];
    // 2: ldr w3, [x21, #4]; ldr x21, [x21]; subs x10, x10, #1; b.ne 1b (llvm-mc)
    // The walk of the test above (no STG: its address must be a granule's), its nodes 8 bytes
    // off their granules: [x21, x21 + 16) now
    // lies in two granules (the next pointer and the value in one each), so the first access
    // of a node (ldr x1, [x21, #8]: the second granule) must also verify the first one before
    // ldr w3 and ldr x21 may skip their checks. One node in twelve has a first granule of
    // another tag (the interpreter faults at ldr w3, [x21, #4]), some lie across a page
    // boundary (the range is not one entry's); budgets cut the walk (the loop's head, entered
    // from outside, leaves for the interpreter).
    const words = [0xf94006a1, 0x8b010129, 0x36100049, 0xf90006a9, 0xb94006a3, 0xf94002b5, 0xf100054a, 0x54ffff21]
    const next = rng(0x5e1d)
    let firstGranuleFaults = 0
    let acrossPages = 0
    let translated = 0
    for (let round = 0; round < 60; round++) {
      const nodes = 60 + (next() % 60)
      const granules = new Set<number>()
      while (granules.size < nodes) {
        // A node's granules g, g + 1; some at a page's last granule.
        const g = next() % 10 === 0 ? 256 * (next() % 4) + 255 : next() % 1023
        if (!granules.has(g) && !granules.has(g + 1) && !granules.has(g - 1)) granules.add(g)
      }
      const order = [...granules]
      const common = next() % 16
      const tags = new Map<number, number>()
      for (const g of order) {
        tags.set(g + 1, common)
        tags.set(g, next() % 12 === 0 ? (common + 1 + (next() % 15)) % 16 : common)
        if (g % 256 === 255) acrossPages++
      }
      const pointer = (i: number): bigint => (BigInt(common) << 56n) | BigInt(TAGGED + 16 * order[i]! + 8)
      const poke: [number, bigint][] = []
      order.forEach((g, i) => {
        poke.push([TAGGED + 16 * g + 8, i + 1 < nodes ? pointer(i + 1) : 0n])
        poke.push([TAGGED + 16 * g + 16, BigInt(next()) * 0x1_0001n])
      })
      const jit = playWalk(words, round, next, pointer(0), BigInt(common) << 56n, nodes, tags, poke)
      if (jit.cpu.jit!.stats.retired > 20) translated++
      if (jit.cpu.getSysreg('ESR_EL1') !== 0n && (Number(jit.cpu.getSysreg('ELR_EL1')) - CODE) >> 2 === 4) firstGranuleFaults++
    }
    expect(translated).toBeGreaterThan(40)
    expect(firstGranuleFaults).toBeGreaterThan(10)
    expect(acrossPages).toBeGreaterThan(50)
  })

  test('tight loops keep a verified 256-byte block of tags: a granule of another tag, there from the start or retagged between runs, faults where the interpreter does', () => {
    // A: 1: ldrb w1, [x21, x9]; strb w1, [x22, x9]; add x9, x9, x11; subs x10, x10, #1; b.ne 1b
    // B: 1: ldp x1, x2, [x21]; ldp x3, x4, [x21, #16]; add x21, x21, #32; stp x1, x2, [x22];
    //    stp x3, x4, [x22, #16]; add x22, x22, #32; ldr x5, [x23], #8; subs x10, x10, #1; b.ne 1b
    // (llvm-mc). Both are self-loops whose accesses get the cache (emit-tags.ts loopCache). The
    // pointers walk kilobytes of granules of their tag with up to three granules of another
    // tag at random places (before, at and after 256-byte block starts, either nibble of a tag
    // byte, a follower's granule), all four TCF modes, budgets that cut the loop anywhere.
    // After the first cut another writer (the test, as the VMM would) retags a granule just
    // ahead of a pointer, inside the block the loop was using: the loop's next entry must
    // not trust what it had verified (the cache is emptied on each entry).
    const loopA = [0x38696aa1, 0x38296ac1, 0x8b0b0129, 0xf100054a, 0x54ffff81]
    const loopB = [0xa9400aa1, 0xa94112a3, 0x910082b5, 0xa9000ac1, 0xa90112c3, 0x910082d6, 0xf84086e5, 0xf100054a, (0x54000001 | ((-8 & 0x7ffff) << 5)) >>> 0]
    const next = rng(0x7a9c)
    let lateFaults = 0
    let retagFaults = 0
    let translated = 0
    for (let round = 0; round < 96; round++) {
      const copy = round % 2 === 1
      const tag = next() % 16
      const start0 = [TAGGED + 8 * (next() % 2048), TAGGED + 0x8000 + 8 * (next() % 2048)]
      const stride = [1, 3, 8, 16, 40][next() % 5]!
      const count = copy ? 40 + (next() % 80) : 100 + (next() % 300)
      const reach = copy ? 32 * count : stride * count
      const other = new Map<number, number>()
      for (let i = next() % 4; i > 0; i--) {
        const p = start0[next() % 2]! + (next() % reach)
        other.set((p - TAGGED) >> 4, (tag + 1 + (next() % 15)) % 16)
      }
      const regs = Array.from({ length: 31 }, (_, r) => BigInt(r) * 0x0101_0101_0101n)
      regs[21] = (BigInt(tag) << 56n) | BigInt(start0[0]!)
      regs[22] = (BigInt(tag) << 56n) | BigInt(start0[1]!)
      regs[23] = BigInt(DATA)
      regs[9] = 0n
      regs[11] = BigInt(stride)
      regs[10] = BigInt(count)
      const setup: Setup = {
        words: copy ? loopB : loopA, regs, nzcv: 0, sp: BigInt(DATA + 0x10_0000), tcf: round % 4, tco: 0, mmu: true, rgsr: 0x100n, gcr: 0n,
        tagOf: (g) => other.get(g) ?? tag,
      }
      const first = 1 + (next() % (copy ? 30 : 100))
      const which = next() % 2
      // The granule after the one the pointer (x21 or x22, plus x9 in loop A) reaches next, when in the same 256-byte block.
      const retag = (m: Machine): number | null => {
        const base = Number(m.cpu.getX(21 + which) & 0x00ff_ffff_ffffn) + (copy ? 0 : Number(m.cpu.getX(9)))
        const at = (base & ~15) + 16
        if ((at & ~255) !== (base & ~255) || at < TAGGED || at >= TAGGED + WINDOW) return null
        m.memory.setTag(at, (tag + 1 + (round % 15)) % 16)
        return at
      }
      const jit = machine(true, setup)
      const seen = runRetagged(jit, setup, first, retag)
      expect(seen).toEqual(runRetagged(machine(false, setup), setup, first, retag))
      if (jit.cpu.jit!.stats.retired > count) translated++
      const far = Number(jit.cpu.getSysreg('FAR_EL1') & 0x00ff_ffff_ffff_ffffn)
      if (jit.cpu.getSysreg('ESR_EL1') !== 0n && start0.some((p) => far >= p + 256 && far < p + reach)) lateFaults++
      const retagged = Number(seen[1])
      if (seen[1] !== 'null' && jit.cpu.getSysreg('ESR_EL1') !== 0n && far >> 4 === retagged >> 4) retagFaults++
    }
    expect(translated).toBeGreaterThan(60)
    // Mismatches met after the loop had verified whole blocks of the pointer's tag.
    expect(lateFaults).toBeGreaterThan(3)
    expect(retagFaults).toBeGreaterThan(10)
  })

  test('loops of several blocks keep a verified range of tags, emptied on every way into the loop: a granule retagged by STG after the loop or by another writer between runs faults', () => {
    // 1: add x9, x21, x10, lsl #3; ldr x9, [x9]; add x10, x10, #1; cmp x10, x11; b.eq 3f;
    //    tbz w9, #0, 2f; add x3, x3, #1; 2: b 1b
    // 3: stg x22, [x22]; mov x10, #0; add x22, x22, #16; subs x12, x12, #1; b.ne 1b (llvm-mc)
    // The inner loop (four blocks, back edge from the last) reads x11 doublewords of an array of
    // the pointer's tag inside one 128-byte block, its load's address from registers the loop
    // does not load (the loaded x9 is rewritten before it): its check is cached (emit-tags.ts
    // regionLoops) as the range of the array's granules. After each pass the outer block, in
    // the same region, retags one granule of the array with STG (another tag): the next pass
    // enters the loop from outside it and must fault there. With a budget that cuts the first
    // pass, the test (as the VMM would) retags the granule the loop reaches next before the
    // run that resumes inside the loop: the region's start must not trust the range either.
    const words = [0x8b0a0ea9, 0xf9400129, 0x9100054a, 0xeb0b015f, 0x54000080, 0x36000049, 0x91000463, 0x17fffff9, 0xd9200ad6, 0xd280000a, 0x910042d6, 0xf100058c, 0x54fffe81]
    const next = rng(0x7a9d)
    let stgFaults = 0
    let vmmFaults = 0
    let translated = 0
    for (let round = 0; round < 96; round++) {
      const tag = next() % 16
      const other = (tag + 1 + (next() % 15)) % 16
      const block = TAGGED + 128 * (1 + (next() % 64))
      const skip = next() % 4
      const count = 2 + (next() % (15 - 2 * skip))
      const array = block + 16 * skip
      const granules = (count * 8 + 15) >> 4
      const regs = Array.from({ length: 31 }, (_, r) => BigInt(r) * 0x0101_0101_0101n)
      regs[21] = (BigInt(tag) << 56n) | BigInt(array)
      // The STG's granule: one of the array's (the second pass faults there), or past its end.
      regs[22] = (BigInt(other) << 56n) | BigInt(array + 16 * (next() % (granules + 1)))
      regs[10] = 0n
      regs[11] = BigInt(count)
      regs[12] = 2n
      const setup: Setup = {
        words, regs, nzcv: 0, sp: BigInt(DATA + 0x10_0000), tcf: round % 4, tco: 0, mmu: true, rgsr: 0x100n, gcr: 0n,
        tagOf: (g) => (g >= (array - TAGGED) >> 4 && g < ((array - TAGGED) >> 4) + granules ? tag : (g * 7) % 16),
      }
      const first = round % 3 === 0 ? 100_000 : 1 + (next() % (4 * count))
      // The granule after the one the load reads next (x21 + 8 * x10), when it is the array's.
      const retag = (m: Machine): number | null => {
        const at = ((Number(m.cpu.getX(21) & 0x00ff_ffff_ffffn) + 8 * Number(m.cpu.getX(10))) & ~15) + 16
        if (at >= array + 16 * granules || Number(m.cpu.getX(12)) !== 2) return null
        m.memory.setTag(at, other)
        return at
      }
      const jit = machine(true, setup)
      const seen = runRetagged(jit, setup, first, retag)
      expect(seen).toEqual(runRetagged(machine(false, setup), setup, first, retag))
      if (jit.cpu.jit!.stats.retired > count) translated++
      const faulted = jit.cpu.getSysreg('ESR_EL1') !== 0n
      const far = Number(jit.cpu.getSysreg('FAR_EL1') & 0x00ff_ffff_ffff_ffffn)
      if (faulted && seen[1] !== undefined && seen[1] !== 'null' && far >> 4 === Number(seen[1]) >> 4) vmmFaults++
      else if (faulted && jit.cpu.getX(12) === 1n) stgFaults++
    }
    expect(translated).toBeGreaterThan(60)
    expect(stgFaults).toBeGreaterThan(10)
    expect(vmmFaults).toBeGreaterThan(5)
  })

  test("a loop's cached ranges end at their page: walks across a boundary into tagged memory, a read-only block or nothing fault where the interpreter does", () => {
    // A: 1: ldr x0, [x20], #8; str x2, [x21], #8; subs x10, x10, #1; b.ne 1b (upward, writeback)
    // B: 1: ldr x3, [x22, x10, lsl #3]; str x3, [x23, x10, lsl #3]; sub x10, x10, #1; cbnz x10, 1b
    //    (downward, register offset) (llvm-mc). Both accesses of each loop get a range cache
    // (emit-tags.ts): on an unchecked page the page, from its start. The walks start a few
    // doublewords before (A) or after (B) a boundary: untagged into tagged memory (checks on:
    // the first tagged access is checked), between two tagged pages, between untagged pages
    // (host memory is contiguous there: the same values either way), from RAM into nothing (a
    // stage-2 abort) and into a read-only block (a permission fault on the store).
    const loopA = [0xf8408680, 0xf80086a2, 0xf100054a, (0x54000001 | ((-3 & 0x7ffff) << 5)) >>> 0]
    const loopB = [0xf86a7ac3, 0xf82a7ae3, 0xd100054a, (0xb5000000 | ((-3 & 0x7ffff) << 5) | 10) >>> 0]
    const READ_ONLY = RAM_BASE + 0x80_0000
    const next = rng(0x5a6e)
    let compared = 0
    let through = 0
    for (const [words, boundaries] of [
      [loopA, [TAGGED, TAGGED + 0x1000, DATA + 0x1000, RAM_BASE + (16 << 20), READ_ONLY]],
      [loopB, [TAGGED + 0x1000, DATA + 0x1000, READ_ONLY + 0x20_0000]],
    ] as const) {
      for (const boundary of boundaries) {
        for (const tag of [0, 15]) {
          for (const tcf of [0, 1]) {
            const regs = Array.from({ length: 31 }, (_, r) => BigInt(r) * 0x1111_1111_1111n)
            const j = 1 + (next() % 6)
            const at = (va: number): bigint => (BigInt(tag) << 56n) | BigInt(va)
            // A reads and writes upward from 8j bytes below the boundary, B downward from 8j above it.
            ;[regs[20], regs[21]] = [at(boundary - 8 * j), at(boundary - 8 * j)]
            ;[regs[22], regs[23]] = [at(boundary - 8 * 12 + 8 * j), at(boundary - 8 * 12 + 8 * j)]
            regs[10] = 12n
            const setup: Setup = { words: [...words], regs, nzcv: 0, sp: BigInt(DATA + 0x10_0000), tcf, tco: 0, mmu: true, rgsr: 0x100n, gcr: 0n }
            const [jit, interp] = [machine(true, setup), machine(false, setup)]
            for (const m of [jit, interp]) m.memory.write32(RAM_BASE + 0x1_1000 + 8 * 4, (READ_ONLY | (1 << 10) | (3 << 8) | (1 << 7) | 1) >>> 0)
            const budgets = compared % 2 === 0 ? [100] : [1 + (next() % 30), 100]
            expect(play(jit, setup, budgets)).toEqual(play(interp, setup, budgets))
            if (jit.cpu.getX(10) === 0n && jit.cpu.jit!.stats.exits[EXIT_SLOW] === 1) through++
            compared++
          }
        }
      }
    }
    expect(compared).toBe(32)
    // Between untagged pages the translation walks the whole way (its one side exit the HVC).
    expect(through).toBeGreaterThanOrEqual(4)
  })

  test("a loop's misaligned accesses never use its ranges: across a page, a granule of another tag or with SCTLR_EL1.A set they fault where the interpreter does", () => {
    // 1: ldr x0, [x20], #4; str x2, [x21], #4; subs x10, x10, #1; b.ne 1b (llvm-mc): doublewords
    // 4 bytes apart, every other one misaligned, from 4j bytes before a boundary: untagged into
    // tagged memory, from a granule of tag 0 into one of tag 1 (the default tags: granules 2h
    // and 2h + 1 have tag h), from RAM into nothing, into a read-only block, between untagged
    // pages. A misaligned doubleword's range test must fail (rotr of its offset), else its
    // last bytes would pass where they lie past the range.
    const words = [0xf8404680, 0xf80046a2, 0xf100054a, (0x54000001 | ((-3 & 0x7ffff) << 5)) >>> 0]
    const READ_ONLY = RAM_BASE + 0x80_0000
    const next = rng(0x3c1f)
    let compared = 0
    for (const boundary of [TAGGED, TAGGED + 0x20 + 16 * 32, RAM_BASE + (16 << 20), READ_ONLY, DATA + 0x1000]) {
      for (const strictAlign of [false, true]) {
        for (const tcf of [0, 1]) {
          const regs = Array.from({ length: 31 }, (_, r) => BigInt(r) * 0x1111_1111_1111n)
          const j = 1 + (next() % 6)
          const va = (BigInt(0) << 56n) | BigInt(boundary - 4 * j)
          ;[regs[20], regs[21]] = [va, va]
          regs[10] = 12n
          const setup: Setup = { words: [...words], regs, nzcv: 0, sp: BigInt(DATA + 0x10_0000), tcf, tco: 0, mmu: true, rgsr: 0x100n, gcr: 0n, strictAlign }
          const [jit, interp] = [machine(true, setup), machine(false, setup)]
          for (const m of [jit, interp]) m.memory.write32(RAM_BASE + 0x1_1000 + 8 * 4, (READ_ONLY | (1 << 10) | (3 << 8) | (1 << 7) | 1) >>> 0)
          const budgets = compared % 2 === 0 ? [100] : [1 + (next() % 30), 100]
          expect(play(jit, setup, budgets)).toEqual(play(interp, setup, budgets))
          compared++
        }
      }
    }
    expect(compared).toBe(20)
  })

  test('pairs that cross a page: each element on its own page, faults and tag mismatches as in the interpreter', () => {
    // 1: ldp x0, x1, [x20]; stp x2, x3, [x21]; ldp w4, w5, [x22]; stp w6, w7, [x23];
    // ldpsw x8, x9, [x24]; subs x10, x10, #1; b.ne 1b (llvm-mc), every pointer 4 or 8 bytes
    // before a page boundary: between two tagged pages (granule tags 15 | 0), from tagged to
    // untagged memory, between untagged pages, from RAM into nothing (a stage-2 abort), and
    // into a read-only block (a permission fault).
    const words = [0xa9400680, 0xa9000ea2, 0x294016c4, 0x29001ee6, 0x69402708, 0xf100054a, (0x54000001 | ((-6 & 0x7ffff) << 5)) >>> 0]
    const READ_ONLY = RAM_BASE + 0x80_0000
    const boundaries = [TAGGED + 0x1000, TAGGED + 0x20_0000, DATA + 0x1000, RAM_BASE + (16 << 20), READ_ONLY]
    let compared = 0
    for (const boundary of boundaries) {
      for (const tag of [0, 15]) {
        for (const tcf of [0, 1]) {
          const regs = Array.from({ length: 31 }, (_, r) => BigInt(r) * 0x1111_1111_1111n)
          const at = (back: number): bigint => (BigInt(tag) << 56n) | BigInt(boundary - back)
          ;[regs[20], regs[21], regs[22], regs[23], regs[24]] = [at(8), at(8), at(4), at(4), at(4)]
          regs[10] = 3n
          const setup: Setup = { words, regs, nzcv: 0, sp: BigInt(DATA + 0x10_0000), tcf, tco: 0, mmu: true, rgsr: 0x100n, gcr: 0n }
          const [jit, interp] = [machine(true, setup), machine(false, setup)]
          // The block at READ_ONLY: AP[2] (read-only at EL1).
          for (const m of [jit, interp]) m.memory.write32(RAM_BASE + 0x1_1000 + 8 * 4, (READ_ONLY | (1 << 10) | (3 << 8) | (1 << 7) | 1) >>> 0)
          expect(play(jit, setup, [100])).toEqual(play(interp, setup, [100]))
          // Between untagged RAM pages (and without checks) the translation does the whole loop:
          // its one side exit is the HVC after it.
          if (boundary === DATA + 0x1000 || (boundary === TAGGED + 0x1000 && tcf === 0)) {
            expect(jit.cpu.getX(10)).toBe(0n)
            expect(jit.cpu.jit!.stats.exits[EXIT_SLOW]).toBe(1)
          }
          compared++
        }
      }
    }
    expect(compared).toBe(20)
  })
})
