// The system counter behind CNTPCT/CNTVCT and the generic timers. Two sources with one
// interface: host time (what a KVM guest sees), and a deterministic count of retired guest
// instructions (QEMU's -icount), which makes a run's timestamps repeatable.

/** CNTFRQ_EL0 of QEMU 10's virt machine with -cpu max (GTIMER_DEFAULT_HZ, 1 GHz since QEMU 9.0). */
export const DEFAULT_COUNTER_FREQUENCY = 1_000_000_000

/** Counts instructions while a vCPU runs (the CPU's `retired`, which grows during a run). */
export interface InstructionSource {
  readonly retired: number
}

export interface GuestClock {
  readonly kind: 'host' | 'instructions'
  /** Ticks per second (CNTFRQ_EL0). */
  readonly frequency: number
  /** The host counter: whole ticks since the clock started; never decreases. */
  now(): number
  /** A vCPU starts running; the instruction clock counts what `source` retires until leave(). */
  enter(source: InstructionSource): void
  /** The running vCPU stopped. */
  leave(): void
  /**
   * Every vCPU sleeps until the counter reaches `deadline` (Infinity: until something outside
   * the guest happens). Returns how many milliseconds of real time the caller should wait; the
   * instruction clock jumps to the deadline at once and returns 0. Time never goes back.
   */
  idle(deadline: number): number
}

function checkFrequency(frequency: number): number {
  if (!Number.isInteger(frequency) || frequency <= 0 || frequency > 2 ** 32 - 1) {
    throw new RangeError(`counter frequency must be a positive 32-bit integer, got ${frequency}`)
  }
  return frequency
}

/** Monotonic milliseconds: `performance.now()` exists in Node and in browsers alike. */
const monotonicMs = (): number => globalThis.performance.now()

/**
 * What another thread (a worker, with its own `performance`) needs for a HostClock that reads
 * the same counter at the same instant: the frequency and the origin on a time line every
 * thread of the page or process shares (`performance.timeOrigin` + `performance.now()`), kept as
 * the two terms so that where the threads' time origins are equal (Node's workers) the origin
 * carries over exactly, with no rounding of a sum.
 */
export interface HostClockBase {
  readonly frequency: number
  /** `performance.timeOrigin` of the thread that made the clock. */
  readonly timeOrigin: number
  /** The clock's origin, in that thread's `performance.now()` milliseconds. */
  readonly origin: number
}

/** Host time: the counter follows a monotonic clock of the host, from when this clock was made. */
export class HostClock implements GuestClock {
  readonly kind = 'host'
  readonly frequency: number
  /** See HostClockBase; undefined when the clock reads a time source of its own (`now`). */
  readonly base: HostClockBase | undefined
  private readonly readMs: () => number
  private readonly origin: number
  private last = 0

  /**
   * `base`: the clock counts from another HostClock's origin (HostClock.base, possibly made on
   * another thread), so both give the same ticks at the same instant: KVM's counter is one per
   * VM however many threads run its vCPUs.
   */
  constructor(options: { frequency?: number; now?: () => number; base?: HostClockBase } = {}) {
    const { base } = options
    if (base && (options.now || options.frequency !== undefined)) throw new TypeError('a HostClock on a shared base takes its time source and frequency from the base')
    this.frequency = checkFrequency(base?.frequency ?? options.frequency ?? DEFAULT_COUNTER_FREQUENCY)
    this.readMs = options.now ?? monotonicMs
    const timeOrigin = globalThis.performance.timeOrigin
    // Only a difference of time origins is added: 0 between Node's workers, so exact there.
    this.origin = base ? base.origin + (base.timeOrigin - timeOrigin) : this.readMs()
    this.base = options.now ? undefined : { frequency: this.frequency, timeOrigin, origin: this.origin }
  }

  now(): number {
    // Rounded, not floored: milliseconds as doubles carry a little error, and a counter one
    // tick short of an exact deadline would make the guest wait a whole extra host tick.
    const ticks = Math.round(((this.readMs() - this.origin) * this.frequency) / 1000)
    if (ticks > this.last) this.last = ticks
    return this.last
  }

  enter(): void {}

  leave(): void {}

  idle(deadline: number): number {
    const now = this.now()
    if (deadline <= now) return 0
    if (!Number.isFinite(deadline)) return Infinity
    return ((deadline - now) * 1000) / this.frequency
  }
}

/**
 * The deterministic clock: the counter advances `ticksPerInstruction` per retired guest
 * instruction (of whichever vCPU runs), and jumps to the next deadline when every vCPU sleeps.
 * With the default 1 GHz and 1 tick, one instruction is one nanosecond (QEMU's -icount shift=0).
 */
export class InstructionClock implements GuestClock {
  readonly kind = 'instructions'
  readonly frequency: number
  readonly ticksPerInstruction: number
  private committed = 0
  private source: InstructionSource | null = null
  private sourceBase = 0

  constructor(options: { frequency?: number; ticksPerInstruction?: number } = {}) {
    this.frequency = checkFrequency(options.frequency ?? DEFAULT_COUNTER_FREQUENCY)
    const tpi = options.ticksPerInstruction ?? 1
    if (!Number.isInteger(tpi) || tpi <= 0) throw new RangeError(`ticksPerInstruction must be a positive integer, got ${tpi}`)
    this.ticksPerInstruction = tpi
  }

  now(): number {
    const source = this.source
    if (!source) return this.committed
    return this.committed + Math.max(0, source.retired - this.sourceBase) * this.ticksPerInstruction
  }

  enter(source: InstructionSource): void {
    this.leave()
    this.source = source
    this.sourceBase = source.retired
  }

  leave(): void {
    const source = this.source
    if (!source) return
    this.committed += Math.max(0, source.retired - this.sourceBase) * this.ticksPerInstruction
    this.source = null
  }

  /** Counts instructions retired outside enter()/leave() (a run loop that keeps its own count). */
  advance(instructions: number): void {
    if (!Number.isSafeInteger(instructions) || instructions < 0) throw new RangeError(`instructions must be a non-negative integer, got ${instructions}`)
    this.committed += instructions * this.ticksPerInstruction
  }

  idle(deadline: number): number {
    if (!Number.isFinite(deadline)) return deadline > this.now() ? Infinity : 0
    const now = this.now()
    if (deadline > now) this.committed += Math.ceil(deadline) - now
    return 0
  }
}
