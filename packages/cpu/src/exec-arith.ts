// Data processing on general registers, part one: add/subtract in every form (immediate,
// shifted, extended, with carry), the logical operations, move wide and ADR/ADRP. Common
// forms get their own small closure so the JIT can inline them into blocks.

import { add32, add64, alu, shift32, shift64, lsl64, splitImm, R_HI, R_LO } from './alu.js'
import { TWO32 } from './constants.js'
import type { Cpu } from './cpu.js'
import type { Build, Handler, HandlerTable } from './handlers.js'
import { setNzcvFromAlu } from './pstate.js'
import { PS, rsp, wsp, wz } from './state.js'

type LogicShifted = 'AND_r' | 'BIC_r' | 'ORR_r' | 'ORN_r' | 'EOR_r' | 'EON_r' | 'ANDS_r' | 'BICS_r'

function setLogicFlags64(p: Int32Array, lo: number, hi: number): void {
  p[PS.N] = hi >>> 31
  p[PS.Z] = (lo | hi) === 0 ? 1 : 0
  p[PS.C] = 0
  p[PS.V] = 0
}

function setLogicFlags32(p: Int32Array, v: number): void {
  p[PS.N] = v >>> 31
  p[PS.Z] = v === 0 ? 1 : 0
  p[PS.C] = 0
  p[PS.V] = 0
}

// ---------------------------------------------------------------------------------------
// Add/subtract

/** ADD/SUB (immediate, shifted register, extended register) with or without flags. */
function addSub(cpu: Cpu, sub: boolean, setf: boolean, sf: number, n: number, d: number, operand: (x: Int32Array) => void): Handler {
  // operand() leaves the second operand in alu[R_LO]/alu[R_HI].
  const x = cpu.x
  const p = cpu.p
  if (sf) {
    return () => {
      operand(x)
      let bLo = alu[R_LO]!
      let bHi = alu[R_HI]!
      if (sub) {
        bLo = ~bLo >>> 0
        bHi = ~bHi >>> 0
      }
      add64(x[n]! >>> 0, x[n + 1]! >>> 0, bLo, bHi, sub ? 1 : 0)
      x[d] = alu[R_LO]!
      x[d + 1] = alu[R_HI]!
      if (setf) setNzcvFromAlu(p)
      return 0
    }
  }
  return () => {
    operand(x)
    const b = sub ? ~alu[R_LO]! >>> 0 : alu[R_LO]!
    add32(x[n]! >>> 0, b, sub ? 1 : 0)
    x[d] = alu[R_LO]!
    x[d + 1] = 0
    if (setf) setNzcvFromAlu(p)
    return 0
  }
}

function addSubImmediate(sub: boolean, setf: boolean): Build<'ADD_i' | 'ADDS_i' | 'SUB_i' | 'SUBS_i'> {
  return (cpu, f) => {
    const x = cpu.x
    const n = 2 * rsp(f.rn)
    const d = 2 * (setf ? wz(f.rd) : wsp(f.rd))
    const imm = f.imm
    if (!setf) {
      // The common case without flags, inline.
      if (f.sf) {
        if (!sub) {
          return () => {
            const lo = (x[n]! >>> 0) + imm
            const hi = x[n + 1]! + (lo >= TWO32 ? 1 : 0)
            x[d] = lo
            x[d + 1] = hi
            return 0
          }
        }
        return () => {
          const lo = (x[n]! >>> 0) - imm
          const hi = x[n + 1]! - (lo < 0 ? 1 : 0)
          x[d] = lo
          x[d + 1] = hi
          return 0
        }
      }
      return sub
        ? () => {
            x[d] = x[n]! - imm
            x[d + 1] = 0
            return 0
          }
        : () => {
            x[d] = x[n]! + imm
            x[d + 1] = 0
            return 0
          }
    }
    if (f.sf && sub) {
      // SUBS/CMP Xn, #imm inline: loop counters and compares.
      const p = cpu.p
      return () => {
        const aLo = x[n]! >>> 0
        const aHi = x[n + 1]!
        const lo = aLo - imm
        const borrow = lo < 0 ? 1 : 0
        const hi = (aHi - borrow) | 0
        const rLo = lo >>> 0
        x[d] = rLo
        x[d + 1] = hi
        p[PS.N] = hi >>> 31
        p[PS.Z] = (rLo | hi) === 0 ? 1 : 0
        // No carry exactly when the whole 64-bit subtraction borrows.
        p[PS.C] = borrow !== 0 && aHi === 0 ? 0 : 1
        // Signed overflow only when a negative minuend wraps to a positive result.
        p[PS.V] = (aHi & ~hi) >>> 31
        return 0
      }
    }
    return addSub(cpu, sub, setf, f.sf, n, d, () => {
      alu[R_LO] = imm
      alu[R_HI] = 0
    })
  }
}

