import { describe, expect, test } from 'vitest'
import type { CpuExit } from './exits.js'
import {
  CODE, RAM_BASE, SNIPPET_END, VECTOR_HVC, abortSyndrome, asm, emulateMmio, enableIdentityMmu, makeMachine, runSnippet, type Machine,
} from './test-helpers.js'

const UART = 0x0900_0000

function setup(regs: Record<number, bigint> = {}, extra?: (m: Machine) => void): Machine {
  const m = makeMachine()
  for (const [r, v] of Object.entries(regs)) m.cpu.setX(Number(r), v)
  extra?.(m)
  return m
}

/** Expects the run to stop in vector entry `k` (an exception taken to EL1). */
function expectVector(exit: CpuExit, k: number): void {
  expect(exit.kind).toBe('hvc')
  if (exit.kind === 'hvc') expect(exit.imm16 - VECTOR_HVC).toBe(k)
}

const sys = (m: Machine, name: Parameters<Machine['cpu']['getSysreg']>[0]): bigint => m.cpu.getSysreg(name)

describe('exceptions taken to EL1', () => {
  test('SVC from EL1h: syndrome, ELR, SPSR, masking, vector +0x200; ERET returns', () => {
    const m = setup()
    m.cpu.pstate = 0x6000_0005 // Z and C set, DAIF clear, EL1h
    const exit = runSnippet(m, asm`svc #0x42`)
    expectVector(exit, 4) // +0x200: current EL with SP_ELx, synchronous
    expect(sys(m, 'ESR_EL1')).toBe(0x5600_0042n)
    expect(sys(m, 'ELR_EL1')).toBe(BigInt(CODE + 4))
    expect(sys(m, 'SPSR_EL1')).toBe(0x6000_0005n)
    expect(m.cpu.pstate & 0x3cf).toBe(0x3c5) // DAIF masked, still EL1h
    // Return: ERET goes back to ELR with SPSR's state.
    const m2 = setup()
    m2.cpu.setSysreg('ELR_EL1', BigInt(CODE + 8))
    m2.cpu.setSysreg('SPSR_EL1', 0x8000_0005n)
    const exit2 = runSnippet(m2, asm`eret; udf #0; mov x0, #1`)
    expect(exit2).toMatchObject({ kind: 'hvc', imm16: SNIPPET_END })
    expect(m2.cpu.getX(0)).toBe(1n)
    expect(m2.cpu.pstate >>> 28).toBe(8)
  })

  test('EL0 SVC goes to +0x400 and the stack pointers are banked', () => {
    const m = setup()
    m.cpu.setSpEl(1, 0x4000_9000n)
    m.cpu.setSysreg('SPSR_EL1', 0n) // EL0t
    m.cpu.setSysreg('ELR_EL1', BigInt(CODE + 4))
    const exit = runSnippet(m, asm`eret; mov x1, #0x5000; mov sp, x1; svc #7`)
    expectVector(exit, 8) // +0x400: lower EL, AArch64, synchronous
    expect(sys(m, 'ESR_EL1')).toBe(0x5600_0007n)
    expect(sys(m, 'SPSR_EL1') & 0xfn).toBe(0n)
    expect(m.cpu.getSpEl(0)).toBe(0x5000n)
    expect(m.cpu.sp).toBe(0x4000_9000n)
  })

  test('UNDEFINED, BRK, PC alignment, SP alignment, unaligned exclusive', () => {
    let m = setup()
    expectVector(runSnippet(m, asm`udf #0`), 4)
    expect(sys(m, 'ESR_EL1')).toBe(0x0200_0000n)
    expect(sys(m, 'ELR_EL1')).toBe(BigInt(CODE))

    m = setup()
    expectVector(runSnippet(m, asm`brk #0x99`), 4)
    expect(sys(m, 'ESR_EL1')).toBe(0xf200_0099n)

    m = setup({ 1: BigInt(CODE + 6) })
    expectVector(runSnippet(m, asm`br x1`), 4)
    expect(sys(m, 'ESR_EL1')).toBe(0x8a00_0000n)
    expect(sys(m, 'FAR_EL1')).toBe(BigInt(CODE + 6))

    m = setup({ 1: BigInt(RAM_BASE + 0x2_0008) })
    m.cpu.setSysreg('SCTLR_EL1', sys(m, 'SCTLR_EL1') | 8n) // SA
    expectVector(runSnippet(m, asm`mov sp, x1; ldr x0, [sp]`), 4)
    expect(sys(m, 'ESR_EL1')).toBe(0x9a00_0000n)

    m = setup({ 1: BigInt(RAM_BASE + 0x2_0004) })
    enableIdentityMmu(m)
    expectVector(runSnippet(m, asm`ldxr x0, [x1]`), 4)
    expect(sys(m, 'ESR_EL1')).toBe(0x9600_0021n)
    expect(sys(m, 'FAR_EL1')).toBe(BigInt(RAM_BASE + 0x2_0004))
  })

  test('unaligned accesses: fine on Normal memory, alignment fault on Device (MMU off)', () => {
    let m = setup({ 1: BigInt(RAM_BASE + 0x2_0ffd) })
    enableIdentityMmu(m)
    m.memory.write32(RAM_BASE + 0x2_0ffc, 0x4433_2211)
    m.memory.write32(RAM_BASE + 0x2_1000, 0x8877_6655)
    expect(runSnippet(m, asm`ldr x0, [x1]; str x0, [x1, #2]; ldr x2, [x1, #2]`)).toMatchObject({ kind: 'hvc', imm16: SNIPPET_END })
    expect(m.cpu.getX(0)).toBe(0x0088_7766_5544_3322n)
    expect(m.cpu.getX(2)).toBe(0x0088_7766_5544_3322n)
    m = setup({ 1: BigInt(RAM_BASE + 0x2_0ffd) })
    expectVector(runSnippet(m, asm`ldr x0, [x1]`), 4)
    expect(sys(m, 'ESR_EL1')).toBe(0x9600_0021n)
  })

  test('stage-1 translation faults go to EL1 with the level in DFSC and FAR', () => {
    const m = setup({ 1: 0x8000_0000n, 2: 0x4000_0000_0000n })
    enableIdentityMmu(m)
    expectVector(runSnippet(m, asm`ldr x0, [x1]`), 4)
    expect(sys(m, 'ESR_EL1')).toBe(0x9600_0005n) // level 1 translation fault
    expect(sys(m, 'FAR_EL1')).toBe(0x8000_0000n)
    const m2 = setup({ 1: 0x8000_0000n })
    enableIdentityMmu(m2)
    expectVector(runSnippet(m2, asm`str x0, [x1]`), 4)
    expect(sys(m2, 'ESR_EL1')).toBe(0x9600_0045n) // WnR
  })

  test('AT S1E1R writes PAR_EL1', () => {
    const m = setup({ 1: BigInt(RAM_BASE + 0x12345), 2: 0x8000_0000n })
    enableIdentityMmu(m)
    runSnippet(m, asm`at s1e1r, x1; mrs x3, par_el1; at s1e1w, x2; mrs x4, par_el1`)
    expect(m.cpu.getX(3) & 0xffff_ffff_f001n).toBe(BigInt(RAM_BASE + 0x12000))
    expect(m.cpu.getX(4) & 1n).toBe(1n)
    expect((m.cpu.getX(4) >> 1n) & 0x3fn).toBe(5n)
  })

  test('AT S1E1R reports the stage-1 attributes whether or not stage 2 maps the IPA yet', () => {
    // Stage 1 maps 0x4000_0000.. 1:1 (MAIR attr 0 = 0xff); stage 2 maps only the first 16 MiB.
    const unmapped = RAM_BASE + (32 << 20)
    const m = setup({ 1: BigInt(RAM_BASE + 0x3000), 2: BigInt(unmapped) })
    enableIdentityMmu(m)
    runSnippet(m, asm`at s1e1r, x1; mrs x3, par_el1; at s1e1r, x2; mrs x4, par_el1`)
    expect(m.cpu.getX(3)).toBe(0xff00_0000_0000_0800n | BigInt(RAM_BASE + 0x3000))
    expect(m.cpu.getX(4)).toBe(0xff00_0000_0000_0800n | BigInt(unmapped))
  })

  test('self-modifying code: a store over the next instruction runs the new one', () => {
    // Overwrite `mov x0, #1` with `mov x0, #2` (0xd2800040) just before it executes.
    const m = setup({ 1: BigInt(CODE + 8), 2: 0xd280_0040n })
    runSnippet(m, asm`str w2, [x1]; nop; mov x0, #1`)
    expect(m.cpu.getX(0)).toBe(2n)
  })

  test('a write through PhysicalMemory (another agent) drops decoded code', () => {
    const m = setup()
    runSnippet(m, asm`mov x0, #1`)
    expect(m.cpu.getX(0)).toBe(1n)
    m.memory.write32(CODE, 0xd280_0060) // mov x0, #3
    m.cpu.pc = BigInt(CODE)
    m.cpu.run(1)
    expect(m.cpu.getX(0)).toBe(3n)
  })
})

