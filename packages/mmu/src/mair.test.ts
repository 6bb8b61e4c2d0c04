import { expect, test } from 'vitest'
import { decodeMairAttribute } from './mair.js'

test('0xF0 is Normal Tagged; other Normal and Device encodings are untagged', () => {
  expect(decodeMairAttribute(0xf0)).toEqual({ type: 'normal', tagged: true })
  expect(decodeMairAttribute(0xff)).toEqual({ type: 'normal', tagged: false })
  expect(decodeMairAttribute(0x44)).toEqual({ type: 'normal', tagged: false })
  expect(decodeMairAttribute(0x00)).toEqual({ type: 'device', tagged: false })
  expect(decodeMairAttribute(0x04)).toEqual({ type: 'device', tagged: false })
  expect(() => decodeMairAttribute(0x100)).toThrow(RangeError)
})
