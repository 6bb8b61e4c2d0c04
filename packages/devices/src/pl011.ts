import type { MmioDevice } from './bus.js'
import { DeviceStateError, checkStateHeader, stateInt, type Device, type DeviceState } from './device.js'
import { readRegister32, writeRegister32 } from './registers32.js'

/** Register offsets of the PL011 (Arm PrimeCell UART, DDI 0183). */
export const PL011 = {
  DR: 0x000,
  RSR_ECR: 0x004,
  FR: 0x018,
  ILPR: 0x020,
  IBRD: 0x024,
  FBRD: 0x028,
  LCR_H: 0x02c,
  CR: 0x030,
  IFLS: 0x034,
  IMSC: 0x038,
  RIS: 0x03c,
  MIS: 0x040,
  ICR: 0x044,
  DMACR: 0x048,
  PERIPH_ID0: 0xfe0,
  PCELL_ID0: 0xff0,
} as const

/** UARTFR bits. */
export const PL011_FR = { CTS: 1 << 0, DSR: 1 << 1, DCD: 1 << 2, BUSY: 1 << 3, RXFE: 1 << 4, TXFF: 1 << 5, RXFF: 1 << 6, TXFE: 1 << 7, RI: 1 << 8 } as const

/** Interrupt bits, common to UARTIMSC, UARTRIS, UARTMIS and UARTICR. */
export const PL011_INT = {
  RI: 1 << 0,
  CTS: 1 << 1,
  DCD: 1 << 2,
  DSR: 1 << 3,
  RX: 1 << 4,
  TX: 1 << 5,
  RT: 1 << 6,
  FE: 1 << 7,
  PE: 1 << 8,
  BE: 1 << 9,
  OE: 1 << 10,
} as const

/** UARTCR bits used by the model. */
export const PL011_CR = { UARTEN: 1 << 0, LBE: 1 << 7, TXE: 1 << 8, RXE: 1 << 9, DTR: 1 << 10, RTS: 1 << 11, OUT1: 1 << 12, OUT2: 1 << 13 } as const

const LCR_H_FEN = 1 << 4
const INT_ALL = 0x7ff
const CR_WRITABLE = 0xff87 // bits 6:3 are reserved
const CR_RESET = PL011_CR.TXE | PL011_CR.RXE
const IFLS_RESET = 0x12 // both trigger levels at half full

/**
 * PL011 revisions the model can present. The revision is what the PrimeCell ID registers
 * report and sets the FIFO depth: r1p1 (what QEMU's `virt` machine reports, PeriphID2 = 0x14)
 * has 16-entry FIFOs; r1p5 (PeriphID2 = 0x34) has 32-entry FIFOs. Linux picks its FIFO size
 * from this revision field, so the two must agree.
 */
export type Pl011Revision = 'r1p1' | 'r1p5'
const REVISIONS: Record<Pl011Revision, { periphId2: number; fifoDepth: number }> = {
  r1p1: { periphId2: 0x14, fifoDepth: 16 },
  r1p5: { periphId2: 0x34, fifoDepth: 32 },
}

export interface Pl011Options {
  /** Name on the bus and in messages (default `pl011`). */
  name?: string
  /** Receives every transmitted byte, in order (the console). */
  output?: (byte: number) => void
  /** Called with the new level whenever the combined interrupt line (UARTINTR) changes. */
  onInterrupt?: (level: boolean) => void
  /** Called for guest programming errors worth a trace line (the model carries on). */
  onGuestError?: (message: string) => void
  revision?: Pl011Revision
}

/**
 * The Arm PL011 UART as a guest driver sees it.
 *
 * The virtual line is ideal: a byte written to UARTDR reaches `output` at once, so the
 * transmit FIFO always reads as empty (TXFE = 1, TXFF = BUSY = 0) and the transmit interrupt
 * is raised after every write. As on QEMU, bytes are transmitted even when UARTCR.UARTEN or
 * TXE is clear (bare-metal guests write UARTDR without programming the UART); such writes are
 * reported through `onGuestError`. Received bytes come from `receive()`, which accepts only as
 * many as the receive FIFO has room for (the caller keeps the rest), so framing, parity, break
 * and overrun errors never occur. The line goes idle after each `receive()`, so a non-empty
 * receive FIFO also raises the receive timeout interrupt, the way a real line would after 32
 * idle bit periods. Modem inputs are inactive (CTS, DSR, DCD, RI read 0) except in loopback,
 * where they follow UARTCR's RTS, DTR, Out1 and Out2 as the TRM describes.
 */
