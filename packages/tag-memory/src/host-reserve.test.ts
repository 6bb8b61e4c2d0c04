import { PerformanceObserver } from 'node:perf_hooks'
import { setFlagsFromString } from 'node:v8'
import { runInNewContext } from 'node:vm'
import { afterEach, expect, test } from 'vitest'
import { PAGE_SIZE } from './constants.js'
import { HostKernel } from './host-kernel.js'
import {
  FIRST_HOST_ARENA_SIZE,
  HOST_ARENA_SIZE,
  hugePageFriendly,
  liveHostArenaBytes,
  newArena,
  sharedHostArenas,
  useSharedHostArenas,
  prefaultHostMemory,
  prefaultedHostBytes,
  releasePrefaultedHostMemory,
  type HostArenaSupply,
} from './host-reserve.js'
import { MAP_ANONYMOUS, MAP_PRIVATE, PROT_MTE, PROT_READ, PROT_WRITE } from './mman.js'
import { CHUNK_SIZE, PhysicalMemory } from './physical-memory.js'

const MiB = 1 << 20
/** Tags of 512 frames, a byte per granule: one tag slab. */
const SLAB_SIZE = 128 * 1024
afterEach(() => releasePrefaultedHostMemory())

/** The distinct host buffers behind the given (already touched) chunks of a memory and behind its tagged frames. */
function buffersOf(memory: PhysicalMemory, chunks: readonly number[], taggedPfns: readonly number[] = []): Set<ArrayBufferLike> {
  const buffers = new Set<ArrayBufferLike>()
  for (const chunk of chunks) buffers.add(memory.frameData((chunk * CHUNK_SIZE) / PAGE_SIZE).bytes.buffer)
  for (const pfn of taggedPfns) buffers.add(memory.frameTags(pfn, false)!.tags.buffer)
  return buffers
}

// (Buffers are compared by identity as booleans: a failure must not print megabytes of bytes.)
const heldIn = (buffers: Set<ArrayBufferLike>): number => [...buffers].reduce((n, b) => n + b.byteLength, 0)

test('prefaultHostMemory reserves whole 2 MiB blocks; the next memory needing host memory takes the reserved arena whole, for chunks and tag slabs', () => {
  expect(prefaultHostMemory(3 * MiB)).toBe(4 * MiB)
  expect(prefaultedHostBytes()).toBe(4 * MiB)
  const memory = new PhysicalMemory({ size: 64 * MiB })
  expect(memory.hostArenaBytes).toBe(0) // nothing until touched
  // The first chunk takes the whole reserved arena; it reads as zero as a fresh one does.
  memory.writeBytes(5 * MiB + 12, Uint8Array.of(1, 2, 3))
  expect(prefaultedHostBytes()).toBe(0)
  expect(memory.hostArenaBytes).toBe(4 * MiB)
  const reserved = memory.frameData((5 * MiB) / PAGE_SIZE).bytes.buffer
  expect(reserved.byteLength).toBe(4 * MiB)
  const back = new Uint8Array(8)
  memory.readBytes(5 * MiB + 8, back)
  expect([...back]).toEqual([0, 0, 0, 0, 1, 2, 3, 0])
  memory.readBytes(4 * MiB, back)
  expect([...back]).toEqual([0, 0, 0, 0, 0, 0, 0, 0])
  // Tag slabs come from the same arena; their tags read 0 until set.
  memory.setTags(5 * MiB, 64, 9)
  expect(memory.frameTags((5 * MiB) / PAGE_SIZE, false)!.tags.buffer === reserved).toBe(true)
  expect([0, 16, 48, 64].map((o) => memory.getTag(5 * MiB + o))).toEqual([9, 9, 9, 0])
  // The next chunk does not fit what is left of it: a fresh arena, this memory's too.
  memory.writeBytes(13 * MiB, Uint8Array.of(8))
  expect(memory.hostArenaBytes).toBe(4 * MiB + hugePageFriendly(FIRST_HOST_ARENA_SIZE))
  expect(memory.frameData((13 * MiB) / PAGE_SIZE).bytes.buffer === reserved).toBe(false)
  memory.readBytes(13 * MiB, back)
  expect(back[0]).toBe(8)
  // A reserved arena larger than everything a memory could ever use is left for another.
  prefaultHostMemory(4 * MiB)
  const small = new PhysicalMemory({ size: 2 * MiB })
  small.write8(0, 1)
  small.setTags(0, 16, 1)
  expect(prefaultedHostBytes()).toBe(4 * MiB)
  expect(small.hostArenaBytes).toBe(2 * MiB + SLAB_SIZE)
  releasePrefaultedHostMemory()
  // More than one arena's worth: full arenas a page short of 64 MiB (see hugePageFriendly), the
  // last one taking the pages they lack.
  expect(prefaultHostMemory(HOST_ARENA_SIZE + 1)).toBe(HOST_ARENA_SIZE + 2 * MiB)
  expect(prefaultedHostBytes()).toBe(HOST_ARENA_SIZE + 2 * MiB)
  const large = new PhysicalMemory({ size: 1024 * MiB })
  const arenaLengths = (): number[] => {
    const lengths = []
    for (let chunk = 0; chunk < 33; chunk++) {
      large.write8(chunk * CHUNK_SIZE, 1)
      lengths.push(large.frameData((chunk * CHUNK_SIZE) / PAGE_SIZE).bytes.buffer.byteLength)
    }
    return lengths
  }
  // 31 chunks in the first reserved arena, 1 in the second (2 MiB and a page), then a fresh one.
  expect(arenaLengths()).toEqual([...Array<number>(31).fill(HOST_ARENA_SIZE - PAGE_SIZE), 2 * MiB + PAGE_SIZE, HOST_ARENA_SIZE - PAGE_SIZE])
  expect(prefaultedHostBytes()).toBe(0)
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
  expect(prefaultedHostBytes()).toBe(0)
  expect(reserved).toEqual(plain)
  expect(plain.tags).toEqual([3, 4, 5, 0, 0, 0, 0, 0])
})

