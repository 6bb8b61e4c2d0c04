// What the CPU needs from host physical memory; `@tagvm/tag-memory`'s PhysicalMemory
// satisfies it. Types only.

import type { DescriptorMemory } from '@tagvm/mmu'
import type { FrameTags } from '@tagvm/tag-memory'

/** The host frame view a TLB entry leads to (PhysicalMemory.frameData's shape). */
export interface FrameData {
  readonly bytes: Uint8Array
  readonly view: DataView
  readonly offset: number
}

export interface CpuMemory extends DescriptorMemory {
  /** The frame's bytes; RangeError for a frame number the memory does not have. */
  frameData(pfn: number): FrameData
  /** Ask for one notification of the next write to this frame made through the memory API. */
  watchFrame?(pfn: number): void
  onWatchedFrameWrite?(listener: (pfn: number) => void): unknown
  /** The frame's packed allocation tags (MTE); without it every tag reads 0 and writes are dropped. */
  frameTags?(pfn: number, allocate: boolean): FrameTags | null
}
