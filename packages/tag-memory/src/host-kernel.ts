import { GRANULES_PER_PAGE, PAGE_SIZE } from './constants.js'
import { ErrnoError } from './errno.js'
import { DeviceRegion, RegularFile, ShmemFile } from './host-files.js'
import { HostMm } from './host-mm.js'
import { HPAGE_FRAMES, HPAGE_SIZE, Page, SwapDevice, SwapEntry, hex } from './host-pages.js'
import { USER_ADDRESS_LIMIT } from './mman.js'
import { PhysicalMemory, type FrameTags } from './physical-memory.js'
import { packTagBytes, unpackTagBytes } from './tags.js'

/** Frames per block of the page-by-frame table. */
const PAGES_PER_BLOCK = 512

/** Counters for what the host kernel did, for tests and measurements. */
export interface HostKernelStats {
  /** Frames whose tags were zeroed to make them valid (mte_sync_tags, tag_clear_highpage). */
  tagInits: number
  cowCopies: number
  swapOuts: number
  swapIns: number
  /** Swap-ins that restored saved tags. */
  tagRestores: number
  migrations: number
  /** Pages KSM merged into another identical page (their frames were freed). */
  ksmMerged: number
  /** Transparent huge pages allocated, and split back into base pages. */
  thpAllocs: number
  thpSplits: number
}

/** /sys/kernel/mm/transparent_hugepage/enabled. */
export type ThpMode = 'never' | 'always' | 'madvise'

export interface HostKernelOptions {
  memory: PhysicalMemory
  /** Frames below this are the kernel's own and never handed out. */
  firstFrame?: number
  /** Transparent huge pages for anonymous private memory; 'never' by default. */
  transparentHugepages?: ThpMode
}

/**
 * The host kernel's memory manager: a page allocator over PhysicalMemory, page caches for
 * shmem and files, swap and page migration that keep tags, and the processes' address
 * spaces (`HostMm`).
 */
export class HostKernel {
  readonly memory: PhysicalMemory
  readonly stats: HostKernelStats = {
    tagInits: 0,
    cowCopies: 0,
    swapOuts: 0,
    swapIns: 0,
    tagRestores: 0,
    migrations: 0,
    ksmMerged: 0,
    thpAllocs: 0,
    thpSplits: 0,
  }
  readonly transparentHugepages: ThpMode
  private readonly frameInUse: Uint8Array
  private readonly freeStack: number[] = []
  private nextFresh: number
  private free: number
  /**
   * The page in each frame: arrays of 512 frames (2 MiB), made as their frames are first used,
   * so there is no hashing and no map entry per page, and a large sparse memory costs little.
   * A frame holding a bare anonymous page (HostMm's frame-number PTEs: one writable mapping,
   * no Page object yet) holds the address space mapping it instead, and its virtual page
   * number sits in `bareVpns` beside it; `pageAt` makes its Page when someone needs one.
   */
  private readonly pagesByPfn: ((Page | HostMm | undefined)[] | undefined)[]
  private readonly bareVpns: (Float64Array | undefined)[]
  private pageCount = 0
  private readonly pageCaches = new WeakMap<ShmemFile | RegularFile, Map<number, Page | SwapEntry>>()
  private readonly swap = new SwapDevice()
  private zero: Page | null = null
  private readonly mms = new Set<HostMm>()

  constructor(options: HostKernelOptions) {
    const { memory, firstFrame = 0, transparentHugepages = 'never' } = options
    if (!['never', 'always', 'madvise'].includes(transparentHugepages)) {
      throw new RangeError(`transparentHugepages must be never, always or madvise, got ${String(transparentHugepages)}`)
    }
    this.transparentHugepages = transparentHugepages
    if (!(Number.isInteger(firstFrame) && firstFrame >= 0 && firstFrame <= memory.frameCount)) {
      throw new RangeError(`firstFrame ${firstFrame} is outside memory of ${memory.frameCount} frames`)
    }
    this.memory = memory
    this.frameInUse = new Uint8Array(memory.frameCount)
    this.pagesByPfn = new Array<(Page | HostMm | undefined)[] | undefined>(Math.ceil(memory.frameCount / PAGES_PER_BLOCK)).fill(undefined)
    this.bareVpns = new Array<Float64Array | undefined>(this.pagesByPfn.length).fill(undefined)
    this.frameInUse.fill(1, 0, firstFrame)
    this.nextFresh = firstFrame
    this.free = memory.frameCount - firstFrame
  }

