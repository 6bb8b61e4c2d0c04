// The bulk paths snapshots and migration use: whole frames and their tags over frame lists
// (PhysicalMemory), a range faulted in at once and user copies over it (HostMm).
import fc from 'fast-check'
import { describe, expect, test } from 'vitest'
import { GRANULES_PER_PAGE, PAGE_SIZE } from './constants.js'
import { ErrnoError } from './errno.js'
import { HostKernel } from './host-kernel.js'
import { MAP_ANONYMOUS, MAP_FIXED, MAP_PRIVATE, PROT_MTE, PROT_READ, PROT_WRITE } from './mman.js'
import { PhysicalMemory } from './physical-memory.js'

const MiB = 1 << 20
const RW = PROT_READ | PROT_WRITE
const ANON = MAP_PRIVATE | MAP_ANONYMOUS

/** Page `i`'s test pattern: every byte says which page it came from. */
function pattern(pages: number, seed = 1): Uint8Array {
  const bytes = new Uint8Array(pages * PAGE_SIZE)
  for (let p = 0; p < pages; p++) for (let i = 0; i < PAGE_SIZE; i++) bytes[p * PAGE_SIZE + i] = (seed * 31 + p * 7 + i) & 0xff
  return bytes
}

function frame(memory: PhysicalMemory, pfn: number): Uint8Array {
  const out = new Uint8Array(PAGE_SIZE)
  memory.readBytes(pfn * PAGE_SIZE, out)
  return out
}

