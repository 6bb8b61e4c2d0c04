import {
  GRANULE_SHIFT,
  GRANULE_SIZE,
  GRANULES_PER_PAGE,
  MAX_TAG,
  PAGE_SHIFT,
  PAGE_SIZE,
  TAG_STORAGE_BYTES_PER_PAGE,
} from './constants.js'
import { HostArenas, type HostArenaSupply } from './host-reserve.js'
import { checkTag } from './tags.js'

/** Data is stored in chunks of this size, each allocated the first time it is touched. */
export const CHUNK_SIZE = 2 * 1024 * 1024
const FRAMES_PER_CHUNK = CHUNK_SIZE / PAGE_SIZE
const FRAME_IN_CHUNK_MASK = FRAMES_PER_CHUNK - 1
const FRAMES_PER_CHUNK_SHIFT = 9
/** Tag storage comes from slabs of this many per-frame slots (128 KiB of tags each). */
const TAG_SLOTS_PER_SLAB = 512
const TAG_SLAB_SHIFT = 9
/** Largest memory a PhysicalMemory models: 1 TiB (frame numbers stay well inside int32). */
export const MAX_PHYSICAL_MEMORY = 2 ** 40

/** Per-frame flag bits (one Int32 per frame, usable with Atomics). */
const FRAME_TAGGED = 1 // PG_mte_tagged: the frame's tags are valid
const FRAME_TAG_LOCK = 2 // PG_mte_lock: someone is initialising the tags
const FRAME_HAS_TAGS = 4 // shared mode: the frame's tag storage is in use
const FRAME_CODE = 8 // some CPU may hold decoded instructions from the frame
const FRAME_TAG_SUMMARY = 16 // some CPU skips tag checks on the frame: its tags were all one value
/** Bits 31:8: the frame's code generation, bumped when a write meets FRAME_CODE. */
const CODE_GEN_SHIFT = 8
const CODE_GEN_ONE = 1 << CODE_GEN_SHIFT
/**
 * Words after the per-frame flags: the count of frames with tag storage (shared mode), the
 * code write epoch (bumped with every code generation) and the code flush epoch (IC IALLUIS).
 */
const TAG_STORAGE_COUNT = 0
const CODE_WRITE_EPOCH = 1
const CODE_FLUSH_EPOCH = 2
/** Non-zero once any frame has been marked as code: until then writes skip the per-frame test. */
const CODE_EVER_MARKED = 3
const EXTRA_FLAG_WORDS = 4
/**
 * Told about frames whose tags a CPU relies on being all one value (a compiled tier's fast TLB
 * that skips the tag check when the pointer's tag is that value; see markTagSummary).
 */
export interface TagSummaryWatcher {
  /** The frame was just marked: nothing may write its tags from now on without telling (noteTagWrite). */
  summarised(pfn: number): void
  /** A marked frame's tags were written (the mark is gone): whatever relied on them is stale. */
  dropped(pfn: number): void
}

/** Shared mode reserves data in SharedArrayBuffers of at most this size. */
const SHARED_REGION_SIZE = 2 ** 30

/**
 * Direct access to one frame's bytes for a TLB: `bytes` and `view` cover the whole backing
 * chunk; the frame starts at `offset` in them.
 */
export interface FrameData {
  readonly bytes: Uint8Array
  readonly view: DataView
  readonly offset: number
}

/**
 * Direct access to one frame's allocation tags: the tag of granule g of the frame is byte
 * `tags[offset + g]` (one byte per granule, high nibble zero; write only 0..15 there).
 */
export interface FrameTags {
  readonly tags: Uint8Array
  readonly offset: number
}

export interface PhysicalMemoryOptions {
  /** Bytes of memory: a multiple of 4 KiB, at most 1 TiB. */
  size: number
  /** Back data, tags and flags with SharedArrayBuffer (for vCPUs on worker threads). */
  shared?: boolean
  /**
   * Allocate data chunks and tag storage inside this WebAssembly.Memory (grown as they are
   * first touched), so code generated as WebAssembly reaches guest RAM and tags with plain
   * loads (see `wasmOffset`). The memory must be `shared: true` (growing it then never
   * detaches the views already handed out) with room to grow; not with `shared`.
   */
  wasmMemory?: WasmMemory
}

/** The part of a WebAssembly.Memory that PhysicalMemory uses (TypeScript's lib here declares no WebAssembly). */
export interface WasmMemory {
  readonly buffer: ArrayBufferLike
  /** Grows the memory by `pages` 64 KiB pages; returns the old size in pages (WebAssembly.Memory.grow). */
  grow(pages: number): number
}

const WASM_PAGE_SIZE = 65536

/**
 * Reserves `bytes` (rounded up to whole wasm pages) at the end of a wasm memory by growing
 * it; returns the offset. Everyone who allocates in the memory goes through grow, so
 * regions never overlap.
 */
export function growWasmMemory(memory: WasmMemory, bytes: number): number {
  const pages = Math.ceil(bytes / WASM_PAGE_SIZE)
  let before: number
  try {
    before = memory.grow(pages)
  } catch (err) {
    throw new RangeError(`cannot grow the WebAssembly.Memory by ${pages} pages (a wasm memory holds at most 4 GiB): ${String(err)}`)
  }
  return before * WASM_PAGE_SIZE
}

/**
 * Everything another thread needs to attach to a shared PhysicalMemory (structured-clone
 * it through postMessage, then `PhysicalMemory.attach`).
 */
export interface SharedMemoryHandle {
  readonly size: number
  readonly dataRegions: readonly SharedArrayBuffer[]
  readonly tags: SharedArrayBuffer
  readonly flags: SharedArrayBuffer
}

/**
 * Host physical memory: frames of 4 KiB with data and MTE allocation tags (4 bits per
 * 16-byte granule), plus the per-frame flags the kernel keeps for tags. This is the
 * hardware's view: tags belong to the physical frame and stay there (stale) until someone
 * writes or clears them; whether they are *valid* is the `tagged` flag's business.
 */
export class PhysicalMemory {
  readonly size: number
  readonly frameCount: number
  readonly shared: boolean

