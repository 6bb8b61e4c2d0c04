import { PAGE_SIZE } from './constants.js'

/** Size of one reserved block: a PhysicalMemory data chunk (CHUNK_SIZE). */
const BLOCK_SIZE = 2 * 1024 * 1024

/**
 * Unshared PhysicalMemory chunks and tag slabs are cut from host allocations this large rather
 * than allocated one by one. A large allocation is its own mmap, and once several 2 MiB
 * naturally aligned ranges lie inside it the kernel can back them with transparent huge
 * pages: one fault and one 2 MiB clear instead of 512 faults, which makes fresh memory (every
 * page of a restore or a migration destination) much cheaper to touch. Linux gives huge pages
 * to a process's heap when THP is "always", or when it is "madvise" and glibc madvises its
 * mappings (GLIBC_TUNABLES=glibc.malloc.hugetlb=1, as QEMU madvises guest RAM itself). A 2 MiB
 * allocation is never backed so: its mapping is 2 MiB and a few bytes, never aligned.
 * The memory is virtual until touched, so an arena costs the process only what it uses.
 */
export const HOST_ARENA_SIZE = 64 * 1024 * 1024

/**
 * Memory this process has already made the OS back (QEMU's -mem-prealloc; MAP_POPULATE):
 * zeroed 2 MiB blocks, every 4 KiB page written once, waiting for an unshared PhysicalMemory
 * to take them as data chunks or carve tag slabs from them. A process writing memory for the
 * first time pays a page fault per 4 KiB page (tens of microseconds in a VM); a migration
 * destination or a restore can pay it before its stream starts instead of while it copies.
 * The blocks are all zero, as fresh ones are, so taking one changes nothing anyone sees.
 */
const reserve: Uint8Array[] = []
/** What is left of the block tag slabs are being carved from. */
let slabSource: Uint8Array | null = null
/** What is left of the arena fresh chunks and slabs are cut from (never touched yet). */
let arena: Uint8Array | null = null

/** `length` fresh zeroed bytes cut from the arena (a new arena when this one is short). */
function cutFromArena(length: number): Uint8Array {
  if (length > HOST_ARENA_SIZE / 4) return new Uint8Array(length)
  if (arena === null || arena.length < length) arena = new Uint8Array(HOST_ARENA_SIZE)
  const piece = arena.subarray(0, length)
  // Pieces start on page boundaries of the arena, as separately allocated ones would.
  const next = Math.min(arena.length, Math.ceil(length / PAGE_SIZE) * PAGE_SIZE)
  arena = next === arena.length ? null : arena.subarray(next)
  return piece
}

/**
 * Backs `bytes` more of this process's memory now (rounded up to 2 MiB blocks) and keeps it
 * for the PhysicalMemory chunks and tag slabs allocated next. Returns the bytes reserved.
 */
export function prefaultHostMemory(bytes: number): number {
  if (!(Number.isSafeInteger(bytes) && bytes >= 0)) throw new RangeError(`cannot reserve ${bytes} bytes of host memory`)
  const blocks = Math.ceil(bytes / BLOCK_SIZE)
  for (let i = 0; i < blocks; i++) {
    const block = cutFromArena(BLOCK_SIZE)
    // A write fault backs each page; writing zero leaves the block as a fresh one reads.
    for (let at = 0; at < BLOCK_SIZE; at += PAGE_SIZE) block[at] = 0
    reserve.push(block)
  }
  return blocks * BLOCK_SIZE
}

/** Bytes reserved by prefaultHostMemory and not taken yet. */
export function prefaultedHostBytes(): number {
  return reserve.length * BLOCK_SIZE + (slabSource?.length ?? 0)
}

/** Gives the reserve back to the allocator (the blocks become garbage). */
export function releasePrefaultedHostMemory(): void {
  reserve.length = 0
  slabSource = null
}

/**
 * @internal `length` zeroed bytes for a PhysicalMemory data chunk: a reserved block when
 * there is one (whole chunks only), else fresh memory cut from the arena.
 */
export function allocateHostChunk(length: number): Uint8Array {
  if (length === BLOCK_SIZE) {
    const reserved = reserve.pop()
    if (reserved) return reserved
  }
  return cutFromArena(length)
}

/**
 * @internal `length` zeroed bytes for a tag slab: cut from the reserve while it lasts
 * (`length` dividing 2 MiB), else from the arena.
 */
export function allocateHostSlab(length: number): Uint8Array {
  if (BLOCK_SIZE % length === 0) {
    if (slabSource === null || slabSource.length < length) slabSource = reserve.pop() ?? null
    if (slabSource !== null) {
      const slab = slabSource.subarray(0, length)
      slabSource = slabSource.length === length ? null : slabSource.subarray(length)
      return slab
    }
  }
  return cutFromArena(length)
}
