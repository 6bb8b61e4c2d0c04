// Every recorded guest with the compiled tier forced on (threshold 1: every entered address
// is translated at once) and off: the same console output as QEMU, the same retired count,
// the same final registers.

import { readFileSync } from 'node:fs'
import { describe, expect, test } from 'vitest'
import { GUESTS, runGuest } from '../guest-runner.js'
import { enableGuestMte } from '../mte-test-support.js'
import type { Cpu } from '../cpu.js'

const INTEGER = ['hello', 'cpu-basic']
const MTE = ['mte-basic', 'mte-sync', 'mte-access', 'mte-async', 'mte-asym', 'mte-tcma', 'mte-tco', 'mte-block', 'mte-off', 'mte-el0', 'mte-demo']

function registers(cpu: Cpu): string[] {
  return [...Array.from({ length: 31 }, (_, r) => cpu.getX(r)), cpu.sp, cpu.pc, BigInt(cpu.pstate)].map((v) => v.toString(16))
}

describe('guests with the compiled tier forced on', () => {
  test.each([...INTEGER, ...MTE])('%s: QEMU output, retired count and registers as without the tier', (name) => {
    const configure = name.startsWith('mte') ? enableGuestMte : undefined
    const expected = readFileSync(`${GUESTS}${name}/qemu.out`, 'utf8')
    const off = runGuest(name, 200_000_000, true, configure)
    const on = runGuest(name, 200_000_000, true, configure, { threshold: 1 })
    expect(on.output).toBe(expected)
    expect(on.poweredOff).toBe(true)
    expect(on.instructions).toBe(off.instructions)
    expect(registers(on.machine.cpu)).toEqual(registers(off.machine.cpu))
    const stats = on.machine.cpu.jit!.stats
    // The tier really ran: translations were entered and retired a good part of the guest.
    expect(stats.regions).toBeGreaterThan(10)
    expect(stats.entries).toBeGreaterThan(50)
  })
})
