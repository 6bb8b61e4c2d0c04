import { readFileSync } from 'node:fs'
import { describe, expect, test } from 'vitest'
import { GUESTS, runGuest } from './guest-runner.js'

describe('bare-metal guests recorded under QEMU', () => {
  test('hello: UART output matches QEMU byte for byte', () => {
    const run = runGuest('hello')
    expect(run.output).toBe(readFileSync(`${GUESTS}hello/qemu.out`, 'utf8'))
    expect(run.poweredOff).toBe(true)
  })

  test('cpu-basic: MMU, SVC, data aborts and integer loops match QEMU byte for byte, with and without blocks', () => {
    const expected = readFileSync(`${GUESTS}cpu-basic/qemu.out`, 'utf8')
    const withBlocks = runGuest('cpu-basic', 200_000_000, true)
    const single = runGuest('cpu-basic', 200_000_000, false)
    for (const run of [withBlocks, single]) {
      expect(run.output).toBe(expected)
      expect(run.poweredOff).toBe(true)
    }
    // The block tier retires exactly what single-instruction dispatch retires.
    expect(withBlocks.instructions).toBe(single.instructions)
  })
})
