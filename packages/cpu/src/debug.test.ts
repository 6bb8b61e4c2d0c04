import { describe, expect, it } from 'vitest'
import { DebugExceptionClass } from './debug.js'
import { CODE, load, makeMachine } from './test-helpers.js'
import { DATA, LOOP, NONE, ec } from './debug-test-support.js'

describe.each([true, false])('hypervisor debug of the CPU (blocks %s)', (blocks) => {
  it('a breakpoint stops before the instruction, also inside code already built into blocks', () => {
    const m = makeMachine(16 << 20, blocks)
    load(m, LOOP)
    expect(m.cpu.run(400).kind).toBe('budget') // hot: blocks are built
    const before = m.cpu.getX(0)
    m.cpu.setDebug({ ...NONE, breakpoints: [{ addressHi: 0, addressLo: CODE + 8 }] })
    const exit = m.cpu.run(1000)
    expect(ec(exit)).toBe(DebugExceptionClass.BREAKPOINT)
    expect(m.cpu.pc).toBe(BigInt(CODE + 8))
    expect(m.cpu.getX(0)).toBe(before + 1n)
    // Stopped again at the same place after one more loop; retired counts what ran.
    const retired = m.cpu.retired
    m.cpu.setDebug(null)
    m.cpu.step()
    m.cpu.setDebug({ ...NONE, breakpoints: [{ addressHi: 0, addressLo: CODE + 8 }] })
    expect(ec(m.cpu.run(1000))).toBe(DebugExceptionClass.BREAKPOINT)
    expect(m.cpu.retired).toBe(retired + 4)
    // Off again: nothing stops the loop.
    m.cpu.setDebug(null)
    expect(m.cpu.run(1000).kind).toBe('budget')
  })

  it('a write watchpoint exits before the store with WnR and FAR; a read one on the load', () => {
    const m = makeMachine(16 << 20, blocks)
    load(m, LOOP)
    expect(m.cpu.run(100).kind).toBe('budget')
    const stored = m.memory.read32(DATA)
    m.cpu.setDebug({ ...NONE, watchpoints: [{ addressHi: 0, addressLo: DATA + 4, length: 4, onRead: false, onWrite: true }] })
    const exit = m.cpu.run(1000)
    expect(ec(exit)).toBe(DebugExceptionClass.WATCHPOINT)
    if (exit.kind !== 'debug') throw new Error('unreachable')
    expect((exit.esr >>> 6) & 1).toBe(1)
    expect(exit.farLo).toBe(DATA)
    expect(m.cpu.pc).toBe(BigInt(CODE + 8))
    expect(m.memory.read32(DATA)).toBe(stored) // not performed
    m.cpu.setDebug({ ...NONE, watchpoints: [{ addressHi: 0, addressLo: DATA, length: 1, onRead: true, onWrite: false }] })
    const read = m.cpu.run(1000)
    expect(ec(read)).toBe(DebugExceptionClass.WATCHPOINT)
    expect(m.cpu.pc).toBe(BigInt(CODE + 12))
    // A watchpoint elsewhere never fires.
    m.cpu.setDebug({ ...NONE, watchpoints: [{ addressHi: 0, addressLo: DATA + 8, length: 8, onRead: true, onWrite: true }] })
    expect(m.cpu.run(1000).kind).toBe('budget')
  })

  it('BRK exits to the hypervisor with USE_SW_BP, else the guest takes it', () => {
    const m = makeMachine(16 << 20, blocks)
    load(m, [0xd42000a0])
    m.cpu.setDebug({ ...NONE, brkExits: true })
    const exit = m.cpu.run(10)
    expect(ec(exit)).toBe(DebugExceptionClass.BRK64)
    if (exit.kind !== 'debug') throw new Error('unreachable')
    expect(exit.esr & 0xffff).toBe(5)
    expect(m.cpu.pc).toBe(BigInt(CODE))
    m.cpu.setDebug({ ...NONE })
    m.cpu.step()
    expect(m.cpu.getSysreg('ESR_EL1') >> 26n).toBe(0x3cn)
  })
})
