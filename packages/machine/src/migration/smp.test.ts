// Two vCPUs with MMIO in flight when the guest is saved or migrated (issue 21, item 4): the
// run loop returns on its budget while another vCPU's answered MMIO store has not retired. If
// its registers were read as they are, the restored or migrated guest would repeat that
// store. The machine completes pending work first (KVM_RUN with immediate_exit), so each
// letter is printed exactly once.
import { afterEach, describe, expect, test } from 'vitest'
import type { MachineConfig } from '../config.js'
import { Machine } from '../machine/machine.js'
import { restoreSnapshot } from '../restore.js'
import { SnapshotEncoder } from '../snapshot/format.js'
import { writeMachineSnapshot } from '../snapshot/save.js'
import { spawnSourceWorker } from '../smp/node-spawn.test-support.js'
import { channelPair } from './channel.js'
import { receiveMigration, sendMachine } from './live.js'

/**
 * Raw image at 0x40080000 (llvm-mc from this source; MMU off):
 *   _start:    ldr x0, =0xc4000003; mov x1, #1; adr x2, secondary; mov x3, #0; hvc #0  // PSCI CPU_ON vCPU 1
 *              mov w5, #'A'; bl print
 *              adr x6, done; 1: ldr w7, [x6]; cbz w7, 1b                               // wait for vCPU 1
 *              ldr x0, =0x84000008; hvc #0; b .                                         // SYSTEM_OFF
 *   secondary: mov w5, #'B'; bl print
 *              adr x6, done; mov w7, #1; str w7, [x6]; ldr x0, =0x84000002; hvc #0; b . // CPU_OFF
 *   print:     mov x2, #0x09000000; ldr w4, count; 2: strb w5, [x2]; subs w4, w4, #1; b.ne 2b; ret
 *   count: .word N   done: .word 0
 */
const SMP_LETTERS = [
  0x580003c0, 0xd2800021, 0x10000162, 0xd2800003, 0xd4000002, 0x52800825, 0x9400000f, 0x100002c6, 0xb94000c7, 0x34ffffe7, 0x580002c0, 0xd4000002, 0x14000000,
  0x52800845, 0x94000007, 0x100001c6, 0x52800027, 0xb90000c7, 0x58000200, 0xd4000002, 0x14000000, 0xd2a12002, 0x180000c4, 0x39000045, 0x71000484, 0x54ffffc1,
  0xd65f03c0, 0xd503201f, 0x00004e20, 0x00000000, 0xc4000003, 0x00000000, 0x84000008, 0x00000000, 0x84000002, 0x00000000,
]
const COUNT_WORD = 28
const BASE = 0x4008_0000
const N = 20_000
const CONFIG: MachineConfig = { ramBase: 0x4000_0000, ramSize: 16 << 20, cpus: 2, mte: true, backing: 'anon' }

function image(letters: number): Uint8Array {
  const words = Uint32Array.from(SMP_LETTERS)
  words[COUNT_WORD] = letters
  return new Uint8Array(words.buffer)
}

/** One machine's console as text; the machines of one run share `out`. */
function machine(out: { text: string }): Machine {
  return Machine.create(CONFIG, { console: (b) => (out.text += Buffer.from(b).toString('latin1')) })
}

const count = (text: string, letter: string): number => text.split(letter).length - 1

/**
 * Where the guest is stopped: 10,000 instructions, then 1, 2 or 3 runs of one instruction
 * (both vCPUs are printing; a run that ends on one vCPU's store leaves it in flight).
 */
const STOP_AT = [1, 2, 3]

function runToStop(m: Machine, steps: number): void {
  expect(m.run(10_000)).toEqual({ kind: 'budget' })
  for (let i = 0; i < steps; i++) expect(m.run(1)).toEqual({ kind: 'budget' })
}

describe('two vCPUs printing through MMIO, stopped mid-run', () => {
  test('an uninterrupted run prints N letters from each vCPU', () => {
    const out = { text: '' }
    const m = machine(out)
    m.boot(image(N), 'smp.bin', { base: BASE })
    expect(m.run()).toEqual({ kind: 'power-off' })
    expect([count(out.text, 'A'), count(out.text, 'B'), out.text.length]).toEqual([N, N, 2 * N])
  })

  for (const at of STOP_AT) {
    test(`snapshot and restore after 10,000 + ${at} single steps: exactly 2N letters`, () => {
      const out = { text: '' }
      const source = machine(out)
      source.boot(image(N), 'smp.bin', { base: BASE })
      runToStop(source, at)
      const chunks: Uint8Array[] = []
      writeMachineSnapshot(source, new SnapshotEncoder((c) => chunks.push(c.slice())))
      const restored = restoreSnapshot(Buffer.concat(chunks), 'smp.snap', () => machine(out))
      expect(restored.run()).toEqual({ kind: 'power-off' })
      expect([count(out.text, 'A'), count(out.text, 'B')]).toEqual([N, N])
    })

    for (const postcopy of [false, true]) {
      test(`${postcopy ? 'post-copy' : 'pre-copy'} migration after 10,000 + ${at} single steps: exactly 2N letters`, async () => {
        const out = { text: '' }
        const source = machine(out)
        source.boot(image(N), 'smp.bin', { base: BASE })
        runToStop(source, at)
        const [a, b] = channelPair()
        const incoming = receiveMigration(b, () => machine(out))
        const sent = await sendMachine(source, a, { maxRounds: postcopy ? 0 : 2, insnsPerRound: 5_000, postcopy })
        expect(sent.kind).toBe('migrated')
        const guest = await incoming
        expect(await guest.run()).toEqual({ kind: 'power-off' })
        expect([count(out.text, 'A'), count(out.text, 'B')]).toEqual([N, N])
      })
    }
  }
})

describe('the same guest with its vCPUs on threads (issue 18)', () => {
  const made: Machine[] = []
  afterEach(() => {
    for (const m of made.splice(0)) m.close()
  })
  /** On threads (host clock); 1,000-instruction slices, so the threads park often mid-print. */
  function threaded(out: { text: string }): Machine {
    const m = Machine.create({ ...CONFIG, clock: 'host' }, { console: (b) => (out.text += Buffer.from(b).toString('latin1')) }, { threads: { spawn: spawnSourceWorker, slice: 1_000 } })
    made.push(m)
    return m
  }

  test('snapshots taken while both threads print, each restored on threads: exactly N letters from each vCPU', { timeout: 600_000 }, () => {
    const out = { text: '' }
    const source = threaded(out)
    source.boot(image(N), 'smp.bin', { base: BASE })
    // Several stops mid-print: each parks both threads, some with an answered MMIO store
    // not retired yet; the snapshot must not repeat or drop it.
    const snaps: { snap: Buffer; before: string }[] = []
    for (let i = 0; i < 3; i++) {
      expect(source.run(3_000)).toEqual({ kind: 'budget' })
      const chunks: Uint8Array[] = []
      writeMachineSnapshot(source, new SnapshotEncoder((c) => chunks.push(c.slice())))
      snaps.push({ snap: Buffer.concat(chunks), before: out.text })
    }
    expect(source.run()).toEqual({ kind: 'power-off' })
    expect([count(out.text, 'A'), count(out.text, 'B')]).toEqual([N, N])
    for (const { snap, before } of snaps) {
      const copy = { text: before }
      const restored = restoreSnapshot(snap, 'smp.snap', () => threaded(copy))
      expect(restored.run()).toEqual({ kind: 'power-off' })
      expect([count(copy.text, 'A'), count(copy.text, 'B')]).toEqual([N, N])
    }
  })
})
