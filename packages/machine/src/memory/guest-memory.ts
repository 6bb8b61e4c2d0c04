import {
  KVM_ARM_TAGS_FROM_GUEST,
  KVM_ARM_TAGS_TO_GUEST,
  KVM_MEM_LOG_DIRTY_PAGES,
  ga,
  type HostMm,
  type VmFd,
} from '@tagvm/vmm-api'
import { PAGE_SIZE, TAG_BYTES_PER_PAGE, isZero, pageRecordBytes, type PageRecord } from './page.js'

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

/** Pages read per scan step: one userspace read and one KVM_ARM_MTE_COPY_TAGS each. */
const SCAN_CHUNK_PAGES = 256

/**
 * Guest RAM as the VMM sees it: the one place that turns guest-physical addresses into this
 * process's addresses, reads and writes guest bytes, moves allocation tags in and out
 * (KVM_ARM_MTE_COPY_TAGS, never the VMM's own mapping, which may lack PROT_MTE), walks the
 * pages worth saving, and keeps the dirty log. Loaders, snapshots, migration, the tag map and
 * the tracer all go through it.
 */
export class GuestMemory {
  private logging = false

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
   * One page's data and tags. `tags` is null when every tag is 0: restoring such a page
   * untagged gives the guest the same tags, because KVM zeroes the tags of a page on its first
   * tagged mapping. The record's arrays are `data`/`tags` when given.
   */
  readPage(gpa: number, data = new Uint8Array(PAGE_SIZE), tags = new Uint8Array(TAG_BYTES_PER_PAGE)): PageRecord {
    this.checkPage(gpa)
    this.read(gpa, data)
    const tagged = this.mte && this.copyTagsOut(gpa, PAGE_SIZE, tags)
    return { gpa, data: isZero(data) ? null : data, tags: tagged ? tags : null }
  }

  /**
   * Writes a page's data (zeroes when null) and, when it has any, its tags
   * (KVM_ARM_MTE_COPY_TAGS to the guest); `clearTags` writes zero tags to an untagged page,
   * so a page that lost its tags at the source does not keep stale ones here.
   */
  writePage(page: PageRecord, clearTags = false): void {
    this.checkPage(page.gpa)
    const tags = page.tags ?? (clearTags ? new Uint8Array(TAG_BYTES_PER_PAGE) : null)
    if (tags && !this.mte) throw new RangeError(`page 0x${page.gpa.toString(16)} has tags, but the VM has no MTE`)
    this.write(page.gpa, page.data ?? new Uint8Array(PAGE_SIZE))
    if (tags) this.vm.mteCopyTags({ guestIpa: ga(page.gpa), length: PAGE_SIZE, addr: tags, flags: KVM_ARM_TAGS_TO_GUEST })
  }

  /**
   * Pages worth saving (non-zero data or non-zero tags), lowest address first, each with its
   * own copy of data and tags.
   */
  *pages(options: PageScanOptions = {}): Generator<PageRecord> {
    for (const page of this.scan(options)) {
      yield { gpa: page.gpa, data: page.data && page.data.slice(), tags: page.tags && page.tags.slice() }
    }
  }

  /** Which pages `pages()` would give and the guest bytes (data and tags) they carry, without keeping them. */
  savedPageList(): { readonly gpas: number[]; readonly bytes: number } {
    const gpas: number[] = []
    let bytes = 0
    for (const page of this.scan({})) {
      gpas.push(page.gpa)
      bytes += pageRecordBytes(page)
    }
    return { gpas, bytes }
  }

