import { describe, expect, test } from 'vitest'
import fc from 'fast-check'
import { FileFormatError } from '../errors.js'
import { RecordDecoder, RecordType, encodeRecord } from './records.js'

/** Records of the given payload sizes, each payload a pattern of its own (index and position). */
function records(sizes: readonly number[]): { bytes: Uint8Array; payloads: Uint8Array[]; offsets: number[] } {
  const payloads = sizes.map((size, r) => Uint8Array.from({ length: size }, (_, i) => (i * 31 + r * 7) & 0xff))
  const framed = payloads.map((p) => encodeRecord(RecordType.PAGES, p))
  const offsets: number[] = []
  let at = 0
  for (const f of framed) {
    offsets.push(at)
    at += f.length
  }
  // A plain array of its own (a small Buffer would sit at an offset in a shared pool).
  return { bytes: new Uint8Array(Buffer.concat(framed)), payloads, offsets }
}

/**
 * Decodes `sizes`' records as read by `read` (given the decoder and the stream bytes from
 * `at`, it returns the chunk to push, at least one byte), checking each record as its push
 * returns: one handed out early in a push must not be overwritten by the tail the push keeps.
 */
function decodesWhole(sizes: readonly number[], read: (decoder: RecordDecoder, bytes: Uint8Array, at: number, i: number) => Uint8Array): void {
  const { bytes, payloads, offsets } = records(sizes)
  const decoder = new RecordDecoder('s', 0)
  let next = 0
  for (let at = 0, i = 0; at < bytes.length; i++) {
    const chunk = read(decoder, bytes, at, i)
    at += chunk.length
    for (const record of decoder.push(chunk)) {
      expect(record.offset).toBe(offsets[next])
      expect(Buffer.from(record.payload).equals(Buffer.from(payloads[next]!))).toBe(true)
      next++
    }
  }
  expect(next).toBe(sizes.length)
  expect(decoder.pending).toBe(0)
  expect(decoder.offset).toBe(bytes.length)
}

describe('RecordDecoder', () => {
  test('any split gives every record whole, each intact until the next push (property)', () => {
    fc.assert(
      fc.property(
        fc.array(fc.integer({ min: 0, max: 200_000 }), { minLength: 1, maxLength: 8 }),
        fc.array(fc.integer({ min: 1, max: 300_000 }), { minLength: 1, maxLength: 6 }),
        (sizes, splits) => decodesWhole(sizes, (_, bytes, at, i) => bytes.subarray(at, at + splits[i % splits.length]!)),
      ),
      { numRuns: 60 },
    )
  })

  test('reads into readBuffer(), mixed with pushes of other memory, give every record whole (property)', () => {
    fc.assert(
      fc.property(
        fc.array(fc.integer({ min: 0, max: 200_000 }), { minLength: 1, maxLength: 8 }),
        fc.array(fc.tuple(fc.integer({ min: 1, max: 300_000 }), fc.boolean()), { minLength: 1, maxLength: 6 }),
        (sizes, reads) =>
          decodesWhole(sizes, (decoder, bytes, at, i) => {
            const [n, inPlace] = reads[i % reads.length]!
            if (!inPlace) return bytes.slice(at, at + n)
            // As a socket reading into what the decoder offers: at most its length.
            const space = decoder.readBuffer()
            expect(space.length).toBeGreaterThan(0)
            const chunk = space.subarray(0, Math.min(n, space.length, bytes.length - at))
            chunk.set(bytes.subarray(at, at + chunk.length))
            return chunk
          }),
      ),
      { numRuns: 60 },
    )
  })

  test('once the length of a record is known, readBuffer offers just its rest, so it arrives in place in one piece', () => {
    const { bytes, payloads } = records([3_000_000, 10])
    const decoder = new RecordDecoder('s', 0)
    const head = decoder.readBuffer()
    expect(head.length).toBe(64 * 1024)
    head.set(bytes.subarray(0, head.length))
    expect(decoder.push(head)).toEqual([])
    const rest = decoder.readBuffer()
    expect(rest.length).toBe(3_000_000 + 12 - head.length)
    // The rest of the record follows its first bytes in the same memory.
    expect(rest.buffer).toBe(decoder.readBuffer().buffer)
    rest.set(bytes.subarray(head.length, head.length + rest.length))
    const [record] = decoder.push(rest)
    expect(record!.payload.buffer).toBe(rest.buffer)
    expect(Buffer.from(record!.payload).equals(Buffer.from(payloads[0]!))).toBe(true)
  })

  test('a record completed by a large read is decoded, and the rest of that read in place', () => {
    const { bytes, payloads } = records([70_000, 1_000_000, 5, 1_000_000])
    const decoder = new RecordDecoder('s', 0)
    // The first read stops inside the second record; the next one holds all the rest.
    const first = decoder.push(bytes.subarray(0, 500_000))
    expect(first).toHaveLength(1)
    const rest = decoder.push(bytes.subarray(500_000))
    expect(rest.map((r) => r.payload.length)).toEqual([1_000_000, 5, 1_000_000])
    rest.forEach((r, i) => expect(Buffer.from(r.payload).equals(Buffer.from(payloads[i + 1]!))).toBe(true))
  })

  test('a corrupted byte in a record split across reads is a checksum error at its offset', () => {
    const { bytes, offsets } = records([1000, 300_000, 1000])
    const bad = bytes.slice()
    bad[offsets[1]! + 8 + 150_000]! ^= 0x40
    const decoder = new RecordDecoder('bad.snap', 16)
    decoder.push(bad.subarray(0, offsets[1]! + 100))
    expect(() => decoder.push(bad.subarray(offsets[1]! + 100))).toThrow(FileFormatError)
    const again = new RecordDecoder('bad.snap', 16)
    again.push(bad.subarray(0, offsets[1]! + 100))
    expect(() => again.push(bad.subarray(offsets[1]! + 100))).toThrow(new RegExp(`^bad\\.snap: at offset ${16 + offsets[1]!} \\(0x[0-9a-f]+\\): PAGES record checksum mismatch`))
  })

  test('a corrupted length in a header split across reads is refused once the header is whole', () => {
    const { bytes, offsets } = records([1000, 1000])
    const bad = bytes.slice()
    new DataView(bad.buffer).setUint32(offsets[1]! + 4, 0xffff_fff0, true)
    const decoder = new RecordDecoder('bad.snap', 0)
    decoder.push(bad.subarray(0, offsets[1]! + 5))
    expect(() => decoder.push(bad.subarray(offsets[1]! + 5))).toThrow(/^bad\.snap: at offset \d+ \(0x[0-9a-f]+\): PAGES record length \d+ exceeds/)
  })

  test('a truncated stream leaves the incomplete record pending', () => {
    const { bytes } = records([1000, 300_000])
    const decoder = new RecordDecoder('cut', 0)
    const got = [...decoder.push(bytes.subarray(0, 2000)), ...decoder.push(bytes.subarray(2000, bytes.length - 1))]
    expect(got).toHaveLength(1)
    expect(decoder.pending).toBe(bytes.length - 1 - (1000 + 12))
  })
})