  private readonly chunks: (Uint8Array | undefined)[]
  private readonly views: (DataView | undefined)[]
  private readonly flags: Int32Array
  /** Per data chunk: tag slot + 1 of each frame (0 = no tag storage yet). */
  private readonly tagSlotIndex: (Int32Array | undefined)[]
  private readonly tagSlabs: Uint8Array[] = []
  private tagSlotsUsed = 0
  private readonly sharedHandle: SharedMemoryHandle | null = null
  /**
   * [code write epoch, code flush epoch]: a view of two words of the shared flags. A CPU
   * compares them with the values it last saw (a plain read) to learn cheaply whether any
   * frame's decoded code was invalidated since; see markCode.
   */
  readonly codeEpochs: Int32Array
  /** Index of the CODE_EVER_MARKED word in `flags`. */
  private readonly codeMarkedIndex: number
  /** Device frames outside RAM (a BAR mapped with remap_pfn_range): data, never tags. */
  private readonly devices: DeviceFrames[] = []
  /** The WebAssembly.Memory holding data and tags (option `wasmMemory`), or null. */
  readonly wasmMemory: WasmMemory | null
  /**
   * Where unshared memory's chunks and tag slabs come from (see host-reserve.ts): host
   * allocations of this memory's own, which become garbage with it. Null when shared or wasm.
   */
  private readonly hostArenas: HostArenas | null
  /**
   * Unshared memory, per data chunk (made with it): 1 for each frame whose data may not be all
   * zeros, because it was written through this object or handed out as a view (frameData,
   * wasmOffset: a CPU writes through those directly and keeps them). A zero fill skips the
   * other frames: a new chunk is zero, and a host kernel clearing each new anonymous page (most
   * of a guest's first touches) need not write it again. Null for shared memory, which other
   * threads write through views of their own.
   */
  private readonly framesUsed: (Uint8Array | undefined)[] | null
  /** Frames with FRAME_TAG_SUMMARY set: while 0, tag writes skip the per-frame test. */
  private summarisedFrames = 0
  private readonly tagWatchers: TagSummaryWatcher[] = []

  /**
   * With `shared: true` the whole memory is reserved up front as SharedArrayBuffers
   * (data in regions of up to 1 GiB, tags at 1/16, flags): every thread sees the same
   * buffers, and the OS commits their pages on first touch. Unshared memory allocates 2 MiB
   * chunks and per-frame tag storage itself, on first touch.
   */
  constructor(options: PhysicalMemoryOptions, attachTo?: SharedMemoryHandle) {
    const { size, shared = false } = options
    this.wasmMemory = options.wasmMemory ?? null
    if (this.wasmMemory !== null) {
      if (shared) throw new RangeError('wasmMemory and shared cannot be combined')
      if (!(this.wasmMemory.buffer instanceof SharedArrayBuffer)) {
        throw new RangeError('wasmMemory must be a shared WebAssembly.Memory (growing an unshared one detaches its views)')
      }
    }
    if (!Number.isInteger(size) || size <= 0 || size % PAGE_SIZE !== 0 || size > MAX_PHYSICAL_MEMORY) {
      throw new RangeError(`memory size must be a positive multiple of 4 KiB up to 1 TiB, got ${size}`)
    }
    this.size = size
    this.frameCount = size / PAGE_SIZE
    this.shared = shared
    const chunkCount = Math.ceil(size / CHUNK_SIZE)
    this.chunks = new Array<Uint8Array | undefined>(chunkCount).fill(undefined)
    this.views = new Array<DataView | undefined>(chunkCount).fill(undefined)
    this.tagSlotIndex = new Array<Int32Array | undefined>(chunkCount).fill(undefined)
    this.framesUsed = shared ? null : new Array<Uint8Array | undefined>(chunkCount).fill(undefined)
    // One Int32 per frame, plus the shared count of frames with tag storage and the code epochs.
    const flagBytes = (this.frameCount + EXTRA_FLAG_WORDS) * 4
    this.codeMarkedIndex = this.frameCount + CODE_EVER_MARKED
    const slabBytes = TAG_SLOTS_PER_SLAB * TAG_STORAGE_BYTES_PER_PAGE
    // All data chunks and, should every frame get tags, all tag slabs.
    this.hostArenas = shared || this.wasmMemory !== null ? null : new HostArenas(size + Math.ceil(this.frameCount / TAG_SLOTS_PER_SLAB) * slabBytes)
    if (!shared) {
      this.flags = new Int32Array(new ArrayBuffer(flagBytes))
      this.codeEpochs = this.flags.subarray(this.frameCount + CODE_WRITE_EPOCH, this.frameCount + CODE_FLUSH_EPOCH + 1)
      return
    }
    let handle = attachTo
    if (!handle) {
      const dataRegions: SharedArrayBuffer[] = []
      try {
        for (let at = 0; at < size; at += SHARED_REGION_SIZE) {
          dataRegions.push(new SharedArrayBuffer(Math.min(SHARED_REGION_SIZE, size - at)))
        }
        handle = {
          size,
          dataRegions,
          tags: new SharedArrayBuffer(this.frameCount * TAG_STORAGE_BYTES_PER_PAGE),
          flags: new SharedArrayBuffer(flagBytes),
        }
      } catch (err) {
        throw new RangeError(`cannot reserve ${size} bytes of shared memory: ${String(err)}`)
      }
    }
    this.sharedHandle = handle
    this.flags = new Int32Array(handle.flags)
    this.codeEpochs = this.flags.subarray(this.frameCount + CODE_WRITE_EPOCH, this.frameCount + CODE_FLUSH_EPOCH + 1)
    for (let index = 0; index < chunkCount; index++) {
      const at = index * CHUNK_SIZE
      const region = handle.dataRegions[Math.floor(at / SHARED_REGION_SIZE)] as SharedArrayBuffer
      const bytes = new Uint8Array(region, at % SHARED_REGION_SIZE, Math.min(CHUNK_SIZE, size - at))
      this.chunks[index] = bytes
      this.views[index] = new DataView(region, bytes.byteOffset, bytes.length)
    }
    for (let at = 0; at < handle.tags.byteLength; at += slabBytes) {
      this.tagSlabs.push(new Uint8Array(handle.tags, at, Math.min(slabBytes, handle.tags.byteLength - at)))
    }
  }

  /** The buffers behind shared memory, for `PhysicalMemory.attach` in another thread. */
  share(): SharedMemoryHandle {
    if (!this.sharedHandle) throw new RangeError('only memory created with shared: true can be shared')
    return this.sharedHandle
  }

  /** Another thread's view of shared memory: same data, tags and flags. */
  static attach(handle: SharedMemoryHandle): PhysicalMemory {
    const frames = handle.size / PAGE_SIZE
    const regionsBytes = handle.dataRegions.reduce((n, r) => n + r.byteLength, 0)
    if (
      regionsBytes !== handle.size ||
      handle.tags.byteLength !== frames * TAG_STORAGE_BYTES_PER_PAGE ||
      handle.flags.byteLength !== (frames + EXTRA_FLAG_WORDS) * 4
    ) {
      throw new RangeError('shared memory handle does not describe one PhysicalMemory')
    }
    return new PhysicalMemory({ size: handle.size, shared: true }, handle)
  }

  // ---- checks ------------------------------------------------------------------------

  private checkAccess(pa: number, width: number): void {
    // `pa % width === 0` also rejects fractions; comparisons reject NaN.
    if (!(pa >= 0 && pa <= this.size - width && pa % width === 0)) {
      throw new RangeError(
        `physical address ${describe(pa)} is out of range or not ${width}-byte aligned (memory is ${this.size} bytes)`,
      )
    }
  }