test('two memories never share a host allocation; the chunks and tag slabs of one are zeroed, page aligned and apart', () => {
  const a = new PhysicalMemory({ size: 16 * MiB })
  const b = new PhysicalMemory({ size: 16 * MiB + 3 * PAGE_SIZE })
  // Interleaved first touches, as two machines running side by side make them.
  a.writeBytes(0, Uint8Array.of(1))
  b.writeBytes(0, Uint8Array.of(2))
  b.writeBytes(16 * MiB, Uint8Array.of(3)) // the last, short chunk
  a.writeBytes(6 * MiB, Uint8Array.of(4))
  a.setTags(6 * MiB, 32, 5)
  b.setTags(2 * PAGE_SIZE, 16, 6)
  const ofA = buffersOf(a, [0, 3], [(6 * MiB) / PAGE_SIZE])
  const ofB = buffersOf(b, [0, 8], [2])
  for (const buffer of ofA) expect(ofB.has(buffer)).toBe(false)
  expect([heldIn(ofA), heldIn(ofB)]).toEqual([a.hostArenaBytes, b.hostArenaBytes])
  const frames = [a.frameData(0), a.frameData((6 * MiB) / PAGE_SIZE), b.frameData(0), b.frameData((16 * MiB) / PAGE_SIZE)]
  expect(frames.map((f) => f.bytes.length)).toEqual([2 * MiB, 2 * MiB, 2 * MiB, 3 * PAGE_SIZE])
  // Within a memory: distinct pieces, page aligned in their arena, none overlapping another.
  for (const [memory, pieces] of [
    [a, [frames[0]!.bytes, frames[1]!.bytes, a.frameTags((6 * MiB) / PAGE_SIZE, false)!.tags]],
    [b, [frames[2]!.bytes, frames[3]!.bytes, b.frameTags(2, false)!.tags]],
  ] as const) {
    const ranges = pieces.map((p) => [p.buffer, p.byteOffset, p.byteOffset + p.length] as const).sort((x, y) => x[1] - y[1])
    for (let i = 0; i < ranges.length; i++) {
      expect(ranges[i]![1] % PAGE_SIZE).toBe(0)
      for (let j = 0; j < i; j++) if (ranges[j]![0] === ranges[i]![0]) expect(ranges[i]![1]).toBeGreaterThanOrEqual(ranges[j]![2])
    }
    expect(memory.hostArenaBytes).toBeLessThan(HOST_ARENA_SIZE)
  }
  expect([a.read8(0), b.read8(0), b.read8(16 * MiB), a.read8(6 * MiB), a.read8(6 * MiB + 1), b.read8(6 * MiB)]).toEqual([1, 2, 3, 4, 0, 0])
  expect([a.getTag(6 * MiB), a.getTag(6 * MiB + 32), b.getTag(6 * MiB), b.getTag(2 * PAGE_SIZE), a.getTag(2 * PAGE_SIZE)]).toEqual([5, 0, 0, 6, 0])
  // Shared memory is reserved up front as SharedArrayBuffers: no arenas.
  const shared = new PhysicalMemory({ size: 4 * MiB, shared: true })
  shared.write8(0, 1)
  expect(shared.hostArenaBytes).toBe(0)
})

