// PAGEMAP_SCAN (ioctl on /proc/<pid>/pagemap, Linux 6.7): which pages of a range are present,
// swapped, the shared zero page, file-backed or huge, as runs of pages with the same
// categories. A VMM uses it to find the guest memory worth saving without reading all of it.
import { PAGE_SIZE } from './constants.js'
import { ErrnoError } from './errno.js'
import type { PageTable, RawPte } from './host-page-table.js'

/** Categories of PAGEMAP_SCAN (include/uapi/linux/fs.h). */
export const PAGE_IS_WPALLOWED = 1 << 0
/** Written since write-protect was last armed (every present or swapped page here). */
export const PAGE_IS_WRITTEN = 1 << 1
/** Backed by a file or shared memory. */
export const PAGE_IS_FILE = 1 << 2
/** Present in host memory. */
export const PAGE_IS_PRESENT = 1 << 3
/** Swapped out. */
export const PAGE_IS_SWAPPED = 1 << 4
/** Mapped to the shared zero page. */
export const PAGE_IS_PFNZERO = 1 << 5
/** Part of a huge page. */
export const PAGE_IS_HUGE = 1 << 6
/** Soft-dirty (never set in this model). */
export const PAGE_IS_SOFT_DIRTY = 1 << 7
/** A guard region (never set in this model). */
export const PAGE_IS_GUARD = 1 << 8
const PM_SCAN_CATEGORIES = (1 << 9) - 1
/** PAGEMAP_SCAN flags: write-protect what matches; fail where async write-protect is off. */
export const PM_SCAN_WP_MATCHING = 1 << 0
/** PAGEMAP_SCAN flag: fail with EPERM where asynchronous write-protect is not enabled. */
export const PM_SCAN_CHECK_WPASYNC = 1 << 1

/** struct pm_scan_arg without the size and the user pointers (the result carries the regions). */
export interface PagemapScanArgs {
  /** First address, page-aligned. */
  readonly start: number
  /** End of the range (rounded up to a page). */
  readonly end: number
  readonly flags?: number
  /** Room for this many regions (vec_len). */
  readonly vecLen: number
  /** Stop after this many matching pages (0 or absent: no limit). */
  readonly maxPages?: number
  /** Categories to flip before testing (a page matches when it lacks them). */
  readonly categoryInverted?: number
  /** Every one of these categories is required. */
  readonly categoryMask?: number
  /** At least one of these categories is required (when non-zero). */
  readonly categoryAnyofMask?: number
  /** Categories reported in each region; pages whose reported categories differ start a new region. */
  readonly returnMask?: number
}

/** struct page_region: [start, end) with the categories (masked by return_mask) all its pages share. */
export interface PageRegion {
  readonly start: number
  readonly end: number
  readonly categories: number
}

/** The ioctl's return value (the regions) and pm_scan_arg.walk_end (where the walk stopped). */
export interface PagemapScanResult {
  readonly regions: PageRegion[]
  readonly walkEnd: number
}

/** What the scan needs of a VMA. */
export interface ScanVma {
  readonly start: number
  readonly end: number
  readonly pfnmap: boolean
}

/**
 * The scan over one address space: `vmas` in address order and its page table.
 * Holes between VMAs never match; a VM_PFNMAP VMA is skipped; a page without a PTE has no
 * category. The model has no userfaultfd write-protect and no soft-dirty bits, so
 * PAGE_IS_WRITTEN is set on every present or swapped page (as Linux does for pages that are
 * not write-protected) and PAGE_IS_WPALLOWED, PAGE_IS_SOFT_DIRTY and PAGE_IS_GUARD are never set.
 */
