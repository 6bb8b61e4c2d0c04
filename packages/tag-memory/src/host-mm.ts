import { GRANULE_SIZE, PAGE_SIZE } from './constants.js'
import { ErrnoError } from './errno.js'
import { DeviceRegion, type HostFile } from './host-files.js'
import type { HostKernel } from './host-kernel.js'
import { PageTable } from './host-page-table.js'
import {
  HPAGE_FRAMES,
  HPAGE_SIZE,
  checkAddress,
  hex,
  pageAligned,
  roundUpPage,
  type Page,
  type PagePte,
  type Pte,
  type SwapEntry,
} from './host-pages.js'
import {
  MAP_ANONYMOUS,
  MAP_FIXED,
  MAP_FIXED_NOREPLACE,
  MAP_KNOWN,
  MAP_POPULATE,
  MAP_PRIVATE,
  MAP_SHARED,
  PROT_EXEC,
  PROT_KNOWN,
  PROT_MTE,
  PROT_READ,
  PROT_WRITE,
  USER_ADDRESS_LIMIT,
  USER_ADDRESS_MIN,
} from './mman.js'
import { pagemapScan, type PagemapScanArgs, type PagemapScanResult } from './pagemap-scan.js'
import type { PhysicalMemory } from './physical-memory.js'
import { checkTag } from './tags.js'

interface Vma {
  start: number
  end: number
  prot: number
  shared: boolean
  /** Backing object; an anonymous private mapping has none. */
  file: HostFile | null
  /** Page index in `file` that `start` maps. */
  pgoff: number
  anonymous: boolean
  /** VM_HUGEPAGE (madvise(MADV_HUGEPAGE)). */
  hugepage: boolean
  /** VM_MERGEABLE (madvise(MADV_MERGEABLE)): KSM may merge its identical pages. */
  mergeable: boolean
}

/** madvise advice values (asm-generic/mman-common.h). */
export const MADV_DONTNEED = 4
export const MADV_MERGEABLE = 12
export const MADV_UNMERGEABLE = 13
export const MADV_HUGEPAGE = 14
export const MADV_NOHUGEPAGE = 15
export const MADV_PAGEOUT = 21

/** What the hypervisor needs to know about a mapping (a VMA). */
export interface VmaInfo {
  readonly start: number
  readonly end: number
  readonly prot: number
  readonly backing: 'anonymous' | 'shmem' | 'file' | 'pfnmap'
  /** MAP_SHARED. */
  readonly shared: boolean
  readonly anonymous: boolean
  readonly readable: boolean
  readonly writable: boolean
  readonly executable: boolean
  /** VM_MTE_ALLOWED: PROT_MTE may be set (anonymous, shmem/memfd). */
  readonly mteAllowed: boolean
  /** VM_MTE: PROT_MTE is set, user accesses are Tagged. */
  readonly mte: boolean
  /** VM_PFNMAP: device memory with no struct pages. */
  readonly pfnmap: boolean
  readonly file: HostFile | null
  /** Byte offset in `file` that `start` maps. */
  readonly fileOffset: number
}

export interface MmapOptions {
  /** Hint, or the exact address with MAP_FIXED / MAP_FIXED_NOREPLACE. */
  addr?: number
  length: number
  prot: number
  flags: number
  /** The file to map (memfd, regular file, device region); omit with MAP_ANONYMOUS. */
  file?: HostFile
  /** Byte offset in the file, page aligned. */
  offset?: number
}

export interface FaultResult {
  /** The frame now backing the address (for a pfnmap, the device pfn). */
  readonly pfn: number
  /** The pfn is device memory (VM_PFNMAP): no struct page, no tags, not in PhysicalMemory. */
  readonly device: boolean
  /** The PTE allows writes (false for a read fault on a COW-shared or read-only page). */
  readonly writable: boolean
  /**
   * The shared zero page (a read fault on untouched anonymous memory). Its tags are zero
   * but it is never PG_mte_tagged, and nobody may initialise or write them.
   */
  readonly zeroPage: boolean
  /**
   * Size of the naturally aligned, physically contiguous host page holding the frame:
   * 2 MiB while it is part of an intact transparent huge page, else 4096.
   */
  readonly hostPageSize: number
}

export interface UserAccessOptions {
  /** The pointer's logical tag (bits 59:56); checked against allocation tags when Tagged. */
  tag?: number
}

export type TagCheckMode = 'none' | 'sync'

/** A synchronous tag check fault on a host user access (SIGSEGV, si_code SEGV_MTESERR). */
export class TagCheckFault extends Error {
  readonly signal = 'SIGSEGV'
  readonly code = 'SEGV_MTESERR'
  constructor(
    readonly address: number,
    readonly pointerTag: number,
    readonly allocationTag: number,
  ) {
    super(
      `SIGSEGV (SEGV_MTESERR) at 0x${address.toString(16)}: pointer tag ${pointerTag}, allocation tag ${allocationTag}`,
    )
    this.name = 'TagCheckFault'
  }
}

export type InvalidateListener = (start: number, end: number) => void

// ---- a process address space --------------------------------------------------------

/**
 * One process's address space: VMAs, page tables (PTEs per virtual page), user accesses
 * and the fault path the hypervisor uses to resolve a memslot address.
 */
export class HostMm {
  readonly kernel: HostKernel
  private vmaList: Vma[] = []
  /**
   * PTEs; a writable PTE of an exclusive private anonymous page (guest RAM, the VMM's heap) is
   * held as its bare frame number, with no Page or PTE object (no garbage per page when a VMM
   * fills gigabytes), until something needs the objects (`bareToPage`).
   */
  private readonly ptes = new PageTable((vpn, pfn) => this.materializeBare(vpn, pfn))
  private readonly invalidateListeners: InvalidateListener[] = []
  private tagCheck: TagCheckMode = 'none'
  /** faultInPages' frames taken new under `overwrite` (reused). */
  private readonly freshFrames: number[] = []
  /** Frames of the unchecked user-access path (reused, grown as needed). */
  private frameList = new Float64Array(64)

  /** @internal use HostKernel.createMm */
  constructor(kernel: HostKernel) {
    this.kernel = kernel
    kernel.registerMm(this)
  }

