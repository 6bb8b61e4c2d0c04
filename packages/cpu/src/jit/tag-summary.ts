// Uniform-tag entries of the fast TLB. A tag-checked page whose granules all hold one tag T
// (a buffer tagged as a whole: most of a program's large data) gets, for a pointer tagged T,
// an entry whose key includes the pointer's tag (VA[59:56]) and which says "not checked":
// every access through it skips the tag check at no cost beyond the TLB compare it makes
// anyway, and a pointer with another tag misses and comes back to the fill.
//
// Why it stays right: the entry is valid only while the frame's tags are all T. The frame is
// marked in the memory (markTagSummary) before the entry is made, and every tag write to a
// marked frame drops the mark and flushes every CPU's fast TLB (the watcher's `dropped`):
// writes through the memory's methods (the host kernel, the VMM, a restore), and a CPU's
// tag stores in the interpreter (MteUnit reports them with noteTagWrite). The one writer
// that does not go through JS is a translation's STG, which stores tags only through a
// checked entry that has a write key; so when a frame is marked, every CPU's checked
// entries for it lose their write key (`summarised`), and while it is marked the fill gives
// none (a write with another tag leaves for the interpreter). Every CPU sharing the memory
// runs in this thread (the tier runs lockstep vCPUs only), so the flush happens before any
// of them makes another access. The memory refuses marks when it is shared between threads.

import type { CpuMemory } from '../memory.js'
import { TLB_ENTRIES, TLB_ENTRY_BYTES, TLB_HOST, TLB_TAGS, TLB_WRITE_KEY } from './layout.js'

/** The memory's tag summaries (CpuMemory's optional methods, all present). */
type TagSummaries = Required<Pick<CpuMemory, 'uniformTag' | 'markTagSummary' | 'hasTagSummary' | 'watchTagSummaries'>>

/** A fill's choice for a tag-checked page (uniformChoice). */
export const CHECKED = 0
/** Key with the pointer's tag, no check. */
export const UNIFORM = 1
/** Checked, and no write key: the frame is marked and the pointer has another tag. */
export const CHECKED_NO_WRITE = 2

/** The key mask's high word for a uniform entry: VA[59:32] (the tag in, VA[63:60] out as TBI has it). */
export const UNIFORM_MASK_HI = 0x0fff_ffff

/**
 * Watches `memory`'s tag summaries for the CPU whose fast TLB is at `tlb` (byte offset in
 * the wasm memory viewed by `s32`), or null when the memory has none (then every tagged page
 * gets checked entries). `dataOffset` gives a frame's data offset in the wasm memory (what
 * an entry's TLB_HOST holds), `flush` empties the fast TLB.
 */
export function watchTagSummaries(memory: CpuMemory, s32: Int32Array, tlb: number, dataOffset: (pfn: number) => number, flush: () => void): TagSummaries | null {
  const { uniformTag, markTagSummary, hasTagSummary, watchTagSummaries: watch } = memory
  if (uniformTag === undefined || markTagSummary === undefined || hasTagSummary === undefined || watch === undefined) return null
  const summaries = memory as TagSummaries
  summaries.watchTagSummaries({
    summarised: (pfn) => {
      // This CPU's checked entries for the frame: no more tag stores through them.
      const host = dataOffset(pfn)
      for (let e = tlb >> 2, end = e + (TLB_ENTRIES * TLB_ENTRY_BYTES) / 4; e < end; e += TLB_ENTRY_BYTES / 4) {
        if (s32[e + TLB_HOST / 4] === host && (s32[e + TLB_TAGS / 4]! & 1) === 0) {
          s32[e + TLB_WRITE_KEY / 4] = -1
          s32[e + TLB_WRITE_KEY / 4 + 1] = -1
        }
      }
    },
    dropped: () => flush(),
  })
  return summaries
}

/**
 * What a fill makes of a tag-checked page under TBI (the pointer's tag is in VA[59:56], bits
 * 27:24 of `hi`): UNIFORM when all the frame's tags are the pointer's (marking the frame),
 * CHECKED_NO_WRITE when they are all another tag and the frame is marked, else CHECKED.
 */
export function uniformChoice(summaries: TagSummaries, pfn: number, hi: number): number {
  const one = summaries.uniformTag(pfn)
  if (one < 0) return CHECKED
  if (one === ((hi >>> 24) & 15)) {
    summaries.markTagSummary(pfn)
    return UNIFORM
  }
  return summaries.hasTagSummary(pfn) ? CHECKED_NO_WRITE : CHECKED
}
