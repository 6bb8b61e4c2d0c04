// Chained translations (region-module.ts chainDispatcher: a translation that ends in a branch
// goes straight on to the translation of its target) against the interpreter: a loop in one
// page calling functions in two others, so that nearly every entry is a chain, cut by budgets
// anywhere in a chain; a chained-to page patched (by the code itself, with IC IVAU, and by the
// VMM between runs); and an interrupt that becomes deliverable inside a chain (DAIF unmasked
// with an IRQ pending), taken at the same instruction with the same state.

import { describe, expect, test } from 'vitest'
import { RAM_BASE, enableIdentityMmu, makeMachine, type Machine } from '../test-helpers.js'

const CODE = RAM_BASE + 0x20_0000
const DATA = RAM_BASE + 0x30_0000
const VBAR = RAM_BASE + 0x1000
const FB = CODE + 0x1000
const FC = CODE + 0x2000

// llvm-mc -triple=aarch64, then llvm-objcopy -O binary. Page CODE:
//   loop: bl fB; add x0, x0, #1; bl fC; cmp x3, #50; b.ne 1f;
//         str w7, [x6]; ic ivau, x6; dsb ish; isb;
//   1:    subs x3, x3, #1; b.ne loop; hvc #0xf00d
const MAIN = [0x94000400, 0x91000400, 0x940007fe, 0xf100c87f, 0x540000a1, 0xb90000c7, 0xd50b7526, 0xd5033b9f, 0xd5033fdf, 0xf1000463, 0x54fffec1, 0xd41e01a2]
// fB (CODE + 0x1000): add x1, x1, x0; eor x2, x2, x1, lsl #3; ret
const FUNC_B = [0x8b000021, 0xca010c42, 0xd65f03c0]
// fC (CODE + 0x2000): add x4, x4, #3; cmp x3, x8; b.ne 2f; msr daifclr, #2; 2: ret
const FUNC_C = [0x91000c84, 0xeb08007f, 0x54000041, 0xd50342ff, 0xd65f03c0]
/** add x1, x1, #100: what fB's first instruction becomes when patched. */
const ADD_X1_100 = 0x91019021

interface Options {
  /** The store at iteration 50 goes to fB's first word (else to DATA). */
  patch?: boolean
  /** fC unmasks IRQs at this iteration (x3 counts down from 200). */
  unmaskAt?: number
  /** An IRQ is pending from the start (masked by PSTATE.I). */
  irq?: boolean
}

function machine(threshold: number | null, o: Options = {}): Machine {
  const m = makeMachine(16 << 20, true, false, threshold === null ? undefined : { threshold })
  const cpu = m.cpu
  // Every exception vector: hvc #(0x100 + k).
  for (let k = 0; k < 16; k++) m.memory.write32(VBAR + 0x80 * k, (0xd4000002 | ((0x100 + k) << 5)) >>> 0)
  cpu.setSysreg('VBAR_EL1', BigInt(VBAR))
  for (const [at, words] of [[CODE, MAIN], [FB, FUNC_B], [FC, FUNC_C]] as const) {
    words.forEach((w, i) => m.memory.write32(at + 4 * i, w))
    cpu.invalidateCode(at, 4 * words.length)
  }
  cpu.setX(3, 200n)
  cpu.setX(6, BigInt(o.patch === true ? FB : DATA))
  cpu.setX(7, BigInt(ADD_X1_100))
  cpu.setX(8, BigInt(o.unmaskAt ?? 1000))
  cpu.sp = BigInt(DATA + 0x10_0000)
  cpu.pstate = 0x3c5 // EL1h, DAIF masked
  if (o.irq === true) cpu.setInterruptLines(1)
  cpu.pc = BigInt(CODE)
  return m
}

/** Runs with `budgets` in turn (then to the end), recording the state after each run. */
function play(m: Machine, budgets: readonly number[], between?: (m: Machine, run: number) => void): string[] {
  const seen: string[] = []
  const cpu = m.cpu
  for (let run = 0; run < 4000; run++) {
    between?.(m, run)
    const exit = cpu.run(budgets[run % budgets.length]!)
    const regs = [0, 1, 2, 3, 4, 30].map((r) => cpu.getX(r).toString(16))
    const sys = (['ESR_EL1', 'ELR_EL1', 'SPSR_EL1'] as const).map((n) => cpu.getSysreg(n).toString(16))
    seen.push(JSON.stringify({ exit: exit.kind, regs, pc: cpu.pc.toString(16), pstate: cpu.pstate.toString(16), sys, retired: cpu.retired }))
    if (exit.kind !== 'budget') break
  }
  return seen
}

/** The interpreter's and the tier's (threshold 1 and batched) records, and the tier's chained entries. */
function compare(o: Options, budgets: readonly number[], between?: (m: Machine, run: number) => void): { chained: number[] } {
  const reference = play(machine(null, o), budgets, between)
  expect(reference.at(-1)).not.toContain('"exit":"budget"')
  const chained: number[] = []
  for (const threshold of [1, 2]) {
    const m = machine(threshold, o)
    expect(play(m, budgets, between)).toEqual(reference)
    chained.push(m.cpu.jit!.stats.chained)
  }
  return { chained }
}

