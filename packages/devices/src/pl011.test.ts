import { describe, expect, test } from 'vitest'
import fc from 'fast-check'
import { readMmio, writeMmio } from './bus.js'
import { DeviceStateError, isDeviceStateError } from './device.js'
import { PL011, PL011_CR, PL011_FR, PL011_INT, Pl011, type Pl011Options } from './pl011.js'

function uart(options: Pl011Options = {}) {
  const out: number[] = []
  const lines: boolean[] = []
  const errors: string[] = []
  const dev = new Pl011({
    output: (b) => out.push(b),
    onInterrupt: (level) => lines.push(level),
    onGuestError: (m) => errors.push(m),
    ...options,
  })
  const text = () => String.fromCharCode(...out)
  return { dev, out, lines, errors, text }
}

// Register accesses as the guest makes them (bytes through the MMIO interface), as numbers.
const rd = (dev: Pl011, off: number, size: number) => Number(readMmio(dev, off, size))
const wr = (dev: Pl011, off: number, size: number, v: number) => writeMmio(dev, off, size, v)
const r = (dev: Pl011, off: number) => rd(dev, off, 4)
const w = (dev: Pl011, off: number, v: number) => wr(dev, off, 4, v)
const enableRx = (dev: Pl011) => w(dev, PL011.CR, PL011_CR.UARTEN | PL011_CR.TXE | PL011_CR.RXE)
const FEN = 1 << 4

describe('reset values', () => {
  test('registers read as the TRM lists after reset', () => {
    const { dev } = uart()
    expect(r(dev, PL011.FR)).toBe(PL011_FR.TXFE | PL011_FR.RXFE) // 0x90
    expect(r(dev, PL011.CR)).toBe(0x300)
    expect(r(dev, PL011.IFLS)).toBe(0x12)
    for (const off of [PL011.RSR_ECR, PL011.ILPR, PL011.IBRD, PL011.FBRD, PL011.LCR_H, PL011.IMSC, PL011.RIS, PL011.MIS, PL011.DMACR]) {
      expect(r(dev, off), `offset 0x${off.toString(16)}`).toBe(0)
    }
    expect(dev.interruptLine()).toBe(false)
  })

  test('peripheral and PrimeCell IDs are those of an Arm PL011 (r1p1 by default, as QEMU virt)', () => {
    const ids = (dev: Pl011) => Array.from({ length: 8 }, (_, i) => r(dev, 0xfe0 + 4 * i))
    expect(ids(uart().dev)).toEqual([0x11, 0x10, 0x14, 0x00, 0x0d, 0xf0, 0x05, 0xb1])
    expect(ids(uart({ revision: 'r1p5' }).dev)).toEqual([0x11, 0x10, 0x34, 0x00, 0x0d, 0xf0, 0x05, 0xb1])
    // What Linux's AMBA bus assembles from them: part 0x011, designer 0x41 ('A'), revision.
    const dev = uart().dev
    const periphId = ids(dev).slice(0, 4).reduce((acc, b, i) => acc | (b << (8 * i)), 0)
    expect(periphId & 0x000fffff).toBe(0x00041011)
  })

  test('reset() returns a programmed UART to its power-on state', () => {
    const { dev } = uart()
    w(dev, PL011.LCR_H, 0x70)
    enableRx(dev)
    w(dev, PL011.IMSC, PL011_INT.RX | PL011_INT.RT)
    dev.receive('abc')
    expect(dev.interruptLine()).toBe(true)
    dev.reset()
    expect(r(dev, PL011.FR)).toBe(0x90)
    expect(r(dev, PL011.LCR_H)).toBe(0)
    expect(r(dev, PL011.CR)).toBe(0x300)
    expect(r(dev, PL011.RIS)).toBe(0)
    expect(dev.interruptLine()).toBe(false)
  })
})