export class Pl011 implements MmioDevice, Device {
  readonly name: string
  readonly revision: Pl011Revision
  private readonly fifoCapacity: number
  private readonly output: (byte: number) => void
  private readonly onInterrupt: ((level: boolean) => void) | undefined
  private readonly onGuestError: ((message: string) => void) | undefined

  private readonly rxFifo: Uint8Array
  private rxHead = 0
  private rxCount = 0
  private rsr = 0
  private ilpr = 0
  private ibrd = 0
  private fbrd = 0
  private lcrH = 0
  private cr = CR_RESET
  private ifls = IFLS_RESET
  private imsc = 0
  private ris = 0
  private dmacr = 0
  private lineLevel = false
  private reportedDisabledTx = false

  constructor(options: Pl011Options = {}) {
    this.name = options.name ?? 'pl011'
    this.revision = options.revision ?? 'r1p1'
    const rev = REVISIONS[this.revision]
    if (!rev) throw new RangeError(`unknown PL011 revision ${JSON.stringify(options.revision)}`)
    this.fifoCapacity = rev.fifoDepth
    this.rxFifo = new Uint8Array(rev.fifoDepth)
    this.output = options.output ?? (() => {})
    this.onInterrupt = options.onInterrupt
    this.onGuestError = options.onGuestError
  }

  /** The combined interrupt output UARTINTR: any unmasked raw interrupt. */
  interruptLine(): boolean {
    return (this.ris & this.imsc) !== 0
  }

  /** Depth of each FIFO: the revision's depth with UARTLCR_H.FEN set, else 1 (holding register). */
  fifoDepth(): number {
    return this.lcrH & LCR_H_FEN ? this.fifoCapacity : 1
  }

  /**
   * How many more bytes `receive()` would accept now: 0 while the receiver is disabled, and in
   * loopback, where the receiver listens to the transmitter instead of the line.
   */
  receiveSpace(): number {
    if ((this.cr & (PL011_CR.UARTEN | PL011_CR.RXE | PL011_CR.LBE)) !== (PL011_CR.UARTEN | PL011_CR.RXE)) return 0
    return this.fifoDepth() - this.rxCount
  }

  /**
   * Delivers bytes from the host side of the line into the receive FIFO. Returns how many were
   * accepted: bytes beyond the FIFO's free space, or any while UARTEN or RXE is clear or
   * loopback is on, are not taken and stay with the caller.
   */
  receive(data: Uint8Array | string): number {
    const bytes = typeof data === 'string' ? new TextEncoder().encode(data) : data
    const n = Math.min(bytes.length, this.receiveSpace())
    for (let i = 0; i < n; i++) this.pushRx(bytes[i] ?? 0)
    if (n > 0) this.setRis(this.ris | PL011_INT.RT)
    return n
  }

  /** A guest read of `data.length` bytes at `offset`; the bytes are the register's lane, little-endian. */
  read(offset: number, data: Uint8Array): void {
    readRegister32(this.name, offset, data, (reg) => this.readRegister(reg))
  }

  /** A guest write of `data` (little-endian) at `offset`; an 8-byte write's upper half has no register behind it. */
  write(offset: number, data: Uint8Array): void {
    writeRegister32(this.name, offset, data, (reg, v) => this.writeRegister(reg, v))
  }

  reset(): void {
    this.rxHead = 0
    this.rxCount = 0
    this.rsr = 0
    this.ilpr = 0
    this.ibrd = 0
    this.fbrd = 0
    this.lcrH = 0
    this.cr = CR_RESET
    this.ifls = IFLS_RESET
    this.imsc = 0
    this.dmacr = 0
    this.reportedDisabledTx = false
    this.setRis(0)
  }

