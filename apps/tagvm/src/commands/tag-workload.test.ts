// The bundled tagging workload (~168 M instructions) once, handed along mid-run:
// machine A runs 60 M instructions and is saved to a file; B is restored from it and live-migrated
// (pre-copy with the dirty log) to C, which runs to the end. The guest's final report checks
// every tag and datum it wrote; A + B + C's console must be QEMU's recording, byte for byte.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { afterAll, expect, test } from 'vitest'
import { Machine, receiveMachine, sendMachine } from '@tagvm/machine'
import { localChannelPair } from '../endpoint.js'
import { loadSnapshotFile, restoreMachine, saveMachine } from '../files/index.js'

const guest = fileURLToPath(new URL('../../../../guests/tag-workload/tag-workload.elf', import.meta.url))
const recorded = readFileSync(fileURLToPath(new URL('../../../../guests/tag-workload/qemu.out', import.meta.url)), 'latin1')
const dir = mkdtempSync(join(tmpdir(), 'tagvm-workload-'))
afterAll(() => rmSync(dir, { recursive: true, force: true }))

test('tag-workload saved, restored and migrated mid-run prints QEMU\'s report (PASS) byte for byte', async () => {
  let output = ''
  const make = (): Machine =>
    Machine.create({ ramBase: 0x4000_0000, ramSize: 128 << 20, cpus: 1, mte: true, backing: 'anon' }, { console: (b) => (output += Buffer.from(b).toString('latin1')) })
  const a = make()
  a.boot(readFileSync(guest), guest)
  expect(a.run(60_000_000)).toEqual({ kind: 'budget' })
  const outputAtSnapshot = output
  const file = join(dir, 'workload.snap')
  saveMachine(a, file)
  const snapshot = loadSnapshotFile(file)
  // The workload's 4 MiB of tagged pages are in the snapshot with their tags.
  expect(snapshot.pages.filter((p) => p.tags !== null).length).toBeGreaterThan(500)
  const b = restoreMachine(file, make)

  const [source, destination] = await localChannelPair(join(dir, 'workload.sock'))
  const received = receiveMachine(destination, make)
  const sent = await sendMachine(b, source, { maxRounds: 4, insnsPerRound: 200_000 })
  const c = await received
  expect(sent.kind).toBe('migrated')
  // Pre-copy rounds ran the guest on B, which rewrote tags; those pages went again.
  expect(b.retired).toBeGreaterThan(0)
  expect(c.run()).toEqual({ kind: 'power-off' })
  expect(outputAtSnapshot.length).toBeGreaterThan(0)
  expect(output).toBe(recorded)
  expect(output).toContain('PASS')
})