  private get memory(): PhysicalMemory {
    return this.kernel.memory
  }

  /** prctl(PR_SET_TAGGED_ADDR_CTRL, PR_MTE_TCF_*): tag checking of this process's accesses. */
  setTagCheckMode(mode: TagCheckMode): void {
    if (mode !== 'none' && mode !== 'sync') throw new RangeError(`tag check mode ${String(mode)} is not none or sync`)
    this.tagCheck = mode
  }

  get tagCheckMode(): TagCheckMode {
    return this.tagCheck
  }

  /** MMU-notifier style: called with [start, end) before PTEs in that range change or go. */
  onInvalidate(listener: InvalidateListener): () => void {
    this.invalidateListeners.push(listener)
    return () => {
      const at = this.invalidateListeners.indexOf(listener)
      if (at >= 0) this.invalidateListeners.splice(at, 1)
    }
  }

  /** @internal */
  notifyInvalidate(start: number, end: number): void {
    for (const listener of this.invalidateListeners.slice()) listener(start, end)
  }

  // ---- VMAs ----

  private describe(vma: Vma): VmaInfo {
    const file = vma.file
    const backing = file === null ? 'anonymous' : vma.anonymous ? 'shmem' : file.kind
    return {
      start: vma.start,
      end: vma.end,
      prot: vma.prot,
      backing,
      shared: vma.shared,
      anonymous: vma.anonymous,
      readable: (vma.prot & (PROT_READ | PROT_WRITE | PROT_EXEC)) !== 0,
      writable: (vma.prot & PROT_WRITE) !== 0,
      executable: (vma.prot & PROT_EXEC) !== 0,
      mteAllowed: mteAllowed(vma),
      mte: (vma.prot & PROT_MTE) !== 0,
      pfnmap: file?.kind === 'pfnmap',
      file: vma.anonymous ? null : file,
      fileOffset: vma.pgoff * PAGE_SIZE,
    }
  }

  private vmaAt(hva: number): Vma | undefined {
    let lo = 0
    let hi = this.vmaList.length - 1
    while (lo <= hi) {
      const mid = (lo + hi) >>> 1
      const vma = this.vmaList[mid] as Vma
      if (hva < vma.start) hi = mid - 1
      else if (hva >= vma.end) lo = mid + 1
      else return vma
    }
    return undefined
  }

  /** The VMA containing `hva`, or null. */
  findVma(hva: number): VmaInfo | null {
    checkAddress(hva)
    const vma = this.vmaAt(hva)
    return vma ? this.describe(vma) : null
  }

  /** VMAs intersecting [start, end), in address order (holes are simply absent). */
  vmasIn(start: number, end: number): VmaInfo[] {
    return this.vmaList.filter((v) => v.start < end && v.end > start).map((v) => this.describe(v))
  }

  vmas(): VmaInfo[] {
    return this.vmaList.map((v) => this.describe(v))
  }

  private rangeIsFree(start: number, end: number): boolean {
    return !this.vmaList.some((v) => v.start < end && v.end > start)
  }

  private findFreeRange(length: number): number {
    // Top-down, like the arm64 mmap layout.
    let top = USER_ADDRESS_LIMIT / 2
    for (let i = this.vmaList.length - 1; i >= -1; i--) {
      const vma = this.vmaList[i]
      const floor = vma ? vma.end : USER_ADDRESS_MIN
      if (vma && vma.start >= top) continue
      // Mappings of 2 MiB or more start 2 MiB aligned, so huge pages can back them.
      const start = length >= HPAGE_SIZE ? Math.floor((top - length) / HPAGE_SIZE) * HPAGE_SIZE : top - length
      if (start >= floor) return start
      if (vma) top = Math.min(top, vma.start)
    }
    throw new ErrnoError('ENOMEM', `no free address range of ${length} bytes`)
  }

  mmap(options: MmapOptions): number {
    const { addr = 0, length, prot, flags, file, offset = 0 } = options
    if (!Number.isInteger(length) || length <= 0) throw new ErrnoError('EINVAL', `mmap length ${length} must be positive`)
    if (!Number.isInteger(prot) || (prot & ~PROT_KNOWN) !== 0) throw new ErrnoError('EINVAL', `unknown prot bits in ${hex(prot >>> 0)}`)
    if (!Number.isInteger(flags) || (flags & ~MAP_KNOWN) !== 0) throw new ErrnoError('EINVAL', `unsupported mmap flags in ${hex(flags >>> 0)}`)
    // MAP_SHARED_VALIDATE (both bits) is MAP_SHARED with unknown flags refused, as here always.
    const bits = flags & (MAP_SHARED | MAP_PRIVATE)
    if (bits === 0) throw new ErrnoError('EINVAL', 'one of MAP_SHARED, MAP_SHARED_VALIDATE and MAP_PRIVATE is required')
    const type = bits === MAP_PRIVATE ? MAP_PRIVATE : MAP_SHARED
    if (!Number.isInteger(offset) || offset < 0 || !pageAligned(offset)) throw new ErrnoError('EINVAL', `offset ${offset} is not page aligned`)
    if (!Number.isInteger(addr) || addr < 0) throw new ErrnoError('EINVAL', `address ${addr} is not valid`)
    const anonymous = (flags & MAP_ANONYMOUS) !== 0
    if (anonymous === (file !== undefined)) {
      throw new ErrnoError(anonymous ? 'EINVAL' : 'EBADF', anonymous ? 'MAP_ANONYMOUS takes no file' : 'a file mapping needs a file')
    }
    const size = roundUpPage(length)
    const fixed = (flags & (MAP_FIXED | MAP_FIXED_NOREPLACE)) !== 0
    if (fixed && !pageAligned(addr)) throw new ErrnoError('EINVAL', `fixed address ${hex(addr)} is not page aligned`)
    if (size > USER_ADDRESS_LIMIT || addr + size > USER_ADDRESS_LIMIT) throw new ErrnoError('ENOMEM', `${size} bytes do not fit in the address space`)
    if (fixed && addr < USER_ADDRESS_MIN) throw new ErrnoError('EPERM', `address ${hex(addr)} is below mmap_min_addr`)
    const shared = type === MAP_SHARED
    let backing: HostFile | null = file ?? null
    if (file instanceof DeviceRegion && (offset + size > file.size || !shared)) {
      throw new ErrnoError('EINVAL', `device region ${file.name} cannot map ${size} bytes at ${offset}${shared ? '' : ' privately'}`)
    }
    const vma: Vma = { start: 0, end: 0, prot, shared, file: backing, pgoff: offset / PAGE_SIZE, anonymous, hugepage: false, mergeable: false }
    // arch_validate_flags: VM_MTE needs VM_MTE_ALLOWED.
    if (prot & PROT_MTE && !mteAllowed(vma)) {
      throw new ErrnoError('EINVAL', `PROT_MTE is not allowed on a ${file?.kind ?? 'anonymous'} mapping`)
    }
    let start: number
    if (fixed) {
      start = addr
      if (flags & MAP_FIXED_NOREPLACE && !this.rangeIsFree(start, start + size)) {
        throw new ErrnoError('EEXIST', `${hex(start)}+${hex(size)} overlaps an existing mapping`)
      }
    } else if (addr >= USER_ADDRESS_MIN && pageAligned(addr) && this.rangeIsFree(addr, addr + size)) {
      start = addr
    } else {
      start = this.findFreeRange(size)
    }
    if (anonymous && shared) {
      // MAP_SHARED|MAP_ANONYMOUS is backed by an unnamed shmem object.
      backing = this.kernel.memfdCreate('dev/zero (deleted)', size)
      vma.file = backing
    }
    if (fixed) this.unmapRange(start, start + size)
    vma.start = start
    vma.end = start + size
    this.insertVma(vma)
    if (flags & MAP_POPULATE && !(backing instanceof DeviceRegion)) this.populate(vma)
    return start
  }