  saveState(): DeviceState {
    const rx: number[] = []
    for (let i = 0; i < this.rxCount; i++) rx.push(this.rxFifo[(this.rxHead + i) % this.fifoCapacity] ?? 0)
    return {
      type: 'pl011',
      version: 1,
      revision: this.revision,
      rsr: this.rsr,
      ilpr: this.ilpr,
      ibrd: this.ibrd,
      fbrd: this.fbrd,
      lcrH: this.lcrH,
      cr: this.cr,
      ifls: this.ifls,
      imsc: this.imsc,
      ris: this.ris,
      dmacr: this.dmacr,
      rxFifo: rx,
    }
  }

  loadState(state: DeviceState): void {
    checkStateHeader(state, 'pl011', 1)
    if (state.revision !== this.revision) {
      throw new DeviceStateError(`pl011 state: revision ${JSON.stringify(state.revision)} does not match this ${this.revision} UART`)
    }
    const fields = {
      rsr: stateInt(state, 'rsr', 0, 0xf),
      ilpr: stateInt(state, 'ilpr', 0, 0xff),
      ibrd: stateInt(state, 'ibrd', 0, 0xffff),
      fbrd: stateInt(state, 'fbrd', 0, 0x3f),
      lcrH: stateInt(state, 'lcrH', 0, 0xff),
      cr: stateInt(state, 'cr', 0, 0xffff),
      ifls: stateInt(state, 'ifls', 0, 0x3f),
      imsc: stateInt(state, 'imsc', 0, INT_ALL),
      ris: stateInt(state, 'ris', 0, INT_ALL),
      dmacr: stateInt(state, 'dmacr', 0, 0x7),
    }
    if ((fields.cr & ~CR_WRITABLE) !== 0) throw new DeviceStateError(`pl011 state: field 'cr' has reserved bits set`)
    const rx = state.rxFifo
    const depth = fields.lcrH & LCR_H_FEN ? this.fifoCapacity : 1
    if (!Array.isArray(rx) || rx.length > depth || !rx.every((b) => Number.isInteger(b) && b >= 0 && b <= 0xff)) {
      throw new DeviceStateError(`pl011 state: field 'rxFifo' must be at most ${depth} bytes`)
    }
    this.rsr = fields.rsr
    this.ilpr = fields.ilpr
    this.ibrd = fields.ibrd
    this.fbrd = fields.fbrd
    this.lcrH = fields.lcrH
    this.cr = fields.cr
    this.ifls = fields.ifls
    this.imsc = fields.imsc
    this.dmacr = fields.dmacr
    this.rxHead = 0
    this.rxCount = rx.length
    this.rxFifo.fill(0)
    this.rxFifo.set(rx as number[])
    this.setRis(fields.ris)
  }

  private readRegister(reg: number): number {
    switch (reg) {
      case PL011.DR:
        return this.popRx()
      case PL011.RSR_ECR:
        return this.rsr
      case PL011.FR:
        return this.flags()
      case PL011.ILPR:
        return this.ilpr
      case PL011.IBRD:
        return this.ibrd
      case PL011.FBRD:
        return this.fbrd
      case PL011.LCR_H:
        return this.lcrH
      case PL011.CR:
        return this.cr
      case PL011.IFLS:
        return this.ifls
      case PL011.IMSC:
        return this.imsc
      case PL011.RIS:
        return this.ris
      case PL011.MIS:
        return this.ris & this.imsc
      case PL011.DMACR:
        return this.dmacr
    }
    if (reg >= PL011.PERIPH_ID0 && reg <= 0xffc) return this.idByte((reg - PL011.PERIPH_ID0) >> 2)
    if (reg !== PL011.ICR) this.guestError(`read of reserved offset 0x${reg.toString(16)}`)
    return 0
  }

