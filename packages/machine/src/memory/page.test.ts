import { expect, test } from 'vitest'
import { tagsAreNibbles } from '../snapshot/records.js'
import { isZero, wordsZero } from './page.js'

test('isZero and wordsZero see one non-zero byte anywhere, at any alignment and length', () => {
  const buffer = new Uint8Array(64 + 8)
  for (let length = 0; length <= 64; length += 1) {
    for (const offset of [0, 1, 4]) {
      const view = buffer.subarray(offset, offset + length)
      expect(isZero(view)).toBe(true)
      for (let at = 0; at < length; at++) {
        view[at] = 0x80
        expect(isZero(view)).toBe(false)
        view[at] = 0
      }
    }
  }
  const words = new Uint32Array(23)
  for (let from = 0; from < words.length; from++) {
    for (let count = 0; from + count <= words.length; count++) {
      for (let at = 0; at < words.length; at++) {
        words[at] = 1
        expect(wordsZero(words, from, count)).toBe(!(at >= from && at < from + count))
        words[at] = 0
      }
    }
  }
})

test('tagsAreNibbles finds a byte above 15 at any position, alignment and length', () => {
  const buffer = new Uint8Array(48)
  for (let offset = 0; offset < 4; offset++) {
    for (let length = 0; offset + length <= buffer.length; length++) {
      const tags = buffer.subarray(offset, offset + length)
      tags.fill(15)
      expect(tagsAreNibbles(tags)).toBe(true)
      for (let at = 0; at < length; at++) {
        tags[at] = 16
        expect(tagsAreNibbles(tags)).toBe(false)
        tags[at] = 15
      }
      tags.fill(0)
    }
  }
})