  private populate(vma: Vma): void {
    const write = (vma.prot & PROT_WRITE) !== 0
    try {
      for (let hva = vma.start; hva < vma.end; hva += PAGE_SIZE) this.faultIn(hva, { write })
    } catch (err) {
      // MAP_POPULATE is best effort, as in Linux.
      if (!(err instanceof ErrnoError)) throw err
    }
  }

  private insertVma(vma: Vma): void {
    let at = 0
    while (at < this.vmaList.length && (this.vmaList[at] as Vma).start < vma.start) at++
    this.vmaList.splice(at, 0, vma)
  }

  /** Splits VMAs so that `hva` is a boundary (if it falls inside one). */
  private splitAt(hva: number): void {
    const vma = this.vmaAt(hva)
    if (!vma || vma.start === hva) return
    const tail: Vma = { ...vma, start: hva, pgoff: vma.pgoff + (hva - vma.start) / PAGE_SIZE }
    vma.end = hva
    this.insertVma(tail)
  }

  munmap(addr: number, length: number): void {
    if (!Number.isInteger(addr) || !pageAligned(addr) || addr < 0) throw new ErrnoError('EINVAL', `munmap address ${addr} is not page aligned`)
    if (!Number.isInteger(length) || length <= 0) throw new ErrnoError('EINVAL', `munmap length ${length} must be positive`)
    const end = addr + roundUpPage(length)
    if (end > USER_ADDRESS_LIMIT) throw new ErrnoError('EINVAL', 'munmap range is beyond the address space')
    this.unmapRange(addr, end)
  }

  private unmapRange(start: number, end: number): void {
    if (this.rangeIsFree(start, end)) return
    this.splitHugePagesAt(start)
    this.splitHugePagesAt(end)
    this.notifyInvalidate(start, end)
    this.splitAt(start)
    this.splitAt(end)
    this.vmaList = this.vmaList.filter((v) => !(v.start >= start && v.end <= end))
    this.forEachMapped(start, end, (vpn) => this.dropPte(vpn))
  }

  /** A huge page cut by a boundary at `hva` (munmap, mprotect, madvise) splits first. */
  private splitHugePagesAt(hva: number): void {
    if (hva % HPAGE_SIZE === 0) return
    const first = Math.floor(hva / HPAGE_SIZE) * HPAGE_FRAMES
    for (let vpn = first; vpn < first + HPAGE_FRAMES; vpn++) {
      // A bare anonymous page is never part of a huge page: left bare.
      const pte = this.ptes.raw(vpn)
      if (typeof pte === 'object' && pte.kind === 'page' && pte.page.folioHead >= 0) this.kernel.splitFolio(pte.page)
    }
  }

  /**
   * madvise over a fully mapped range (else ENOMEM; nothing applied):
   * - MADV_HUGEPAGE / MADV_NOHUGEPAGE: whether transparent huge pages may back the range
   *   when the kernel's mode is 'madvise';
   * - MADV_DONTNEED: drop the range's pages (a balloon or free page reporting does this);
   *   private anonymous memory reads as zero afterwards, shared memory keeps its data;
   * - MADV_PAGEOUT: swap out the range's resident pages (the zero page stays);
   * - MADV_MERGEABLE / MADV_UNMERGEABLE: whether `HostKernel.ksmScan` may merge the
   *   range's identical anonymous pages.
   */
  madvise(addr: number, length: number, advice: number): void {
    if (!Number.isInteger(addr) || !pageAligned(addr) || addr < 0) throw new ErrnoError('EINVAL', `madvise address ${addr} is not page aligned`)
    if (!Number.isInteger(length) || length < 0) throw new ErrnoError('EINVAL', `madvise length ${length} is not valid`)
    if (![MADV_DONTNEED, MADV_MERGEABLE, MADV_UNMERGEABLE, MADV_HUGEPAGE, MADV_NOHUGEPAGE, MADV_PAGEOUT].includes(advice)) {
      throw new ErrnoError('EINVAL', `madvise advice ${advice} is not modelled`)
    }
    const end = addr + roundUpPage(length)
    if (end === addr) return
    const covered = this.checkFullyMapped(addr, end)
    if (advice === MADV_DONTNEED) {
      const locked = covered.find((v) => v.file instanceof DeviceRegion)
      if (locked) throw new ErrnoError('EINVAL', `MADV_DONTNEED on the pfn mapping at ${hex(locked.start)}`)
      this.splitHugePagesAt(addr)
      this.splitHugePagesAt(end)
      this.notifyInvalidate(addr, end)
      this.forEachMapped(addr, end, (vpn) => this.dropPte(vpn))
      return
    }
    if (advice === MADV_PAGEOUT) {
      this.forEachPte(addr, end, (vpn, pte) => {
        // An earlier swap-out in this loop may have replaced this PTE already.
        const current = this.ptes.get(vpn)
        if (current === pte && pte.kind === 'page' && !pte.page.isZero) this.kernel.swapOutPage(pte.page)
      })
      return
    }
    this.splitAt(addr)
    this.splitAt(end)
    for (const v of this.vmaList) {
      if (v.start < addr || v.end > end) continue
      if (advice === MADV_HUGEPAGE || advice === MADV_NOHUGEPAGE) v.hugepage = advice === MADV_HUGEPAGE
      else v.mergeable = advice === MADV_MERGEABLE
    }
  }

