// IRQ/FIQ delivery from an interrupt controller's lines, WFI, and the rows a hypervisor's
// devices sit behind (GIC CPU interface, timers), plus the debug and PMU registers as a guest
// without a vPMU sees them. Instruction words come from llvm-mc 14 (-mattr=+v8.5a).
import { describe, expect, it } from 'vitest'
import { CODE, load, makeMachine } from './test-helpers.js'
import { SysReg } from './sysreg-encoding.js'
import type { SysregDevice } from './sysreg-gic.js'

const DAIFCLR_I = 0xd50342ff // msr daifclr, #2
const DAIFCLR_F = 0xd50341ff // msr daifclr, #1
const NOP = 0xd503201f
const MRS_X0_ISR = 0xd538c100 // mrs x0, isr_el1
const WFI = 0xd503207f
const MSR_DBGBCR0_X1 = 0xd51000a1
const MRS_X2_DBGBCR0 = 0xd53000a2
const MSR_DBGWVR3_X1 = 0xd51003c1
const MRS_X3_DBGWVR3 = 0xd53003c3
const MRS_X4_PMCR = 0xd53b9c04 // mrs x4, pmcr_el0
const MRS_X5_IAR1 = 0xd538cc05 // mrs x5, icc_iar1_el1
const MSR_EOIR1_X5 = 0xd518cc25 // msr icc_eoir1_el1, x5
const MRS_X6_CNTVCT = 0xd53be046
const MSR_CNTV_CVAL_X1 = 0xd51be341
const MRS_X7_DFR0 = 0xd5380507 // mrs x7, id_aa64dfr0_el1
const MSR_OSLAR_XZR = 0xd510109f
const MRS_X8_OSLSR = 0xd5301188
const SVC0 = 0xd4000001 // svc #0
const ERET = 0xd69f03e0

const VBAR = 0x4010_0000

/** A machine at EL1h with VBAR_EL1 set and every vector slot holding `svc #0` (so a taken vector is visible). */
function setup(blocks = true) {
  const m = makeMachine(16 << 20, blocks)
  m.cpu.setSysreg('VBAR_EL1', BigInt(VBAR))
  for (let off = 0; off < 0x800; off += 4) m.memory.write32(VBAR + off, ERET)
  return m
}

/** A fake device answering every key it knows with a fixed value, recording writes. */
class FakeDevice implements SysregDevice {
  valueLo = 0
  valueHi = 0
  readonly writes: [number, number, number][] = []
  constructor(private readonly values: Map<number, number>) {}
  read(key: number): boolean {
    const v = this.values.get(key)
    if (v === undefined) return false
    this.valueLo = v
    this.valueHi = 0
    return true
  }
  write(key: number, lo: number, hi: number): boolean {
    this.writes.push([key, lo, hi])
    return this.values.has(key)
  }
}

describe('interrupt lines', () => {
  for (const blocks of [true, false]) {
    it(`an IRQ line is taken once PSTATE.I clears, at VBAR+0x280 from EL1h (blocks ${blocks})`, () => {
      const m = setup(blocks)
      // The line is already high but I is masked: ISR shows it, nothing is taken.
      m.cpu.setInterruptLines(1)
      load(m, [MRS_X0_ISR, NOP, DAIFCLR_I, NOP, NOP])
      m.cpu.pstate = 0x3c5
      const esrBefore = m.cpu.getSysreg('ESR_EL1')
      expect(m.cpu.run(2).kind).toBe('budget')
      expect(m.cpu.getX(0)).toBe(0x80n)
      expect(m.cpu.pc).toBe(BigInt(CODE + 8))
      // MSR DAIFClr retires, then the IRQ is taken before the next instruction.
      expect(m.cpu.run(1).kind).toBe('budget')
      expect(m.cpu.run(1).kind).toBe('budget') // the first vector instruction (ERET) ran
      expect(m.cpu.getSysreg('ELR_EL1')).toBe(BigInt(CODE + 12))
      expect(m.cpu.getSysreg('SPSR_EL1')).toBe(0x345n) // EL1h, D A F masked, I clear
      expect(m.cpu.getSysreg('ESR_EL1')).toBe(esrBefore)
      // The ERET at the vector returned to CODE+12 with I clear; the line is still high, so
      // the IRQ is taken again before the next instruction (a level interrupt not acknowledged).
      expect(m.cpu.pc).toBe(BigInt(CODE + 12))
      m.memory.write32(VBAR + 0x280, NOP)
      m.cpu.invalidateCode(VBAR, 0x800)
      m.cpu.run(1)
      expect(m.cpu.pc).toBe(BigInt(VBAR + 0x284))
    })
  }

  it('vectors: +0x080 from EL1t, +0x480 from EL0, FIQ +0x300 from EL1h', () => {
    const m = setup()
    for (const off of [0x080, 0x480, 0x300]) m.memory.write32(VBAR + off, NOP)
    const takes = (pstate: number, lines: number, vector: number) => {
      load(m, [NOP, NOP])
      m.cpu.pstate = pstate
      m.cpu.setInterruptLines(lines)
      m.cpu.run(1) // the interrupt, then the NOP at its vector
      expect(m.cpu.pc).toBe(BigInt(VBAR + vector + 4))
      expect(m.cpu.getSysreg('ELR_EL1')).toBe(BigInt(CODE))
      expect(m.cpu.getSysreg('SPSR_EL1')).toBe(BigInt(pstate))
      expect(m.cpu.pstate & 0x3cf).toBe(0x3c5)
      m.cpu.setInterruptLines(0)
    }
    takes(0x4, 1, 0x080) // EL1t
    takes(0x0, 1, 0x480) // EL0t
    takes(0x5 | 0x80, 2, 0x300) // EL1h, I masked, FIQ
    // FIQ masked by F: not taken until MSR DAIFClr #1.
    load(m, [NOP, DAIFCLR_F, NOP])
    m.cpu.pstate = 0x3c5 & ~0x80
    m.cpu.setInterruptLines(2)
    m.cpu.run(1)
    expect(m.cpu.pc).toBe(BigInt(CODE + 4))
    m.cpu.run(2)
    expect(m.cpu.pc).toBe(BigInt(VBAR + 0x304))
    expect(m.cpu.getSysreg('ELR_EL1')).toBe(BigInt(CODE + 8))
  })

  it('WFI: exits to EL2 under HCR_EL2.TWI only when nothing is pending', () => {
    const m = setup()
    m.cpu.setHcrEl2(1n | (1n << 13n) | (1n << 4n)) // VM, TWI, IMO
    load(m, [WFI, WFI, NOP])
    expect(m.cpu.run(10)).toMatchObject({ kind: 'wfx', isWfe: false })
    expect(m.cpu.pc).toBe(BigInt(CODE))
    // A pending interrupt, even masked by PSTATE.I, is a wake-up event: WFI completes.
    m.cpu.setInterruptLines(1)
    expect(m.cpu.run(2).kind).toBe('budget')
    expect(m.cpu.pc).toBe(BigInt(CODE + 8))
    expect(m.cpu.retired).toBe(2)
  })
})

