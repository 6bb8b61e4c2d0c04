import { setFlagsFromString } from 'node:v8'
import { expect, test } from 'vitest'
import { storeAsDoubles } from './field-shapes.js'
import { makeMachine } from './test-helpers.js'

// %HaveSameMap (V8 natives syntax) tells whether a later large store replaced an object's map:
// the map change that deoptimizes every optimized function that checked the old map.
setFlagsFromString('--allow-natives-syntax')
const haveSameMap = new Function('a', 'b', 'return %HaveSameMap(a, b)') as (a: object, b: object) => boolean

class Plain {
  lo = 0
  hi = 7
}
class Widened {
  lo = 0
  hi = 7
  constructor() {
    storeAsDoubles(this, ['lo', 'hi'])
  }
}

test('a uint32 stored into a widened field keeps the map; into a small-integer field it replaces it', () => {
  const plainRef = new Plain()
  const plain = new Plain()
  plain.hi = 0xffff_8000
  expect(haveSameMap(plain, plainRef)).toBe(false)

  const widenedRef = new Widened()
  const widened = new Widened()
  expect(widened.lo).toBe(0)
  expect(widened.hi).toBe(7)
  widened.hi = 0xffff_8000
  widened.lo = 0.25
  expect(haveSameMap(widened, widenedRef)).toBe(true)
  expect(widened.hi).toBe(0xffff_8000)
})

test('a Cpu running kernel-half addresses keeps its map (pcHi, exit syndromes)', () => {
  const m = makeMachine()
  const cpu = m.cpu
  const ref = makeMachine().cpu
  cpu.pcHi = 0xffff_8000
  cpu.pcLo = 0x8000_1000
  cpu.blockEnd = 0x8000_1004
  cpu.exits.dataAbort.esr = 0x9200_0046
  expect(haveSameMap(cpu, ref)).toBe(true)
  expect(haveSameMap(cpu.exits.dataAbort, ref.exits.dataAbort)).toBe(true)
  expect(cpu.pcLo).toBe(0x8000_1000)
})

test('a field that is not a number is refused', () => {
  const bad = { name: 'x', n: 1 }
  expect(() => storeAsDoubles(bad, ['name'])).toThrow(/field name holds string, not a number/)
  expect(() => storeAsDoubles(bad, ['missing'])).toThrow(/field missing holds undefined/)
})
