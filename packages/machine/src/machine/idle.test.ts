// A machine whose vCPUs all wait in WFI on the host clock: run() with `idle: 'return'` hands
// the wait to the caller (how long until a timer wakes a vCPU) instead of sleeping in this
// thread, so an event loop can sleep until then or until input arrives.
import { describe, expect, test } from 'vitest'
import type { MachineConfig } from '../config.js'
import { Machine } from './machine.js'

const CONFIG: MachineConfig = { ramBase: 0x4000_0000, ramSize: 8 << 20, cpus: 1, mte: false, backing: 'anon', clock: 'host' }
/** loop { wfi } */
const WFI_LOOP = [0xd503207f, 0x17ffffff]
/** CNTP_CVAL_EL0 = 100 s at 1 GHz; CNTP_CTL_EL0 = ENABLE; loop { wfi } */
const TIMER_THEN_WFI = [0xd2c002e7, 0xf2a90ec7, 0xf29d0007, 0xd51be247, 0xd2800027, 0xd51be227, ...WFI_LOOP]

function boot(words: number[]): Machine {
  const machine = Machine.create(CONFIG, { console: () => {} })
  machine.boot(new Uint8Array(Uint32Array.from(words).buffer), 'idle.bin', { base: 0x4008_0000 })
  return machine
}

describe("run() with idle: 'return' on the host clock", () => {
  test('nothing armed: a budget stop at once, idle until input (Infinity)', () => {
    const machine = boot(WFI_LOOP)
    expect(machine.run(1000, { idle: 'return' })).toEqual({ kind: 'budget', idleMs: Infinity })
    expect(machine.retired).toBe(1) // the WFI, then asleep
    expect(machine.run(1000, { idle: 'return' })).toEqual({ kind: 'budget', idleMs: Infinity })
    expect(machine.retired).toBe(1)
  })

  test('a timer 100 s ahead: idleMs is the time left to it', () => {
    const machine = boot(TIMER_THEN_WFI)
    const stop = machine.run(1000, { idle: 'return' })
    expect(stop.kind).toBe('budget')
    const idleMs = stop.kind === 'budget' ? stop.idleMs : undefined
    expect(idleMs).toBeGreaterThan(0)
    expect(idleMs).toBeLessThanOrEqual(100_000)
    expect(machine.retired).toBe(7)
  })

  test('by default run() sleeps briefly itself and reports no idleMs', () => {
    const machine = boot(WFI_LOOP)
    expect(machine.run(1000)).toEqual({ kind: 'budget' })
    expect(machine.retired).toBe(1)
  })
})