describe('chained translations', () => {
  test('budgets that end inside a chain: the same state after every run', () => {
    for (const budgets of [[100_000], [1], [2, 3, 5], [7], [13, 1], [41], [64, 1, 1]]) {
      const { chained } = compare({}, budgets)
      // Long runs go from page to page without the run loop.
      if (budgets[0]! >= 41) for (const c of chained) expect(c).toBeGreaterThan(100)
    }
  })

  test('a chained-to page patched by the code itself (store, IC IVAU, ISB) runs its new code', () => {
    for (const budgets of [[100_000], [9], [50, 3]]) {
      const { chained } = compare({ patch: true }, budgets)
      if (budgets[0] === 100_000) for (const c of chained) expect(c).toBeGreaterThan(100)
    }
    // The patch is seen: fB adds x0 (the iteration) up to iteration 150, then 100 (49 calls).
    const m = machine(1, { patch: true })
    m.cpu.run(100_000)
    expect(m.cpu.getX(1)).toBe(BigInt((150 * 151) / 2 + 49 * 100))
  })

  test('a chained-to page written by the VMM between runs runs its new code', () => {
    // The write lands after run 3 with no invalidateCode: the memory tells the CPU.
    const between = (m: Machine, run: number): void => {
      if (run === 3) m.memory.write32(FB, ADD_X1_100)
    }
    const { chained } = compare({}, [301], between)
    for (const c of chained) expect(c).toBeGreaterThan(100)
  })

  test('an IRQ unmasked inside a chain is taken at the same instruction as in the interpreter', () => {
    for (const budgets of [[100_000], [5], [33, 2]]) {
      compare({ irq: true, unmaskAt: 120 }, budgets)
    }
    const m = machine(1, { irq: true, unmaskAt: 120 })
    const exit = m.cpu.run(100_000)
    expect(exit.kind).toBe('hvc')
    // The IRQ vector (current EL with SPx: 0x280) ran, with ELR at fC's ret after the MSR.
    expect(m.cpu.getSysreg('ELR_EL1')).toBe(BigInt(FC + 16))
    expect(m.cpu.getX(3)).toBe(120n)
    expect(m.cpu.jit!.stats.chained).toBeGreaterThan(100)
  })
})

describe('chains and TLB maintenance by VA', () => {
  // Stage 1 on (enableIdentityMmu: 2 MiB blocks, L2 table at RAM_BASE + 0x1_1000). A loop at
  // LOOP calls F in another 2 MiB block; every iteration does a TLBI VAAE1 of the VA in x9, and
  // at x3 = 50 the loop remaps F's block to the block at F_NEW (other code: x1 += 100 instead
  // of 1), then TLBIs another page of that block (x8): a TLBI by VA drops the whole block.
  const L2 = RAM_BASE + 0x1_1000
  const LOOP = RAM_BASE + 0x20_0000
  const F = RAM_BASE + 0x60_0000
  const F_NEW = RAM_BASE + 0x80_0000
  // loop: bl F; tlbi vaae1, x9; cmp x3, #50; b.ne 1f; str x7, [x6]; dsb ish; tlbi vaae1, x8;
  //       dsb ish; isb; 1: subs x3, x3, #1; b.ne loop; hvc #0xf00d
  const MAIN_LOOP = [0x94100000, 0xd5088769, 0xf100c87f, 0x540000c1, 0xf90000c7, 0xd5033b9f, 0xd5088768, 0xd5033b9f, 0xd5033fdf, 0xf1000463, 0x54fffec1, 0xd41e01a2]
  const ADD_1_RET = [0x91000421, 0xd65f03c0] // add x1, x1, #1; ret
  const ADD_100_RET = [0x91019021, 0xd65f03c0] // add x1, x1, #100; ret

  function run(threshold: number | null, elsewhere: bigint): { state: string; chained: number } {
    const m = makeMachine(16 << 20, true, false, threshold === null ? undefined : { threshold })
    enableIdentityMmu(m)
    const cpu = m.cpu
    for (const [at, words] of [[LOOP, MAIN_LOOP], [F, ADD_1_RET], [F_NEW, ADD_100_RET]] as const) {
      words.forEach((w, i) => m.memory.write32(at + 4 * i, w))
      cpu.invalidateCode(at, 4 * words.length)
    }
    cpu.setX(3, 200n)
    cpu.setX(6, BigInt(L2 + 8 * ((F - RAM_BASE) >>> 21)))
    cpu.setX(7, BigInt(F_NEW | (1 << 10) | (3 << 8) | 0b01)) // F's block -> F_NEW's
    cpu.setX(8, BigInt((F + 0x1000) >>> 12))
    cpu.setX(9, elsewhere >> 12n)
    cpu.pstate = 0x3c5
    cpu.pc = BigInt(LOOP)
    const exit = cpu.run(100_000)
    const regs = [1, 3, 30].map((r) => cpu.getX(r).toString(16))
    return { state: JSON.stringify({ exit: exit.kind, regs, pc: cpu.pc.toString(16), retired: cpu.retired }), chained: cpu.jit?.stats.chained ?? 0 }
  }

  test('a TLBI by VA far from the code keeps the chains; one in the code\'s block drops them: the remapped code runs', () => {
    // 4 GiB: another 1 GiB region (the largest block with the 4 KiB granule) than the code's.
    for (const elsewhere of [0x1_0000_0000n, BigInt(RAM_BASE + 0x3000_0000)]) {
      const reference = run(null, elsewhere)
      // F ran 151 times (x3 = 200..50) before the remap, F_NEW's code 49 times after.
      expect(reference.state).toContain(`"regs":["${(151 + 49 * 100).toString(16)}","0"`)
      for (const threshold of [1, 2]) {
        const { state, chained } = run(threshold, elsewhere)
        expect(state).toBe(reference.state)
        // Far away, every call of F chains from the loop (200 calls); in the code's own 1 GiB
        // region each TLBI starts a new chain generation, and the call goes through the run loop.
        if (elsewhere === 0x1_0000_0000n) expect(chained).toBeGreaterThan(190)
        else expect(chained).toBeLessThan(100)
      }
    }
  })
})
