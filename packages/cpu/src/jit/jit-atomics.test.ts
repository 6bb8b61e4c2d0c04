// Exclusives and atomics inside translations (emit-sys.ts: their handler runs in the
// translation, where the tier used to leave for the interpreter at each): the global monitor
// of CPUs in lockstep broken by another CPU's translated store between a translated
// load-exclusive and store-exclusive, as in the interpreter; and an atomic that writes the
// code of the translation it runs in, entered through a chain. Words from llvm-mc -mattr=+lse.

import { describe, expect, test } from 'vitest'
import type { Cpu } from '../cpu.js'
import { attachSmpMonitor } from '../smp-monitor.js'
import { RAM_BASE, addCpu, enableIdentityMmu, makeMachine } from '../test-helpers.js'
import { EXIT_SLOW } from './layout.js'

const CODE = RAM_BASE + 0x20_0000
const OTHER = CODE + 0x1000
const DATA = RAM_BASE + 0x30_0000
const HVC_END = 0xd41e01a2 // hvc #0xf00d

// loop: ldaxr x1, [x0]; add x1, x1, #1; stlxr w2, x1, [x0]; add x5, x5, x2 (failures);
//       subs x3, x3, #1; b.ne loop; hvc #0xf00d
const INCREMENT = [0xc85ffc01, 0x91000421, 0xc802fc01, 0x8b0200a5, 0xf1000463, 0x54ffff61, HVC_END]
// The other CPU: ldr x4, [x0]; add x4, x4, #100; str x4, [x0]; hvc #0xf00d
const BUMP = [0xf9400004, 0x91019084, 0xf9000004, HVC_END]

function put(cpu: Cpu, memory: { write32(pa: number, v: number): void }, at: number, words: readonly number[]): void {
  words.forEach((w, i) => memory.write32(at + 4 * i, w))
  cpu.invalidateCode(at, 4 * words.length)
}

describe('exclusives and atomics in translations', () => {
  test("another CPU's store between a translated LDAXR and STLXR fails the pair, as in the interpreter", () => {
    /** CPU A increments DATA 40 times with an exclusive pair, run `slice` instructions at a time; B adds 100 after each slice. */
    const run = (jit: boolean, slice: number): { state: string; a: Cpu } => {
      const options = jit ? { threshold: 1 } : undefined
      const m = makeMachine(16 << 20, true, false, options)
      const a = m.cpu
      const b = addCpu(m.memory, m.stage2, true, options)
      attachSmpMonitor(a, null)
      attachSmpMonitor(b, null)
      // Stage 1 on (Normal memory: exclusives and atomics on Device memory fault), both CPUs.
      enableIdentityMmu(m)
      for (const name of ['MAIR_EL1', 'TCR_EL1', 'TTBR0_EL1', 'SCTLR_EL1'] as const) b.setSysreg(name, a.getSysreg(name))
      put(a, m.memory, CODE, INCREMENT)
      put(b, m.memory, OTHER, BUMP)
      m.memory.write32(DATA, 0)
      for (const cpu of [a, b]) {
        cpu.setX(0, BigInt(DATA))
        cpu.pstate = 0x3c5
      }
      a.setX(3, 40n)
      a.pc = BigInt(CODE)
      let rounds = 0
      for (; rounds < 1000; rounds++) {
        if (a.run(slice).kind !== 'budget') break
        b.pc = BigInt(OTHER)
        expect(b.run(100).kind).toBe('hvc')
      }
      const state = { data: m.memory.read32(DATA), failures: a.getX(5), x1: a.getX(1), pc: a.pc, retired: a.retired, rounds }
      return { state: JSON.stringify(state, (_, v: unknown) => (typeof v === 'bigint' ? v.toString(16) : v)), a }
    }
    for (const slice of [2, 4, 5, 7, 1000]) {
      const reference = run(false, slice).state
      const { state, a } = run(true, slice)
      expect(state).toBe(reference)
      // A pair cut by a slice boundary fails (B wrote in between; these slices cut some); the others succeed.
      const failures = parseInt(JSON.parse(reference).failures as string, 16)
      if (slice === 1000) expect(failures).toBe(0)
      else expect(failures).toBeGreaterThan(0)
      // The pairs ran in the translation: the one exit to the interpreter is for the final HVC.
      expect(a.jit!.stats.retired).toBeGreaterThan(slice === 1000 ? 200 : 50)
      expect(a.jit!.stats.exits[EXIT_SLOW]).toBeLessThanOrEqual(1)
    }
  })

  test('an atomic that writes the code of the translation it runs in, entered through a chain, runs the new code next', () => {
    // main: cmp x3, #2; csel x6, x9, x10, eq; bl fB; subs x3, x3, #1; b.ne main; hvc #0xf00d
    // fB (next page): swp w7, w8, [x6]; add x1, x1, #1; ret. At x3 = 2 the SWP writes
    // `add x1, x1, #100` over fB's ADD (x6 = fB + 4); before, it writes DATA.
    const MAIN = [0xf100087f, 0x9a8a0126, 0x940003fe, 0xf1000463, 0x54ffff81, HVC_END]
    const FB = [0xb82780c8, 0x91000421, 0xd65f03c0]
    const ADD_100 = 0x91019021
    const run = (jit: boolean): { x1: bigint; retired: number; chained: number } => {
      const m = makeMachine(16 << 20, true, false, jit ? { threshold: 1 } : undefined)
      const cpu = m.cpu
      enableIdentityMmu(m)
      put(cpu, m.memory, CODE, MAIN)
      put(cpu, m.memory, OTHER, FB)
      cpu.setX(3, 5n)
      cpu.setX(7, BigInt(ADD_100))
      cpu.setX(9, BigInt(OTHER + 4))
      cpu.setX(10, BigInt(DATA))
      cpu.pstate = 0x3c5
      cpu.pc = BigInt(CODE)
      const exit = cpu.run(10_000)
      expect(exit.kind, JSON.stringify({ exit, esr: cpu.getSysreg('ESR_EL1').toString(16), elr: cpu.getSysreg('ELR_EL1').toString(16), pc: cpu.pc.toString(16) }, (_, v: unknown) => (typeof v === 'bigint' ? v.toString(16) : v))).toBe('hvc')
      return { x1: cpu.getX(1), retired: cpu.retired, chained: cpu.jit?.stats.chained ?? 0 }
    }
    const reference = run(false)
    // Three calls with the old ADD, two with the new one.
    expect(reference.x1).toBe(3n + 2n * 100n)
    const got = run(true)
    expect({ x1: got.x1, retired: got.retired }).toEqual({ x1: reference.x1, retired: reference.retired })
    expect(got.chained).toBeGreaterThan(0)
  })
})