  private checkFullyMapped(addr: number, end: number): Vma[] {
    if (end > USER_ADDRESS_LIMIT) throw new ErrnoError('ENOMEM', `${hex(addr)}+${hex(end - addr)} is beyond the address space`)
    const covered = this.vmaList.filter((v) => v.start < end && v.end > addr)
    let at = addr
    for (const v of covered) {
      if (v.start > at) break
      at = v.end
    }
    if (at < end) throw new ErrnoError('ENOMEM', `${hex(addr)}+${hex(end - addr)} is not fully mapped`)
    return covered
  }

  private forEachPte(start: number, end: number, visit: (vpn: number, pte: Pte) => void): void {
    // Collected first: a visit may change PTEs other than its own (a swap-out of a shared page).
    const found: [number, Pte][] = []
    this.ptes.forEachIn(start / PAGE_SIZE, end / PAGE_SIZE, (vpn, pte) => {
      found.push([vpn, pte])
    })
    for (const [vpn, pte] of found) visit(vpn, pte)
  }

  /** As forEachPte for visits that need only the page number (bare anonymous pages stay bare). */
  private forEachMapped(start: number, end: number, visit: (vpn: number) => void): void {
    const found: number[] = []
    this.ptes.forEachRawIn(start / PAGE_SIZE, end / PAGE_SIZE, (vpn) => {
      found.push(vpn)
    })
    for (const vpn of found) visit(vpn)
  }

  /**
   * mprotect: all of [addr, addr+length) must be mapped (else ENOMEM); adding PROT_MTE needs
   * VM_MTE_ALLOWED on every VMA in the range (else EINVAL). Checked before anything changes.
   */
  mprotect(addr: number, length: number, prot: number): void {
    if (!Number.isInteger(addr) || !pageAligned(addr) || addr < 0) throw new ErrnoError('EINVAL', `mprotect address ${addr} is not page aligned`)
    if (!Number.isInteger(length) || length < 0) throw new ErrnoError('EINVAL', `mprotect length ${length} is not valid`)
    if (!Number.isInteger(prot) || (prot & ~PROT_KNOWN) !== 0) throw new ErrnoError('EINVAL', `unknown prot bits in ${hex(prot >>> 0)}`)
    const end = addr + roundUpPage(length)
    if (end === addr) return
    const covered = this.checkFullyMapped(addr, end)
    if (prot & PROT_MTE) {
      const refused = covered.find((v) => !mteAllowed(v))
      if (refused) throw new ErrnoError('EINVAL', `PROT_MTE is not allowed on the ${refused.file?.kind ?? 'anonymous'} mapping at ${hex(refused.start)}`)
    }
    this.splitHugePagesAt(addr)
    this.splitHugePagesAt(end)
    this.notifyInvalidate(addr, end)
    this.splitAt(addr)
    this.splitAt(end)
    for (const v of this.vmaList) if (v.start >= addr && v.end <= end) v.prot = prot
    const canWrite = (prot & PROT_WRITE) !== 0
    this.forEachPte(addr, end, (vpn, pte) => {
      if (pte.kind !== 'page') return
      if (!canWrite) pte.writable = false
      // set_pte_at on a Tagged PTE: the page's tags become valid (zeroed) if they were not.
      if (prot & PROT_MTE && !pte.page.isZero) this.kernel.syncTags(pte.page.pfn)
    })
  }

  // ---- page tables ----

  private install(vpn: number, page: Page, writable: boolean): PagePte {
    const pte: PagePte = { kind: 'page', page, writable }
    this.ptes.set(vpn, pte)
    if (page.isZero) return pte
    page.refs++
    page.addMapping(this, vpn)
    return pte
  }

  /**
   * The Page and PTE objects of the bare anonymous page at `vpn` (frame `pfn`): one reference,
   * this one writable mapping, as `install` would have made them.
   */
  private materializeBare(vpn: number, pfn: number): PagePte {
    const page = this.kernel.adoptBarePage(pfn)
    page.refs = 1
    page.addMapping(this, vpn)
    const pte: PagePte = { kind: 'page', page, writable: true }
    this.ptes.set(vpn, pte)
    return pte
  }

  /** @internal The Page of the bare anonymous page this address space maps at `vpn` (made now). */
  bareToPage(vpn: number): Page {
    const raw = this.ptes.raw(vpn)
    if (typeof raw !== 'number') throw new Error(`no bare anonymous page at vpn ${vpn}`)
    return this.materializeBare(vpn, raw).page
  }

  /** @internal Removes the PTE at `vpn` and drops what it referenced. */
  dropPte(vpn: number): void {
    const raw = this.ptes.raw(vpn)
    if (raw === undefined) return
    this.ptes.delete(vpn)
    if (typeof raw === 'number') {
      this.kernel.putBarePage(raw)
      return
    }
    const pte = raw
    if (pte.kind === 'swap') {
      this.kernel.dropSwapRef(pte.entry)
      return
    }
    if (pte.page.isZero) return
    pte.page.removeMapping(this, vpn)
    this.kernel.putPage(pte.page)
  }

  /** @internal Swap-out: the PTE at `vpn` now names a swap entry (the page ref goes with it). */
  replaceWithSwap(vpn: number, entry: SwapEntry): void {
    const pte = this.ptes.get(vpn)
    if (!pte || pte.kind !== 'page') throw new Error(`no present PTE at vpn ${vpn}`)
    this.ptes.set(vpn, { kind: 'swap', entry })
    this.kernel.putPage(pte.page)
  }

