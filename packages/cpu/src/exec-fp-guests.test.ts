// The QEMU-recorded FP/SIMD guests run on this CPU (not through the libraries alone):
// guests/simd-fault in full, and the first 4 M instructions of every guests/fpsimd guest
// (crypto whole); `pnpm --filter @tagvm/cpu guests:fpsimd` runs them all whole.
import { readFileSync } from 'node:fs'
import { describe, expect, test } from 'vitest'
import { FPSIMD_GUESTS, runFpsimdGuest } from './exec-fp-guests.js'
import { GUESTS, runGuest } from './guest-runner.js'
import { enableGuestMte } from './mte-test-support.js'

const BUDGET = 4_000_000

describe('guests/fpsimd on the CPU', () => {
  test('crypto, whole: every line as QEMU printed it', () => {
    const run = runFpsimdGuest('crypto')
    expect(run.forms).toBe(46)
    expect(run.output).toBe(run.expected)
  })
  test.each(FPSIMD_GUESTS.filter((g) => g !== 'crypto'))('%s, first 4 M instructions: the lines printed are QEMU\'s', (guest) => {
    const run = runFpsimdGuest(guest, BUDGET)
    expect(run.forms).toBeGreaterThan(0)
    expect(run.output).toBe(run.expected)
  })
})

describe('guests/simd-fault: SIMD&FP loads and stores that fault part-way', () => {
  // QEMU 10 performs misaligned accesses to Device memory; the Arm ARM requires an alignment
  // fault (for SIMD&FP transfers: at the element size of LDn/STn, the register size of LDR),
  // and this CPU raises it, as it does for integer loads. Everything else is QEMU's output.
  const DEVICE_FAULTS: readonly [string, string][] = [
    ['ld1 {v0.4s}, [x0] at +2', 'fault ESR 96000021, FAR = origin + 2'],
    ['ldr q0, [x0] at +8', 'fault ESR 96000021, FAR = origin + 8'],
    ['ldr d0, [x0] at +4', 'fault ESR 96000021, FAR = origin + 4'],
  ]
  const UNCHANGED = '    v0-v3 a0a1a2a3a4a5a6a7a8a9aaabacadaeaf b0b1b2b3b4b5b6b7b8b9babbbcbdbebf c0c1c2c3c4c5c6c7c8c9cacbcccdcecf d0d1d2d3d4d5d6d7d8d9dadbdcdddedf'

  function armArmExpectation(recorded: string): string {
    const lines = recorded.split('\n')
    for (const [probe, fault] of DEVICE_FAULTS) {
      const at = lines.indexOf(`  ${probe}`, lines.indexOf('Device-nGnRnE memory (SCTLR_EL1.A = 0):'))
      expect(lines[at + 1]).toBe('    no fault')
      lines[at + 1] = `    ${fault}`
      lines[at + 2] = UNCHANGED
    }
    const integer = lines.indexOf('  ldr x0, [x0] at +4 (integer, for comparison)')
    lines[integer + 1] = '    fault ESR 96000021'
    return lines.join('\n')
  }

  test('every line as QEMU printed it, except the Arm ARM alignment faults on Device memory', () => {
    const recorded = readFileSync(`${GUESTS}simd-fault/qemu.out`, 'latin1')
    const run = runGuest('simd-fault', 50_000_000, true, enableGuestMte)
    expect(run.poweredOff).toBe(true)
    const device = recorded.indexOf('Device-nGnRnE memory')
    expect(run.output.slice(0, device)).toBe(recorded.slice(0, device))
    expect(run.output).toBe(armArmExpectation(recorded))
  })

  test('the same without the block tier', () => {
    const recorded = readFileSync(`${GUESTS}simd-fault/qemu.out`, 'latin1')
    expect(runGuest('simd-fault', 50_000_000, false, enableGuestMte).output).toBe(armArmExpectation(recorded))
  })
})