  private writeRegister(reg: number, v: number): void {
    switch (reg) {
      case PL011.DR:
        this.transmit(v & 0xff)
        return
      case PL011.RSR_ECR:
        this.rsr = 0 // any write clears the error flags
        return
      case PL011.ILPR:
        this.ilpr = v & 0xff
        return
      case PL011.IBRD:
        this.ibrd = v & 0xffff
        return
      case PL011.FBRD:
        this.fbrd = v & 0x3f
        return
      case PL011.LCR_H: {
        const old = this.lcrH
        this.lcrH = v & 0xff
        // Switching between FIFO and character mode empties the receive FIFO.
        if ((old ^ this.lcrH) & LCR_H_FEN) {
          this.rxHead = 0
          this.rxCount = 0
          this.setRis(this.ris & ~(PL011_INT.RX | PL011_INT.RT))
        }
        return
      }
      case PL011.CR:
        this.cr = v & CR_WRITABLE
        this.reportedDisabledTx = false
        return
      case PL011.IFLS:
        this.ifls = v & 0x3f
        this.updateRxLevel()
        return
      case PL011.IMSC:
        this.imsc = v & INT_ALL
        this.updateLine()
        return
      case PL011.ICR:
        this.setRis(this.ris & ~(v & INT_ALL))
        return
      case PL011.DMACR:
        this.dmacr = v & 0x7
        return
    }
    this.guestError(`write of 0x${v.toString(16)} to ${reg >= PL011.PERIPH_ID0 && reg <= 0xffc ? 'read-only' : 'reserved'} offset 0x${reg.toString(16)}`)
  }

  private idByte(index: number): number {
    const rev = REVISIONS[this.revision]
    return [0x11, 0x10, rev.periphId2, 0x00, 0x0d, 0xf0, 0x05, 0xb1][index] ?? 0
  }

  private flags(): number {
    let f = PL011_FR.TXFE
    if (this.rxCount === 0) f |= PL011_FR.RXFE
    if (this.rxCount === this.fifoDepth()) f |= PL011_FR.RXFF
    if (this.cr & PL011_CR.LBE) {
      if (this.cr & PL011_CR.RTS) f |= PL011_FR.CTS
      if (this.cr & PL011_CR.DTR) f |= PL011_FR.DSR
      if (this.cr & PL011_CR.OUT1) f |= PL011_FR.DCD
      if (this.cr & PL011_CR.OUT2) f |= PL011_FR.RI
    }
    return f
  }

  private transmit(byte: number): void {
    if ((this.cr & (PL011_CR.UARTEN | PL011_CR.TXE)) !== (PL011_CR.UARTEN | PL011_CR.TXE) && !this.reportedDisabledTx) {
      // Reported once per UARTCR setting: bare-metal guests do this for every byte.
      this.reportedDisabledTx = true
      this.guestError('data written while the transmitter is disabled (UARTEN or TXE clear); sent anyway, as QEMU does')
    }
    this.output(byte)
    if (this.cr & PL011_CR.LBE && this.rxCount < this.fifoDepth()) {
      this.pushRx(byte)
      this.setRis(this.ris | PL011_INT.RT)
    }
    // The transmit FIFO drains at once, so it is at or below any trigger level.
    this.setRis(this.ris | PL011_INT.TX)
  }

  private pushRx(byte: number): void {
    this.rxFifo[(this.rxHead + this.rxCount) % this.fifoCapacity] = byte
    this.rxCount++
    this.updateRxLevel()
  }

  private popRx(): number {
    if (this.rxCount === 0) return 0
    const byte = this.rxFifo[this.rxHead] ?? 0
    this.rxHead = (this.rxHead + 1) % this.fifoCapacity
    this.rxCount--
    this.rsr = 0 // no character is ever received with an error
    let ris = this.ris
    if (this.rxCount < this.rxTrigger()) ris &= ~PL011_INT.RX
    if (this.rxCount === 0) ris &= ~PL011_INT.RT
    this.setRis(ris)
    return byte
  }

  /** The receive FIFO level that raises the receive interrupt (UARTIFLS.RXIFLSEL). */
  private rxTrigger(): number {
    if (!(this.lcrH & LCR_H_FEN)) return 1
    const eighths = [1, 2, 4, 6, 7][(this.ifls >> 3) & 7] ?? 4 // reserved encodings act as 1/2
    return (this.fifoCapacity * eighths) / 8
  }

  private updateRxLevel(): void {
    if (this.rxCount >= this.rxTrigger()) this.setRis(this.ris | PL011_INT.RX)
  }

  private setRis(ris: number): void {
    this.ris = ris
    this.updateLine()
  }

  private updateLine(): void {
    const level = this.interruptLine()
    if (level !== this.lineLevel) {
      this.lineLevel = level
      this.onInterrupt?.(level)
    }
  }

  private guestError(message: string): void {
    this.onGuestError?.(`${this.name}: ${message}`)
  }
}
