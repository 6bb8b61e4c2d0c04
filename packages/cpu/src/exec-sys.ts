// System-class instructions: exception generation, hints, barriers, CLREX, the PSTATE
// writes (MSR immediate), and MRS / MSR / SYS, which run their system register or system
// instruction row (sysreg-table.ts, sysop-table.ts).

import type { Cpu } from './cpu.js'
import type { Build, Handler, HandlerTable } from './handlers.js'
import { msrImmediate as writePstateField } from './pstate.js'
import { REG_DISCARD } from './state.js'
import { checkAccess, guestRead, guestWrite } from './sysreg-access.js'
import { sysregKey } from './sysreg-encoding.js'

const nop = (): Handler => () => 0

const waitFor =
  (isWfe: boolean) =>
  (cpu: Cpu): Handler =>
  () => {
    cpu.wfx(isWfe)
    return 0
  }

const msrImmediate: Build<'MSR_i'> = (cpu, { op1, op2, crm }) => {
  return () => {
    if (!writePstateField(cpu, op1, op2, crm)) cpu.undefined()
    return 0
  }
}

// MRS, MSR and SYS find their descriptor row once, here; every execution then runs the
// row's access checks (EL0 rules, traps) and its read or write.

const mrs: Build<'MRS'> = (cpu, { sysreg, rt }) => {
  const key = 0x8000 | sysreg
  const row = cpu.sysregs.get(key)
  const x = cpu.x
  const t = 2 * (rt === 31 ? REG_DISCARD : rt)
  return () => {
    guestRead(cpu, checkAccess(cpu, row, key, rt, true))
    x[t] = cpu.sysLo
    x[t + 1] = cpu.sysHi
    return 0
  }
}

/** MSR (register) and SYS: the row's write with Xt. */
function writeRow(cpu: Cpu, key: number, rt: number): Handler {
  const row = cpu.sysregs.get(key)
  const x = cpu.x
  return () => {
    guestWrite(cpu, checkAccess(cpu, row, key, rt, false), x[2 * rt]! >>> 0, x[2 * rt + 1]! >>> 0)
    return 0
  }
}

export const systemInstructions: HandlerTable = {
  SVC: (cpu, { imm16 }) => () => cpu.svc(imm16),
  HVC: (cpu, { imm16 }) => () => cpu.hvc(imm16),
  SMC: (cpu, { imm16 }) => () => cpu.smc(imm16),
  BRK: (cpu, { imm16 }) => () => cpu.brk(imm16),
  // Architected hints: WFE/WFI may trap; the rest (PAuth/BTI hints included, since the ID
  // registers report neither PAuth nor BTI) execute as NOPs, as do the unnamed HINTs.
  WFE: waitFor(true),
  WFI: waitFor(false),
  HINT: nop,
  NOP: nop,
  YIELD: nop,
  SEV: nop,
  SEVL: nop,
  DGH: nop,
  XPACLRI: nop,
  PAC1716: nop,
  AUT1716: nop,
  ESB: nop,
  PSB_CSYNC: nop,
  TSB_CSYNC: nop,
  CSDB: nop,
  PACSP: nop,
  AUTSP: nop,
  BTI: nop,
  CLREX: (cpu) => () => {
    cpu.data.clearExclusive()
    return 0
  },
  // Accesses complete in program order and there are no caches: barriers order nothing.
  DSB: nop,
  DMB: nop,
  // Context synchronisation: the next instruction is fetched afresh, and entering its page
  // brings the decoded code up to date (IC IVAU by any CPU, VMM writes).
  ISB: (cpu) => () => {
    cpu.refetch()
    return 0
  },
  MSR_i: msrImmediate,
  MRS: mrs,
  MSR_r: (cpu, { sysreg, rt }) => writeRow(cpu, 0x8000 | sysreg, rt),
  SYS: (cpu, { op1, crn, crm, op2, rt }) => writeRow(cpu, sysregKey(1, op1, crn, crm, op2), rt),
}