describe('transmit (UARTDR writes)', () => {
  test('bytes reach the output in order and the flags stay "transmit FIFO empty"', () => {
    const { dev, text } = uart()
    enableRx(dev)
    for (const c of 'Hi!\n') {
      expect(r(dev, PL011.FR) & (PL011_FR.TXFF | PL011_FR.BUSY)).toBe(0)
      wr(dev, PL011.DR, 1, c.charCodeAt(0))
    }
    expect(text()).toBe('Hi!\n')
    expect(r(dev, PL011.FR) & PL011_FR.TXFE).toBe(PL011_FR.TXFE)
  })

  test('only the low 8 bits of a word write are data', () => {
    const { dev, out } = uart()
    w(dev, PL011.DR, 0xf41)
    expect(out).toEqual([0x41])
  })

  test('as on QEMU, a disabled transmitter still sends, and says so once per UARTCR value', () => {
    const { dev, out, errors } = uart()
    wr(dev, PL011.DR, 4, 0x41)
    wr(dev, PL011.DR, 4, 0x42)
    expect(out).toEqual([0x41, 0x42])
    expect(errors).toHaveLength(1)
    expect(errors[0]).toMatch(/pl011: data written while the transmitter is disabled/)
    enableRx(dev)
    wr(dev, PL011.DR, 4, 0x43)
    expect(errors).toHaveLength(1)
  })

  test('each write raises TXRIS; UARTIMSC gates the line; UARTICR clears it', () => {
    const { dev, lines } = uart()
    enableRx(dev)
    w(dev, PL011.DR, 0x41)
    expect(r(dev, PL011.RIS)).toBe(PL011_INT.TX)
    expect(r(dev, PL011.MIS)).toBe(0)
    expect(dev.interruptLine()).toBe(false)
    w(dev, PL011.IMSC, PL011_INT.TX)
    expect(r(dev, PL011.MIS)).toBe(PL011_INT.TX)
    expect(dev.interruptLine()).toBe(true)
    w(dev, PL011.ICR, PL011_INT.TX)
    expect(r(dev, PL011.RIS)).toBe(0)
    expect(dev.interruptLine()).toBe(false)
    expect(lines).toEqual([true, false])
  })
})