describe('exits to the hypervisor', () => {
  test('MMIO load: ISV syndrome; after the hypervisor writes the register and moves PC the guest goes on', () => {
    const m = setup({ 0: BigInt(UART) })
    const exit = runSnippet(m, asm`ldrsh x3, [x0, #4]; mov x9, #1`)
    expect(exit.kind).toBe('data-abort')
    if (exit.kind !== 'data-abort') return
    expect(abortSyndrome(exit)).toMatchObject({ isv: true, isWrite: false, size: 2, srt: 3, signExtend: true, sixtyFour: true })
    expect(exit.ipa).toBe(UART + 4)
    expect(exit.farLo).toBe(UART + 4)
    // EC 0x24, IL, ISV, SAS=01, SSE, SRT=3, SF, translation fault.
    expect(exit.esr & 0xffff_ffc0).toBe(0x9363_8000 | 0)
    expect((exit.esr & 0x3c) >>> 2).toBe(1)
    expect(exit.hpfar).toBe((UART >>> 12) << 4)
    expect(m.cpu.pc).toBe(BigInt(CODE))
    // The hypervisor completes the load (sign extension per SSE/SF: hypervisor/src/mmio.test.ts).
    emulateMmio(m.cpu, exit, 0xffff_ffff_ffff_8001n)
    expect(m.cpu.getX(3)).toBe(0xffff_ffff_ffff_8001n)
    expect(m.cpu.pc).toBe(BigInt(CODE + 4))
    expect(m.cpu.run(100)).toMatchObject({ kind: 'hvc', imm16: SNIPPET_END })
    expect(m.cpu.getX(9)).toBe(1n)
  })

  test('MMIO store names its data register (the hypervisor reads it); pairs and writeback forms have ISV = 0', () => {
    const m = setup({ 0: BigInt(UART), 2: 0x1234_5678_9abc_def0n })
    const exit = runSnippet(m, asm`strb w2, [x0]`)
    expect(abortSyndrome(exit)).toMatchObject({ isv: true, isWrite: true, size: 1, srt: 2 })
    if (exit.kind === 'data-abort') expect(exit.esr >>> 24).toBe(0x93)
    expect(m.cpu.getX(2)).toBe(0x1234_5678_9abc_def0n) // the stored byte is X2's low byte: 0xf0
    emulateMmio(m.cpu, exit)
    const m2 = setup({ 0: BigInt(UART) })
    const e2 = runSnippet(m2, asm`stp x1, x2, [x0]`)
    expect(abortSyndrome(e2)).toMatchObject({ isv: false, isWrite: true })
    const m3 = setup({ 0: BigInt(UART) })
    expect(abortSyndrome(runSnippet(m3, asm`ldr x1, [x0], #8`))).toMatchObject({ isv: false })
    expect(m3.cpu.getX(0)).toBe(BigInt(UART)) // no writeback: the instruction did not happen
  })

  test('a stage-2 fault is retried after the hypervisor maps the page', () => {
    const m = setup({ 0: 0x5000_0000n })
    const exit = runSnippet(m, asm`ldr x1, [x0]`)
    expect(exit.kind).toBe('data-abort')
    m.memory.write32(RAM_BASE + 0x3_0000, 77)
    m.stage2.map(0x5000_0000, RAM_BASE + 0x3_0000, 0x1000, { read: true, write: true, exec: true, memAttr: 0b1111 })
    expect(m.cpu.run(100)).toMatchObject({ kind: 'hvc', imm16: SNIPPET_END })
    expect(m.cpu.getX(1)).toBe(77n)
  })

  test('HVC exits with imm16 and PC past it; SMC traps with TSC, else UNDEF', () => {
    let m = setup()
    const exit = runSnippet(m, asm`hvc #0x1234`)
    expect(exit).toMatchObject({ kind: 'hvc', imm16: 0x1234, esr: 0x5a00_1234 })
    expect(m.cpu.pc).toBe(BigInt(CODE + 4))
    m = setup()
    m.cpu.setHcrEl2(m.cpu.hcrEl2 | (1n << 19n))
    expect(runSnippet(m, asm`smc #1`)).toMatchObject({ kind: 'smc', imm16: 1, esr: 0x5e00_0001 })
    expect(m.cpu.pc).toBe(BigInt(CODE))
    m = setup()
    expectVector(runSnippet(m, asm`smc #1`), 4)
    expect(sys(m, 'ESR_EL1')).toBe(0x0200_0000n)
  })

  test('HCR_EL2 traps of system registers: TVM, TRVM, TID3; advancePc resumes', () => {
    const m = setup()
    m.cpu.setHcrEl2(m.cpu.hcrEl2 | (1n << 26n) | (1n << 18n))
    const exit = runSnippet(m, asm`msr sctlr_el1, x3; mrs x4, id_aa64pfr0_el1; mrs x5, sctlr_el1`)
    // MSR SCTLR_EL1, X3: op0=3 op1=0 CRn=1 CRm=0 op2=0, Rt=3, write.
    expect(exit).toMatchObject({ kind: 'sysreg-trap', isRead: false, rt: 3, esr: 0x6230_0460 })
    m.cpu.advancePc()
    const e2 = m.cpu.run(10)
    // MRS X4, ID_AA64PFR0_EL1: op0=3 op2=0 op1=0 CRn=0 CRm=4, Rt=4, read.
    expect(e2).toMatchObject({ kind: 'sysreg-trap', isRead: true, rt: 4, esr: 0x6230_0089 })
    m.cpu.setX(4, 0x11n)
    m.cpu.advancePc()
    expect(m.cpu.run(10)).toMatchObject({ kind: 'hvc', imm16: SNIPPET_END })
    expect(m.cpu.getX(4)).toBe(0x11n)
  })

  test('WFI/WFE trap with TWI/TWE, complete at once otherwise', () => {
    let m = setup()
    m.cpu.setHcrEl2(m.cpu.hcrEl2 | (1n << 13n))
    expect(runSnippet(m, asm`wfi`)).toMatchObject({ kind: 'wfx', isWfe: false, esr: 0x0600_0000 })
    m = setup()
    expect(runSnippet(m, asm`wfi; wfe`)).toMatchObject({ kind: 'hvc', imm16: SNIPPET_END })
  })

  test('FP/SIMD: CPACR_EL1.FPEN traps with EC 0x07, CPTR_EL2.TFP exits, else it runs', () => {
    let m = setup({ 1: 5n })
    expectVector(runSnippet(m, asm`fmov d0, x1`), 4)
    expect(sys(m, 'ESR_EL1')).toBe(0x1fe0_0000n) // EC 0x07, IL, CV=1, COND=0xE
    m = setup()
    m.cpu.setSysreg('CPACR_EL1', 3n << 20n)
    m.cpu.setCptrEl2(1 << 10)
    expect(runSnippet(m, asm`fmov d0, x1`)).toMatchObject({ kind: 'fp-trap', esr: 0x1fe0_0000 })
    m = setup({ 1: 5n })
    m.cpu.setSysreg('CPACR_EL1', 3n << 20n)
    expect(runSnippet(m, asm`fmov d0, x1`)).toMatchObject({ kind: 'hvc', imm16: SNIPPET_END })
    expect(m.cpu.getV(0)).toBe(5n)
  })
})

