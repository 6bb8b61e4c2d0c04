import { describe, expect, test } from 'vitest'
import {
  CODE, RAM_BASE, SNIPPET_END, VECTOR_HVC, abortSyndrome, asm, enableIdentityMmu, makeMachine, runSnippet, type Machine,
} from './test-helpers.js'

const DATA = RAM_BASE + 0x20_0000
const L2 = RAM_BASE + 0x1_1000 // enableIdentityMmu's level-2 table

/** Makes the 2 MiB block holding DATA EL0-accessible (AP = 01) and not executable at EL0. */
function userData(m: Machine): void {
  const index = (DATA - RAM_BASE) / 0x20_0000
  const desc = m.memory.read32(L2 + 8 * index)
  m.memory.write32(L2 + 8 * index, (desc | (1 << 6)) >>> 0)
  m.memory.write32(L2 + 8 * index + 4, 1 << (54 - 32)) // UXN
}

function machine(regs: Record<number, bigint> = {}): Machine {
  const m = makeMachine()
  for (const [r, v] of Object.entries(regs)) m.cpu.setX(Number(r), v)
  enableIdentityMmu(m)
  userData(m)
  return m
}

const vector = (exit: ReturnType<typeof runSnippet>): number => (exit.kind === 'hvc' ? exit.imm16 - VECTOR_HVC : -1)

describe('privilege: PAN, UAO, LDTR/STTR', () => {
  test('PAN=1 blocks EL1 access to EL0 data; LDTR still reads it as EL0 would', () => {
    const m = machine({ 1: BigInt(DATA) })
    m.memory.write32(DATA, 0x55)
    const exit = runSnippet(m, asm`ldtr x2, [x1]; msr pan, #1; ldtr x3, [x1]; ldr x4, [x1]`)
    expect(vector(exit)).toBe(4)
    expect(m.cpu.getX(2)).toBe(0x55n)
    expect(m.cpu.getX(3)).toBe(0x55n)
    expect(m.cpu.getSysreg('ESR_EL1')).toBe(0x9600_000en) // level-2 permission fault
    expect(m.cpu.getSysreg('ELR_EL1')).toBe(BigInt(CODE + 12))
  })

  test('LDTR of EL1-only memory faults; with UAO=1 it is an ordinary EL1 access', () => {
    const m = machine({ 1: BigInt(RAM_BASE + 0x40_0000) })
    m.memory.write32(RAM_BASE + 0x40_0000, 7)
    expect(vector(runSnippet(m, asm`ldtr x2, [x1]`))).toBe(4)
    expect(m.cpu.getSysreg('ESR_EL1')).toBe(0x9600_000en)
    const m2 = machine({ 1: BigInt(RAM_BASE + 0x40_0000) })
    m2.memory.write32(RAM_BASE + 0x40_0000, 7)
    expect(runSnippet(m2, asm`msr uao, #1; ldtr x2, [x1]`)).toMatchObject({ kind: 'hvc', imm16: SNIPPET_END })
    expect(m2.cpu.getX(2)).toBe(7n)
  })

  test('exception entry sets PAN when SCTLR_EL1.SPAN = 0 and clears UAO', () => {
    const m = machine()
    m.cpu.setSysreg('SCTLR_EL1', m.cpu.getSysreg('SCTLR_EL1') & ~(1n << 23n))
    runSnippet(m, asm`msr uao, #1; svc #0`)
    expect((m.cpu.pstate >>> 22) & 1).toBe(1)
    expect((m.cpu.pstate >>> 23) & 1).toBe(0)
    expect((Number(m.cpu.getSysreg('SPSR_EL1')) >>> 23) & 1).toBe(1)
  })
})

