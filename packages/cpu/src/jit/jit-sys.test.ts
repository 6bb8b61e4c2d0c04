// emit-sys.ts against the interpreter: add/subtract with carry on edge operands (flags read
// in the same block and through MRS NZCV), load-acquire/store-release, prefetches, and system
// register instructions run by their handler inside translations (MSR NZCV, TPIDR_EL1, DAIF
// masking and unmasking, which leaves the translation, and an MRS that is UNDEFINED at EL1,
// whose exception is taken with the interpreter's state); and the batched translation
// (threshold > 1: regions queued, then one module for several) on the same programs.

import { describe, expect, test } from 'vitest'
import { RAM_BASE, makeMachine, type Machine } from '../test-helpers.js'
import { EXIT_THROWN } from './layout.js'

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
})