describe('receive', () => {
  test('nothing is accepted while UARTEN or RXE is clear', () => {
    const { dev } = uart()
    expect(dev.receive('x')).toBe(0)
    w(dev, PL011.CR, PL011_CR.UARTEN | PL011_CR.TXE)
    expect(dev.receive('x')).toBe(0)
    w(dev, PL011.CR, PL011_CR.RXE | PL011_CR.TXE)
    expect(dev.receiveSpace()).toBe(0)
    expect(r(dev, PL011.FR) & PL011_FR.RXFE).toBe(PL011_FR.RXFE)
  })

  test('character mode (FEN = 0) holds one byte: RXFF, then RXFE after the read', () => {
    const { dev } = uart()
    enableRx(dev)
    expect(dev.fifoDepth()).toBe(1)
    expect(dev.receive('ab')).toBe(1)
    expect(r(dev, PL011.FR) & (PL011_FR.RXFE | PL011_FR.RXFF)).toBe(PL011_FR.RXFF)
    expect(r(dev, PL011.RIS) & PL011_INT.RX).toBe(PL011_INT.RX)
    expect(r(dev, PL011.DR)).toBe(0x61)
    expect(r(dev, PL011.FR) & (PL011_FR.RXFE | PL011_FR.RXFF)).toBe(PL011_FR.RXFE)
    expect(r(dev, PL011.RIS) & (PL011_INT.RX | PL011_INT.RT)).toBe(0)
    expect(dev.receive('b')).toBe(1)
    expect(r(dev, PL011.DR)).toBe(0x62)
  })

  test('FIFO mode: 16 entries, RX at the trigger level, RT while bytes wait below it', () => {
    const { dev } = uart()
    enableRx(dev)
    w(dev, PL011.LCR_H, FEN | 0x60)
    expect(dev.fifoDepth()).toBe(16)
    expect(dev.receive('abc')).toBe(3)
    // Below the half-full trigger (8): only the receive timeout is raised.
    expect(r(dev, PL011.RIS)).toBe(PL011_INT.RT)
    expect(dev.receive('defghijklmnopqrstuvwxyz')).toBe(13)
    expect(r(dev, PL011.FR) & PL011_FR.RXFF).toBe(PL011_FR.RXFF)
    expect(r(dev, PL011.RIS)).toBe(PL011_INT.RX | PL011_INT.RT)
    let got = ''
    while (!(r(dev, PL011.FR) & PL011_FR.RXFE)) {
      got += String.fromCharCode(r(dev, PL011.DR) & 0xff)
      if (got.length === 8) expect(r(dev, PL011.RIS) & PL011_INT.RX).toBe(PL011_INT.RX) // 8 left: still at the level
      if (got.length === 9) expect(r(dev, PL011.RIS) & PL011_INT.RX).toBe(0)
    }
    expect(got).toBe('abcdefghijklmnop')
    expect(r(dev, PL011.RIS)).toBe(0)
  })

  test('UARTIFLS sets the receive trigger level (1/8 .. 7/8 of the FIFO)', () => {
    for (const [sel, level] of [[0, 2], [1, 4], [2, 8], [3, 12], [4, 14]] as const) {
      const { dev } = uart()
      enableRx(dev)
      w(dev, PL011.LCR_H, FEN)
      w(dev, PL011.IFLS, sel << 3)
      dev.receive('x'.repeat(level - 1))
      expect(r(dev, PL011.RIS) & PL011_INT.RX, `level ${level}`).toBe(0)
      dev.receive('x')
      expect(r(dev, PL011.RIS) & PL011_INT.RX, `level ${level}`).toBe(PL011_INT.RX)
    }
  })

  test('r1p5 has 32-entry FIFOs', () => {
    const { dev } = uart({ revision: 'r1p5' })
    enableRx(dev)
    w(dev, PL011.LCR_H, FEN)
    expect(dev.receive('y'.repeat(40))).toBe(32)
  })

  test('toggling FEN empties the receive FIFO', () => {
    const { dev } = uart()
    enableRx(dev)
    w(dev, PL011.LCR_H, FEN)
    dev.receive('abc')
    w(dev, PL011.LCR_H, 0)
    expect(r(dev, PL011.FR) & PL011_FR.RXFE).toBe(PL011_FR.RXFE)
    expect(r(dev, PL011.RIS)).toBe(0)
  })

  test('reading an empty FIFO returns 0 and changes nothing', () => {
    const { dev } = uart()
    enableRx(dev)
    expect(r(dev, PL011.DR)).toBe(0)
    expect(r(dev, PL011.FR)).toBe(0x90)
  })

  test('the FIFO is a queue: any mix of receives and reads gives the bytes back in order', () => {
    fc.assert(
      fc.property(
        fc.array(fc.oneof(fc.uint8Array({ maxLength: 20 }), fc.integer({ min: 0, max: 20 })), { maxLength: 40 }),
        fc.boolean(),
        (ops, fifo) => {
          const { dev } = uart()
          enableRx(dev)
          if (fifo) w(dev, PL011.LCR_H, FEN)
          const pending: number[] = []
          const read: number[] = []
          for (const op of ops) {
            if (typeof op === 'number') {
              for (let i = 0; i < op && !(r(dev, PL011.FR) & PL011_FR.RXFE); i++) read.push(r(dev, PL011.DR))
            } else {
              const n = dev.receive(op)
              expect(n).toBe(Math.min(op.length, dev.fifoDepth() - (pending.length - read.length)))
              pending.push(...op.slice(0, n))
            }
            expect(read).toEqual(pending.slice(0, read.length))
            const waiting = pending.length - read.length
            expect((r(dev, PL011.FR) & PL011_FR.RXFE) !== 0).toBe(waiting === 0)
            expect((r(dev, PL011.FR) & PL011_FR.RXFF) !== 0).toBe(waiting === dev.fifoDepth())
          }
        },
      ),
    )
  })
})

