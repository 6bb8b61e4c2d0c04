import type { MmioDevice } from './bus.js'
import { checkStateHeader, stateInt, type Device, type DeviceState } from './device.js'
import { readRegister32, writeRegister32 } from './registers32.js'

/** PL031 register offsets (ARM DDI 0224). */
export const PL031 = {
  DR: 0x000,
  MR: 0x004,
  LR: 0x008,
  CR: 0x00c,
  IMSC: 0x010,
  RIS: 0x014,
  MIS: 0x018,
  ICR: 0x01c,
  PERIPH_ID0: 0xfe0,
} as const

/** PeriphID0..3 and PCellID0..3 as QEMU's model reports them (part 0x031, revision 1). */
const ID_BYTES = [0x31, 0x10, 0x14, 0x00, 0x0d, 0xf0, 0x05, 0xb1]
const TWO32 = 2 ** 32

/** What a PL031 is built with: its name, its time base and its interrupt output. */
export interface Pl031Options {
  /** Name on the bus and in messages (default `pl031`). */
  name?: string
  /** The time base in seconds (may be fractional): wall-clock time, or guest time for repeatable runs. */
  now: () => number
  /** Called with the new level whenever the interrupt line (RTCINTR) changes. */
  onInterrupt?: (level: boolean) => void
}

/**
 * The Arm PL031 real-time clock: a 32-bit seconds counter (RTCDR) that the guest sets through
 * RTCLR, and a match register (RTCMR) whose alarm raises RTCINTR while unmasked. The counter is
 * `now()` plus an offset, as QEMU keeps it, so a saved offset goes on counting on another host.
 * The alarm is checked whenever the guest touches the device and when the VMM calls `update()`.
 */
export class Pl031 implements MmioDevice, Device {
  readonly name: string
  private readonly now: () => number
  private readonly onInterrupt: ((level: boolean) => void) | undefined
  /** RTCDR - floor(now()), modulo 2^32. */
  private offset = 0
  private mr = 0
  private lr = 0
  private cr = 1
  private imsc = 0
  private ris = 0
  private lineLevel = false
  /** The counter value at the last alarm check (the alarm fires on reaching MR). */
  private lastCount = 0

  constructor(options: Pl031Options) {
    this.name = options.name ?? 'pl031'
    this.now = options.now
    this.onInterrupt = options.onInterrupt
    this.lastCount = this.count()
  }

  /** RTCDR now. */
  count(): number {
    return (Math.floor(this.now()) + this.offset) % TWO32 >>> 0
  }

  /** The interrupt output: the alarm is raised and not masked. */
  interruptLine(): boolean {
    return (this.ris & this.imsc) !== 0
  }

  /**
   * Time-base seconds from now until the alarm raises the interrupt line (RTCDR reaching
   * RTCMR), or Infinity when it cannot (masked, or already raised): with every vCPU asleep in
   * WFI, the VMM sleeps until the earlier of this and their timers, then calls update().
   */
  secondsToInterrupt(): number {
    if (this.imsc === 0 || this.ris !== 0) return Infinity
    const now = this.now()
    const count = (Math.floor(now) + this.offset) % TWO32 >>> 0
    if (this.reachedMatch(count)) return 0
    // A count equal to MR that update() already saw does not fire again until the counter wraps.
    const toMatch = (this.mr - count) >>> 0 || TWO32
    return Math.floor(now) + toMatch - now
  }

  /** Whether the counter reached MR since the last check, now at `count` (counting up, modulo 2^32). */
  private reachedMatch(count: number): boolean {
    const since = (count - this.lastCount) >>> 0
    const toMatch = (this.mr - this.lastCount) >>> 0
    return since !== 0 && ((toMatch !== 0 && toMatch <= since) || count === this.mr)
  }

  /** Checks the alarm against the time now (the VMM calls this as time passes). */
  update(): void {
    const count = this.count()
    if (this.reachedMatch(count)) this.ris = 1
    this.lastCount = count
    this.updateLine()
  }

  /** A guest read of `data.length` bytes at `offset` (the alarm is checked first). */
  read(offset: number, data: Uint8Array): void {
    this.update()
    readRegister32(this.name, offset, data, (reg) => this.readRegister(reg))
  }

  /** A guest write of `data` (little-endian) at `offset` (the alarm is checked first). */
  write(offset: number, data: Uint8Array): void {
    this.update()
    writeRegister32(this.name, offset, data, (reg, v) => this.writeRegister(reg, v))
  }

  private readRegister(reg: number): number {
    switch (reg) {
      case PL031.DR:
        return this.count()
      case PL031.MR:
        return this.mr
      case PL031.LR:
        return this.lr
      case PL031.CR:
        return this.cr
      case PL031.IMSC:
        return this.imsc
      case PL031.RIS:
        return this.ris
      case PL031.MIS:
        return this.ris & this.imsc
    }
    if (reg >= PL031.PERIPH_ID0 && reg <= 0xffc) return ID_BYTES[(reg - PL031.PERIPH_ID0) >> 2]!
    return 0
  }

  private writeRegister(reg: number, v: number): void {
    switch (reg) {
      case PL031.MR:
        this.mr = v >>> 0
        this.update()
        return
      case PL031.LR:
        this.lr = v >>> 0
        this.offset = (this.lr - Math.floor(this.now())) % TWO32 >>> 0
        this.lastCount = this.count()
        return
      case PL031.CR:
        // The counter always runs in this model; the start bit reads back as written.
        this.cr = v & 1
        return
      case PL031.IMSC:
        this.imsc = v & 1
        this.updateLine()
        return
      case PL031.ICR:
        this.ris &= ~(v & 1)
        this.updateLine()
        return
    }
    // DR, RIS, MIS and the ID registers are read-only; writes are ignored.
  }

  private updateLine(): void {
    const level = this.interruptLine()
    if (level !== this.lineLevel) {
      this.lineLevel = level
      this.onInterrupt?.(level)
    }
  }

  reset(): void {
    this.offset = 0
    this.mr = 0
    this.lr = 0
    this.cr = 1
    this.imsc = 0
    this.ris = 0
    this.lastCount = this.count()
    this.updateLine()
  }

  saveState(): DeviceState {
    return { type: 'pl031', version: 1, offset: this.offset, mr: this.mr, lr: this.lr, cr: this.cr, imsc: this.imsc, ris: this.ris }
  }

  loadState(state: DeviceState): void {
    checkStateHeader(state, 'pl031', 1)
    const fields = {
      offset: stateInt(state, 'offset', 0, TWO32 - 1),
      mr: stateInt(state, 'mr', 0, TWO32 - 1),
      lr: stateInt(state, 'lr', 0, TWO32 - 1),
      cr: stateInt(state, 'cr', 0, 1),
      imsc: stateInt(state, 'imsc', 0, 1),
      ris: stateInt(state, 'ris', 0, 1),
    }
    Object.assign(this, fields)
    this.lastCount = this.count()
    this.updateLine()
  }
}
