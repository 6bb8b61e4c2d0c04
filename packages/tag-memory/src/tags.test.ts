import { describe, expect, test } from 'vitest'
import fc from 'fast-check'
import { GRANULES_PER_PAGE, PACKED_TAG_BYTES_PER_PAGE } from './constants.js'
import { checkTag, packTagBytes, unpackTagBytes } from './tags.js'

describe('packed tags (swap format)', () => {
  test('two tags per byte, even granule low', () => {
    const packed = new Uint8Array(PACKED_TAG_BYTES_PER_PAGE)
    packTagBytes(Uint8Array.of(0x3, 0xa, 0x0, 0xf), 0, packed, 0, 4)
    expect([...packed.subarray(0, 3)]).toEqual([0xa3, 0xf0, 0])
    const wide = new Uint8Array(4)
    unpackTagBytes(Uint8Array.of(0xa3, 0xf0), 0, wide, 0, 4)
    expect([...wide]).toEqual([0x3, 0xa, 0x0, 0xf])
  })

  test('a page of tags round-trips at every alignment (word and byte paths alike)', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: GRANULES_PER_PAGE, maxLength: GRANULES_PER_PAGE }), fc.nat(3), fc.nat(3), (raw, wideAt, packedAt) => {
        const tags = raw.map((b) => b & 15)
        const wide = new Uint8Array(GRANULES_PER_PAGE + 4)
        wide.set(tags, wideAt)
        const packed = new Uint8Array(PACKED_TAG_BYTES_PER_PAGE + 4)
        packTagBytes(wide, wideAt, packed, packedAt, GRANULES_PER_PAGE)
        for (let g = 0; g < GRANULES_PER_PAGE; g++) expect((packed[packedAt + (g >>> 1)]! >>> (4 * (g & 1))) & 15).toBe(tags[g])
        const back = new Uint8Array(GRANULES_PER_PAGE + 4)
        unpackTagBytes(packed, packedAt, back, wideAt, GRANULES_PER_PAGE)
        expect([...back.subarray(wideAt, wideAt + GRANULES_PER_PAGE)]).toEqual([...tags])
      }),
      { numRuns: 50 },
    )
  })

  test('odd counts and short buffers are RangeErrors', () => {
    expect(() => packTagBytes(new Uint8Array(3), 0, new Uint8Array(2), 0, 3)).toThrow(RangeError)
    expect(() => packTagBytes(new Uint8Array(4), 1, new Uint8Array(2), 0, 4)).toThrow(RangeError)
    expect(() => unpackTagBytes(new Uint8Array(1), 0, new Uint8Array(4), 0, 4)).toThrow(RangeError)
  })

  test('rejects tags outside 0..15', () => {
    expect(checkTag(15)).toBe(15)
    for (const bad of [-1, 16, 1.5, Number.NaN]) expect(() => checkTag(bad)).toThrow(RangeError)
  })
})