function shiftedOperand(sf: number, m: number, type: number, amount: number): (x: Int32Array) => void {
  if (sf) {
    if (amount === 0) {
      return (x) => {
        alu[R_LO] = x[m]! >>> 0
        alu[R_HI] = x[m + 1]! >>> 0
      }
    }
    return (x) => shift64(type, x[m]! >>> 0, x[m + 1]! >>> 0, amount)
  }
  return (x) => {
    alu[R_LO] = shift32(type, x[m]! >>> 0, amount)
    alu[R_HI] = 0
  }
}

function extendedOperand(m: number, option: number, amount: number): (x: Int32Array) => void {
  return (x) => {
    let lo = x[m]! >>> 0
    let hi = x[m + 1]! >>> 0
    switch (option) {
      case 0:
        lo &= 0xff
        hi = 0
        break
      case 1:
        lo &= 0xffff
        hi = 0
        break
      case 2:
        hi = 0
        break
      case 4:
        lo = ((lo << 24) >> 24) >>> 0
        hi = lo >>> 31 ? 0xffffffff : 0
        break
      case 5:
        lo = ((lo << 16) >> 16) >>> 0
        hi = lo >>> 31 ? 0xffffffff : 0
        break
      case 6:
        hi = lo >>> 31 ? 0xffffffff : 0
        break
      default:
    }
    lsl64(lo, hi, amount)
  }
}

function addSubShifted(sub: boolean, setf: boolean): Build<'ADD_r' | 'ADDS_r' | 'SUB_r' | 'SUBS_r'> {
  return (cpu, f) => {
    if (f.shift === 3) return () => cpu.undefined()
    const x = cpu.x
    const sf = f.sf
    const n = 2 * f.rn
    const m = 2 * f.rm
    const d = 2 * wz(f.rd)
    if (sf && !setf && f.amount === 0) {
      // ADD/SUB Xd, Xn, Xm: the common case inline.
      return sub
        ? () => {
            const lo = (x[n]! >>> 0) - (x[m]! >>> 0)
            const hi = x[n + 1]! - x[m + 1]! - (lo < 0 ? 1 : 0)
            x[d] = lo
            x[d + 1] = hi
            return 0
          }
        : () => {
            const lo = (x[n]! >>> 0) + (x[m]! >>> 0)
            const hi = x[n + 1]! + x[m + 1]! + (lo >= TWO32 ? 1 : 0)
            x[d] = lo
            x[d + 1] = hi
            return 0
          }
    }
    if (sf && setf && sub && f.amount === 0) {
      // CMP/SUBS Xn, Xm inline.
      const p = cpu.p
      return () => {
        const aLo = x[n]! >>> 0
        const aHi = x[n + 1]! >>> 0
        const bLo = x[m]! >>> 0
        const bHi = x[m + 1]! >>> 0
        const lo = aLo - bLo
        const borrowLo = lo < 0 ? 1 : 0
        const hiFull = aHi - bHi - borrowLo
        const rLo = lo >>> 0
        const rHi = hiFull >>> 0
        x[d] = rLo
        x[d + 1] = rHi
        p[PS.N] = rHi >>> 31
        p[PS.Z] = (rLo | rHi) === 0 ? 1 : 0
        p[PS.C] = hiFull < 0 ? 0 : 1
        p[PS.V] = ((aHi ^ bHi) & (aHi ^ rHi)) >>> 31
        return 0
      }
    }
    return addSub(cpu, sub, setf, sf, n, d, shiftedOperand(sf, m, f.shift, f.amount))
  }
}

function addSubExtended(sub: boolean, setf: boolean): Build<'ADD_x' | 'ADDS_x' | 'SUB_x' | 'SUBS_x'> {
  return (cpu, f) => {
    if (f.amount > 4) return () => cpu.undefined()
    const n = 2 * rsp(f.rn)
    const d = 2 * (setf ? wz(f.rd) : wsp(f.rd))
    return addSub(cpu, sub, setf, f.sf, n, d, extendedOperand(2 * f.rm, f.option, f.amount))
  }
}

