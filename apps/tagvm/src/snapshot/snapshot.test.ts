import { describe, expect, test } from 'vitest'
import fc from 'fast-check'
import { spawn } from 'node:child_process'
import { createHash } from 'node:crypto'
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { Pl011 } from '@tagvm/devices'
import { REG_PC, REG_PSTATE, xRegId, coreRegId } from '@tagvm/vmm-api'
import { FileFormatError } from '../loaders/errors.js'
import {
  SNAPSHOT_VERSION,
  crc32c,
  decodeSnapshot,
  encodeSnapshot,
  loadSnapshotFile,
  saveSnapshotFile,
  SnapshotEncoder,
  RecordType,
  encodeRecord,
  encodePage,
  type FileIo,
  type Snapshot,
} from './index.js'
import * as fs from 'node:fs'

const RAM = 0x4000_0000

/** Bit-at-a-time CRC-32C, the definition the table-driven one must match. */
function crc32cReference(bytes: Uint8Array): number {
  let c = 0xffff_ffff
  for (const b of bytes) {
    c ^= b
    for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ 0x82f6_3b78 : c >>> 1
  }
  return ~c >>> 0
}

test('CRC-32C matches the bitwise definition at every length and split (property)', () => {
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 100 }), fc.nat(100), (bytes, cut) => {
      const at = Math.min(cut, bytes.length)
      expect(crc32c(bytes)).toBe(crc32cReference(bytes))
      expect(crc32c(bytes.subarray(at), crc32c(bytes.subarray(0, at)))).toBe(crc32cReference(bytes))
    }),
  )
})

test('CRC-32C check value', () => {
  expect(crc32c(new TextEncoder().encode('123456789'))).toBe(0xe306_9283)
  expect(crc32c(new TextEncoder().encode('56789'), crc32c(new TextEncoder().encode('1234')))).toBe(0xe306_9283)
})

function sampleSnapshot(): Snapshot {
  const uart = new Pl011({ output: () => {} })
  const data = new Uint8Array(4096).map((_, i) => (i * 7) & 0xff)
  const tags = new Uint8Array(256).map((_, i) => i & 15)
  return {
    config: { ramBase: RAM, ramSize: 128 << 20, cpus: 2, mte: true, backing: 'anon' },
    vcpus: [
      { index: 0, regs: [{ id: REG_PC, value: 0x4000_1234n }, { id: REG_PSTATE, value: 0x3c5n }, { id: xRegId(30), value: 0xffff_ffff_ffff_fff0n }, { id: coreRegId(0x88 * 4, 16), value: (1n << 127n) | 5n }] },
      { index: 1, regs: [{ id: REG_PC, value: 0n }] },
    ],
    devices: [{ name: 'pl011@9000000', state: uart.saveState() }],
    pages: [
      { gpa: RAM, data, tags: null },
      { gpa: RAM + 0x20_0000, data: null, tags },
      { gpa: RAM + 0x20_1000, data, tags: new Uint8Array(256) },
    ],
  }
}