export function pagemapScan(vmas: readonly ScanVma[], ptes: PageTable, args: PagemapScanArgs): PagemapScanResult {
  const flags = args.flags ?? 0
  const inverted = args.categoryInverted ?? 0
  const required = args.categoryMask ?? 0
  const anyof = args.categoryAnyofMask ?? 0
  const returned = args.returnMask ?? 0
  const maxPages = args.maxPages || Number.POSITIVE_INFINITY
  for (const [name, value] of Object.entries({ flags, vecLen: args.vecLen, maxPages: args.maxPages ?? 0 })) {
    if (!Number.isSafeInteger(value) || value < 0) throw new ErrnoError('EINVAL', `PAGEMAP_SCAN: ${name} ${value} is not a non-negative integer`)
  }
  if (flags & ~(PM_SCAN_WP_MATCHING | PM_SCAN_CHECK_WPASYNC)) throw new ErrnoError('EINVAL', `PAGEMAP_SCAN: unknown flags 0x${flags.toString(16)}`)
  if ((inverted | required | anyof | returned) & ~PM_SCAN_CATEGORIES) throw new ErrnoError('EINVAL', 'PAGEMAP_SCAN: unknown category bits')
  if (!Number.isSafeInteger(args.start) || args.start < 0 || args.start % PAGE_SIZE !== 0) throw new ErrnoError('EINVAL', `PAGEMAP_SCAN: start ${args.start} is not page-aligned`)
  if (!Number.isSafeInteger(args.end) || args.end < args.start) throw new ErrnoError('EFAULT', `PAGEMAP_SCAN: end ${args.end} is before start`)
  const end = Math.ceil(args.end / PAGE_SIZE) * PAGE_SIZE
  const interesting = (categories: number): boolean => {
    const c = categories ^ inverted
    return (c & required) === required && (anyof === 0 || (c & anyof) !== 0)
  }
  const regions: PageRegion[] = []
  let current: { start: number; end: number; categories: number } | undefined
  let found = 0
  // Adds one matching page; false when there is no room for it (vec full or max_pages reached).
  const output = (addr: number, categories: number): boolean => {
    if (found >= maxPages) return false
    const reported = categories & returned
    if (current && current.end === addr && current.categories === reported) {
      current.end = addr + PAGE_SIZE
    } else {
      if (regions.length >= args.vecLen) return false
      current = { start: addr, end: addr + PAGE_SIZE, categories: reported }
      regions.push(current)
    }
    found++
    return true
  }
  for (const vma of vmas) {
    const from = Math.max(vma.start, args.start)
    const to = Math.min(vma.end, end)
    if (from >= to) continue
    // No userfaultfd write-protect here: CHECK_WPASYNC fails, WP_MATCHING skips the VMA.
    if (flags & PM_SCAN_CHECK_WPASYNC) throw new ErrnoError('EPERM', 'PAGEMAP_SCAN: the range is not registered for asynchronous write-protect')
    if (flags & PM_SCAN_WP_MATCHING || vma.pfnmap) continue
    const first = from / PAGE_SIZE
    const last = to / PAGE_SIZE
    if (interesting(0)) {
      // A page without a PTE can match: every page.
      for (let vpn = first; vpn < last; vpn++) {
        const categories = pteCategories(ptes.raw(vpn))
        if (!interesting(categories)) continue
        if (!output(vpn * PAGE_SIZE, categories)) return { regions, walkEnd: vpn * PAGE_SIZE }
      }
      continue
    }
    // Only pages with a PTE can match: the page table's, leaf by leaf.
    let stoppedAt = -1
    ptes.forEachRawIn(first, last, (vpn, pte) => {
      const categories = pteCategories(pte)
      if (!interesting(categories) || output(vpn * PAGE_SIZE, categories)) return true
      stoppedAt = vpn
      return false
    })
    if (stoppedAt >= 0) return { regions, walkEnd: stoppedAt * PAGE_SIZE }
  }
  return { regions, walkEnd: end }
}

function pteCategories(pte: RawPte | undefined): number {
  if (pte === undefined) return 0
  // A bare frame number: an exclusive private anonymous page (present, not zero, file or huge).
  if (typeof pte === 'number') return PAGE_IS_PRESENT | PAGE_IS_WRITTEN
  if (pte.kind === 'swap') return PAGE_IS_SWAPPED | PAGE_IS_WRITTEN
  const page = pte.page
  let categories = PAGE_IS_PRESENT | PAGE_IS_WRITTEN
  if (page.isZero) categories |= PAGE_IS_PFNZERO
  if (page.owner !== null) categories |= PAGE_IS_FILE
  if (page.folioHead >= 0) categories |= PAGE_IS_HUGE
  return categories
}
