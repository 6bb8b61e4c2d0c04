// The block tier builds a block only for code that runs HOT times within one HOT_WINDOW of
// retired instructions: a subroutine called in a tight loop becomes a block, the same
// subroutine called as often but with more than a window of other work between calls (an
// idle kernel's timer tick) stays with the single-instruction dispatcher.
import { expect, test } from 'vitest'
import { HOT, HOT_WINDOW } from './code-cache.js'
import { CODE, load, makeMachine } from './test-helpers.js'

const SUB = CODE + 0x1000
const CALLS = 20

/** CALLS calls of a 3-instruction subroutine in another page, with `spin` iterations of a 2-instruction loop between calls. */
function callSpread(spin: number): { block: boolean; x1: bigint; retired: number } {
  const m = makeMachine(4 << 20, true)
  load(m, [0x91000421, 0x91000421, 0xd65f03c0], SUB) // add x1, x1, #1 (twice); ret
  load(m, [
    (0xd2800003 | (CALLS << 5)) >>> 0, // movz x3, #CALLS
    0x940003ff, // bl SUB
    (0xd2800002 | (spin << 5)) >>> 0, // movz x2, #spin
    0xf1000442, // subs x2, x2, #1
    0x54ffffe1, // b.ne .-4
    0xf1000463, // subs x3, x3, #1
    0x54ffff61, // b.ne to the bl
    0xd41e01a2, // hvc #0xf00d
  ])
  expect(m.cpu.run(10_000_000)).toMatchObject({ kind: 'hvc', imm16: 0xf00d })
  return { block: m.cpu.code.pageAt(SUB)?.blocks[0] !== undefined, x1: m.cpu.getX(1), retired: m.cpu.retired }
}

test('a subroutine called in a tight loop becomes a block', () => {
  expect(CALLS).toBeGreaterThan(HOT)
  const tight = callSpread(1)
  expect(tight.x1).toBe(BigInt(2 * CALLS))
  expect(tight.block).toBe(true)
})

test('the same calls spread over more than a window each stay single-stepped (and run the same)', () => {
  const spin = Math.ceil(HOT_WINDOW / 2) + 100
  const spread = callSpread(spin)
  expect(spread.retired).toBeGreaterThan(CALLS * HOT_WINDOW)
  expect(spread.x1).toBe(BigInt(2 * CALLS))
  expect(spread.block).toBe(false)
})
