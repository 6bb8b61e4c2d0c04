// The prefault worker backs host arenas on a second thread while the main thread fills memory:
// what arrives through its arenas must read back byte for byte and tag for tag as through fresh
// ones, and a stream that breaks off must end the worker and leave nothing behind.
import { mkdtempSync, readFileSync, rmSync, truncateSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { afterAll, expect, test } from 'vitest'
import { Machine, MigrationSender, PageBatch, concatBytes, isChannelError, isFileFormatError, receiveMachine, receiveMigration, sendMachine, type MachineConfig } from '@tagvm/machine'
import { localChannelPair } from '../endpoint.js'
import { HOST_ARENA_SIZE, KVM_ARM_TAGS_FROM_GUEST, KVM_ARM_TAGS_TO_GUEST, PhysicalMemory, ga, useSharedHostArenas } from '@tagvm/vmm-api'
import { HostPrefaulter, IncomingPrefault, hostBytesForSnapshot } from './host-prefault.js'
import { restoreMachine, saveMachine } from './snapshot-file.js'

const MiB = 1 << 20
const dir = mkdtempSync(join(tmpdir(), 'tagvm-prefault-'))
afterAll(() => rmSync(dir, { recursive: true, force: true }))
const guest = fileURLToPath(new URL('../../../../guests/tag-workload/tag-workload.elf', import.meta.url))
const RAM_BASE = 0x4000_0000
const SET_BASE = RAM_BASE + 64 * MiB
const SET = 96 * MiB
const config: MachineConfig = { ramBase: RAM_BASE, ramSize: 256 * MiB, cpus: 1, mte: true, backing: 'anon' }
const make = (): Machine => Machine.create(config, { console: () => {}, message: () => {} })

/** tag-workload booted, with SET bytes beside it written by the VMM: odd MiBs tagged, even ones plain. */
function loadedMachine(): Machine {
  const machine = make()
  machine.boot(readFileSync(guest), guest)
  expect(machine.run(1_000_000)).toEqual({ kind: 'budget' })
  const chunk = new Uint8Array(MiB)
  const words = new Uint32Array(chunk.buffer)
  const tags = new Uint8Array(MiB / 16)
  let x = 7
  for (let at = 0; at < SET; at += MiB) {
    for (let w = 0; w < words.length; w++) words[w] = x = (x * 1664525 + 1013904223) >>> 0
    machine.memory.write(SET_BASE + at, chunk)
    if ((at / MiB) % 2 === 1) {
      for (let g = 0; g < tags.length; g++) tags[g] = (g * 3 + at / MiB) & 15
      machine.vm.mteCopyTags({ guestIpa: ga(SET_BASE + at), length: MiB, addr: tags, flags: KVM_ARM_TAGS_TO_GUEST })
    }
  }
  return machine
}

/** Whether two machines' RAM holds the same bytes and tags (compared a MiB at a time, as booleans: no megabytes in a failure). */
function sameMemory(a: Machine, b: Machine, from = 0, to = config.ramSize): boolean {
  const [da, db] = [new Uint8Array(MiB), new Uint8Array(MiB)]
  const [ta, tb] = [new Uint8Array(MiB / 16), new Uint8Array(MiB / 16)]
  for (let at = from; at < to; at += MiB) {
    a.memory.read(RAM_BASE + at, da)
    b.memory.read(RAM_BASE + at, db)
    a.vm.mteCopyTags({ guestIpa: ga(RAM_BASE + at), length: MiB, addr: ta, flags: KVM_ARM_TAGS_FROM_GUEST })
    b.vm.mteCopyTags({ guestIpa: ga(RAM_BASE + at), length: MiB, addr: tb, flags: KVM_ARM_TAGS_FROM_GUEST })
    if (Buffer.compare(da, db) !== 0 || Buffer.compare(ta, tb) !== 0) return false
  }
  return true
}

const snapshot = join(dir, 'set.snap')
let original: Machine | undefined
function savedSnapshot(): Machine {
  if (!original) {
    original = loadedMachine()
    saveMachine(original, snapshot)
  }
  return original
}

test.each([false, true])('memory filled through arenas the worker backed reads back as through fresh ones, data and tags, while the worker backs the next (shared arenas: %s)', (shared) => {
  useSharedHostArenas(shared)
  const prefaulter = new HostPrefaulter()
  useSharedHostArenas(false)
  try {
    const memory = new PhysicalMemory({ size: 512 * MiB })
    const plain = new PhysicalMemory({ size: 512 * MiB })
    expect(memory.supplyHostArenas(prefaulter)).toBe(true)
    prefaulter.back(200 * MiB)
    // The worker is ahead before the first write, so the first arena is one it backed.
    expect(prefaulter.awaitArena(30_000)).toBe(true)
    const data = new Uint8Array(MiB)
    for (let at = 0; at < 160 * MiB; at += MiB) {
      for (let i = 0; i < data.length; i += 509) data[i] = (i + at / MiB) & 255
      for (const target of [memory, plain]) {
        target.writeBytes(at, data)
        target.setTags(at + 4096, 4096, (at / MiB) & 15)
      }
    }
    expect(prefaulter.figures.suppliedBytes).toBeGreaterThanOrEqual(HOST_ARENA_SIZE - 4096)
    // The worker's arenas are what the memory's chunks are cut from: of the kind asked for.
    expect(memory.frameData(0).bytes.buffer).toBeInstanceOf(shared ? SharedArrayBuffer : ArrayBuffer)
    const [got, want] = [new Uint8Array(MiB), new Uint8Array(MiB)]
    let same = true
    for (let at = 0; at < 160 * MiB; at += MiB) {
      memory.readBytes(at, got)
      plain.readBytes(at, want)
      same &&= Buffer.compare(got, want) === 0
      for (const pa of [at, at + 4096, at + 8176, at + 8192]) same &&= memory.getTag(pa) === plain.getTag(pa)
    }
    expect(same).toBe(true)
    expect(memory.supplyHostArenas(null)).toBe(true)
  } finally {
    prefaulter.stop()
  }
  // Memory of another kind takes no arenas: nothing is backed for it.
  const other = new HostPrefaulter()
  try {
    const shared = new PhysicalMemory({ size: 64 * MiB, shared: true })
    expect(shared.supplyHostArenas(other)).toBe(false)
  } finally {
    other.stop()
  }
}, 120_000)

test('a restore with the worker backing memory ahead gives the same guest as one without, byte for byte and tag for tag', () => {
  const source = savedSnapshot()
  const figures: { supplied: number; fresh: number; unused: number }[] = []
  const withWorker = restoreMachine(snapshot, make, undefined, {
    prefault: true,
    onPrefault: (f) => figures.push({ supplied: f.suppliedBytes, fresh: f.freshBytes, unused: f.unusedBytes }),
  })
  const without = restoreMachine(snapshot, make, undefined, { prefault: false })
  expect(sameMemory(withWorker, source)).toBe(true)
  expect(sameMemory(without, source)).toBe(true)
  expect(figures).toHaveLength(1)
  const [f] = figures as [{ supplied: number; fresh: number; unused: number }]
  // Between them, the worker's arenas and the memory's own hold the guest; the worker never backs
  // more than the snapshot can fill (its budget, in 2 MiB blocks), nor more than two arenas nobody took.
  expect(f.supplied + f.fresh).toBeGreaterThanOrEqual(SET)
  expect(f.supplied + f.unused).toBeLessThanOrEqual(hostBytesForSnapshot(readFileSync(snapshot).length) + 2 * MiB)
  expect(f.unused).toBeLessThanOrEqual(2 * HOST_ARENA_SIZE)
  expect(withWorker.run(100_000)).toEqual({ kind: 'budget' })
}, 120_000)

test('a restore that breaks off with the worker running fails naming the file, and ends the worker', async () => {
  savedSnapshot()
  const cut = join(dir, 'cut.snap')
  const bytes = readFileSync(snapshot)
  // Half the pages, then nothing: the worker was backing memory for all of them.
  writeFileSync(cut, bytes)
  truncateSync(cut, Math.floor(bytes.length / 2))
  let unused = -1
  let error: unknown
  try {
    restoreMachine(cut, make, undefined, { prefault: true, onPrefault: (f) => (unused = f.unusedBytes) })
  } catch (e) {
    error = e
  }
  expect(isFileFormatError(error)).toBe(true)
  expect((error as Error).message).toContain('cut.snap')
  expect(unused).toBeGreaterThanOrEqual(0)
  expect(unused).toBeLessThanOrEqual(2 * HOST_ARENA_SIZE)
  // The worker thread ends (it was told to stop mid-arena if need be).
  for (let wait = 0; HostPrefaulter.running > 0 && wait < 300; wait++) await new Promise((resolve) => setTimeout(resolve, 100))
  expect(HostPrefaulter.running).toBe(0)
}, 120_000)

test('a stopped prefaulter takes no part any more: it backs nothing and hands out nothing', () => {
  const prefaulter = new HostPrefaulter()
  prefaulter.stop()
  prefaulter.back(64 * MiB)
  expect(prefaulter.take(4096, 2 ** 40)).toBeUndefined()
  expect(prefaulter.awaitArena(10)).toBe(false)
  const memory = new PhysicalMemory({ size: 64 * MiB })
  expect(prefaulter.supplyTo({ kvm: { kernel: { memory } } } as unknown as Machine, 64 * MiB)).toBe(false)
  memory.write8(0, 1)
  expect(memory.read8(0)).toBe(1)
  expect(prefaulter.figures).toEqual({ suppliedBytes: 0, freshBytes: 0, unusedBytes: 0 })
})

test('a pre-copy migration whose destination backs memory ahead arrives byte for byte and tag for tag, and the worker ends before the guest runs', async () => {
  const source = loadedMachine()
  const [a, b] = await localChannelPair(join(dir, 'in.sock'))
  const prefault = new IncomingPrefault()
  const received = receiveMigration(b, () => prefault.supplyTo(make()), 'in.sock', { expectPages: (pages) => prefault.expect(pages) })
  const sent = await sendMachine(source, a, { maxRounds: 3, insnsPerRound: 20_000 })
  let destination: Machine
  try {
    const incoming = await received
    expect(incoming.postcopy).toBe(false)
    expect(prefault.active).toBe(true)
    // At once, not on a later turn of the event loop: `migrate receive` runs the guest next, synchronously.
    prefault.arrived(incoming)
    expect(prefault.active).toBe(false)
    destination = incoming.machine
  } finally {
    prefault.stop()
  }
  expect(sent.kind).toBe('migrated')
  expect(sameMemory(destination, source)).toBe(true)
  // HELLO said how much: the worker backed at most that (and two arenas nobody took).
  const figures = prefault.figures!
  expect(figures.suppliedBytes + figures.freshBytes).toBeGreaterThanOrEqual(SET)
  expect(figures.unusedBytes).toBeLessThanOrEqual(2 * HOST_ARENA_SIZE)
  expect(destination.run(100_000)).toEqual({ kind: 'budget' })
}, 120_000)

test('a destination starts its worker when it listens and backs memory from HELLO on, before its machine is built; a small migration ends the worker at HELLO', async () => {
  // Workers of earlier tests end asynchronously.
  for (let wait = 0; HostPrefaulter.running > 0 && wait < 300; wait++) await new Promise((resolve) => setTimeout(resolve, 100))
  const large = new IncomingPrefault()
  const small = new IncomingPrefault()
  try {
    large.listening()
    small.listening()
    expect(HostPrefaulter.running).toBe(2)
    // Listening backs nothing: a source may never come.
    expect(large.awaitArena(200)).toBe(false)
    small.expect((16 * MiB) / 4096)
    expect(small.active).toBe(false)
    // HELLO of 200 MiB: an arena is backed with no machine built yet.
    large.expect((200 * MiB) / 4096)
    expect(large.awaitArena(30_000)).toBe(true)
    expect(large.active).toBe(true)
  } finally {
    large.stop()
    small.stop()
  }
  for (let wait = 0; HostPrefaulter.running > 0 && wait < 300; wait++) await new Promise((resolve) => setTimeout(resolve, 100))
  expect(HostPrefaulter.running).toBe(0)
}, 60_000)

test('a migration cut off with the destination backing memory ahead fails naming the stage, and ends the worker', async () => {
  const [a, b] = await localChannelPair(join(dir, 'cut.sock'))
  const prefault = new IncomingPrefault()
  const received = receiveMachine(b, () => prefault.supplyTo(make()), 'cut.sock', { expectPages: (pages) => prefault.expect(pages) })
  received.catch(() => {})
  // A source that says it holds 200 MiB, sends 4 MiB of them, and goes away.
  const sender = new MigrationSender()
  await a.write(concatBytes([sender.hello((200 * MiB) / 4096), sender.config(config)]))
  const batch = new PageBatch(1024)
  const page = new Uint8Array(4096).fill(0x5a)
  for (let i = 0; i < 1024; i++) batch.add(SET_BASE + i * 4096, page, null)
  for (const chunk of sender.pages(batch)) await a.write(chunk)
  expect(HostPrefaulter.running).toBe(1)
  await a.close()
  const error = await received.then(() => undefined, (e: unknown) => e)
  prefault.stop()
  expect(isFileFormatError(error) || isChannelError(error)).toBe(true)
  expect((error as Error).message).toMatch(/cut\.sock.*stream ended in the rounds stage/)
  expect(prefault.figures!.unusedBytes).toBeLessThanOrEqual(2 * HOST_ARENA_SIZE)
  for (let wait = 0; HostPrefaulter.running > 0 && wait < 300; wait++) await new Promise((resolve) => setTimeout(resolve, 100))
  expect(HostPrefaulter.running).toBe(0)
}, 120_000)

test('post-copy with the destination backing memory ahead: the guest runs while pages arrive, and every page of the working set arrives as it was', async () => {
  const source = loadedMachine()
  const [a, b] = await localChannelPair(join(dir, 'post.sock'))
  const prefault = new IncomingPrefault()
  const incoming = receiveMigration(b, () => prefault.supplyTo(make()), 'post.sock', { expectPages: (pages) => prefault.expect(pages) })
  const sent = sendMachine(source, a, { maxRounds: 0, postcopy: true })
  const guest = await incoming
  expect(guest.postcopy).toBe(true)
  try {
    // The worker goes on while pages arrive, and ends with the stream.
    prefault.arrived(guest)
    expect(prefault.active).toBe(true)
    // The guest runs on the destination (asking for the pages it touches) while the rest is pushed.
    expect(await guest.run(300_000)).toEqual({ kind: 'budget' })
    await guest.complete
    await Promise.resolve()
    expect(prefault.active).toBe(false)
  } finally {
    prefault.stop()
  }
  expect((await sent).kind).toBe('migrated')
  // tag-workload never touches the working set: it is on the destination as the source had it.
  expect(sameMemory(guest.machine, source, SET_BASE - RAM_BASE, SET_BASE - RAM_BASE + SET)).toBe(true)
  expect(prefault.figures!.suppliedBytes + prefault.figures!.freshBytes).toBeGreaterThanOrEqual(SET)
  expect(await guest.run(100_000)).toEqual({ kind: 'budget' })
}, 120_000)
