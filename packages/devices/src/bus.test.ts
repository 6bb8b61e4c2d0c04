import { expect, test } from 'vitest'
import { MmioBus, readMmio, writeMmio, type MmioDevice } from './bus.js'

/** A device of one 64-bit register at offset 0 that keeps whatever bytes are written. */
function scratch(name: string): MmioDevice & { bytes: Uint8Array; writes: number[][] } {
  const bytes = new Uint8Array(8)
  const writes: number[][] = []
  return {
    name,
    bytes,
    writes,
    read: (offset, data) => data.set(bytes.subarray(offset, offset + data.length)),
    write: (offset, data) => {
      writes.push([offset, ...data])
      bytes.set(data, offset)
    },
  }
}

test('routes addresses to the device that covers them', () => {
  const bus = new MmioBus()
  const uart = scratch('pl011')
  bus.add(0x0900_0000, 0x1000, uart)
  expect(bus.find(0x0900_0018)?.offset).toBe(0x18)
  expect(bus.find(0x0900_1000)).toBeUndefined()
  expect(bus.write(0x0900_0000, Uint8Array.of(0x41))).toBe(true)
  expect(uart.writes).toEqual([[0, 0x41]])
  expect(bus.write(0x0900_1000, Uint8Array.of(0x41))).toBe(false)
  const data = Uint8Array.of(7)
  expect(bus.read(0x0a00_0000, data)).toBe(false)
  expect([...data]).toEqual([7])
})

test('8-byte accesses move every bit, including those above 2^53', () => {
  const bus = new MmioBus()
  const dev = scratch('reg64')
  bus.add(0x1000_0000, 0x1000, dev)
  const value = 0xfedc_ba98_7654_3210n
  const data = new Uint8Array(8)
  new DataView(data.buffer).setBigUint64(0, value, true)
  bus.write(0x1000_0000, data)
  const back = new Uint8Array(8)
  bus.read(0x1000_0000, back)
  expect(new DataView(back.buffer).getBigUint64(0, true)).toBe(value)
  expect(readMmio(dev, 0, 8)).toBe(value)
  writeMmio(dev, 0, 8, (1n << 64n) - 1n)
  expect([...dev.bytes]).toEqual(Array(8).fill(0xff))
  for (const size of [1, 2, 4]) {
    writeMmio(dev, 0, size, 2 ** (8 * size) - 2)
    expect(readMmio(dev, 0, size)).toBe(BigInt(2 ** (8 * size) - 2))
  }
  expect(() => writeMmio(dev, 0, 8, 1n << 64n)).toThrow(/does not fit/)
  expect(() => readMmio(dev, 0, 16)).toThrow(/access size 16/)
})

test('refuses overlapping regions and leaves the bus unchanged', () => {
  const bus = new MmioBus()
  bus.add(0x0900_0000, 0x1000, scratch('a'))
  expect(() => bus.add(0x0900_0800, 0x1000, scratch('b'))).toThrow(/overlaps a/)
  expect(bus.find(0x0900_1000)).toBeUndefined()
})

test('lists its regions lowest base first', () => {
  const bus = new MmioBus()
  bus.add(0x0900_0000, 0x1000, scratch('uart'))
  bus.add(0x0800_0000, 0x10000, scratch('gic'))
  expect(bus.entries().map((r) => [r.base, r.device.name])).toEqual([
    [0x0800_0000, 'gic'],
    [0x0900_0000, 'uart'],
  ])
})