describe('PhysicalMemory: whole frames and their tags over frame lists', () => {
  test('readFrames and writeFrames copy frames in list order (runs of consecutive frames together), device frames too', () => {
    const memory = new PhysicalMemory({ size: MiB })
    memory.addDeviceFrames(512, 4)
    const pfns = Float64Array.of(3, 4, 5, 9, 2, 512, 513)
    const src = pattern(pfns.length)
    memory.writeFrames(pfns, 0, pfns.length, src)
    pfns.forEach((pfn, i) => expect(frame(memory, pfn)).toEqual(src.subarray(i * PAGE_SIZE, (i + 1) * PAGE_SIZE)))
    expect(frame(memory, 6).every((b) => b === 0)).toBe(true)
    // A sub-list into an offset of a larger buffer.
    const out = new Uint8Array(5 * PAGE_SIZE).fill(0xee)
    memory.readFrames(pfns, 2, 4, out, PAGE_SIZE)
    expect(out.subarray(0, PAGE_SIZE).every((b) => b === 0xee)).toBe(true)
    expect(out.subarray(PAGE_SIZE)).toEqual(src.subarray(2 * PAGE_SIZE, 6 * PAGE_SIZE))
  })

  test('a bad frame, list range or buffer is refused before anything is copied', () => {
    const memory = new PhysicalMemory({ size: MiB })
    const before = frame(memory, 3)
    const two = pattern(2)
    expect(() => memory.writeFrames([3, 256], 0, 2, two)).toThrow(/writeFrames: frame 0x100 \(entry 1\) is not a frame of RAM \(256 frames\) or of a device/)
    expect(() => memory.writeFrames([3, 2.5], 0, 2, two)).toThrow(/frame 2\.5 \(entry 1\)/)
    expect(() => memory.writeFrames([3, -1], 0, 2, two)).toThrow(/frame -1 \(entry 1\)/)
    expect(() => memory.writeFrames([3, 4], 0, 2, two.subarray(1))).toThrow(/a buffer of 8191 bytes cannot hold 2 frames of 4096 bytes at offset 0/)
    expect(() => memory.writeFrames([3, 4], 1, 2, two)).toThrow(/frames \[0x1, \+0x2\) are not inside a list of 2/)
    expect(() => memory.readFrames([3], 0, 1, new Uint8Array(PAGE_SIZE), 1)).toThrow(/cannot hold 1 frames of 4096 bytes at offset 1/)
    expect(frame(memory, 3)).toEqual(before)
  })

  test('readFrameTags gives the tags of tagged frames and zeros for every other frame, whatever stale tags it holds', () => {
    const memory = new PhysicalMemory({ size: MiB })
    memory.addDeviceFrames(512, 1)
    memory.setTags(PAGE_SIZE, PAGE_SIZE, 9) // frame 1: stale tags, never marked tagged
    memory.setTags(2 * PAGE_SIZE, PAGE_SIZE, 0)
    for (let g = 0; g < GRANULES_PER_PAGE; g++) memory.setTag(2 * PAGE_SIZE + g * 16, g & 15)
    memory.setTagged(2)
    const out = new Uint8Array(4 * GRANULES_PER_PAGE + 1).fill(0xff)
    // At an odd offset (byte stores) and at an aligned one (a 32-bit store per four tags).
    memory.readFrameTags([1, 2, 512, 7], 0, 4, out, 1)
    expect(out[0]).toBe(0xff)
    const tags = out.subarray(1)
    expect(tags.subarray(0, GRANULES_PER_PAGE).every((t) => t === 0)).toBe(true)
    expect([...tags.subarray(GRANULES_PER_PAGE, 2 * GRANULES_PER_PAGE)]).toEqual(Array.from({ length: GRANULES_PER_PAGE }, (_, g) => g & 15))
    expect(tags.subarray(2 * GRANULES_PER_PAGE).every((t) => t === 0)).toBe(true)
    const even = new Uint8Array(GRANULES_PER_PAGE)
    memory.readFrameTags([2], 0, 1, even)
    expect(even).toEqual(tags.subarray(GRANULES_PER_PAGE, 2 * GRANULES_PER_PAGE))
    expect(() => memory.readFrameTags([2, 300], 0, 2, new Uint8Array(2 * GRANULES_PER_PAGE))).toThrow(/readFrameTags: frame 0x12c \(entry 1\)/)
  })

  test('readFrameTags gives the same random tags through its word path (aligned) and its byte path (unaligned)', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 3 * GRANULES_PER_PAGE, maxLength: 3 * GRANULES_PER_PAGE, max: 15 }), fc.integer({ min: 1, max: 3 }), (tags, misalign) => {
        const memory = new PhysicalMemory({ size: MiB })
        memory.writeFrameTags([4, 9, 5], 0, 3, tags)
        const aligned = new Uint8Array(3 * GRANULES_PER_PAGE + 4)
        memory.readFrameTags([4, 9, 5], 0, 3, aligned, 4)
        const unaligned = new Uint8Array(3 * GRANULES_PER_PAGE + 4)
        memory.readFrameTags([4, 9, 5], 0, 3, unaligned, misalign)
        expect(aligned.subarray(4)).toEqual(tags)
        expect(unaligned.subarray(misalign, misalign + 3 * GRANULES_PER_PAGE)).toEqual(tags)
      }),
      { numRuns: 50 },
    )
  })

  test('writeFrameTags sets every tag and marks the frames tagged; a tag above 15, a device frame or a short buffer changes nothing', () => {
    const memory = new PhysicalMemory({ size: MiB })
    memory.addDeviceFrames(512, 1)
    const tags = new Uint8Array(2 * GRANULES_PER_PAGE).map((_, i) => (i * 5) & 15)
    memory.writeFrameTags([8, 3], 0, 2, tags)
    expect(memory.isTagged(8) && memory.isTagged(3)).toBe(true)
    const back = new Uint8Array(2 * GRANULES_PER_PAGE)
    memory.copyTagsOut(8 * PAGE_SIZE, PAGE_SIZE, back, 0)
    memory.copyTagsOut(3 * PAGE_SIZE, PAGE_SIZE, back, GRANULES_PER_PAGE)
    expect(back).toEqual(tags)
    const bad = tags.slice()
    bad[GRANULES_PER_PAGE + 7] = 16
    expect(() => memory.writeFrameTags([10, 11], 0, 2, bad)).toThrow(/writeFrameTags: tag byte 263 is 16; tags are 0\.\.15/)
    expect(() => memory.writeFrameTags([10, 512], 0, 2, tags)).toThrow(/writeFrameTags: frame 0x200 \(entry 1\) is not a frame of RAM \(256 frames\)$/)
    expect(() => memory.writeFrameTags([10, 11], 0, 2, tags.subarray(1))).toThrow(/cannot hold 2 frames of 256 bytes/)
    expect(memory.isTagged(10) || memory.isTagged(11)).toBe(false)
    expect(memory.getTag(10 * PAGE_SIZE + 16)).toBe(0)
  })
})

