// Exit records: what ends `run()`. One object per kind is made when the CPU is built and
// reused for every exit of that kind, so running allocates nothing. Read an exit before
// the next `run()`/`step()` call: its fields are overwritten then.

import { storeAsDoubles } from './field-shapes.js'
import type { DebugExit } from './debug.js'

/** `run(budget)` spent its budget of instructions. */
export interface BudgetExit {
  readonly kind: 'budget'
}

/**
 * A data access that stage 2 did not allow: a stage-2 translation, access-flag or
 * permission fault (ESR_EL2 EC 0x24), including one on a stage-1 table read (ISS.S1PTW).
 * The syndrome is everything the hypervisor gets, as on hardware: with ISS.ISV set it
 * describes a single-register access (SAS, SSE, SRT, SF, WnR) the hypervisor can emulate
 * as MMIO -- it then writes Xt for a load (setXHalves) and moves PC on (advancePc).
 * Otherwise it fixes stage 2 and calls `run()` again: the instruction is retried.
 */
export interface DataAbortExit {
  readonly kind: 'data-abort'
  /** ESR_EL2 value. */
  esr: number
  /** FAR_EL2 halves: the faulting virtual address. */
  farHi: number
  farLo: number
  /** HPFAR_EL2 value (faulting IPA bits 47:12 in bits 43:4). */
  hpfar: number
  /** The faulting IPA: the page from HPFAR plus FAR's low 12 bits. */
  ipa: number
}

/** Stage-2 fault on an instruction fetch (ESR_EL2 EC 0x20). Fix stage 2 and resume. */
export interface InstructionAbortExit {
  readonly kind: 'instruction-abort'
  esr: number
  farHi: number
  farLo: number
  hpfar: number
  ipa: number
}

/** HVC from EL1 (EC 0x16). PC already points after the HVC; X0–X17 carry arguments. */
export interface HvcExit {
  readonly kind: 'hvc'
  esr: number
  imm16: number
}

/**
 * SMC trapped by HCR_EL2.TSC (EC 0x17). PC still points at the SMC: advance it with
 * `advancePc()` after emulating it, or inject UNDEF.
 */
export interface SmcExit {
  readonly kind: 'smc'
  esr: number
  imm16: number
}

/**
 * MSR/MRS/SYS trapped to EL2 (EC 0x18). PC points at the instruction. For a read,
 * write the result with `setX(rt, value)` and then `advancePc()`.
 */
export interface SysregTrapExit {
  readonly kind: 'sysreg-trap'
  esr: number
  /** The 16-bit op0:op1:CRn:CRm:op2 key. */
  key: number
  rt: number
  isRead: boolean
}

/** WFI/WFE trapped by HCR_EL2.TWI/TWE (EC 0x01). PC points at it; `advancePc()` to go on. */
export interface WfxExit {
  readonly kind: 'wfx'
  esr: number
  isWfe: boolean
}

/** FP/SIMD access trapped by CPTR_EL2.TFP (EC 0x07). */
export interface FpTrapExit {
  readonly kind: 'fp-trap'
  esr: number
}

export type CpuExit =
  | BudgetExit
  | DebugExit
  | DataAbortExit
  | InstructionAbortExit
  | HvcExit
  | SmcExit
  | SysregTrapExit
  | WfxExit
  | FpTrapExit

export type CpuExitKind = CpuExit['kind']

/** The reusable exit objects of one CPU. */
export class ExitRecords {
  readonly budget: BudgetExit = { kind: 'budget' }
  readonly dataAbort: DataAbortExit = { kind: 'data-abort', esr: 0, farHi: 0, farLo: 0, hpfar: 0, ipa: 0 }
  readonly instructionAbort: InstructionAbortExit = { kind: 'instruction-abort', esr: 0, farHi: 0, farLo: 0, hpfar: 0, ipa: 0 }
  readonly hvc: HvcExit = { kind: 'hvc', esr: 0, imm16: 0 }
  readonly smc: SmcExit = { kind: 'smc', esr: 0, imm16: 0 }
  readonly sysregTrap: SysregTrapExit = { kind: 'sysreg-trap', esr: 0, key: 0, rt: 0, isRead: false }
  readonly wfx: WfxExit = { kind: 'wfx', esr: 0, isWfe: false }
  readonly fpTrap: FpTrapExit = { kind: 'fp-trap', esr: 0 }

  constructor() {
    // Abort syndromes (EC 0x20-0x25) and addresses are 2^31 and up (field-shapes.ts).
    storeAsDoubles(this.dataAbort, ['esr', 'farHi', 'farLo', 'ipa'])
    storeAsDoubles(this.instructionAbort, ['esr', 'farHi', 'farLo', 'ipa'])
  }
}
