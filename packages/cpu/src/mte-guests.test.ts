import { readFileSync } from 'node:fs'
import { describe, expect, test } from 'vitest'
import { GUESTS, runGuest } from './guest-runner.js'
import { enableGuestMte } from './mte-test-support.js'

const GUEST_NAMES = ['mte-basic', 'mte-sync', 'mte-access', 'mte-async', 'mte-asym', 'mte-tcma', 'mte-tco', 'mte-block', 'mte-off', 'mte-el0', 'mte-demo']

describe('MTE guests recorded under QEMU 10', () => {
  test.each(GUEST_NAMES)('%s prints what QEMU printed, byte for byte', (name) => {
    const expected = readFileSync(`${GUESTS}${name}/qemu.out`, 'utf8')
    const run = runGuest(name, 50_000_000, true, enableGuestMte)
    expect(run.output).toBe(expected)
    expect(run.poweredOff).toBe(true)
  })

  test('mte-sync and mte-access give the same output without the block tier', () => {
    for (const name of ['mte-sync', 'mte-access']) {
      expect(runGuest(name, 50_000_000, false, enableGuestMte).output).toBe(readFileSync(`${GUESTS}${name}/qemu.out`, 'utf8'))
    }
  })

  // 168 M instructions (17–45 s alone, up to 160 s with the 2-core machine shared by other
  // jobs): tags of 4 MiB rewritten in 16 rounds, then verified. Hence its own time limit.
  test('tag-workload prints what QEMU printed, byte for byte', () => {
    const run = runGuest('tag-workload', 400_000_000, true, enableGuestMte)
    expect(run.output).toBe(readFileSync(`${GUESTS}tag-workload/qemu.out`, 'utf8'))
    expect(run.poweredOff).toBe(true)
  }, 300_000)
})
