import { readFileSync } from 'node:fs'
import { describe, expect, test } from 'vitest'
import { Worker } from 'node:worker_threads'
import { Machine, vcpuThreadBootSource, type MachineConfig, type StopReason, type VcpuThreadSpawner } from '../index.js'
import { spawnSourceWorker } from './node-spawn.test-support.js'
import { describeCase, runStressCase, stressCases } from './stress.test-support.js'

const GUESTS = new URL('../../../../guests/', import.meta.url)
const STRESS = readFileSync(new URL('smp-stress/smp-stress.elf', GUESTS))
const CRC = readFileSync(new URL('smp-crc/smp-crc.elf', GUESTS))
const TLBI = readFileSync(new URL('smp-tlbi/smp-tlbi.elf', GUESTS))
const TLBI_QEMU = readFileSync(new URL('smp-tlbi/qemu-smp2.out', GUESTS), 'utf8')
const SGI = readFileSync(new URL('smp-sgi/smp-sgi.elf', GUESTS))
const SGI_QEMU = readFileSync(new URL('smp-sgi/qemu-smp2.out', GUESTS), 'utf8')
const SMC = readFileSync(new URL('smp-smc/smp-smc.elf', GUESTS))
const SMC_QEMU = readFileSync(new URL('smp-smc/qemu-smp2.out', GUESTS), 'utf8')

function config(cpus: number): MachineConfig {
  return { ramBase: 0x4000_0000, ramSize: 16 << 20, cpus, mte: true, backing: 'anon', clock: 'host' }
}

interface Outcome {
  stop: StopReason
  output: string
  machine: Machine
}

function runOnThreads(image: Uint8Array, file: string, cpus: number, options: { startDelays?: number[]; slice?: number } = {}): Outcome {
  let output = ''
  const machine = Machine.create(config(cpus), { console: (b) => (output += new TextDecoder().decode(b)) }, {
    threads: { spawn: spawnSourceWorker, ...(options.startDelays ? { startDelays: options.startDelays } : {}), ...(options.slice ? { slice: options.slice } : {}) },
  })
  machine.boot(image, file)
  try {
    return { stop: machine.run(), output, machine }
  } finally {
    machine.close()
  }
}

function lockstep(image: Uint8Array, file: string, cpus: number): string {
  let output = ''
  const machine = Machine.create(config(cpus), { console: (b) => (output += new TextDecoder().decode(b)) })
  machine.boot(image, file)
  expect(machine.run()).toEqual({ kind: 'power-off' })
  return output
}

describe('vCPUs on worker threads (smp-stress guest)', () => {
  test('lockstep and QEMU agree on the stress guest with 2 and 4 vCPUs', () => {
    for (const cpus of [2, 4]) {
      expect(lockstep(STRESS, 'smp-stress.elf', cpus)).toBe(readFileSync(new URL(`smp-stress/qemu-smp${cpus}.out`, GUESTS), 'utf8'))
    }
  })

  // A hang guard per run (each boots its workers: about 12 s, several times that under load).
  // bench/smp-stress-soak.ts runs thousands of these on built workers.
  const runs = Number(process.env.SMP_STRESS_RUNS ?? 5)
  test('randomised thread timing: counts exact, no torn tags, every page cleaned once', { timeout: 60_000 + runs * 60_000 }, () => {
    // Seeded, so a failure names a case that can be rerun.
    const nextCase = stressCases(0x5eed18)
    for (let run = 0; run < runs; run++) {
      const c = nextCase()
      const outcome = runStressCase(c, spawnSourceWorker)
      const what = `run ${run}: ${describeCase(c)}`
      expect(outcome.problems, what).toEqual([])
      if (process.env.SMP_STRESS_LOG) console.log(`${what}: ok (${outcome.threadCleans} thread cleans, ${outcome.hostInits} host inits, ${outcome.hostFaults} host faults)`)
    }
  })

  test('the CRC guest prints the same on threads as in lockstep', () => {
    const { stop, output } = runOnThreads(CRC, 'smp-crc.elf', 2)
    expect(stop).toEqual({ kind: 'power-off' })
    expect(output).toBe(lockstep(CRC, 'smp-crc.elf', 2))
  })
})

