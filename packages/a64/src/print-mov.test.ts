import { describe, expect, test } from 'vitest'
import fc from 'fast-check'
import { signedDecimal } from './print-mov.js'

describe('signedDecimal', () => {
  test('matches BigInt for any 64-bit value and width', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 0xffff_ffff }), fc.integer({ min: 0, max: 0xffff_ffff }), (hi, lo) => {
        const value = (BigInt(hi) << 32n) | BigInt(lo)
        expect(signedDecimal(hi, lo, 64)).toBe(BigInt.asIntN(64, value).toString())
        expect(signedDecimal(hi, lo, 32)).toBe(BigInt.asIntN(32, BigInt(lo)).toString())
      }),
      { numRuns: 20_000 },
    )
  })
  test('edges', () => {
    expect(signedDecimal(0x8000_0000, 0, 64)).toBe('-9223372036854775808')
    expect(signedDecimal(0x7fff_ffff, 0xffff_ffff, 64)).toBe('9223372036854775807')
    expect(signedDecimal(0xffff_ffff, 0xffff_ffff, 64)).toBe('-1')
    expect(signedDecimal(0x0010_0000, 0, 64)).toBe('4503599627370496')
  })
})
