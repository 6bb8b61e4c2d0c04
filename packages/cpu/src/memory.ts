// What the CPU needs from host physical memory; `@tagvm/tag-memory`'s PhysicalMemory
// satisfies it. Types only.

import type { DescriptorMemory } from '@tagvm/mmu'
import type { FrameTags, TagSummaryWatcher } from '@tagvm/tag-memory'

/** The host frame view a TLB entry leads to (PhysicalMemory.frameData's shape). */
export interface FrameData {
  readonly bytes: Uint8Array
  readonly view: DataView
  readonly offset: number
}

export interface CpuMemory extends DescriptorMemory {
  /** The frame's bytes; RangeError for a frame number the memory does not have. */
  frameData(pfn: number): FrameData
  /**
   * Decoded-code coherence, kept per frame beside the tag flags (shared by every CPU and,
   * with shared memory, every thread). markCode: the CPU decodes from the frame, returns its
   * code generation. Any write to a marked frame (through the memory's methods, or reported
   * by a CPU with invalidateCodeFrame) bumps the generation and codeEpochs[0];
   * invalidateAllCode bumps codeEpochs[1].
   */
  markCode(pfn: number): number
  /** The frame's code generation now (a page decoded at another generation is stale). */
  codeGeneration(pfn: number): number
  /** A CPU's store to a code frame, or IC IVAU: invalidates every CPU's code of it; the epoch it moved from, or -1. */
  invalidateCodeFrame(pfn: number): number
  /** IC IALLUIS: every CPU drops all its decoded code. */
  invalidateAllCode(): void
  /** [code write epoch, code flush epoch], read plainly to see whether anything changed. */
  readonly codeEpochs: Int32Array
  /** The frame's allocation tags (MTE, a byte per granule); without it every tag reads 0 and writes are dropped. */
  frameTags?(pfn: number, allocate: boolean): FrameTags | null
  /**
   * Tag summaries (PhysicalMemory's), for the compiled tier's fast TLB, which skips the tag
   * check on a frame whose tags are all one value when the pointer has that tag: that value,
   * or -1 when the frame's tags differ.
   */
  uniformTag?(pfn: number): number
  /** The tier now relies on the frame's tags staying one value (PhysicalMemory.markTagSummary). */
  markTagSummary?(pfn: number): void
  /** Whether the frame is marked and its tags not written since. */
  hasTagSummary?(pfn: number): boolean
  /** Adds a watcher told when a frame is marked and when a marked frame's tags are written. */
  watchTagSummaries?(watcher: TagSummaryWatcher): void
  /** A CPU wrote the frame's tags through frameTags' view: drops its mark and tells the watchers. */
  noteTagWrite?(pfn: number): void
}