  /**
   * Resolves `hva` to the frame behind it, as get_user_pages does for KVM: allocates,
   * swaps in, breaks COW on write (copying tags of a tagged page) and makes tags valid on
   * Tagged (PROT_MTE) mappings. EFAULT for no mapping, no permission, or past the file end;
   * ENOMEM when no frame is free.
   */
  faultIn(hva: number, options: { write: boolean }): FaultResult {
    checkAddress(hva)
    const write = options.write
    const vma = this.vmaAt(hva)
    this.checkFaultAccess(hva, vma, write)
    const pageIndex = vma.pgoff + Math.floor((hva - vma.start) / PAGE_SIZE)
    if (vma.file instanceof DeviceRegion) {
      return { pfn: vma.file.basePfn + pageIndex, device: true, writable: (vma.prot & PROT_WRITE) !== 0, zeroPage: false, hostPageSize: PAGE_SIZE }
    }
    const vpn = Math.floor(hva / PAGE_SIZE)
    const pfn = this.faultFrame(vpn, pageIndex, vma, write, false)
    const pte = this.ptes.raw(vpn) as PagePte | number
    if (typeof pte === 'number') return { pfn, device: false, writable: true, zeroPage: false, hostPageSize: PAGE_SIZE }
    const page = pte.page
    return {
      pfn: page.pfn,
      device: false,
      writable: pte.writable,
      zeroPage: page.isZero,
      hostPageSize: page.folioHead >= 0 ? HPAGE_SIZE : PAGE_SIZE,
    }
  }

  /** EFAULT for no mapping or an access the mapping does not permit. */
  private checkFaultAccess(hva: number, vma: Vma | undefined, write: boolean): asserts vma is Vma {
    if (!vma) throw new ErrnoError('EFAULT', `no mapping at ${hex(hva)}`)
    if (write ? !(vma.prot & PROT_WRITE) : !(vma.prot & (PROT_READ | PROT_WRITE | PROT_EXEC))) {
      throw new ErrnoError('EFAULT', `${write ? 'write to' : 'read of'} ${hex(hva)} not permitted by the mapping`)
    }
  }

  /**
   * The frame of virtual page `vpn` of `vma` (not a pfnmap) after a fault, as `faultPte`, but
   * a bare anonymous page stays bare and a write fault on an empty private anonymous page that
   * no huge page can back makes one (what newAnonPage and install do, without their objects).
   */
  private faultFrame(vpn: number, pageIndex: number, vma: Vma, write: boolean, overwrite: boolean): number {
    const raw = this.ptes.raw(vpn)
    if (typeof raw === 'number') {
      if (vma.prot & PROT_MTE) this.kernel.syncTags(raw)
      return raw
    }
    if (raw === undefined && write && vma.file === null && !this.mayTakeHugePage(vma)) {
      const pfn = this.kernel.newBarePage(this, vpn)
      if (!overwrite) this.memory.fill(pfn * PAGE_SIZE, PAGE_SIZE, 0)
      if (vma.prot & PROT_MTE) this.kernel.syncTags(pfn)
      this.ptes.setFrame(vpn, pfn)
      return pfn
    }
    return this.faultPte(vpn, pageIndex, vma, write, overwrite).page.pfn
  }

  /** Whether transparent huge pages may back `vma` at all (hugePageFault's first test). */
  private mayTakeHugePage(vma: Vma): boolean {
    const mode = this.kernel.transparentHugepages
    return !(mode === 'never' || (mode === 'madvise' && !vma.hugepage) || vma.shared || vma.file !== null)
  }

  /**
   * The PTE of virtual page `vpn` of `vma` (not a pfnmap) after a fault: swapped in,
   * populated, COW broken for a write, tags made valid on a Tagged mapping. `overwrite`: a new
   * anonymous frame is not zeroed (its caller fills it whole at once).
   */
  private faultPte(vpn: number, pageIndex: number, vma: Vma, write: boolean, overwrite: boolean): PagePte {
    const found = this.ptes.get(vpn)
    let pte: PagePte
    if (found?.kind === 'swap') pte = this.swapIn(vpn, found.entry, vma)
    else if (found) pte = found
    else pte = this.populatePage(vpn, pageIndex, vma, write, overwrite)
    if (write && !pte.writable) pte = this.breakCow(vpn, vma, pte)
    // The zero page is pte_special: set_pte_at never syncs its tags.
    if (vma.prot & PROT_MTE && !pte.page.isZero) this.kernel.syncTags(pte.page.pfn)
    return pte
  }

