// emit-sys.ts against the interpreter: add/subtract with carry on edge operands (flags read
// in the same block and through MRS NZCV), load-acquire/store-release, prefetches, and system
// register instructions run by their handler inside translations (MSR NZCV, TPIDR_EL1, DAIF
// masking and unmasking, which leaves the translation, and an MRS that is UNDEFINED at EL1,
// whose exception is taken with the interpreter's state); and the batched translation
// (threshold > 1: regions queued, then one module for several) on the same programs. The
// system instructions done in wasm (MRS/MSR of plain registers and SP_EL0, DC ZVA, ISB) with
// what they depend on changed between runs: values, EL, SPSel, interrupt lines, HCR_EL2.TDZ,
// DCZID_EL0, strict alignment, tags, and DC ZVA over the translated code itself.

import { describe, expect, test } from 'vitest'
import { RAM_BASE, enableIdentityMmu, makeMachine, type Machine } from '../test-helpers.js'
import { EXIT_SLOW, EXIT_STOP, EXIT_THROWN } from './layout.js'

const CODE = RAM_BASE + 0x20_0000
const DATA = RAM_BASE + 0x30_0000
const VBAR = RAM_BASE + 0x1000

// llvm-mc -triple=aarch64 -mattr=+v8.5a, then llvm-objdump:
// 1: adds x0, x0, x1; adcs x2, x2, x3; adc x4, x4, x5; sbcs w6, w6, w7; sbc x8, x8, x9;
//    adcs w10, w10, w11; cset x12, hs; mrs x13, nzcv; sbcs x14, x14, x15; b.vs 2f;
//    add x17, x17, #3; 2: mrs x16, nzcv; adc w18, w18, w1; subs x19, x19, #1; b.ne 1b; hvc #0xf00d
const CARRY = [
  0xab010000, 0xba030042, 0x9a050084, 0x7a0700c6, 0xda090108, 0x3a0b014a, 0x9a9f37ec, 0xd53b420d, 0xfa0f01ce, 0x54000046, 0x91000e31,
  0xd53b4210, 0x1a010252, 0xf1000673, 0x54fffe41, 0xd41e01a2,
]
// 1: mrs x0, tpidr_el1; add x0, x0, #1; msr tpidr_el1, x0; mrs x1, nzcv; msr nzcv, x2;
//    cinc x3, x3, eq; ldar x5, [x20]; add x5, x5, x3; stlr x5, [x21]; ldar w6, [x21];
//    prfm pldl1keep, [x20]; prfm pldl1keep, [x20, x3]; msr daifset, #2; msr daifclr, #2;
//    mrs x7, daif; eor x2, x2, #0x30000000; subs x19, x19, #1; b.ne 1b;
//    mrs x8, sctlr_el2 (UNDEFINED at EL1); hvc #0xf00d
const SYSTEM = [
  0xd538d080, 0x91000400, 0xd518d080, 0xd53b4201, 0xd51b4202, 0x9a831463, 0xc8dffe85, 0x8b0300a5, 0xc89ffea5, 0x88dffea6, 0xf9800280,
  0xf8a36a80, 0xd50342df, 0xd50342ff, 0xd53b4227, 0xd2640442, 0xf1000673, 0x54fffde1, 0xd53c1008, 0xd41e01a2,
]

// 1: mrs x0, sp_el0; add x0, x0, #16; msr sp_el0, x0; mrs x1, tpidr_el1; add x1, x1, x0;
//    msr tpidr_el1, x1; mrs x2, tpidr_el0; add x2, x2, #1; msr tpidr_el0, x2; mrs x3, dczid_el0;
//    mrs x4, tpidrro_el0; add x4, x4, x3; msr spsel, #1; mrs x6, sp_el0; add x6, x6, x4; isb;
//    add x6, x6, #1; subs x19, x19, #1; b.ne 1b;
//    msr spsel, #0; mrs x5, sp_el0 (UNDEFINED: SP_EL0 is the current SP); hvc #0xf00d
const PLAIN_SYSREGS = [
  0xd5384100, 0x91004000, 0xd5184100, 0xd538d081, 0x8b000021, 0xd518d081, 0xd53bd042, 0x91000442, 0xd51bd042, 0xd53b00e3, 0xd53bd064,
  0x8b030084, 0xd50041bf, 0xd5384106, 0x8b0400c6, 0xd5033fdf, 0x910004c6, 0xf1000673, 0x54fffdc1, 0xd50040bf, 0xd5384105, 0xd41e01a2,
]
// 1: dc zva, x20; add x20, x20, #72; dc zva, x21; add x21, x21, #64; subs x19, x19, #1; b.ne 1b;
//    dc zva, x22; b 2f; nop x8; 2: (offset 0x40) movz x9, #1; movz x10, #2; hvc #0xf00d
const DC_ZVA = [
  0xd50b7434, 0x91012294, 0xd50b7435, 0x910102b5, 0xf1000673, 0x54ffff61, 0xd50b7436, 0x14000009,
  ...Array<number>(8).fill(0xd503201f), 0xd2800029, 0xd280004a, 0xd41e01a2,
]
/** A 2 MiB block of the identity map with MAIR attr 1 (Tagged). */
const TAGGED = RAM_BASE + 0x40_0000

