import { PAGE_SIZE } from './constants.js'

/** Size of one prefaulted block: a PhysicalMemory data chunk (CHUNK_SIZE). */
const BLOCK_SIZE = 2 * 1024 * 1024

/**
 * Unshared PhysicalMemory chunks and tag slabs are cut from host allocations (arenas) of up
 * to this size rather than allocated one by one. A large allocation is its own mmap, and once
 * 2 MiB naturally aligned ranges lie inside it the kernel can back them with transparent huge
 * pages: one fault and one 2 MiB clear instead of 512 faults, which makes fresh memory (every
 * page of a restore or a migration destination) much cheaper to touch. Linux gives huge pages
 * to a process's heap when THP is "always", or when it is "madvise" and glibc madvises its
 * mappings (GLIBC_TUNABLES=glibc.malloc.hugetlb=1, as QEMU madvises guest RAM itself). A 2 MiB
 * allocation is never backed so: its mapping is 2 MiB and a few bytes, never aligned.
 * The memory is virtual until touched, so an arena costs the process only what it uses.
 */
export const HOST_ARENA_SIZE = 64 * 1024 * 1024

/**
 * A memory's first arena (less a page: see hugePageFriendly). Each later one is as large as
 * all before it together, up to HOST_ARENA_SIZE, so a memory that touches little holds little
 * (a machine running a small guest: one arena of 4 MiB) and one that touches much soon gets
 * arenas of the full size.
 */
export const FIRST_HOST_ARENA_SIZE = 4 * 1024 * 1024

/**
 * An arena's length for about `bytes`: a multiple of 2 MiB, less one page. glibc maps a large
 * allocation with its 16-byte header in front, rounded up to pages, and Linux (6.7 on) places
 * an anonymous mapping whose length is a multiple of 2 MiB on a 2 MiB boundary, so such an
 * arena can have huge pages all through. One of exactly 64 MiB maps 64 MiB and a page,
 * anywhere, with its first and last 2 MiB ranges only partly inside (measured on a 6.18 kernel,
 * THP "madvise", glibc.malloc.hugetlb=1: 62 of 64 MiB in huge pages and 565 faults to touch
 * it all, against 64 MiB and 103 faults one page shorter; a 4 MiB arena, 2 MiB against 4).
 */
export function hugePageFriendly(bytes: number): number {
  return Math.ceil(bytes / BLOCK_SIZE) * BLOCK_SIZE - PAGE_SIZE
}

/** Whether new arenas go on SharedArrayBuffers (useSharedHostArenas). */
let sharedArenas = false

/**
 * Puts host arenas made from now on (newArena) on SharedArrayBuffers where the runtime has them
 * (Node; a cross-origin isolated page), or on ArrayBuffers again with `false` (the default).
 * Only the memory that takes an arena ever refers to it, so nothing is shared: the point is
 * V8's accounting. V8 counts every ArrayBuffer's bytes as external memory and starts a garbage
 * collection for about every 64 MiB more of it (a restore of 512 MiB: 24 of its 30 pauses,
 * 300-500 ms of CPU); a SharedArrayBuffer's bytes start none. The price: a memory that became
 * garbage gives its arenas back only at the next collection the JavaScript heap itself starts,
 * not promptly (8 memories of 128 MiB made and dropped in turn: 675 MiB resident at the peak,
 * against 271). So a process that holds one machine for its life (the tagvm CLI) turns it on;
 * one that makes and drops many (a test run) need not.
 */
export function useSharedHostArenas(on: boolean): void {
  sharedArenas = on
}

/** Whether host arenas go on SharedArrayBuffers (useSharedHostArenas). */
export function sharedHostArenas(): boolean {
  return sharedArenas && typeof SharedArrayBuffer === 'function'
}

/** A zeroed arena of `bytes`: on a SharedArrayBuffer or an ArrayBuffer, as useSharedHostArenas says. */
export function newArena(bytes: number): Uint8Array {
  return new Uint8Array(sharedHostArenas() ? new SharedArrayBuffer(bytes) : new ArrayBuffer(bytes))
}

/**
 * Memory this process has already made the OS back (QEMU's -mem-prealloc; MAP_POPULATE):
 * arenas of zeroed memory, every 4 KiB page written once, each waiting for the next unshared
 * PhysicalMemory that needs more host memory, which takes it whole. A process writing memory
 * for the first time pays a page fault per 4 KiB page (tens of microseconds in a VM); a
 * migration destination or a restore can pay it before its stream starts instead of while it
 * copies. The arenas are all zero, as fresh ones are, so taking one changes nothing anyone sees.
 */
const reserve: Uint8Array[] = []

/**
 * Arenas that another thread backs while this one works: a restore or a migration destination
 * writes every guest page into fresh memory, and the first touch of it (the OS backing each
 * page) costs more than everything else it does, so a second core can pay it ahead of the
 * stream. Unlike the reserve, a supply serves one memory (`PhysicalMemory.supplyHostArenas`),
 * which takes its arenas before making fresh ones. Its arenas are the supplier's until handed
 * over, so nothing else ever sees a byte of them before the memory does.
 */
export interface HostArenaSupply {
  /** A zeroed arena of `min` to `max` bytes that is backed and ready now, or undefined (never waits). */
  take(min: number, max: number): Uint8Array | undefined
  /** The memory made a fresh arena of `bytes` itself (none was ready): the supply may back that much less. */
  madeFresh(bytes: number): void
}

