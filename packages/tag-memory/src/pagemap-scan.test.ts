import fc from 'fast-check'
import { describe, expect, test } from 'vitest'
import { PAGE_SIZE } from './constants.js'
import { ErrnoError } from './errno.js'
import { HostKernel } from './host-kernel.js'
import { MADV_DONTNEED, MADV_HUGEPAGE } from './host-mm.js'
import { MAP_ANONYMOUS, MAP_PRIVATE, MAP_SHARED, PROT_MTE, PROT_READ, PROT_WRITE } from './mman.js'
import {
  PAGE_IS_FILE,
  PAGE_IS_HUGE,
  PAGE_IS_PFNZERO,
  PAGE_IS_PRESENT,
  PAGE_IS_SWAPPED,
  PAGE_IS_WRITTEN,
  PM_SCAN_CHECK_WPASYNC,
  PM_SCAN_WP_MATCHING,
} from './pagemap-scan.js'
import { PhysicalMemory } from './physical-memory.js'

const MiB = 1024 * 1024
const RW = PROT_READ | PROT_WRITE

function setup(options: { thp?: 'always' } = {}) {
  const kernel = new HostKernel({ memory: new PhysicalMemory({ size: 64 * MiB }), ...(options.thp ? { transparentHugepages: options.thp } : {}) })
  return { kernel, mm: kernel.createMm() }
}

function errno(fn: () => unknown): string {
  try {
    fn()
  } catch (err) {
    if (err instanceof ErrnoError) return err.code
    throw err
  }
  throw new Error('expected an ErrnoError')
}

/** What a VMM saving guest RAM asks: pages with data (present or swapped) that are not the zero page. */
const WORTH_SAVING = { categoryInverted: PAGE_IS_PFNZERO, categoryMask: PAGE_IS_PFNZERO, categoryAnyofMask: PAGE_IS_PRESENT | PAGE_IS_SWAPPED }