describe('ERET and illegal returns', () => {
  test('ERET to EL2 is an illegal exception return: PSTATE.IL, then an Illegal State exception', () => {
    const m = makeMachine()
    m.cpu.setSysreg('SPSR_EL1', 0x9n) // EL2h: not implemented for the guest
    m.cpu.setSysreg('ELR_EL1', BigInt(CODE + 8))
    const exit = runSnippet(m, asm`eret; nop; nop`)
    expect(vector(exit)).toBe(4)
    expect(m.cpu.getSysreg('ESR_EL1')).toBe(0x3a00_0000n) // EC 0x0E, IL
    expect(m.cpu.getSysreg('ELR_EL1')).toBe(BigInt(CODE + 8))
    expect((Number(m.cpu.getSysreg('SPSR_EL1')) >>> 20) & 1).toBe(1)
    expect((m.cpu.pstate >>> 20) & 1).toBe(0)
  })

  test('ERET and MSR of EL1 registers are UNDEFINED at EL0', () => {
    const m = makeMachine()
    m.cpu.setSysreg('SPSR_EL1', 0n)
    m.cpu.setSysreg('ELR_EL1', BigInt(CODE + 4))
    expect(vector(runSnippet(m, asm`eret; eret`))).toBe(8)
    expect(m.cpu.getSysreg('ESR_EL1')).toBe(0x0200_0000n)
    expect(m.cpu.getSysreg('ELR_EL1')).toBe(BigInt(CODE + 4))
  })
})

describe('memory edge cases', () => {
  test('DC ZVA on MMIO space exits without a valid syndrome', () => {
    const m = makeMachine()
    m.cpu.setX(0, 0x0900_0010n)
    const exit = runSnippet(m, asm`dc zva, x0`)
    expect(abortSyndrome(exit)).toMatchObject({ isv: false, isWrite: true })
    if (exit.kind === 'data-abort') expect(exit.ipa).toBe(0x0900_0000)
  })

  test('DC ZVA at EL0 traps to EL1 unless SCTLR_EL1.DZE', () => {
    const m = machine({ 0: BigInt(DATA) })
    m.cpu.setSysreg('SPSR_EL1', 0n)
    m.cpu.setSysreg('ELR_EL1', BigInt(CODE + 4))
    // EL0 needs to execute the code block: make it read-only at both ELs (AP = 11), since
    // memory EL0 can write is never executable at EL1 (the vectors live there too).
    const idx = Math.floor((CODE - RAM_BASE) / 0x20_0000)
    m.memory.write32(L2 + 8 * idx, (m.memory.read32(L2 + 8 * idx) | (3 << 6)) >>> 0)
    m.cpu.setSysreg('SCTLR_EL1', m.cpu.getSysreg('SCTLR_EL1') & ~(1n << 14n))
    expect(vector(runSnippet(m, asm`eret; dc zva, x0`))).toBe(8)
    expect(m.cpu.getSysreg('ESR_EL1') >> 26n).toBe(0x18n)
  })

  test('an access crossing into a page stage 2 does not map exits before changing anything', () => {
    const m = makeMachine(1 << 20)
    const last = RAM_BASE + (1 << 20) - 4
    m.cpu.setX(1, BigInt(last))
    m.cpu.setX(2, 0x1122_3344_5566_7788n)
    enableIdentityMmu(m)
    const exit = runSnippet(m, asm`str x2, [x1]`)
    expect(abortSyndrome(exit)).toMatchObject({ isWrite: true })
    expect(m.memory.read32(last)).toBe(0)
  })

  test('a store-exclusive fails after an exception clears the monitor', () => {
    const m = makeMachine()
    m.cpu.setX(0, BigInt(DATA))
    const exit = runSnippet(m, asm`ldxr x1, [x0]; svc #0`)
    expect(vector(exit)).toBe(4)
    // Return to a store-exclusive: the monitor was cleared by the exception.
    m.memory.write32(CODE + 0x100, 0xc8027c01) // stxr w2, x1, [x0]
    m.memory.write32(CODE + 0x104, 0xd41e01a2) // hvc #0xf00d
    m.cpu.invalidateCode(CODE + 0x100, 8)
    m.cpu.pc = BigInt(CODE + 0x100)
    expect(m.cpu.run(10)).toMatchObject({ kind: 'hvc', imm16: SNIPPET_END })
    expect(m.cpu.getX(2)).toBe(1n)
  })
})

