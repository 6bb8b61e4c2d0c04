import { readFileSync } from 'node:fs'
import { describe, expect, test } from 'vitest'
import { GUESTS, runGuest } from './guest-runner.js'

describe('bare-metal guests recorded under QEMU', () => {
  test.each([true, false])('cpu-basic: MMU, SVC, data aborts and integer loops match QEMU byte for byte (blocks %s)', (blocks) => {
    const expected = readFileSync(`${GUESTS}cpu-basic/qemu.out`, 'utf8')
    const run = runGuest('cpu-basic', 200_000_000, blocks)
    expect(run.output).toBe(expected)
    expect(run.poweredOff).toBe(true)
  }, 60_000)

  test('the block tier and single-instruction dispatch retire the same instruction count', () => {
    expect(runGuest('cpu-basic', 200_000_000, true).instructions).toBe(runGuest('cpu-basic', 200_000_000, false).instructions)
  }, 60_000)
})