  /**
   * The walk behind `pages()`: extent by extent (see `extents`), a chunk of pages per read and
   * per KVM_ARM_MTE_COPY_TAGS. The records it yields are views into its buffers, valid until
   * the next one. A host-side view of which frames exist and which are tagged only has to
   * narrow the extents (and skip the tag copy where none is tagged) to make every walk cheaper.
   */
  private *scan(options: PageScanOptions): Generator<PageRecord> {
    const taggedOnly = options.taggedOnly === true
    if (taggedOnly && !this.mte) return
    const data = new Uint8Array(SCAN_CHUNK_PAGES * PAGE_SIZE)
    const tags = new Uint8Array(SCAN_CHUNK_PAGES * TAG_BYTES_PER_PAGE)
    for (const [start, length] of this.extents()) {
      for (let offset = 0; offset < length; offset += data.length) {
        const gpa = start + offset
        const bytes = Math.min(data.length, length - offset)
        if (!taggedOnly) this.read(gpa, data.subarray(0, bytes))
        const anyTags = this.mte && this.copyTagsOut(gpa, bytes, tags)
        if (taggedOnly && !anyTags) continue
        for (let p = 0; p < bytes / PAGE_SIZE; p++) {
          const pageTags = tags.subarray(p * TAG_BYTES_PER_PAGE, (p + 1) * TAG_BYTES_PER_PAGE)
          const hasTags = anyTags && !isZero(pageTags)
          const pageData = data.subarray(p * PAGE_SIZE, (p + 1) * PAGE_SIZE)
          const hasData = !taggedOnly && !isZero(pageData)
          if (hasData || hasTags) yield { gpa: gpa + p * PAGE_SIZE, data: hasData ? pageData : null, tags: hasTags ? pageTags : null }
        }
      }
    }
  }

  /**
   * The runs of RAM that may hold data or tags, as [gpa, length]. All of RAM today; a host
   * memory model that can say which frames were ever populated narrows this, and every walk
   * (snapshot, migration, tag map) gets faster with it.
   */
  private extents(): Iterable<readonly [number, number]> {
    return [[this.region.base, this.region.size]]
  }

  // ---- dirty log (migration) ----------------------------------------------------------

  get dirtyLogging(): boolean {
    return this.logging
  }

  /** Turns on KVM_MEM_LOG_DIRTY_PAGES on RAM; pages written from now on show in `dirtyPages()`. */
  startDirtyLog(): void {
    this.setFlags(KVM_MEM_LOG_DIRTY_PAGES)
    this.logging = true
  }

  /** Turns KVM_MEM_LOG_DIRTY_PAGES off again (nothing happens when it is off). */
  stopDirtyLog(): void {
    if (!this.logging) return
    this.setFlags(0)
    this.logging = false
  }

  /** KVM_GET_DIRTY_LOG: guest-physical addresses of pages written since the last call, ascending. */
  dirtyPages(): number[] {
    const bitmap = this.vm.getDirtyLog(this.region.slot)
    const pages: number[] = []
    for (let byte = 0; byte < bitmap.length; byte++) {
      const bits = bitmap[byte]!
      if (bits === 0) continue
      for (let bit = 0; bit < 8; bit++) if (bits & (1 << bit)) pages.push(this.region.base + (byte * 8 + bit) * PAGE_SIZE)
    }
    return pages
  }

  private setFlags(flags: number): void {
    const { slot, base, size, hva } = this.region
    this.vm.setUserMemoryRegion({ slot, flags, guestPhysAddr: ga(base), memorySize: size, userspaceAddr: hva })
  }

  /** Tags of [gpa, gpa + length) into `out` (one byte per granule); true when any is non-zero. */
  private copyTagsOut(gpa: number, length: number, out: Uint8Array): boolean {
    const tags = out.subarray(0, length / 16)
    this.vm.mteCopyTags({ guestIpa: ga(gpa), length, addr: tags, flags: KVM_ARM_TAGS_FROM_GUEST })
    return !isZero(tags)
  }

  private checkPage(gpa: number): void {
    if (gpa % PAGE_SIZE !== 0 || !this.contains(gpa, PAGE_SIZE)) throw new RangeError(`page 0x${gpa.toString(16)} is not a page of RAM`)
  }
}