describe('system registers', () => {
  test('EL0: EL1 registers UNDEF, CTR_EL0 traps to EL1 unless SCTLR_EL1.UCT, TPIDR_EL0 is fine', () => {
    const m = setup()
    m.cpu.setSysreg('SPSR_EL1', 0n)
    m.cpu.setSysreg('ELR_EL1', BigInt(CODE + 4))
    expectVector(runSnippet(m, asm`eret; msr tpidr_el0, x1; mrs x2, tpidr_el0; mrs x3, ctr_el0`), 8)
    expect(sys(m, 'ESR_EL1')).toBe(0x6232_c061n) // EC 0x18: op0=3 op2=1 op1=3 CRn=0 Rt=3 CRm=0, read
    const m2 = setup()
    m2.cpu.setSysreg('SPSR_EL1', 0n)
    m2.cpu.setSysreg('ELR_EL1', BigInt(CODE + 4))
    expectVector(runSnippet(m2, asm`eret; mrs x1, sctlr_el1`), 8)
    expect(sys(m2, 'ESR_EL1')).toBe(0x0200_0000n)
  })

  test('ID registers say what is implemented; the hypervisor can override them', () => {
    const m = setup()
    runSnippet(m, asm`mrs x0, id_aa64pfr0_el1; mrs x1, id_aa64isar0_el1; mrs x2, dczid_el0; mrs x3, midr_el1; mrs x4, id_aa64pfr1_el1; mrs x5, currentel`)
    expect((m.cpu.getX(0) >> 16n) & 0xffn).toBe(0x11n) // FP and AdvSIMD with half precision
    expect((m.cpu.getX(1) >> 16n) & 0xffn).toBe(0x21n) // CRC32, LSE atomics
    expect(m.cpu.getX(2)).toBe(4n)
    expect(m.cpu.getX(3)).toBe(0xf0510n)
    expect((m.cpu.getX(4) >> 8n) & 0xfn).toBe(0n) // no MTE until tag checks execute
    expect(m.cpu.getX(5)).toBe(4n)
    m.cpu.setSysreg('ID_AA64PFR1_EL1', 0x300n)
    expect(sys(m, 'ID_AA64PFR1_EL1')).toBe(0x300n)
  })

  test('PSTATE registers, DAIFSet/Clr, SPSel, TCO saved in SPSR bit 25 once MTE is advertised', () => {
    const m = setup()
    m.cpu.setSysreg('ID_AA64PFR1_EL1', 0x310n)
    runSnippet(m, asm`msr daifclr, #0xf; mrs x0, daif; msr daifset, #2; mrs x1, daif; msr tco, #1; mrs x2, tco; msr tco, #0; msr spsel, #0; mrs x3, spsel; msr spsel, #1; svc #0`)
    expect(m.cpu.getX(0)).toBe(0n)
    expect(m.cpu.getX(1)).toBe(0x80n)
    expect(m.cpu.getX(2)).toBe(1n << 25n)
    expect(m.cpu.getX(3)).toBe(0n)
    // SVC with TCO = 0: SPSR[25] = 0 and PSTATE.TCO = 1 on entry.
    expect(sys(m, 'SPSR_EL1') & (1n << 25n)).toBe(0n)
    expect((m.cpu.pstate >>> 25) & 1).toBe(1)
  })

  test('CNTVCT_EL0 counts retired instructions minus CNTVOFF; CNTFRQ_EL0 is 1 GHz', () => {
    const m = setup()
    m.cpu.setCntvoff(10)
    runSnippet(m, asm`nop; nop; mrs x0, cntvct_el0; mrs x1, cntfrq_el0; mrs x2, cntpct_el0`)
    expect(m.cpu.getX(1)).toBe(1_000_000_000n)
    expect((m.cpu.getX(2) - m.cpu.getX(0)) & 0xffff_ffff_ffff_ffffn).toBe(12n) // 10 + 2 instructions later
  })
})