  /**
   * get_user_pages over a range: faults in `count` pages from page-aligned `hva` as `faultIn`
   * does each (a VMA looked up once for all its pages, not per page), and puts their frames
   * in `pfns` from `pfnsOffset` (a pfnmap gives its device frames, which are not RAM). Returns
   * the pages done: `count`, or fewer when a later page cannot be faulted in (`faultIn` on
   * that page says why; those before it stay faulted in). Throws when the first page cannot
   * be, or the arguments are bad (misaligned, a short list), before any page is touched.
   *
   * `overwrite` is UFFDIO_COPY's fill: the caller writes every byte of each page before anyone
   * reads it, so a new anonymous frame is not zeroed first (swapped, shared, file and
   * copy-on-write pages are faulted in as usual). When the call stops short, the frames it
   * took new are zeroed before it returns, so nothing stale is ever left mapped.
   */
  faultInPages(hva: number, count: number, options: { readonly write: boolean; readonly overwrite?: boolean }, pfns: { [index: number]: number; readonly length: number }, pfnsOffset = 0): number {
    checkAddress(hva)
    if (hva % PAGE_SIZE !== 0) throw new RangeError(`faultInPages: ${hex(hva)} is not page aligned`)
    if (!(Number.isInteger(count) && count >= 0 && hva + count * PAGE_SIZE <= USER_ADDRESS_LIMIT)) {
      throw new RangeError(`faultInPages: ${count} pages at ${hex(hva)} leave the address space`)
    }
    if (!(Number.isInteger(pfnsOffset) && pfnsOffset >= 0 && pfnsOffset + count <= pfns.length)) {
      throw new RangeError(`faultInPages: a list of ${pfns.length} cannot hold ${count} frames at ${pfnsOffset}`)
    }
    const write = options.write
    const overwrite = options.overwrite === true
    // Under `overwrite`, the frames taken new (not zeroed): zeroed after all if the call stops short.
    const fresh = this.freshFrames
    fresh.length = 0
    const stop = (i: number, error: unknown): number => {
      for (const pfn of fresh) this.memory.fill(pfn * PAGE_SIZE, PAGE_SIZE, 0)
      fresh.length = 0
      if (i === 0 || !(error instanceof ErrnoError)) throw error
      return i
    }
    let vma: Vma | undefined
    for (let i = 0; i < count; i++) {
      const at = hva + i * PAGE_SIZE
      if (!vma || at >= vma.end) {
        vma = this.vmaAt(at)
        try {
          this.checkFaultAccess(at, vma, write)
        } catch (error) {
          return stop(i, error)
        }
      }
      const pageIndex = vma.pgoff + (at - vma.start) / PAGE_SIZE
      const file = vma.file
      if (file instanceof DeviceRegion) {
        pfns[pfnsOffset + i] = file.basePfn + pageIndex
        continue
      }
      const vpn = at / PAGE_SIZE
      const raw = this.ptes.raw(vpn)
      let pfn: number
      if (typeof raw === 'number') {
        // A bare anonymous page, writable and exclusive: nothing to fault (faultFrame's first case).
        if (vma.prot & PROT_MTE) this.kernel.syncTags(raw)
        pfns[pfnsOffset + i] = raw
        continue
      }
      try {
        pfn = this.faultFrame(vpn, pageIndex, vma, write, overwrite)
      } catch (error) {
        return stop(i, error)
      }
      pfns[pfnsOffset + i] = pfn
      if (overwrite && raw === undefined) fresh.push(pfn)
    }
    fresh.length = 0
    return count
  }

  /** Whether faulting `hva` in (for a write or not) would take a new frame. */
  wouldAllocate(hva: number, options: { write: boolean }): boolean {
    checkAddress(hva)
    const vma = this.vmaAt(hva)
    if (!vma || vma.file instanceof DeviceRegion) return false
    const pte = this.ptes.raw(Math.floor(hva / PAGE_SIZE))
    // A bare anonymous page is mapped writable and exclusive.
    if (typeof pte === 'number') return false
    if (!pte) {
      if (vma.file === null) return options.write
      if (!vma.shared && options.write) return true
      const file = vma.file
      if (file instanceof DeviceRegion) return false
      return !this.kernel.isCached(file, vma.pgoff + Math.floor((hva - vma.start) / PAGE_SIZE))
    }
    if (pte.kind === 'swap') return true
    return options.write && !pte.writable && !(vma.shared || (pte.page.owner === null && pte.page.refs === 1))
  }

  /** PAGEMAP_SCAN on this process's /proc/self/pagemap (see pagemap-scan.ts). */
  pagemapScan(args: PagemapScanArgs): PagemapScanResult {
    return pagemapScan(this.vmaList.map((v) => ({ start: v.start, end: v.end, pfnmap: v.file instanceof DeviceRegion })), this.ptes, args)
  }

  /** The frame currently mapped at `hva` (no fault), or null when not resident. */
  residentFrame(hva: number): number | null {
    checkAddress(hva)
    const pte = this.ptes.raw(Math.floor(hva / PAGE_SIZE))
    if (typeof pte === 'number') return pte
    return pte?.kind === 'page' ? pte.page.pfn : null
  }

  private populatePage(vpn: number, pageIndex: number, vma: Vma, write: boolean, overwrite: boolean): PagePte {
    const writable = (vma.prot & PROT_WRITE) !== 0
    const file = vma.file
    if (file === null && !write) return this.install(vpn, this.kernel.zeroPage(), false)
    if (file === null) return this.hugePageFault(vpn, vma) ?? this.install(vpn, this.newAnonPage(vma, !overwrite), writable)
    if (file instanceof DeviceRegion) throw new Error('unreachable: pfnmap has no pages')
    const cachePage = this.kernel.filePage(file, pageIndex)
    if (vma.shared) return this.install(vpn, cachePage, writable)
    if (write) return this.install(vpn, this.kernel.copyPage(cachePage, (vma.prot & PROT_MTE) !== 0), true)
    return this.install(vpn, cachePage, false)
  }

  /**
   * A write fault in an empty, 2 MiB aligned block of anonymous private memory may take a
   * transparent huge page: 512 contiguous frames, zeroed (tags too on a Tagged mapping),
   * all mapped at once. Null when not eligible or no contiguous block is free.
   */
  private hugePageFault(vpn: number, vma: Vma): PagePte | null {
    if (!this.mayTakeHugePage(vma)) return null
    const first = Math.floor(vpn / HPAGE_FRAMES) * HPAGE_FRAMES
    if (first * PAGE_SIZE < vma.start || (first + HPAGE_FRAMES) * PAGE_SIZE > vma.end) return null
    for (let v = first; v < first + HPAGE_FRAMES; v++) if (this.ptes.has(v)) return null
    const pages = this.kernel.newHugePages()
    if (!pages) return null
    const head = (pages[0] as Page).pfn
    this.memory.fill(head * PAGE_SIZE, HPAGE_SIZE, 0)
    const writable = (vma.prot & PROT_WRITE) !== 0
    let faulting: PagePte | null = null
    for (const [i, page] of pages.entries()) {
      if (vma.prot & PROT_MTE) this.kernel.syncTags(page.pfn)
      const pte = this.install(first + i, page, writable)
      if (first + i === vpn) faulting = pte
    }
    return faulting
  }

  /**
   * A new anonymous page: zeroed data (unless `zero` is false: its caller overwrites it whole).
   * Tags are zeroed too only for a Tagged mapping (tag_clear_highpage); otherwise the frame
   * keeps whatever tags it had.
   */
  private newAnonPage(vma: Vma, zero = true): Page {
    const page = this.kernel.newPage(null, 0)
    if (zero) this.memory.fill(page.pfn * PAGE_SIZE, PAGE_SIZE, 0)
    if (vma.prot & PROT_MTE) this.kernel.syncTags(page.pfn)
    return page
  }

