import {
  KVM_ARM_TAGS_FROM_GUEST,
  KVM_ARM_TAGS_TO_GUEST,
  KVM_MEM_LOG_DIRTY_PAGES,
  KVM_MEM_USERFAULT,
  PAGE_IS_PFNZERO,
  PAGE_IS_PRESENT,
  PAGE_IS_SWAPPED,
  ga,
  type HostMm,
  type VmFd,
} from '@tagvm/vmm-api'
import { LoadedPages } from './loaded-pages.js'
import { BATCH_DATA, BATCH_TAGS, PAGE_SIZE, PageBatch, TAG_BYTES_PER_PAGE, batchPages, wordsZero, type PageBatchView, type PageRecord } from './page.js'

/** One memslot of guest RAM backed by the VMM's own mapping. */
export interface RamRegion {
  readonly slot: number
  /** First guest-physical address. */
  readonly base: number
  /** Bytes, a whole number of pages. */
  readonly size: number
  /** Where the VMM mapped it in its own address space. */
  readonly hva: number
}

/** What a page walk yields. */
export interface PageScanOptions {
  /** Only pages that hold non-zero tags (what a tag map shows). */
  readonly taggedOnly?: boolean
}

/** Pages per batch of a walk: one userspace read and one KVM_ARM_MTE_COPY_TAGS each (1 MiB of data). */
export const SCAN_CHUNK_PAGES = 256
/** PAGEMAP_SCAN for pages that hold anything: present or swapped, and not the shared zero page. */
const WORTH_SAVING = { categoryInverted: PAGE_IS_PFNZERO, categoryMask: PAGE_IS_PFNZERO, categoryAnyofMask: PAGE_IS_PRESENT | PAGE_IS_SWAPPED }
const ZERO_PAGE = new Uint8Array(PAGE_SIZE)
const ZERO_TAGS = new Uint8Array(TAG_BYTES_PER_PAGE)

/**
 * Guest RAM as the VMM sees it: the one place that turns guest-physical addresses into this
 * process's addresses, reads and writes guest bytes, moves allocation tags in and out
 * (KVM_ARM_MTE_COPY_TAGS, never the VMM's own mapping, which may lack PROT_MTE), walks the
 * pages worth saving, and keeps the dirty log. Loaders, snapshots, migration, the tag map and
 * the tracer all go through it.
 */
export class GuestMemory {
  private logging = false
  /** Post-copy: one bit per page of RAM that has not arrived (the memslot's userfault bitmap). */
  private missing: Uint8Array | null = null
  private missingCount = 0

  constructor(
    private readonly mm: HostMm,
    private readonly vm: VmFd,
    readonly region: RamRegion,
    /** Whether the VM has KVM_CAP_ARM_MTE (tags exist). */
    readonly mte: boolean,
  ) {
    if (region.base % PAGE_SIZE !== 0 || region.size % PAGE_SIZE !== 0 || region.size <= 0) {
      throw new RangeError(`RAM [0x${region.base.toString(16)}, +0x${region.size.toString(16)}) is not whole pages`)
    }
  }

  /** First guest-physical address of RAM (as loaders want it). */
  get ramBase(): number {
    return this.region.base
  }

  get ramSize(): number {
    return this.region.size
  }

  get pageCount(): number {
    return this.region.size / PAGE_SIZE
  }

  /** Whether [gpa, gpa + length) lies inside RAM. */
  contains(gpa: number, length = 1): boolean {
    const { base, size } = this.region
    return Number.isSafeInteger(gpa) && length >= 0 && gpa >= base && gpa + length <= base + size
  }

  /** This process's address of guest-physical `gpa`; the range [gpa, gpa + length) must be RAM. */
  hostAddress(gpa: number, length = 1): number {
    if (!this.contains(gpa, length)) {
      throw new RangeError(`guest-physical [0x${gpa.toString(16)}, +0x${length.toString(16)}) is outside RAM [0x${this.region.base.toString(16)}, +0x${this.region.size.toString(16)})`)
    }
    return this.region.hva + (gpa - this.region.base)
  }

  /** Reads guest-physical RAM through the VMM's mapping; the range must be RAM. */
  read(gpa: number, out: Uint8Array): void {
    this.mm.userRead(this.hostAddress(gpa, out.length), out)
  }

