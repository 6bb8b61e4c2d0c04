// The global monitor vCPU threads use (smp-monitor.ts), driven here from one thread: CPU A's
// exclusive pair must fail when CPU B wrote the reservation between A's load and store.
import { describe, expect, test } from 'vitest'
import { SmpLock, attachSmpMonitor } from './smp-monitor.js'
import { CODE, SNIPPET_END, addCpu, asm, makeMachine } from './test-helpers.js'
import type { Cpu } from './cpu.js'

const DATA = 0x4020_0000
const LOAD = CODE // ldxr x1, [x0]; hvc: A's load-exclusive, then A stops
const STORE = CODE + 0x1000 // add x1, x1, #1; stxr w2, x1, [x0]; hvc
const OTHER = CODE + 0x2000 // B's write to the reservation, then hvc

function run(cpu: Cpu, pc: number): void {
  cpu.pc = BigInt(pc)
  expect(cpu.run(100)).toMatchObject({ kind: 'hvc', imm16: SNIPPET_END })
}

/** 'threads': the locked monitor of vCPU threads; 'lockstep': the lock-free one of CPUs taking turns on one thread. */
type Monitor = 'threads' | 'lockstep' | false

function setup(monitor: Monitor, other: readonly number[]) {
  const m = makeMachine(16 << 20, true, true)
  const b = addCpu(m.memory, m.stage2)
  if (monitor) {
    const lock = monitor === 'threads' ? new SmpLock(new Int32Array(new SharedArrayBuffer(4))) : null
    attachSmpMonitor(m.cpu, lock)
    attachSmpMonitor(b, lock)
  }
  const put = (at: number, words: readonly number[]) => words.forEach((w, i) => m.memory.write32(at + 4 * i, w))
  put(LOAD, asm`ldxr x1, [x0]; hvc #0xf00d`)
  put(STORE, asm`add x1, x1, #1; stxr w2, x1, [x0]; hvc #0xf00d`)
  put(OTHER, other)
  for (const cpu of [m.cpu, b]) cpu.setX(0, BigInt(DATA))
  m.memory.write32(DATA, 41)
  return { m, a: m.cpu, b }
}

describe('the global exclusive monitor', () => {
  test.each([
    ['threads', 'a plain store', asm`mov x3, #7; str x3, [x0]; hvc #0xf00d`, 7],
    ['threads', 'an LSE atomic', asm`mov x3, #1; ldadd x3, x4, [x0]; hvc #0xf00d`, 42],
    ['threads', 'an exclusive pair', asm`ldxr x3, [x0]; add x3, x3, #1; stxr w4, x3, [x0]; hvc #0xf00d`, 42],
    ['lockstep', 'a plain store', asm`mov x3, #7; str x3, [x0]; hvc #0xf00d`, 7],
    ['lockstep', 'an LSE atomic', asm`mov x3, #1; ldadd x3, x4, [x0]; hvc #0xf00d`, 42],
    ['lockstep', 'an exclusive pair', asm`ldxr x3, [x0]; add x3, x3, #1; stxr w4, x3, [x0]; hvc #0xf00d`, 42],
  ] as const)('%s monitor: after %s by another CPU, the pair fails and memory keeps the other write', (monitor, _what, other, after) => {
    const { m, a, b } = setup(monitor, other)
    run(a, LOAD)
    run(b, OTHER)
    run(a, STORE)
    expect(a.getX(2)).toBe(1n)
    expect(m.memory.read32(DATA)).toBe(after)
  })

  test('with no other write the pair succeeds, with and without the monitor', () => {
    for (const monitor of ['threads', 'lockstep', false] as const) {
      const { m, a } = setup(monitor, [])
      run(a, LOAD)
      run(a, STORE)
      expect(a.getX(2)).toBe(0n)
      expect(m.memory.read32(DATA)).toBe(42)
    }
  })

  test('a CPU that has run cannot be attached (its handlers are built)', () => {
    const { a } = setup(false, [])
    run(a, LOAD)
    expect(() => attachSmpMonitor(a, null)).toThrow(/already run/)
    expect(() => attachSmpMonitor(a, new SmpLock(new Int32Array(new SharedArrayBuffer(4))))).toThrow(/already run/)
  })

  test('the lock needs shared memory', () => {
    expect(() => new SmpLock(new Int32Array(4))).toThrow(/SharedArrayBuffer/)
  })
})
