// Tags are stored one byte per granule; each format that leaves PhysicalMemory is converted
// where it is written and read. A granule pattern must come back unchanged through every edge,
// and land in each format in that format's order (so a swapped nibble order or a shifted
// granule fails here, not in a guest).
import { describe, expect, test } from 'vitest'
import fc from 'fast-check'
import { GRANULES_PER_PAGE, PAGE_SIZE } from './constants.js'
import { HostKernel } from './host-kernel.js'
import type { SwapDevice } from './host-pages.js'
import { MAP_ANONYMOUS, MAP_PRIVATE, PROT_MTE, PROT_READ, PROT_WRITE } from './mman.js'
import { PhysicalMemory } from './physical-memory.js'

const MiB = 1 << 20
const pages = (n: number): fc.Arbitrary<Uint8Array> =>
  fc.uint8Array({ minLength: n * GRANULES_PER_PAGE, maxLength: n * GRANULES_PER_PAGE }).map((a) => a.map((b) => b & 15))

describe('tag formats at the edges of PhysicalMemory', () => {
  test('one tag per byte (KVM_ARM_MTE_COPY_TAGS, snapshots, migration): copyTagsIn/Out, readFrameTags/writeFrameTags, getTag and frameTags agree', () => {
    fc.assert(
      fc.property(pages(3), fc.nat(GRANULES_PER_PAGE - 1), fc.nat(2 * GRANULES_PER_PAGE), (tags, first, count) => {
        const mem = new PhysicalMemory({ size: 4 * MiB })
        const pfns = [7, 300, 8]
        mem.writeFrameTags(pfns, 0, 3, tags)
        for (let p = 0; p < 3; p++) {
          const stored = mem.frameTags(pfns[p]!, false)!
          for (const g of [0, 1, 2, 3, 254, 255]) {
            expect(mem.getTag(pfns[p]! * PAGE_SIZE + 16 * g)).toBe(tags[p * GRANULES_PER_PAGE + g])
            expect(stored.tags[stored.offset + g]).toBe(tags[p * GRANULES_PER_PAGE + g])
          }
        }
        const back = new Uint8Array(3 * GRANULES_PER_PAGE)
        mem.readFrameTags(pfns, 0, 3, back)
        expect(Buffer.compare(back, tags)).toBe(0)
        // A range from an odd granule of frame 7 into frame 8 (7 and 8 are consecutive).
        const n = Math.min(count, 2 * GRANULES_PER_PAGE - first)
        const out = new Uint8Array(n + 1)
        mem.copyTagsOut(7 * PAGE_SIZE + 16 * first, 16 * n, out, 1)
        const expected = [...tags.subarray(first, GRANULES_PER_PAGE), ...tags.subarray(2 * GRANULES_PER_PAGE)].slice(0, n)
        expect([...out.subarray(1)]).toEqual(expected)
        const other = new PhysicalMemory({ size: 4 * MiB })
        other.copyTagsIn(7 * PAGE_SIZE + 16 * first, 16 * n, out, 1)
        const again = new Uint8Array(n)
        other.copyTagsOut(7 * PAGE_SIZE + 16 * first, 16 * n, again)
        expect([...again]).toEqual(expected)
      }),
      { numRuns: 40 },
    )
  })

  test('swap keeps 128 bytes a page, even granule in the low nibble, and restores the tags unchanged', () => {
    fc.assert(
      fc.property(pages(2), (tags) => {
        const kernel = new HostKernel({ memory: new PhysicalMemory({ size: 8 * MiB }) })
        const mm = kernel.createMm()
        const a = mm.mmap({ length: 2 * PAGE_SIZE, prot: PROT_READ | PROT_WRITE | PROT_MTE, flags: MAP_PRIVATE | MAP_ANONYMOUS })
        mm.userWriteTags(a, tags)
        mm.swapOut(a)
        mm.swapOut(a + PAGE_SIZE)
        const swap = (kernel as unknown as { swap: SwapDevice }).swap
        for (let slot = 0; slot < 2; slot++) {
          const saved = swap.tagsOf(slot)
          expect(saved.length).toBe(GRANULES_PER_PAGE / 2)
          for (let g = 0; g < GRANULES_PER_PAGE; g++) expect((saved[g >>> 1]! >>> (4 * (g & 1))) & 15).toBe(tags[slot * GRANULES_PER_PAGE + g])
        }
        const back = new Uint8Array(2 * GRANULES_PER_PAGE)
        mm.userReadTags(a, 2 * PAGE_SIZE, back)
        expect(Buffer.compare(back, tags)).toBe(0)
        expect(kernel.stats.tagRestores).toBe(2)
      }),
      { numRuns: 30 },
    )
  })

  test('a byte above 15 at any position is refused before anything changes', () => {
    const mem = new PhysicalMemory({ size: 1 * MiB })
    for (const at of [0, 3, 4, 255]) {
      const src = new Uint8Array(GRANULES_PER_PAGE).fill(2)
      src[at] = 0x12
      expect(() => mem.writeFrameTags([5], 0, 1, src)).toThrow(new RegExp(`tag byte ${at} is 18`))
      expect(() => mem.copyTagsIn(5 * PAGE_SIZE, PAGE_SIZE, src)).toThrow(new RegExp(`tag byte ${at} is 18`))
      expect(mem.getTag(5 * PAGE_SIZE)).toBe(0)
      expect(mem.isTagged(5)).toBe(false)
    }
  })
})