/** What the arenas of one owner add up to; the owner's finalizer reads it (never the owner). */
interface ArenaAccount {
  bytes: number
}

/** Arena bytes held by every HostArenas not yet garbage-collected. */
let liveArenaBytes = 0
/** Counts an owner's arenas out once the garbage collector has freed it (and them). */
const collected = new FinalizationRegistry<ArenaAccount>((account) => {
  liveArenaBytes -= account.bytes
})

/**
 * Backs `bytes` more of this process's memory now (rounded up to 2 MiB blocks, in arenas of
 * up to HOST_ARENA_SIZE) and keeps it for the unshared PhysicalMemory that next needs host
 * memory. Returns the bytes reserved.
 */
export function prefaultHostMemory(bytes: number): number {
  if (!(Number.isSafeInteger(bytes) && bytes >= 0)) throw new RangeError(`cannot reserve ${bytes} bytes of host memory`)
  const total = Math.ceil(bytes / BLOCK_SIZE) * BLOCK_SIZE
  const full = hugePageFriendly(HOST_ARENA_SIZE)
  for (let done = 0; done < total; ) {
    // Arenas of the full size while more than that is left; the last takes the pages they lack.
    const arena = newArena(total - done > HOST_ARENA_SIZE ? full : total - done)
    // A write fault backs each page; writing zero leaves the arena as a fresh one reads.
    for (let at = 0; at < arena.length; at += PAGE_SIZE) arena[at] = 0
    reserve.push(arena)
    done += arena.length
  }
  return total
}

/** Bytes reserved by prefaultHostMemory and not taken by a PhysicalMemory yet. */
export function prefaultedHostBytes(): number {
  let total = 0
  for (const arena of reserve) total += arena.length
  return total
}

/** Gives the reserve back to the allocator (its arenas become garbage). */
export function releasePrefaultedHostMemory(): void {
  reserve.length = 0
}

/**
 * Bytes of host arenas held by the unshared PhysicalMemory instances of this process that the
 * garbage collector has not freed yet (each memory's own: `PhysicalMemory.hostArenaBytes`).
 * A memory's arenas leave this count some time after the memory becomes unreachable.
 */
export function liveHostArenaBytes(): number {
  return liveArenaBytes
}

/**
 * @internal The host arenas of one unshared PhysicalMemory: its data chunks and tag slabs are
 * cut from them and from nothing else, so no two memories share an allocation, and the
 * arenas become garbage with the memory (only the memory refers to this object).
 */
export class HostArenas {
  /** Bytes the memory may still ask for: its most (all data and tag slabs) less what it got. */
  private uncut: number
  /** The uncut rest of the newest arena. */
  private arena: Uint8Array | null = null
  /** The uncut rest of the arena before, kept for pieces small enough for it (tag slabs). */
  private spare: Uint8Array | null = null
  private readonly account: ArenaAccount = { bytes: 0 }
  /** Where backed arenas come from before fresh ones are made (see HostArenaSupply). */
  supply: HostArenaSupply | null = null

  /** `capacity`: the most bytes the memory will ever ask for, all its pieces together. */
  constructor(capacity: number) {
    this.uncut = capacity
    collected.register(this, this.account)
  }

  /** Bytes of the arenas this owner holds (what it handed out, and the uncut rest). */
  get heldBytes(): number {
    return this.account.bytes
  }

  /** `length` zeroed bytes (a whole number of pages), cut from this owner's arenas. */
  allocate(length: number): Uint8Array {
    if (this.spare !== null && this.spare.length >= length) {
      const piece = this.spare.subarray(0, length)
      this.spare = this.rest(this.spare, length)
      this.uncut -= length
      return piece
    }
    if (this.arena === null || this.arena.length < length) this.nextArena(length)
    const arena = this.arena as Uint8Array
    const piece = arena.subarray(0, length)
    this.arena = this.rest(arena, length)
    this.uncut -= length
    return piece
  }

  /** What follows a piece of `length` bytes (pieces start on page boundaries of the arena). */
  private rest(from: Uint8Array, length: number): Uint8Array | null {
    const next = Math.ceil(length / PAGE_SIZE) * PAGE_SIZE
    return next >= from.length ? null : from.subarray(next)
  }

  /** Starts a new arena able to hold `length`: a reserved one that fits this memory, else fresh. */
  private nextArena(length: number): void {
    // The larger of the two rests stays for small pieces; the other is never used.
    if (this.arena !== null && (this.spare === null || this.arena.length > this.spare.length)) this.spare = this.arena
    const need = Math.max(length, this.uncut - (this.spare?.length ?? 0))
    const reserved = reserve[0]
    let arena: Uint8Array
    const supplied = reserved !== undefined && reserved.length >= length && reserved.length <= need ? reserve.shift() : this.supply?.take(length, need)
    if (supplied !== undefined) arena = supplied
    else {
      const grown = hugePageFriendly(Math.min(HOST_ARENA_SIZE, Math.max(FIRST_HOST_ARENA_SIZE, this.account.bytes)))
      arena = newArena(Math.max(length, Math.min(grown, need)))
      this.supply?.madeFresh(arena.length)
    }
    this.arena = arena
    this.account.bytes += arena.length
    liveArenaBytes += arena.length
  }
}