  /** Frames the allocator can still hand out. */
  get freeFrames(): number {
    return this.free
  }

  /** Pages currently held on the swap device. */
  get swappedPages(): number {
    return this.swap.inUse
  }

  createMm(): HostMm {
    return new HostMm(this)
  }

  /** @internal */
  registerMm(mm: HostMm): void {
    this.mms.add(mm)
  }

  /** @internal */
  unregisterMm(mm: HostMm): void {
    this.mms.delete(mm)
  }

  /**
   * One full KSM pass: identical anonymous pages in MADV_MERGEABLE mappings are merged into
   * one read-only (copy-on-write) page and the duplicates' frames freed. A page with valid
   * tags (PG_mte_tagged) never compares equal to another page — identical data with
   * different tags is different memory — so tagged pages are never merged, as on arm64.
   * Returns the number of pages merged away.
   */
  ksmScan(): number {
    const byHash = new Map<number, Page[]>()
    const scratch = new Uint8Array(PAGE_SIZE)
    const other = new Uint8Array(PAGE_SIZE)
    const words = new Int32Array(scratch.buffer)
    const otherWords = new Int32Array(other.buffer)
    let merged = 0
    for (const mm of this.mms) {
      for (const { vpn, page } of mm.ksmCandidates()) {
        if (this.memory.isTagged(page.pfn)) continue
        this.memory.readBytes(page.pfn * PAGE_SIZE, scratch)
        let hash = 0x811c9dc5
        for (let i = 0; i < words.length; i++) hash = Math.imul(hash ^ (words[i] as number), 0x01000193)
        const bucket = byHash.get(hash) ?? []
        byHash.set(hash, bucket)
        let target: Page | undefined
        for (const candidate of bucket) {
          if (candidate === page) {
            target = candidate
            break
          }
          this.memory.readBytes(candidate.pfn * PAGE_SIZE, other)
          if (!this.memory.isTagged(candidate.pfn) && sameWords(words, otherWords)) {
            target = candidate
            break
          }
        }
        if (!target) {
          bucket.push(page)
          continue
        }
        // Every mapping of the surviving page becomes copy-on-write.
        for (const r of target.rmap.slice()) r.mm.writeProtect(r.vpn)
        if (target === page) continue
        mm.remapToMerged(vpn, target)
        merged++
      }
    }
    this.stats.ksmMerged += merged
    return merged
  }

  /** memfd_create + ftruncate: a shmem file of `size` bytes. */
  memfdCreate(name: string, size: number): ShmemFile {
    if (!(Number.isInteger(size) && size >= 0 && size < USER_ADDRESS_LIMIT)) {
      throw new ErrnoError('EINVAL', `memfd size ${size} is not a valid file size`)
    }
    const file = new ShmemFile(name, size)
    this.pageCaches.set(file, new Map())
    return file
  }

  /** A regular file with the given contents (copied). */
  createFile(name: string, content: Uint8Array): RegularFile {
    const file = new RegularFile(name, content.slice())
    this.pageCaches.set(file, new Map())
    return file
  }

  /** A device range of `pageCount` frames from `basePfn` (outside RAM, typically). */
  createDeviceRegion(name: string, basePfn: number, pageCount: number): DeviceRegion {
    if (!(Number.isInteger(basePfn) && basePfn >= 0 && Number.isInteger(pageCount) && pageCount > 0)) {
      throw new RangeError(`device region ${basePfn}+${pageCount} frames is not valid`)
    }
    if (basePfn < this.memory.frameCount) {
      throw new RangeError(`device region at pfn ${hex(basePfn)} overlaps RAM (${this.memory.frameCount} frames)`)
    }
    // The device's memory: what a guest or the VMM reads and writes through a mapping of it.
    this.memory.addDeviceFrames(basePfn, pageCount)
    return new DeviceRegion(name, basePfn, pageCount)
  }

  // ---- frame allocator ----

