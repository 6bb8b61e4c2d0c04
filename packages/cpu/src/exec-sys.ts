// Exception generation, hints, barriers, PSTATE and system register instructions, and
// the SYS operations (DC, IC, AT, TLBI).

import type { Cpu } from './cpu.js'
import type { Fields, Handler } from './exec.js'
import { msrImmediate as writePstateField } from './pstate.js'
import { REG_DISCARD } from './state.js'
import { checkAccess, guestRead, guestWrite } from './sysreg-access.js'
import { sysregKey } from './sysreg-encoding.js'

type Builder = (cpu: Cpu, d: Fields, word: number) => Handler

const svc: Builder = (cpu, f) => {
  const imm = f.imm16!
  return () => cpu.svc(imm)
}
const hvc: Builder = (cpu, f) => {
  const imm = f.imm16!
  return () => cpu.hvc(imm)
}
const smc: Builder = (cpu, f) => {
  const imm = f.imm16!
  return () => cpu.smc(imm)
}
const brk: Builder = (cpu, f) => {
  const imm = f.imm16!
  return () => cpu.brk(imm)
}
const nop: Builder = () => () => 0

const hint: Builder = (cpu, f) => {
  switch (f.imm) {
    case 2:
      return () => {
        cpu.wfx(true)
        return 0
      }
    case 3:
      return () => {
        cpu.wfx(false)
        return 0
      }
    default:
      // NOP, YIELD, SEV(L), and the PAuth/BTI/ESB/CSDB hints: NOPs here (ID registers
      // report no PAuth and no BTI, so executing them as NOPs is what the guest expects).
      return () => 0
  }
}

const clrex: Builder = (cpu) => () => {
  cpu.data.clearExclusive()
  return 0
}

const msrImmediate: Builder = (cpu, f) => {
  const op1 = f.op1!
  const op2 = f.op2!
  const crm = f.crm!
  return () => {
    if (!writePstateField(cpu, op1, op2, crm)) cpu.undefined()
    return 0
  }
}

// MRS, MSR and SYS find their descriptor row once, here; every execution then runs the
// row's access checks (EL0 rules, traps) and its read or write.

const mrs: Builder = (cpu, f) => {
  const key = 0x8000 | f.sysreg!
  const rt = f.rt!
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

const msrRegister: Builder = (cpu, f) => {
  const key = 0x8000 | f.sysreg!
  const rt = f.rt!
  const row = cpu.sysregs.get(key)
  const x = cpu.x
  return () => {
    guestWrite(cpu, checkAccess(cpu, row, key, rt, false), x[2 * rt]! >>> 0, x[2 * rt + 1]! >>> 0)
    return 0
  }
}

const sys: Builder = (cpu, f) => {
  const key = sysregKey(1, f.op1!, f.crn!, f.crm!, f.op2!)
  const rt = f.rt!
  const row = cpu.sysregs.get(key)
  const x = cpu.x
  return () => {
    guestWrite(cpu, checkAccess(cpu, row, key, rt, false), x[2 * rt]! >>> 0, x[2 * rt + 1]! >>> 0)
    return 0
  }
}

const barrier: Builder = nop

const SYSTEM: Record<string, Builder> = {
  SVC: svc,
  HVC: hvc,
  SMC: smc,
  BRK: brk,
  HINT: hint,
  // Architected hints: WFE/WFI may trap; the rest (PAuth/BTI hints included, since the ID
  // registers report neither PAuth nor BTI) execute as NOPs.
  WFE: (cpu) => () => {
    cpu.wfx(true)
    return 0
  },
  WFI: (cpu) => () => {
    cpu.wfx(false)
    return 0
  },
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
  CLREX: clrex,
  DSB: barrier,
  DMB: barrier,
  ISB: barrier,
  MSR_i: msrImmediate,
  MRS: mrs,
  MSR_r: msrRegister,
  SYS: sys,
}

export function compileSystem(name: string): Builder | undefined {
  return SYSTEM[name]
}
