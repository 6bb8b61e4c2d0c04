// Exceptions and exits. A guest exception to EL1 is taken here (ESR, FAR, ELR, SPSR, the
// vector, DAIF, PAN, UAO, TCO, SSBS) and the instruction unwinds by throwing TRAP, which
// only the run loop catches. Whatever belongs to EL2 fills one of the CPU's reusable exit
// records and unwinds the same way; the run loop then returns that record.

import type { TranslationResult } from '@tagvm/mmu'
import { ACC_ISS_MASK, ACC_ISV, CPTR_TFP, HCR, ISS_WNR, SCTLR, SCTLR_HI_DSSBS_SHIFT } from './constants.js'
import type { Cpu } from './cpu.js'
import type { CpuExit } from './exits.js'
import { loadSp, restorePstate, saveSp } from './pstate.js'
import { PS, packSpsr } from './state.js'
import { sysIss } from './sysreg-encoding.js'
import { SLOT } from './sysreg-table.js'
import { ExceptionClass as EC, syndrome } from './syndrome.js'

/** Thrown (never escapes `run`) to unwind an instruction that took an exception or exited. */
class Trap {}
export const TRAP = new Trap()

export function setFar(cpu: Cpu, hi: number, lo: number): void {
  cpu.sys[2 * SLOT.FAR_EL1] = lo
  cpu.sys[2 * SLOT.FAR_EL1 + 1] = hi
}

/** An instruction inside a block did not fall through: give back the budget of the rest. */
function leaveBlock(cpu: Cpu): void {
  if (cpu.blockEnd !== 0) {
    cpu.left += (cpu.blockEnd - cpu.pcLo - 4) / 4
    cpu.blockEnd = 0
  }
}

/**
 * Exception entry to EL1h (or EL1 with the current SP): `esr` (left alone for interrupts,
 * offset != 0), return address, vector VBAR_EL1 + {0, 0x200, 0x400} + offset.
 */
export function enterEl1(cpu: Cpu, esr: number, retLo: number, retHi: number, offset: number): void {
  leaveBlock(cpu)
  const p = cpu.p
  const sys = cpu.sys
  const spsr = packSpsr(p)
  const fromEl = p[PS.EL]!
  const vector = fromEl === 0 ? 0x400 : p[PS.SPSEL] !== 0 ? 0x200 : 0
  if (offset === 0) {
    sys[2 * SLOT.ESR_EL1] = esr
    sys[2 * SLOT.ESR_EL1 + 1] = 0
  }
  sys[2 * SLOT.SPSR_EL1] = spsr
  sys[2 * SLOT.SPSR_EL1 + 1] = 0
  sys[2 * SLOT.ELR_EL1] = retLo
  sys[2 * SLOT.ELR_EL1 + 1] = retHi
  saveSp(cpu)
  p[PS.EL] = 1
  p[PS.SPSEL] = 1
  loadSp(cpu)
  p[PS.DAIF] = 0xf
  const sctlrLo = sys[2 * SLOT.SCTLR_EL1]!
  const sctlrHi = sys[2 * SLOT.SCTLR_EL1 + 1]!
  if ((sctlrLo & SCTLR.SPAN) === 0) p[PS.PAN] = 1
  p[PS.UAO] = 0
  if (cpu.mteLevel() !== 0) p[PS.TCO] = 1
  p[PS.SSBS] = (sctlrHi >>> SCTLR_HI_DSSBS_SHIFT) & 1
  p[PS.IL] = 0
  p[PS.SS] = 0
  p[PS.BTYPE] = 0
  const vbarLo = sys[2 * SLOT.VBAR_EL1]! & ~0x7ff
  cpu.pcLo = ((vbarLo >>> 0) + vector + offset) >>> 0
  cpu.pcHi = sys[2 * SLOT.VBAR_EL1 + 1]! >>> 0
  cpu.data.clearExclusive()
  cpu.modeChanged()
}

/** Takes a synchronous exception to EL1 with return address retLo/retHi, and unwinds. */
export function takeException(cpu: Cpu, ec: number, iss: number, retLo: number, retHi: number): never {
  enterEl1(cpu, syndrome(ec, true, iss), retLo, retHi, 0)
  throw TRAP
}

/** ERET from EL1: PSTATE from SPSR_EL1 (an illegal mode sets PSTATE.IL), PC from ELR_EL1. */
export function exceptionReturn(cpu: Cpu): void {
  const sys = cpu.sys
  const spsr = sys[2 * SLOT.SPSR_EL1]! >>> 0
  const m = spsr & 0x1f
  saveSp(cpu)
  restorePstate(cpu, spsr, m === 0 || m === 4 || m === 5)
  loadSp(cpu)
  cpu.pcLo = sys[2 * SLOT.ELR_EL1]! >>> 0
  cpu.pcHi = sys[2 * SLOT.ELR_EL1 + 1]! >>> 0
  cpu.data.clearExclusive()
  cpu.modeChanged()
}

/**
 * Takes a pending IRQ or FIQ if PSTATE lets it in: the interrupt controller's lines
 * (cpu.irqLines) or HCR_EL2.VI/VF routed by IMO/FMO. IRQ goes first. ELR = the instruction
 * not yet executed; ESR is left alone; vector +0x80 / +0x100 from the current-EL/SP offset.
 */
export function takeVirtualInterrupt(cpu: Cpu): void {
  const pending = cpu.pendingInterrupts()
  const daif = cpu.p[PS.DAIF]!
  let offset = 0
  if ((pending & 2) !== 0 && (daif & 2) === 0) offset = 0x80
  else if ((pending & 1) !== 0 && (daif & 1) === 0) offset = 0x100
  if (offset !== 0) enterEl1(cpu, 0, cpu.pcLo, cpu.pcHi, offset)
}

