import { describe, expect, test } from 'vitest'
import fc from 'fast-check'
import { createHash } from 'node:crypto'
import { crc32 as zlibCrc32 } from 'node:zlib'
import { Pl011 } from '@tagvm/devices'
import { REG_PC, REG_PSTATE, xRegId, coreRegId } from '@tagvm/vmm-api'
import { FileFormatError } from '../errors.js'
import { PageBatch } from '../memory/page.js'
import {
  SNAPSHOT_VERSION,
  Sha256,
  crc32,
  portableCrc32,
  useNativeCrc32,
  decodeSnapshot,
  encodeSnapshot,
  SnapshotDecoder,
  SnapshotEncoder,
  RecordType,
  encodeRecord,
  encodePagesRecord,

  type Snapshot,
} from './index.js'

const RAM = 0x4000_0000

/** Bit-at-a-time CRC-32 (ISO-HDLC), the definition the table-driven one must match. */
function crc32Reference(bytes: Uint8Array): number {
  let c = 0xffff_ffff
  for (const b of bytes) {
    c ^= b
    for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ 0xedb8_8320 : c >>> 1
  }
  return ~c >>> 0
}

test('CRC-32 matches the bitwise definition at every length, alignment and split (property)', () => {
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 300 }), fc.nat(300), fc.nat(3), (whole, cut, skip) => {
      // Views at every byte alignment exercise the word loop's head.
      const bytes = whole.subarray(Math.min(skip, whole.length))
      const at = Math.min(cut, bytes.length)
      expect(portableCrc32(bytes)).toBe(crc32Reference(bytes))
      expect(portableCrc32(bytes.subarray(at), portableCrc32(bytes.subarray(0, at)))).toBe(crc32Reference(bytes))
    }),
  )
})

test('CRC-32 check value; a native CRC-32 (zlib) gives the same, a wrong one is refused', () => {
  expect(crc32(new TextEncoder().encode('123456789'))).toBe(0xcbf4_3926)
  expect(crc32(new TextEncoder().encode('56789'), crc32(new TextEncoder().encode('1234')))).toBe(0xcbf4_3926)
  const bytes = new Uint8Array(100_003).map((_, i) => (i * 131) >>> 3)
  const expected = portableCrc32(bytes)
  useNativeCrc32((b, c) => zlibCrc32(b, c))
  try {
    expect(crc32(bytes)).toBe(expected)
    expect(encodeSnapshot(sampleSnapshot())).toEqual((() => {
      useNativeCrc32(undefined)
      return encodeSnapshot(sampleSnapshot())
    })())
  } finally {
    useNativeCrc32(undefined)
  }
  expect(() => useNativeCrc32((b) => b.length)).toThrow(/does not compute CRC-32/)
  expect(crc32(bytes)).toBe(expected)
})

/**
 * The END digest of format 3 computed independently: SHA-256 over the 16-byte header, then each
 * record's first 8 bytes and last 4 (records given as the header followed by whole records).
 */