function addSubCarry(sub: boolean, setf: boolean): Build<'ADC' | 'ADCS' | 'SBC' | 'SBCS'> {
  return (cpu, f) => {
    const x = cpu.x
    const p = cpu.p
    const n = 2 * f.rn
    const m = 2 * f.rm
    const d = 2 * wz(f.rd)
    if (f.sf) {
      return () => {
        const bLo = sub ? ~x[m]! >>> 0 : x[m]! >>> 0
        const bHi = sub ? ~x[m + 1]! >>> 0 : x[m + 1]! >>> 0
        add64(x[n]! >>> 0, x[n + 1]! >>> 0, bLo, bHi, p[PS.C]!)
        x[d] = alu[R_LO]!
        x[d + 1] = alu[R_HI]!
        if (setf) setNzcvFromAlu(p)
        return 0
      }
    }
    return () => {
      add32(x[n]! >>> 0, sub ? ~x[m]! >>> 0 : x[m]! >>> 0, p[PS.C]!)
      x[d] = alu[R_LO]!
      x[d + 1] = 0
      if (setf) setNzcvFromAlu(p)
      return 0
    }
  }
}

// ---------------------------------------------------------------------------------------
// Logical

const AND = 0
const ORR = 1
const EOR = 2

function logic(cpu: Cpu, op: number, invert: boolean, setf: boolean, sf: number, n: number, d: number, operand: (x: Int32Array) => void): Handler {
  const x = cpu.x
  const p = cpu.p
  return () => {
    operand(x)
    let bLo = alu[R_LO]!
    let bHi = alu[R_HI]!
    if (invert) {
      bLo = ~bLo
      bHi = ~bHi
    }
    const aLo = x[n]!
    const aHi = x[n + 1]!
    let lo: number
    let hi: number
    if (op === AND) {
      lo = aLo & bLo
      hi = aHi & bHi
    } else if (op === ORR) {
      lo = aLo | bLo
      hi = aHi | bHi
    } else {
      lo = aLo ^ bLo
      hi = aHi ^ bHi
    }
    if (!sf) hi = 0
    x[d] = lo
    x[d + 1] = hi
    if (setf) {
      if (sf) setLogicFlags64(p, lo >>> 0, hi >>> 0)
      else setLogicFlags32(p, lo >>> 0)
    }
    return 0
  }
}

function logicImmediate(op: number, setf: boolean): Build<'AND_i' | 'ORR_i' | 'EOR_i' | 'ANDS_i'> {
  return (cpu, f) => {
    const x = cpu.x
    const n = 2 * f.rn
    const d = 2 * (setf ? wz(f.rd) : wsp(f.rd))
    const iLo = f.immLo | 0
    const iHi = f.sf ? f.immHi | 0 : 0
    if (!setf && op === AND) {
      return () => {
        x[d] = x[n]! & iLo
        x[d + 1] = x[n + 1]! & iHi
        return 0
      }
    }
    if (!setf && op === ORR && f.sf) {
      return () => {
        x[d] = x[n]! | iLo
        x[d + 1] = x[n + 1]! | iHi
        return 0
      }
    }
    return logic(cpu, op, false, setf, f.sf, n, d, () => {
      alu[R_LO] = iLo >>> 0
      alu[R_HI] = iHi >>> 0
    })
  }
}

function logicShifted(op: number, invert: boolean, setf: boolean): Build<LogicShifted> {
  return (cpu, f) => {
    const x = cpu.x
    const n = 2 * f.rn
    const m = 2 * f.rm
    const d = 2 * wz(f.rd)
    if (op === ORR && !invert && f.rn === 31 && f.amount === 0 && f.sf) {
      // MOV Xd, Xm
      return () => {
        x[d] = x[m]!
        x[d + 1] = x[m + 1]!
        return 0
      }
    }
    const amount = f.amount
    if (f.sf && !setf && !invert && amount > 0 && amount < 32) {
      // EOR/ORR/AND Xd, Xn, Xm, <shift> #k (hashes, bit tricks) inline.
      const type = f.shift
      const k = amount
      return () => {
        const mLo = x[m]!
        const mHi = x[m + 1]!
        const bLo = type === 0 ? mLo << k : (mLo >>> k) | (mHi << (32 - k))
        const bHi = type === 0 ? (mHi << k) | (mLo >>> (32 - k)) : type === 1 ? mHi >>> k : type === 2 ? mHi >> k : (mHi >>> k) | (mLo << (32 - k))
        const aLo = x[n]!
        const aHi = x[n + 1]!
        if (op === EOR) {
          x[d] = aLo ^ bLo
          x[d + 1] = aHi ^ bHi
        } else if (op === ORR) {
          x[d] = aLo | bLo
          x[d + 1] = aHi | bHi
        } else {
          x[d] = aLo & bLo
          x[d + 1] = aHi & bHi
        }
        return 0
      }
    }
    return logic(cpu, op, invert, setf, f.sf, n, d, shiftedOperand(f.sf, m, f.shift, amount))
  }
}

