// vCPU threads share one guest counter (guests/smp-counter): a thread whose worker started late
// still reads CNTVCT_EL0 in step with the others, never behind a value another CPU read before
// (each thread's clock counts from the main VM's origin with the VM's offsets,
// VcpuThreadInit.counters).
import { readFileSync } from 'node:fs'
import { KVM_REG_ARM_TIMER_CNT, type VcpuThreadInit } from '@tagvm/vmm-api'
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
const BEHIND = /checks per cpu, ([1-9]\d*) reads behind/

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

  // Each thread's clock counts from the main VM's clock origin and takes the VM's counter
  // offsets (VcpuThreadInit.counters). Handing over a counter value and the time it was read
  // instead left a thread behind by any delay between the two reads (up to 4.7 ms seen: cold
  // code on the main thread, a busy host), and this guest failed on 3-4 threads in about half
  // the runs.
  test.each([2, 4])(`on %i threads started ${LATE_MS} ms apart, as QEMU`, { timeout: 300_000 }, (cpus) => {
    expect(run(cpus, lateSpawner(spawnSourceWorker))).toBe(qemu(cpus))
  })

  test('the time the vCPU threads take to start is not guest time', { timeout: 300_000 }, () => {
    // Each worker is held 2 s before it is spawned: 4 s at least before the guest runs again.
    const slow: VcpuThreadSpawner = (init) => {
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 2000)
      return spawnSourceWorker(init)
    }
    const config: MachineConfig = { ramBase: 0x4000_0000, ramSize: 16 << 20, cpus: 2, mte: true, backing: 'anon', clock: 'host' }
    const machine = Machine.create(config, { console: () => {} }, { threads: { spawn: slow } })
    try {
      machine.boot(COUNTER, FILE)
      // CNTVCT in ns (the host clock's counter runs at 1 GHz), read from the saved vCPU 0.
      const counterNs = (): number => Number(machine.saveVcpus()[0]!.regs.find((r) => r.id === KVM_REG_ARM_TIMER_CNT)!.value)
      const before = counterNs()
      const started = performance.now()
      expect(machine.run(10_000)).toEqual({ kind: 'budget' })
      const wallMs = performance.now() - started
      const guestMs = (counterNs() - before) / 1e6
      expect(wallMs).toBeGreaterThan(3_900)
      // The guest ran 10k instructions; it must not have seen the threads' start-up go by.
      expect(guestMs, `guest ${guestMs.toFixed(0)} ms of ${wallMs.toFixed(0)} ms wall`).toBeLessThan(wallMs - 3_000)
    } finally {
      machine.close()
    }
  })

  test('the test sees a late thread behind when its counter is not moved on', { timeout: 300_000 }, () => {
    // The same late start with the oldest hand-over (the counter as the main thread read it).
    // A read can only come out behind while both CPUs are in their check loops at once; on a
    // loaded host one thread can be held off the core for the whole of the other's 20,000
    // checks (~10 ms), and then nothing is behind (1 run in 30 at load 10-17). So up to three
    // runs: the control fails only if none of them sees a read behind.
    const old: VcpuThreadSpawner = (init) => spawnSourceWorker({ ...init, counters: undefined })
    const outputs: string[] = []
    for (let attempt = 0; attempt < 3 && !outputs.some((o) => BEHIND.test(o)); attempt++) outputs.push(run(2, lateSpawner(old)))
    expect(outputs.at(-1)).toMatch(BEHIND)
    // Each CPU that read behind says so on its own line (its plain stores before CPU_OFF reach CPU 0).
    const behind = Number(BEHIND.exec(outputs.at(-1)!)![1])
    const perCpu = [...outputs.at(-1)!.matchAll(/^ {2}cpu \d: (\d+) behind/gm)].reduce((sum, m) => sum + Number(m[1]), 0)
    expect(perCpu).toBe(behind)
  })
})