describe('control registers', () => {
  test('each register keeps only its implemented bits', () => {
    const { dev } = uart()
    const cases: [number, number][] = [
      [PL011.ILPR, 0xff],
      [PL011.IBRD, 0xffff],
      [PL011.FBRD, 0x3f],
      [PL011.LCR_H, 0xff],
      [PL011.CR, 0xff87],
      [PL011.IFLS, 0x3f],
      [PL011.IMSC, 0x7ff],
      [PL011.DMACR, 0x7],
    ]
    for (const [off, mask] of cases) {
      w(dev, off, 0xffffffff)
      expect(r(dev, off), `offset 0x${off.toString(16)}`).toBe(mask)
      w(dev, off, 0)
    }
  })

  test('a divisor as Linux programs it for 115200 baud at 24 MHz reads back', () => {
    const { dev } = uart()
    w(dev, PL011.IBRD, 13)
    w(dev, PL011.FBRD, 1)
    w(dev, PL011.LCR_H, 0x70)
    expect([r(dev, PL011.IBRD), r(dev, PL011.FBRD), r(dev, PL011.LCR_H)]).toEqual([13, 1, 0x70])
  })

  test('read-only registers ignore writes and report them', () => {
    const { dev, errors } = uart()
    for (const off of [PL011.FR, PL011.RIS, PL011.MIS, 0xfe0, 0xffc]) w(dev, off, 0xffff)
    expect(r(dev, PL011.FR)).toBe(0x90)
    expect(r(dev, PL011.RIS)).toBe(0)
    expect(r(dev, 0xfe0)).toBe(0x11)
    expect(errors).toHaveLength(5)
  })

  test('UARTRSR/UARTECR reads 0 (no line errors) and any write clears it', () => {
    const { dev } = uart()
    w(dev, PL011.RSR_ECR, 0xff)
    expect(r(dev, PL011.RSR_ECR)).toBe(0)
  })

  test('reserved offsets read 0, ignore writes, and are reported', () => {
    const { dev, errors } = uart()
    expect(r(dev, 0x08)).toBe(0)
    w(dev, 0x100, 5)
    expect(r(dev, 0x100)).toBe(0)
    expect(errors).toEqual(['pl011: read of reserved offset 0x8', 'pl011: write of 0x5 to reserved offset 0x100', 'pl011: read of reserved offset 0x100'])
  })

  test('UARTICR reads as 0 and clears only the bits written', () => {
    const { dev } = uart()
    enableRx(dev)
    w(dev, PL011.DR, 0x41)
    dev.receive('z')
    expect(r(dev, PL011.RIS)).toBe(PL011_INT.TX | PL011_INT.RX | PL011_INT.RT)
    w(dev, PL011.ICR, PL011_INT.RT)
    expect(r(dev, PL011.RIS)).toBe(PL011_INT.TX | PL011_INT.RX)
    expect(r(dev, PL011.ICR)).toBe(0)
  })

  test('loopback: transmitted bytes also arrive in the receive FIFO; modem flags follow UARTCR', () => {
    const { dev, out } = uart()
    w(dev, PL011.CR, PL011_CR.UARTEN | PL011_CR.TXE | PL011_CR.RXE | PL011_CR.LBE | PL011_CR.RTS | PL011_CR.DTR)
    w(dev, PL011.DR, 0x5a)
    expect(out).toEqual([0x5a])
    expect(dev.receive('x')).toBe(0) // the receiver hears the transmitter, not the line
    expect(r(dev, PL011.DR)).toBe(0x5a)
    expect(r(dev, PL011.FR) & PL011_FR.RXFE).toBe(PL011_FR.RXFE)
    expect(r(dev, PL011.FR) & (PL011_FR.CTS | PL011_FR.DSR | PL011_FR.DCD | PL011_FR.RI)).toBe(PL011_FR.CTS | PL011_FR.DSR)
    w(dev, PL011.CR, PL011_CR.UARTEN | PL011_CR.TXE | PL011_CR.RXE | PL011_CR.OUT1 | PL011_CR.OUT2)
    expect(r(dev, PL011.FR) & (PL011_FR.CTS | PL011_FR.DSR | PL011_FR.DCD | PL011_FR.RI)).toBe(0)
  })
})