// ---------------------------------------------------------------------------------------
// Move wide, bitfield, extract, PC-relative

function moveWide(kind: 'N' | 'Z' | 'K'): Build<'MOVN' | 'MOVZ' | 'MOVK'> {
  return (cpu, f) => {
    const x = cpu.x
    const d = 2 * wz(f.rd)
    const shift = f.shift
    const sf = f.sf
    const v = f.imm16
    const lo = shift === 0 ? v : shift === 16 ? v << 16 : 0
    const hi = shift === 32 ? v : shift === 48 ? v << 16 : 0
    if (kind === 'K') {
      const keepLo = shift === 0 ? 0xffff0000 : shift === 16 ? 0xffff : 0xffffffff
      const keepHi = shift === 32 ? 0xffff0000 : shift === 48 ? 0xffff : 0xffffffff
      return () => {
        x[d] = (x[d]! & keepLo) | lo
        x[d + 1] = sf ? (x[d + 1]! & keepHi) | hi : 0
        return 0
      }
    }
    const rLo = kind === 'N' ? ~lo : lo
    const rHi = sf ? (kind === 'N' ? ~hi : hi) : 0
    return () => {
      x[d] = rLo
      x[d + 1] = rHi
      return 0
    }
  }
}

const adr: Build<'ADR'> = (cpu, f) => {
  const x = cpu.x
  const d = 2 * wz(f.rd)
  const [iLo, iHi] = splitImm(f.imm)
  return () => {
    const lo = cpu.pcLo + iLo
    x[d] = lo
    x[d + 1] = cpu.pcHi + iHi + (lo >= TWO32 ? 1 : 0)
    return 0
  }
}

const adrp: Build<'ADRP'> = (cpu, f) => {
  const x = cpu.x
  const d = 2 * wz(f.rd)
  const [iLo, iHi] = splitImm(f.imm)
  return () => {
    const lo = ((cpu.pcLo & 0xfffff000) >>> 0) + iLo
    x[d] = lo
    x[d + 1] = cpu.pcHi + iHi + (lo >= TWO32 ? 1 : 0)
    return 0
  }
}


export const arithmetic: HandlerTable = {
  ADD_i: addSubImmediate(false, false),
  ADDS_i: addSubImmediate(false, true),
  SUB_i: addSubImmediate(true, false),
  SUBS_i: addSubImmediate(true, true),
  ADD_r: addSubShifted(false, false),
  ADDS_r: addSubShifted(false, true),
  SUB_r: addSubShifted(true, false),
  SUBS_r: addSubShifted(true, true),
  ADD_x: addSubExtended(false, false),
  ADDS_x: addSubExtended(false, true),
  SUB_x: addSubExtended(true, false),
  SUBS_x: addSubExtended(true, true),
  ADC: addSubCarry(false, false),
  ADCS: addSubCarry(false, true),
  SBC: addSubCarry(true, false),
  SBCS: addSubCarry(true, true),
  AND_i: logicImmediate(AND, false),
  ORR_i: logicImmediate(ORR, false),
  EOR_i: logicImmediate(EOR, false),
  ANDS_i: logicImmediate(AND, true),
  AND_r: logicShifted(AND, false, false),
  BIC_r: logicShifted(AND, true, false),
  ORR_r: logicShifted(ORR, false, false),
  ORN_r: logicShifted(ORR, true, false),
  EOR_r: logicShifted(EOR, false, false),
  EON_r: logicShifted(EOR, true, false),
  ANDS_r: logicShifted(AND, false, true),
  BICS_r: logicShifted(AND, true, true),
  MOVN: moveWide('N'),
  MOVZ: moveWide('Z'),
  MOVK: moveWide('K'),
  ADR: adr,
  ADRP: adrp,
}