  /** As `read`, but false (and nothing read) when the range is not RAM. */
  tryRead(gpa: number, out: Uint8Array): boolean {
    if (!this.contains(gpa, out.length)) return false
    this.read(gpa, out)
    return true
  }

  /** Writes guest-physical RAM through the VMM's mapping; the range must be RAM. */
  write(gpa: number, bytes: Uint8Array): void {
    this.mm.userWrite(this.hostAddress(gpa, bytes.length), bytes)
  }

  /**
   * One page's data and tags: `data` null when all zero, `tags` null when every tag is 0
   * (restoring such a page untagged gives the guest the same tags, because KVM zeroes the tags
   * of a page on its first tagged mapping).
   */
  readPage(gpa: number): PageRecord {
    this.checkPage(gpa)
    const batch = new PageBatch(1)
    this.readPagesInto(batch, Float64Array.of(gpa), 0, 1, true)
    return batchPages(batch)[0]!
  }

  /**
   * Pages worth saving (non-zero data or non-zero tags), lowest address first, each with its
   * own copy of data and tags. `taggedOnly` gives only pages with tags (what a tag map shows).
   */
  *pages(options: PageScanOptions = {}): Generator<PageRecord> {
    for (const batch of this.batches(new PageBatch(SCAN_CHUNK_PAGES), options)) yield* batchPages(batch)
  }

  /**
   * The pages worth saving (non-zero data or tags), ascending, a batch at a time: `batch` is
   * filled (one userspace read and one KVM_ARM_MTE_COPY_TAGS per run of pages) and yielded
   * whenever it is full and once at the end; use it before asking for the next. Only the
   * extents the host says hold anything are read (see `extents`).
   */
  *batches(batch: PageBatch, options: PageScanOptions = {}): Generator<PageBatch> {
    const taggedOnly = options.taggedOnly === true
    if (taggedOnly && !this.mte) return
    batch.clear()
    for (const [start, length] of this.extents()) {
      const pages = length / PAGE_SIZE
      for (let done = 0; done < pages; ) {
        const n = Math.min(pages - done, batch.capacity - batch.count)
        this.readRun(batch, start + done * PAGE_SIZE, n, false, taggedOnly)
        done += n
        if (batch.full) {
          yield batch
          batch.clear()
        }
      }
    }
    if (batch.count > 0) yield batch
  }

  /**
   * Reads the pages `gpas[from, to)` (ascending) into `batch` after what it holds, every one
   * of them even when zero (a page that became zero must be sent as such); consecutive
   * addresses are read together. `to - from` must fit in the batch.
   */
  readPagesInto(batch: PageBatch, gpas: ArrayLike<number>, from: number, to: number, keepZero = true): void {
    if (to - from > batch.capacity - batch.count) throw new RangeError(`${to - from} pages do not fit in a batch with room for ${batch.capacity - batch.count}`)
    for (let i = from; i < to; ) {
      const first = gpas[i]!
      this.checkPage(first)
      let n = 1
      while (i + n < to && gpas[i + n] === first + n * PAGE_SIZE) n++
      this.checkPage(first + (n - 1) * PAGE_SIZE)
      this.readRun(batch, first, n, keepZero, false)
      i += n
    }
  }

