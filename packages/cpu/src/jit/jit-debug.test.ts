// Hypervisor debugging with the compiled tier on: a breakpoint stops a translated loop before
// the instruction (regions end before a breakpointed address, which is never an entry), and a
// watchpoint sees accesses that translations would otherwise make on the fast path.

import { describe, expect, it } from 'vitest'
import { DebugExceptionClass } from '../debug.js'
import { CODE, load, makeMachine } from '../test-helpers.js'
import { DATA, LOOP, NONE, ec } from '../debug-test-support.js'

describe('hypervisor debug with the compiled tier', () => {
  it.each([CODE + 4, CODE + 8, CODE + 16])('a breakpoint at %s stops a translated loop before it, every time round, as without the tier', (at) => {
    const stops = (jit: boolean): string[] => {
      const m = makeMachine(16 << 20, true, false, jit ? { threshold: 1 } : undefined)
      load(m, LOOP)
      expect(m.cpu.run(400).kind).toBe('budget')
      if (jit) expect(m.cpu.jit!.stats.entries).toBeGreaterThan(0) // the loop runs translated
      const seen: string[] = []
      m.cpu.setDebug({ ...NONE, breakpoints: [{ addressHi: 0, addressLo: at }] })
      for (let round = 0; round < 3; round++) {
        expect(ec(m.cpu.run(1000))).toBe(DebugExceptionClass.BREAKPOINT)
        expect(m.cpu.pc).toBe(BigInt(at))
        seen.push(`x0=${m.cpu.getX(0)} retired=${m.cpu.retired}`)
        // Step over it (as a debugger does), then run on to the next stop.
        m.cpu.setDebug(null)
        m.cpu.step()
        m.cpu.setDebug({ ...NONE, breakpoints: [{ addressHi: 0, addressLo: at }] })
      }
      m.cpu.setDebug(null)
      expect(m.cpu.run(1000).kind).toBe('budget')
      seen.push(`x0=${m.cpu.getX(0)} retired=${m.cpu.retired}`)
      return seen
    }
    expect(stops(true)).toEqual(stops(false))
  })

  it('a watchpoint set while translations hold fast TLB entries still stops the store', () => {
    const m = makeMachine(16 << 20, true, false, { threshold: 1 })
    load(m, LOOP)
    expect(m.cpu.run(400).kind).toBe('budget')
    expect(m.cpu.jit!.stats.entries).toBeGreaterThan(0)
    const stored = m.memory.read32(DATA)
    m.cpu.setDebug({ ...NONE, watchpoints: [{ addressHi: 0, addressLo: DATA + 4, length: 4, onRead: false, onWrite: true }] })
    const exit = m.cpu.run(1000)
    expect(ec(exit)).toBe(DebugExceptionClass.WATCHPOINT)
    expect(m.cpu.pc).toBe(BigInt(CODE + 8))
    expect(m.memory.read32(DATA)).toBe(stored)
    m.cpu.setDebug({ ...NONE, watchpoints: [{ addressHi: 0, addressLo: DATA, length: 1, onRead: true, onWrite: false }] })
    expect(ec(m.cpu.run(1000))).toBe(DebugExceptionClass.WATCHPOINT)
    expect(m.cpu.pc).toBe(BigInt(CODE + 12))
    m.cpu.setDebug(null)
    expect(m.cpu.run(1000).kind).toBe('budget')
  })
})