describe('device rows', () => {
  it('ICC registers are UNDEFINED without a GIC and reach it once attached', () => {
    const m = setup()
    m.memory.write32(VBAR + 0x200, SVC0)
    load(m, [MRS_X5_IAR1])
    m.cpu.run(1)
    expect(m.cpu.getSysreg('ESR_EL1') >> 26n).toBe(0n) // UNDEFINED
    expect(m.cpu.getSysreg('ELR_EL1')).toBe(BigInt(CODE))

    const icc = (op1: number, crn: number, crm: number, op2: number) => (3 << 14) | (op1 << 11) | (crn << 7) | (crm << 3) | op2
    const gic = new FakeDevice(new Map([[icc(0, 12, 12, 0), 33], [icc(0, 12, 12, 1), 0]]))
    m.cpu.attachGic(gic)
    load(m, [MRS_X5_IAR1, MSR_EOIR1_X5, NOP])
    m.cpu.pstate = 0x3c5
    expect(m.cpu.run(2).kind).toBe('budget')
    expect(m.cpu.getX(5)).toBe(33n)
    expect(gic.writes).toEqual([[icc(0, 12, 12, 1), 33, 0]])
  })

  it('attached timers answer the counter and timer registers', () => {
    const m = setup()
    const timers = new FakeDevice(new Map([[SysReg.CNTVCT_EL0, 1234], [SysReg.CNTV_CVAL_EL0, 0]]))
    m.cpu.attachTimers(timers)
    m.cpu.setX(1, 0x1_0000_0005n)
    load(m, [MRS_X6_CNTVCT, MSR_CNTV_CVAL_X1, NOP])
    m.cpu.run(2)
    expect(m.cpu.getX(6)).toBe(1234n)
    expect(timers.writes).toEqual([[SysReg.CNTV_CVAL_EL0, 5, 1]])
  })
})

describe('debug and PMU registers', () => {
  it('breakpoint/watchpoint registers hold what is written; the OS lock; DFR0 says 6 BRPs, 4 WRPs, no PMU', () => {
    const m = setup()
    m.cpu.setX(1, 0x1234_5678_0000_01e5n)
    load(m, [MSR_DBGBCR0_X1, MRS_X2_DBGBCR0, MSR_DBGWVR3_X1, MRS_X3_DBGWVR3, MRS_X7_DFR0, MSR_OSLAR_XZR, MRS_X8_OSLSR, NOP])
    expect(m.cpu.run(7).kind).toBe('budget')
    expect(m.cpu.getX(2)).toBe(0x1234_5678_0000_01e5n)
    expect(m.cpu.getX(3)).toBe(0x1234_5678_0000_01e5n)
    const dfr0 = m.cpu.getX(7)
    expect([dfr0 & 0xfn, (dfr0 >> 8n) & 0xfn, ((dfr0 >> 12n) & 0xfn) + 1n, ((dfr0 >> 20n) & 0xfn) + 1n]).toEqual([6n, 0n, 6n, 4n])
    expect(m.cpu.getX(8) & 2n).toBe(0n) // unlocked
    m.cpu.reset()
    expect(m.cpu.debugRegs.every((w) => w === 0)).toBe(true)
  })

  it('PMU registers are UNDEFINED (no vPMU)', () => {
    const m = setup()
    m.memory.write32(VBAR + 0x200, SVC0)
    load(m, [MRS_X4_PMCR])
    m.cpu.run(1)
    expect(m.cpu.getSysreg('ESR_EL1') >> 26n).toBe(0n)
  })

})
