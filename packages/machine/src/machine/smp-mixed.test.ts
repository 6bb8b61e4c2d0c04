// Plain stores and atomics on the same words across vCPU threads (guests/smp-mixed): each CPU
// counts in its own halfword of shared words with plain LDRH/STRH while every CPU rewrites
// the whole words with atomics that change nothing (LDADD/LDSET #0, CAS of the value read,
// LDXR/STXR of it, SWP there and back). An atomic's write must not bring back a halfword's
// old count: every count ends exact, as under QEMU. Before atomics wrote with a host
// compare-and-swap, vCPU threads lost counts here, and Linux on two threads could hang with
// a queued spinlock locked by nobody (its byte-store unlock overwritten by another CPU's LDSET).
import { readFileSync } from 'node:fs'
import { describe, expect, test } from 'vitest'
import { Machine, type MachineConfig } from '../index.js'
import { spawnSourceWorker } from '../smp/node-spawn.test-support.js'

const GUESTS = new URL('../../../../guests/', import.meta.url)
const FILE = 'smp-mixed.elf'
const MIXED = readFileSync(new URL(`smp-mixed/${FILE}`, GUESTS))
const qemu = (cpus: number) => readFileSync(new URL(`smp-mixed/qemu-smp${cpus}.out`, GUESTS), 'utf8')

function run(cpus: number, threads: boolean): string {
  const config: MachineConfig = { ramBase: 0x4000_0000, ramSize: 16 << 20, cpus, mte: true, backing: 'anon', clock: 'host' }
  let output = ''
  const machine = Machine.create(config, { console: (b) => (output += new TextDecoder().decode(b)) }, threads ? { threads: { spawn: spawnSourceWorker } } : {})
  try {
    machine.boot(MIXED, FILE)
    expect(machine.run()).toEqual({ kind: 'power-off' })
    return output
  } finally {
    machine.close()
  }
}

describe('plain stores and atomics on the same words across vCPUs (smp-mixed guest)', () => {
  test('in lockstep, as QEMU', () => {
    expect(run(2, false)).toBe(qemu(2))
  })

  // Each run boots its workers (seconds; several times that under load).
  test.each([2, 4])('on %i threads: no plain store lost under an atomic, as QEMU', { timeout: 300_000 }, (cpus) => {
    expect(run(cpus, true)).toBe(qemu(cpus))
  })
})