  private checkRange(pa: number, length: number): void {
    if (!(Number.isInteger(pa) && Number.isInteger(length) && pa >= 0 && length >= 0 && pa + length <= this.size)) {
      throw new RangeError(
        `physical range ${describe(pa)}+${describe(length)} is not inside memory of ${this.size} bytes`,
      )
    }
  }

  private checkGranuleRange(pa: number, length: number): void {
    this.checkRange(pa, length)
    if (pa % GRANULE_SIZE !== 0 || length % GRANULE_SIZE !== 0) {
      throw new RangeError(`tag range ${describe(pa)}+${describe(length)} is not 16-byte granule aligned`)
    }
  }

  checkPfn(pfn: number): void {
    if (!(Number.isInteger(pfn) && pfn >= 0 && pfn < this.frameCount)) {
      throw new RangeError(`frame number ${describe(pfn)} is not below ${this.frameCount}`)
    }
  }

  // ---- data storage --------------------------------------------------------------------

  private chunk(index: number): Uint8Array {
    const existing = this.chunks[index]
    if (existing) return existing
    const length = Math.min(CHUNK_SIZE, this.size - index * CHUNK_SIZE)
    // Only unshared memory gets here: shared memory's chunks all exist from the start.
    ;(this.framesUsed as (Uint8Array | undefined)[])[index] = new Uint8Array(length / PAGE_SIZE)
    if (this.wasmMemory !== null) {
      const at = growWasmMemory(this.wasmMemory, length)
      const buffer = this.wasmMemory.buffer
      const bytes = new Uint8Array(buffer, at, length)
      this.chunks[index] = bytes
      this.views[index] = new DataView(buffer, at, length)
      return bytes
    }
    const bytes = (this.hostArenas as HostArenas).allocate(length)
    this.chunks[index] = bytes
    this.views[index] = new DataView(bytes.buffer, bytes.byteOffset, bytes.length)
    return bytes
  }

  private view(index: number): DataView {
    const existing = this.views[index]
    if (existing) return existing
    this.chunk(index)
    return this.views[index] as DataView
  }

  /** Bytes of data storage allocated so far (whole chunks). */
  get allocatedDataBytes(): number {
    let total = 0
    if (this.shared) return this.size // reserved; the OS commits pages as they are touched
    for (const c of this.chunks) if (c) total += c.length
    return total
  }

  /** Bytes of tag storage allocated so far (slabs of tags plus per-chunk slot indexes). */
  get allocatedTagBytes(): number {
    if (this.shared) return this.framesWithTagStorage * TAG_STORAGE_BYTES_PER_PAGE
    let total = 0
    for (const s of this.tagSlabs) total += s.length
    for (const i of this.tagSlotIndex) if (i) total += i.byteLength
    return total
  }

  /**
   * Bytes of host memory this memory holds for its chunks and tag slabs (unshared, without
   * wasmMemory; else 0): the host arenas it took, which no other memory uses and which become
   * garbage with it. That is what it allocated, less than 2 MiB more per arena (room for tag
   * slabs), and the uncut rest of its newest arena, which is at most as large as all before it
   * and at most HOST_ARENA_SIZE (see host-reserve.ts). The OS backs only the pages touched.
   */
  get hostArenaBytes(): number {
    return this.hostArenas?.heldBytes ?? 0
  }

  /**
   * Takes host arenas from `supply` (another thread backing them ahead: see HostArenaSupply)
   * before making fresh ones, until called again with null. Returns false, and does nothing, for
   * memory that takes no host arenas (shared or wasmMemory: its buffers exist from the start).
   */
  supplyHostArenas(supply: HostArenaSupply | null): boolean {
    if (this.hostArenas === null) return false
    this.hostArenas.supply = supply
    return true
  }

  /** Frames whose tag storage exists (tags were written or the frame was marked tagged). */
  get framesWithTagStorage(): number {
    return this.shared ? Atomics.load(this.flags, this.frameCount + TAG_STORAGE_COUNT) : this.tagSlotsUsed
  }

  frameData(pfn: number): FrameData {
    if (pfn >= this.frameCount) {
      const device = this.deviceOf(pfn)
      if (device) return device.frameData(pfn)
    }
    this.checkPfn(pfn)
    const index = pfn >>> FRAMES_PER_CHUNK_SHIFT
    const bytes = this.chunk(index)
    this.markUsed(pfn * PAGE_SIZE, 1)
    return { bytes, view: this.view(index), offset: (pfn & FRAME_IN_CHUNK_MASK) << PAGE_SHIFT }
  }

  read8(pa: number): number {
    this.checkAccess(pa, 1)
    const index = Math.floor(pa / CHUNK_SIZE)
    const bytes = this.chunks[index]
    return bytes ? (bytes[pa - index * CHUNK_SIZE] as number) : 0
  }

  read16(pa: number): number {
    this.checkAccess(pa, 2)
    const index = Math.floor(pa / CHUNK_SIZE)
    const view = this.views[index]
    return view ? view.getUint16(pa - index * CHUNK_SIZE, true) : 0
  }

  read32(pa: number): number {
    this.checkAccess(pa, 4)
    const index = Math.floor(pa / CHUNK_SIZE)
    const view = this.views[index]
    return view ? view.getUint32(pa - index * CHUNK_SIZE, true) : 0
  }

  write8(pa: number, value: number): void {
    this.checkAccess(pa, 1)
    checkValue(value, 0xff)
    const index = Math.floor(pa / CHUNK_SIZE)
    this.chunk(index)[pa - index * CHUNK_SIZE] = value
    this.markUsed(pa, 1)
    this.noteWrite(pa)
  }

  write16(pa: number, value: number): void {
    this.checkAccess(pa, 2)
    checkValue(value, 0xffff)
    const index = Math.floor(pa / CHUNK_SIZE)
    this.view(index).setUint16(pa - index * CHUNK_SIZE, value, true)
    this.markUsed(pa, 1)
    this.noteWrite(pa)
  }

  write32(pa: number, value: number): void {
    this.checkAccess(pa, 4)
    checkValue(value, 0xffffffff)
    const index = Math.floor(pa / CHUNK_SIZE)
    this.view(index).setUint32(pa - index * CHUNK_SIZE, value, true)
    this.markUsed(pa, 1)
    this.noteWrite(pa)
  }

  /** Copies `dst.length` bytes starting at `pa` into `dst`. Untouched memory reads as zero. */
  readBytes(pa: number, dst: Uint8Array): void {
    if (pa >= this.size && this.deviceRange(pa, dst.length, (bytes, at) => dst.set(bytes.subarray(at, at + dst.length)))) return
    this.checkRange(pa, dst.length)
    let done = 0
    while (done < dst.length) {
      const at = pa + done
      const index = Math.floor(at / CHUNK_SIZE)
      const offset = at - index * CHUNK_SIZE
      const n = Math.min(dst.length - done, CHUNK_SIZE - offset)
      const bytes = this.chunks[index]
      if (bytes) dst.set(bytes.subarray(offset, offset + n), done)
      else dst.fill(0, done, done + n)
      done += n
    }
  }

