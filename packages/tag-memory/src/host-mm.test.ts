import { describe, expect, test } from 'vitest'
import { PAGE_SIZE } from './constants.js'
import { ErrnoError } from './errno.js'
import { HostKernel } from './host-kernel.js'
import { MADV_DONTNEED, MADV_HUGEPAGE, MADV_MERGEABLE, MADV_PAGEOUT, TagCheckFault } from './host-mm.js'
import {
  MAP_ANONYMOUS,
  MAP_FIXED,
  MAP_FIXED_NOREPLACE,
  MAP_POPULATE,
  MAP_PRIVATE,
  MAP_SHARED,
  MAP_SHARED_VALIDATE,
  PROT_EXEC,
  PROT_MTE,
  PROT_READ,
  PROT_WRITE,
} from './mman.js'
import { PAGE_IS_PFNZERO, PAGE_IS_PRESENT, PAGE_IS_WRITTEN } from './pagemap-scan.js'
import { PhysicalMemory } from './physical-memory.js'

const MiB = 1024 * 1024
const GiB = 1024 * MiB
const RW = PROT_READ | PROT_WRITE
const ANON = MAP_PRIVATE | MAP_ANONYMOUS

function setup(size = 256 * MiB) {
  const memory = new PhysicalMemory({ size })
  const kernel = new HostKernel({ memory })
  const mm = kernel.createMm()
  return { memory, kernel, mm }
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

function tagsOf(mm: ReturnType<typeof setup>['mm'], hva: number, length: number): number[] {
  const out = new Uint8Array(length / 16)
  mm.userReadTags(hva, length, out)
  return [...out]
}

describe('mmap and VMAs', () => {
  test('VMA flags say which mappings may carry tags', () => {
    const { kernel, mm } = setup()
    const memfd = kernel.memfdCreate('guest-ram', 64 * MiB)
    const file = kernel.createFile('disk.img', new Uint8Array(3 * PAGE_SIZE).fill(7))
    const bar = kernel.createDeviceRegion('vfio-bar0', 0x100000, 16)
    const anon = mm.mmap({ length: 1 * GiB, prot: RW | PROT_MTE, flags: ANON })
    const anonShared = mm.mmap({ length: 2 * MiB, prot: RW, flags: MAP_SHARED | MAP_ANONYMOUS })
    const shm = mm.mmap({ length: 64 * MiB, prot: RW, flags: MAP_SHARED, file: memfd })
    const fileMap = mm.mmap({ length: 3 * PAGE_SIZE, prot: PROT_READ, flags: MAP_PRIVATE, file })
    const dev = mm.mmap({ length: 16 * PAGE_SIZE, prot: RW, flags: MAP_SHARED, file: bar })
    expect(anon % PAGE_SIZE).toBe(0)
    expect(mm.findVma(anon + GiB - 1)).toMatchObject({ backing: 'anonymous', mteAllowed: true, mte: true, shared: false, writable: true })
    expect(mm.findVma(anonShared)).toMatchObject({ backing: 'shmem', anonymous: true, shared: true, mteAllowed: true, mte: false })
    const validated = mm.mmap({ length: PAGE_SIZE, prot: RW, flags: MAP_SHARED_VALIDATE | MAP_ANONYMOUS })
    expect(mm.findVma(validated)).toMatchObject({ shared: true })
    mm.munmap(validated, PAGE_SIZE)
    expect(mm.findVma(shm)).toMatchObject({ backing: 'shmem', file: memfd, mteAllowed: true })
    expect(mm.findVma(fileMap)).toMatchObject({ backing: 'file', mteAllowed: false, writable: false, readable: true })
    expect(mm.findVma(dev)).toMatchObject({ backing: 'pfnmap', pfnmap: true, mteAllowed: false })
    expect(mm.findVma(anon + GiB)).not.toMatchObject({ start: anon })
    expect(mm.vmasIn(0, 2 ** 48)).toHaveLength(5)
    // nothing has been faulted in yet
    expect(kernel.userFrames()).toEqual([])
  })

  test('PROT_MTE on a file or pfn mapping is EINVAL, at mmap and at mprotect', () => {
    const { kernel, mm } = setup()
    const file = kernel.createFile('f', new Uint8Array(PAGE_SIZE))
    const bar = kernel.createDeviceRegion('bar', 0x100000, 1)
    expect(errno(() => mm.mmap({ length: PAGE_SIZE, prot: RW | PROT_MTE, flags: MAP_SHARED, file }))).toBe('EINVAL')
    expect(errno(() => mm.mmap({ length: PAGE_SIZE, prot: RW | PROT_MTE, flags: MAP_SHARED, file: bar }))).toBe('EINVAL')
    expect(mm.vmas()).toEqual([])
    // an anonymous mapping right below a file mapping: mprotect over both fails as a whole
    const anon = mm.mmap({ addr: 0x4000_0000, length: 4 * PAGE_SIZE, prot: RW, flags: ANON | MAP_FIXED })
    mm.mmap({ addr: anon + 4 * PAGE_SIZE, length: PAGE_SIZE, prot: RW, flags: MAP_PRIVATE | MAP_FIXED, file })
    expect(errno(() => mm.mprotect(anon, 5 * PAGE_SIZE, RW | PROT_MTE))).toBe('EINVAL')
    expect(mm.findVma(anon)).toMatchObject({ mte: false, end: anon + 4 * PAGE_SIZE })
    mm.mprotect(anon + PAGE_SIZE, PAGE_SIZE, RW | PROT_MTE)
    expect(mm.vmas().map((v) => [v.start - anon, v.mte])).toEqual([
      [0, false],
      [PAGE_SIZE, true],
      [2 * PAGE_SIZE, false],
      [4 * PAGE_SIZE, false],
    ])
  })

  test('bad mmap/munmap/mprotect calls get Linux errnos and change nothing', () => {
    const { mm } = setup()
    expect(errno(() => mm.mmap({ length: 0, prot: RW, flags: ANON }))).toBe('EINVAL')
    expect(errno(() => mm.mmap({ length: PAGE_SIZE, prot: RW, flags: MAP_ANONYMOUS }))).toBe('EINVAL')
    expect(errno(() => mm.mmap({ length: PAGE_SIZE, prot: RW, flags: ANON | 0x40000 /* MAP_HUGETLB */ }))).toBe('EINVAL')
    expect(errno(() => mm.mmap({ length: PAGE_SIZE, prot: 0x100, flags: ANON }))).toBe('EINVAL')
    expect(errno(() => mm.mmap({ addr: 0x4000_0010, length: PAGE_SIZE, prot: RW, flags: ANON | MAP_FIXED }))).toBe('EINVAL')
    expect(errno(() => mm.mmap({ length: PAGE_SIZE, prot: RW, flags: ANON, offset: 100 }))).toBe('EINVAL')
    expect(errno(() => mm.mmap({ length: 2 ** 49, prot: RW, flags: ANON }))).toBe('ENOMEM')
    expect(mm.vmas()).toEqual([])
    const a = mm.mmap({ addr: 0x4000_0000, length: 8 * PAGE_SIZE, prot: RW, flags: ANON | MAP_FIXED })
    expect(errno(() => mm.mmap({ addr: a + PAGE_SIZE, length: PAGE_SIZE, prot: RW, flags: ANON | MAP_FIXED_NOREPLACE }))).toBe('EEXIST')
    expect(errno(() => mm.munmap(a + 1, PAGE_SIZE))).toBe('EINVAL')
    expect(errno(() => mm.munmap(a, 0))).toBe('EINVAL')
    expect(errno(() => mm.mprotect(a + 12, PAGE_SIZE, PROT_READ))).toBe('EINVAL')
    expect(errno(() => mm.mprotect(a, 9 * PAGE_SIZE, PROT_READ))).toBe('ENOMEM')
    expect(mm.vmas()).toHaveLength(1)
    expect(mm.findVma(a)?.prot).toBe(RW)
  })

  test('MAP_FIXED replaces, munmap splits, a hint is used when free', () => {
    const { mm } = setup()
    const a = mm.mmap({ addr: 0x5000_0000, length: 4 * PAGE_SIZE, prot: RW, flags: ANON })
    expect(a).toBe(0x5000_0000)
    mm.userWrite(a, new Uint8Array([1, 2, 3]))
    mm.mmap({ addr: a, length: PAGE_SIZE, prot: PROT_READ, flags: ANON | MAP_FIXED })
    const out = new Uint8Array(3)
    mm.userRead(a, out)
    expect([...out]).toEqual([0, 0, 0])
    mm.munmap(a + PAGE_SIZE, PAGE_SIZE)
    expect(mm.vmas().map((v) => [v.start - a, v.end - a])).toEqual([
      [0, PAGE_SIZE],
      [2 * PAGE_SIZE, 4 * PAGE_SIZE],
    ])
    expect(errno(() => mm.faultIn(a + PAGE_SIZE, { write: false }))).toBe('EFAULT')
  })
})

describe('user accesses and the PROT_MTE rule', () => {
  test('through PROT_MTE a process sees and sets tags; without it tags read 0 and tag writes are lost', () => {
    const { kernel, mm } = setup()
    const memfd = kernel.memfdCreate('ram', 16 * MiB)
    const tagged = mm.mmap({ length: 16 * MiB, prot: RW | PROT_MTE, flags: MAP_SHARED, file: memfd })
    const plain = mm.mmap({ length: 16 * MiB, prot: RW, flags: MAP_SHARED, file: memfd })
    const off = 9 * MiB + 0x40
    mm.userWriteTags(tagged + off, new Uint8Array([3, 4, 5]))
    expect(tagsOf(mm, tagged + off, 48)).toEqual([3, 4, 5])
    expect(tagsOf(mm, plain + off, 48)).toEqual([0, 0, 0]) // same frame, no tag access
    mm.userWriteTags(plain + off, new Uint8Array([9, 9, 9])) // silently ignored
    expect(tagsOf(mm, tagged + off, 48)).toEqual([3, 4, 5])
    // both mappings share the frame and its data
    mm.userWrite(plain + off, new Uint8Array([0xaa]))
    const one = new Uint8Array(1)
    mm.userRead(tagged + off, one, { tag: 3 })
    expect(one[0]).toBe(0xaa)
    expect(mm.faultIn(plain + off, { write: false }).pfn).toBe(mm.faultIn(tagged + off, { write: false }).pfn)
  })

  test('sync tag checking faults on a mismatch and writes nothing', () => {
    const { mm } = setup()
    const a = mm.mmap({ length: 2 * PAGE_SIZE, prot: RW | PROT_MTE, flags: ANON })
    const untagged = mm.mmap({ length: PAGE_SIZE, prot: RW, flags: ANON })
    mm.setTagCheckMode('sync')
    mm.userWriteTags(a + PAGE_SIZE - 32, new Uint8Array([7, 7, 7, 7]))
    mm.userWrite(a + PAGE_SIZE - 20, new Uint8Array(40).fill(1), { tag: 7 })
    let fault: unknown
    try {
      mm.userWrite(a + PAGE_SIZE - 20, new Uint8Array(60).fill(2), { tag: 7 })
    } catch (err) {
      fault = err
    }
    expect(fault).toBeInstanceOf(TagCheckFault)
    expect((fault as TagCheckFault).address).toBe(a + PAGE_SIZE + 32)
    expect((fault as TagCheckFault).allocationTag).toBe(0)
    const back = new Uint8Array(60)
    mm.userRead(a + PAGE_SIZE - 20, back.subarray(0, 40), { tag: 7 })
    expect(back.subarray(0, 40).every((b) => b === 1)).toBe(true)
    expect(() => mm.userRead(a, new Uint8Array(1), { tag: 7 })).toThrow(TagCheckFault)
    // an Untagged mapping is never checked, whatever the pointer tag
    mm.userWrite(untagged, new Uint8Array(16), { tag: 0xc })
    mm.setTagCheckMode('none')
    mm.userRead(a, new Uint8Array(1), { tag: 7 })
    expect(() => mm.userRead(a, new Uint8Array(1), { tag: 16 })).toThrow(RangeError)
  })

  test('EFAULT for unmapped or read-only targets, with nothing applied', () => {
    const { kernel, mm } = setup()
    const a = mm.mmap({ addr: 0x4000_0000, length: 2 * PAGE_SIZE, prot: RW, flags: ANON | MAP_FIXED })
    const file = kernel.createFile('ro', new Uint8Array(PAGE_SIZE).fill(5))
    const ro = mm.mmap({ length: PAGE_SIZE, prot: PROT_READ, flags: MAP_SHARED, file })
    expect(errno(() => mm.userWrite(a + PAGE_SIZE, new Uint8Array(PAGE_SIZE + 1).fill(9)))).toBe('EFAULT')
    const back = new Uint8Array(PAGE_SIZE)
    mm.userRead(a + PAGE_SIZE, back)
    expect(back.every((b) => b === 0)).toBe(true)
    expect(errno(() => mm.userWrite(ro, new Uint8Array(1)))).toBe('EFAULT')
    expect(errno(() => mm.faultIn(ro, { write: true }))).toBe('EFAULT')
    expect(errno(() => mm.faultIn(0x1234_5000, { write: false }))).toBe('EFAULT')
    mm.userRead(ro, back)
    expect(back[100]).toBe(5)
    expect(() => mm.userReadTags(a + 8, 16, new Uint8Array(1))).toThrow(RangeError)
  })
})

describe('faulting in pages for the hypervisor', () => {
  test('new anonymous pages read zero: on frames used before, and on memory that held data before the kernel', () => {
    // PhysicalMemory leaves out of a zero fill only frames nothing has written nor been handed a
    // view of: data written before the kernel took the memory over is such a write, and must be
    // cleared from each new page.
    const memory = new PhysicalMemory({ size: 16 * MiB })
    const junk = new Uint8Array(4 * PAGE_SIZE).fill(0xa5)
    memory.writeBytes(0, junk)
    const kernel = new HostKernel({ memory })
    const mm = kernel.createMm()
    const a = mm.mmap({ length: 8 * PAGE_SIZE, prot: RW, flags: ANON })
    const seen = new Uint8Array(PAGE_SIZE)
    for (let page = 0; page < 8; page++) {
      mm.faultIn(a + page * PAGE_SIZE, { write: true })
      mm.userRead(a + page * PAGE_SIZE, seen)
      expect(seen.every((byte) => byte === 0)).toBe(true)
    }
    // a kernel over empty memory: a page written, freed and handed out again reads zero
    const fresh = setup(16 * MiB)
    const b = fresh.mm.mmap({ length: PAGE_SIZE, prot: RW, flags: ANON })
    fresh.mm.userWrite(b, junk.subarray(0, PAGE_SIZE))
    const used = fresh.mm.residentFrame(b)
    fresh.mm.munmap(b, PAGE_SIZE)
    const c = fresh.mm.mmap({ length: PAGE_SIZE, prot: RW, flags: ANON })
    fresh.mm.faultIn(c, { write: true })
    expect(fresh.mm.residentFrame(c)).toBe(used)
    fresh.mm.userRead(c, seen)
    expect(seen.every((byte) => byte === 0)).toBe(true)
  })

  test('new anonymous pages: zeroed tags only on Tagged mappings; stale tags elsewhere', () => {
    const { memory, kernel, mm } = setup(16 * MiB)
    const a = mm.mmap({ length: PAGE_SIZE, prot: RW, flags: ANON })
    const first = mm.faultIn(a, { write: true }).pfn
    memory.setTags(first * PAGE_SIZE, PAGE_SIZE, 0xd) // someone wrote tags without PG_mte_tagged
    mm.munmap(a, PAGE_SIZE)
    expect(kernel.isFrameInUse(first)).toBe(false)
    // the frame is reused: new anonymous memory, untagged, keeps the stale tags in hardware
    const b = mm.mmap({ length: PAGE_SIZE, prot: RW, flags: ANON })
    const again = mm.faultIn(b, { write: true }).pfn
    expect(again).toBe(first)
    expect(memory.isTagged(again)).toBe(false)
    expect(memory.getTag(again * PAGE_SIZE + 0x200)).toBe(0xd)
    // it becomes clean once, and only once, when it first needs valid tags
    expect(memory.ensureTagsInitialised(again)).toBe(true)
    expect(memory.getTag(again * PAGE_SIZE + 0x200)).toBe(0)
    expect(memory.ensureTagsInitialised(again)).toBe(false)
    mm.munmap(b, PAGE_SIZE)
    memory.setTags(again * PAGE_SIZE, PAGE_SIZE, 0xe)
    const c = mm.mmap({ length: PAGE_SIZE, prot: RW | PROT_MTE, flags: ANON })
    const inits = kernel.stats.tagInits
    const third = mm.faultIn(c, { write: true }).pfn
    expect(third).toBe(first)
    expect(memory.isTagged(third)).toBe(true)
    expect(memory.getTag(third * PAGE_SIZE + 0x200)).toBe(0)
    expect(kernel.stats.tagInits).toBe(inits + 1)
    mm.faultIn(c, { write: true })
    expect(kernel.stats.tagInits).toBe(inits + 1)
  })

  test('a read of untouched anonymous memory maps the zero page: never tagged, never synced', () => {
    const { memory, kernel, mm } = setup(16 * MiB)
    const a = mm.mmap({ length: 2 * PAGE_SIZE, prot: RW | PROT_MTE, flags: ANON })
    const other = mm.mmap({ length: PAGE_SIZE, prot: RW, flags: ANON })
    expect(mm.wouldAllocate(a, { write: false })).toBe(false)
    const zero = mm.faultIn(a, { write: false })
    expect(zero).toMatchObject({ zeroPage: true, writable: false })
    expect(kernel.zeroPfn).toBe(zero.pfn)
    expect(mm.faultIn(a + PAGE_SIZE, { write: false }).pfn).toBe(zero.pfn)
    expect(mm.faultIn(other, { write: false }).pfn).toBe(zero.pfn)
    expect(memory.isTagged(zero.pfn)).toBe(false)
    expect(kernel.stats.tagInits).toBe(0)
    expect(tagsOf(mm, a, 32)).toEqual([0, 0])
    expect(mm.swapOut(a)).toBe(false)
    expect(errno(() => mm.migrate(a))).toBe('EFAULT')
    expect(errno(() => kernel.migrateFrame(zero.pfn))).toBe('EINVAL')
    // writing gets a fresh zeroed, tagged page and tells the notifier first
    const seen: number[] = []
    mm.onInvalidate((s) => seen.push(s))
    expect(mm.wouldAllocate(a, { write: true })).toBe(true)
    const own = mm.faultIn(a, { write: true })
    expect(own).toMatchObject({ zeroPage: false, writable: true })
    expect(own.pfn).not.toBe(zero.pfn)
    expect(memory.isTagged(own.pfn)).toBe(true)
    expect(seen).toEqual([a])
    expect(kernel.stats.cowCopies).toBe(0)
    mm.exit()
    expect(kernel.freeFrames).toBe(memory.frameCount - 1) // the zero page stays
  })

  test('mprotect adding PROT_MTE makes resident pages tagged (zeroed once)', () => {
    const { memory, mm } = setup(16 * MiB)
    const a = mm.mmap({ length: 4 * PAGE_SIZE, prot: RW, flags: ANON | MAP_POPULATE })
    const pfns = [0, 1, 2, 3].map((i) => mm.residentFrame(a + i * PAGE_SIZE) as number)
    expect(pfns.every((p) => p !== null && !memory.isTagged(p))).toBe(true)
    memory.setTags(pfns[1]! * PAGE_SIZE, PAGE_SIZE, 4)
    mm.mprotect(a, 4 * PAGE_SIZE, RW | PROT_MTE)
    expect(pfns.every((p) => memory.isTagged(p))).toBe(true)
    expect(memory.getTag(pfns[1]! * PAGE_SIZE)).toBe(0)
  })

  test('a device (pfnmap) mapping returns the device pfn with a device marker', () => {
    const { kernel, mm } = setup(16 * MiB)
    const bar = kernel.createDeviceRegion('bar', 0x80000, 4)
    const d = mm.mmap({ length: 4 * PAGE_SIZE, prot: RW, flags: MAP_SHARED, file: bar })
    expect(mm.faultIn(d + 2 * PAGE_SIZE + 8, { write: true })).toEqual({ pfn: 0x80002, device: true, writable: true, zeroPage: false, hostPageSize: PAGE_SIZE })
    expect(mm.wouldAllocate(d, { write: true })).toBe(false)
    expect(() => kernel.createDeviceRegion('overlap', 100, 1)).toThrow(RangeError)
  })

  test('device (pfnmap) memory holds data the VMM reads and writes through its mapping, never tags', () => {
    const { memory, kernel, mm } = setup(16 * MiB)
    const bar = kernel.createDeviceRegion('bar', memory.frameCount + 8, 2)
    const d = mm.mmap({ length: 2 * PAGE_SIZE, prot: RW, flags: MAP_SHARED, file: bar })
    mm.userWrite(d + PAGE_SIZE - 2, Uint8Array.of(1, 2, 3, 4)) // across the two device frames
    const back = new Uint8Array(4)
    mm.userRead(d + PAGE_SIZE - 2, back)
    expect([...back]).toEqual([1, 2, 3, 4])
    const pfn = memory.frameCount + 9
    const frame = memory.frameData(pfn)
    expect(frame.bytes[frame.offset + 1]).toBe(4)
    expect(memory.isDeviceFrame(pfn)).toBe(true)
    expect(memory.frameTags(pfn, false)).toBeNull()
    expect(() => memory.frameTags(pfn, true)).toThrow(RangeError)
    expect(() => kernel.createDeviceRegion('again', memory.frameCount + 9, 1)).toThrow(RangeError)
    expect(() => memory.frameData(memory.frameCount + 10)).toThrow(RangeError)
  })

  test('private file mappings share the page cache until written (copy on write)', () => {
    const { kernel, mm } = setup(16 * MiB)
    const file = kernel.createFile('image', new Uint8Array(2 * PAGE_SIZE).fill(0x33))
    const shared = mm.mmap({ length: 2 * PAGE_SIZE, prot: PROT_READ, flags: MAP_SHARED, file })
    const priv = mm.mmap({ length: 2 * PAGE_SIZE, prot: RW | PROT_EXEC, flags: MAP_PRIVATE, file })
    const cachePfn = mm.faultIn(shared, { write: false }).pfn
    expect(mm.wouldAllocate(priv, { write: false })).toBe(false)
    expect(mm.faultIn(priv, { write: false })).toEqual({ pfn: cachePfn, device: false, writable: false, zeroPage: false, hostPageSize: PAGE_SIZE })
    expect(mm.wouldAllocate(priv, { write: true })).toBe(true)
    const seen: [number, number][] = []
    mm.onInvalidate((s, e) => seen.push([s, e]))
    const own = mm.faultIn(priv, { write: true })
    expect(own.pfn).not.toBe(cachePfn)
    expect(own.writable).toBe(true)
    expect(seen).toEqual([[priv, priv + PAGE_SIZE]])
    mm.userWrite(priv, new Uint8Array([1]))
    const b = new Uint8Array(1)
    mm.userRead(shared, b)
    expect(b[0]).toBe(0x33)
    expect(file.content[0]).toBe(0x33)
  })

  test('fork: private pages are COW and the copy carries data AND tags, marked tagged', () => {
    const { memory, kernel, mm } = setup()
    const size = 8 * MiB
    const a = mm.mmap({ length: size, prot: RW | PROT_MTE, flags: ANON })
    for (let off = 0; off < size; off += PAGE_SIZE) {
      mm.userWrite(a + off, new Uint8Array([off / PAGE_SIZE & 0xff]))
      mm.userWriteTags(a + off + 0x100, new Uint8Array([(off / PAGE_SIZE) & 15, 1]))
    }
    const child = mm.fork()
    const parentPfn = mm.residentFrame(a + 5 * PAGE_SIZE)
    expect(child.residentFrame(a + 5 * PAGE_SIZE)).toBe(parentPfn)
    const cow = kernel.stats.cowCopies
    for (let off = 0; off < size; off += PAGE_SIZE) child.userWrite(a + off + 1, new Uint8Array([0xee]))
    expect(kernel.stats.cowCopies).toBe(cow + size / PAGE_SIZE)
    const childPfn = child.residentFrame(a + 5 * PAGE_SIZE) as number
    expect(childPfn).not.toBe(parentPfn)
    expect(memory.isTagged(childPfn)).toBe(true)
    for (let off = 0; off < size; off += PAGE_SIZE) {
      expect(tagsOf(child, a + off + 0xf0, 64)).toEqual([0, (off / PAGE_SIZE) & 15, 1, 0])
      const d = new Uint8Array(2)
      child.userRead(a + off, d)
      expect([...d]).toEqual([off / PAGE_SIZE & 0xff, 0xee])
      mm.userRead(a + off, d)
      expect([...d]).toEqual([off / PAGE_SIZE & 0xff, 0])
    }
    // the parent's pages are exclusive again: writing does not copy
    mm.userWrite(a, new Uint8Array([9]))
    expect(kernel.stats.cowCopies).toBe(cow + size / PAGE_SIZE)
    child.exit()
    mm.exit()
    expect(kernel.userFrames()).toEqual([])
    expect(kernel.freeFrames).toBe(memory.frameCount - (kernel.zeroPfn === null ? 0 : 1))
  })

  test('two processes mapping one memfd share frames and tags', () => {
    const { kernel, mm } = setup()
    const other = kernel.createMm()
    const memfd = kernel.memfdCreate('ram', 4 * MiB)
    const a = mm.mmap({ length: 4 * MiB, prot: RW | PROT_MTE, flags: MAP_SHARED, file: memfd })
    const b = other.mmap({ length: 4 * MiB, prot: RW | PROT_MTE, flags: MAP_SHARED, file: memfd })
    mm.userWriteTags(a + 3 * MiB, new Uint8Array([0xf, 0xe]))
    expect(other.faultIn(b + 3 * MiB, { write: true }).pfn).toBe(mm.faultIn(a + 3 * MiB, { write: false }).pfn)
    expect(tagsOf(other, b + 3 * MiB, 32)).toEqual([0xf, 0xe])
  })

  test('running out of frames is ENOMEM and changes nothing', () => {
    const memory = new PhysicalMemory({ size: 8 * PAGE_SIZE })
    const kernel = new HostKernel({ memory, firstFrame: 2 })
    const mm = kernel.createMm()
    const a = mm.mmap({ length: 8 * PAGE_SIZE, prot: RW, flags: ANON })
    for (let i = 0; i < 6; i++) mm.faultIn(a + i * PAGE_SIZE, { write: true })
    expect(kernel.freeFrames).toBe(0)
    expect(errno(() => mm.faultIn(a + 6 * PAGE_SIZE, { write: true }))).toBe('ENOMEM')
    expect(mm.residentFrame(a + 6 * PAGE_SIZE)).toBeNull()
    const child = mm.fork()
    expect(errno(() => child.userWrite(a, new Uint8Array([1])))).toBe('ENOMEM')
    expect(child.residentFrame(a)).toBe(mm.residentFrame(a))
  })
})

describe('swap', () => {
  test('tagged pages come back with identical data and tags (16 MiB)', () => {
    const { memory, kernel, mm } = setup()
    const size = 16 * MiB
    const a = mm.mmap({ length: size, prot: RW | PROT_MTE, flags: ANON })
    const data = new Uint8Array(size)
    for (let i = 0; i < size; i++) data[i] = (i * 131) >>> 3
    const tags = new Uint8Array(size / 16)
    for (let i = 0; i < tags.length; i++) tags[i] = (i * 7) & 15
    mm.userWrite(a, data)
    mm.userWriteTags(a, tags)
    const before = mm.residentFrame(a) as number
    const invalidated: number[] = []
    mm.onInvalidate((s) => invalidated.push(s))
    for (let off = 0; off < size; off += PAGE_SIZE) mm.swapOut(a + off)
    expect(kernel.swappedPages).toBe(size / PAGE_SIZE)
    expect(invalidated).toHaveLength(size / PAGE_SIZE)
    expect(mm.residentFrame(a)).toBeNull()
    expect(memory.isTagged(before)).toBe(false) // freed
    const backData = new Uint8Array(size)
    mm.userRead(a, backData)
    const backTags = new Uint8Array(size / 16)
    mm.userReadTags(a, size, backTags)
    expect(Buffer.compare(backData, data)).toBe(0)
    expect(Buffer.compare(backTags, tags)).toBe(0)
    expect(kernel.stats.tagRestores).toBe(size / PAGE_SIZE)
    expect(kernel.swappedPages).toBe(0)
  })

  test('guest tags in a VMM mapping without PROT_MTE survive swap and migration once the page is tagged', () => {
    // KVM's view (kvm-mte.md §2, §4): the VMM maps guest RAM without PROT_MTE; the stage-2
    // fault path faults the page in and makes its tags valid (PG_mte_tagged); the guest then
    // writes tags through stage 2. The host mm keeps them because the page is tagged.
    const { memory, kernel, mm } = setup(16 * MiB)
    const ram = mm.mmap({ length: 2 * MiB, prot: RW, flags: ANON })
    const hva = ram + 37 * PAGE_SIZE
    const pfn = mm.faultIn(hva, { write: true }).pfn
    expect(memory.ensureTagsInitialised(pfn)).toBe(true) // sanitise_mte_tags
    memory.setTags(pfn * PAGE_SIZE + 0x100, 0x40, 0x9) // the guest's STGs
    expect(tagsOf(mm, hva + 0x100, 16)).toEqual([0]) // the VMM's own view has no tags
    mm.swapOut(hva)
    const back = mm.faultIn(hva, { write: true }).pfn
    expect(memory.isTagged(back)).toBe(true)
    const out = new Uint8Array(6)
    memory.copyTagsOut(back * PAGE_SIZE + 0xf0, 0x60, out)
    expect([...out]).toEqual([0, 9, 9, 9, 9, 0])
    const moved = mm.migrate(hva)
    memory.copyTagsOut(moved * PAGE_SIZE + 0xf0, 0x60, out)
    expect([...out]).toEqual([0, 9, 9, 9, 9, 0])
    expect(kernel.stats).toMatchObject({ tagRestores: 1, migrations: 1 })
  })

  test('tags written without PG_mte_tagged are not saved: swap loses them', () => {
    const { memory, kernel, mm } = setup(16 * MiB)
    // A VMM maps guest RAM without PROT_MTE and some component writes tags straight into
    // the frame but never marks it tagged.
    const a = mm.mmap({ length: PAGE_SIZE, prot: RW, flags: ANON })
    const pfn = mm.faultIn(a, { write: true }).pfn
    memory.setTags(pfn * PAGE_SIZE, PAGE_SIZE, 0x6)
    mm.userWrite(a, new Uint8Array([42]))
    mm.swapOut(a)
    expect(kernel.isFrameInUse(pfn)).toBe(false)
    // others reuse every free frame (leaving their tags behind), so the page comes back
    // in a frame that is visibly not the original
    const junkPfns: number[] = []
    while (kernel.freeFrames > 0) junkPfns.push(kernel.allocFrame())
    for (const p of junkPfns) memory.setTags(p * PAGE_SIZE, PAGE_SIZE, 0x9)
    for (const p of junkPfns) kernel.freeFrame(p)
    const back = mm.faultIn(a, { write: false }).pfn
    expect(memory.read8(back * PAGE_SIZE)).toBe(42) // data survives
    expect(memory.isTagged(back)).toBe(false)
    expect(memory.getTag(back * PAGE_SIZE)).toBe(0x9) // tags do not: stale junk instead
    expect(kernel.stats.tagRestores).toBe(0)
  })

  test('shmem pages swap through the file; every mapper refaults to the same data and tags', () => {
    const { kernel, mm } = setup(16 * MiB)
    const other = kernel.createMm()
    const memfd = kernel.memfdCreate('ram', 2 * PAGE_SIZE)
    const a = mm.mmap({ length: 2 * PAGE_SIZE, prot: RW | PROT_MTE, flags: MAP_SHARED, file: memfd })
    const b = other.mmap({ length: 2 * PAGE_SIZE, prot: RW | PROT_MTE, flags: MAP_SHARED, file: memfd })
    mm.userWrite(a + PAGE_SIZE, new Uint8Array([1, 2]))
    mm.userWriteTags(a + PAGE_SIZE, new Uint8Array([0xb]))
    other.faultIn(b + PAGE_SIZE, { write: false })
    const seen: string[] = []
    other.onInvalidate((s) => seen.push(`other ${s - b}`))
    mm.onInvalidate((s) => seen.push(`mm ${s - a}`))
    other.swapOut(b + PAGE_SIZE)
    expect(seen.sort()).toEqual([`mm ${PAGE_SIZE}`, `other ${PAGE_SIZE}`])
    expect(other.residentFrame(b + PAGE_SIZE)).toBeNull()
    expect(mm.residentFrame(a + PAGE_SIZE)).toBeNull()
    expect(tagsOf(other, b + PAGE_SIZE, 16)).toEqual([0xb])
    const d = new Uint8Array(2)
    mm.userRead(a + PAGE_SIZE, d, { tag: 0xb })
    expect([...d]).toEqual([1, 2])
    expect(mm.residentFrame(a + PAGE_SIZE)).toBe(other.residentFrame(b + PAGE_SIZE))
  })

  test('evicting a dirty shared file page writes it back', () => {
    const { kernel, mm } = setup(16 * MiB)
    const file = kernel.createFile('data', new Uint8Array(PAGE_SIZE + 100))
    const a = mm.mmap({ length: 3 * PAGE_SIZE, prot: RW, flags: MAP_SHARED, file })
    mm.userWrite(a + PAGE_SIZE + 10, new Uint8Array([0x77]))
    mm.swapOut(a + PAGE_SIZE)
    expect(file.content[PAGE_SIZE + 10]).toBe(0x77)
    expect(errno(() => mm.faultIn(a + 2 * PAGE_SIZE, { write: false }))).toBe('EFAULT')
    const d = new Uint8Array(1)
    mm.userRead(a + PAGE_SIZE + 10, d)
    expect(d[0]).toBe(0x77)
    expect(errno(() => mm.swapOut(a))).toBe('EFAULT')
  })

  test('a swapped page shared by fork comes back as one page through the swap cache', () => {
    const { memory, kernel, mm } = setup(16 * MiB)
    const a = mm.mmap({ length: PAGE_SIZE, prot: RW | PROT_MTE, flags: ANON })
    mm.userWriteTags(a, new Uint8Array([5]))
    const child = mm.fork()
    mm.swapOut(a)
    expect(child.residentFrame(a)).toBeNull()
    expect(kernel.swappedPages).toBe(1)
    const p1 = mm.faultIn(a, { write: false }).pfn
    const p2 = child.faultIn(a, { write: false }).pfn
    expect(p1).toBe(p2)
    expect(memory.getTag(p1 * PAGE_SIZE)).toBe(5)
    child.userWrite(a, new Uint8Array([1]), { tag: 5 })
    expect(child.residentFrame(a)).not.toBe(p1)
    expect(tagsOf(child, a, 16)).toEqual([5])
  })
})

describe('migration', () => {
  test('data and tags move to the new frame, mappings follow, watchers and notifiers hear', () => {
    const { memory, kernel, mm } = setup(16 * MiB)
    const a = mm.mmap({ length: 4 * PAGE_SIZE, prot: RW | PROT_MTE, flags: ANON })
    mm.userWrite(a + 2 * PAGE_SIZE, new Uint8Array([1, 2, 3]))
    mm.userWriteTags(a + 2 * PAGE_SIZE, new Uint8Array([0xa, 0xb]))
    const old = mm.residentFrame(a + 2 * PAGE_SIZE) as number
    const target = memory.frameCount - 1
    const targetCode = memory.markCode(target) // a CPU once decoded instructions from it
    const seen: number[] = []
    mm.onInvalidate((s, e) => seen.push(s, e))
    expect(errno(() => mm.migrate(a + 2 * PAGE_SIZE, old))).toBe('EBUSY')
    const moved = mm.migrate(a + 2 * PAGE_SIZE, target)
    expect(moved).toBe(target)
    expect(seen).toEqual([a + 2 * PAGE_SIZE, a + 3 * PAGE_SIZE])
    expect([memory.holdsCode(target), memory.codeGeneration(target)]).toEqual([false, targetCode + 1])
    expect(mm.residentFrame(a + 2 * PAGE_SIZE)).toBe(target)
    expect(memory.isTagged(target)).toBe(true)
    expect(memory.isTagged(old)).toBe(false)
    expect(kernel.isFrameInUse(old)).toBe(false)
    expect(memory.getTag(old * PAGE_SIZE)).toBe(0xa) // stale in the freed frame
    expect(tagsOf(mm, a + 2 * PAGE_SIZE, 32)).toEqual([0xa, 0xb])
    const d = new Uint8Array(3)
    mm.userRead(a + 2 * PAGE_SIZE, d, { tag: 0xa })
    expect([...d]).toEqual([1, 2, 3])
    expect(errno(() => kernel.migrateFrame(old))).toBe('EINVAL')
  })

  test('compaction packs user pages into the lowest frames, keeping data and tags', () => {
    const { memory, kernel, mm } = setup(16 * MiB)
    const a = mm.mmap({ length: 64 * PAGE_SIZE, prot: RW | PROT_MTE, flags: ANON })
    for (let i = 0; i < 64; i++) {
      mm.userWrite(a + i * PAGE_SIZE, new Uint8Array([i]))
      mm.userWriteTags(a + i * PAGE_SIZE, new Uint8Array([i & 15]))
    }
    // spread pages over the top of memory
    for (let i = 0; i < 64; i += 2) mm.migrate(a + i * PAGE_SIZE, memory.frameCount - 1 - i)
    const seen: number[] = []
    mm.onInvalidate((s) => seen.push(s))
    expect(kernel.compact()).toBe(32)
    expect(seen).toHaveLength(32)
    expect(Math.max(...kernel.userFrames())).toBe(63)
    for (let i = 0; i < 64; i++) {
      const d = new Uint8Array(1)
      mm.userRead(a + i * PAGE_SIZE, d, { tag: i & 15 })
      expect(d[0]).toBe(i)
      expect(tagsOf(mm, a + i * PAGE_SIZE, 16)).toEqual([i & 15])
      expect(memory.isTagged(mm.residentFrame(a + i * PAGE_SIZE) as number)).toBe(true)
    }
    expect(kernel.compact()).toBe(0)
  })
})

describe('more rules', () => {
  test('fork shares MAP_SHARED|MAP_ANONYMOUS memory, data and tags', () => {
    const { kernel, mm } = setup(16 * MiB)
    const a = mm.mmap({ length: 4 * PAGE_SIZE, prot: RW | PROT_MTE, flags: MAP_SHARED | MAP_ANONYMOUS })
    mm.userWrite(a, new Uint8Array([1]))
    const child = mm.fork()
    child.userWrite(a + 1, new Uint8Array([2]))
    child.userWriteTags(a + 16, new Uint8Array([6]))
    const d = new Uint8Array(2)
    mm.userRead(a, d)
    expect([...d]).toEqual([1, 2])
    expect(tagsOf(mm, a, 32)).toEqual([0, 6])
    expect(child.residentFrame(a)).toBe(mm.residentFrame(a))
    expect(kernel.stats.cowCopies).toBe(0)
  })

  test('a tag write or read crossing into an unmapped page is EFAULT and applies nothing', () => {
    const { mm } = setup(16 * MiB)
    const a = mm.mmap({ addr: 0x4000_0000, length: PAGE_SIZE, prot: RW | PROT_MTE, flags: ANON | MAP_FIXED })
    const tags = new Uint8Array(PAGE_SIZE / 16 + 1).fill(3)
    expect(errno(() => mm.userWriteTags(a, tags))).toBe('EFAULT')
    expect(tagsOf(mm, a, PAGE_SIZE).every((t) => t === 0)).toBe(true)
    expect(() => mm.userWriteTags(a, new Uint8Array([1, 16]))).toThrow(RangeError)
    expect(tagsOf(mm, a, 32)).toEqual([0, 0])
    expect(errno(() => mm.userReadTags(a, 2 * PAGE_SIZE, new Uint8Array(512)))).toBe('EFAULT')
    expect(errno(() => mm.mmap({ addr: 0x1000, length: PAGE_SIZE, prot: RW, flags: ANON | MAP_FIXED }))).toBe('EPERM')
  })

  test('wouldAllocate follows swap and COW state', () => {
    const { mm } = setup(16 * MiB)
    const a = mm.mmap({ length: PAGE_SIZE, prot: RW, flags: ANON })
    expect(mm.wouldAllocate(a, { write: true })).toBe(true)
    mm.faultIn(a, { write: true })
    expect(mm.wouldAllocate(a, { write: true })).toBe(false)
    mm.swapOut(a)
    expect(mm.wouldAllocate(a, { write: false })).toBe(true)
    mm.faultIn(a, { write: false })
    expect(mm.wouldAllocate(a, { write: true })).toBe(false) // exclusive again after swap-in
    const child = mm.fork()
    expect(child.wouldAllocate(a, { write: true })).toBe(true)
    expect(child.wouldAllocate(a, { write: false })).toBe(false)
    expect(mm.wouldAllocate(0x10_0000_0000, { write: false })).toBe(false)
  })

  test('frame-granular kernel writes (zeroing, COW copy, swap-in) invalidate decoded code', () => {
    const { memory, kernel, mm } = setup(16 * MiB)
    const heard: number[] = []
    // Each code write bumps the epoch once; record which frame's generation moved.
    const generations = new Map<number, number>()
    const mark = (pfn: number): void => void generations.set(pfn, memory.markCode(pfn))
    const listen = (): void => {
      for (const [pfn, gen] of generations) {
        if (memory.codeGeneration(pfn) !== gen) {
          heard.push(pfn)
          generations.delete(pfn)
        }
      }
    }
    const a = mm.mmap({ length: 2 * PAGE_SIZE, prot: RW | PROT_EXEC, flags: ANON })
    const code = mm.faultIn(a, { write: true }).pfn
    mark(code) // a CPU decoded instructions from it
    mm.swapOut(a)
    listen()
    expect(heard).toEqual([]) // reading it out is not a write
    // the allocator reuses the last freed frame first, so swap-in lands in the same frame
    expect(mm.faultIn(a, { write: false }).pfn).toBe(code)
    listen()
    expect(heard).toEqual([code])
    // COW: the copy is written into whichever frame comes next
    const next = kernel.allocFrame()
    kernel.freeFrame(next)
    mark(next)
    const child = mm.fork()
    child.userWrite(a, new Uint8Array([1]))
    expect(child.residentFrame(a)).toBe(next)
    listen()
    expect(heard).toEqual([code, next])
    // a freed frame handed out again is zeroed
    child.munmap(a, PAGE_SIZE)
    mark(next)
    mm.faultIn(a + PAGE_SIZE, { write: true })
    listen()
    expect(heard).toEqual([code, next, next])
    expect(memory.codeEpochs[0]).toBe(3)
  })
})

describe('transparent huge pages', () => {
  function thpHost(mode: 'always' | 'madvise') {
    const memory = new PhysicalMemory({ size: 64 * MiB })
    const kernel = new HostKernel({ memory, transparentHugepages: mode })
    return { memory, kernel, mm: kernel.createMm() }
  }

  test('a write fault in an aligned 2 MiB block of Tagged anonymous memory takes a huge page', () => {
    const { memory, kernel, mm } = thpHost('always')
    const a = mm.mmap({ length: 8 * MiB, prot: RW | PROT_MTE, flags: ANON })
    expect(a % (2 * MiB)).toBe(0)
    const page = mm.faultIn(a + 2 * MiB + 5 * PAGE_SIZE, { write: true })
    expect(page.hostPageSize).toBe(2 * MiB)
    expect(page.pfn % 512).toBe(5)
    const head = page.pfn - 5
    for (let i = 0; i < 512; i++) {
      expect(mm.residentFrame(a + 2 * MiB + i * PAGE_SIZE)).toBe(head + i)
      expect(memory.isTagged(head + i)).toBe(true)
    }
    expect(kernel.stats).toMatchObject({ thpAllocs: 1, tagInits: 512 })
    expect(mm.faultIn(a + 4 * MiB - 1, { write: false }).hostPageSize).toBe(2 * MiB)
  })

  test('swapping, migrating or partly unmapping a huge page splits it, telling notifiers about 2 MiB', () => {
    const { kernel, mm } = thpHost('always')
    const a = mm.mmap({ length: 4 * MiB, prot: RW | PROT_MTE, flags: ANON })
    mm.userWrite(a, new Uint8Array(2 * MiB).fill(0x5c))
    mm.userWriteTags(a + 100 * PAGE_SIZE, new Uint8Array([7, 8]))
    const seen: [number, number][] = []
    mm.onInvalidate((s, e) => seen.push([s - a, e - a]))
    mm.swapOut(a + 100 * PAGE_SIZE)
    expect(seen[0]).toEqual([0, 2 * MiB]) // the split, before the swap-out of one page
    expect(seen[1]).toEqual([100 * PAGE_SIZE, 101 * PAGE_SIZE])
    expect(kernel.stats.thpSplits).toBe(1)
    expect(mm.faultIn(a, { write: false }).hostPageSize).toBe(PAGE_SIZE)
    expect(tagsOf(mm, a + 100 * PAGE_SIZE, 32)).toEqual([7, 8])
    const d = new Uint8Array(2 * MiB)
    mm.userRead(a, d, { tag: 0 })
    expect(d.every((b) => b === 0x5c)).toBe(true)
    // the second block: a partial munmap splits too
    mm.faultIn(a + 2 * MiB, { write: true })
    expect(mm.faultIn(a + 3 * MiB, { write: false }).hostPageSize).toBe(2 * MiB)
    mm.munmap(a + 3 * MiB, PAGE_SIZE)
    expect(mm.faultIn(a + 2 * MiB, { write: false }).hostPageSize).toBe(PAGE_SIZE)
    expect(kernel.stats.thpSplits).toBe(2)
  })

  test('no huge page when the block is not inside the mapping, not advised, or not free', () => {
    const { kernel, mm } = thpHost('madvise')
    const a = mm.mmap({ length: 4 * MiB, prot: RW, flags: ANON })
    expect(mm.faultIn(a, { write: true }).hostPageSize).toBe(PAGE_SIZE) // not advised
    mm.madvise(a + 2 * MiB, 2 * MiB, MADV_HUGEPAGE)
    expect(mm.faultIn(a + 2 * MiB, { write: true }).hostPageSize).toBe(2 * MiB)
    const small = mm.mmap({ length: MiB, prot: RW, flags: ANON })
    mm.madvise(small, MiB, MADV_HUGEPAGE)
    expect(mm.faultIn(small, { write: true }).hostPageSize).toBe(PAGE_SIZE) // block not inside
    expect(errno(() => mm.madvise(a, 8 * MiB, MADV_HUGEPAGE))).toBe('ENOMEM')
    expect(errno(() => mm.madvise(a, MiB, 99))).toBe('EINVAL')
    // fill memory with base pages so no aligned 512-frame block stays free
    const filler = mm.mmap({ length: 64 * MiB, prot: RW, flags: ANON })
    for (let off = 0; kernel.freeFrames > 0; off += PAGE_SIZE) mm.faultIn(filler + off, { write: true })
    mm.munmap(filler, PAGE_SIZE)
    const late = mm.mmap({ length: 2 * MiB, prot: RW, flags: ANON })
    mm.madvise(late, 2 * MiB, MADV_HUGEPAGE)
    expect(mm.faultIn(late, { write: true }).hostPageSize).toBe(PAGE_SIZE) // falls back
    expect(() => new HostKernel({ memory: kernel.memory, transparentHugepages: 'sometimes' as 'always' })).toThrow(RangeError)
  })

  test('a COW write to a shared huge page splits it and copies one page with its tags', () => {
    const { memory, kernel, mm } = thpHost('always')
    const a = mm.mmap({ length: 2 * MiB, prot: RW | PROT_MTE, flags: ANON })
    mm.userWriteTags(a + 3 * PAGE_SIZE, new Uint8Array([0xd]))
    const child = mm.fork()
    expect(child.faultIn(a, { write: false }).hostPageSize).toBe(2 * MiB)
    child.userWrite(a + 3 * PAGE_SIZE + 16, new Uint8Array([1]))
    expect(kernel.stats.thpSplits).toBe(1)
    const copy = child.residentFrame(a + 3 * PAGE_SIZE) as number
    expect(copy).not.toBe(mm.residentFrame(a + 3 * PAGE_SIZE))
    expect(memory.getTag(copy * PAGE_SIZE)).toBe(0xd)
    expect(mm.faultIn(a, { write: false }).hostPageSize).toBe(PAGE_SIZE)
  })
})

describe('madvise', () => {
  test('MADV_DONTNEED drops pages: private memory reads zero again, shared memory keeps data and tags', () => {
    const { memory, kernel, mm } = setup(16 * MiB)
    const priv = mm.mmap({ length: 4 * PAGE_SIZE, prot: RW, flags: ANON })
    const memfd = kernel.memfdCreate('ram', 4 * PAGE_SIZE)
    const shared = mm.mmap({ length: 4 * PAGE_SIZE, prot: RW | PROT_MTE, flags: MAP_SHARED, file: memfd })
    mm.userWrite(priv + PAGE_SIZE, new Uint8Array([9]))
    const pfn = mm.residentFrame(priv + PAGE_SIZE) as number
    memory.ensureTagsInitialised(pfn) // the hypervisor cleaned it for a guest
    mm.userWrite(shared, new Uint8Array([7]))
    mm.userWriteTags(shared, new Uint8Array([3]))
    const seen: number[] = []
    mm.onInvalidate((s, e) => seen.push(s, e))
    mm.madvise(priv, 4 * PAGE_SIZE, MADV_DONTNEED)
    mm.madvise(shared, 4 * PAGE_SIZE, MADV_DONTNEED)
    expect(seen).toEqual([priv, priv + 4 * PAGE_SIZE, shared, shared + 4 * PAGE_SIZE])
    expect(mm.residentFrame(priv + PAGE_SIZE)).toBeNull()
    expect(memory.isTagged(pfn)).toBe(false) // freed: it will need cleaning again
    const d = new Uint8Array(1)
    mm.userRead(priv + PAGE_SIZE, d)
    expect(d[0]).toBe(0)
    mm.userRead(shared, d, { tag: 3 })
    expect(d[0]).toBe(7)
    expect(tagsOf(mm, shared, 16)).toEqual([3])
    const bar = kernel.createDeviceRegion('bar', 0x10000, 1)
    const dev = mm.mmap({ length: PAGE_SIZE, prot: RW, flags: MAP_SHARED, file: bar })
    expect(errno(() => mm.madvise(dev, PAGE_SIZE, MADV_DONTNEED))).toBe('EINVAL')
    expect(errno(() => mm.madvise(priv, 5 * PAGE_SIZE, MADV_DONTNEED))).toBe('ENOMEM')
  })

  test('MADV_PAGEOUT swaps out every resident page of a range, keeping tagged pages\' tags', () => {
    const { kernel, mm } = setup(16 * MiB)
    const a = mm.mmap({ length: 64 * PAGE_SIZE, prot: RW | PROT_MTE, flags: ANON })
    for (let i = 0; i < 64; i += 2) {
      mm.userWrite(a + i * PAGE_SIZE, new Uint8Array([i]))
      mm.userWriteTags(a + i * PAGE_SIZE, new Uint8Array([i & 15]))
    }
    mm.faultIn(a + PAGE_SIZE, { write: false }) // the zero page: not swapped
    mm.madvise(a, 64 * PAGE_SIZE, MADV_PAGEOUT)
    expect(kernel.swappedPages).toBe(32)
    for (let i = 0; i < 64; i += 2) {
      expect(mm.residentFrame(a + i * PAGE_SIZE)).toBeNull()
      expect(tagsOf(mm, a + i * PAGE_SIZE, 16)).toEqual([i & 15])
    }
    expect(kernel.stats.tagRestores).toBe(32)
  })
})

describe('KSM', () => {
  test('identical untagged pages merge copy-on-write; tagged pages never merge', () => {
    const { memory, kernel, mm } = setup(16 * MiB)
    const other = kernel.createMm()
    const a = mm.mmap({ length: 8 * PAGE_SIZE, prot: RW, flags: ANON })
    const b = other.mmap({ length: 8 * PAGE_SIZE, prot: RW, flags: ANON })
    const content = new Uint8Array(PAGE_SIZE).fill(0x42)
    for (let i = 0; i < 8; i++) {
      mm.userWrite(a + i * PAGE_SIZE, content)
      other.userWrite(b + i * PAGE_SIZE, content)
    }
    // the hypervisor has made two of them tagged (sanitised for a guest): same data, tags valid
    memory.ensureTagsInitialised(mm.residentFrame(a) as number)
    memory.ensureTagsInitialised(other.residentFrame(b) as number)
    expect(kernel.ksmScan()).toBe(0) // not MADV_MERGEABLE yet
    mm.madvise(a, 8 * PAGE_SIZE, MADV_MERGEABLE)
    other.madvise(b, 8 * PAGE_SIZE, MADV_MERGEABLE)
    const free = kernel.freeFrames
    const seen: number[] = []
    other.onInvalidate((s) => seen.push(s))
    expect(kernel.ksmScan()).toBe(13) // 14 untagged identical pages become 1
    expect(kernel.freeFrames).toBe(free + 13)
    const shared = mm.residentFrame(a + PAGE_SIZE)
    expect(other.residentFrame(b + 7 * PAGE_SIZE)).toBe(shared)
    expect(mm.residentFrame(a)).not.toBe(shared) // tagged: kept apart
    expect(other.residentFrame(b)).not.toBe(shared)
    expect(seen).toHaveLength(7)
    // writing breaks the sharing again
    other.userWrite(b + 3 * PAGE_SIZE, new Uint8Array([1]))
    expect(other.residentFrame(b + 3 * PAGE_SIZE)).not.toBe(shared)
    const d = new Uint8Array(2)
    mm.userRead(a + 3 * PAGE_SIZE, d)
    expect([...d]).toEqual([0x42, 0x42])
    expect(kernel.ksmScan()).toBe(0)
  })
})


test('pages a VMM fills in private anonymous memory (kept as bare frames) act as pages everywhere: migration, swap, fork, pagemap, munmap', () => {
  const { memory, kernel, mm } = setup(16 * MiB)
  const freeBefore = kernel.freeFrames
  const at = mm.mmap({ length: 8 * PAGE_SIZE, prot: RW | PROT_MTE, flags: ANON })
  const bytes = Uint8Array.from({ length: 8 * PAGE_SIZE }, (_, i) => (i * 7) & 0xff)
  mm.userWrite(at, bytes)
  mm.userWriteTags(at + 2 * PAGE_SIZE, Uint8Array.of(5, 6, 7))
  expect(kernel.freeFrames).toBe(freeBefore - 8)
  expect(kernel.userFrames()).toHaveLength(8)
  expect(mm.faultIn(at, { write: true })).toMatchObject({ writable: true, zeroPage: false, hostPageSize: PAGE_SIZE })
  const scan = mm.pagemapScan({ start: at, end: at + 8 * PAGE_SIZE, vecLen: 8, categoryMask: PAGE_IS_PRESENT, returnMask: PAGE_IS_PRESENT | PAGE_IS_WRITTEN | PAGE_IS_PFNZERO })
  expect(scan.regions).toEqual([{ start: at, end: at + 8 * PAGE_SIZE, categories: PAGE_IS_PRESENT | PAGE_IS_WRITTEN }])
  // Migration by frame finds the one mapping and tells it.
  const invalidated: number[] = []
  mm.onInvalidate((start) => invalidated.push(start))
  const pfn = mm.residentFrame(at + 2 * PAGE_SIZE)!
  const moved = kernel.migrateFrame(pfn)
  expect(invalidated).toEqual([at + 2 * PAGE_SIZE])
  expect(mm.residentFrame(at + 2 * PAGE_SIZE)).toBe(moved)
  // Swap-out by frame, then swap-in on access: data and tags back.
  kernel.swapOutFrame(mm.residentFrame(at + 3 * PAGE_SIZE)!)
  expect(mm.residentFrame(at + 3 * PAGE_SIZE)).toBeNull()
  const seen = new Uint8Array(8 * PAGE_SIZE)
  mm.userRead(at, seen)
  expect(seen).toEqual(bytes)
  const tags = new Uint8Array(3)
  mm.userReadTags(at + 2 * PAGE_SIZE, 48, tags)
  expect([...tags]).toEqual([5, 6, 7])
  // Fork: copy on write, each side keeps its own bytes.
  const child = mm.fork()
  child.userWrite(at + 5 * PAGE_SIZE, Uint8Array.of(0xee))
  const one = new Uint8Array(1)
  mm.userRead(at + 5 * PAGE_SIZE, one)
  expect(one[0]).toBe(bytes[5 * PAGE_SIZE])
  child.exit()
  // munmap frees every frame; nothing is left mapped or counted.
  mm.munmap(at, 8 * PAGE_SIZE)
  expect(kernel.userFrames()).toEqual([])
  expect(kernel.freeFrames).toBe(freeBefore)
  expect(memory.isTagged(pfn)).toBe(false)
})
