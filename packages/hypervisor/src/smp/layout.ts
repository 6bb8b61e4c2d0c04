// The shared control state between the VMM's main thread and its vCPU threads: one block of
// Int32 words per vCPU plus a few VM-wide words, all in one SharedArrayBuffer, so that either
// side can sleep on a word (Atomics.wait) and the other wake it (Atomics.notify).

/** Int32 words per vCPU block. */
export const VCPU_BLOCK_WORDS = 32
/** VM-wide words before the first vCPU block. */
export const GLOBAL_WORDS = 12

/** VM-wide words, from the start of the control buffer. */
export const GlobalWord = {
  /** Bumped (and notified) whenever a vCPU thread has something for the main thread. */
  DOORBELL: 0,
  /** TLB maintenance generation: bumped by a vCPU thread that broadcasts a TLBI (tlb-broadcast.ts). */
  TLBI_GENERATION: 1,
  /** Bumped (and notified) whenever a vCPU thread has caught up with a TLBI generation. */
  TLBI_ACKED: 2,
  /** 1 while the VMM logs dirty pages (KVM_MEM_LOG_DIRTY_PAGES on RAM): each thread's memslot follows at its next run. */
  DIRTY_LOG: 3,
  /** 1 while guest RAM has pages still missing (post-copy, KVM_MEM_USERFAULT over the shared bitmap): each thread's memslot follows at its next run. */
  USERFAULT: 4,
  /** The VM's counter offsets (VmTimers.offsets: virtual lo, hi, physical lo, hi) for an ADOPT_COUNTERS task. */
  COUNTER_OFFSETS: 5,
} as const

/** Words of a vCPU's block in the control buffer (offsets from vcpuBase). */
export const VcpuWord = {
  /** Bumped (and notified) to wake the thread (a command, a reply, CPU_ON, a kick). */
  SIGNAL: 0,
  /** What the main thread wants (SmpCommand). */
  COMMAND: 1,
  /** What the thread is doing (SmpThreadState). */
  STATE: 2,
  /** The outstanding request to the main thread (SmpRequest), 0 when none. */
  REQUEST: 3,
  /** The request's address (an IPA for MMIO, an HVA for a host fault), low 32 bits. */
  ADDR_LO: 4,
  /** The request's address, high bits. */
  ADDR_HI: 5,
  /** An MMIO access's size in bytes. */
  SIZE: 6,
  /** 1 for an MMIO write, 0 for a read. */
  WRITE: 7,
  /** MMIO data bytes 0..3 (written data, or the read's answer), little-endian. */
  DATA_LO: 8,
  /** MMIO data bytes 4..7. */
  DATA_HI: 9,
  /** A system event's type (KVM_SYSTEM_EVENT_*). */
  EVENT: 10,
  /** The reply to the request (the pfn of a host fault, or 0). */
  REPLY: 11,
  /** PSCI power state (SmpPower). */
  POWER: 12,
  /** A pending CPU_ON's entry point, low 32 bits. */
  ENTRY_LO: 13,
  /** A pending CPU_ON's entry point, high 32 bits. */
  ENTRY_HI: 14,
  /** A pending CPU_ON's context id, low 32 bits. */
  CONTEXT_LO: 15,
  /** A pending CPU_ON's context id, high 32 bits. */
  CONTEXT_HI: 16,
  /** Frames whose tags this thread's stage-2 faults cleaned (VmStats.tagPagesCleaned), published after each KVM_RUN. */
  TAG_PAGES_CLEANED: 17,
  /** This thread's stage-2 faults (VmStats.stage2Faults). */
  STAGE2_FAULTS: 18,
  /** Pages this thread mapped at stage 2 (VmStats.pagesMapped). */
  PAGES_MAPPED: 19,
  /** MMIO exits of this thread (VmStats.mmioExits). */
  MMIO_EXITS: 20,
  /** Instructions retired by this vCPU, low 32 bits (see readCount). */
  RETIRED_LO: 21,
  /** Instructions retired by this vCPU, high bits. */
  RETIRED_HI: 22,
  /** Milliseconds the thread waits before its first instruction (randomised tests). */
  START_DELAY: 23,
  /** The instruction slice of one KVM_RUN. */
  SLICE: 24,
  /** The TLBI generation this thread's TLB has caught up with. */
  TLBI_SEEN: 25,
  /** TLBIs this thread broadcast to the others (statistics). */
  TLBI_SENT: 26,
  /** A task for a parked thread (SmpTask), NONE once the thread has done it. */
  TASK: 27,
  /** Registers a SAVE_STATE task wrote to the thread's state area. */
  SAVED_REGS: 28,
  /**
   * KVM_RUNs that found the vCPU still blocked in WFI (statistics): how often its thread
   * looked whether something woke it. A thread that sleeps between looks makes few.
   */
  WFI_LOOKS: 29,
} as const