describe('virtual interrupts', () => {
  test('HCR_EL2.VI with IMO is taken once PSTATE.I is clear: vector +0x280, ELR = next, ESR untouched', () => {
    const m = setup()
    m.cpu.setSysreg('ESR_EL1', 0x1234n)
    m.cpu.setHcrEl2(m.cpu.hcrEl2 | (1n << 7n) | (1n << 4n))
    const exit = runSnippet(m, asm`mov x0, #1; msr daifclr, #2; mov x1, #1`)
    expectVector(exit, 5) // current EL with SP_ELx, IRQ
    expect(m.cpu.getX(0)).toBe(1n)
    expect(m.cpu.getX(1)).toBe(0n)
    expect(sys(m, 'ELR_EL1')).toBe(BigInt(CODE + 8))
    expect(sys(m, 'ESR_EL1')).toBe(0x1234n)
    expect((Number(sys(m, 'SPSR_EL1')) >>> 6) & 0xf).toBe(0xd) // I was clear when taken
    expect((m.cpu.pstate >>> 6) & 0xf).toBe(0xf)
  })

  test('a masked or unrouted virtual IRQ is not taken', () => {
    let m = setup()
    m.cpu.setHcrEl2(m.cpu.hcrEl2 | (1n << 7n) | (1n << 4n))
    expect(runSnippet(m, asm`nop; nop`)).toMatchObject({ kind: 'hvc', imm16: SNIPPET_END })
    m = setup()
    m.cpu.setHcrEl2(m.cpu.hcrEl2 | (1n << 7n)) // VI without IMO
    expect(runSnippet(m, asm`msr daifclr, #2; nop`)).toMatchObject({ kind: 'hvc', imm16: SNIPPET_END })
  })
})

test('a stage-2 instruction abort exits without counting a retired instruction', () => {
  const m = setup()
  m.cpu.pc = 0x5000_0000n // not mapped at stage 2
  const before = m.cpu.retired
  const exit = m.cpu.run(10)
  expect(exit).toMatchObject({ kind: 'instruction-abort', ipa: 0x5000_0000, farLo: 0x5000_0000 })
  if (exit.kind === 'instruction-abort') expect(exit.esr >>> 26).toBe(0x20)
  expect(m.cpu.retired).toBe(before)
})
