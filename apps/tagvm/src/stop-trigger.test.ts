import { expect, test } from 'vitest'
import { EventEmitter } from 'node:events'
import { StopTrigger, type SignalSource } from './stop-trigger.js'

test('after N instructions: slices end exactly at N', () => {
  const t = new StopTrigger({ afterInsns: 2500 })
  let executed = 0
  const slices: number[] = []
  while (!t.fired(executed)) {
    const n = t.sliceBudget(executed, 1000)
    slices.push(n)
    executed += n
  }
  expect(slices).toEqual([1000, 1000, 500])
  expect(executed).toBe(2500)
  t.dispose()
})

test('on SIGUSR1 (default when no count is given): fires at the next check; dispose removes the handler', () => {
  const signals = new EventEmitter() as EventEmitter & SignalSource
  const t = new StopTrigger({ signals })
  expect(signals.listenerCount('SIGUSR1')).toBe(1)
  expect(t.fired(1e9)).toBe(false)
  expect(t.sliceBudget(5, 100)).toBe(100)
  signals.emit('SIGUSR1')
  expect(t.fired(0)).toBe(true)
  t.dispose()
  expect(signals.listenerCount('SIGUSR1')).toBe(0)
})

test('bad arguments', () => {
  expect(() => new StopTrigger({ afterInsns: 0 })).toThrow(RangeError)
  expect(() => new StopTrigger({ afterInsns: 10 }).sliceBudget(0, 0)).toThrow(RangeError)
})
