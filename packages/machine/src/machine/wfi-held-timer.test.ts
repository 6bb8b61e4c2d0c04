// A vCPU in WFI whose timer has fired but whose interrupt the GIC holds back (the PPI
// disabled at the redistributor, or masked by ICC_PMR_EL1) stays asleep: that is no wake-up
// event (KVM: no deliverable vGIC interrupt), and on threads the vCPU's thread looks again
// every 20 ms at most. Both vCPUs of the guest (wfi-held-timer.s) sit 300 ms of guest time in
// `wfi; b` with their virtual timer fired and held, counting the WFIs that complete, until
// their physical timer's interrupt ends the window. Counted: the WFIs the guest completed
// (a WFI completed because the timer fires spins through the loop tens of thousands of
// times) and, on threads, the KVM_RUNs that found the vCPU still blocked (a thread that does
// not sleep between looks makes thousands). Then the virtual timer's interrupt, let through,
// wakes the WFI (the good case).
import { readFileSync } from 'node:fs'
import { describe, expect, test } from 'vitest'
import type { MachineConfig } from '../config.js'
import { spawnSourceWorker } from '../smp/node-spawn.test-support.js'
import { Machine } from './machine.js'

const BASE = 0x4008_0000
/** wfi-held-timer.s: `results` at image offset 0x1800, a u64 each. */
const RESULTS = BASE + 0x1800
const RESULT = {
  wfiDisabled: 0x00,
  ctlDisabled: 0x08,
  pendingDisabled: 0x10,
  irqsCpu0: 0x18,
  wfiMasked: 0x20,
  ctlMasked: 0x28,
  pendingMasked: 0x30,
  irqsMasked: 0x38,
  taken: 0x40,
  wfiGood: 0x48,
  intid: 0x50,
  spurious: 0x58,
  done: 0x60,
  windowEndsCpu0: 0x70,
  windowEndsCpu1: 0x78,
} as const
type Results = Record<keyof typeof RESULT, number>
const IMAGE = readFileSync(new URL('./wfi-held-timer.bin', import.meta.url))
const WINDOW_MS = 300
/** The longest sleep of a vCPU thread blocked in WFI (vcpu-thread.ts). */
const MAX_SLEEP_MS = 20
/**
 * Sleeping about 20 ms per look allows ~WINDOW_MS / 20 = 15 looks per window; kicks (the other
 * vCPU's CPU_ON and CPU_OFF, a vGIC signal) and the good rounds add a few. 200 leaves room for
 * all of that; a spin makes orders of magnitude more (a slower host only makes fewer).
 */
const MAX_WAKES = 200
const GOOD_ROUNDS = 5
/** CNTV_CTL_EL0 read back: ENABLE with ISTATUS (the condition met), IMASK clear. */
const CTL_FIRING = 0b101
const PPI_VTIMER = 27

function run(threads: boolean, clock: MachineConfig['clock'] = 'host'): { results: Results; wfiLooks: readonly number[] | undefined } {
  const config: MachineConfig = { ramBase: 0x4000_0000, ramSize: 8 << 20, cpus: 2, mte: false, backing: 'anon', clock }
  const machine = Machine.create(config, { console: () => {} }, threads ? { threads: { spawn: spawnSourceWorker } } : {})
  try {
    machine.boot(IMAGE, 'wfi-held-timer.bin', { base: BASE })
    expect(machine.run()).toEqual({ kind: 'power-off' })
    const bytes = new Uint8Array(0x80)
    machine.memory.read(RESULTS, bytes)
    const view = new DataView(bytes.buffer)
    const results = Object.fromEntries(Object.entries(RESULT).map(([name, at]) => [name, Number(view.getBigUint64(at, true))])) as Results
    return { results, wfiLooks: machine.smpStats()?.wfiLooks }
  } finally {
    machine.close()
  }
}

function expectHeldThenTaken(r: Results): void {
  // The setup held: each virtual timer fired (ISTATUS) and raised its PPI (pending), which the
  // GIC kept from the CPU (no interrupt but the window's end taken).
  expect(r.ctlDisabled).toBe(CTL_FIRING)
  expect(r.ctlMasked).toBe(CTL_FIRING)
  expect(r.pendingDisabled & (1 << PPI_VTIMER)).not.toBe(0)
  expect(r.pendingMasked & (1 << PPI_VTIMER)).not.toBe(0)
  expect(r.irqsCpu0).toBe(0)
  expect(r.irqsMasked).toBe(0)
  expect([r.windowEndsCpu0, r.windowEndsCpu1]).toEqual([1, 1])
  // The WFIs the guest completed in each window: the physical timer's wake-up, and not many more.
  const wfis = `WFIs completed in ${WINDOW_MS} ms: PPI disabled ${r.wfiDisabled}, PMR masked ${r.wfiMasked}`
  expect(r.wfiDisabled, wfis).toBeGreaterThan(0)
  expect(r.wfiDisabled, wfis).toBeLessThanOrEqual(MAX_WAKES)
  expect(r.wfiMasked, wfis).toBeGreaterThan(0)
  expect(r.wfiMasked, wfis).toBeLessThanOrEqual(MAX_WAKES)
  // The good case: five 1 ms timers, each taken (INTID 27) from WFI.
  expect(r.taken).toBe(GOOD_ROUNDS)
  expect(r.intid).toBe(PPI_VTIMER)
  expect(r.wfiGood).toBeGreaterThanOrEqual(GOOD_ROUNDS)
  expect(r.wfiGood).toBeLessThanOrEqual(MAX_WAKES)
  expect(r.spurious).toBe(0)
  expect(r.done).toBe(1)
}

describe('a vCPU in WFI with its fired timer held back by the GIC', () => {
  test(`on threads: asleep, each thread looking at most ${MAX_WAKES} times in ${WINDOW_MS} ms of guest time; let through, the interrupt wakes it`, { timeout: 300_000 }, () => {
    const { results, wfiLooks } = run(true)
    expectHeldThenTaken(results)
    // Each look at a vCPU still blocked in WFI, then a sleep of up to MAX_SLEEP_MS.
    expect(wfiLooks, `KVM_RUNs that found each vCPU blocked (~${WINDOW_MS / MAX_SLEEP_MS} per window when sleeping ${MAX_SLEEP_MS} ms)`).toHaveLength(2)
    for (const looks of wfiLooks!) {
      expect(looks).toBeGreaterThan(0)
      expect(looks, `looks per vCPU: ${wfiLooks!.join(', ')}`).toBeLessThanOrEqual(MAX_WAKES)
    }
  })

  test('in lockstep: the same', () => {
    const { results, wfiLooks } = run(false)
    expectHeldThenTaken(results)
    expect(wfiLooks).toBeUndefined()
  })

  test('in lockstep on the instruction clock: exactly one WFI per window, the one its physical timer ends', () => {
    // Both vCPUs blocked: the clock jumps to the next deadline that can wake one (not the
    // fired virtual timers'), so the windows end without an instruction spent in between.
    const { results } = run(false, 'instructions')
    expectHeldThenTaken(results)
    expect([results.wfiDisabled, results.wfiMasked, results.wfiGood]).toEqual([1, 1, GOOD_ROUNDS])
  })
})