function machine(threshold: number | null, words: number[], regs: bigint[], nzcv: number): Machine {
  const m = makeMachine(16 << 20, true, false, threshold === null ? undefined : { threshold })
  const cpu = m.cpu
  // Every exception vector: hvc #(0x100 + k).
  for (let k = 0; k < 16; k++) m.memory.write32(VBAR + 0x80 * k, (0xd4000002 | ((0x100 + k) << 5)) >>> 0)
  cpu.setSysreg('VBAR_EL1', BigInt(VBAR))
  cpu.setSysreg('TPIDR_EL1', 0x1234n)
  words.forEach((w, i) => m.memory.write32(CODE + 4 * i, w))
  cpu.invalidateCode(CODE, 4 * words.length)
  regs.forEach((v, r) => cpu.setX(r, v))
  cpu.sp = BigInt(DATA + 0x10_0000)
  cpu.pstate = ((nzcv << 28) | 0x3c5) >>> 0
  cpu.pc = BigInt(CODE)
  return m
}

function play(m: Machine): string[] {
  const seen: string[] = []
  const cpu = m.cpu
  for (const budget of [3, 17, 40, 1000, 100_000]) {
    const exit = cpu.run(budget)
    const regs = Array.from({ length: 31 }, (_, r) => cpu.getX(r).toString(16))
    const sys = (['ESR_EL1', 'ELR_EL1', 'SPSR_EL1', 'TPIDR_EL1'] as const).map((n) => cpu.getSysreg(n).toString(16))
    seen.push(JSON.stringify({ exit: exit.kind, regs, pc: cpu.pc.toString(16), pstate: cpu.pstate.toString(16), sys, retired: cpu.retired }))
    if (exit.kind !== 'budget') break
  }
  seen.push(m.memory.read32(DATA + 8).toString(16), m.memory.read32(DATA + 12).toString(16))
  return seen
}

const EDGES = [0n, 1n, 0x7fff_ffffn, 0x8000_0000n, 0xffff_ffffn, 0x1_0000_0000n, 0x7fff_ffff_ffff_ffffn, 0x8000_0000_0000_0000n, 0xffff_ffff_ffff_ffffn]