  /**
   * Appends `count` pages from `gpa` to `batch`: data read straight into its buffer and tags
   * copied straight into its tag buffer, then zero pages (and zero tags) squeezed out.
   */
  private readRun(batch: PageBatch, gpa: number, count: number, keepZero: boolean, taggedOnly: boolean): void {
    const dataAt = batch.dataPages * PAGE_SIZE
    const tagAt = batch.tagPages * TAG_BYTES_PER_PAGE
    const { dataBuffer, tagBuffer } = batch
    if (!taggedOnly) this.read(gpa, dataBuffer.subarray(dataAt, dataAt + count * PAGE_SIZE))
    if (this.mte) this.copyTagsOut(gpa, count * PAGE_SIZE, tagBuffer.subarray(tagAt, tagAt + count * TAG_BYTES_PER_PAGE))
    // One word view of the run's data and one of its tags (the batch's buffers are 4-byte aligned) for the zero checks.
    const dataWords = taggedOnly ? null : new Uint32Array(dataBuffer.buffer, dataBuffer.byteOffset + dataAt, (count * PAGE_SIZE) >>> 2)
    const tagWords = this.mte ? new Uint32Array(tagBuffer.buffer, tagBuffer.byteOffset + tagAt, (count * TAG_BYTES_PER_PAGE) >>> 2) : null
    for (let p = 0; p < count; p++) {
      let flags = 0
      if (dataWords && keepUnlessZero(dataBuffer, dataWords, dataAt, p, batch.dataPages * PAGE_SIZE, PAGE_SIZE)) {
        batch.dataPages++
        flags |= BATCH_DATA
      }
      if (tagWords && keepUnlessZero(tagBuffer, tagWords, tagAt, p, batch.tagPages * TAG_BYTES_PER_PAGE, TAG_BYTES_PER_PAGE)) {
        batch.tagPages++
        flags |= BATCH_TAGS
      }
      if (flags === 0 && (!keepZero || taggedOnly)) continue
      batch.gpas[batch.count] = gpa + p * PAGE_SIZE
      batch.flags[batch.count++] = flags
    }
  }

  /**
   * Writes a batch into guest memory: data by runs of consecutive pages through the VMM's
   * mapping, tags by runs through KVM_ARM_MTE_COPY_TAGS. `loaded` remembers which pages were
   * written before: one sent again as zero is zeroed and one sent again untagged loses its
   * tags (a page never written is left alone, so an empty page costs nothing).
   */
  writeBatch(batch: PageBatchView, loaded: LoadedPages): void {
    const { count, gpas, flags } = batch
    for (let i = 0; i < count; i++) this.checkPage(gpas[i]!)
    if (batch.tags.length > 0 && !this.mte) throw new RangeError(`page 0x${gpas[flags.indexOf(BATCH_TAGS)]!.toString(16)} has tags, but the VM has no MTE`)
    let dataPage = 0
    let tagPage = 0
    for (let i = 0; i < count; ) {
      // A run: consecutive addresses with the same flags.
      const gpa = gpas[i]!
      const f = flags[i]!
      let n = 1
      while (i + n < count && flags[i + n] === f && gpas[i + n] === gpa + n * PAGE_SIZE) n++
      const index = (gpa - this.region.base) / PAGE_SIZE
      if (f & BATCH_DATA) {
        this.write(gpa, batch.data.subarray(dataPage * PAGE_SIZE, (dataPage + n) * PAGE_SIZE))
        dataPage += n
      } else {
        for (let p = 0; p < n; p++) if (loaded.hasData(index + p)) this.write(gpa + p * PAGE_SIZE, ZERO_PAGE)
      }
      if (f & BATCH_TAGS) {
        this.copyTagsIn(gpa, n * PAGE_SIZE, batch.tags.subarray(tagPage * TAG_BYTES_PER_PAGE, (tagPage + n) * TAG_BYTES_PER_PAGE))
        tagPage += n
      } else {
        for (let p = 0; p < n; p++) if (loaded.hasTags(index + p)) this.copyTagsIn(gpa + p * PAGE_SIZE, PAGE_SIZE, ZERO_TAGS)
      }
      loaded.mark(index, n, f)
      i += n
    }
  }

  /**
   * The runs of RAM that may hold data or tags, as [gpa, length], ascending. For private
   * anonymous RAM the host says which pages were ever populated (PAGEMAP_SCAN on the VMM's
   * mapping: present or swapped, and not the shared zero page); every other page reads as
   * zero with zero tags, so walks (snapshot, migration, tag map) skip it without reading it.
   * Shared memory can hold data the VMM's page tables do not show (a page another process
   * wrote, or one swapped out of the page cache), so there all of RAM is walked.
   */
  extents(): [number, number][] {
    const { base, size, hva } = this.region
    const vma = this.mm.findVma(hva)
    if (!vma || vma.shared || !vma.anonymous || vma.end < hva + size) return [[base, size]]
    const extents: [number, number][] = []
    for (let at = hva; at < hva + size; ) {
      const { regions, walkEnd } = this.mm.pagemapScan({ start: at, end: hva + size, vecLen: 1024, ...WORTH_SAVING })
      for (const r of regions) {
        const last = extents[extents.length - 1]
        const gpa = base + (r.start - hva)
        if (last && last[0] + last[1] === gpa) last[1] += r.end - r.start
        else extents.push([gpa, r.end - r.start])
      }
      at = walkEnd
    }
    return extents
  }