  writeBytes(pa: number, src: Uint8Array): void {
    if (pa >= this.size && this.deviceRange(pa, src.length, (bytes, at) => bytes.set(src, at))) return
    this.checkRange(pa, src.length)
    let done = 0
    while (done < src.length) {
      const at = pa + done
      const index = Math.floor(at / CHUNK_SIZE)
      const offset = at - index * CHUNK_SIZE
      const n = Math.min(src.length - done, CHUNK_SIZE - offset)
      this.chunk(index).set(src.subarray(done, done + n), offset)
      done += n
    }
    this.markUsed(pa, src.length)
    this.noteRangeWrite(pa, src.length)
  }

  /** Sets `length` bytes from `pa` to `byte`. Filling untouched memory with 0 allocates nothing. */
  fill(pa: number, length: number, byte: number): void {
    this.checkRange(pa, length)
    if (!(Number.isInteger(byte) && byte >= 0 && byte <= 0xff)) throw new RangeError(`fill byte ${byte} is not 0..255`)
    let done = 0
    while (done < length) {
      const at = pa + done
      const index = Math.floor(at / CHUNK_SIZE)
      const offset = at - index * CHUNK_SIZE
      const n = Math.min(length - done, CHUNK_SIZE - offset)
      const bytes = this.chunks[index]
      if (byte !== 0) fillBytes(this.chunk(index), byte, offset, offset + n)
      else if (bytes) this.zeroUsedFrames(index, bytes, offset, offset + n)
      done += n
    }
    if (byte !== 0) this.markUsed(pa, length)
    this.noteRangeWrite(pa, length)
  }

  /** Copies one frame's data to another (COW break, migration). Tags are not touched. */
  copyFrame(srcPfn: number, dstPfn: number): void {
    this.checkPfn(srcPfn)
    this.checkPfn(dstPfn)
    if (srcPfn === dstPfn) return
    const srcIndex = srcPfn >>> FRAMES_PER_CHUNK_SHIFT
    const dstIndex = dstPfn >>> FRAMES_PER_CHUNK_SHIFT
    const dstOffset = (dstPfn & FRAME_IN_CHUNK_MASK) << PAGE_SHIFT
    const src = this.chunks[srcIndex]
    if (src) {
      const srcOffset = (srcPfn & FRAME_IN_CHUNK_MASK) << PAGE_SHIFT
      this.chunk(dstIndex).set(src.subarray(srcOffset, srcOffset + PAGE_SIZE), dstOffset)
      this.markUsed(dstPfn * PAGE_SIZE, 1)
    } else {
      const dst = this.chunks[dstIndex]
      if (dst) this.zeroUsedFrames(dstIndex, dst, dstOffset, dstOffset + PAGE_SIZE)
    }
    this.noteWrite(dstPfn * PAGE_SIZE)
  }

  /** Notes that the frames of [pa, pa+length) may hold data other than zeros (see framesUsed). */
  private markUsed(pa: number, length: number): void {
    const used = this.framesUsed
    if (used === null) return
    const last = Math.floor((pa + length - 1) / PAGE_SIZE)
    for (let pfn = Math.floor(pa / PAGE_SIZE); pfn <= last; pfn++) {
      const marks = used[pfn >>> FRAMES_PER_CHUNK_SHIFT]
      if (marks) marks[pfn & FRAME_IN_CHUNK_MASK] = 1
    }
  }

  /** Zeros [from, to) of chunk `index`, leaving out frames that hold nothing but zeros yet. */
  private zeroUsedFrames(index: number, bytes: Uint8Array, from: number, to: number): void {
    const marks = this.framesUsed?.[index]
    if (!marks) {
      fillBytes(bytes, 0, from, to)
      return
    }
    // Runs of used frames, one fill each.
    let at = from
    while (at < to) {
      const frame = at >>> PAGE_SHIFT
      const frameEnd = Math.min(to, (frame + 1) << PAGE_SHIFT)
      if (marks[frame] === 0) {
        at = frameEnd
        continue
      }
      let end = frameEnd
      while (end < to && marks[end >>> PAGE_SHIFT] !== 0) end = Math.min(to, end + PAGE_SIZE)
      fillBytes(bytes, 0, at, end)
      at = end
    }
  }

  // ---- allocation tags -------------------------------------------------------------------

  /** Slot + 1 of the frame's tag storage, or 0. */
  private tagSlot(pfn: number): number {
    // Shared memory has a fixed slot per frame, in use once FRAME_HAS_TAGS is set.
    if (this.shared) return Atomics.load(this.flags, pfn) & FRAME_HAS_TAGS ? pfn + 1 : 0
    const index = this.tagSlotIndex[pfn >>> FRAMES_PER_CHUNK_SHIFT]
    return index ? (index[pfn & FRAME_IN_CHUNK_MASK] as number) : 0
  }

  private allocateTagSlot(pfn: number): number {
    if (this.shared) {
      const old = Atomics.or(this.flags, pfn, FRAME_HAS_TAGS)
      if (!(old & FRAME_HAS_TAGS)) Atomics.add(this.flags, this.frameCount + TAG_STORAGE_COUNT, 1)
      return pfn + 1
    }
    const chunkIndex = pfn >>> FRAMES_PER_CHUNK_SHIFT
    let index = this.tagSlotIndex[chunkIndex]
    if (!index) {
      index = new Int32Array(FRAMES_PER_CHUNK)
      this.tagSlotIndex[chunkIndex] = index
    }
    const existing = index[pfn & FRAME_IN_CHUNK_MASK] as number
    if (existing !== 0) return existing
    const slot = this.tagSlotsUsed++
    if (slot >>> TAG_SLAB_SHIFT >= this.tagSlabs.length) {
      const bytes = TAG_SLOTS_PER_SLAB * TAG_STORAGE_BYTES_PER_PAGE
      const wasm = this.wasmMemory
      if (wasm === null) this.tagSlabs.push((this.hostArenas as HostArenas).allocate(bytes))
      else {
        const at = growWasmMemory(wasm, bytes) // before reading buffer: grow makes a longer one
        this.tagSlabs.push(new Uint8Array(wasm.buffer, at, bytes))
      }
    }
    index[pfn & FRAME_IN_CHUNK_MASK] = slot + 1
    return slot + 1
  }

  private slabOf(slotPlusOne: number): Uint8Array {
    return this.tagSlabs[(slotPlusOne - 1) >>> TAG_SLAB_SHIFT] as Uint8Array
  }

  private static slotOffset(slotPlusOne: number): number {
    return ((slotPlusOne - 1) & (TAG_SLOTS_PER_SLAB - 1)) * TAG_STORAGE_BYTES_PER_PAGE
  }

