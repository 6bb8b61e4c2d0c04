import { describe, expect, test } from 'vitest'
import { toInstructionWord } from './word.js'

describe('toInstructionWord', () => {
  test('accepts every 32-bit value', () => {
    expect(toInstructionWord(0)).toBe(0)
    expect(toInstructionWord(0xd9200820)).toBe(0xd9200820)
    expect(toInstructionWord(0xffff_ffff)).toBe(0xffff_ffff)
  })
  test.each([[-1], [2 ** 32], [1.5], [Number.NaN], ['0x1'], [null], [10n]])('rejects %s', (bad) => {
    expect(() => toInstructionWord(bad)).toThrow(RangeError)
  })
})