  /** Takes a free frame (its data and tags are whatever its last user left). */
  allocFrame(): number {
    while (this.freeStack.length > 0) {
      const pfn = this.freeStack.pop() as number
      if (!this.frameInUse[pfn]) return this.take(pfn)
    }
    while (this.nextFresh < this.memory.frameCount) {
      const pfn = this.nextFresh++
      if (!this.frameInUse[pfn]) return this.take(pfn)
    }
    throw new ErrnoError('ENOMEM', 'no free frames')
  }

  private take(pfn: number): number {
    this.frameInUse[pfn] = 1
    this.free--
    return pfn
  }

  /** Returns a frame to the allocator. Its data and tags stay as they are (stale). */
  freeFrame(pfn: number): void {
    this.memory.checkPfn(pfn)
    if (!this.frameInUse[pfn]) throw new RangeError(`frame ${pfn} is not allocated`)
    if (this.holdsPage(pfn)) throw new RangeError(`frame ${pfn} is still in use by a mapping or page cache`)
    this.releaseFrame(pfn)
  }

  private releaseFrame(pfn: number): void {
    // The page allocator clears the page flags on free, PG_mte_tagged included.
    this.memory.resetTagFlags(pfn)
    this.frameInUse[pfn] = 0
    this.freeStack.push(pfn)
    this.free++
  }

  isFrameInUse(pfn: number): boolean {
    this.memory.checkPfn(pfn)
    return this.frameInUse[pfn] === 1
  }

  // ---- pages ----

  /**
   * @internal The shared zero page, made on first use: data and tags zeroed once (as
   * cpu_enable_mte does through the linear map) but never marked PG_mte_tagged.
   */
  zeroPage(): Page {
    if (!this.zero) {
      const pfn = this.allocFrame()
      this.memory.fill(pfn * PAGE_SIZE, PAGE_SIZE, 0)
      this.memory.clearFrameTags(pfn)
      this.zero = new Page(pfn, null, 0)
      this.zero.isZero = true
    }
    return this.zero
  }

  /** The zero page's frame, or null if nothing has mapped it yet. */
  get zeroPfn(): number | null {
    return this.zero ? this.zero.pfn : null
  }

  /** @internal Whether the page cache of `file` holds page `index` in memory. */
  isCached(file: ShmemFile | RegularFile, index: number): boolean {
    return this.pageCaches.get(file)?.get(index) instanceof Page
  }

  /** @internal A new page on a fresh frame. */
  newPage(owner: ShmemFile | RegularFile | null, index: number): Page {
    const page = new Page(this.allocFrame(), owner, index)
    this.setPage(page.pfn, page)
    return page
  }

  /**
   * @internal A bare anonymous page on a fresh frame, mapped writable by `mm` at `vpn` only,
   * with no Page object (HostMm keeps its PTE as the frame number): its frame is returned.
   * `pageAt` makes the Page (`HostMm.bareToPage`) the first time anyone needs it.
   */
  newBarePage(mm: HostMm, vpn: number): number {
    const pfn = this.allocFrame()
    this.setPage(pfn, mm)
    this.bareVpns[Math.floor(pfn / PAGES_PER_BLOCK)]![pfn % PAGES_PER_BLOCK] = vpn
    return pfn
  }

  /** @internal The Page object of the bare anonymous page in `pfn` (see newBarePage), replacing its marker. */
  adoptBarePage(pfn: number): Page {
    const page = new Page(pfn, null, 0)
    this.setPage(pfn, page)
    return page
  }

  /** @internal Its only PTE is gone: frees the bare anonymous page in `pfn` (putPage of its last reference). */
  putBarePage(pfn: number): void {
    this.setPage(pfn, undefined)
    this.releaseFrame(pfn)
  }

  /**
   * @internal A transparent huge page: 512 new pages on naturally aligned contiguous free
   * frames, or null when no such block is free (the caller falls back to a base page).
   */
  newHugePages(): Page[] | null {
    const frames = this.memory.frameCount
    for (let head = 0; head + HPAGE_FRAMES <= frames; head += HPAGE_FRAMES) {
      let free = true
      for (let i = 0; i < HPAGE_FRAMES && free; i++) free = this.frameInUse[head + i] === 0
      if (!free) continue
      const pages: Page[] = []
      for (let i = 0; i < HPAGE_FRAMES; i++) {
        const page = new Page(this.take(head + i), null, 0)
        page.folioHead = head
        this.setPage(page.pfn, page)
        pages.push(page)
      }
      this.stats.thpAllocs++
      return pages
    }
    return null
  }