  /**
   * The frame's tag storage (a byte per granule), or null when it has none and `allocate` is
   * false (every tag of such a frame reads 0).
   */
  frameTags(pfn: number, allocate: boolean): FrameTags | null {
    // Device memory has no tag storage: every tag reads 0 and none can be stored.
    if (pfn >= this.frameCount && this.deviceOf(pfn) && !allocate) return null
    this.checkPfn(pfn)
    let slot = this.tagSlot(pfn)
    if (slot === 0) {
      if (!allocate) return null
      slot = this.allocateTagSlot(pfn)
    }
    return { tags: this.slabOf(slot), offset: PhysicalMemory.slotOffset(slot) }
  }

  /**
   * With `wasmMemory`: the byte offset in it of the frame's data (allocating the frame's
   * chunk), or of its tags when `tags` is set (allocating tag storage; granule g's tag is the
   * byte at that offset + g, and the offset is a multiple of 256). -1 for a frame outside RAM
   * or without the option.
   */
  wasmOffset(pfn: number, tags = false): number {
    if (this.wasmMemory === null || !(Number.isInteger(pfn) && pfn >= 0 && pfn < this.frameCount)) return -1
    if (tags) {
      const t = this.frameTags(pfn, true) as FrameTags
      return t.tags.byteOffset + t.offset
    }
    const data = this.frameData(pfn)
    return data.bytes.byteOffset + data.offset
  }

  /** The allocation tag of the granule holding byte `pa`. */
  getTag(pa: number): number {
    this.checkAccess(pa, 1)
    const pfn = Math.floor(pa / PAGE_SIZE)
    const slot = this.tagSlot(pfn)
    if (slot === 0) return 0
    return this.slabOf(slot)[PhysicalMemory.slotOffset(slot) + ((pa - pfn * PAGE_SIZE) >>> GRANULE_SHIFT)] as number
  }

  /** Sets the allocation tag of the granule holding byte `pa`. */
  setTag(pa: number, tag: number): void {
    this.checkAccess(pa, 1)
    checkTag(tag)
    const pfn = Math.floor(pa / PAGE_SIZE)
    let slot = this.tagSlot(pfn)
    if (slot === 0) {
      if (tag === 0) return
      slot = this.allocateTagSlot(pfn)
    }
    this.slabOf(slot)[PhysicalMemory.slotOffset(slot) + ((pa - pfn * PAGE_SIZE) >>> GRANULE_SHIFT)] = tag
    this.noteTagWrite(pfn)
  }

  /** Sets the tags of every granule in [pa, pa+length); both must be granule aligned. */
  setTags(pa: number, length: number, tag: number): void {
    this.checkGranuleRange(pa, length)
    checkTag(tag)
    this.forEachFrameSpan(pa, length, (pfn, firstGranule, granules) => {
      let slot = this.tagSlot(pfn)
      if (slot === 0) {
        if (tag === 0) return
        slot = this.allocateTagSlot(pfn)
      }
      this.noteTagWrite(pfn)
      const base = PhysicalMemory.slotOffset(slot) + firstGranule
      fillBytes(this.slabOf(slot), tag, base, base + granules)
    })
  }

  /** Zeroes every tag of the frame (allocates nothing if it has no tag storage). */
  clearFrameTags(pfn: number): void {
    this.checkPfn(pfn)
    const slot = this.tagSlot(pfn)
    if (slot === 0) return
    const offset = PhysicalMemory.slotOffset(slot)
    fillBytes(this.slabOf(slot), 0, offset, offset + TAG_STORAGE_BYTES_PER_PAGE)
    this.noteTagWrite(pfn)
  }

  /** Copies one frame's tags to another (what copy_highpage does for a tagged source). */
  copyFrameTags(srcPfn: number, dstPfn: number): void {
    this.checkPfn(srcPfn)
    this.checkPfn(dstPfn)
    if (srcPfn === dstPfn) return
    const srcSlot = this.tagSlot(srcPfn)
    if (srcSlot === 0) {
      this.clearFrameTags(dstPfn)
      return
    }
    const dstSlot = this.tagSlot(dstPfn) || this.allocateTagSlot(dstPfn)
    this.noteTagWrite(dstPfn)
    const srcOffset = PhysicalMemory.slotOffset(srcSlot)
    this.slabOf(dstSlot).set(
      this.slabOf(srcSlot).subarray(srcOffset, srcOffset + TAG_STORAGE_BYTES_PER_PAGE),
      PhysicalMemory.slotOffset(dstSlot),
    )
  }

  /**
   * Copies the tags of [pa, pa+length) out, one tag per byte in the low nibble (the
   * KVM_ARM_MTE_COPY_TAGS / PTRACE_PEEKMTETAGS layout): length/16 bytes from dstOffset.
   */
  copyTagsOut(pa: number, length: number, dst: Uint8Array, dstOffset = 0): void {
    this.checkGranuleRange(pa, length)
    checkBuffer(dst, dstOffset, length / GRANULE_SIZE)
    let out = dstOffset
    this.forEachFrameSpan(pa, length, (pfn, firstGranule, granules) => {
      const slot = this.tagSlot(pfn)
      if (slot === 0) dst.fill(0, out, out + granules)
      else {
        const from = PhysicalMemory.slotOffset(slot) + firstGranule
        dst.set(this.slabOf(slot).subarray(from, from + granules), out)
      }
      out += granules
    })
  }

  /**
   * Sets the tags of [pa, pa+length) from one-tag-per-byte `src` (length/16 bytes from
   * srcOffset). Any byte above 15 rejects the whole call before anything changes.
   */
  copyTagsIn(pa: number, length: number, src: Uint8Array, srcOffset = 0): void {
    this.checkGranuleRange(pa, length)
    const count = length / GRANULE_SIZE
    checkBuffer(src, srcOffset, count)
    checkTagBytes('copyTagsIn', src, srcOffset, srcOffset + count)
    let input = srcOffset
    this.forEachFrameSpan(pa, length, (pfn, firstGranule, granules) => {
      let slot = this.tagSlot(pfn)
      if (slot === 0) {
        if (allZero(src, input, input + granules)) {
          input += granules
          return
        }
        slot = this.allocateTagSlot(pfn)
      }
      this.noteTagWrite(pfn)
      this.slabOf(slot).set(src.subarray(input, input + granules), PhysicalMemory.slotOffset(slot) + firstGranule)
      input += granules
    })
  }

  /** Calls `span` for each frame in a granule-aligned range with its granule sub-range. */
  private forEachFrameSpan(
    pa: number,
    length: number,
    span: (pfn: number, firstGranule: number, granules: number) => void,
  ): void {
    let at = pa
    const end = pa + length
    while (at < end) {
      const pfn = Math.floor(at / PAGE_SIZE)
      const frameStart = pfn * PAGE_SIZE
      const stop = Math.min(end, frameStart + PAGE_SIZE)
      span(pfn, (at - frameStart) >>> GRANULE_SHIFT, (stop - at) >>> GRANULE_SHIFT)
      at = stop
    }
  }