test('a memory holds host arenas for what it allocated, growing to the full size as it allocates more, never much past what it can use', () => {
  // All of a 16 MiB memory, every frame tagged: its 16 MiB of data and 1 MiB of tag slabs.
  const small = new PhysicalMemory({ size: 16 * MiB })
  const allChunks = [0, 1, 2, 3, 4, 5, 6, 7]
  for (const chunk of allChunks) {
    small.write8(chunk * CHUNK_SIZE, 1)
    small.setTags(chunk * CHUNK_SIZE, CHUNK_SIZE, 3)
  }
  const smallArenas = buffersOf(small, allChunks, allChunks.map((c) => (c * CHUNK_SIZE) / PAGE_SIZE))
  const smallHeld = heldIn(smallArenas)
  expect(small.hostArenaBytes).toBe(smallHeld)
  expect(smallHeld).toBeGreaterThanOrEqual(16 * MiB + 8 * SLAB_SIZE)
  // Beyond what it used, less than a block per arena: the room for tag slabs that an arena a
  // page short of whole blocks keeps (see hugePageFriendly), not all of it used here.
  expect(smallHeld).toBeLessThan(16 * MiB + 8 * SLAB_SIZE + smallArenas.size * CHUNK_SIZE)
  // A machine's host memory is large and touched a chunk at a time. At every step its arenas
  // but the newest (the largest) hold what it allocated and less than a block more each (room
  // for tag slabs); the newest is at most as large as all the others together, or the first
  // arena's size (rounded as hugePageFriendly does), and at most HOST_ARENA_SIZE.
  const large = new PhysicalMemory({ size: 4096 * MiB })
  const touched: number[] = []
  let largest = 0
  for (let chunk = 0; chunk < 160; chunk++) {
    touched.push(chunk * 3)
    large.write8(chunk * 3 * CHUNK_SIZE, 7)
    if (chunk % 5 === 0) large.setTag(chunk * 3 * CHUNK_SIZE, 2)
    const buffers = buffersOf(large, touched)
    const held = heldIn(buffers)
    const allocated = large.allocatedDataBytes + Math.ceil(large.framesWithTagStorage / 512) * SLAB_SIZE
    const newest = Math.max(...[...buffers].map((b) => b.byteLength))
    expect(held - newest).toBeLessThan(allocated + buffers.size * CHUNK_SIZE)
    expect(newest).toBeLessThanOrEqual(Math.min(HOST_ARENA_SIZE, hugePageFriendly(Math.max(FIRST_HOST_ARENA_SIZE, held - newest))))
    largest = Math.max(largest, newest)
    for (const buffer of buffers) {
      // Each a whole number of 2 MiB blocks less a page, as huge pages need (hugePageFriendly).
      expect((buffer.byteLength + PAGE_SIZE) % CHUNK_SIZE).toBe(0)
    }
  }
  expect(large.hostArenaBytes).toBe(heldIn(buffersOf(large, touched, [0])))
  // Once it has allocated enough, its arenas are full size: room for huge pages.
  expect(largest).toBe(HOST_ARENA_SIZE - PAGE_SIZE)
  expect([large.read8(0), large.read8(477 * CHUNK_SIZE), large.getTag(0), large.getTag(3 * CHUNK_SIZE)]).toEqual([7, 7, 2, 0])
})

// --expose-gc for this process: what is garbage is then freed when the test says so.
setFlagsFromString('--expose-gc')
const collectGarbage = runInNewContext('gc') as () => void

/** Collects garbage until the live arena count stops changing (finalizers run after a collection, in a later task). */
async function settle(): Promise<void> {
  let last = Number.NaN
  for (let round = 0; round < 20 && liveHostArenaBytes() !== last; round++) {
    last = liveHostArenaBytes()
    collectGarbage()
    await new Promise((resolve) => setTimeout(resolve, 10))
  }
}

test('a memory dropped takes its arenas with it: nothing else refers to them, and the live count loses exactly its bytes', async () => {
  await settle()
  const before = liveHostArenaBytes()
  // A guest's memory, touched and tagged, then dropped (as a migration source once the guest
  // runs on the destination) while another stays in use.
  const dropped = ((): { chunk: WeakRef<ArrayBufferLike>; slab: WeakRef<ArrayBufferLike>; held: number } => {
    const memory = new PhysicalMemory({ size: 64 * MiB })
    memory.write32(2 * MiB, 0xd503201f)
    memory.setTags(2 * MiB, 64, 7)
    return {
      chunk: new WeakRef(memory.frameData((2 * MiB) / PAGE_SIZE).bytes.buffer),
      slab: new WeakRef(memory.frameTags((2 * MiB) / PAGE_SIZE, false)!.tags.buffer),
      held: memory.hostArenaBytes,
    }
  })()
  const kept = new PhysicalMemory({ size: 64 * MiB })
  kept.write32(0, 0x12345678)
  expect(dropped.held).toBeGreaterThan(0)
  expect(liveHostArenaBytes()).toBe(before + dropped.held + kept.hostArenaBytes)
  await settle()
  expect([dropped.chunk.deref() === undefined, dropped.slab.deref() === undefined]).toEqual([true, true])
  expect(liveHostArenaBytes()).toBe(before + kept.hostArenaBytes)
  expect(kept.read32(0)).toBe(0x12345678)
})