describe('TLB maintenance across vCPUs (smp-tlbi guest)', () => {
  test('in lockstep, the other vCPU never uses the stale translation after TLBI VAE1IS + DSB', () => {
    expect(lockstep(TLBI, 'smp-tlbi.elf', 2)).toBe(TLBI_QEMU)
  })

  test('on threads, the TLBI reaches the other thread before the DSB completes, whatever the slice', { timeout: 240_000 }, () => {
    for (const slice of [1_000, 200_000]) {
      const { stop, output, machine } = runOnThreads(TLBI, 'smp-tlbi.elf', 2, { slice, startDelays: [0, slice === 1_000 ? 7 : 0] })
      expect(stop, `slice ${slice}`).toEqual({ kind: 'power-off' })
      expect(output, `slice ${slice}`).toBe(TLBI_QEMU)
      // The window's TLBIs (one per round, plus set-up) went to the other thread.
      expect(machine.smpStats()!.tlbiBroadcasts, `slice ${slice}`).toBeGreaterThanOrEqual(200)
    }
  })
})

describe('interrupts between vCPUs (smp-sgi guest: SGI ping-pong, the UART SPI routed to vCPU 1)', () => {
  test('in lockstep, every SGI and SPI is taken once, by its target', () => {
    expect(lockstep(SGI, 'smp-sgi.elf', 2)).toBe(SGI_QEMU)
  })

  test('on threads: SGIs wake the other thread from WFI, the VMM thread SPI reaches vCPU 1', { timeout: 240_000 }, () => {
    for (const slice of [1_000, 200_000]) {
      const { stop, output } = runOnThreads(SGI, 'smp-sgi.elf', 2, { slice, startDelays: [0, slice === 1_000 ? 7 : 0] })
      expect(stop, `slice ${slice}`).toEqual({ kind: 'power-off' })
      expect(output, `slice ${slice}`).toBe(SGI_QEMU)
    }
  })
})

// The code-cache coherence test of the architecture step (packages/cpu code-coherence.test.ts:
// two CPUs on one thread) with the two vCPUs on two threads: CPU 1 holds a function decoded,
// the boot CPU rewrites it with the maintenance the Arm ARM asks for, CPU 1 must run the new
// instruction after its ISB, every round.
describe('cross-modifying code across vCPU threads (smp-smc guest)', () => {
  test('in lockstep, as QEMU: no stale instruction after the maintenance', () => {
    expect(lockstep(SMC, 'smp-smc.elf', 2)).toBe(SMC_QEMU)
  })

  test('on two threads, whatever the slice, as QEMU: no stale instruction after the maintenance', { timeout: 240_000 }, () => {
    for (const slice of [1_000, 200_000]) {
      const { stop, output, machine } = runOnThreads(SMC, 'smp-smc.elf', 2, { slice })
      expect(stop, `slice ${slice}`).toEqual({ kind: 'power-off' })
      expect(output, `slice ${slice}`).toBe(SMC_QEMU)
      expect(machine.smpStats()!.retired.every((n) => n > 0), `slice ${slice}`).toBe(true)
    }
  })
})

describe('a vCPU thread that cannot start', () => {
  test('a worker whose code does not load ends the run with an error naming it (it used to wait forever)', { timeout: 60_000 }, () => {
    const missing = new URL('./no-such-vmm-api.js', import.meta.url).href
    const spawn: VcpuThreadSpawner = (init) => new Worker(vcpuThreadBootSource(missing), { eval: true, workerData: init, execArgv: [] })
    const machine = Machine.create(config(2), { console: () => {} }, { threads: { spawn } })
    try {
      machine.boot(CRC, 'smp-crc.elf')
      const stop = machine.run()
      expect(stop.kind).toBe('error')
      expect(stop.kind === 'error' && stop.message).toMatch(/^vCPU \d thread: could not load the vCPU thread code: .*no-such-vmm-api/)
    } finally {
      machine.close()
    }
  })
})