  // ---- bulk access over lists of frames ------------------------------------------------

  /**
   * Checks `count` frame numbers `pfns[from, from+count)` and a buffer of `unit` bytes per
   * frame at `offset`, before a bulk call changes anything. `device` says whether device frames
   * are accepted (they have data, never tags).
   */
  private checkFrameList(what: string, pfns: ArrayLike<number>, from: number, count: number, buffer: Uint8Array, offset: number, unit: number, device: boolean): void {
    if (!(Number.isInteger(from) && Number.isInteger(count) && from >= 0 && count >= 0 && from + count <= pfns.length)) {
      throw new RangeError(`${what}: frames [${describe(from)}, +${describe(count)}) are not inside a list of ${pfns.length}`)
    }
    if (!(Number.isInteger(offset) && offset >= 0 && offset + count * unit <= buffer.length)) {
      throw new RangeError(`${what}: a buffer of ${buffer.length} bytes cannot hold ${count} frames of ${unit} bytes at offset ${offset}`)
    }
    for (let i = from; i < from + count; i++) {
      const pfn = pfns[i] as number
      if (device && pfn >= this.frameCount && this.deviceOf(pfn)) continue
      if (!(Number.isInteger(pfn) && pfn >= 0 && pfn < this.frameCount)) {
        throw new RangeError(`${what}: frame ${describe(pfn)} (entry ${i}) is not a frame of RAM (${this.frameCount} frames)${device ? ' or of a device' : ''}`)
      }
    }
  }

  /**
   * Copies whole frames `pfns[from, from+count)` into `dst` from `dstOffset`, 4 KiB each, in
   * list order: one copy per run of consecutive frames (what a VMM's read of a guest range
   * costs once its pages are resolved). Device frames read their data. Every frame number
   * and the buffer are checked before anything is copied.
   */
  readFrames(pfns: ArrayLike<number>, from: number, count: number, dst: Uint8Array, dstOffset = 0): void {
    this.checkFrameList('readFrames', pfns, from, count, dst, dstOffset, PAGE_SIZE, true)
    this.forEachFrameRun(pfns, from, count, (pa, at, length) => this.readBytes(pa, dst.subarray(dstOffset + at, dstOffset + at + length)))
  }

  /**
   * Copies `src` from `srcOffset` over whole frames `pfns[from, from+count)`, 4 KiB each, in
   * list order, one copy per run of consecutive frames; writes drop decoded code as any write
   * does. Every frame number and the buffer are checked before anything is written.
   */
  writeFrames(pfns: ArrayLike<number>, from: number, count: number, src: Uint8Array, srcOffset = 0): void {
    this.checkFrameList('writeFrames', pfns, from, count, src, srcOffset, PAGE_SIZE, true)
    this.forEachFrameRun(pfns, from, count, (pa, at, length) => this.writeBytes(pa, src.subarray(srcOffset + at, srcOffset + at + length)))
  }

  /** Calls `run` with (physical address, buffer offset, bytes) for each run of consecutive frames. */
  private forEachFrameRun(pfns: ArrayLike<number>, from: number, count: number, run: (pa: number, at: number, length: number) => void): void {
    for (let i = 0; i < count; ) {
      const first = pfns[from + i] as number
      let n = 1
      while (i + n < count && pfns[from + i + n] === first + n) n++
      run(first * PAGE_SIZE, i * PAGE_SIZE, n * PAGE_SIZE)
      i += n
    }
  }

  /**
   * The tags of whole frames `pfns[from, from+count)`, one tag per byte in the low nibble
   * (256 bytes per frame, the KVM_ARM_MTE_COPY_TAGS layout) into `dst` from `dstOffset`: a
   * frame whose tags are valid (`tagged`) gives them, any other frame (never tagged, or a
   * device frame) gives zeros, whatever stale tags its storage holds. Everything is checked
   * before anything is written.
   */
  readFrameTags(pfns: ArrayLike<number>, from: number, count: number, dst: Uint8Array, dstOffset = 0): void {
    this.checkFrameList('readFrameTags', pfns, from, count, dst, dstOffset, GRANULES_PER_PAGE, true)
    for (let i = 0; i < count; i++) {
      const pfn = pfns[from + i] as number
      const out = dstOffset + i * GRANULES_PER_PAGE
      const slot = pfn < this.frameCount && (Atomics.load(this.flags, pfn) & FRAME_TAGGED) !== 0 ? this.tagSlot(pfn) : 0
      if (slot === 0) dst.fill(0, out, out + GRANULES_PER_PAGE)
      else {
        const base = PhysicalMemory.slotOffset(slot)
        dst.set(this.slabOf(slot).subarray(base, base + GRANULES_PER_PAGE), out)
      }
    }
  }

  /**
   * Sets every tag of whole frames `pfns[from, from+count)` from one-tag-per-byte `src` (256
   * bytes per frame from `srcOffset`) and marks each frame tagged, taking its tag lock as a
   * tag initialiser does (so a frame being initialised elsewhere ends up with these tags and
   * valid). Any byte above 15, a frame outside RAM (device frames hold no tags) or a short
   * buffer refuses the whole call before anything changes.
   */
  writeFrameTags(pfns: ArrayLike<number>, from: number, count: number, src: Uint8Array, srcOffset = 0): void {
    this.checkFrameList('writeFrameTags', pfns, from, count, src, srcOffset, GRANULES_PER_PAGE, false)
    checkTagBytes('writeFrameTags', src, srcOffset, srcOffset + count * GRANULES_PER_PAGE)
    for (let i = 0; i < count; i++) {
      const pfn = pfns[from + i] as number
      this.tryLockTags(pfn)
      const slot = this.tagSlot(pfn) || this.allocateTagSlot(pfn)
      this.noteTagWrite(pfn)
      const input = srcOffset + i * GRANULES_PER_PAGE
      this.slabOf(slot).set(src.subarray(input, input + GRANULES_PER_PAGE), PhysicalMemory.slotOffset(slot))
      this.setTagged(pfn)
    }
  }

  // ---- per-frame kernel flags ----------------------------------------------------------

  /** PG_mte_tagged: the frame's tags hold valid values. */
  isTagged(pfn: number): boolean {
    this.checkPfn(pfn)
    return (Atomics.load(this.flags, pfn) & FRAME_TAGGED) !== 0
  }

  /**
   * Takes the frame's tag-initialisation lock (like try_page_mte_tagging): true if this
   * caller must now initialise the tags and call `setTagged`; false if the frame is already
   * tagged or another caller holds the lock (then `waitTagged`).
   */
  tryLockTags(pfn: number): boolean {
    this.checkPfn(pfn)
    for (;;) {
      const old = Atomics.load(this.flags, pfn)
      if (old & (FRAME_TAGGED | FRAME_TAG_LOCK)) return false
      if (Atomics.compareExchange(this.flags, pfn, old, old | FRAME_TAG_LOCK) === old) return true
    }
  }