test('a bad size is refused before anything is reserved', () => {
  for (const bad of [-1, 1.5, Number.NaN, 2 ** 60]) expect(() => prefaultHostMemory(bad)).toThrow(RangeError)
  expect(prefaultedHostBytes()).toBe(0)
})

test('a memory with a supply takes its ready arenas before making fresh ones (the --prealloc reserve first), and tells it of every fresh one', () => {
  const ready: Uint8Array[] = [new Uint8Array(hugePageFriendly(8 * MiB))]
  const asked: [number, number][] = []
  const fresh: number[] = []
  const supply: HostArenaSupply = {
    take: (min, max) => {
      asked.push([min, max])
      return ready.shift()
    },
    madeFresh: (bytes) => fresh.push(bytes),
  }
  const memory = new PhysicalMemory({ size: 64 * MiB })
  expect(memory.supplyHostArenas(supply)).toBe(true)
  const supplied = ready[0]!
  memory.writeBytes(3 * MiB, Uint8Array.of(7))
  expect(memory.frameData((3 * MiB) / PAGE_SIZE).bytes.buffer === supplied.buffer).toBe(true)
  // Asked for a chunk, at most what the memory could still use (its data and every tag slab).
  expect(asked).toEqual([[CHUNK_SIZE, 64 * MiB + 32 * SLAB_SIZE]])
  expect(fresh).toEqual([])
  // Three chunks fit the supplied arena; the fourth finds none ready: a fresh one, reported.
  for (const at of [9, 17, 25]) memory.write8(at * MiB, 1)
  expect(fresh).toEqual([hugePageFriendly(8 * MiB)])
  expect(memory.hostArenaBytes).toBe(2 * hugePageFriendly(8 * MiB))
  // The fresh arena takes the next two chunks; then the reserve comes before the supply.
  for (const at of [33, 41]) memory.write8(at * MiB, 1)
  prefaultHostMemory(4 * MiB)
  memory.write8(49 * MiB, 1)
  expect(prefaultedHostBytes()).toBe(0)
  expect(asked).toHaveLength(2) // the fourth chunk's; not the reserve's
  // A detached supply is asked nothing and told nothing.
  expect(memory.supplyHostArenas(null)).toBe(true)
  for (const at of [53, 57, 61]) memory.write8(at * MiB, 1)
  expect(asked).toHaveLength(2)
  expect(fresh).toHaveLength(1)
  const back = new Uint8Array(1)
  memory.readBytes(3 * MiB, back)
  expect(back[0]).toBe(7)
  // Memory whose buffers exist from the start takes no arenas.
  expect(new PhysicalMemory({ size: 4 * MiB, shared: true }).supplyHostArenas(supply)).toBe(false)
})

test('with useSharedHostArenas, arenas are zeroed SharedArrayBuffers, which start no garbage collection as ArrayBuffers of their size do', async () => {
  expect(sharedHostArenas()).toBe(false)
  expect(newArena(4 * MiB - PAGE_SIZE).buffer).toBeInstanceOf(ArrayBuffer)
  useSharedHostArenas(true)
  const arena = newArena(4 * MiB - PAGE_SIZE)
  useSharedHostArenas(false)
  expect(arena.buffer).toBeInstanceOf(SharedArrayBuffer)
  expect(arena.length).toBe(4 * MiB - PAGE_SIZE)
  expect(arena.every((b) => b === 0)).toBe(true)
  /** Collections while `allocate` makes eight arena-sized buffers (kept alive, never touched: virtual memory only). */
  const collections = async (allocate: (bytes: number) => Uint8Array): Promise<number> => {
    let count = 0
    const observer = new PerformanceObserver((list) => (count += list.getEntries().length))
    observer.observe({ entryTypes: ['gc'] })
    const held: Uint8Array[] = []
    for (let i = 0; i < 8; i++) held.push(allocate(hugePageFriendly(HOST_ARENA_SIZE)))
    await new Promise((resolve) => setTimeout(resolve, 50))
    observer.disconnect()
    expect(held).toHaveLength(8) // alive until counted
    return count
  }
  const plain = await collections(newArena)
  useSharedHostArenas(true)
  const arenas = await collections(newArena).finally(() => useSharedHostArenas(false))
  expect(plain).toBeGreaterThanOrEqual(4)
  expect(arenas).toBeLessThan(plain / 2)
})
