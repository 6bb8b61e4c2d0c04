import { expect, test } from 'vitest'
import { MmioBus, type MmioDevice } from './bus.js'

function recorder(name: string): MmioDevice & { writes: number[] } {
  const writes: number[] = []
  return { name, writes, read: (o) => o, write: (_o, _s, v) => void writes.push(v) }
}

test('routes addresses to the device that covers them', () => {
  const bus = new MmioBus()
  const uart = recorder('pl011')
  bus.add(0x0900_0000, 0x1000, uart)
  expect(bus.find(0x0900_0018)?.offset).toBe(0x18)
  expect(bus.find(0x0900_1000)).toBeUndefined()
  bus.find(0x0900_0000)?.device.write(0, 1, 0x41)
  expect(uart.writes).toEqual([0x41])
})

test('refuses overlapping regions and leaves the bus unchanged', () => {
  const bus = new MmioBus()
  bus.add(0x0900_0000, 0x1000, recorder('a'))
  expect(() => bus.add(0x0900_0800, 0x1000, recorder('b'))).toThrow(/overlaps a/)
  expect(bus.find(0x0900_1000)).toBeUndefined()
})

test('lists its regions lowest base first', () => {
  const bus = new MmioBus()
  bus.add(0x0900_0000, 0x1000, recorder('uart'))
  bus.add(0x0800_0000, 0x10000, recorder('gic'))
  expect(bus.entries().map((r) => [r.base, r.device.name])).toEqual([
    [0x0800_0000, 'gic'],
    [0x0900_0000, 'uart'],
  ])
})