  private swapIn(vpn: number, entry: SwapEntry, vma: Vma): PagePte {
    const page = this.kernel.swapInAnon(entry)
    this.ptes.delete(vpn)
    const pte = this.install(vpn, page, false)
    this.kernel.dropSwapRef(entry)
    // Exclusive once no other PTE or swap cache shares it.
    pte.writable = (vma.prot & PROT_WRITE) !== 0 && page.refs === 1
    return pte
  }

  private breakCow(vpn: number, vma: Vma, pte: PagePte): PagePte {
    if (vma.shared || (pte.page.owner === null && pte.page.refs === 1)) {
      pte.writable = true
      return pte
    }
    this.kernel.splitFolio(pte.page)
    // Writing to the zero page gets a new zeroed page, not a copy of the zero page's tags.
    const copy = pte.page.isZero ? this.newAnonPage(vma) : this.kernel.copyPage(pte.page, (vma.prot & PROT_MTE) !== 0)
    this.notifyInvalidate(vpn * PAGE_SIZE, (vpn + 1) * PAGE_SIZE)
    this.dropPte(vpn)
    return this.install(vpn, copy, true)
  }

  // ---- swap and migration by address ----

  /**
   * Swaps out the page mapped at `hva` (EFAULT if nothing is resident there). Returns
   * false for the zero page, which is never swapped (as MADV_PAGEOUT skips it).
   */
  swapOut(hva: number): boolean {
    checkAddress(hva)
    const pte = this.ptes.get(Math.floor(hva / PAGE_SIZE))
    if (pte?.kind !== 'page') throw new ErrnoError('EFAULT', `no resident page at ${hex(hva)}`)
    if (pte.page.isZero) return false
    this.kernel.swapOutPage(pte.page)
    return true
  }

  /** Migrates the page mapped at `hva`; returns its new frame. */
  migrate(hva: number, targetPfn?: number): number {
    const pfn = this.residentFrame(hva)
    if (pfn === null) throw new ErrnoError('EFAULT', `no resident page at ${hex(hva)}`)
    if (pfn === this.kernel.zeroPfn) throw new ErrnoError('EFAULT', `${hex(hva)} maps the zero page, which does not move`)
    return this.kernel.migrateFrame(pfn, targetPfn)
  }

  /** fork(): a new address space with the same mappings; private pages become copy-on-write. */
  fork(): HostMm {
    const child = new HostMm(this.kernel)
    child.vmaList = this.vmaList.map((v) => ({ ...v }))
    child.tagCheck = this.tagCheck
    for (const [vpn, pte] of this.ptes.entries()) {
      if (pte.kind === 'swap') {
        child.ptes.set(vpn, { kind: 'swap', entry: pte.entry })
        pte.entry.refs++
        continue
      }
      const vma = this.vmaAt(vpn * PAGE_SIZE) as Vma
      if (!vma.shared && pte.writable) {
        this.notifyInvalidate(vpn * PAGE_SIZE, (vpn + 1) * PAGE_SIZE)
        pte.writable = false
      }
      child.install(vpn, pte.page, pte.writable)
    }
    return child
  }

  /** Unmaps everything (process exit). */
  exit(): void {
    for (const v of this.vmaList.slice()) this.unmapRange(v.start, v.end)
    this.kernel.unregisterMm(this)
  }

  /**
   * @internal KSM candidates: each present PTE of a mergeable private anonymous mapping
   * with an ordinary (not zero, not huge, not swap-cached) anonymous page.
   */
  ksmCandidates(): { vpn: number; page: Page }[] {
    const out: { vpn: number; page: Page }[] = []
    for (const vma of this.vmaList) {
      if (!vma.mergeable || vma.shared || vma.file !== null) continue
      this.forEachPte(vma.start, vma.end, (vpn, pte) => {
        if (pte.kind !== 'page') return
        const page = pte.page
        if (page.isZero || page.owner !== null || page.folioHead >= 0 || page.swapCacheOf) return
        out.push({ vpn, page })
      })
    }
    return out
  }

  /** @internal KSM: the PTE at `vpn` now maps `page` read-only (copy on write). */
  remapToMerged(vpn: number, page: Page): void {
    this.notifyInvalidate(vpn * PAGE_SIZE, (vpn + 1) * PAGE_SIZE)
    this.dropPte(vpn)
    this.install(vpn, page, false)
  }

  /** @internal Write-protects the PTE at `vpn` (a page about to be shared). */
  writeProtect(vpn: number): void {
    const pte = this.ptes.get(vpn)
    if (pte?.kind !== 'page' || !pte.writable) return
    this.notifyInvalidate(vpn * PAGE_SIZE, (vpn + 1) * PAGE_SIZE)
    pte.writable = false
  }

  // ---- user accesses ----

  /**
   * Faults in every page of [hva, hva+length) first, so that a bad address fails before
   * anything is read or written. Returns one [pa, length, vma] span per page.
   */
  private resolve(hva: number, length: number, write: boolean): { pa: number; length: number; vma: Vma }[] {
    checkAddress(hva)
    if (!(Number.isInteger(length) && length >= 0 && hva + length <= USER_ADDRESS_LIMIT)) {
      throw new RangeError(`length ${length} at ${hex(hva)} leaves the address space`)
    }
    const spans: { pa: number; length: number; vma: Vma }[] = []
    let at = hva
    const end = hva + length
    while (at < end) {
      const { pfn } = this.faultIn(at, { write })
      const inPage = at % PAGE_SIZE
      const n = Math.min(end - at, PAGE_SIZE - inPage)
      spans.push({ pa: pfn * PAGE_SIZE + inPage, length: n, vma: this.vmaAt(at) as Vma })
      at += n
    }
    return spans
  }

  private checkTags(hva: number, spans: { pa: number; length: number; vma: Vma }[], tag: number): void {
    if (this.tagCheck === 'none') return
    let va = hva
    for (const span of spans) {
      if (span.vma.prot & PROT_MTE) {
        const firstGranule = span.pa - (span.pa % GRANULE_SIZE)
        for (let g = firstGranule; g < span.pa + span.length; g += GRANULE_SIZE) {
          const allocationTag = this.memory.getTag(g)
          if (allocationTag !== tag) throw new TagCheckFault(Math.max(va, va + (g - span.pa)), tag, allocationTag)
        }
      }
      va += span.length
    }
  }