describe('access sizes', () => {
  test('byte and halfword reads see the addressed lanes', () => {
    const { dev } = uart()
    w(dev, PL011.IBRD, 0xabcd)
    expect(rd(dev, PL011.IBRD, 1)).toBe(0xcd)
    expect(rd(dev, PL011.IBRD + 1, 1)).toBe(0xab)
    expect(rd(dev, PL011.IBRD, 2)).toBe(0xabcd)
    expect(rd(dev, PL011.IBRD, 8)).toBe(0xabcd)
    expect(rd(dev, PL011.FR, 2)).toBe(0x90)
  })

  test('bad sizes, offsets and values are programming errors that change nothing', () => {
    const { dev, out } = uart()
    expect(() => rd(dev, 0, 3)).toThrow(RangeError)
    expect(() => rd(dev, 0x1000, 4)).toThrow(/outside the 4 KiB/)
    expect(() => rd(dev, -4, 4)).toThrow(RangeError)
    expect(() => wr(dev, PL011.DR, 1, 0x100)).toThrow(/does not fit/)
    expect(() => wr(dev, PL011.DR, 4, -1)).toThrow(RangeError)
    expect(() => wr(dev, PL011.DR, 4, 1.5)).toThrow(RangeError)
    expect(out).toEqual([])
    expect(r(dev, PL011.RIS)).toBe(0)
  })

  test('the device itself refuses a 3-byte access, and an 8-byte read zero-extends its 32-bit register', () => {
    const { dev } = uart()
    expect(() => dev.read(PL011.FR, new Uint8Array(3))).toThrow(/access size 3/)
    expect(() => dev.write(PL011.DR, new Uint8Array(3))).toThrow(/access size 3/)
    w(dev, PL011.IBRD, 0xabcd)
    const data = new Uint8Array(8).fill(0xee)
    dev.read(PL011.IBRD, data)
    expect([...data]).toEqual([0xcd, 0xab, 0, 0, 0, 0, 0, 0])
    // An 8-byte write with bits above 2^53 set: the register takes the low 16 bits it has.
    dev.write(PL011.IBRD, Uint8Array.of(0x34, 0x12, 0, 0, 0, 0, 0xf0, 0xff))
    expect(r(dev, PL011.IBRD)).toBe(0x1234)
  })
})

describe('snapshots', () => {
  function programmed() {
    const u = uart()
    enableRx(u.dev)
    w(u.dev, PL011.LCR_H, FEN | 0x60)
    w(u.dev, PL011.IBRD, 13)
    w(u.dev, PL011.FBRD, 1)
    w(u.dev, PL011.IMSC, PL011_INT.RX | PL011_INT.RT)
    u.dev.receive('queued')
    return u
  }

  test('saveState/loadState carries registers, the receive FIFO and the interrupt line', () => {
    const a = programmed()
    expect(r(a.dev, PL011.DR)).toBe(0x71) // consume one so the FIFO does not start at slot 0
    const state = JSON.parse(JSON.stringify(a.dev.saveState()))
    const b = uart()
    b.dev.loadState(state)
    expect(b.lines).toEqual([true])
    for (const off of [PL011.FR, PL011.LCR_H, PL011.CR, PL011.IBRD, PL011.FBRD, PL011.IMSC, PL011.RIS, PL011.MIS]) {
      expect(r(b.dev, off)).toBe(r(a.dev, off))
    }
    let rest = ''
    while (!(r(b.dev, PL011.FR) & PL011_FR.RXFE)) rest += String.fromCharCode(r(b.dev, PL011.DR))
    expect(rest).toBe('ueued')
    expect(b.dev.interruptLine()).toBe(false)
  })

  test('bad states are refused with the reason, and the device is unchanged', () => {
    const { dev } = programmed()
    const good = dev.saveState()
    const bad: [Record<string, unknown>, RegExp][] = [
      [{ ...good, type: 'gic' }, /wrong device type "gic"/],
      [{ ...good, version: 2 }, /unsupported version 2/],
      [{ ...good, revision: 'r1p5' }, /revision "r1p5" does not match/],
      [{ ...good, ibrd: 0x10000 }, /'ibrd' must be an integer in \[0, 65535\]/],
      [{ ...good, imsc: 'x' }, /'imsc'/],
      [{ ...good, cr: 0x78 }, /reserved bits/],
      [{ ...good, rxFifo: new Array(17).fill(1) }, /'rxFifo' must be at most 16 bytes/],
      [{ ...good, lcrH: 0, rxFifo: [1, 2] }, /at most 1 bytes/],
      [{ ...good, rxFifo: [256] }, /'rxFifo'/],
    ]
    for (const [state, message] of bad) {
      expect(() => dev.loadState(state as never)).toThrow(message)
      expect(() => dev.loadState(state as never)).toThrow(DeviceStateError)
      expect(dev.saveState()).toEqual(good)
    }
    expect(() => dev.loadState(null as never)).toThrow(DeviceStateError)
    try {
      dev.loadState({ ...good, version: 3 })
    } catch (error) {
      expect(isDeviceStateError(error)).toBe(true)
    }
    expect(isDeviceStateError(new RangeError('pl011 state: wrong device type'))).toBe(false)
  })
})

