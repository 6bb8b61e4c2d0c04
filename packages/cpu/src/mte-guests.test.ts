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
  }, 60_000)
})
