// The benchmark guests (guests/bench-*, MTE on and off) under the interpreter and the
// compiled tier at its default threshold, as `pnpm bench` runs them: QEMU's recorded line,
// and the same retired count and final registers in both tiers.

import { readFileSync } from 'node:fs'
import { describe, expect, test } from 'vitest'
import { GUESTS, runGuest } from '../guest-runner.js'
import { enableGuestMte } from '../mte-test-support.js'
import type { Cpu } from '../cpu.js'

/** Every benchmark guest (bench-<w> MTE on, bench-<w>-nomte off); bench/jit-suite.ts runs the same list. */
const BENCH_WORKLOADS = ['crc32', 'sieve', 'copy', 'list', 'string', 'alloc']

function registers(cpu: Cpu): string[] {
  return [...Array.from({ length: 31 }, (_, r) => cpu.getX(r)), cpu.sp, cpu.pc, BigInt(cpu.pstate)].map((v) => v.toString(16))
}

describe('benchmark guests through both tiers', () => {
  const names = BENCH_WORKLOADS.flatMap((w) => [`bench-${w}`, `bench-${w}-nomte`])
  test.each(names)('%s: QEMU output, same retired count and registers with and without the tier', (name) => {
    const expected = readFileSync(`${GUESTS}${name}/qemu.out`, 'utf8')
    const interp = runGuest(name, 400_000_000, true, enableGuestMte)
    const jit = runGuest(name, 400_000_000, true, enableGuestMte, {})
    expect(interp.output).toBe(expected)
    expect(jit.output).toBe(expected)
    expect(jit.poweredOff).toBe(true)
    expect(jit.instructions).toBe(interp.instructions)
    expect(registers(jit.machine.cpu)).toEqual(registers(interp.machine.cpu))
    // The tier really ran: regions were translated, and nearly all of the run retired in them.
    const stats = jit.machine.cpu.jit!.stats
    expect(stats.regions).toBeGreaterThanOrEqual(5)
    expect(stats.retired / jit.instructions).toBeGreaterThan(0.9)
  }, 300_000)
})
