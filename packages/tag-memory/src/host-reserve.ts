import { PAGE_SIZE } from './constants.js'

/** Size of one reserved block: a PhysicalMemory data chunk (CHUNK_SIZE). */
const BLOCK_SIZE = 2 * 1024 * 1024

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

/**
 * Backs `bytes` more of this process's memory now (rounded up to 2 MiB blocks) and keeps it
 * for the PhysicalMemory chunks and tag slabs allocated next. Returns the bytes reserved.
 */
export function prefaultHostMemory(bytes: number): number {
  if (!(Number.isSafeInteger(bytes) && bytes >= 0)) throw new RangeError(`cannot reserve ${bytes} bytes of host memory`)
  const blocks = Math.ceil(bytes / BLOCK_SIZE)
  for (let i = 0; i < blocks; i++) {
    const block = new Uint8Array(BLOCK_SIZE)
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

/** @internal A reserved zeroed block of `length` bytes (a whole chunk only), or null. */
export function takeReservedChunk(length: number): Uint8Array | null {
  if (length !== BLOCK_SIZE) return null
  return reserve.pop() ?? null
}

/** @internal `length` zeroed bytes cut from the reserve (tag slabs; `length` divides 2 MiB), or null. */
export function takeReservedSlab(length: number): Uint8Array | null {
  if (BLOCK_SIZE % length !== 0) return null
  if (slabSource === null || slabSource.length < length) {
    slabSource = reserve.pop() ?? null
    if (slabSource === null) return null
  }
  const slab = slabSource.subarray(0, length)
  slabSource = slabSource.length === length ? null : slabSource.subarray(length)
  return slab
}
