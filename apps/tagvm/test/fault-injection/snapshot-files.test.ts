// Damaged and refused snapshots: truncated at many offsets, bytes flipped, and files whose
// checksums are all valid but whose content the machine refuses. `restore`, `migrate send` and
// `tags` end each with exit status 1 and one line naming the file (and the record), never 4.
import { readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { REG_PC, REG_PSTATE } from '@tagvm/vmm-api'
import { RECORD_NAMES, RecordDecoder, type Snapshot } from '@tagvm/machine'
import fc from 'fast-check'
import { beforeAll, describe, expect, test } from 'vitest'
import { loadSnapshotFile, saveSnapshotFile } from '../../src/files/index.js'
import { elf, expectCleanFailure, recorded, tagvm, tagvmInProcess, tempDir } from './harness.js'

const dir = tempDir('snap')
const base = join(dir, 'base.snap')
let good: Snapshot
let bytes: Uint8Array

beforeAll(async () => {
  // mte-demo part-way: tagged pages, a programmed PL011, every register.
  const first = await tagvmInProcess(['snapshot', elf('mte-demo'), base, '--after-insns', '110000', '--quiet'])
  expect(first.status).toBe(0)
  good = loadSnapshotFile(base)
  bytes = new Uint8Array(readFileSync(base)) // not a Buffer: its slice() would be a view
})

/** A snapshot file with `change` applied to the good one's content; every checksum is valid. */
function variant(name: string, change: (s: Snapshot) => Snapshot): string {
  const path = join(dir, `${name}.snap`)
  saveSnapshotFile(path, change(good))
  return path
}

const withDevice = (s: Snapshot, name: string, fields: Record<string, unknown>): Snapshot => ({
  ...s,
  devices: s.devices.map((d) => (d.name === name ? { name, state: { ...d.state, ...fields } } : d)),
})
const withRegs = (s: Snapshot, regs: { id: bigint; value: bigint }[]): Snapshot => ({
  ...s,
  vcpus: s.vcpus.map((v) => ({ ...v, regs: [...v.regs.filter((r) => !regs.some((x) => x.id === r.id)), ...regs] })),
})

/** Offsets at which each record starts, as the reader sees them. */
function recordOffsets(file: Uint8Array): { offset: number; type: string }[] {
  const records = new RecordDecoder('x', 16).push(file.subarray(16))
  return records.map((r) => ({ offset: r.offset, type: RECORD_NAMES[r.type]! }))
}

describe('valid checksums, content the machine refuses (restore and migrate send: exit 1, the file and record named)', () => {
  const cases: [string, (s: Snapshot) => Snapshot, RegExp][] = [
    ['unknown-device', (s) => ({ ...s, devices: [...s.devices, { name: 'gic', state: { type: 'gic-v3', version: 1 } }] }), /DEVICE record refused: device "gic" \(gic-v3 version 1\) is not part of this machine/],
    ['renamed-device', (s) => ({ ...s, devices: s.devices.map((d) => (d.name === 'pl011' ? { ...d, name: 'uart0' } : d)) }), /DEVICE record refused: device "uart0" \(pl011 version 1\) is not part of this machine/],
    ['pl011-field', (s) => withDevice(s, 'pl011', { ibrd: 0x1_0000 }), /DEVICE record refused: device "pl011": pl011 state: field 'ibrd' must be an integer in \[0, 65535\]/],
    ['pl011-version', (s) => withDevice(s, 'pl011', { version: 2 }), /DEVICE record refused: device "pl011": pl011 state: unsupported version 2/],
    ['pl011-fifo', (s) => withDevice(s, 'pl011', { rxFifo: 'hello' }), /DEVICE record refused: device "pl011": pl011 state: field 'rxFifo'/],
    ['vcpu-state-json', (s) => withDevice(s, 'vcpus', { stopped: 'no' }), /DEVICE record refused: device vcpus: stopped must list 1 booleans/],
    ['vcpu-state-version', (s) => withDevice(s, 'vcpus', { version: 9 }), /DEVICE record refused: device "vcpus" \(tagvm-mp-state version 9\) is not part of this machine/],
    ['unknown-one-reg', (s) => withRegs(s, [{ id: 0x6030_0000_0013_ffffn, value: 0n }]), /VCPU record refused: vCPU 0: register 0x603000000013ffff = 0x0: KVM_SET_ONE_REG: ENOENT/],
    ['pstate-el2', (s) => withRegs(s, [{ id: REG_PSTATE, value: 0x3c9n }]), /VCPU record refused: vCPU 0: register 0x6030000000100042 = 0x3c9: KVM_SET_ONE_REG: EINVAL/],
    ['ram-2^45', (s) => ({ ...s, config: { ...s.config, ramSize: 2 ** 45 } }), /CONFIG record refused: 35184372088832 bytes of RAM is more than this host can give/],
    ['ram-2^48', (s) => ({ ...s, config: { ...s.config, ramSize: 2 ** 48 } }), /CONFIG record refused: 281474976710656 bytes of RAM is more than this host can give/],
    ['file-backed-mte', (s) => ({ ...s, config: { ...s.config, backing: 'file' } }), /CONFIG record refused: EINVAL: PROT_MTE is not allowed on a file mapping/],
  ]
  for (const [name, change, reason] of cases) {
    test(name, async () => {
      const path = variant(name, change)
      const named = new RegExp(`^tagvm: ${path.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}: at offset \\d+ \\(0x[0-9a-f]+\\): ${reason.source}`)
      expectCleanFailure(await tagvm(['restore', path, '--quiet']), 1, named)
      // The source restores the snapshot before it connects: the same refusal, nothing sent.
      expectCleanFailure(await tagvm(['migrate', 'send', path, '--to', join(dir, 'nobody.sock'), '--quiet']), 1, named)
    })
  }

  test('the same content written the same way restores and runs on (the cases above are refused for their content only)', async () => {
    const path = variant('unchanged', (s) => withRegs(s, [{ id: REG_PC, value: s.vcpus[0]!.regs.find((r) => r.id === REG_PC)!.value }]))
    const result = await tagvm(['restore', path, '--quiet'])
    expect(result.status).toBe(0)
    expect(recorded('mte-demo').endsWith(result.stdout)).toBe(true)
  })
})

describe('damaged files (in process, through the same dispatcher)', () => {
  test('truncated at every record boundary, one byte either side of it, and inside records: exit 1, "truncated", one line', async () => {
    const offsets = new Set<number>([0, 1, 7, 8, 15, 16, 17])
    for (const { offset } of recordOffsets(bytes)) for (const d of [-1, 0, 1, 9, 13]) offsets.add(offset + d)
    for (let cut = 40; cut < bytes.length; cut += 1031) offsets.add(cut)
    offsets.add(bytes.length - 1)
    const path = join(dir, 'cut.snap')
    let checked = 0
    for (const cut of [...offsets].filter((o) => o >= 0 && o < bytes.length).sort((a, b) => a - b)) {
      writeFileSync(path, bytes.subarray(0, cut))
      expectCleanFailure(await tagvmInProcess(['restore', path, '--quiet']), 1, /cut\.snap: at offset \d+ .*truncated/)
      checked++
    }
    expect(checked).toBeGreaterThan(50)
  })

  test('one flipped byte anywhere: exit 1, one line naming the file (property)', async () => {
    const path = join(dir, 'flip.snap')
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 0, max: bytes.length - 1 }), fc.integer({ min: 1, max: 255 }), async (at, flip) => {
        const bad = bytes.slice()
        bad[at]! ^= flip
        writeFileSync(path, bad)
        expectCleanFailure(await tagvmInProcess(['restore', path, '--quiet']), 1, /^tagvm: \S*flip\.snap: at offset \d+ /)
      }),
      { numRuns: 60, seed: 21 },
    )
  })

  test('the same damage through tags and migrate send, and a snapshot that is a directory or empty', async () => {
    const cut = join(dir, 'cut-for-others.snap')
    writeFileSync(cut, bytes.subarray(0, bytes.length >> 1))
    expectCleanFailure(await tagvm(['tags', cut]), 1, /cut-for-others\.snap: at offset \d+ .*truncated/)
    expectCleanFailure(await tagvm(['migrate', 'send', cut, '--to', join(dir, 'nobody.sock'), '--quiet']), 1, /cut-for-others\.snap: at offset \d+ .*truncated/)
    expectCleanFailure(await tagvm(['restore', dir, '--quiet']), 1, /cannot read snapshot: EISDIR \(is a directory\)/)
    const empty = join(dir, 'empty.snap')
    writeFileSync(empty, '')
    expectCleanFailure(await tagvm(['restore', empty, '--quiet']), 1, /empty\.snap: at offset 0 .*truncated/)
  })
})
