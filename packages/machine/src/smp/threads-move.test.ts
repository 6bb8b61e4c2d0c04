// Snapshots and live migration of a machine whose vCPUs run on threads (issue 18): every
// vCPU thread stops at an instruction boundary (park), hands its registers back (a parked
// thread's SAVE_STATE task, pending MMIO completed first), the vGIC is saved under its lock,
// and the guest goes on from there: on the same threads, on a fresh machine's threads, or in
// lockstep (and back). The bundled SMP guests must end exactly as an unbroken run does.
import { readFileSync } from 'node:fs'
import { afterEach, describe, expect, test } from 'vitest'
import { KVM_MP_STATE_STOPPED } from '@tagvm/vmm-api'
import { FileFormatError } from '../errors.js'
import { Machine, type MachineConfig } from '../index.js'
import { channelPair } from '../migration/channel.js'
import { receiveMigration, sendMachine } from '../migration/live.js'
import { restoreSnapshot } from '../restore.js'
import { SnapshotEncoder } from '../snapshot/format.js'
import { writeMachineSnapshot } from '../snapshot/save.js'
import { spawnSourceWorker } from './node-spawn.test-support.js'

const GUESTS = new URL('../../../../guests/', import.meta.url)
const STRESS = readFileSync(new URL('smp-stress/smp-stress.elf', GUESTS))
const STRESS_QEMU = readFileSync(new URL('smp-stress/qemu-smp2.out', GUESTS), 'utf8')
const SGI = readFileSync(new URL('smp-sgi/smp-sgi.elf', GUESTS))
const SGI_QEMU = readFileSync(new URL('smp-sgi/qemu-smp2.out', GUESTS), 'utf8')

/** A bound on every run to the end (the guests need at most 2.5M instructions): a broken copy fails instead of hanging. */
const LIMIT = 50_000_000
const CONFIG: MachineConfig = { ramBase: 0x4000_0000, ramSize: 16 << 20, cpus: 2, mte: true, backing: 'anon', clock: 'host' }

/** Machines made by a test, closed after it (a machine on threads keeps its workers until closed). */
const made: Machine[] = []
afterEach(() => {
  for (const m of made.splice(0)) m.close()
})

/** A machine whose console appends to `out.text`; on threads unless `lockstep`. */
function machine(out: { text: string }, options: { lockstep?: boolean; slice?: number; config?: MachineConfig } = {}): Machine {
  const m = Machine.create(options.config ?? CONFIG, { console: (b) => (out.text += new TextDecoder().decode(b)) }, options.lockstep ? {} : { threads: { spawn: spawnSourceWorker, ...(options.slice ? { slice: options.slice } : {}) } })
  made.push(m)
  return m
}

function snapshot(m: Machine): Uint8Array {
  const chunks: Uint8Array[] = []
  writeMachineSnapshot(m, new SnapshotEncoder((c) => chunks.push(c.slice())))
  return Buffer.concat(chunks)
}

/** The guest's output so far, and a machine restored from `snap` that appends to a copy of it. */
function restore(snap: Uint8Array, before: string, options: { lockstep?: boolean; slice?: number } = {}): { out: { text: string }; machine: Machine } {
  const out = { text: before }
  return { out, machine: restoreSnapshot(snap, 'threads.snap', (config) => machine(out, { ...options, config })) }
}

describe('snapshots of vCPUs on threads', () => {
  test('smp-stress snapshotted mid-run on threads: the source runs on, and copies restored on threads and in lockstep end as QEMU does', { timeout: 600_000 }, () => {
    const out = { text: '' }
    const source = machine(out)
    source.boot(STRESS, 'smp-stress.elf')
    // Until both vCPUs are under way (vCPU 1's thread starts at PSCI CPU_ON, however long its
    // worker took to start): the snapshot is taken with both running.
    expect(source.run(500_000)).toEqual({ kind: 'budget' })
    while (!source.smpStats()!.retired.every((n) => n > 10_000)) expect(source.run(100_000)).toEqual({ kind: 'budget' })
    const snap = snapshot(source)
    const before = out.text
    expect(before).not.toBe(STRESS_QEMU)
    // A snapshot reads the registers without disturbing the threads: the guest goes on.
    expect(source.run(LIMIT)).toEqual({ kind: 'power-off' })
    expect(out.text).toBe(STRESS_QEMU)

    const onThreads = restore(snap, before)
    expect(onThreads.machine.run(LIMIT)).toEqual({ kind: 'power-off' })
    expect(onThreads.out.text).toBe(STRESS_QEMU)

    const inLockstep = restore(snap, before, { lockstep: true })
    expect(inLockstep.machine.run(LIMIT)).toEqual({ kind: 'power-off' })
    expect(inLockstep.out.text).toBe(STRESS_QEMU)
  })

  test('a lockstep snapshot of smp-stress restored on threads, snapshotted there again and restored in lockstep', { timeout: 600_000 }, () => {
    const out = { text: '' }
    const source = machine(out, { lockstep: true })
    source.boot(STRESS, 'smp-stress.elf')
    expect(source.run(600_000)).toEqual({ kind: 'budget' })
    const threads = restore(snapshot(source), out.text)
    expect(threads.machine.run(600_000)).toEqual({ kind: 'budget' })
    const back = restore(snapshot(threads.machine), threads.out.text, { lockstep: true })
    expect(back.machine.run(LIMIT)).toEqual({ kind: 'power-off' })
    expect(back.out.text).toBe(STRESS_QEMU)
  })

  test('smp-sgi (SGI ping-pong, both vCPUs in and out of WFI) snapshotted mid-run on threads and restored on threads', { timeout: 600_000 }, () => {
    const out = { text: '' }
    const source = machine(out, { slice: 200_000 })
    source.boot(SGI, 'smp-sgi.elf')
    expect(source.run(200_000)).toEqual({ kind: 'budget' })
    const restored = restore(snapshot(source), out.text, { slice: 200_000 })
    expect(restored.machine.run(LIMIT)).toEqual({ kind: 'power-off' })
    expect(restored.out.text).toBe(SGI_QEMU)
  })

  test('bad input: a 2-vCPU snapshot onto a 4-vCPU machine, and state loaded into threads that already run, are refused with the reason', { timeout: 300_000 }, () => {
    const out = { text: '' }
    const source = machine(out)
    source.boot(SGI, 'smp-sgi.elf')
    expect(source.run(50_000)).toEqual({ kind: 'budget' })
    const snap = snapshot(source)
    expect(() => restoreSnapshot(snap, 'threads.snap', (config) => machine({ text: '' }, { lockstep: true, config: { ...config, cpus: 4 } }))).toThrow(FileFormatError)
    expect(() => restoreSnapshot(snap, 'threads.snap', (config) => machine({ text: '' }, { lockstep: true, config: { ...config, cpus: 4 } }))).toThrow(/vCPU/)
    // The running source's threads hold its state: it cannot be overwritten under them.
    const states = source.saveVcpus()
    expect(() => source.loadVcpus(states)).toThrow(/threads of this machine have started/)
    // Nothing was lost: the source goes on to the end.
    expect(source.run(LIMIT)).toEqual({ kind: 'power-off' })
    expect(out.text).toBe(SGI_QEMU)
  })
})

