// The host frames one CPU has touched, each in one record: where its bytes are (a view of
// the host chunk and the frame's offset in it), its physical address, whether this CPU holds
// decoded code from it, and its allocation tags (MTE, a byte per granule). A TLB entry's `hostSlot` is
// an index into `list`, so a load is `list[tlb.hostSlot[i]].view.getUint32(base + offset)`:
// two array reads after the TLB probe, the shape a code generator can inline.

import type { FrameTags } from '@tagvm/tag-memory'
import { PAGE_SIZE } from './constants.js'
import type { CpuMemory } from './memory.js'

/** Placeholder tag view of a frame whose tags are not known yet (tagBase -1). */
const NO_TAGS = new Uint8Array(0)

/** One host frame as this CPU sees it. */
export class HostFrame {
  /** This CPU decoded instructions from the frame: a store to it must tell the code cache. */
  code = 0
  /** The frame's allocation tags: granule g's is byte `tagBase + g` (high nibble zero). */
  tags: Uint8Array = NO_TAGS
  /** Offset of the frame's tags in `tags`; -1 while not looked up or the frame has none. */
  tagBase = -1

  constructor(
    /** The host chunk holding the frame. */
    readonly view: DataView,
    readonly bytes: Uint8Array,
    /** Offset of the frame's first byte in `view` / `bytes`. */
    readonly base: number,
    /** Physical address of the frame. */
    readonly pa: number,
    views: ChunkViews = viewsOf(bytes),
  ) {
    this.u16 = views.u16
    this.u32 = views.u32
    this.f64 = views.f64
  }

  /**
   * The chunk as 16-, 32- and 64-bit elements (element `(base + offset) >>> 1`, `>>> 2`, `>>> 3`).
   * An aligned access is one typed-array element: tear-free between threads in every V8 tier,
   * where a DataView access is assembled byte by byte until optimised, and a 64-bit value
   * written as two 32-bit halves can be seen half written. `f64` carries 64-bit words bit for
   * bit (DataPath.word64 converts).
   */
  readonly u16: Uint16Array
  readonly u32: Uint32Array
  readonly f64: Float64Array

  get pfn(): number {
    return this.pa / PAGE_SIZE
  }
}

/** A host chunk's bytes as 16-, 32- and 64-bit elements. */
export interface ChunkViews {
  readonly u16: Uint16Array
  readonly u32: Uint32Array
  readonly f64: Float64Array
}

const chunkViews = new WeakMap<Uint8Array, ChunkViews>()

/** The element views of a chunk, made once per chunk (shared by every frame and CPU of a thread). */
function viewsOf(bytes: Uint8Array): ChunkViews {
  let views = chunkViews.get(bytes)
  if (views === undefined) {
    if (bytes.byteOffset % 8 !== 0 || bytes.byteLength % 8 !== 0) {
      throw new RangeError(`host memory chunks must be 8-byte aligned and sized (offset ${bytes.byteOffset}, ${bytes.byteLength} bytes)`)
    }
    const { buffer, byteOffset, byteLength } = bytes
    views = {
      u16: new Uint16Array(buffer, byteOffset, byteLength / 2),
      u32: new Uint32Array(buffer, byteOffset, byteLength / 4),
      f64: new Float64Array(buffer, byteOffset, byteLength / 8),
    }
    chunkViews.set(bytes, views)
  }
  return views
}

/** The host frames of one CPU, by slot number (what TLB entries hold) and by physical address. */
export class HostFrames {
  /** Frames by slot; a slot stays valid for the CPU's lifetime. */
  readonly list: HostFrame[] = []
  private readonly slotByPa = new Map<number, number>()

  constructor(private readonly memory: CpuMemory) {}

  /** The slot of the frame at physical address `pa` (page aligned), or -1 if memory has none there. */
  slotFor(pa: number): number {
    const known = this.slotByPa.get(pa)
    if (known !== undefined) return known
    let data
    try {
      data = this.memory.frameData(pa / PAGE_SIZE)
    } catch (error) {
      if (error instanceof RangeError) return -1
      throw error
    }
    const slot = this.list.length
    this.list.push(new HostFrame(data.view, data.bytes, data.offset, pa))
    this.slotByPa.set(pa, slot)
    return slot
  }

  /** The slot already made for `pa`, or undefined. */
  knownSlot(pa: number): number | undefined {
    return this.slotByPa.get(pa)
  }

  /**
   * Whether the frame has tag storage, looking it up once it exists (frames without storage
   * read every tag as 0 until something writes one, so absence is not remembered).
   */
  hasTags(slot: number): boolean {
    const frame = this.list[slot] as HostFrame
    if (frame.tagBase >= 0) return true
    const tags = this.memory.frameTags?.(frame.pfn, false) ?? null
    if (tags === null) return false
    remember(frame, tags)
    return true
  }

  /** This CPU wrote some of the frame's tags through its view (tag summaries must hear of it). */
  tagsWritten(frame: HostFrame): void {
    this.memory.noteTagWrite?.(frame.pfn)
  }

  /** Gives the frame tag storage (allocating it) and returns the frame with its view set. */
  ensureTags(slot: number): HostFrame {
    const frame = this.list[slot] as HostFrame
    if (frame.tagBase >= 0) return frame
    if (this.memory.frameTags === undefined) throw new RangeError('this memory has no allocation tag storage')
    const tags = this.memory.frameTags(frame.pfn, true)
    if (tags === null) throw new RangeError('frameTags(pfn, true) returned null')
    remember(frame, tags)
    return frame
  }
}

function remember(frame: HostFrame, tags: FrameTags): void {
  frame.tags = tags.tags
  frame.tagBase = tags.offset
}

/** The allocation tag of granule g of a frame whose tags are loaded. */
export function tagOf(frame: HostFrame, g: number): number {
  return frame.tags[frame.tagBase + g] as number
}

/** Sets the allocation tag (0..15) of granule g of a frame whose tags are loaded. Each granule has a byte of its own: no other granule's tag is touched. */
export function setTagOf(frame: HostFrame, g: number, tag: number): void {
  frame.tags[frame.tagBase + g] = tag
}
