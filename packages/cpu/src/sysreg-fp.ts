// What the FPCR and FPSR rows of sysreg-table.ts do beyond being stored registers: the FP
// access check (MRS/MSR of them trap as FP instructions do) and the bits a write keeps.

import type { Cpu } from './cpu.js'
import { FPCR_WRITABLE, FPSR_WRITABLE } from './fp-regs.js'
import type { SysRegDesc } from './sysreg-table.js'

/** CPACR_EL1.FPEN / CPTR_EL2.TFP: an access while FP is disabled takes the FP trap. */
function fpCheck(cpu: Cpu): void {
  if (!cpu.fpEnabled()) cpu.fpInstruction()
}

/** A row's rules: FP access check, EL0 access, a write keeps `writable` bits of `field`. */
function control(field: 'fpcr' | 'fpsr', writable: number): Omit<SysRegDesc, 'name' | 'key'> {
  return {
    el0: 'rw',
    check: fpCheck,
    write: (cpu, lo) => {
      cpu.fpRegs.status[field] = lo & writable
      return true
    },
  }
}

/** The FPCR row's rules (the row itself stays in the stored-register list, which fixes its slot). */
export const FPCR_RULES = control('fpcr', FPCR_WRITABLE)
/** The FPSR row's rules. */
export const FPSR_RULES = control('fpsr', FPSR_WRITABLE)
