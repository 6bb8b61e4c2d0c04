// Exception generation, hints, barriers, PSTATE and system register instructions, and
// the SYS operations (DC, IC, AT, TLBI).

import {
  TLBI_ASIDE1, TLBI_VAAE1, TLBI_VAALE1, TLBI_VAE1, TLBI_VALE1, TLBI_VMALLE1,
} from '@tagvm/mmu'
import {
  ACC_CM, DC_CISW, DC_CIVAC, DC_CSW, DC_CVAC, DC_CVAU, DC_ISW, DC_IVAC, DC_ZVA, IC_IALLU, IC_IALLUIS, IC_IVAU, type Cpu,
} from './cpu.js'
import type { Fields, Handler } from './exec.js'
import { ACCESS_READ, ACCESS_WRITE } from '@tagvm/mmu'
import { compileMteSys } from './exec-mte.js'
import { PS } from './state.js'
import { SLOT } from './sysregs.js'

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
const undef: Builder = (cpu) => () => cpu.undefined()
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
  cpu.clearExclusive()
  return 0
}

const msrImmediate: Builder = (cpu, f) => {
  const op1 = f.op1!
  const op2 = f.op2!
  const crm = f.crm!
  return () => {
    if (!cpu.msrImmediate(op1, op2, crm)) cpu.undefined()
    return 0
  }
}

const mrs: Builder = (cpu, f) => {
  const key = 0x8000 | f.sysreg!
  const rt = f.rt!
  const x = cpu.x
  const t = rt === 31 ? 2 * 33 : 2 * rt
  return () => {
    cpu.checkSysAccess(key, rt, true)
    if (!cpu.readSysreg(key)) cpu.undefined()
    x[t] = cpu.sysLo
    x[t + 1] = cpu.sysHi
    return 0
  }
}

const msrRegister: Builder = (cpu, f) => {
  const key = 0x8000 | f.sysreg!
  const rt = f.rt!
  const x = cpu.x
  return () => {
    cpu.checkSysAccess(key, rt, false)
    if (!cpu.writeSysreg(key, x[2 * rt]! >>> 0, x[2 * rt + 1]! >>> 0)) cpu.undefined()
    return 0
  }
}

/** TLBI op2 (CRm = 3 inner-shareable or 7) → MMU operation. */
const TLBI_BY_OP2: Record<number, number> = {
  0: TLBI_VMALLE1,
  1: TLBI_VAE1,
  2: TLBI_ASIDE1,
  3: TLBI_VAAE1,
  5: TLBI_VALE1,
  7: TLBI_VAALE1,
}

const sys: Builder = (cpu, f) => {
  const op1 = f.op1!
  const crn = f.crn!
  const crm = f.crm!
  const op2 = f.op2!
  const rt = f.rt!
  const key = (1 << 14) | (op1 << 11) | (crn << 7) | (crm << 3) | op2
  const x = cpu.x
  const t = 2 * rt
  const el0Ok = op1 === 3
  const check = (): void => {
    if (!el0Ok && cpu.p[PS.EL] === 0) cpu.undefined()
    cpu.checkSysAccess(key, rt, false)
  }
  // TLBI (EL1 only)
  if (op1 === 0 && crn === 8 && (crm === 3 || crm === 7)) {
    const op = TLBI_BY_OP2[op2]
    if (op === undefined) return undef(cpu, f, 0)
    return () => {
      check()
      cpu.tlbi(op, x[t + 1]! >>> 0, x[t]! >>> 0)
      return 0
    }
  }
  // AT S1E1R/W, S1E0R/W
  if (op1 === 0 && crn === 7 && crm === 8 && op2 <= 3) {
    const el = op2 >= 2 ? 0 : 1
    const isWrite = (op2 & 1) === 1
    return () => {
      check()
      cpu.addressTranslate(x[t + 1]! >>> 0, x[t]! >>> 0, el, isWrite)
      return 0
    }
  }
  switch (key) {
    case DC_ZVA:
      return () => {
        check()
        dcZva(cpu, x[t + 1]! >>> 0, x[t]! >>> 0)
        return 0
      }
    case DC_IVAC:
    case DC_CVAC:
    case DC_CVAU:
    case DC_CIVAC: {
      // No caches: the operation only has to translate (and may fault, reporting CM).
      const access = key === DC_IVAC ? ACCESS_WRITE : ACCESS_READ
      return () => {
        check()
        cpu.translateData(x[t + 1]! >>> 0, x[t]! >>> 0, access, ACC_CM, 0)
        return 0
      }
    }
    case DC_ISW:
    case DC_CSW:
    case DC_CISW:
    case IC_IALLU:
    case IC_IALLUIS:
    case IC_IVAU:
      // Decoded code is dropped on every write, so instruction cache maintenance has
      // nothing left to do.
      return () => {
        check()
        return 0
      }
    default:
      return compileMteSys(cpu, key, rt) ?? undef(cpu, f, 0)
  }
}

/** DC ZVA: zero the DCZID_EL0-sized block (64 bytes) containing the address. */
function dcZva(cpu: Cpu, hi: number, lo: number): void {
  const bs = 4 << (cpu.sys[2 * SLOT.DCZID_EL0]! & 0xf)
  const base = (lo & ~(bs - 1)) >>> 0
  // The whole block lies in one page; translation and permission are checked once.
  const s = cpu.translateData(hi, base, ACCESS_WRITE, ACC_CM, bs)
  cpu.tagCheckSlow(hi, base, bs, 0, true, s, true) // MTE: DC ZVA is a checked store of the block
  const v = cpu.hostView(s)
  const o = cpu.hostBase(s) + (base & 0xfff)
  for (let i = 0; i < bs; i += 4) v.setUint32(o + i, 0)
  cpu.noteHostWrite(s)
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