test('a polling driver echoes input the way a bare-metal console loop would', () => {
  const { dev, text } = uart()
  // Driver init as Linux's pl011 driver does it: disable, program, enable.
  w(dev, PL011.CR, 0)
  w(dev, PL011.IBRD, 13)
  w(dev, PL011.FBRD, 1)
  w(dev, PL011.LCR_H, FEN | 0x60)
  w(dev, PL011.CR, PL011_CR.UARTEN | PL011_CR.TXE | PL011_CR.RXE)
  const putc = (c: number) => {
    while (r(dev, PL011.FR) & PL011_FR.TXFF);
    w(dev, PL011.DR, c)
  }
  const input = 'echo me\n'
  let taken = 0
  while (taken < input.length) {
    taken += dev.receive(input.slice(taken))
    while (!(r(dev, PL011.FR) & PL011_FR.RXFE)) putc(r(dev, PL011.DR) & 0xff)
  }
  expect(text()).toBe('echo me\n')
})

test('under any register traffic the line is MIS != 0, and onInterrupt fires only on changes', () => {
  const offsets = [PL011.DR, PL011.LCR_H, PL011.CR, PL011.IFLS, PL011.IMSC, PL011.ICR, PL011.RSR_ECR]
  const op = fc.oneof(
    fc.record({ kind: fc.constant('write' as const), off: fc.constantFrom(...offsets), value: fc.integer({ min: 0, max: 0xffff }) }),
    fc.record({ kind: fc.constant('read' as const), off: fc.constantFrom(PL011.DR, PL011.FR, PL011.MIS) }),
    fc.record({ kind: fc.constant('receive' as const), data: fc.uint8Array({ maxLength: 40 }) }),
  )
  fc.assert(
    fc.property(fc.array(op, { maxLength: 60 }), (ops) => {
      const { dev, lines } = uart()
      let level = false
      for (const o of ops) {
        if (o.kind === 'write') w(dev, o.off, o.value)
        else if (o.kind === 'read') r(dev, o.off)
        else dev.receive(o.data)
        const mis = r(dev, PL011.MIS)
        expect(mis).toBe(r(dev, PL011.RIS) & r(dev, PL011.IMSC))
        expect(dev.interruptLine()).toBe(mis !== 0)
        if (dev.interruptLine() !== level) {
          level = dev.interruptLine()
          expect(lines.at(-1)).toBe(level)
        }
      }
      for (let i = 1; i < lines.length; i++) expect(lines[i]).not.toBe(lines[i - 1])
    }),
  )
})
