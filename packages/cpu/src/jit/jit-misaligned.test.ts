// Misaligned loads, stores and pairs in translations: done in wasm when SCTLR_EL1.A is clear
// and stage 1 is on (Normal memory), as the interpreter does them; an alignment fault as in
// the interpreter when SCTLR_EL1.A is set or stage 1 is off (all data Device); a misaligned
// access that crosses its page leaves for the interpreter, which does it.

import { describe, expect, test } from 'vitest'
import { RAM_BASE, enableIdentityMmu, makeMachine } from '../test-helpers.js'

const CODE = RAM_BASE + 0x20_0000
const DATA = RAM_BASE + 0x30_0000
const VBAR = RAM_BASE + 0x1000
// add x3, x3, #1; ldr x0, [x1]; ldp x4, x5, [x1, #16]; str x0, [x1, #40]; ldr w6, [x1, x7]; hvc #0xf00d
const PROGRAM = [0x91000463, 0xf9400020, 0xa9411424, 0xf9001420, 0xb8676826, 0xd41e01a2]

interface Case {
  mmu: boolean
  strict: boolean
  /** Byte offset of x1 from DATA on the second run (the first, aligned, makes the translation). */
  offset: number
}

function run(jit: boolean, c: Case): { state: string; translated: number } {
  const m = makeMachine(16 << 20, true, false, jit ? { threshold: 1 } : undefined)
  const cpu = m.cpu
  if (c.mmu) enableIdentityMmu(m)
  if (c.strict) cpu.setSysreg('SCTLR_EL1', cpu.getSysreg('SCTLR_EL1') | 2n) // A
  for (let k = 0; k < 16; k++) m.memory.write32(VBAR + 0x80 * k, (0xd4000002 | ((0x100 + k) << 5)) >>> 0)
  cpu.setSysreg('VBAR_EL1', BigInt(VBAR))
  PROGRAM.forEach((w, i) => m.memory.write32(CODE + 4 * i, w))
  cpu.invalidateCode(CODE, 4 * PROGRAM.length)
  for (let i = 0; i < 0x2000; i += 4) m.memory.write32(DATA + i, (i * 0x9e3779b1) >>> 0)
  const states: string[] = []
  for (const offset of [0, c.offset]) {
    for (const name of ['ESR_EL1', 'FAR_EL1', 'ELR_EL1'] as const) cpu.setSysreg(name, 0n)
    cpu.setX(1, BigInt(DATA + offset))
    cpu.setX(7, 3n)
    cpu.pstate = 0x3c5
    cpu.pc = BigInt(CODE)
    const exit = cpu.run(1000)
    const regs = [0, 1, 3, 4, 5, 6].map((r) => cpu.getX(r).toString(16))
    const sys = (['ESR_EL1', 'FAR_EL1', 'ELR_EL1'] as const).map((n) => cpu.getSysreg(n).toString(16))
    states.push(JSON.stringify({ exit: exit.kind, regs, sys, pc: cpu.pc.toString(16), retired: cpu.retired, stored: [0, 4, 8].map((d) => m.memory.read32(((DATA + c.offset + 40) & ~3) + d)) }))
  }
  return { state: states.join('\n'), translated: cpu.jit?.stats.retired ?? 0 }
}

describe('misaligned accesses in translations', () => {
  test('with stage 1 on and SCTLR_EL1.A clear they run in wasm; else they fault as in the interpreter', () => {
    for (const mmu of [false, true]) {
      for (const strict of [false, true]) {
        for (const offset of [1, 3, 6, 0xffc, 0xfe9]) {
          const c = { mmu, strict, offset }
          const reference = run(false, c)
          const got = run(true, c)
          expect(got.state, JSON.stringify(c)).toBe(reference.state)
          const faults = !mmu || strict
          expect(reference.state.includes('"sys":["0"')).toBe(!faults)
          // In the page (offset 1..6): the second run's five instructions before the HVC in the
          // translation (the first run, interpreted, made it).
          if (!faults && offset < 0xf00) expect(got.translated).toBe(5)
        }
      }
    }
  })
})
