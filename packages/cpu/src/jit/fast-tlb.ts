// The fast data TLB's entries (layout.ts ST_TLB) as the runtime writes them: the empty table,
// one entry, and the checked entries dropped after translations stored tags.

import type { TlbFills } from './tlb-fills.js'
import { RANGE_SLOTS, ST_RANGE_LIMIT, ST_TAGS_STORED, ST_TLB, TLB_ENTRIES, TLB_ENTRY_BYTES, TLB_HOST, TLB_MASK, TLB_READ_KEY, TLB_TAGS, TLB_WRITE_KEY } from './layout.js'

/** The fast TLB with no entry: keys -1 (no access), mask 0, so that no VA matches. */
export const EMPTY_TLB = (() => {
  const t = new Int32Array((TLB_ENTRIES * TLB_ENTRY_BYTES) / 4)
  for (let i = 0; i < TLB_ENTRIES; i++) {
    const e = (i * TLB_ENTRY_BYTES) / 4
    t.fill(-1, e + TLB_READ_KEY / 4, e + TLB_READ_KEY / 4 + 2)
    t.fill(-1, e + TLB_WRITE_KEY / 4, e + TLB_WRITE_KEY / 4 + 2)
  }
  return t
})()

/**
 * Writes the entry at int32 index `e` of `s32`: keys (`keyLo`/`keyHi`, or -1 for no access
 * that way), the key mask's high word (its low word is always VA[31:12]), the page's data
 * offset and its tags word (layout.ts TLB_TAGS).
 */
export function writeEntry(s32: Int32Array, e: number, readable: boolean, writable: boolean, keyLo: number, keyHi: number, maskHi: number, host: number, tags: number): void {
  s32[e + TLB_READ_KEY / 4] = readable ? keyLo : -1
  s32[e + TLB_READ_KEY / 4 + 1] = readable ? keyHi : -1
  s32[e + TLB_WRITE_KEY / 4] = writable ? keyLo : -1
  s32[e + TLB_WRITE_KEY / 4 + 1] = writable ? keyHi : -1
  s32[e + TLB_MASK / 4] = 0xffff_f000 | 0
  s32[e + TLB_MASK / 4 + 1] = maskHi
  s32[e + TLB_HOST / 4] = host
  s32[e + TLB_TAGS / 4] = tags
}

/**
 * Empties the loops' range caches of the state page at `base` (emit-tags.ts loopCache): what
 * a range stands for is what the fast TLB's entry for it did, so they go with the fast TLB,
 * also in the middle of a run (a handler's tag store that ends a frame's uniform tags).
 */
export function emptyRanges(s32: Int32Array, base: number): void {
  s32.fill(0, (base + ST_RANGE_LIMIT) >> 2, (base + ST_RANGE_LIMIT + 8 * RANGE_SLOTS) >> 2)
}

/**
 * The frame of each fast-TLB entry as last filled (the runtime's fill records it), and the
 * drop of checked entries after translations stored tags.
 */
export class EntryFrames {
  private readonly pfns = new Int32Array(TLB_ENTRIES)

  /** Entry `index` was filled for frame `pfn`. */
  note(index: number, pfn: number): void {
    this.pfns[index] = pfn
  }

  /**
   * After translations stored tags (ST_TAGS_STORED), at the run loop's next entry: of the
   * checked entries (an even tags word) of the fast TLB of the state page at `base` filled
   * since it was last emptied (`fills`), those whose frame's tags are now all one value (the
   * memory's `uniformTag`) are dropped, so that a page the guest has tagged as a whole
   * meanwhile gets a uniform-tag entry at its next fill (tag-summary.ts). (Entries made while
   * it was being tagged are checked ones, and nothing else would refill them.) The others
   * stay: their fill would make the same checked entry again (a frame whose tags differ), and
   * nothing else an entry holds can have changed (a change of mapping, permissions or code
   * empties the whole fast TLB). bench-alloc tags objects in every step: dropping every
   * checked entry made it refill each of its ~20 pages a round, a call into JS each.
   */
  dropMadeUniform(s32: Int32Array, base: number, fills: TlbFills, memory: { uniformTag(pfn: number): number }): void {
    s32[(base + ST_TAGS_STORED) >> 2] = 0
    const filled = fills.filled
    for (let k = 0, count = fills.size; k < count; k++) {
      const index = filled[k]!
      const e = (base + ST_TLB + index * TLB_ENTRY_BYTES) >> 2
      // (An entry dropped before has no keys: nothing to look at.)
      const live = s32[e + TLB_READ_KEY / 4] !== -1 || s32[e + TLB_WRITE_KEY / 4] !== -1
      if (live && (s32[e + TLB_TAGS / 4]! & 1) === 0 && memory.uniformTag(this.pfns[index]!) >= 0) {
        s32[e + TLB_READ_KEY / 4] = s32[e + TLB_READ_KEY / 4 + 1] = -1
        s32[e + TLB_WRITE_KEY / 4] = s32[e + TLB_WRITE_KEY / 4 + 1] = -1
      }
    }
  }
}