  // ---- dirty log (migration) ----------------------------------------------------------

  get dirtyLogging(): boolean {
    return this.logging
  }

  /** Turns on KVM_MEM_LOG_DIRTY_PAGES on RAM; pages written from now on show in `dirtyPages()`. */
  startDirtyLog(): void {
    this.logging = true
    this.setFlags()
  }

  /** Turns KVM_MEM_LOG_DIRTY_PAGES off again (nothing happens when it is off). */
  stopDirtyLog(): void {
    if (!this.logging) return
    this.logging = false
    this.setFlags()
  }

  // ---- post-copy: pages that have not arrived -----------------------------------------

  /**
   * Marks pages missing (post-copy): runs of [first page, count] counted from the start of RAM.
   * The guest's first access to such a page exits to the VMM (KVM_MEM_USERFAULT) instead of
   * mapping it, until `markArrived` says the page and its tags are in place.
   */
  markMissing(runs: Uint32Array): void {
    // Shared memory: vCPU threads read the same bitmap (VcpuThreads), so they see pages arrive.
    const missing = (this.missing ??= new Uint8Array(new SharedArrayBuffer(Math.ceil(this.pageCount / 64) * 8)))
    for (let i = 0; i < runs.length; i += 2) {
      const first = runs[i]!
      const count = runs[i + 1]!
      if (first + count > this.pageCount) throw new RangeError(`missing pages ${first}..${first + count - 1} are outside RAM's ${this.pageCount} pages`)
      for (let page = first; page < first + count; page++) {
        const bit = 1 << (page & 7)
        if (!(missing[page >>> 3]! & bit)) this.missingCount++
        missing[page >>> 3] = missing[page >>> 3]! | bit
      }
    }
    this.setFlags()
  }

  /** The batch's pages are in place (written with their tags): the guest may map them now. */
  markArrived(batch: PageBatchView): void {
    const missing = this.missing
    if (!missing) return
    for (let i = 0; i < batch.count; i++) {
      const page = (batch.gpas[i]! - this.region.base) / PAGE_SIZE
      const bit = 1 << (page & 7)
      if (missing[page >>> 3]! & bit) this.missingCount--
      missing[page >>> 3] = missing[page >>> 3]! & ~bit
    }
    if (this.missingCount === 0) {
      this.missing = null
      this.setFlags()
    }
  }

  /** Whether the page holding `gpa` is missing (post-copy). */
  isMissing(gpa: number): boolean {
    const missing = this.missing
    if (!missing || !this.contains(gpa)) return false
    const page = Math.floor((gpa - this.region.base) / PAGE_SIZE)
    return (missing[page >>> 3]! & (1 << (page & 7))) !== 0
  }

  /** The userfault bitmap while pages are missing (post-copy; one bit per page of RAM, on a SharedArrayBuffer), else undefined. */
  get missingBitmap(): Uint8Array | undefined {
    return this.missing ?? undefined
  }

  /** Pages still missing (post-copy). */
  get missingPages(): number {
    return this.missingCount
  }

  /** KVM_GET_DIRTY_LOG: guest-physical addresses of pages written since the last call, ascending. */
  dirtyPages(): number[] {
    const bitmap = this.dirtyBitmap()
    const pages: number[] = []
    for (let byte = 0; byte < bitmap.length; byte++) {
      const bits = bitmap[byte]!
      if (bits === 0) continue
      for (let bit = 0; bit < 8; bit++) if (bits & (1 << bit)) pages.push(this.region.base + (byte * 8 + bit) * PAGE_SIZE)
    }
    return pages
  }

  /**
   * KVM_GET_DIRTY_LOG: one bit per page of RAM (bit p % 8 of byte p / 8 for page p), set for
   * pages written since the last call.
   */
  dirtyBitmap(): Uint8Array {
    return this.vm.getDirtyLog(this.region.slot)
  }