  /**
   * Publishes the frame's tags as valid and drops the init lock in one atomic step (so a
   * waiter that sees `tagged` also sees the tags). Gives the frame tag storage.
   */
  setTagged(pfn: number): void {
    this.checkPfn(pfn)
    this.allocateTagSlot(pfn)
    for (;;) {
      const old = Atomics.load(this.flags, pfn)
      const next = (old | FRAME_TAGGED) & ~FRAME_TAG_LOCK
      if (Atomics.compareExchange(this.flags, pfn, old, next) === old) break
    }
    if (this.shared) Atomics.notify(this.flags, pfn)
  }

  /**
   * Waits until another caller has finished initialising the frame's tags. With shared
   * memory this blocks on Atomics.wait; single-threaded, a frame that is locked but not
   * tagged can never become tagged, so that is reported as a programming error.
   */
  waitTagged(pfn: number): void {
    this.checkPfn(pfn)
    for (;;) {
      const value = Atomics.load(this.flags, pfn)
      if (value & FRAME_TAGGED) return
      if (!this.shared) {
        throw new RangeError(
          `frame ${pfn} is not tagged${value & FRAME_TAG_LOCK ? ' and its tag lock is held' : ''}; single-threaded memory cannot wait for it`,
        )
      }
      Atomics.wait(this.flags, pfn, value)
    }
  }

  /**
   * Makes the frame's tags valid exactly once: if it is not tagged, the caller that wins the
   * lock zeroes the tags and marks it tagged (true); everyone else sees false.
   */
  ensureTagsInitialised(pfn: number): boolean {
    if (this.isTagged(pfn)) return false
    if (this.tryLockTags(pfn)) {
      this.clearFrameTags(pfn)
      this.setTagged(pfn)
      return true
    }
    this.waitTagged(pfn)
    return false
  }

  /**
   * Forgets the frame's `tagged` flag, as the page allocator does when a page is freed. The
   * tags themselves stay in the frame (stale), as they do in hardware.
   */
  resetTagFlags(pfn: number): void {
    this.checkPfn(pfn)
    const value = Atomics.load(this.flags, pfn)
    if (value & FRAME_TAG_LOCK) throw new RangeError(`frame ${pfn} is being tag-initialised; cannot reset its flags`)
    Atomics.and(this.flags, pfn, ~FRAME_TAGGED)
  }

  // ---- tag summaries (a compiled tier's uniform-tag TLB entries) ------------------------

  /**
   * The one tag every granule of the frame holds (a frame without tag storage: 0), or -1
   * when they differ. For shared memory always -1: another thread's tag write could not be
   * told to this thread's CPUs in time, so nothing may rely on it.
   */
  uniformTag(pfn: number): number {
    this.checkPfn(pfn)
    if (this.shared) return -1
    const slot = this.tagSlot(pfn)
    if (slot === 0) return 0
    const tags = this.slabOf(slot)
    const base = PhysicalMemory.slotOffset(slot)
    const first = tags[base] as number
    for (let b = base + 1; b < base + TAG_STORAGE_BYTES_PER_PAGE; b++) if (tags[b] !== first) return -1
    return first
  }

  /**
   * Marks a frame whose tags are all one value (uniformTag) as relied on: the next write of
   * any of its tags, through this object's methods or reported with noteTagWrite, removes
   * the mark and tells every watcher (dropped). A newly marked frame is announced first
   * (summarised), so a CPU can stop writing its tags behind the memory's back. Unshared
   * memory only.
   */
  markTagSummary(pfn: number): void {
    this.checkPfn(pfn)
    if (this.shared) throw new RangeError('tag summaries need unshared memory (no other thread writes tags)')
    const old = this.flags[pfn] as number
    if (old & FRAME_TAG_SUMMARY) return
    this.flags[pfn] = old | FRAME_TAG_SUMMARY
    this.summarisedFrames++
    for (const watcher of this.tagWatchers) watcher.summarised(pfn)
  }

  /** Whether the frame is marked (markTagSummary) and its tags not written since. */
  hasTagSummary(pfn: number): boolean {
    this.checkPfn(pfn)
    return ((this.flags[pfn] as number) & FRAME_TAG_SUMMARY) !== 0
  }

  /** Adds a watcher of tag summaries (a CPU's compiled tier, for as long as the memory lives). */
  watchTagSummaries(watcher: TagSummaryWatcher): void {
    this.tagWatchers.push(watcher)
  }

  /**
   * Some of the frame's tags were written (or are about to be, in the same synchronous step):
   * called by this object's tag writers and by whoever writes tags through frameTags' view
   * (a CPU's tag stores, swap-in).
   */
  noteTagWrite(pfn: number): void {
    if (this.summarisedFrames === 0) return
    const old = this.flags[pfn] as number
    if ((old & FRAME_TAG_SUMMARY) === 0) return
    this.flags[pfn] = old & ~FRAME_TAG_SUMMARY
    this.summarisedFrames--
    for (const watcher of this.tagWatchers) watcher.dropped(pfn)
  }

  // ---- device memory ---------------------------------------------------------------------

  /**
   * Gives the frames [basePfn, basePfn+count) outside RAM data storage (zeroed, made on
   * first touch): device memory such as a PCI BAR that a VMM maps with VM_PFNMAP and a guest
   * reaches through stage 2 as Device memory. frameData, readBytes and writeBytes serve
   * them; they never have tags (frameTags is null) and are never code.
   */
  addDeviceFrames(basePfn: number, count: number): void {
    if (!(Number.isInteger(basePfn) && Number.isInteger(count) && count > 0 && basePfn >= this.frameCount && basePfn + count <= 2 ** 36)) {
      throw new RangeError(`device frames ${describe(basePfn)}+${describe(count)} must be outside RAM (${this.frameCount} frames)`)
    }
    if (this.devices.some((d) => basePfn < d.basePfn + d.count && d.basePfn < basePfn + count)) {
      throw new RangeError(`device frames ${describe(basePfn)}+${describe(count)} overlap another device range`)
    }
    this.devices.push(new DeviceFrames(basePfn, count, this.shared))
  }

  /** Whether `pfn` is a device frame (addDeviceFrames). */
  isDeviceFrame(pfn: number): boolean {
    return this.deviceOf(pfn) !== undefined
  }

  private deviceOf(pfn: number): DeviceFrames | undefined {
    return this.devices.find((d) => pfn >= d.basePfn && pfn < d.basePfn + d.count)
  }

  /** Runs `access` on device bytes when [pa, pa+length) lies in one device range; false if it does not. */
  private deviceRange(pa: number, length: number, access: (bytes: Uint8Array, at: number) => void): boolean {
    if (!(Number.isInteger(pa) && Number.isInteger(length) && length >= 0)) return false
    const device = this.deviceOf(Math.floor(pa / PAGE_SIZE))
    if (!device || pa + length > (device.basePfn + device.count) * PAGE_SIZE) return false
    access(device.bytes(), pa - device.basePfn * PAGE_SIZE)
    return true
  }