describe('snapshot format', () => {
  test('round trip keeps registers (incl. 128-bit), device state, pages, tags', () => {
    const snap = sampleSnapshot()
    const bytes = encodeSnapshot(snap)
    expect(decodeSnapshot(bytes, 's.snap')).toEqual(snap)
    // zero pages carry no data bytes: header 16 + 3 page records
    const zeroPageRecord = 12 + 12 + 256
    expect(bytes.length).toBeLessThan(16 + 3 * (12 + 12 + 4096 + 256))
    expect(zeroPageRecord).toBe(280)
  })

  test('decoding reports progress per MiB and at the end', () => {
    const pages = Array.from({ length: 600 }, (_, i) => ({ gpa: RAM + i * 4096, data: new Uint8Array(4096).fill(1), tags: null }))
    const bytes = encodeSnapshot({ ...sampleSnapshot(), pages })
    const seen: number[] = []
    decodeSnapshot(bytes, 'p.snap', { onProgress: (done, total) => { expect(total).toBe(bytes.length); seen.push(done) } })
    expect(seen.length).toBe(3) // past 1 MiB, past 2 MiB, the end
    expect(seen[seen.length - 1]).toBe(bytes.length)
    expect(seen).toEqual([...seen].sort((a, b) => a - b))
  })

  test('an all-zero data page given as bytes is stored without its data', () => {
    const snap = { ...sampleSnapshot(), pages: [{ gpa: RAM, data: new Uint8Array(4096), tags: new Uint8Array(256).fill(3) }] }
    expect(decodeSnapshot(encodeSnapshot(snap), 'x').pages).toEqual([{ gpa: RAM, data: null, tags: new Uint8Array(256).fill(3) }])
  })

  test('property: random memory round-trips', () => {
    const page = fc.record({
      index: fc.integer({ min: 0, max: 1023 }),
      data: fc.option(fc.uint8Array({ minLength: 4096, maxLength: 4096 }).filter((d) => d.some((b) => b !== 0)), { nil: null }),
      tags: fc.option(fc.uint8Array({ minLength: 256, maxLength: 256, max: 15 }), { nil: null }),
    })
    fc.assert(
      fc.property(fc.uniqueArray(page, { selector: (p) => p.index, maxLength: 6 }), (raw) => {
        const pages = raw.sort((a, b) => a.index - b.index).map((p) => ({ gpa: RAM + p.index * 4096, data: p.data, tags: p.tags }))
        const snap = { ...sampleSnapshot(), pages }
        expect(decodeSnapshot(encodeSnapshot(snap), 'p').pages).toEqual(pages)
      }),
      { numRuns: 50 },
    )
  })

  test('truncated anywhere: an error naming the file and "truncated" or a checksum problem', () => {
    const bytes = encodeSnapshot(sampleSnapshot())
    for (let cut = 0; cut < bytes.length; cut += 97) {
      expect(() => decodeSnapshot(bytes.subarray(0, cut), 'cut.snap')).toThrow(/^cut\.snap: at offset \d+ .*truncated/)
    }
  })

  test('one corrupted byte anywhere is caught (property)', () => {
    const bytes = encodeSnapshot(sampleSnapshot())
    fc.assert(
      fc.property(fc.integer({ min: 0, max: bytes.length - 1 }), fc.integer({ min: 1, max: 255 }), (at, flip) => {
        const bad = bytes.slice()
        bad[at]! ^= flip
        expect(() => decodeSnapshot(bad, 'bad.snap')).toThrow(FileFormatError)
      }),
      { numRuns: 300 },
    )
  })

  test('a corrupted page names the record offset and says checksum', () => {
    const bytes = encodeSnapshot(sampleSnapshot())
    const bad = bytes.slice()
    bad[bytes.length - 100]! ^= 1
    expect(() => decodeSnapshot(bad, 'c.snap')).toThrow(/c\.snap: at offset \d+ .*PAGE record checksum mismatch .*corrupted/)
  })

  test('wrong version and wrong magic', () => {
    const bytes = encodeSnapshot(sampleSnapshot())
    const v2 = bytes.slice()
    new DataView(v2.buffer).setUint32(8, SNAPSHOT_VERSION + 1, true)
    new DataView(v2.buffer).setUint32(12, crc32c(v2.subarray(0, 12)), true)
    expect(() => decodeSnapshot(v2, 'v.snap')).toThrow(`v.snap: at offset 8 (0x8): snapshot format version ${SNAPSHOT_VERSION + 1}; this tagvm reads version ${SNAPSHOT_VERSION}`)
    expect(() => decodeSnapshot(new TextEncoder().encode('\x7fELF............'), 'e')).toThrow(/not a tagvm snapshot/)
  })

  test('records out of place: a page before the config, a second config, a stray ACK', () => {
    const header = encodeSnapshot(sampleSnapshot()).subarray(0, 16)
    // a well-formed file around the records under test: header first, a valid END last
    const file = (parts: Uint8Array[]): Uint8Array => {
      const body = Buffer.concat(parts)
      return Buffer.concat([body, encodeRecord(RecordType.END, createHash('sha256').update(body).digest())])
    }
    const page = encodeRecord(RecordType.PAGE, encodePage({ gpa: RAM, data: null, tags: null }))
    expect(() => decodeSnapshot(file([header, page]), 'o.snap')).toThrow(/o\.snap: at offset 16 .*PAGE record before the CONFIG record/)
    const config = encodeRecord(RecordType.CONFIG, new TextEncoder().encode(JSON.stringify(sampleSnapshot().config)))
    expect(() => decodeSnapshot(file([header, config, config]), 'o.snap')).toThrow(/a second CONFIG record/)
    expect(() => decodeSnapshot(file([header, config, encodeRecord(RecordType.ACK, new Uint8Array(2))]), 'o.snap')).toThrow(/ACK record does not belong in a snapshot/)
    const badConfig = encodeRecord(RecordType.CONFIG, new TextEncoder().encode('{"ramBase":1}'))
    expect(() => decodeSnapshot(file([header, badConfig]), 'o.snap')).toThrow(/o\.snap: at offset 16 .*machine config: ramSize must be an integer/)
  })

  test('the encoder refuses sections out of order and pages outside RAM', () => {
    const enc = new SnapshotEncoder(() => {})
    expect(() => enc.writeVcpu({ index: 0, regs: [] })).toThrow(/before the machine config/)
    enc.writeConfig({ ramBase: RAM, ramSize: 1 << 20, cpus: 1, mte: false, backing: 'anon' })
    enc.writeVcpu({ index: 0, regs: [] })
    enc.writePage({ gpa: RAM, data: null, tags: null })
    expect(() => enc.writeDevice({ name: 'x', state: { type: 'x', version: 1 } })).toThrow(/after pages/)
    expect(() => enc.writePage({ gpa: RAM, data: null, tags: null })).toThrow(/not above/)
    expect(() => enc.writePage({ gpa: RAM + (1 << 20), data: null, tags: null })).toThrow(/outside RAM/)
    expect(() => enc.writePage({ gpa: RAM + 4096, data: null, tags: new Uint8Array(256).fill(16) })).toThrow(/not 4-bit/)
    expect(() => enc.writeVcpu({ index: 1, regs: [{ id: REG_PC, value: 1n << 64n }] })).toThrow()
  })
})

