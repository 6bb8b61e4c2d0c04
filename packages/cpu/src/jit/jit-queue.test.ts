// The batch queue (jit.ts translate/flush): straight-line code reaches the threshold one
// instruction after another, and only the first of a run of them makes a region; the others
// are in its blocks. A loop then costs one region, with the interpreter's results.

import { describe, expect, test } from 'vitest'
import { RAM_BASE, makeMachine, type Machine } from '../test-helpers.js'

const CODE = RAM_BASE + 0x20_0000

// llvm-mc -triple=aarch64:
// 1: add x0, x0, #1; add x1, x1, x0; eor x2, x2, x1; lsl x3, x2, #3; orr x4, x4, x3;
//    sub x5, x5, x4; cmp x0, #100; b.hi 2f; add x6, x6, #1;
// 2: subs x19, x19, #1; b.ne 1b; hvc #0xf00d
const LOOP = [
  0x91000400, 0x8b000021, 0xca010042, 0xd37df043, 0xaa030084, 0xcb0400a5, 0xf101901f, 0x54000048, 0x910004c6, 0xf1000673, 0x54fffec1,
  0xd41e01a2,
]

function machine(threshold: number | null): Machine {
  const m = makeMachine(16 << 20, true, false, threshold === null ? undefined : { threshold })
  LOOP.forEach((w, i) => m.memory.write32(CODE + 4 * i, w))
  m.cpu.invalidateCode(CODE, 4 * LOOP.length)
  m.cpu.setX(19, 300n)
  m.cpu.pstate = 0x3c5
  m.cpu.pc = BigInt(CODE)
  return m
}

function finish(m: Machine): string {
  const exit = m.cpu.run(100_000)
  return JSON.stringify({ exit: exit.kind, regs: Array.from({ length: 31 }, (_, r) => m.cpu.getX(r).toString(16)), pc: m.cpu.pc.toString(16), retired: m.cpu.retired })
}

describe('the batch queue', () => {
  test.each([2, 16, 64])('a loop of straight-line blocks becomes one region (threshold %i), with the interpreter\'s results', (threshold) => {
    const m = machine(threshold)
    expect(finish(m)).toBe(finish(machine(null)))
    const stats = m.cpu.jit!.stats
    // One region of the loop's three blocks (11 instructions; the HVC is not translated).
    expect(stats.regions).toBe(1)
    expect(stats.translatedInstructions).toBe(11)
    // The instructions after the first, hot one round after it, were not queued.
    expect(stats.continued).toBeGreaterThan(0)
    // 300 rounds (100 of 11 instructions, 200 of 10): all but those before the region was made
    // (queued at the threshold, made when the entry reaches it again) ran in it.
    expect(stats.retired).toBeGreaterThan(3100 - 11 * (2 * threshold + 1))
  })
})
