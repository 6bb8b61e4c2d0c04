import { describe, expect, test } from 'vitest'
import { wfiSleepMs } from './vcpu-thread.js'

describe('a vCPU thread blocked in WFI', () => {
  test('sleeps to its timer deadline, looking again at least every 20 ms', () => {
    expect(wfiSleepMs(1.5)).toBe(1.5)
    expect(wfiSleepMs(19.9)).toBe(19.9)
    expect(wfiSleepMs(250)).toBe(20)
    // No timer armed: only a kick (SGI, SPI, command) or the periodic look wakes it.
    expect(wfiSleepMs(Infinity)).toBe(20)
  })

  test('does not spin on a deadline that passed without waking it (the timer interrupt held back in the GIC)', () => {
    expect(wfiSleepMs(0)).toBe(20)
    expect(wfiSleepMs(-3)).toBe(20)
  })
})