  /** A bitmap of the pages `extents()` covers (one bit per page of RAM, as `dirtyBitmap`). */
  extentBitmap(): Uint8Array {
    const bitmap = new Uint8Array(Math.ceil(this.pageCount / 64) * 8)
    for (const [gpa, length] of this.extents()) {
      const first = (gpa - this.region.base) / PAGE_SIZE
      for (let page = first; page < first + length / PAGE_SIZE; page++) bitmap[page >>> 3] = bitmap[page >>> 3]! | (1 << (page & 7))
    }
    return bitmap
  }

  /**
   * The pages whose bits are set in `bitmap` (one bit per page of RAM, as `dirtyBitmap`),
   * ascending, a batch at a time, every one even when zero (a page that became zero must be
   * sent as such): `batch` is filled and yielded when full and once at the end; use it before
   * asking for the next. With `clear`, each page's bit is cleared as it is read, and bits
   * cleared by someone else meanwhile are skipped (post-copy sends each page once).
   */
  *bitmapBatches(bitmap: Uint8Array, batches: PageBatch | (() => PageBatch), clear = false): Generator<PageBatch> {
    const next = typeof batches === 'function' ? batches : (): PageBatch => batches
    let batch = next()
    const pages = Math.min(this.pageCount, bitmap.length * 8)
    const isSet = (page: number): boolean => (bitmap[page >>> 3]! & (1 << (page & 7))) !== 0
    batch.clear()
    for (let page = 0; page < pages; ) {
      if ((page & 7) === 0 && bitmap[page >>> 3] === 0) {
        page += 8
        continue
      }
      if (!isSet(page)) {
        page++
        continue
      }
      let n = 1
      const room = batch.capacity - batch.count
      while (n < room && page + n < pages && isSet(page + n)) n++
      this.readRun(batch, this.region.base + page * PAGE_SIZE, n, true, false)
      if (clear) for (let p = page; p < page + n; p++) bitmap[p >>> 3] = bitmap[p >>> 3]! & ~(1 << (p & 7))
      page += n
      if (batch.full) {
        yield batch
        batch = next()
        batch.clear()
      }
    }
    if (batch.count > 0) yield batch
  }

  private setFlags(): void {
    const { slot, base, size, hva } = this.region
    const flags = (this.logging ? KVM_MEM_LOG_DIRTY_PAGES : 0) | (this.missing ? KVM_MEM_USERFAULT : 0)
    this.vm.setUserMemoryRegion({ slot, flags, guestPhysAddr: ga(base), memorySize: size, userspaceAddr: hva, ...(this.missing ? { userfaultBitmap: this.missing } : {}) })
  }

  /** KVM_ARM_MTE_COPY_TAGS from the guest: the tags of [gpa, gpa + length) into `out` (one byte per granule). */
  private copyTagsOut(gpa: number, length: number, out: Uint8Array): void {
    this.vm.mteCopyTags({ guestIpa: ga(gpa), length, addr: out, flags: KVM_ARM_TAGS_FROM_GUEST })
  }

  /** KVM_ARM_MTE_COPY_TAGS to the guest: `tags` (one byte per granule) onto [gpa, gpa + length). */
  private copyTagsIn(gpa: number, length: number, tags: Uint8Array): void {
    this.vm.mteCopyTags({ guestIpa: ga(gpa), length, addr: tags, flags: KVM_ARM_TAGS_TO_GUEST })
  }

  private checkPage(gpa: number): void {
    if (gpa % PAGE_SIZE !== 0 || !this.contains(gpa, PAGE_SIZE)) throw new RangeError(`page 0x${gpa.toString(16)} is not a page of RAM`)
  }
}

/**
 * Moves item `index` of a run read at `runAt` in `buffer` (items of `size` bytes; `words` views
 * the run) down to `to` unless it is all zero; true when it is kept.
 */
function keepUnlessZero(buffer: Uint8Array, words: Uint32Array, runAt: number, index: number, to: number, size: number): boolean {
  if (wordsZero(words, (index * size) >>> 2, size >>> 2)) return false
  const from = runAt + index * size
  if (to !== from) buffer.copyWithin(to, from, from + size)
  return true
}