describe('atomic snapshot files', () => {
  const dir = (): string => mkdtempSync(join(tmpdir(), 'tagvm-snap-'))

  test('save and load; the error of a missing file names it', () => {
    const d = dir()
    const path = join(d, 'a.snap')
    const n = saveSnapshotFile(path, sampleSnapshot())
    expect(statSync(path).size).toBe(n)
    expect(loadSnapshotFile(path)).toEqual(sampleSnapshot())
    expect(() => loadSnapshotFile(join(d, 'nope.snap'))).toThrow(/nope\.snap: cannot read snapshot: ENOENT/)
    rmSync(d, { recursive: true })
  })

  test('a writer failing half-way leaves the previous snapshot and no temporary file', () => {
    const d = dir()
    const path = join(d, 'a.snap')
    saveSnapshotFile(path, sampleSnapshot())
    const before = readFileSync(path)
    let writes = 0
    const failing: FileIo = {
      ...fs,
      writeSync: (fd, buf, off, len) => {
        if (++writes === 3) throw Object.assign(new Error('ENOSPC: no space left on device'), { code: 'ENOSPC' })
        return fs.writeSync(fd, buf, off, Math.min(len, 4096))
      },
    }
    const big = { ...sampleSnapshot(), pages: Array.from({ length: 64 }, (_, i) => ({ gpa: RAM + i * 4096, data: new Uint8Array(4096).fill(i + 1), tags: null })) }
    expect(() => saveSnapshotFile(path, big, { io: failing })).toThrow(/ENOSPC/)
    expect(readFileSync(path)).toEqual(before)
    expect(readdirSync(d)).toEqual(['a.snap'])
    // A failure in the producer (e.g. the machine) is handled the same way.
    expect(() => saveSnapshotFile(path, () => { throw new Error('vCPU gone') })).toThrow('vCPU gone')
    expect(readdirSync(d)).toEqual(['a.snap'])
    rmSync(d, { recursive: true })
  })

  test('a process killed while writing never destroys the previous snapshot', async () => {
    const d = dir()
    const path = join(d, 'a.snap')
    saveSnapshotFile(path, sampleSnapshot())
    const before = readFileSync(path)
    const child = spawn(process.execPath, ['--import', 'tsx', fileURLToPath(new URL('./crash-writer.fixture.ts', import.meta.url)), path], {
      stdio: ['ignore', 'pipe', 'inherit'],
    })
    await new Promise<void>((resolve, reject) => {
      child.stdout.on('data', (b: Buffer) => {
        if (b.toString().includes('writing')) {
          child.kill('SIGKILL')
          resolve()
        }
      })
      child.on('exit', (code) => reject(new Error(`writer exited (${code}) before it was killed`)))
    })
    await new Promise((r) => child.on('close', r))
    expect(readFileSync(path)).toEqual(before)
    expect(loadSnapshotFile(path)).toEqual(sampleSnapshot())
    // the half-written temporary file is left behind, never renamed
    const leftovers = readdirSync(d).filter((f) => f !== 'a.snap')
    expect(leftovers.length).toBe(1)
    expect(() => decodeSnapshot(readFileSync(join(d, leftovers[0]!)), 'tmp')).toThrow(/truncated/)
    rmSync(d, { recursive: true })
  })
})



test('random bytes after a valid header are refused with a FileFormatError, nothing else (property)', () => {
  const header = encodeSnapshot(sampleSnapshot()).subarray(0, 16)
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 200 }), (tail) => {
      expect(() => decodeSnapshot(Buffer.concat([header, tail]), 'r.snap')).toThrow(FileFormatError)
    }),
    { numRuns: 300 },
  )
})
