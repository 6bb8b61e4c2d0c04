// TlbFills.empty leaves the fast TLB exactly as a copy of the whole empty table would.
import { expect, test } from 'vitest'
import { EMPTY_TLB, writeEntry } from './fast-tlb.js'
import { ST_TLB, TLB_ENTRIES, TLB_ENTRY_BYTES } from './layout.js'
import { TlbFills } from './tlb-fills.js'

const BASE = 4096
const table = (s32: Int32Array): Int32Array => s32.slice((BASE + ST_TLB) >> 2, (BASE + ST_TLB + TLB_ENTRIES * TLB_ENTRY_BYTES) >> 2)

test('empty rewrites the entries filled since the last one, and the table equals the empty table', () => {
  const s32 = new Int32Array((BASE + ST_TLB + TLB_ENTRIES * TLB_ENTRY_BYTES + 4096) >> 2).fill(0x5a5a5a5a)
  const fills = new TlbFills(BASE, s32)
  expect(table(s32)).toEqual(EMPTY_TLB)
  for (const round of [[3, 1023, 3, 0, 512], [7], []]) {
    for (const index of round) {
      writeEntry(s32, (BASE + ST_TLB + index * TLB_ENTRY_BYTES) >> 2, true, index !== 7, 0x1000 * index, 0x80, 0xff_ffff, 0x10000 + index, 0x2000)
      fills.note(index)
    }
    if (round.length > 0) expect(table(s32)).not.toEqual(EMPTY_TLB)
    fills.empty(s32)
    expect(table(s32)).toEqual(EMPTY_TLB)
  }
  // Outside the table nothing was touched.
  expect(s32[(BASE + ST_TLB) / 4 - 1]).toBe(0x5a5a5a5a)
  expect(s32[(BASE + ST_TLB + TLB_ENTRIES * TLB_ENTRY_BYTES) / 4]).toBe(0x5a5a5a5a)
})

test('an entry written but not noted stays (so the check above can fail)', () => {
  const s32 = new Int32Array((BASE + ST_TLB + TLB_ENTRIES * TLB_ENTRY_BYTES) >> 2)
  const fills = new TlbFills(BASE, s32)
  writeEntry(s32, (BASE + ST_TLB + 5 * TLB_ENTRY_BYTES) >> 2, true, true, 0x5000, 0, -1, 0x10000, 0x2000)
  fills.empty(s32)
  expect(table(s32)).not.toEqual(EMPTY_TLB)
})