  // ---- decoded code (the CPUs' instruction caches) ------------------------------------

  /**
   * A CPU is about to decode instructions from the frame: marks it as holding code and
   * returns its code generation. Every write to a marked frame through this object's
   * methods (the host kernel, a VMM's mapping, DMA) or reported by a CPU
   * (invalidateCodeFrame) clears the mark and bumps the generation and the code write
   * epoch, so each CPU drops its decoded copy before it next synchronises (codeEpochs).
   * Tag writes are not code writes.
   */
  markCode(pfn: number): number {
    this.checkPfn(pfn)
    if (this.flags[this.codeMarkedIndex] === 0) Atomics.store(this.flags, this.codeMarkedIndex, 1)
    return Atomics.or(this.flags, pfn, FRAME_CODE) >>> CODE_GEN_SHIFT
  }

  /** The frame's code generation (changes whenever its decoded code is invalidated). */
  codeGeneration(pfn: number): number {
    this.checkPfn(pfn)
    return Atomics.load(this.flags, pfn) >>> CODE_GEN_SHIFT
  }

  /** Whether some CPU may hold decoded code from the frame (marked and not written since). */
  holdsCode(pfn: number): boolean {
    this.checkPfn(pfn)
    return (Atomics.load(this.flags, pfn) & FRAME_CODE) !== 0
  }

  /**
   * The frame was written (by a CPU store, or IC IVAU names it): if it is marked as code,
   * invalidates every CPU's decoded copy. Returns the code write epoch this moved from, or
   * -1 when the frame held no code.
   */
  invalidateCodeFrame(pfn: number): number {
    this.checkPfn(pfn)
    for (;;) {
      const old = Atomics.load(this.flags, pfn)
      if ((old & FRAME_CODE) === 0) return -1
      if (Atomics.compareExchange(this.flags, pfn, old, (old & ~FRAME_CODE) + CODE_GEN_ONE) === old) break
    }
    return Atomics.add(this.flags, this.frameCount + CODE_WRITE_EPOCH, 1)
  }

  /** IC IALLUIS: every CPU drops all its decoded code. */
  invalidateAllCode(): void {
    Atomics.add(this.flags, this.frameCount + CODE_FLUSH_EPOCH, 1)
  }

  /** A write through this object hit the frame holding `pa`. */
  private noteWrite(pa: number): void {
    // Plain reads: with no code anywhere (a host without CPUs running) one load and a test;
    // else one more for the frame.
    if (this.flags[this.codeMarkedIndex] === 0) return
    const pfn = Math.floor(pa / PAGE_SIZE)
    if (((this.flags[pfn] as number) & FRAME_CODE) !== 0) this.invalidateCodeFrame(pfn)
  }

  private noteRangeWrite(pa: number, length: number): void {
    if (length === 0 || this.flags[this.codeMarkedIndex] === 0) return
    const last = Math.floor((pa + length - 1) / PAGE_SIZE)
    for (let pfn = Math.floor(pa / PAGE_SIZE); pfn <= last; pfn++) this.noteWrite(pfn * PAGE_SIZE)
  }
}

/** One device range's bytes, allocated on first touch. */
class DeviceFrames {
  private data: Uint8Array | null = null
  private view: DataView | null = null

  constructor(
    readonly basePfn: number,
    readonly count: number,
    private readonly shared: boolean,
  ) {}

  bytes(): Uint8Array {
    if (this.data === null) {
      const length = this.count * PAGE_SIZE
      this.data = new Uint8Array(this.shared ? new SharedArrayBuffer(length) : new ArrayBuffer(length))
      this.view = new DataView(this.data.buffer)
    }
    return this.data
  }

  frameData(pfn: number): FrameData {
    const bytes = this.bytes()
    return { bytes, view: this.view as DataView, offset: (pfn - this.basePfn) * PAGE_SIZE }
  }
}

const LITTLE_ENDIAN = new Uint8Array(Uint16Array.of(1).buffer)[0] === 1
const SHARED_BUFFER = typeof SharedArrayBuffer === 'function' ? SharedArrayBuffer : null
const ZEROS = new Uint8Array(64 * 1024)

/**
 * bytes.fill(byte, from, to), but zeroes on a SharedArrayBuffer (shared memory, or host arenas
 * made so: useSharedHostArenas) are copied from a zero buffer: V8 fills a SharedArrayBuffer's
 * view about 20 times slower than it copies into one (3.3 against 65 GB/s on this host).
 */
function fillBytes(bytes: Uint8Array, byte: number, from: number, to: number): void {
  if (byte !== 0 || SHARED_BUFFER === null || !(bytes.buffer instanceof SHARED_BUFFER)) {
    bytes.fill(byte, from, to)
    return
  }
  for (let at = from; at < to; at += ZEROS.length) bytes.set(to - at < ZEROS.length ? ZEROS.subarray(0, to - at) : ZEROS, at)
}

/**
 * Refuses (RangeError naming the first) any byte of src[from, to) above 15, before a caller
 * stores them as tags: four bytes a test where the buffer is aligned (a restore's or a
 * migration's bulk path checks a frame's 256 tags per call).
 */
function checkTagBytes(what: string, src: Uint8Array, from: number, to: number): void {
  let i = from
  const at = src.byteOffset + from
  if (LITTLE_ENDIAN && (at & 3) === 0 && to - from >= 4) {
    const words = new Uint32Array(src.buffer, at, (to - from) >>> 2)
    let w = 0
    while (w < words.length && ((words[w] as number) & 0xf0f0_f0f0) === 0) w++
    i = from + 4 * w
  }
  while (i < to && (src[i] as number) <= MAX_TAG) i++
  if (i < to) throw new RangeError(`${what}: tag byte ${i} is ${src[i]}; tags are 0..15 in the low nibble`)
}


function allZero(bytes: Uint8Array, from: number, to: number): boolean {
  for (let i = from; i < to; i++) if (bytes[i] !== 0) return false
  return true
}

/**
 * A value written must fit the width, as unsigned or as two's complement (callers holding
 * int32 register halves need not convert): -(max+1)/2 .. max.
 */
function checkValue(value: number, max: number): void {
  if (!(Number.isInteger(value) && value >= -(max + 1) / 2 && value <= max)) {
    throw new RangeError(`value ${value} does not fit in ${Math.log2(max + 1)} bits`)
  }
}

function checkBuffer(buffer: Uint8Array, offset: number, count: number): void {
  if (!(Number.isInteger(offset) && offset >= 0 && offset + count <= buffer.length)) {
    throw new RangeError(`buffer of ${buffer.length} bytes cannot hold ${count} tag bytes at offset ${offset}`)
  }
}

function describe(n: number): string {
  return Number.isInteger(n) && n >= 0 ? `0x${n.toString(16)}` : String(n)
}