  /**
   * A user-space load of `dst.length` bytes at `hva` through a pointer carrying `tag`.
   * Checked against allocation tags only on PROT_MTE mappings with tag checking on.
   */
  userRead(hva: number, dst: Uint8Array, options: UserAccessOptions = {}): void {
    const tag = checkTag(options.tag ?? 0)
    if (this.tagCheck === 'none') {
      this.copyUser(hva, dst, false)
      return
    }
    const spans = this.resolve(hva, dst.length, false)
    this.checkTags(hva, spans, tag)
    let done = 0
    for (const span of spans) {
      this.memory.readBytes(span.pa, dst.subarray(done, done + span.length))
      done += span.length
    }
  }

  /** A user-space store; a tag check fault or EFAULT leaves memory unchanged. */
  userWrite(hva: number, src: Uint8Array, options: UserAccessOptions = {}): void {
    const tag = checkTag(options.tag ?? 0)
    if (this.tagCheck === 'none') {
      this.copyUser(hva, src, true)
      return
    }
    const spans = this.resolve(hva, src.length, true)
    this.checkTags(hva, spans, tag)
    let done = 0
    for (const span of spans) {
      this.memory.writeBytes(span.pa, src.subarray(done, done + span.length))
      done += span.length
    }
  }

  /**
   * An unchecked user access (no tag checks can fail): every page is faulted in first (so a
   * bad address fails before anything is copied), pages a write covers whole without
   * zeroing them first (it fills them at once), then one copy per run of consecutive frames.
   */
  private copyUser(hva: number, bytes: Uint8Array, write: boolean): void {
    checkAddress(hva)
    const length = bytes.length
    if (!(hva + length <= USER_ADDRESS_LIMIT)) throw new RangeError(`length ${length} at ${hex(hva)} leaves the address space`)
    if (length === 0) return
    const end = hva + length
    const firstVpn = Math.floor(hva / PAGE_SIZE)
    const pages = Math.floor((end - 1) / PAGE_SIZE) - firstVpn + 1
    if (this.frameList.length < pages) this.frameList = new Float64Array(Math.max(pages, this.frameList.length * 2))
    const pfns = this.frameList
    // Pages [wholeFrom, wholeTo) of the range are covered whole.
    const wholeFrom = hva % PAGE_SIZE === 0 ? 0 : 1
    const wholeTo = end % PAGE_SIZE === 0 ? pages : pages - 1
    const faultRun = (from: number, to: number, overwrite: boolean): void => {
      if (to <= from) return
      const done = this.faultInPages((firstVpn + from) * PAGE_SIZE, to - from, { write, overwrite }, pfns, from)
      if (done < to - from) {
        const at = (firstVpn + from + done) * PAGE_SIZE
        this.faultIn(at, { write })
        throw new ErrnoError('EFAULT', `${hex(at)} could not be faulted in`)
      }
    }
    // Partial pages first: whole pages taken without zeroing are then certain to be written.
    faultRun(0, Math.min(wholeFrom, pages), false)
    faultRun(Math.max(wholeTo, wholeFrom), pages, false)
    faultRun(wholeFrom, wholeTo, write)
    const memory = this.memory
    for (let i = 0; i < pages; ) {
      const first = pfns[i] as number
      let n = 1
      while (i + n < pages && pfns[i + n] === first + n) n++
      const from = Math.max(hva, (firstVpn + i) * PAGE_SIZE)
      const to = Math.min(end, (firstVpn + i + n) * PAGE_SIZE)
      const pa = first * PAGE_SIZE + (from - (firstVpn + i) * PAGE_SIZE)
      const part = bytes.subarray(from - hva, to - hva)
      if (write) memory.writeBytes(pa, part)
      else memory.readBytes(pa, part)
      i += n
    }
  }

  /**
   * LDG over [hva, hva+length) (granule aligned), one tag per byte into `dst`: the real
   * tags on a PROT_MTE mapping, zeros otherwise (an Untagged mapping has no tag access).
   */
  userReadTags(hva: number, length: number, dst: Uint8Array, dstOffset = 0): void {
    checkGranules(hva, length)
    const count = length / GRANULE_SIZE
    if (!(Number.isInteger(dstOffset) && dstOffset >= 0 && dstOffset + count <= dst.length)) {
      throw new RangeError(`buffer of ${dst.length} bytes cannot hold ${count} tags at ${dstOffset}`)
    }
    const spans = this.resolve(hva, length, false)
    let out = dstOffset
    for (const span of spans) {
      const n = span.length / GRANULE_SIZE
      if (span.vma.prot & PROT_MTE) this.memory.copyTagsOut(span.pa, span.length, dst, out)
      else dst.fill(0, out, out + n)
      out += n
    }
  }

  /**
   * STG over [hva, hva + 16*tags.length) (granule aligned) with one tag per byte: applied on
   * a PROT_MTE mapping, silently ignored otherwise — the trap of writing tags through a
   * mapping without PROT_MTE.
   */
  userWriteTags(hva: number, tags: Uint8Array): void {
    const length = tags.length * GRANULE_SIZE
    checkGranules(hva, length)
    for (let i = 0; i < tags.length; i++) checkTag(tags[i] as number)
    const spans = this.resolve(hva, length, true)
    let input = 0
    for (const span of spans) {
      const n = span.length / GRANULE_SIZE
      if (span.vma.prot & PROT_MTE) this.memory.copyTagsIn(span.pa, span.length, tags, input)
      input += n
    }
  }
}

function mteAllowed(vma: Vma): boolean {
  // VM_MTE_ALLOWED: anonymous memory (private, or shared through shmem) and shmem/memfd files.
  return vma.file === null || vma.file.kind === 'shmem'
}

function checkGranules(hva: number, length: number): void {
  if (!(Number.isInteger(length) && length >= 0) || hva % GRANULE_SIZE !== 0 || length % GRANULE_SIZE !== 0) {
    throw new RangeError(`tag access ${hva}+${length} is not 16-byte granule aligned`)
  }
}
