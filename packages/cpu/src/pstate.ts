// PSTATE: restoring it from an SPSR, the banked stack pointers, condition codes and the
// MSR (immediate) forms that write single PSTATE fields.

import { alu, R_C, R_N, R_V, R_Z } from './alu.js'
import type { Cpu } from './cpu.js'
import { SCTLR } from './constants.js'
import { PS, REG_SP } from './state.js'
import { msrImmediateKey } from './sysreg-encoding.js'
import { SLOT } from './sysreg-table.js'

/** Restores PSTATE from an SPSR value (ERET, the hypervisor's PSTATE write); `legal` = M is EL0t/EL1t/EL1h. */
export function restorePstate(cpu: Cpu, spsr: number, legal: boolean): void {
  const p = cpu.p
  p[PS.N] = spsr >>> 31
  p[PS.Z] = (spsr >>> 30) & 1
  p[PS.C] = (spsr >>> 29) & 1
  p[PS.V] = (spsr >>> 28) & 1
  if (cpu.mteLevel() !== 0) p[PS.TCO] = (spsr >>> 25) & 1
  p[PS.UAO] = (spsr >>> 23) & 1
  p[PS.PAN] = (spsr >>> 22) & 1
  p[PS.SS] = 0
  p[PS.SSBS] = (spsr >>> 12) & 1
  p[PS.BTYPE] = 0
  p[PS.DAIF] = (spsr >>> 6) & 0xf
  if (legal) {
    p[PS.EL] = (spsr >>> 2) & 3
    p[PS.SPSEL] = spsr & 1
    p[PS.IL] = (spsr >>> 20) & 1
  } else {
    p[PS.IL] = 1
  }
}

/** Index in cpu.spBank of the stack pointer selected now: SP_EL0 (0) or SP_EL1 (2). */
function spBankIndex(cpu: Cpu): number {
  return cpu.p[PS.EL] !== 0 && cpu.p[PS.SPSEL] !== 0 ? 2 : 0
}

/** Copies the current SP (register slot 32) into its bank. */
export function saveSp(cpu: Cpu): void {
  const b = spBankIndex(cpu)
  cpu.spBank[b] = cpu.x[2 * REG_SP]!
  cpu.spBank[b + 1] = cpu.x[2 * REG_SP + 1]!
}

/** Makes the banked SP that EL and SPSel select the current SP. */
export function loadSp(cpu: Cpu): void {
  const b = spBankIndex(cpu)
  cpu.x[2 * REG_SP] = cpu.spBank[b]!
  cpu.x[2 * REG_SP + 1] = cpu.spBank[b + 1]!
}

export function setSpSel(cpu: Cpu, v: number): void {
  saveSp(cpu)
  cpu.p[PS.SPSEL] = v
  loadSp(cpu)
}

/** PSTATE.NZCV from the flags the last alu.ts add left in `alu`. */
export function setNzcvFromAlu(p: Int32Array): void {
  p[PS.N] = alu[R_N]!
  p[PS.Z] = alu[R_Z]!
  p[PS.C] = alu[R_C]!
  p[PS.V] = alu[R_V]!
}

/** Condition codes over PSTATE.NZCV. */
export function conditionHolds(p: Int32Array, cond: number): boolean {
  let r: boolean
  switch (cond >>> 1) {
    case 0:
      r = p[PS.Z] === 1
      break
    case 1:
      r = p[PS.C] === 1
      break
    case 2:
      r = p[PS.N] === 1
      break
    case 3:
      r = p[PS.V] === 1
      break
    case 4:
      r = p[PS.C] === 1 && p[PS.Z] === 0
      break
    case 5:
      r = p[PS.N] === p[PS.V]
      break
    case 6:
      r = p[PS.N] === p[PS.V] && p[PS.Z] === 0
      break
    default:
      return true
  }
  return (cond & 1) !== 0 ? !r : r
}

/** MSR (immediate) to a PSTATE field: SPSel, DAIFSet/Clr, PAN, UAO, SSBS, TCO. False = UNDEFINED. */
export function msrImmediate(cpu: Cpu, op1: number, op2: number, crm: number): boolean {
  const p = cpu.p
  const el = p[PS.EL]!
  if (op1 === 0 && el === 0) return false
  if (op1 === 0 && op2 === 5) setSpSel(cpu, crm & 1)
  else if (op1 === 3 && (op2 === 6 || op2 === 7)) {
    if (el === 0 && (cpu.sys[2 * SLOT.SCTLR_EL1]! & SCTLR.UMA) === 0) cpu.trapSysToEl1(msrImmediateKey(op1, op2), 31, false)
    p[PS.DAIF] = op2 === 6 ? p[PS.DAIF]! | crm : p[PS.DAIF]! & ~crm
    if (op2 === 7) cpu.refetch() // unmasking: let a pending interrupt in
  } else if (op1 === 0 && op2 === 4) {
    p[PS.PAN] = crm & 1
    cpu.modeChanged()
  } else if (op1 === 0 && op2 === 3) p[PS.UAO] = crm & 1
  else if (op1 === 3 && op2 === 1) p[PS.SSBS] = crm & 1
  else if (op1 === 3 && op2 === 4 && cpu.mteLevel() !== 0) {
    p[PS.TCO] = crm & 1
    cpu.mteChanged()
  } else return false
  return true
}
