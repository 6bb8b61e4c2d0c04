// Internal structures shared by HostKernel and HostMm (not part of the public API).
import { PACKED_TAG_BYTES_PER_PAGE, PAGE_SIZE } from './constants.js'
import type { HostMm } from './host-mm.js'
import { USER_ADDRESS_LIMIT } from './mman.js'
import type { RegularFile, ShmemFile } from './host-files.js'

/** One PTE mapping a page: which address space, which virtual page. */
export interface RmapEntry {
  readonly mm: HostMm
  readonly vpn: number
}

/** A page of memory in use (Linux's struct page/folio): where PTEs and page caches point. */
export class Page {
  /** PTEs mapping it plus one for a page cache or swap cache holding it. */
  refs = 0
  /**
   * Reverse map, kept without an object per mapping for the usual single PTE: the first
   * (mm, vpn) inline, any more in `moreMappings`. `rmap` lists them all.
   */
  private firstMm: HostMm | null = null
  private firstVpn = 0
  private moreMappings: RmapEntry[] | null = null
  /** Swap entry whose swap cache holds this page, if any. */
  swapCacheOf: SwapEntry | null = null
  /** The shared zero page: mapped read-only anywhere, never counted, moved or freed. */
  isZero = false
  /** Head frame of the transparent huge page (2 MiB folio) this page belongs to, or -1. */
  folioHead = -1
  constructor(
    public pfn: number,
    readonly owner: ShmemFile | RegularFile | null,
    readonly index: number,
  ) {}

  /** Every PTE that maps this page (a new array: callers may change the mappings while walking it). */
  get rmap(): RmapEntry[] {
    const all: RmapEntry[] = this.firstMm ? [{ mm: this.firstMm, vpn: this.firstVpn }] : []
    if (this.moreMappings) all.push(...this.moreMappings)
    return all
  }

  /** A PTE at `vpn` of `mm` maps this page now. */
  addMapping(mm: HostMm, vpn: number): void {
    if (this.firstMm === null) {
      this.firstMm = mm
      this.firstVpn = vpn
    } else (this.moreMappings ??= []).push({ mm, vpn })
  }

  /** The PTE at `vpn` of `mm` maps this page no more. */
  removeMapping(mm: HostMm, vpn: number): void {
    if (this.firstMm === mm && this.firstVpn === vpn) {
      const next = this.moreMappings?.shift()
      this.firstMm = next?.mm ?? null
      this.firstVpn = next?.vpn ?? 0
    } else {
      const more = this.moreMappings
      const at = more ? more.findIndex((r) => r.mm === mm && r.vpn === vpn) : -1
      if (at >= 0) more!.splice(at, 1)
    }
    if (this.moreMappings?.length === 0) this.moreMappings = null
  }

  /** No PTE maps this page any more (they became swap entries). */
  clearMappings(): void {
    this.firstMm = null
    this.moreMappings = null
  }
}

/**
 * A page on the swap device: a slot holding its data and, for PG_mte_tagged pages only,
 * its packed tags (the 128-byte buffer mte_save_tags keeps).
 */
export class SwapEntry {
  /** Swap PTEs (or the shmem file) referring to it. */
  refs = 0
  /** The page while it is also in the swap cache (swapped in by one sharer, not all). */
  cached: Page | null = null
  constructor(
    readonly slot: number,
    public hasTags: boolean,
  ) {}
}

const SWAP_SLAB_PAGES = 512

/** The swap device: page-sized slots in 2 MiB slabs, with a 128-byte tag slot beside each. */
export class SwapDevice {
  private readonly data: Uint8Array[] = []
  private readonly tags: Uint8Array[] = []
  private readonly freeSlots: number[] = []
  private fresh = 0
  /** Slots holding a swapped page. */
  inUse = 0

  alloc(): number {
    this.inUse++
    const reused = this.freeSlots.pop()
    if (reused !== undefined) return reused
    const slot = this.fresh++
    if (slot % SWAP_SLAB_PAGES === 0) {
      this.data.push(new Uint8Array(SWAP_SLAB_PAGES * PAGE_SIZE))
      this.tags.push(new Uint8Array(SWAP_SLAB_PAGES * PACKED_TAG_BYTES_PER_PAGE))
    }
    return slot
  }

  release(slot: number): void {
    this.freeSlots.push(slot)
    this.inUse--
  }

  dataOf(slot: number): Uint8Array {
    const at = (slot % SWAP_SLAB_PAGES) * PAGE_SIZE
    return (this.data[Math.floor(slot / SWAP_SLAB_PAGES)] as Uint8Array).subarray(at, at + PAGE_SIZE)
  }

  tagsOf(slot: number): Uint8Array {
    const at = (slot % SWAP_SLAB_PAGES) * PACKED_TAG_BYTES_PER_PAGE
    return (this.tags[Math.floor(slot / SWAP_SLAB_PAGES)] as Uint8Array).subarray(at, at + PACKED_TAG_BYTES_PER_PAGE)
  }
}

/** A transparent huge page: 2 MiB, 512 naturally aligned contiguous frames. */
export const HPAGE_SIZE = 2 * 1024 * 1024
export const HPAGE_FRAMES = HPAGE_SIZE / PAGE_SIZE

export type PagePte = { kind: 'page'; page: Page; writable: boolean }
export type Pte = PagePte | { kind: 'swap'; entry: SwapEntry }

export function checkAddress(hva: number, what = 'address'): void {
  if (!(Number.isInteger(hva) && hva >= 0 && hva < USER_ADDRESS_LIMIT)) {
    throw new RangeError(`${what} ${hva} is not a user address below 2^48`)
  }
}

export function pageAligned(n: number): boolean {
  return n % PAGE_SIZE === 0
}

export function roundUpPage(n: number): number {
  return Math.ceil(n / PAGE_SIZE) * PAGE_SIZE
}

export function hex(n: number): string {
  return `0x${n.toString(16)}`
}
