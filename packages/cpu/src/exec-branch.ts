// Branches: immediate, conditional, compare and test, to a register, and ERET.

import { splitImm } from './alu.js'
import { TWO32 } from './constants.js'
import type { Cpu } from './cpu.js'
import type { Build, HandlerTable } from './handlers.js'
import { conditionHolds } from './pstate.js'
import { PS } from './state.js'

// ---------------------------------------------------------------------------------------
// Branches

function branchImmediate(link: boolean): Build<'B' | 'BL'> {
  return (cpu, f) => {
    const x = cpu.x
    const [iLo, iHi] = splitImm(f.imm)
    return () => {
      const pcLo = cpu.pcLo
      const pcHi = cpu.pcHi
      if (link) {
        const r = pcLo + 4
        x[60] = r
        x[61] = pcHi + (r >= TWO32 ? 1 : 0)
      }
      const lo = pcLo + iLo
      cpu.pcLo = lo >>> 0
      cpu.pcHi = (pcHi + iHi + (lo >= TWO32 ? 1 : 0)) >>> 0
      return 1
    }
  }
}

function jump(cpu: Cpu, iLo: number, iHi: number): number {
  const lo = cpu.pcLo + iLo
  cpu.pcLo = lo >>> 0
  cpu.pcHi = (cpu.pcHi + iHi + (lo >= TWO32 ? 1 : 0)) >>> 0
  return 1
}

const branchConditional: Build<'B_cond'> = (cpu, f) => {
  const p = cpu.p
  const [iLo, iHi] = splitImm(f.imm)
  const cond = f.cond
  // One closure literal per common condition, so each stays monomorphic for the JIT.
  switch (cond) {
    case 0:
      return () => (p[PS.Z] !== 0 ? jump(cpu, iLo, iHi) : 0)
    case 1:
      return () => (p[PS.Z] === 0 ? jump(cpu, iLo, iHi) : 0)
    case 2:
      return () => (p[PS.C] !== 0 ? jump(cpu, iLo, iHi) : 0)
    case 3:
      return () => (p[PS.C] === 0 ? jump(cpu, iLo, iHi) : 0)
    case 10:
      return () => (p[PS.N] === p[PS.V] ? jump(cpu, iLo, iHi) : 0)
    case 11:
      return () => (p[PS.N] !== p[PS.V] ? jump(cpu, iLo, iHi) : 0)
    case 12:
      return () => (p[PS.Z] === 0 && p[PS.N] === p[PS.V] ? jump(cpu, iLo, iHi) : 0)
    case 13:
      return () => (p[PS.Z] !== 0 || p[PS.N] !== p[PS.V] ? jump(cpu, iLo, iHi) : 0)
    default:
      return () => (conditionHolds(p, cond) ? jump(cpu, iLo, iHi) : 0)
  }
}

function compareBranch(nonZero: boolean): Build<'CBZ' | 'CBNZ'> {
  return (cpu, f) => {
    const x = cpu.x
    const t = 2 * f.rt
    const sf = f.sf
    const [iLo, iHi] = splitImm(f.imm)
    return () => {
      const zero = sf ? (x[t]! | x[t + 1]!) === 0 : x[t] === 0
      return zero !== nonZero ? jump(cpu, iLo, iHi) : 0
    }
  }
}

function testBranch(nonZero: boolean): Build<'TBZ' | 'TBNZ'> {
  return (cpu, f) => {
    const x = cpu.x
    const bit = f.bit
    const t = 2 * f.rt + (bit >= 32 ? 1 : 0)
    const mask = 1 << (bit & 31)
    const [iLo, iHi] = splitImm(f.imm)
    return () => (((x[t]! & mask) !== 0) === nonZero ? jump(cpu, iLo, iHi) : 0)
  }
}

function branchRegister(link: boolean): Build<'BR' | 'BLR' | 'RET'> {
  return (cpu, f) => {
    const x = cpu.x
    const n = 2 * f.rn
    return () => {
      const lo = x[n]! >>> 0
      const hi = x[n + 1]! >>> 0
      if (link) {
        const r = cpu.pcLo + 4
        x[60] = r
        x[61] = cpu.pcHi + (r >= TWO32 ? 1 : 0)
      }
      cpu.pcLo = lo
      cpu.pcHi = hi
      return 1
    }
  }
}

const eret: Build<'ERET'> = (cpu) => () => {
  if (cpu.p[PS.EL] === 0) cpu.undefined()
  cpu.eret()
  return 1
}

export const branches: HandlerTable = {
  B: branchImmediate(false),
  BL: branchImmediate(true),
  B_cond: branchConditional,
  CBZ: compareBranch(false),
  CBNZ: compareBranch(true),
  TBZ: testBranch(false),
  TBNZ: testBranch(true),
  BR: branchRegister(false),
  BLR: branchRegister(true),
  RET: branchRegister(false),
  ERET: eret,
}