describe('HostMm: a range faulted in at once, and user copies over it', () => {
  /** A small host whose every free frame holds stale bytes (0xaa), as freed frames do. */
  function staleHost() {
    const memory = new PhysicalMemory({ size: MiB })
    memory.fill(0, MiB, 0xaa)
    const kernel = new HostKernel({ memory })
    const mm = kernel.createMm()
    return { memory, kernel, mm }
  }

  test('faultInPages gives the frames faultIn would, across VMAs, and they read as new zeroed pages', () => {
    const { memory, mm } = staleHost()
    const base = mm.mmap({ length: 4 * PAGE_SIZE, prot: RW, flags: ANON })
    mm.mmap({ addr: base + 4 * PAGE_SIZE, length: 2 * PAGE_SIZE, prot: RW | PROT_MTE, flags: ANON | MAP_FIXED })
    const pfns = new Float64Array(7).fill(-1)
    expect(mm.faultInPages(base, 6, { write: true }, pfns, 1)).toBe(6)
    expect(pfns[0]).toBe(-1)
    for (let i = 0; i < 6; i++) {
      expect(mm.faultIn(base + i * PAGE_SIZE, { write: true }).pfn).toBe(pfns[i + 1])
      expect(frame(memory, pfns[i + 1]!).every((b) => b === 0)).toBe(true)
    }
    // The Tagged mapping's frames had their tags made valid.
    expect(memory.isTagged(pfns[5]!) && memory.isTagged(pfns[6]!)).toBe(true)
    expect(mm.faultInPages(base, 0, { write: false }, pfns)).toBe(0)
  })

  test('bad arguments and an unusable first page throw before anything is faulted in; a hole further on stops the count there', () => {
    const { mm } = staleHost()
    const base = mm.mmap({ length: 2 * PAGE_SIZE, prot: RW, flags: ANON })
    const pfns = new Float64Array(4)
    expect(() => mm.faultInPages(base + 16, 1, { write: false }, pfns)).toThrow(/faultInPages: 0x[0-9a-f]+ is not page aligned/)
    expect(() => mm.faultInPages(base, 5, { write: false }, pfns)).toThrow(/a list of 4 cannot hold 5 frames at 0/)
    expect(() => mm.faultInPages(base, 1.5, { write: false }, pfns)).toThrow(/1\.5 pages/)
    expect(mm.residentFrame(base)).toBeNull()
    expect(() => mm.faultInPages(base + 2 * PAGE_SIZE, 1, { write: false }, pfns)).toThrow(ErrnoError)
    expect(() => mm.faultInPages(base + 2 * PAGE_SIZE, 1, { write: false }, pfns)).toThrow(/EFAULT: no mapping at/)
    const readOnly = mm.mmap({ length: PAGE_SIZE, prot: PROT_READ, flags: ANON })
    expect(() => mm.faultInPages(readOnly, 1, { write: true }, pfns)).toThrow(/EFAULT: write to .* not permitted/)
    // Two pages exist, the third does not: two are done and stay faulted in.
    expect(mm.faultInPages(base, 3, { write: true }, pfns)).toBe(2)
    expect(mm.residentFrame(base)).toBe(pfns[0])
    expect(mm.residentFrame(base + PAGE_SIZE)).toBe(pfns[1])
  })

  test('overwrite leaves new anonymous frames unzeroed for the caller to fill; a call that stops short zeroes them again', () => {
    const { memory, mm } = staleHost()
    const base = mm.mmap({ length: 2 * PAGE_SIZE, prot: RW, flags: ANON })
    const pfns = new Float64Array(3)
    expect(mm.faultInPages(base, 3, { write: true, overwrite: true }, pfns)).toBe(2)
    for (const pfn of pfns.subarray(0, 2)) expect(frame(memory, pfn).every((b) => b === 0)).toBe(true)
    const other = mm.mmap({ length: 2 * PAGE_SIZE, prot: RW, flags: ANON })
    expect(mm.faultInPages(other, 2, { write: true, overwrite: true }, pfns)).toBe(2)
    // Not zeroed: the caller promised to fill them whole.
    for (const pfn of pfns.subarray(0, 2)) expect(frame(memory, pfn).every((b) => b === 0xaa)).toBe(true)
    // A page that already existed keeps its contents under overwrite.
    mm.userWrite(base, new Uint8Array([1, 2, 3]))
    expect(mm.faultInPages(base, 1, { write: true, overwrite: true }, pfns)).toBe(1)
    expect([...frame(memory, pfns[0]!).subarray(0, 4)]).toEqual([1, 2, 3, 0])
  })

  test('userWrite over recycled frames: whole pages hold exactly the data, partial pages are zero around it; a fault half-way writes nothing and leaves nothing stale', () => {
    const { mm } = staleHost()
    const base = mm.mmap({ length: 8 * PAGE_SIZE, prot: RW, flags: ANON })
    const data = pattern(3).subarray(100, 100 + 3 * PAGE_SIZE - 300)
    mm.userWrite(base + PAGE_SIZE + 100, data)
    const back = new Uint8Array(5 * PAGE_SIZE)
    mm.userRead(base, back)
    const expected = new Uint8Array(5 * PAGE_SIZE)
    expected.set(data, PAGE_SIZE + 100)
    expect(back).toEqual(expected)
    // Page-aligned whole pages.
    const whole = pattern(2, 5)
    mm.userWrite(base + 5 * PAGE_SIZE, whole)
    const wholeBack = new Uint8Array(2 * PAGE_SIZE)
    mm.userRead(base + 5 * PAGE_SIZE, wholeBack)
    expect(wholeBack).toEqual(whole)
    // The range runs off the mapping's end: EFAULT, nothing written, and the pages it had
    // faulted in read as zero (never stale).
    const tail = mm.mmap({ addr: base + 16 * PAGE_SIZE, length: 2 * PAGE_SIZE, prot: RW, flags: ANON | MAP_FIXED })
    expect(() => mm.userWrite(tail, pattern(3, 9))).toThrow(/EFAULT/)
    const after = new Uint8Array(2 * PAGE_SIZE)
    mm.userRead(tail, after)
    expect(after.every((b) => b === 0)).toBe(true)
  })

  test('writeFrameTags packs the same tags from aligned and unaligned buffers, and names the first bad byte of either', () => {
    const tags = new Uint8Array(3 * GRANULES_PER_PAGE).map((_, i) => (i * 7 + (i >>> 8)) & 15)
    for (const shift of [0, 1, 2, 3, 4]) {
      const memory = new PhysicalMemory({ size: MiB })
      const buffer = new Uint8Array(shift + tags.length)
      buffer.set(tags, shift)
      memory.writeFrameTags([5, 6, 40], 0, 3, buffer, shift)
      const back = new Uint8Array(tags.length)
      memory.readFrameTags([5, 6, 40], 0, 3, back)
      expect(back).toEqual(tags)
      const bad = buffer.slice()
      bad[shift + GRANULES_PER_PAGE + 2] = 0x1f
      bad[shift + GRANULES_PER_PAGE + 3] = 0x20
      expect(() => memory.writeFrameTags([7, 8, 9], 0, 3, bad, shift)).toThrow(new RegExp(`tag byte ${shift + GRANULES_PER_PAGE + 2} is 31;`))
      expect(memory.isTagged(7) || memory.isTagged(8)).toBe(false)
    }
  })
})