  /**
   * @internal Splits the huge page holding `page` into base pages (before swapping,
   * migrating or copying part of it). Every process mapping it hears about the whole 2 MiB
   * range first, as for a PMD split.
   */
  splitFolio(page: Page): void {
    const head = page.folioHead
    if (head < 0) return
    const told = new Map<HostMm, Set<number>>()
    const members: Page[] = []
    for (let i = 0; i < HPAGE_FRAMES; i++) {
      // A bare anonymous page (no Page object) is never part of a huge page.
      const member = this.pagesByPfn[Math.floor((head + i) / PAGES_PER_BLOCK)]?.[(head + i) % PAGES_PER_BLOCK]
      if (!(member instanceof Page) || member.folioHead !== head) continue
      members.push(member)
      for (const { mm, vpn } of member.rmap) {
        const start = Math.floor((vpn * PAGE_SIZE) / HPAGE_SIZE) * HPAGE_SIZE
        let starts = told.get(mm)
        if (!starts) told.set(mm, (starts = new Set()))
        if (starts.has(start)) continue
        starts.add(start)
        mm.notifyInvalidate(start, start + HPAGE_SIZE)
      }
    }
    for (const member of members) member.folioHead = -1
    this.stats.thpSplits++
  }

  /** @internal Drops one reference; frees the frame with the last. */
  putPage(page: Page): void {
    page.refs--
    if (page.refs > 0) return
    if (page.refs < 0) throw new Error(`page at frame ${page.pfn} over-released`)
    this.setPage(page.pfn, undefined)
    this.releaseFrame(page.pfn)
  }

  /** @internal mte_sync_tags: a page mapped Tagged gets valid (zeroed) tags once. */
  syncTags(pfn: number): void {
    if (this.memory.ensureTagsInitialised(pfn)) this.stats.tagInits++
  }

  /** @internal copy_highpage: data, and tags when the source is tagged. */
  copyPage(src: Page, vmaMte: boolean): Page {
    const page = this.newPage(null, 0)
    this.copyFrameWithTags(src.pfn, page.pfn)
    if (vmaMte) this.syncTags(page.pfn)
    this.stats.cowCopies++
    return page
  }

  private copyFrameWithTags(srcPfn: number, dstPfn: number): void {
    this.memory.copyFrame(srcPfn, dstPfn)
    if (this.memory.isTagged(srcPfn)) {
      if (!this.memory.tryLockTags(dstPfn)) throw new Error(`fresh frame ${dstPfn} already has tag flags`)
      this.memory.copyFrameTags(srcPfn, dstPfn)
      this.memory.setTagged(dstPfn)
    }
  }

  /** @internal The page of a shmem or regular file at `index`, read or swapped in as needed. */
  filePage(file: ShmemFile | RegularFile, index: number): Page {
    const cache = this.pageCaches.get(file)
    if (!cache) throw new RangeError(`file ${file.name} belongs to another kernel`)
    if (index * PAGE_SIZE >= file.size) {
      throw new ErrnoError('EFAULT', `page ${index} is beyond the end of ${file.name} (SIGBUS for a user access)`)
    }
    const cached = cache.get(index)
    if (cached instanceof Page) return cached
    const page = this.newPage(file, index)
    if (cached instanceof SwapEntry) {
      this.fillFromSwap(page.pfn, cached)
      this.dropSwapRef(cached)
    } else {
      const pa = page.pfn * PAGE_SIZE
      this.memory.fill(pa, PAGE_SIZE, 0)
      if (file instanceof RegularFile) {
        const from = index * PAGE_SIZE
        this.memory.writeBytes(pa, file.content.subarray(from, Math.min(from + PAGE_SIZE, file.size)))
      }
    }
    page.refs++ // the page cache's reference
    cache.set(index, page)
    return page
  }