describe('system, carry and ordered instructions in translations', () => {
  test.each([1, 2])('ADC/ADCS/SBC/SBCS on edge operands and every carry in: the interpreter\'s registers and flags (threshold %i)', (threshold) => {
    let compared = 0
    let translated = 0
    for (let i = 0; i < EDGES.length; i++) {
      for (let j = 0; j < EDGES.length; j++) {
        for (const nzcv of [0, 2]) {
          // Operand pairs (xn, xm) for each instruction from the edges, shifted per register.
          const regs = Array.from({ length: 31 }, (_, r) => EDGES[(r % 2 === 0 ? i : j + r) % EDGES.length]!)
          // Eight rounds: batched (threshold 2), the region is made at the fourth and entered from the fifth.
          regs[19] = 8n
          const jit = machine(threshold, CARRY, regs, nzcv)
          expect(play(jit), `a ${EDGES[i]!.toString(16)} b ${EDGES[j]!.toString(16)} nzcv ${nzcv}`).toEqual(play(machine(null, CARRY, regs, nzcv)))
          if (jit.cpu.jit!.stats.retired > 30) translated++
          compared++
        }
      }
    }
    expect(compared).toBe(EDGES.length * EDGES.length * 2)
    expect(translated).toBe(compared)
  })

  test.each([1, 2])('MRS/MSR/SYS through the handler, LDAR/STLR, PRFM: the interpreter\'s state, the UNDEFINED MRS taken from the translation (threshold %i)', (threshold) => {
    for (const nzcv of [0, 4, 15]) {
      const regs = Array.from({ length: 31 }, (_, r) => BigInt(r) * 0x0101_0101n)
      regs[2] = 0x6000_0000n
      regs[19] = 20n
      regs[20] = BigInt(DATA)
      regs[21] = BigInt(DATA + 8)
      const jit = machine(threshold, SYSTEM, regs, nzcv)
      const interp = machine(null, SYSTEM, regs, nzcv)
      jit.memory.write32(DATA, 0x1111)
      interp.memory.write32(DATA, 0x1111)
      const seen = play(jit)
      expect(seen, `nzcv ${nzcv}`).toEqual(play(interp))
      // The loop ran translated, and (at threshold 1: code that has not run yet is translated
      // only then) the UNDEFINED MRS after it threw from inside a translation.
      expect(jit.cpu.jit!.stats.retired).toBeGreaterThan(200)
      expect(jit.cpu.jit!.stats.exits[EXIT_THROWN]).toBe(threshold === 1 ? 1 : 0)
      expect(jit.cpu.getSysreg('ESR_EL1') >> 26n).toBe(0n) // EC 0: unknown reason (UNDEFINED)
      expect(jit.cpu.getSysreg('TPIDR_EL1')).toBe(0x1234n + 20n)
    }
  })

  /**
   * Runs a program at threshold 1 and 2 and in the interpreter with `between(cpu, run)` applied
   * to both after each run (registers and PSTATE changed by the host, as by an MSR elsewhere or
   * an exception), and compares what `play` and `observe` see.
   */
  function compare(words: number[], setup: (m: Machine) => void, between: (m: Machine, run: number) => void, observe: (m: Machine) => unknown): Machine[] {
    const made: Machine[] = []
    const results = [1, 2, null].map((threshold) => {
      const m = machine(threshold, words, Array.from({ length: 31 }, (_, r) => BigInt(r) * 0x0101_0101n), 0)
      setup(m)
      if (threshold !== null) made.push(m)
      const seen: unknown[] = []
      let run = 0
      for (const budget of [3, 17, 40, 60, 200, 1000, 100_000]) {
        const exit = m.cpu.run(budget)
        const regs = Array.from({ length: 31 }, (_, r) => m.cpu.getX(r).toString(16))
        seen.push({ exit: exit.kind, regs, pc: m.cpu.pc.toString(16), pstate: m.cpu.pstate.toString(16), retired: m.cpu.retired, observed: observe(m) })
        if (exit.kind !== 'budget') break
        between(m, run++)
      }
      return JSON.stringify(seen)
    })
    expect(results[0]).toEqual(results[2])
    expect(results[1]).toEqual(results[2])
    return made
  }
  const sysregsOf = (m: Machine): string[] =>
    (['ESR_EL1', 'ELR_EL1', 'SPSR_EL1', 'TPIDR_EL1', 'TPIDR_EL0'] as const).map((n) => m.cpu.getSysreg(n).toString(16)).concat(
      [m.cpu.getSpEl(0).toString(16), m.cpu.getSpEl(1).toString(16)],
    )

  test('MRS/MSR of SP_EL0, TPIDR_EL1, TPIDR_EL0, DCZID_EL0, TPIDRRO_EL0 in wasm, with the values, EL and SPSel changed between runs', () => {
    const scenarios: [string, (m: Machine, run: number) => void][] = [
      ['values changed by the host', (m, run) => {
        m.cpu.setSysreg('TPIDR_EL1', BigInt(run) * 0x1_0000_0001n)
        m.cpu.setSpEl(0, 0x4000_0000n + BigInt(run) * 0x100n)
        m.cpu.setSysreg('TPIDR_EL0', 0xffff_0000_0000_0000n | BigInt(run))
      }],
      // EL1t: SP_EL0 is the current stack pointer, MRS SP_EL0 is UNDEFINED (the translation was made at EL1h).
      ['SPSel cleared', (m, run) => {
        if (run === 4) m.cpu.pstate = 0x3c4
      }],
      // EL0: every EL1 register is UNDEFINED; TPIDR_EL0 and the read-only EL0 registers are not.
      ['EL0', (m, run) => {
        if (run === 4) m.cpu.pstate = 0x3c0
      }],
    ]
    for (const [name, between] of scenarios) {
      const made = compare(PLAIN_SYSREGS, (m) => {
        m.cpu.setX(19, 1000n)
        m.cpu.setSpEl(0, 0x1234_0000n)
        m.cpu.setSysreg('TPIDRRO_EL0', 0x77n)
      }, between, sysregsOf)
      // Translated until the change (EL0: the first MRS after it is UNDEFINED).
      for (const m of made) expect(m.cpu.jit!.stats.retired, name).toBeGreaterThan(30)
    }
  })

  test('an ISB in wasm goes on; with an interrupt line or a virtual IRQ up (masked) it refetches through its handler, as the interpreter', () => {
    const stops: number[] = []
    for (const [name, between] of [
      ['nothing pending', () => {}],
      ['IRQ line', (m: Machine, run: number) => m.cpu.setInterruptLines(run >= 1 ? 1 : 0)],
      ['HCR_EL2.VI', (m: Machine, run: number) => m.cpu.setHcrEl2(run >= 1 ? 1n | (1n << 4n) | (1n << 7n) : 1n)],
    ] as const) {
      // DAIF masked (EL1h): the interrupt stays pending, every ISB's refetch has something to look at.
      const made = compare(PLAIN_SYSREGS, (m) => m.cpu.setX(19, 1000n), between, sysregsOf)
      for (const m of made) expect(m.cpu.jit!.stats.retired, name).toBeGreaterThan(200)
      stops.push(made[0]!.cpu.jit!.stats.exits[EXIT_STOP])
    }
    // Nothing pending: the ISBs stayed in wasm; else each left after the ISB (about one a round).
    expect(stops[1]).toBeGreaterThan(stops[0]! + 500)
    expect(stops[2]).toBeGreaterThan(stops[0]! + 500)
  })

  test('DC ZVA in wasm: zeroes the 64-byte block, checks its tags as a store, traps, faults and code invalidation as the interpreter', () => {
    /** Identity map, MTE on (TCF 1: synchronous), 64 KiB of data and of tagged memory with known bytes and tags. */
    const setup = (tagOf: (granule: number) => number, configure: (m: Machine) => void) => (m: Machine): void => {
      const cpu = m.cpu
      enableIdentityMmu(m)
      m.memory.write32(RAM_BASE + 0x1_1000 + 8 * 2, (TAGGED | (1 << 10) | (3 << 8) | (1 << 2) | 1) >>> 0)
      cpu.setSysreg('ID_AA64PFR1_EL1', cpu.getSysreg('ID_AA64PFR1_EL1') | (3n << 8n))
      cpu.setHcrEl2(1n | (1n << 56n))
      cpu.setSysreg('TCR_EL1', cpu.getSysreg('TCR_EL1') | (1n << 37n)) // TBI0
      cpu.setSysreg('SCTLR_EL1', cpu.getSysreg('SCTLR_EL1') | (1n << 43n) | (1n << 40n))
      for (let i = 0; i < 0x1_0000; i += 4) {
        m.memory.write32(DATA + i, (i * 0x9e3779b1) >>> 0)
        m.memory.write32(TAGGED + i, (i * 0x85ebca6b) >>> 0)
      }
      for (let g = 0; g < 0x1_0000 / 16; g++) m.memory.setTag(TAGGED + 16 * g, tagOf(g))
      cpu.setX(19, 100n)
      cpu.setX(20, BigInt(DATA + 8))
      cpu.setX(21, (5n << 56n) | BigInt(TAGGED + 0x1000))
      cpu.setX(22, BigInt(CODE + 0x40))
      configure(m)
    }
    const memoryOf = (m: Machine): string[] => {
      const words: string[] = []
      for (let i = 0; i < 0x3000; i += 4) words.push(m.memory.read32(DATA + i).toString(16), m.memory.read32(TAGGED + 0x1000 + i).toString(16))
      for (let g = 0; g < 0x300; g++) words.push(m.memory.getTag(TAGGED + 0x1000 + 16 * g).toString(16))
      return [...words, ...sysregsOf(m)]
    }
    const none = (): void => {}
    const scenarios: [string, (granule: number) => number, (m: Machine) => void, boolean][] = [
      // Every block passes (the pointer's tag 5); the last DC ZVA zeroes code the translation holds: UNDEFINED after the branch.
      ['tags match, then the code zeroed', () => 5, none, true],
      // Granule 0x100 + 4 * 37 + 2 (the 38th block of x21) has another tag: a tag check fault there.
      ['a tag mismatch in the 38th block', (g) => (g === 0x100 + 4 * 37 + 2 ? 6 : 5), none, true],
      ['HCR_EL2.TDZ: trapped to EL2', () => 5, (m) => m.cpu.setHcrEl2(1n | (1n << 56n) | (1n << 28n)), false],
      ['DCZID_EL0 of 128-byte blocks', () => 5, (m) => m.cpu.setSysreg('DCZID_EL0', 5n), false],
      ['SCTLR_EL1.A: alignment strict', () => 5, (m) => m.cpu.setSysreg('SCTLR_EL1', m.cpu.getSysreg('SCTLR_EL1') | 2n), false],
    ]
    for (const [name, tagOf, configure, fast] of scenarios) {
      const made = compare(DC_ZVA, setup(tagOf, configure), none, memoryOf)
      for (const m of made) {
        // In wasm (no handler call: no exception thrown from one; the leaves are the interpreter's faults and the zeroed code).
        if (fast) expect(m.cpu.jit!.stats.exits[EXIT_THROWN], name).toBe(0)
        expect(m.cpu.jit!.stats.exits[EXIT_SLOW], name).toBeLessThan(4)
      }
    }
  })
})