describe('PAGEMAP_SCAN', () => {
  test('present, swapped, zero-page and untouched pages of anonymous memory, as runs', () => {
    const { mm } = setup()
    const a = mm.mmap({ length: 16 * PAGE_SIZE, prot: RW | PROT_MTE, flags: MAP_PRIVATE | MAP_ANONYMOUS })
    for (const p of [0, 1, 2, 5, 9, 10]) mm.userWrite(a + p * PAGE_SIZE, Uint8Array.of(p + 1))
    mm.userRead(a + 3 * PAGE_SIZE, new Uint8Array(8)) // read fault: the zero page
    mm.swapOut(a + 9 * PAGE_SIZE)
    const all = mm.pagemapScan({ start: a, end: a + 16 * PAGE_SIZE, vecLen: 100, categoryAnyofMask: PAGE_IS_PRESENT | PAGE_IS_SWAPPED, returnMask: PAGE_IS_PRESENT | PAGE_IS_SWAPPED | PAGE_IS_PFNZERO })
    const page = (n: number): number => a + n * PAGE_SIZE
    expect(all.regions).toEqual([
      { start: page(0), end: page(3), categories: PAGE_IS_PRESENT },
      { start: page(3), end: page(4), categories: PAGE_IS_PRESENT | PAGE_IS_PFNZERO },
      { start: page(5), end: page(6), categories: PAGE_IS_PRESENT },
      { start: page(9), end: page(10), categories: PAGE_IS_SWAPPED },
      { start: page(10), end: page(11), categories: PAGE_IS_PRESENT },
    ])
    expect(all.walkEnd).toBe(page(16))
    // Worth saving, with nothing returned: adjacent matches merge into one region.
    expect(mm.pagemapScan({ start: a, end: a + 16 * PAGE_SIZE, vecLen: 100, ...WORTH_SAVING }).regions).toEqual([
      { start: page(0), end: page(3), categories: 0 },
      { start: page(5), end: page(6), categories: 0 },
      { start: page(9), end: page(11), categories: 0 },
    ])
    // A dropped page is a hole again.
    mm.madvise(page(5), PAGE_SIZE, MADV_DONTNEED)
    expect(mm.pagemapScan({ start: a, end: page(8), vecLen: 100, ...WORTH_SAVING }).regions).toEqual([{ start: page(0), end: page(3), categories: 0 }])
  })

  test('with no masks every page of a mapping matches, holes too; gaps between mappings never do', () => {
    const { mm } = setup()
    const a = mm.mmap({ length: 4 * PAGE_SIZE, prot: RW, flags: MAP_PRIVATE | MAP_ANONYMOUS })
    mm.munmap(a + PAGE_SIZE, PAGE_SIZE)
    mm.userWrite(a, Uint8Array.of(1))
    const { regions } = mm.pagemapScan({ start: a, end: a + 4 * PAGE_SIZE, vecLen: 10, returnMask: PAGE_IS_PRESENT | PAGE_IS_WRITTEN })
    expect(regions).toEqual([
      { start: a, end: a + PAGE_SIZE, categories: PAGE_IS_PRESENT | PAGE_IS_WRITTEN },
      { start: a + 2 * PAGE_SIZE, end: a + 4 * PAGE_SIZE, categories: 0 },
    ])
  })

  test('shared memory is file-backed; a transparent huge page is huge', () => {
    const { mm } = setup({ thp: 'always' })
    const shared = mm.mmap({ length: 2 * PAGE_SIZE, prot: RW, flags: MAP_SHARED | MAP_ANONYMOUS })
    mm.userWrite(shared, Uint8Array.of(1))
    expect(mm.pagemapScan({ start: shared, end: shared + 2 * PAGE_SIZE, vecLen: 4, categoryMask: PAGE_IS_PRESENT, returnMask: PAGE_IS_FILE }).regions).toEqual([
      { start: shared, end: shared + PAGE_SIZE, categories: PAGE_IS_FILE },
    ])
    const huge = mm.mmap({ length: 4 * MiB, prot: RW, flags: MAP_PRIVATE | MAP_ANONYMOUS })
    mm.madvise(huge, 4 * MiB, MADV_HUGEPAGE)
    mm.userWrite(huge + 8192, Uint8Array.of(1))
    expect(mm.pagemapScan({ start: huge, end: huge + 4 * MiB, vecLen: 4, categoryMask: PAGE_IS_HUGE, returnMask: PAGE_IS_HUGE }).regions).toEqual([
      { start: huge, end: huge + 2 * MiB, categories: PAGE_IS_HUGE },
    ])
  })

  test('a full vector or max_pages stops the walk and says where (walk_end)', () => {
    const { mm } = setup()
    const a = mm.mmap({ length: 8 * PAGE_SIZE, prot: RW, flags: MAP_PRIVATE | MAP_ANONYMOUS })
    for (const p of [0, 2, 4, 6]) mm.userWrite(a + p * PAGE_SIZE, Uint8Array.of(1))
    const two = mm.pagemapScan({ start: a, end: a + 8 * PAGE_SIZE, vecLen: 2, ...WORTH_SAVING })
    expect(two).toEqual({ regions: [{ start: a, end: a + PAGE_SIZE, categories: 0 }, { start: a + 2 * PAGE_SIZE, end: a + 3 * PAGE_SIZE, categories: 0 }], walkEnd: a + 4 * PAGE_SIZE })
    const next = mm.pagemapScan({ start: two.walkEnd, end: a + 8 * PAGE_SIZE, vecLen: 2, ...WORTH_SAVING })
    expect(next.regions.map((r) => (r.start - a) / PAGE_SIZE)).toEqual([4, 6])
    expect(mm.pagemapScan({ start: a, end: a + 8 * PAGE_SIZE, vecLen: 10, maxPages: 3, ...WORTH_SAVING }).walkEnd).toBe(a + 6 * PAGE_SIZE)
  })

  test("Linux's argument checks", () => {
    const { mm } = setup()
    const a = mm.mmap({ length: PAGE_SIZE, prot: RW, flags: MAP_PRIVATE | MAP_ANONYMOUS })
    expect(errno(() => mm.pagemapScan({ start: a + 1, end: a + PAGE_SIZE, vecLen: 1 }))).toBe('EINVAL')
    expect(errno(() => mm.pagemapScan({ start: a, end: a + PAGE_SIZE, vecLen: 1, flags: 4 }))).toBe('EINVAL')
    expect(errno(() => mm.pagemapScan({ start: a, end: a + PAGE_SIZE, vecLen: 1, categoryMask: 1 << 12 }))).toBe('EINVAL')
    expect(errno(() => mm.pagemapScan({ start: a, end: a + PAGE_SIZE, vecLen: 1, flags: PM_SCAN_CHECK_WPASYNC }))).toBe('EPERM')
    // Without userfaultfd write-protect, WP_MATCHING skips every mapping; the end rounds up.
    expect(mm.pagemapScan({ start: a, end: a + 1, vecLen: 1, flags: PM_SCAN_WP_MATCHING })).toEqual({ regions: [], walkEnd: a + PAGE_SIZE })
  })

  test('the sparse walk (from the PTEs) finds what the dense walk finds', () => {
    fc.assert(
      fc.property(fc.uniqueArray(fc.integer({ min: 0, max: 4095 }), { maxLength: 40 }), fc.integer({ min: 0, max: 4095 }), (touched, from) => {
        const { mm } = setup()
        const size = 4096 * PAGE_SIZE
        const a = mm.mmap({ length: size, prot: RW, flags: MAP_PRIVATE | MAP_ANONYMOUS })
        for (const p of touched) mm.userWrite(a + p * PAGE_SIZE, Uint8Array.of(1))
        const start = a + from * PAGE_SIZE
        // Holes can match (no masks) on the first scan, so it walks every page.
        const dense = mm.pagemapScan({ start, end: a + size, vecLen: 5000, returnMask: PAGE_IS_PRESENT }).regions.filter((r) => r.categories)
        const sparse = mm.pagemapScan({ start, end: a + size, vecLen: 5000, ...WORTH_SAVING, returnMask: PAGE_IS_PRESENT }).regions
        expect(sparse).toEqual(dense)
        expect(sparse.reduce((n, r) => n + (r.end - r.start) / PAGE_SIZE, 0)).toBe(touched.filter((p) => p >= from).length)
      }),
      { numRuns: 30 },
    )
  })
})
