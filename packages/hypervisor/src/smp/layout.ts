// The shared control state between the VMM's main thread and its vCPU threads: one block of
// Int32 words per vCPU plus a few VM-wide words, all in one SharedArrayBuffer, so that either
// side can sleep on a word (Atomics.wait) and the other wake it (Atomics.notify).

/** Int32 words per vCPU block. */
export const VCPU_BLOCK_WORDS = 32
/** VM-wide words before the first vCPU block. */
export const GLOBAL_WORDS = 8

/** VM-wide word: bumped (and notified) whenever a vCPU thread has something for the main thread. */
export const G_DOORBELL = 0
/** VM-wide word: bumped whenever a CPU broadcasts a TLB or I-cache invalidation (phase 2). */
export const G_BROADCAST = 1

/** vCPU word: bumped (and notified) to wake the thread (a command, a reply, CPU_ON, a kick). */
export const V_SIGNAL = 0
/** vCPU word: what the main thread wants (SmpCommand). */
export const V_COMMAND = 1
/** vCPU word: what the thread is doing (SmpThreadState). */
export const V_STATE = 2
/** vCPU word: the outstanding request to the main thread (SmpRequest), 0 when none. */
export const V_REQUEST = 3
/** vCPU word: the request's address (an IPA for MMIO, an HVA for a host fault), low 32 bits. */
export const V_ADDR_LO = 4
/** vCPU word: the request's address, high bits. */
export const V_ADDR_HI = 5
/** vCPU word: an MMIO access's size in bytes. */
export const V_SIZE = 6
/** vCPU word: 1 for an MMIO write, 0 for a read. */
export const V_WRITE = 7
/** vCPU word: MMIO data bytes 0..3 (written data, or the read's answer), little-endian. */
export const V_DATA_LO = 8
/** vCPU word: MMIO data bytes 4..7. */
export const V_DATA_HI = 9
/** vCPU word: a system event's type (KVM_SYSTEM_EVENT_*). */
export const V_EVENT = 10
/** vCPU word: the reply to the request (the pfn of a host fault, or 0). */
export const V_REPLY = 11
/** vCPU word: PSCI power state (SmpPower). */
export const V_POWER = 12
/** vCPU word: a pending CPU_ON's entry point, low 32 bits. */
export const V_ENTRY_LO = 13
/** vCPU word: a pending CPU_ON's entry point, high 32 bits. */
export const V_ENTRY_HI = 14
/** vCPU word: a pending CPU_ON's context id, low 32 bits. */
export const V_CONTEXT_LO = 15
/** vCPU word: a pending CPU_ON's context id, high 32 bits. */
export const V_CONTEXT_HI = 16
/** vCPU word: frames whose tags this thread's stage-2 faults cleaned (VmStats.tagPagesCleaned), published after each KVM_RUN. */
export const V_TAG_PAGES_CLEANED = 17
/** vCPU word: this thread's stage-2 faults (VmStats.stage2Faults). */
export const V_STAGE2_FAULTS = 18
/** vCPU word: pages this thread mapped at stage 2 (VmStats.pagesMapped). */
export const V_PAGES_MAPPED = 19
/** vCPU word: MMIO exits of this thread (VmStats.mmioExits). */
export const V_MMIO_EXITS = 20
/** vCPU word: instructions retired by this vCPU, low 32 bits (see readCount). */
export const V_RETIRED_LO = 21
/** vCPU word: instructions retired by this vCPU, high bits. */
export const V_RETIRED_HI = 22
/** vCPU word: milliseconds the thread waits before its first instruction (randomised tests). */
export const V_START_DELAY = 23
/** vCPU word: the instruction slice of one KVM_RUN. */
export const V_SLICE = 24

/** What the main thread asks of a vCPU thread. */
export const SmpCommand = { PARK: 0, RUN: 1, QUIT: 2 } as const
/** What a vCPU thread is doing. */
export const SmpThreadState = { BOOTING: 0, PARKED: 1, RUNNING: 2, REQUEST: 3, QUIT: 4, FAILED: 5 } as const
/** A request from a vCPU thread to the main thread; it waits for V_REPLY's signal. */
export const SmpRequest = {
  NONE: 0,
  /** KVM_EXIT_MMIO: addr, size, write, data. */
  MMIO: 1,
  /** KVM_EXIT_SYSTEM_EVENT: V_EVENT = type. */
  SYSTEM_EVENT: 2,
  /** Fault in host page at HVA (addr); the main thread (which owns the host mm) replies with pfn + 1. */
  HOST_FAULT: 3,
  /** The thread failed; the message is in the error area. */
  ERROR: 4,
} as const
/** PSCI power state of a vCPU. */
export const SmpPower = { ON: 0, OFF: 1, ON_PENDING: 2 } as const

/** Bytes of UTF-8 error text a failing thread leaves for the main thread. */
export const ERROR_BYTES = 1024

/** Where vCPU `index`'s block starts in the Int32 view. */
export function vcpuBase(index: number): number {
  return GLOBAL_WORDS + index * VCPU_BLOCK_WORDS
}

/** The control buffer for `cpus` vCPUs (words, then each vCPU's error area). */
export function createControlBuffer(cpus: number): SharedArrayBuffer {
  return new SharedArrayBuffer((GLOBAL_WORDS + cpus * VCPU_BLOCK_WORDS) * 4 + cpus * ERROR_BYTES)
}

/** vCPU `index`'s error area in the control buffer. */
export function errorArea(control: SharedArrayBuffer, cpus: number, index: number): Uint8Array {
  return new Uint8Array(control, (GLOBAL_WORDS + cpus * VCPU_BLOCK_WORDS) * 4 + index * ERROR_BYTES, ERROR_BYTES)
}

/** Bumps word `at` and wakes whoever sleeps on it. */
export function smpSignal(words: Int32Array, at: number): void {
  Atomics.add(words, at, 1)
  Atomics.notify(words, at)
}

/** Reads a 53-bit count kept as two Int32 words. */
export function readCount(words: Int32Array, lo: number): number {
  for (;;) {
    const hi = Atomics.load(words, lo + 1) >>> 0
    const low = Atomics.load(words, lo) >>> 0
    if (Atomics.load(words, lo + 1) >>> 0 === hi) return hi * 2 ** 32 + low
  }
}

/** Writes a 53-bit count as two Int32 words (one writer). */
export function writeCount(words: Int32Array, lo: number, value: number): void {
  Atomics.store(words, lo, value >>> 0)
  Atomics.store(words, lo + 1, Math.floor(value / 2 ** 32))
}