describe('hypervisor API', () => {
  test('bad arguments are RangeErrors and change nothing', () => {
    const m = makeMachine()
    expect(() => m.cpu.setX(32, 1n)).toThrow(RangeError)
    expect(() => m.cpu.setX(0, -1n)).toThrow(RangeError)
    expect(() => m.cpu.setSysreg('NOPE' as 'SCTLR_EL1', 0n)).toThrow(RangeError)
    expect(() => m.cpu.getSysreg(0x1234)).toThrow(RangeError)
    expect(() => m.cpu.run(-1)).toThrow(RangeError)
    expect(() => m.cpu.setXHalves(32, 0, 0)).toThrow(RangeError)
    expect(() => {
      m.cpu.pstate = 0x9 // EL2h
    }).toThrow(RangeError)
    expect(m.cpu.pstate).toBe(0x3c5)
  })

  test('injectUndefined and injectAbort enter EL1 at the current PC', () => {
    const m = makeMachine()
    m.cpu.setSysreg('VBAR_EL1', BigInt(RAM_BASE + 0x1000))
    m.cpu.pc = BigInt(CODE)
    m.cpu.injectUndefined()
    expect(m.cpu.pc).toBe(BigInt(RAM_BASE + 0x1200))
    expect(m.cpu.getSysreg('ESR_EL1')).toBe(0x0200_0000n)
    m.cpu.pc = BigInt(CODE)
    m.cpu.injectAbort(true, 0x1234n)
    expect(m.cpu.getSysreg('ESR_EL1')).toBe(0x9600_0010n)
    expect(m.cpu.getSysreg('FAR_EL1')).toBe(0x1234n)
  })

  test('reset returns to the QEMU entry state', () => {
    const m = makeMachine()
    m.cpu.setX(3, 5n)
    m.cpu.pc = 0x1000n
    m.cpu.reset()
    expect(m.cpu.getX(3)).toBe(0n)
    expect(m.cpu.pc).toBe(0n)
    expect(m.cpu.pstate).toBe(0x3c5)
    expect(m.cpu.getSysreg('SCTLR_EL1')).toBe(0xc5_0838n)
    expect(m.cpu.retired).toBeGreaterThanOrEqual(0)
  })
})

test('a guest stuck taking instruction aborts still spends its budget', () => {
  const m = makeMachine()
  enableIdentityMmu(m)
  m.cpu.setSysreg('VBAR_EL1', 0x8000_0000n) // not mapped at stage 1: every vector fetch aborts
  m.cpu.pc = 0x8000_0000n
  expect(m.cpu.run(1000)).toEqual({ kind: 'budget' })
  expect(m.cpu.getSysreg('ESR_EL1')).toBe(0x8600_0005n) // IABT, current EL, level-1 translation
  expect(m.cpu.retired).toBe(1000)
})

test('a hot loop that rewrites an instruction of its own block runs the new code every time', () => {
  // Each iteration stores `mov x0, #k` over the instruction two words later, then runs it.
  const m = makeMachine()
  m.cpu.setX(1, BigInt(CODE + 5 * 4)) // the `mov x0, #1` below
  m.cpu.setX(2, 0xd280_0000n) // mov x0, #0
  const exit = runSnippet(m, asm`mov x3, #40; mov x4, #0
1: add w2, w2, #32; str w2, [x1]; nop; mov x0, #1; add x4, x4, x0; subs x3, x3, #1; b.ne 1b`)
  expect(exit).toMatchObject({ kind: 'hvc', imm16: SNIPPET_END })
  expect(m.cpu.getX(0)).toBe(40n)
  expect(m.cpu.getX(4)).toBe((40n * 41n) / 2n)
})
