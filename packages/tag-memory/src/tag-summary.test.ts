// Tag summaries: a frame whose tags are all one value, marked because a CPU's compiled tier
// skips tag checks on it; every write of its tags must drop the mark and tell the watchers.

import { describe, expect, test } from 'vitest'
import { PAGE_SIZE } from './constants.js'
import { HostKernel } from './host-kernel.js'
import { MAP_ANONYMOUS, MAP_PRIVATE, PROT_READ, PROT_WRITE } from './mman.js'
import { PhysicalMemory, type TagSummaryWatcher } from './physical-memory.js'

const MiB = 1024 * 1024

function watched(memory: PhysicalMemory): { summarised: number[]; dropped: number[] } {
  const heard = { summarised: [] as number[], dropped: [] as number[] }
  const watcher: TagSummaryWatcher = { summarised: (pfn) => heard.summarised.push(pfn), dropped: (pfn) => heard.dropped.push(pfn) }
  memory.watchTagSummaries(watcher)
  return heard
}

describe('tag summaries', () => {
  test('uniformTag: the one tag of a frame, 0 without storage, -1 when any granule (either nibble) differs', () => {
    const memory = new PhysicalMemory({ size: MiB })
    expect(memory.uniformTag(3)).toBe(0)
    memory.setTags(3 * PAGE_SIZE, PAGE_SIZE, 0xb)
    expect(memory.uniformTag(3)).toBe(0xb)
    for (const granule of [0, 1, 2, 255, 254, 77]) {
      memory.setTags(3 * PAGE_SIZE, PAGE_SIZE, 0xb)
      memory.setTag(3 * PAGE_SIZE + 16 * granule, 0xa)
      expect(memory.uniformTag(3)).toBe(-1)
    }
    expect(() => memory.uniformTag(MiB / PAGE_SIZE)).toThrow(RangeError)
  })

  test('marking announces a frame once; every tag writer of a marked frame drops the mark and tells the watchers, once', () => {
    const memory = new PhysicalMemory({ size: MiB })
    const heard = watched(memory)
    const pfn = 5
    const writers: [string, () => void][] = [
      ['setTag', () => memory.setTag(pfn * PAGE_SIZE + 0x40, 1)],
      ['setTags (part of the frame)', () => memory.setTags(pfn * PAGE_SIZE + 0x800, 0x20, 2)],
      ['setTags (from the frame before)', () => memory.setTags((pfn - 1) * PAGE_SIZE, PAGE_SIZE + 16, 3)],
      ['clearFrameTags', () => memory.clearFrameTags(pfn)],
      ['copyFrameTags (into it)', () => memory.copyFrameTags(7, pfn)],
      ['copyTagsIn', () => memory.copyTagsIn(pfn * PAGE_SIZE + 0x10, 0x20, Uint8Array.of(4, 4))],
      ['writeFrameTags', () => memory.writeFrameTags([pfn], 0, 1, new Uint8Array(256).fill(6))],
      ['noteTagWrite (a CPU wrote through frameTags)', () => memory.noteTagWrite(pfn)],
    ]
    memory.setTags(7 * PAGE_SIZE, PAGE_SIZE, 9)
    for (const [name, write] of writers) {
      memory.setTags(pfn * PAGE_SIZE, PAGE_SIZE, 8)
      heard.summarised.length = heard.dropped.length = 0
      memory.markTagSummary(pfn)
      memory.markTagSummary(pfn)
      expect(heard.summarised, name).toEqual([pfn])
      expect(memory.hasTagSummary(pfn), name).toBe(true)
      write()
      expect(heard.dropped, name).toEqual([pfn])
      expect(memory.hasTagSummary(pfn), name).toBe(false)
      // Unmarked now: more writes tell no one.
      write()
      expect(heard.dropped, name).toEqual([pfn])
    }
  })

  test('writes elsewhere, data writes and reads of a marked frame keep the mark', () => {
    const memory = new PhysicalMemory({ size: MiB })
    const heard = watched(memory)
    memory.setTags(5 * PAGE_SIZE, PAGE_SIZE, 8)
    memory.markTagSummary(5)
    memory.setTags(6 * PAGE_SIZE, PAGE_SIZE, 1)
    memory.setTag(4 * PAGE_SIZE + 0xff0, 2)
    memory.copyFrameTags(5, 6)
    memory.write32(5 * PAGE_SIZE + 8, 0x1234_5678)
    memory.fill(5 * PAGE_SIZE, PAGE_SIZE, 0)
    memory.copyTagsOut(5 * PAGE_SIZE, PAGE_SIZE, new Uint8Array(256))
    memory.readFrameTags([5], 0, 1, new Uint8Array(256))
    expect(heard.dropped).toEqual([])
    expect(memory.hasTagSummary(5)).toBe(true)
  })

  test('a tagged page swapped back into a marked frame drops the mark (swap-in writes the tags through frameTags)', () => {
    const memory = new PhysicalMemory({ size: 16 * MiB })
    const kernel = new HostKernel({ memory })
    const mm = kernel.createMm()
    const heard = watched(memory)
    const a = mm.mmap({ length: PAGE_SIZE, prot: PROT_READ | PROT_WRITE, flags: MAP_PRIVATE | MAP_ANONYMOUS })
    const pfn = mm.faultIn(a, { write: true }).pfn
    memory.ensureTagsInitialised(pfn)
    memory.setTags(pfn * PAGE_SIZE, PAGE_SIZE, 0x3)
    memory.setTag(pfn * PAGE_SIZE + 0x20, 0x4)
    mm.swapOut(a)
    // The freed frame, all 3s now, is marked; the allocator hands it out again first.
    memory.setTags(pfn * PAGE_SIZE, PAGE_SIZE, 0x3)
    memory.markTagSummary(pfn)
    expect(mm.faultIn(a, { write: false }).pfn).toBe(pfn)
    expect(memory.getTag(pfn * PAGE_SIZE + 0x20)).toBe(0x4)
    expect(heard.dropped).toEqual([pfn])
    expect(memory.hasTagSummary(pfn)).toBe(false)
  })

  test('shared memory has no summaries: another thread could write tags unseen', () => {
    const memory = new PhysicalMemory({ size: MiB, shared: true })
    memory.setTags(0, PAGE_SIZE, 5)
    expect(memory.uniformTag(0)).toBe(-1)
    expect(() => memory.markTagSummary(0)).toThrow(/unshared memory/)
  })
})
