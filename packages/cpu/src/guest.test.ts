import { readFileSync } from 'node:fs'
import { describe, expect, test } from 'vitest'
import { GUESTS, runGuest } from './guest-runner.js'

describe('bare-metal guests recorded under QEMU', () => {
  test('cpu-basic: MMU, SVC, data aborts and integer loops match QEMU byte for byte', () => {
    const expected = readFileSync(`${GUESTS}cpu-basic/qemu.out`, 'utf8')
    const run = runGuest('cpu-basic')
    expect(run.output).toBe(expected)
    expect(run.poweredOff).toBe(true)
  }, 60_000)
})