function framingDigest(parts: readonly Uint8Array[]): Uint8Array {
  const hash = createHash('sha256').update(parts[0]!)
  for (const record of parts.slice(1)) hash.update(record.subarray(0, 8)).update(record.subarray(record.length - 4))
  return new Uint8Array(hash.digest())
}

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
    // All-zero tags are stored as "untagged": the guest sees the same tags either way.
    const untaggedIfZero = snap.pages.map((p) => (p.tags?.every((t) => t === 0) ? { ...p, tags: null } : p))
    expect(decodeSnapshot(bytes, 's.snap')).toEqual({ ...snap, pages: untaggedIfZero })
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
    expect(() => decodeSnapshot(bad, 'c.snap')).toThrow(/c\.snap: at offset \d+ .*PAGES record checksum mismatch .*corrupted/)
  })

  test('wrong version and wrong magic', () => {
    const bytes = encodeSnapshot(sampleSnapshot())
    const v2 = bytes.slice()
    new DataView(v2.buffer).setUint32(8, SNAPSHOT_VERSION + 1, true)
    new DataView(v2.buffer).setUint32(12, crc32(v2.subarray(0, 12)), true)
    expect(() => decodeSnapshot(v2, 'v.snap')).toThrow(`v.snap: at offset 8 (0x8): snapshot format version ${SNAPSHOT_VERSION + 1} (written by a newer tagvm); this tagvm reads version ${SNAPSHOT_VERSION}`)
    expect(() => decodeSnapshot(new TextEncoder().encode('\x7fELF............'), 'e')).toThrow(/not a tagvm snapshot/)
  })

  test('format 3: the END digest covers the header and every record\'s framing and CRC; a format 2 file is refused by name', () => {
    const bytes = encodeSnapshot(sampleSnapshot())
    // Split the file into its records by their length fields and recompute the digest.
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength)
    const parts: Uint8Array[] = [bytes.subarray(0, 16)]
    let at = 16
    for (;;) {
      const length = view.getUint32(at + 4, true)
      if (view.getUint32(at, true) === RecordType.END) {
        expect(Buffer.from(bytes.subarray(at + 8, at + 8 + length)).equals(Buffer.from(framingDigest(parts)))).toBe(true)
        expect(at + 12 + length).toBe(bytes.length)
        break
      }
      parts.push(bytes.subarray(at, at + 12 + length))
      at += 12 + length
    }
    expect(parts.length).toBeGreaterThan(3)
    // Two whole records swapped (each CRC still right): the digest catches it.
    const [, config, vcpu] = parts
    const swapped = Buffer.concat([parts[0]!, vcpu!, config!, ...parts.slice(3), bytes.subarray(at)])
    expect(() => decodeSnapshot(swapped, 's.snap')).toThrow(/s\.snap: at offset 16 .*VCPU record before the CONFIG record/)
    const pagesSwapped = [...parts]
    const pageIndexes = pagesSwapped.map((p, i) => (new DataView(p.buffer, p.byteOffset).getUint32(0, true) === RecordType.PAGES && i > 0 ? i : -1)).filter((i) => i > 0)
    // A record dropped: the digest no longer matches.
    const dropped = Buffer.concat([...parts.filter((_, i) => i !== pageIndexes[pageIndexes.length - 1]), bytes.subarray(at)])
    expect(() => decodeSnapshot(dropped, 'd.snap')).toThrow(/d\.snap: at offset \d+ .*SHA-256 mismatch: corrupted/)
    // Version 2 (every byte hashed) is refused with the versions named.
    const v2 = bytes.slice()
    new DataView(v2.buffer).setUint32(8, 2, true)
    new DataView(v2.buffer).setUint32(12, crc32(v2.subarray(0, 12)), true)
    expect(() => decodeSnapshot(v2, 'old.snap')).toThrow('old.snap: at offset 8 (0x8): snapshot format version 2 (written by an older tagvm); this tagvm reads version 3')
  })

  test('records out of place: a page before the config, a second config, a stray ACK', () => {
    const header = encodeSnapshot(sampleSnapshot()).subarray(0, 16)
    // a well-formed file around the records under test: header first, a valid END last
    const file = (parts: Uint8Array[]): Uint8Array => {
      const body = Buffer.concat(parts)
      return Buffer.concat([body, encodeRecord(RecordType.END, framingDigest(parts))])
    }
    const one = new PageBatch(1)
    one.add(RAM, null, null)
    const page = Buffer.concat(encodePagesRecord(one))
    expect(() => decodeSnapshot(file([header, page]), 'o.snap')).toThrow(/o\.snap: at offset 16 .*PAGES record before the CONFIG record/)
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



test('random bytes after a valid header are refused with a FileFormatError, nothing else (property)', () => {
  const header = encodeSnapshot(sampleSnapshot()).subarray(0, 16)
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 200 }), (tail) => {
      expect(() => decodeSnapshot(Buffer.concat([header, tail]), 'r.snap')).toThrow(FileFormatError)
    }),
    { numRuns: 300 },
  )
})