/** Ends the run with `exit`; the instruction did not complete and does not count as retired. */
export function exitTo(cpu: Cpu, exit: CpuExit): never {
  leaveBlock(cpu)
  cpu.pendingExit = exit
  cpu.left++
  throw TRAP
}

/**
 * A stage-2 data abort (EC 0x24) as the exit record: ESR_EL2 (with the access's ISV
 * syndrome unless the fault was on a stage-1 table walk), FAR, HPFAR, the IPA.
 */
export function stage2DataAbort(
  cpu: Cpu, tr: TranslationResult, hi: number, lo: number, isWrite: boolean, info: number, cm: number,
): never {
  const x = cpu.exits.dataAbort
  let iss = tr.fsc | (tr.s1ptw ? 1 << 7 : 0) | cm
  if (isWrite && !tr.s1ptw) iss |= ISS_WNR
  if ((info & ACC_ISV) !== 0 && !tr.s1ptw) iss |= info & ACC_ISS_MASK
  x.esr = syndrome(EC.DABT_LOWER, true, iss)
  x.farHi = hi
  x.farLo = lo
  x.hpfar = tr.hpfar
  x.ipa = tr.faultIpa
  return exitTo(cpu, x)
}

/** A stage-2 fault on an instruction fetch (EC 0x20) as the exit record. */
export function stage2InstructionAbort(cpu: Cpu, tr: TranslationResult, hi: number, lo: number): never {
  const x = cpu.exits.instructionAbort
  x.esr = syndrome(EC.IABT_LOWER, true, tr.iss & ~ISS_WNR)
  x.farHi = hi
  x.farLo = lo
  x.hpfar = tr.hpfar
  x.ipa = tr.faultIpa
  return exitTo(cpu, x)
}

/** MSR/MRS/SYS trapped to EL2 (EC 0x18). */
export function trapSysToEl2(cpu: Cpu, key: number, rt: number, isRead: boolean): never {
  const x = cpu.exits.sysregTrap
  x.esr = syndrome(EC.SYS64, true, sysIss(key, rt, isRead))
  x.key = key
  x.rt = rt
  x.isRead = isRead
  return exitTo(cpu, x)
}

// ---- exception-generating and trapping instructions ----

export function hvc(cpu: Cpu, imm16: number): never {
  if (cpu.p[PS.EL] === 0 || (cpu.hcrLo & HCR.HCD) !== 0) return cpu.undefined()
  const x = cpu.exits.hvc
  x.esr = syndrome(EC.HVC64, true, imm16)
  x.imm16 = imm16
  // HVC completes: the preferred return address is the next instruction.
  leaveBlock(cpu)
  const next = (cpu.pcLo + 4) >>> 0
  cpu.pcLo = next
  if (next === 0) cpu.pcHi = (cpu.pcHi + 1) >>> 0
  cpu.pendingExit = x
  throw TRAP
}

export function smc(cpu: Cpu, imm16: number): never {
  if (cpu.p[PS.EL] === 0) return cpu.undefined()
  if ((cpu.hcrLo & HCR.TSC) !== 0) {
    const x = cpu.exits.smc
    x.esr = syndrome(EC.SMC64, true, imm16)
    x.imm16 = imm16
    return exitTo(cpu, x)
  }
  return cpu.undefined() // no EL3
}

/**
 * WFI (isWfe false) or WFE: UNDEFINED-like trap to EL1 from EL0 per SCTLR_EL1.nTWI/nTWE, then
 * the EL2 trap (HCR_EL2.TWI/TWE) when the CPU would wait: a pending interrupt (masked or not)
 * is a wake-up event, so WFI then completes at once. Untrapped, both complete at once.
 */
export function waitFor(cpu: Cpu, isWfe: boolean): void {
  if (cpu.p[PS.EL] === 0) {
    const bit = isWfe ? SCTLR.NTWE : SCTLR.NTWI
    if ((cpu.sys[2 * SLOT.SCTLR_EL1]! & bit) === 0) takeException(cpu, EC.WFX, isWfe ? 1 : 0, cpu.pcLo, cpu.pcHi)
  }
  if (!isWfe && cpu.pendingInterrupts() !== 0) return
  if ((cpu.hcrLo & (isWfe ? HCR.TWE : HCR.TWI)) !== 0) {
    const x = cpu.exits.wfx
    x.esr = syndrome(EC.WFX, true, isWfe ? 1 : 0)
    x.isWfe = isWfe
    exitTo(cpu, x)
  }
}

/** ISS of EC 0x07 from AArch64: CV=1, COND=0b1110 (as the Arm ARM and QEMU report it; ESR 0x1FE00000). */
const FP_ACCESS_ISS = (1 << 24) | (0xe << 20)

/** An FP/SIMD instruction or register access: EC 0x07 if CPACR_EL1.FPEN or CPTR_EL2.TFP traps it, else UNDEF. */
export function fpAccess(cpu: Cpu): never {
  const fpen = (cpu.sys[2 * SLOT.CPACR_EL1]! >>> 20) & 3
  if (fpen === 0 || fpen === 2 || (fpen === 1 && cpu.p[PS.EL] === 0)) return takeException(cpu, EC.FP_ACCESS, FP_ACCESS_ISS, cpu.pcLo, cpu.pcHi)
  if ((cpu.cptr & CPTR_TFP) !== 0) {
    const x = cpu.exits.fpTrap
    x.esr = syndrome(EC.FP_ACCESS, true, FP_ACCESS_ISS)
    return exitTo(cpu, x)
  }
  return cpu.undefined()
}
