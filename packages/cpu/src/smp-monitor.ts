// The global exclusive monitor and atomic section for vCPUs on worker threads. With one
// thread, each CPU's local monitor and plain read-modify-write are enough (vCPUs take
// turns at instruction boundaries). With several threads sharing guest RAM, every
// LDXR/STXR, CAS/CASP and LSE atomic runs inside one futex-style lock held in a
// SharedArrayBuffer, and a store-exclusive also checks that memory still holds what its
// load-exclusive read (so a write by another CPU to the reservation breaks the pair, as
// QEMU's cmpxchg-based monitor does).
//
// Several vCPUs taking turns on one thread (lockstep) need the second half too: a slice
// boundary can fall between one CPU's LDXR and STXR, and the other CPU's store to the
// reservation in between must break the pair. Their monitor has no lock (nothing runs
// at the same time) but compares values the same way.

import type { Cpu } from './cpu.js'

/** Words of the shared lock buffer an SmpLock uses. */
export const SMP_LOCK_WORDS = 1

const UNLOCKED = 0
const LOCKED = 1
/** Locked, and somebody may be sleeping on the word. */
const CONTENDED = 2
/** Spins before a waiter sleeps: a critical section is one instruction. */
const SPINS = 64

/** A mutex on one Int32 of a SharedArrayBuffer (Drepper's three-state futex mutex). */
export class SmpLock {
  /** Times acquire() found the lock held (contention, for benchmarks). */
  contended = 0

  constructor(
    private readonly words: Int32Array,
    private readonly index = 0,
  ) {
    if (!(words.buffer instanceof SharedArrayBuffer)) throw new RangeError('an SmpLock needs an Int32Array on a SharedArrayBuffer')
    if (!Number.isInteger(index) || index < 0 || index >= words.length) throw new RangeError(`lock index ${index} is outside the buffer`)
  }

  /** Takes the lock: spins briefly, then sleeps on the word (Atomics.wait; not on a browser's main thread). */
  acquire(): void {
    const w = this.words
    const i = this.index
    let c = Atomics.compareExchange(w, i, UNLOCKED, LOCKED)
    if (c === UNLOCKED) return
    this.contended++
    for (let spin = 0; spin < SPINS; spin++) {
      c = Atomics.compareExchange(w, i, UNLOCKED, LOCKED)
      if (c === UNLOCKED) return
    }
    if (c !== CONTENDED) c = Atomics.exchange(w, i, CONTENDED)
    while (c !== UNLOCKED) {
      Atomics.wait(w, i, CONTENDED)
      c = Atomics.exchange(w, i, CONTENDED)
    }
  }

  /** Gives the lock back and wakes one sleeper, if any. */
  release(): void {
    const w = this.words
    const i = this.index
    if (Atomics.sub(w, i, 1) !== LOCKED) {
      Atomics.store(w, i, UNLOCKED)
      Atomics.notify(w, i, 1)
    }
  }
}

/** One CPU's part of the global monitor: the lock and what its last load-exclusive read. */
export class SmpMonitor {
  /** The values the last load-exclusive read: first element lo/hi, second (pairs) lo/hi. */
  readonly loaded = new Uint32Array(4)

  /** `lock` is null for vCPUs in lockstep on one thread (no section needs a lock). */
  constructor(readonly lock: SmpLock | null) {}
}

const monitors = new WeakMap<Cpu, SmpMonitor>()

/**
 * Puts `cpu` under the global monitor of a multi-threaded VM: its exclusives, CAS and LSE
 * atomics become atomic with respect to every other CPU attached to the same lock. With
 * `lock` null (several CPUs taking turns on one thread) only the store-exclusive's check
 * that memory still holds what the load-exclusive read is added. Must be called before the
 * CPU decodes any code (handlers are specialised when built); a CPU that has already
 * retired instructions is refused.
 */
export function attachSmpMonitor(cpu: Cpu, lock: SmpLock | null): void {
  if (cpu.retired !== 0) throw new RangeError('attachSmpMonitor: the CPU has already run (attach before its first instruction)')
  monitors.set(cpu, new SmpMonitor(lock))
}

/** The monitor `cpu` is attached to, or undefined (single-threaded: today's path). */
export function smpMonitorOf(cpu: Cpu): SmpMonitor | undefined {
  return monitors.get(cpu)
}