describe('live migration of vCPUs on threads', () => {
  for (const postcopy of [false, true]) {
    test(`${postcopy ? 'post-copy' : 'pre-copy'}: smp-stress migrated from threads to threads mid-run ends as QEMU does`, { timeout: 600_000 }, async () => {
      const out = { text: '' }
      const source = machine(out)
      source.boot(STRESS, 'smp-stress.elf')
      expect(source.run(500_000)).toEqual({ kind: 'budget' })
      const [a, b] = channelPair()
      const incoming = receiveMigration(b, (config) => machine(out, { config }))
      // Rounds of 200k instructions while the threads run with dirty logging: pages they
      // write between rounds must be sent again, or the destination ends differently.
      // Rounds short enough that both vCPUs still have work when the source stops (smp-stress
      // needs ~2.5M instructions in all; 4 rounds of 200k let a vCPU that ran ahead finish its
      // part on the source now and then, and then it rightly retires nothing here).
      const sent = await sendMachine(source, a, { maxRounds: postcopy ? 1 : 4, insnsPerRound: 50_000, postcopy })
      expect(sent.kind).toBe('migrated')
      if (sent.kind === 'migrated' && !postcopy) expect(sent.rounds).toBeGreaterThanOrEqual(2)
      const guest = await incoming
      expect(guest.postcopy).toBe(postcopy)
      await guest.complete
      // The destination holds exactly what the source's threads left in memory when they
      // stopped (data and tags), including what they wrote during the rounds.
      expect([...guest.machine.memory.pages()]).toEqual([...source.memory.pages()])
      // A vCPU that finished its part and powered off on the source rightly retires nothing
      // here; every vCPU that arrived powered on must run.
      const arrivedOn = guest.machine.vcpus.map((vcpu) => vcpu.getMpState() !== KVM_MP_STATE_STOPPED)
      expect(arrivedOn[0]).toBe(true)
      expect(await guest.run(LIMIT)).toEqual({ kind: 'power-off' })
      expect(out.text).toBe(STRESS_QEMU)
      const retired = guest.machine.smpStats()!.retired
      expect(retired.every((n, i) => n > 0 || !arrivedOn[i]), `retired ${retired.join('/')}, arrived on ${arrivedOn.join('/')}`).toBe(true)
    })
  }

  test('post-copy onto threads pages on demand: the guest runs on its threads before its pages have arrived, asks for what it touches, and ends as QEMU does', { timeout: 600_000 }, async () => {
    const out = { text: '' }
    const source = machine(out)
    source.boot(STRESS, 'smp-stress.elf')
    expect(source.run(500_000)).toEqual({ kind: 'budget' })
    while (!source.smpStats()!.retired.every((n) => n > 10_000)) expect(source.run(100_000)).toEqual({ kind: 'budget' })
    const [a, b] = channelPair()
    const incoming = receiveMigration(b, (config) => machine(out, { config }))
    // No pre-copy round and a slow push: the destination's vCPU threads touch pages (their
    // code, stacks, the shared counters) before the push brings them.
    const sending = sendMachine(source, a, { maxRounds: 0, postcopy: true, postcopyBandwidth: 256 << 10 })
    const guest = await incoming
    expect(guest.postcopy).toBe(true)
    expect(guest.machine.memory.missingPages).toBeGreaterThan(0)
    const stop = await guest.run(LIMIT)
    const sent = await sending
    await guest.complete
    expect(stop).toEqual({ kind: 'power-off' })
    expect(out.text).toBe(STRESS_QEMU)
    expect(sent.kind).toBe('migrated')
    // Pages the threads asked for ahead of the push: they did not wait for the whole push.
    if (sent.kind === 'migrated') expect(sent.requestedPages).toBeGreaterThan(0)
    expect(guest.machine.memory.missingPages).toBe(0)
    expect(guest.machine.smpStats()!.retired.every((n) => n > 0)).toBe(true)
  })
})