describe('streaming and hashing', () => {
  test('SHA-256 matches the standard vectors and Node at every length and split (property)', () => {
    const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex')
    expect(hex(new Sha256().digest())).toBe('e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855')
    expect(hex(new Sha256().update(new TextEncoder().encode('abc')).digest())).toBe('ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad')
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), fc.nat(300), (bytes, cut) => {
        const at = Math.min(cut, bytes.length)
        const h = new Sha256().update(bytes.subarray(0, at))
        const partial = h.digest() // a digest part-way does not disturb the running hash
        expect(hex(partial)).toBe(createHash('sha256').update(bytes.subarray(0, at)).digest('hex'))
        expect(hex(h.update(bytes.subarray(at)).digest())).toBe(createHash('sha256').update(bytes).digest('hex'))
      }),
    )
  })

  test('a snapshot pushed in chunks of any size, or read into readBuffer(), gives the same records, each with its file offset', () => {
    const bytes = encodeSnapshot(sampleSnapshot())
    const whole: string[] = []
    const collect = (into: string[]) => ({
      config: (_c: unknown, offset: number) => into.push(`config@${offset}`),
      vcpu: (v: { index: number }, offset: number) => into.push(`vcpu${v.index}@${offset}`),
      device: (d: { name: string }, offset: number) => into.push(`${d.name}@${offset}`),
      pages: (b: { count: number; gpas: Float64Array }, offset: number) => {
        for (let i = 0; i < b.count; i++) into.push(`${b.gpas[i]!.toString(16)}@${offset}`)
      },
    })
    const one = new SnapshotDecoder('s.snap', collect(whole))
    one.push(bytes)
    one.finish()
    expect(whole[0]).toBe('config@16')
    expect(whole).toHaveLength(1 + 2 + 1 + 3)
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.integer({ min: 1, max: 5000 }), fc.boolean()), { minLength: 1, maxLength: 10 }), (splits) => {
        const seen: string[] = []
        const decoder = new SnapshotDecoder('s.snap', collect(seen))
        for (let at = 0, i = 0; at < bytes.length; i++) {
          const [n, inPlace] = splits[i % splits.length]!
          // In place: as a file read into the memory the decoder offers, at most its length.
          const space = inPlace ? decoder.readBuffer() : undefined
          const chunk = space ? space.subarray(0, Math.min(n, space.length, bytes.length - at)) : bytes.subarray(at, at + n)
          if (space) chunk.set(bytes.subarray(at, at + chunk.length))
          decoder.push(chunk)
          at += chunk.length
        }
        decoder.finish()
        expect(seen).toEqual(whole)
      }),
      { numRuns: 50 },
    )
    const cut = new SnapshotDecoder('cut.snap', {})
    cut.push(bytes.subarray(0, bytes.length - 1))
    expect(() => cut.finish()).toThrow(/cut\.snap: at offset \d+ .*truncated: the snapshot ends inside a record/)
  })

  test('bytes after the END record are refused, whole records or not', () => {
    const bytes = encodeSnapshot(sampleSnapshot())
    expect(() => decodeSnapshot(Buffer.concat([bytes, new Uint8Array(3)]), 'x.snap')).toThrow(/3 bytes after the END record/)
    expect(() => decodeSnapshot(Buffer.concat([bytes, encodeRecord(RecordType.END, new Uint8Array(32))]), 'x.snap')).toThrow(/END record after the END record/)
  })

  test('a host SHA-256 can stand in for the built-in one; the files are the same', () => {
    const node = () => createHash('sha256')
    const bytes = encodeSnapshot(sampleSnapshot(), { sha256: () => ({ update: (b: Uint8Array) => node().update(b), digest: () => new Uint8Array(32) }) })
    // A digest that is wrong is caught by the built-in reader...
    expect(() => decodeSnapshot(bytes, 'w.snap')).toThrow(/SHA-256 mismatch/)
    // ...and Node's own gives the file the built-in one gives.
    const hash = createHash('sha256')
    const viaNode = encodeSnapshot(sampleSnapshot(), { sha256: () => ({ update: (b: Uint8Array) => hash.update(b), digest: () => new Uint8Array(hash.copy().digest()) }) })
    expect(Buffer.from(viaNode).equals(Buffer.from(encodeSnapshot(sampleSnapshot())))).toBe(true)
  })
})

test('a sink may keep the chunks it is given while the encoder reuses its page batch', () => {
  const kept: Uint8Array[] = []
  const enc = new SnapshotEncoder((c) => kept.push(c))
  enc.writeConfig({ ramBase: RAM, ramSize: 1 << 20, cpus: 1, mte: true, backing: 'anon' })
  enc.writeVcpu({ index: 0, regs: [] })
  const batch = new PageBatch(2)
  for (const round of [0, 1]) {
    batch.clear()
    for (const p of [0, 1]) batch.add(RAM + (round * 2 + p) * 4096, new Uint8Array(4096).fill(round * 2 + p + 1), new Uint8Array(256).fill(round + 3))
    enc.writePages(batch)
  }
  enc.end()
  const pages = decodeSnapshot(Buffer.concat(kept), 'kept.snap').pages
  expect(pages.map((p) => [p.gpa - RAM, p.data![0], p.tags![0]])).toEqual([[0, 1, 3], [4096, 2, 3], [8192, 3, 4], [12288, 4, 4]])
})

test('transientChunks: the sink gets page batches as views of the batch, and the file is the same as with copies', () => {
  const write = (transientChunks: boolean): { bytes: Uint8Array; viewsOfBatch: number } => {
    const parts: Uint8Array[] = []
    const batch = new PageBatch(2)
    let viewsOfBatch = 0
    const enc = new SnapshotEncoder(
      (c) => {
        if (c.buffer === batch.dataBuffer.buffer || c.buffer === batch.tagBuffer.buffer) viewsOfBatch++
        parts.push(c.slice())
      },
      { transientChunks },
    )
    enc.writeConfig({ ramBase: RAM, ramSize: 1 << 20, cpus: 1, mte: true, backing: 'anon' })
    enc.writeVcpu({ index: 0, regs: [] })
    for (const round of [0, 1]) {
      batch.clear()
      for (const p of [0, 1]) batch.add(RAM + (round * 2 + p) * 4096, new Uint8Array(4096).fill(round * 2 + p + 1), new Uint8Array(256).fill(round + 3))
      enc.writePages(batch)
    }
    enc.end()
    return { bytes: Buffer.concat(parts), viewsOfBatch }
  }
  const copied = write(false)
  const viewed = write(true)
  expect(copied.viewsOfBatch).toBe(0)
  expect(viewed.viewsOfBatch).toBe(4)
  expect(Buffer.from(viewed.bytes).equals(Buffer.from(copied.bytes))).toBe(true)
  expect(decodeSnapshot(viewed.bytes, 'v.snap').pages.map((p) => [p.gpa - RAM, p.data![0], p.tags![0]])).toEqual([[0, 1, 3], [4096, 2, 3], [8192, 3, 4], [12288, 4, 4]])
})
