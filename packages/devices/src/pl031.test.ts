import { describe, expect, it } from 'vitest'
import { DeviceStateError } from './device.js'
import { PL031, Pl031 } from './pl031.js'

function rtc(start = 1000.25) {
  let now = start
  const levels: boolean[] = []
  const dev = new Pl031({ now: () => now, onInterrupt: (l) => levels.push(l) })
  const read = (reg: number): number => {
    const b = new Uint8Array(4)
    dev.read(reg, b)
    return new DataView(b.buffer).getUint32(0, true)
  }
  const write = (reg: number, v: number): void => {
    const b = new Uint8Array(4)
    new DataView(b.buffer).setUint32(0, v, true)
    dev.write(reg, b)
  }
  return { dev, read, write, levels, advance: (s: number) => (now += s) }
}

describe('PL031', () => {
  it('identifies as a PrimeCell 0x00141031 (what Linux rtc-pl031 matches)', () => {
    const { read } = rtc()
    const id = [0, 1, 2, 3].map((i) => read(PL031.PERIPH_ID0 + 4 * i))
    expect(((id[3]! << 24) | (id[2]! << 16) | (id[1]! << 8) | id[0]!) >>> 0).toBe(0x0014_1031)
    expect([4, 5, 6, 7].map((i) => read(PL031.PERIPH_ID0 + 4 * i))).toEqual([0x0d, 0xf0, 0x05, 0xb1])
    expect(read(PL031.CR)).toBe(1)
  })

  it('counts seconds from the time base; RTCLR sets the count', () => {
    const { read, write, advance } = rtc()
    expect(read(PL031.DR)).toBe(1000)
    advance(2)
    expect(read(PL031.DR)).toBe(1002)
    write(PL031.LR, 0x6000_0000)
    expect(read(PL031.DR)).toBe(0x6000_0000)
    expect(read(PL031.LR)).toBe(0x6000_0000)
    advance(5)
    expect(read(PL031.DR)).toBe(0x6000_0005)
  })

  it('the alarm raises RTCINTR when the count reaches RTCMR, while unmasked; RTCICR clears it', () => {
    const { dev, read, write, levels, advance } = rtc()
    write(PL031.MR, 1003)
    write(PL031.IMSC, 1)
    advance(2)
    dev.update()
    expect(read(PL031.RIS)).toBe(0)
    advance(1.5)
    dev.update()
    expect(read(PL031.RIS)).toBe(1)
    expect(read(PL031.MIS)).toBe(1)
    expect(levels).toEqual([true])
    write(PL031.ICR, 1)
    expect(levels).toEqual([true, false])
    expect(read(PL031.RIS)).toBe(0)
  })

  it('says how long until the alarm raises the line: only while unmasked and not yet raised', () => {
    const { dev, read, write, advance } = rtc(1000.25)
    write(PL031.MR, 1003)
    expect(dev.secondsToInterrupt()).toBe(Infinity) // masked
    write(PL031.IMSC, 1)
    expect(dev.secondsToInterrupt()).toBe(2.75) // the count becomes 1003 at time 1003.0
    advance(2.75)
    expect(dev.secondsToInterrupt()).toBe(0)
    dev.update()
    expect(read(PL031.MIS)).toBe(1)
    expect(dev.secondsToInterrupt()).toBe(Infinity) // raised until RTCICR
    write(PL031.ICR, 1)
    // RTCMR equals the count already seen: the next match is when the counter wraps.
    expect(dev.secondsToInterrupt()).toBe(2 ** 32)
    write(PL031.MR, 1002) // behind the count: a wrap minus one second away
    expect(dev.secondsToInterrupt()).toBe(2 ** 32 - 1)
    write(PL031.LR, 0xffff_ffff)
    write(PL031.MR, 1) // across the wrap of RTCDR
    expect(dev.secondsToInterrupt()).toBe(2)
  })

  it('saves and restores its state; refuses bad states without change', () => {
    const a = rtc()
    a.write(PL031.LR, 5000)
    a.write(PL031.MR, 9000)
    const saved = a.dev.saveState()
    const b = rtc()
    b.dev.loadState(saved)
    expect(b.read(PL031.DR)).toBe(5000)
    expect(b.read(PL031.MR)).toBe(9000)
    expect(() => b.dev.loadState({ ...saved, imsc: 2 })).toThrow(DeviceStateError)
    expect(b.read(PL031.IMSC)).toBe(0)
  })
})
