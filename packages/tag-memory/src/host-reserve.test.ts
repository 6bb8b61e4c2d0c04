import { afterEach, expect, test } from 'vitest'
import { PAGE_SIZE } from './constants.js'
import { HostKernel } from './host-kernel.js'
import { HOST_ARENA_SIZE, prefaultHostMemory, prefaultedHostBytes, releasePrefaultedHostMemory } from './host-reserve.js'
import { MAP_ANONYMOUS, MAP_PRIVATE, PROT_MTE, PROT_READ, PROT_WRITE } from './mman.js'
import { PhysicalMemory } from './physical-memory.js'

const MiB = 1 << 20
afterEach(() => releasePrefaultedHostMemory())

test('prefaultHostMemory reserves whole 2 MiB blocks; a PhysicalMemory takes them as it needs chunks and tag slabs', () => {
  expect(prefaultHostMemory(3 * MiB)).toBe(4 * MiB)
  expect(prefaultedHostBytes()).toBe(4 * MiB)
  const memory = new PhysicalMemory({ size: 64 * MiB })
  // A chunk is taken whole, and reads as zero as a fresh one does.
  memory.writeBytes(5 * MiB + 12, Uint8Array.of(1, 2, 3))
  expect(prefaultedHostBytes()).toBe(2 * MiB)
  const back = new Uint8Array(8)
  memory.readBytes(5 * MiB + 8, back)
  expect([...back]).toEqual([0, 0, 0, 0, 1, 2, 3, 0])
  memory.readBytes(4 * MiB, back)
  expect([...back]).toEqual([0, 0, 0, 0, 0, 0, 0, 0])
  // Tag slabs (64 KiB) are cut from the next block; their tags read 0 until set.
  memory.setTags(5 * MiB, 64, 9)
  expect(prefaultedHostBytes()).toBe(2 * MiB - 64 * 1024)
  expect([0, 16, 48, 64].map((o) => memory.getTag(5 * MiB + o))).toEqual([9, 9, 9, 0])
  // Chunks beyond the reserve are allocated as before (what is left of the block being cut
  // into slabs stays for slabs).
  memory.writeBytes(9 * MiB, Uint8Array.of(7))
  memory.writeBytes(13 * MiB, Uint8Array.of(8))
  expect(prefaultedHostBytes()).toBe(2 * MiB - 64 * 1024)
  memory.readBytes(13 * MiB, back)
  expect(back[0]).toBe(8)
})

test('guest-visible memory is the same with and without a reserve: a tagged mapping written and read back', () => {
  const run = (): { data: number[]; tags: number[] } => {
    const kernel = new HostKernel({ memory: new PhysicalMemory({ size: 32 * MiB }) })
    const mm = kernel.createMm()
    const at = mm.mmap({ length: 8 * MiB, prot: PROT_READ | PROT_WRITE | PROT_MTE, flags: MAP_PRIVATE | MAP_ANONYMOUS })
    mm.userWrite(at + 3 * PAGE_SIZE + 100, Uint8Array.of(0xaa, 0xbb))
    mm.userWriteTags(at + 5 * PAGE_SIZE, Uint8Array.of(3, 4, 5))
    const data = new Uint8Array(PAGE_SIZE)
    mm.userRead(at + 3 * PAGE_SIZE, data)
    const tags = new Uint8Array(8)
    mm.userReadTags(at + 5 * PAGE_SIZE, 128, tags)
    return { data: [...data.subarray(96, 106)], tags: [...tags] }
  }
  const plain = run()
  prefaultHostMemory(8 * MiB)
  const reserved = run()
  expect(prefaultedHostBytes()).toBeLessThan(8 * MiB)
  expect(reserved).toEqual(plain)
  expect(plain.tags).toEqual([3, 4, 5, 0, 0, 0, 0, 0])
})

test('chunks and tag slabs of unshared memory are cut from large host allocations (room for huge pages), each zeroed and its own', () => {
  const a = new PhysicalMemory({ size: 16 * MiB })
  const b = new PhysicalMemory({ size: 16 * MiB + 3 * PAGE_SIZE })
  a.writeBytes(0, Uint8Array.of(1))
  b.writeBytes(0, Uint8Array.of(2))
  b.writeBytes(16 * MiB, Uint8Array.of(3)) // the last, short chunk
  a.writeBytes(6 * MiB, Uint8Array.of(4))
  a.setTags(6 * MiB, 32, 5)
  const frames = [a.frameData(0), b.frameData(0), b.frameData((16 * MiB) / PAGE_SIZE), a.frameData((6 * MiB) / PAGE_SIZE)]
  for (const frame of frames) expect(frame.bytes.buffer.byteLength).toBe(HOST_ARENA_SIZE)
  expect(frames[0]!.bytes.buffer).toBe(frames[3]!.bytes.buffer)
  expect(frames.map((f) => f.bytes.length)).toEqual([2 * MiB, 2 * MiB, 3 * PAGE_SIZE, 2 * MiB])
  // Distinct pieces, page aligned in the arena, none overlapping another.
  const ranges = frames.map((f) => [f.bytes.byteOffset, f.bytes.byteOffset + f.bytes.length] as const).sort((x, y) => x[0] - y[0])
  for (let i = 0; i < ranges.length; i++) {
    expect(ranges[i]![0] % PAGE_SIZE).toBe(0)
    if (i > 0) expect(ranges[i]![0]).toBeGreaterThanOrEqual(ranges[i - 1]![1])
  }
  expect([a.read8(0), b.read8(0), b.read8(16 * MiB), a.read8(6 * MiB), a.read8(6 * MiB + 1), b.read8(6 * MiB)]).toEqual([1, 2, 3, 4, 0, 0])
  expect([a.getTag(6 * MiB), a.getTag(6 * MiB + 32), b.getTag(6 * MiB)]).toEqual([5, 0, 0])
  expect(a.frameTags((6 * MiB) / PAGE_SIZE, false)!.packed.buffer.byteLength).toBe(HOST_ARENA_SIZE)
})

test('a bad size is refused before anything is reserved', () => {
  for (const bad of [-1, 1.5, Number.NaN, 2 ** 60]) expect(() => prefaultHostMemory(bad)).toThrow(RangeError)
  expect(prefaultedHostBytes()).toBe(0)
})