  private fillFromSwap(pfn: number, entry: SwapEntry): void {
    this.memory.writeBytes(pfn * PAGE_SIZE, this.swap.dataOf(entry.slot))
    if (entry.hasTags) {
      // mte_restore_tags: under the tag lock, then publish PG_mte_tagged.
      if (!this.memory.tryLockTags(pfn)) throw new Error(`fresh frame ${pfn} already has tag flags`)
      const stored = this.memory.frameTags(pfn, true) as FrameTags
      unpackTagBytes(this.swap.tagsOf(entry.slot), 0, stored.tags, stored.offset, GRANULES_PER_PAGE)
      this.memory.noteTagWrite(pfn)
      this.memory.setTagged(pfn)
      this.stats.tagRestores++
    }
    this.stats.swapIns++
  }

  /** @internal An anonymous page back from swap (shared through the swap cache). */
  swapInAnon(entry: SwapEntry): Page {
    if (entry.cached) return entry.cached
    const page = this.newPage(null, 0)
    this.fillFromSwap(page.pfn, entry)
    page.refs++ // the swap cache's reference
    page.swapCacheOf = entry
    entry.cached = page
    return page
  }

  /** @internal A swap PTE went away (swapped in or unmapped). */
  dropSwapRef(entry: SwapEntry): void {
    entry.refs--
    if (entry.refs > 0) return
    this.swap.release(entry.slot)
    const cached = entry.cached
    if (cached) {
      entry.cached = null
      cached.swapCacheOf = null
      this.putPage(cached)
    }
  }

  private saveToSwap(page: Page, existing?: SwapEntry): SwapEntry {
    const entry = existing ?? new SwapEntry(this.swap.alloc(), false)
    this.memory.readBytes(page.pfn * PAGE_SIZE, this.swap.dataOf(entry.slot))
    // mte_save_tags: only pages whose tags are valid (PG_mte_tagged) keep them.
    entry.hasTags = this.memory.isTagged(page.pfn)
    if (entry.hasTags) {
      const saved = this.swap.tagsOf(entry.slot)
      const stored = this.memory.frameTags(page.pfn, false)
      if (stored) packTagBytes(stored.tags, stored.offset, saved, 0, GRANULES_PER_PAGE)
      else saved.fill(0)
    }
    return entry
  }

  /** Swaps out the page in `pfn`: every mapping of it is invalidated first. */
  swapOutFrame(pfn: number): void {
    this.memory.checkPfn(pfn)
    const page = this.pageAt(pfn)
    if (!page) throw new ErrnoError('EINVAL', `frame ${pfn} holds no user page`)
    this.swapOutPage(page)
  }

  /** @internal */
  swapOutPage(page: Page): void {
    this.splitFolio(page)
    for (const { mm, vpn } of page.rmap) mm.notifyInvalidate(vpn * PAGE_SIZE, (vpn + 1) * PAGE_SIZE)
    const owner = page.owner
    if (owner instanceof RegularFile) {
      // Evicting a file page writes it back; file pages never hold valid tags.
      const from = page.index * PAGE_SIZE
      const data = new Uint8Array(Math.min(PAGE_SIZE, owner.size - from))
      this.memory.readBytes(page.pfn * PAGE_SIZE, data)
      owner.content.set(data, from)
      this.unmapAll(page)
      this.pageCaches.get(owner)?.delete(page.index)
      this.stats.swapOuts++
      this.putPage(page)
      return
    }
    if (owner instanceof ShmemFile) {
      const entry = this.saveToSwap(page)
      entry.refs = 1 // held by the file
      this.unmapAll(page)
      this.pageCaches.get(owner)?.set(page.index, entry)
      this.stats.swapOuts++
      this.putPage(page)
      return
    }
    // Anonymous: every PTE becomes the swap entry. A page still in a swap cache goes back
    // to its entry (refreshed, in case it changed).
    const existing = page.swapCacheOf
    const entry = this.saveToSwap(page, existing ?? undefined)
    for (const { mm, vpn } of page.rmap.slice()) {
      mm.replaceWithSwap(vpn, entry)
      entry.refs++
    }
    page.clearMappings()
    if (existing) {
      existing.cached = null
      page.swapCacheOf = null
      this.putPage(page)
    }
    this.stats.swapOuts++
  }