/**
 * What the main thread asks of a parked thread (VcpuWord.TASK), at an instruction boundary
 * with every vCPU parked, so memory, tags and stage 2 stay still meanwhile.
 */
export const SmpTask = {
  NONE: 0,
  /** Complete pending work (an answered MMIO read, as KVM_RUN with immediate_exit), then write every ONE_REG to the state area. */
  SAVE_STATE: 1,
  /** OR the thread's dirty log (KVM_GET_DIRTY_LOG, which write-protects again) into the shared dirty bitmap. */
  COLLECT_DIRTY: 2,
  /** Take the VM's counter offsets from GlobalWord.COUNTER_OFFSETS (the same for every thread). */
  ADOPT_COUNTERS: 3,
} as const

/** Bytes of one vCPU's register area in the state buffer: [id, value low 64, value high 64] per register. */
export const STATE_AREA_BYTES = 64 * 1024
/** Bytes per register in a state area. */
export const STATE_REG_BYTES = 24

/** The state buffer (one register area per vCPU) for `cpus` vCPUs. */
export function createStateBuffer(cpus: number): SharedArrayBuffer {
  return new SharedArrayBuffer(cpus * STATE_AREA_BYTES)
}

/** Writes ONE_REG values into vCPU `index`'s area; returns how many. */
export function writeRegs(state: SharedArrayBuffer, index: number, regs: readonly (readonly [bigint, bigint])[]): number {
  if (regs.length * STATE_REG_BYTES > STATE_AREA_BYTES) throw new RangeError(`${regs.length} registers do not fit a vCPU's state area`)
  const view = new DataView(state, index * STATE_AREA_BYTES, STATE_AREA_BYTES)
  regs.forEach(([id, value], i) => {
    view.setBigUint64(i * STATE_REG_BYTES, id, true)
    view.setBigUint64(i * STATE_REG_BYTES + 8, value & 0xffff_ffff_ffff_ffffn, true)
    view.setBigUint64(i * STATE_REG_BYTES + 16, value >> 64n, true)
  })
  return regs.length
}

/** Reads `count` ONE_REG values back from vCPU `index`'s area. */
export function readRegs(state: SharedArrayBuffer, index: number, count: number): [bigint, bigint][] {
  const view = new DataView(state, index * STATE_AREA_BYTES, STATE_AREA_BYTES)
  const regs: [bigint, bigint][] = []
  for (let i = 0; i < count; i++) {
    const at = i * STATE_REG_BYTES
    regs.push([view.getBigUint64(at, true), view.getBigUint64(at + 8, true) | (view.getBigUint64(at + 16, true) << 64n)])
  }
  return regs
}

/** What the main thread asks of a vCPU thread. */
export const SmpCommand = { PARK: 0, RUN: 1, QUIT: 2 } as const
/** What a vCPU thread is doing. */
export const SmpThreadState = { BOOTING: 0, PARKED: 1, RUNNING: 2, REQUEST: 3, QUIT: 4, FAILED: 5 } as const
/** A request from a vCPU thread to the main thread; it waits for VcpuWord.REPLY's signal. */
export const SmpRequest = {
  NONE: 0,
  /** KVM_EXIT_MMIO: addr, size, write, data. */
  MMIO: 1,
  /** KVM_EXIT_SYSTEM_EVENT: VcpuWord.EVENT = type. */
  SYSTEM_EVENT: 2,
  /** Fault in host page at HVA (addr); the main thread (which owns the host mm) replies with pfn + 1. */
  HOST_FAULT: 3,
  /** The thread failed; the message is in the error area. */
  ERROR: 4,
  /** KVM_EXIT_MEMORY_FAULT (KVM_MEM_USERFAULT): the guest touched the missing page at IPA addr; the reply comes once the VMM has put it in (post-copy). */
  MISSING_PAGE: 5,
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
