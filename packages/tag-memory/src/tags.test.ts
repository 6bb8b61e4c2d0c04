import { describe, expect, test } from 'vitest'
import fc from 'fast-check'
import { TAG_BYTES_PER_PAGE, GRANULES_PER_PAGE } from './constants.js'
import { checkTag, packTag, unpackTag } from './tags.js'

describe('packed tags', () => {
  test('two tags per byte, even granule low', () => {
    const packed = new Uint8Array(TAG_BYTES_PER_PAGE)
    packTag(packed, 0, 0x3)
    packTag(packed, 1, 0xa)
    expect(packed[0]).toBe(0xa3)
    expect(unpackTag(packed, 0)).toBe(3)
    expect(unpackTag(packed, 1)).toBe(0xa)
  })
  test('writing one granule never disturbs another', () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.nat(GRANULES_PER_PAGE - 1), fc.nat(15))), (writes) => {
        const packed = new Uint8Array(TAG_BYTES_PER_PAGE)
        const model = new Array<number>(GRANULES_PER_PAGE).fill(0)
        for (const [g, t] of writes) {
          packTag(packed, g, t)
          model[g] = t
        }
        model.forEach((t, g) => expect(unpackTag(packed, g)).toBe(t))
      }),
    )
  })
  test('an offset places the granules from that byte; an index past the storage is a RangeError, not a lost write', () => {
    const packed = new Uint8Array(new SharedArrayBuffer(4))
    packTag(packed, 1, 0x5, 2)
    packTag(packed, 2, 0xc, 2)
    expect([...packed]).toEqual([0, 0, 0x50, 0x0c])
    expect(() => packTag(packed, 4, 1, 2)).toThrow(RangeError)
  })
  test('rejects tags outside 0..15', () => {
    expect(checkTag(15)).toBe(15)
    for (const bad of [-1, 16, 1.5, Number.NaN]) expect(() => checkTag(bad)).toThrow(RangeError)
  })
})