  private unmapAll(page: Page): void {
    for (const { mm, vpn } of page.rmap.slice()) mm.dropPte(vpn)
  }

  /**
   * Migrates the page in `pfn` to `targetPfn` (a free frame) or to a newly allocated frame:
   * data and, for a tagged page, tags move; every mapping is invalidated first and then
   * points at the new frame. Returns the new frame.
   */
  migrateFrame(pfn: number, targetPfn?: number): number {
    this.memory.checkPfn(pfn)
    const page = this.pageAt(pfn)
    if (!page) throw new ErrnoError('EINVAL', `frame ${pfn} holds no user page`)
    if (targetPfn !== undefined) {
      this.memory.checkPfn(targetPfn)
      if (this.frameInUse[targetPfn]) throw new ErrnoError('EBUSY', `target frame ${targetPfn} is in use`)
    }
    const to = targetPfn === undefined ? this.allocFrame() : this.take(targetPfn)
    this.splitFolio(page)
    for (const { mm, vpn } of page.rmap) mm.notifyInvalidate(vpn * PAGE_SIZE, (vpn + 1) * PAGE_SIZE)
    this.copyFrameWithTags(page.pfn, to)
    this.setPage(page.pfn, undefined)
    this.releaseFrame(page.pfn)
    page.pfn = to
    this.setPage(to, page)
    this.stats.migrations++
    return to
  }

  /**
   * Compaction: moves user pages from the top of memory into the lowest free frames until
   * the used frames are contiguous from below (or `maxMoves` pages have moved). Each move
   * is a migration: notifiers first, data and (for tagged pages) tags move with the page.
   * Returns the number of pages moved.
   */
  compact(maxMoves = Infinity): number {
    let moved = 0
    let low = 0
    let high = this.memory.frameCount - 1
    while (moved < maxMoves) {
      while (low < high && this.frameInUse[low]) low++
      while (high > low && !this.holdsPage(high)) high--
      if (low >= high) break
      this.migrateFrame(high, low)
      moved++
    }
    return moved
  }

  /** Every frame holding a user page (anonymous, shmem or file cache). */
  userFrames(): number[] {
    const frames: number[] = []
    if (this.pageCount === 0) return frames
    this.pagesByPfn.forEach((block, b) => {
      if (block) for (let i = 0; i < block.length; i++) if (block[i] !== undefined) frames.push(b * PAGES_PER_BLOCK + i)
    })
    return frames
  }

  /** The page in `pfn` (a bare anonymous page gets its Page object now), or undefined. */
  private pageAt(pfn: number): Page | undefined {
    const b = Math.floor(pfn / PAGES_PER_BLOCK)
    const held = this.pagesByPfn[b]?.[pfn % PAGES_PER_BLOCK]
    if (held === undefined || held instanceof Page) return held
    return held.bareToPage(this.bareVpns[b]![pfn % PAGES_PER_BLOCK]!)
  }

  /** Whether a page (bare or not) is in `pfn`. */
  private holdsPage(pfn: number): boolean {
    return this.pagesByPfn[Math.floor(pfn / PAGES_PER_BLOCK)]?.[pfn % PAGES_PER_BLOCK] !== undefined
  }

  private setPage(pfn: number, page: Page | HostMm | undefined): void {
    const b = Math.floor(pfn / PAGES_PER_BLOCK)
    let block = this.pagesByPfn[b]
    if (block === undefined) {
      if (page === undefined) return
      block = this.pagesByPfn[b] = new Array<Page | HostMm | undefined>(PAGES_PER_BLOCK).fill(undefined)
    }
    if (page instanceof HostMm) this.bareVpns[b] ??= new Float64Array(PAGES_PER_BLOCK)
    const before = block[pfn % PAGES_PER_BLOCK]
    if (before === undefined && page !== undefined) this.pageCount++
    else if (before !== undefined && page === undefined) this.pageCount--
    block[pfn % PAGES_PER_BLOCK] = page
  }
}

/** Whether two equally long word arrays hold the same words (Buffer.compare, without Node). */
function sameWords(a: Int32Array, b: Int32Array): boolean {
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false
  return true
}
