// Instruction semantics: `compile(cpu, word)` decodes a word with @tagvm/a64 once and
// returns a closure with its operands fixed (register slots, immediates, masks), which
// the CPU caches per physical page. A closure returns 0 to fall through to PC+4 or 1 when
// it has set PC itself. Guest exceptions leave by throwing TRAP from the CPU helpers.

import { decodeWord } from '@tagvm/a64'
import {
  add32, add64, alu, asr64, cls32, cls64, clz64, crc32, decodeBitMasks, lsl64, lsr64, mul32x32, mul64, rbit32, rev16,
  rev32, ror32, ror64, sdiv64, shift32, shift64, smulh, splitImm, udiv64, umulh, R_C, R_HI, R_LO, R_N, R_V, R_Z,
} from './alu.js'
import { TWO32 } from './constants.js'
import type { Cpu } from './cpu.js'
import { compileLoadStore } from './exec-mem.js'
import { compileMte, mteWritesMemory } from './exec-mte.js'
import { compileSystem } from './exec-sys.js'
import { conditionHolds } from './pstate.js'
import { PS, rsp, wsp, wz } from './state.js'

/** A compiled instruction. */
export type Handler = () => number

/** Decoded fields as the a64 table names them. */
export type Fields = Readonly<Record<string, number>>

type Builder = (cpu: Cpu, d: Fields, word: number) => Handler


export function compile(cpu: Cpu, word: number): Handler {
  // FP/SIMD (bits 27:26 = 11): not implemented; the CPACR_EL1.FPEN trap comes first.
  if (((word >>> 26) & 3) === 3) return () => cpu.fpInstruction()
  const insn = decodeWord(word)
  const d = insn as unknown as Fields & { name: string }
  const build = BUILDERS[d.name] ?? compileLoadStore(d.name) ?? compileSystem(d.name) ?? compileMte(d.name)
  if (build === undefined) return () => cpu.undefined()
  return build(cpu, d, word)
}

function setFlags(p: Int32Array): void {
  p[PS.N] = alu[R_N]!
  p[PS.Z] = alu[R_Z]!
  p[PS.C] = alu[R_C]!
  p[PS.V] = alu[R_V]!
}

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
      if (setf) setFlags(p)
      return 0
    }
  }
  return () => {
    operand(x)
    const b = sub ? ~alu[R_LO]! >>> 0 : alu[R_LO]!
    add32(x[n]! >>> 0, b, sub ? 1 : 0)
    x[d] = alu[R_LO]!
    x[d + 1] = 0
    if (setf) setFlags(p)
    return 0
  }
}

function addSubImmediate(sub: boolean, setf: boolean): Builder {
  return (cpu, f) => {
    const x = cpu.x
    const n = 2 * rsp(f.rn!)
    const d = 2 * (setf ? wz(f.rd!) : wsp(f.rd!))
    const imm = f.imm!
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
    return addSub(cpu, sub, setf, f.sf!, n, d, () => {
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

function addSubShifted(sub: boolean, setf: boolean): Builder {
  return (cpu, f) => {
    if (f.shift === 3) return () => cpu.undefined()
    const x = cpu.x
    const sf = f.sf!
    const n = 2 * f.rn!
    const m = 2 * f.rm!
    const d = 2 * wz(f.rd!)
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
    return addSub(cpu, sub, setf, sf, n, d, shiftedOperand(sf, m, f.shift!, f.amount!))
  }
}

function addSubExtended(sub: boolean, setf: boolean): Builder {
  return (cpu, f) => {
    if (f.amount! > 4) return () => cpu.undefined()
    const n = 2 * rsp(f.rn!)
    const d = 2 * (setf ? wz(f.rd!) : wsp(f.rd!))
    return addSub(cpu, sub, setf, f.sf!, n, d, extendedOperand(2 * f.rm!, f.option!, f.amount!))
  }
}

function addSubCarry(sub: boolean, setf: boolean): Builder {
  return (cpu, f) => {
    const x = cpu.x
    const p = cpu.p
    const n = 2 * f.rn!
    const m = 2 * f.rm!
    const d = 2 * wz(f.rd!)
    if (f.sf) {
      return () => {
        const bLo = sub ? ~x[m]! >>> 0 : x[m]! >>> 0
        const bHi = sub ? ~x[m + 1]! >>> 0 : x[m + 1]! >>> 0
        add64(x[n]! >>> 0, x[n + 1]! >>> 0, bLo, bHi, p[PS.C]!)
        x[d] = alu[R_LO]!
        x[d + 1] = alu[R_HI]!
        if (setf) setFlags(p)
        return 0
      }
    }
    return () => {
      add32(x[n]! >>> 0, sub ? ~x[m]! >>> 0 : x[m]! >>> 0, p[PS.C]!)
      x[d] = alu[R_LO]!
      x[d + 1] = 0
      if (setf) setFlags(p)
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

function logicImmediate(op: number, setf: boolean): Builder {
  return (cpu, f) => {
    const x = cpu.x
    const n = 2 * f.rn!
    const d = 2 * (setf ? wz(f.rd!) : wsp(f.rd!))
    const iLo = f.immLo! | 0
    const iHi = f.sf ? f.immHi! | 0 : 0
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
    return logic(cpu, op, false, setf, f.sf!, n, d, () => {
      alu[R_LO] = iLo >>> 0
      alu[R_HI] = iHi >>> 0
    })
  }
}

function logicShifted(op: number, invert: boolean, setf: boolean): Builder {
  return (cpu, f) => {
    const x = cpu.x
    const n = 2 * f.rn!
    const m = 2 * f.rm!
    const d = 2 * wz(f.rd!)
    if (op === ORR && !invert && f.rn === 31 && f.amount === 0 && f.sf) {
      // MOV Xd, Xm
      return () => {
        x[d] = x[m]!
        x[d + 1] = x[m + 1]!
        return 0
      }
    }
    const amount = f.amount!
    if (f.sf && !setf && !invert && amount > 0 && amount < 32) {
      // EOR/ORR/AND Xd, Xn, Xm, <shift> #k (hashes, bit tricks) inline.
      const type = f.shift!
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
    return logic(cpu, op, invert, setf, f.sf!, n, d, shiftedOperand(f.sf!, m, f.shift!, amount))
  }
}

// ---------------------------------------------------------------------------------------
// Move wide, bitfield, extract, PC-relative

function moveWide(kind: 'N' | 'Z' | 'K'): Builder {
  return (cpu, f) => {
    const x = cpu.x
    const d = 2 * wz(f.rd!)
    const shift = f.shift!
    const sf = f.sf!
    const v = f.imm16!
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

function bitfield(kind: 'S' | 'B' | 'U'): Builder {
  return (cpu, f) => {
    const x = cpu.x
    const sf = f.sf!
    const n = 2 * f.rn!
    const d = 2 * wz(f.rd!)
    const immr = f.immr!
    const imms = f.imms!
    const masks = decodeBitMasks(sf, imms, immr, false, sf ? 64 : 32)
    if (!masks) return () => cpu.undefined()
    const { wmaskLo, wmaskHi, tmaskLo, tmaskHi } = masks
    if (sf) {
      // Fast forms: LSL/LSR/ASR by a constant.
      if (kind === 'U' && imms === 63) {
        return () => {
          lsr64(x[n]! >>> 0, x[n + 1]! >>> 0, immr)
          x[d] = alu[R_LO]!
          x[d + 1] = alu[R_HI]!
          return 0
        }
      }
      if (kind === 'U' && imms + 1 === immr) {
        const sh = 63 - imms
        return () => {
          lsl64(x[n]! >>> 0, x[n + 1]! >>> 0, sh)
          x[d] = alu[R_LO]!
          x[d + 1] = alu[R_HI]!
          return 0
        }
      }
      if (kind === 'S' && imms === 63) {
        return () => {
          asr64(x[n]! >>> 0, x[n + 1]! >>> 0, immr)
          x[d] = alu[R_LO]!
          x[d + 1] = alu[R_HI]!
          return 0
        }
      }
      return () => {
        const srcLo = x[n]! >>> 0
        const srcHi = x[n + 1]! >>> 0
        const dstLo = kind === 'B' ? x[d]! : 0
        const dstHi = kind === 'B' ? x[d + 1]! : 0
        ror64(srcLo, srcHi, immr)
        const botLo = (dstLo & ~wmaskLo) | (alu[R_LO]! & wmaskLo)
        const botHi = (dstHi & ~wmaskHi) | (alu[R_HI]! & wmaskHi)
        let topLo = dstLo
        let topHi = dstHi
        if (kind === 'S') {
          const bit = imms >= 32 ? (srcHi >>> (imms - 32)) & 1 : (srcLo >>> imms) & 1
          topLo = topHi = bit ? -1 : 0
        }
        x[d] = (topLo & ~tmaskLo) | (botLo & tmaskLo)
        x[d + 1] = (topHi & ~tmaskHi) | (botHi & tmaskHi)
        return 0
      }
    }
    if (kind === 'U' && imms === 31) {
      return () => {
        x[d] = x[n]! >>> immr
        x[d + 1] = 0
        return 0
      }
    }
    if (kind === 'U' && imms + 1 === immr) {
      const sh = 31 - imms
      return () => {
        x[d] = x[n]! << sh
        x[d + 1] = 0
        return 0
      }
    }
    return () => {
      const src = x[n]! >>> 0
      const dst = kind === 'B' ? x[d]! : 0
      const bot = (dst & ~wmaskLo) | (ror32(src, immr) & wmaskLo)
      const top = kind === 'S' ? ((src >>> imms) & 1 ? -1 : 0) : dst
      x[d] = (top & ~tmaskLo) | (bot & tmaskLo)
      x[d + 1] = 0
      return 0
    }
  }
}

const extract: Builder = (cpu, f) => {
  const x = cpu.x
  const n = 2 * f.rn!
  const m = 2 * f.rm!
  const d = 2 * wz(f.rd!)
  const lsb = f.imms!
  if (f.sf) {
    return () => {
      // (Xn:Xm) >> lsb, low 64 bits.
      const mLo = x[m]! >>> 0
      const mHi = x[m + 1]! >>> 0
      const nLo = x[n]! >>> 0
      const nHi = x[n + 1]! >>> 0
      let lo: number
      let hi: number
      if (lsb === 0) {
        lo = mLo
        hi = mHi
      } else if (lsb < 32) {
        lo = (mLo >>> lsb) | (mHi << (32 - lsb))
        hi = (mHi >>> lsb) | (nLo << (32 - lsb))
      } else if (lsb === 32) {
        lo = mHi
        hi = nLo
      } else {
        const s = lsb - 32
        lo = (mHi >>> s) | (nLo << (32 - s))
        hi = (nLo >>> s) | (nHi << (32 - s))
      }
      x[d] = lo
      x[d + 1] = hi
      return 0
    }
  }
  return () => {
    const mv = x[m]! >>> 0
    const nv = x[n]! >>> 0
    x[d] = lsb === 0 ? mv : (mv >>> lsb) | (nv << (32 - lsb))
    x[d + 1] = 0
    return 0
  }
}

const adr: Builder = (cpu, f) => {
  const x = cpu.x
  const d = 2 * wz(f.rd!)
  const [iLo, iHi] = splitImm(f.imm!)
  return () => {
    const lo = cpu.pcLo + iLo
    x[d] = lo
    x[d + 1] = cpu.pcHi + iHi + (lo >= TWO32 ? 1 : 0)
    return 0
  }
}

const adrp: Builder = (cpu, f) => {
  const x = cpu.x
  const d = 2 * wz(f.rd!)
  const [iLo, iHi] = splitImm(f.imm!)
  return () => {
    const lo = ((cpu.pcLo & 0xfffff000) >>> 0) + iLo
    x[d] = lo
    x[d + 1] = cpu.pcHi + iHi + (lo >= TWO32 ? 1 : 0)
    return 0
  }
}

// ---------------------------------------------------------------------------------------
// Conditional compare / select

function condCompare(sub: boolean, imm: boolean): Builder {
  return (cpu, f) => {
    const x = cpu.x
    const p = cpu.p
    const n = 2 * f.rn!
    const m = 2 * f.rm!
    const cond = f.cond!
    const nzcv = f.nzcv!
    const immv = f.imm ?? 0
    const sf = f.sf!
    return () => {
      if (conditionHolds(p, cond)) {
        let bLo = imm ? immv : x[m]! >>> 0
        let bHi = imm ? 0 : x[m + 1]! >>> 0
        if (sub) {
          bLo = ~bLo >>> 0
          bHi = ~bHi >>> 0
        }
        if (sf) add64(x[n]! >>> 0, x[n + 1]! >>> 0, bLo, bHi, sub ? 1 : 0)
        else add32(x[n]! >>> 0, bLo, sub ? 1 : 0)
        setFlags(p)
      } else {
        p[PS.N] = nzcv >>> 3
        p[PS.Z] = (nzcv >>> 2) & 1
        p[PS.C] = (nzcv >>> 1) & 1
        p[PS.V] = nzcv & 1
      }
      return 0
    }
  }
}

function condSelect(kind: 'SEL' | 'INC' | 'INV' | 'NEG'): Builder {
  return (cpu, f) => {
    const x = cpu.x
    const p = cpu.p
    const n = 2 * f.rn!
    const m = 2 * f.rm!
    const d = 2 * wz(f.rd!)
    const cond = f.cond!
    const sf = f.sf!
    return () => {
      if (conditionHolds(p, cond)) {
        x[d] = x[n]!
        x[d + 1] = sf ? x[n + 1]! : 0
        return 0
      }
      let lo = x[m]! >>> 0
      let hi = sf ? x[m + 1]! >>> 0 : 0
      if (kind === 'INC') {
        lo += 1
        if (lo >= TWO32) {
          lo = 0
          hi = (hi + 1) >>> 0
        }
      } else if (kind === 'INV') {
        lo = ~lo
        hi = ~hi
      } else if (kind === 'NEG') {
        lo = (~lo >>> 0) + 1
        hi = ~hi + (lo >= TWO32 ? 1 : 0)
      }
      x[d] = lo
      x[d + 1] = sf ? hi : 0
      return 0
    }
  }
}

// ---------------------------------------------------------------------------------------
// Multiply, divide, shifts by register, CRC, one-source

function multiplyAdd(sub: boolean): Builder {
  return (cpu, f) => {
    const x = cpu.x
    const n = 2 * f.rn!
    const m = 2 * f.rm!
    const a = 2 * f.ra!
    const d = 2 * wz(f.rd!)
    if (!f.sf) {
      return () => {
        const prod = Math.imul(x[n]!, x[m]!)
        x[d] = sub ? x[a]! - prod : x[a]! + prod
        x[d + 1] = 0
        return 0
      }
    }
    if (f.ra === 31 && !sub) {
      // MUL Xd, Xn, Xm
      return () => {
        mul64(x[n]!, x[n + 1]!, x[m]!, x[m + 1]!)
        x[d] = alu[R_LO]!
        x[d + 1] = alu[R_HI]!
        return 0
      }
    }
    return () => {
      mul64(x[n]!, x[n + 1]!, x[m]!, x[m + 1]!)
      let pLo = alu[R_LO]!
      let pHi = alu[R_HI]!
      if (sub) {
        pLo = ~pLo >>> 0
        pHi = ~pHi >>> 0
      }
      add64(x[a]! >>> 0, x[a + 1]! >>> 0, pLo, pHi, sub ? 1 : 0)
      x[d] = alu[R_LO]!
      x[d + 1] = alu[R_HI]!
      return 0
    }
  }
}

function multiplyLong(signed: boolean, sub: boolean): Builder {
  return (cpu, f) => {
    const x = cpu.x
    const n = 2 * f.rn!
    const m = 2 * f.rm!
    const a = 2 * f.ra!
    const d = 2 * wz(f.rd!)
    return () => {
      mul32x32(x[n]!, x[m]!, signed)
      let pLo = alu[R_LO]!
      let pHi = alu[R_HI]!
      if (sub) {
        pLo = ~pLo >>> 0
        pHi = ~pHi >>> 0
      }
      add64(x[a]! >>> 0, x[a + 1]! >>> 0, pLo, pHi, sub ? 1 : 0)
      x[d] = alu[R_LO]!
      x[d + 1] = alu[R_HI]!
      return 0
    }
  }
}

function multiplyHigh(signed: boolean): Builder {
  return (cpu, f) => {
    const x = cpu.x
    const n = 2 * f.rn!
    const m = 2 * f.rm!
    const d = 2 * wz(f.rd!)
    return () => {
      if (signed) smulh(x[n]!, x[n + 1]!, x[m]!, x[m + 1]!)
      else umulh(x[n]!, x[n + 1]!, x[m]!, x[m + 1]!)
      x[d] = alu[R_LO]!
      x[d + 1] = alu[R_HI]!
      return 0
    }
  }
}

function divide(signed: boolean): Builder {
  return (cpu, f) => {
    const x = cpu.x
    const n = 2 * f.rn!
    const m = 2 * f.rm!
    const d = 2 * wz(f.rd!)
    if (!f.sf) {
      return () => {
        const a = x[n]!
        const b = x[m]!
        let q: number
        if (b === 0) q = 0
        else if (signed) q = a === -0x80000000 && b === -1 ? a : Math.trunc(a / b)
        else q = Math.floor((a >>> 0) / (b >>> 0))
        x[d] = q
        x[d + 1] = 0
        return 0
      }
    }
    return () => {
      if (signed) sdiv64(x[n]!, x[n + 1]!, x[m]!, x[m + 1]!)
      else udiv64(x[n]!, x[n + 1]!, x[m]!, x[m + 1]!)
      x[d] = alu[R_LO]!
      x[d + 1] = alu[R_HI]!
      return 0
    }
  }
}

function shiftVariable(type: number): Builder {
  return (cpu, f) => {
    const x = cpu.x
    const n = 2 * f.rn!
    const m = 2 * f.rm!
    const d = 2 * wz(f.rd!)
    if (!f.sf) {
      return () => {
        x[d] = shift32(type, x[n]! >>> 0, x[m]! & 31)
        x[d + 1] = 0
        return 0
      }
    }
    return () => {
      shift64(type, x[n]! >>> 0, x[n + 1]! >>> 0, x[m]! & 63)
      x[d] = alu[R_LO]!
      x[d + 1] = alu[R_HI]!
      return 0
    }
  }
}

function crc(castagnoli: boolean): Builder {
  return (cpu, f) => {
    const x = cpu.x
    const n = 2 * f.rn!
    const m = 2 * f.rm!
    const d = 2 * wz(f.rd!)
    const bytes = 1 << f.sz!
    return () => {
      x[d] = crc32(x[n]!, x[m]!, bytes === 8 ? x[m + 1]! : 0, bytes, castagnoli)
      x[d + 1] = 0
      return 0
    }
  }
}

function oneSource(op: 'RBIT' | 'REV16' | 'REV32' | 'REV' | 'CLZ' | 'CLS'): Builder {
  return (cpu, f) => {
    const x = cpu.x
    const n = 2 * f.rn!
    const d = 2 * wz(f.rd!)
    const sf = op === 'REV32' ? 1 : f.sf!
    return () => {
      const lo = x[n]! >>> 0
      const hi = x[n + 1]! >>> 0
      let rLo: number
      let rHi = 0
      switch (op) {
        case 'RBIT':
          if (sf) {
            rLo = rbit32(hi)
            rHi = rbit32(lo)
          } else rLo = rbit32(lo)
          break
        case 'REV16':
          rLo = rev16(lo)
          if (sf) rHi = rev16(hi)
          break
        case 'REV32':
          rLo = rev32(lo)
          rHi = rev32(hi)
          break
        case 'REV':
          if (sf) {
            rLo = rev32(hi)
            rHi = rev32(lo)
          } else rLo = rev32(lo)
          break
        case 'CLZ':
          rLo = sf ? clz64(lo, hi) : Math.clz32(lo)
          break
        default:
          rLo = sf ? cls64(lo, hi) : cls32(lo)
      }
      x[d] = rLo
      x[d + 1] = rHi
      return 0
    }
  }
}

// ---------------------------------------------------------------------------------------
// Branches

function branchImmediate(link: boolean): Builder {
  return (cpu, f) => {
    const x = cpu.x
    const [iLo, iHi] = splitImm(f.imm!)
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

const branchConditional: Builder = (cpu, f) => {
  const p = cpu.p
  const [iLo, iHi] = splitImm(f.imm!)
  const cond = f.cond!
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

function compareBranch(nonZero: boolean): Builder {
  return (cpu, f) => {
    const x = cpu.x
    const t = 2 * f.rt!
    const sf = f.sf!
    const [iLo, iHi] = splitImm(f.imm!)
    return () => {
      const zero = sf ? (x[t]! | x[t + 1]!) === 0 : x[t] === 0
      return zero !== nonZero ? jump(cpu, iLo, iHi) : 0
    }
  }
}

function testBranch(nonZero: boolean): Builder {
  return (cpu, f) => {
    const x = cpu.x
    const bit = f.bit!
    const t = 2 * f.rt! + (bit >= 32 ? 1 : 0)
    const mask = 1 << (bit & 31)
    const [iLo, iHi] = splitImm(f.imm!)
    return () => (((x[t]! & mask) !== 0) === nonZero ? jump(cpu, iLo, iHi) : 0)
  }
}

function branchRegister(link: boolean): Builder {
  return (cpu, f) => {
    const x = cpu.x
    const n = 2 * f.rn!
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

const eret: Builder = (cpu) => () => {
  if (cpu.p[PS.EL] === 0) cpu.undefined()
  cpu.eret()
  return 1
}

const undef: Builder = (cpu) => () => cpu.undefined()

const BUILDERS: Record<string, Builder> = {
  ADD_i: addSubImmediate(false, false),
  ADDS_i: addSubImmediate(false, true),
  SUB_i: addSubImmediate(true, false),
  SUBS_i: addSubImmediate(true, true),
  ADR: adr,
  ADRP: adrp,
  AND_i: logicImmediate(AND, false),
  ORR_i: logicImmediate(ORR, false),
  EOR_i: logicImmediate(EOR, false),
  ANDS_i: logicImmediate(AND, true),
  MOVN: moveWide('N'),
  MOVZ: moveWide('Z'),
  MOVK: moveWide('K'),
  SBFM: bitfield('S'),
  BFM: bitfield('B'),
  UBFM: bitfield('U'),
  EXTR: extract,
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
  AND_r: logicShifted(AND, false, false),
  BIC_r: logicShifted(AND, true, false),
  ORR_r: logicShifted(ORR, false, false),
  ORN_r: logicShifted(ORR, true, false),
  EOR_r: logicShifted(EOR, false, false),
  EON_r: logicShifted(EOR, true, false),
  ANDS_r: logicShifted(AND, false, true),
  BICS_r: logicShifted(AND, true, true),
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
  CCMN_r: condCompare(false, false),
  CCMP_r: condCompare(true, false),
  CCMN_i: condCompare(false, true),
  CCMP_i: condCompare(true, true),
  CSEL: condSelect('SEL'),
  CSINC: condSelect('INC'),
  CSINV: condSelect('INV'),
  CSNEG: condSelect('NEG'),
  MADD: multiplyAdd(false),
  MSUB: multiplyAdd(true),
  SMADDL: multiplyLong(true, false),
  SMSUBL: multiplyLong(true, true),
  UMADDL: multiplyLong(false, false),
  UMSUBL: multiplyLong(false, true),
  SMULH: multiplyHigh(true),
  UMULH: multiplyHigh(false),
  UDIV: divide(false),
  SDIV: divide(true),
  LSLV: shiftVariable(0),
  LSRV: shiftVariable(1),
  ASRV: shiftVariable(2),
  RORV: shiftVariable(3),
  CRC32: crc(false),
  CRC32C: crc(true),
  RBIT: oneSource('RBIT'),
  REV16: oneSource('REV16'),
  REV32: oneSource('REV32'),
  REV: oneSource('REV'),
  CLZ: oneSource('CLZ'),
  CLS: oneSource('CLS'),
  UNDEFINED: undef,
}

export const ROLE_PLAIN = 0
/** Ends a block (included as its last instruction): may branch, trap or change the regime. */
export const ROLE_END = 1
/** May write memory: a block checks after it whether its own code page was written. */
export const ROLE_STORE = 2

const PLAIN_LOADS = new Set([
  'LDR_lit', 'LDRSW_lit', 'PRFM_lit', 'PRFM_ui', 'PRFUM', 'PRFM_reg', 'LDR_ui', 'LDRS_ui', 'LDUR', 'LDURS', 'LDR_post',
  'LDRS_post', 'LDR_pre', 'LDRS_pre', 'LDTR', 'LDTRS', 'LDR_reg', 'LDRS_reg', 'LDP', 'LDPSW', 'LDAR', 'LDAPR',
  'LDAPUR', 'LDAPURS',
])

/** How an instruction word takes part in a block. */
export function blockRole(word: number): number {
  if (((word >>> 26) & 3) === 3) return ROLE_END
  const name = decodeWord(word).name
  if (BUILDERS[name] !== undefined) return BRANCHES.has(name) || name === 'UNDEFINED' ? ROLE_END : ROLE_PLAIN
  if (compileLoadStore(name) !== undefined) return PLAIN_LOADS.has(name) ? ROLE_PLAIN : ROLE_STORE
  const mte = mteWritesMemory(name)
  if (mte !== undefined) return mte ? ROLE_STORE : ROLE_PLAIN
  return ROLE_END
}

const BRANCHES = new Set(['B', 'BL', 'B_cond', 'CBZ', 'CBNZ', 'TBZ', 'TBNZ', 'BR', 'BLR', 'RET', 'ERET'])

/** Whether `compile` has semantics for a decoder instruction name (for tests). */
export function isImplemented(name: string): boolean {
  return BUILDERS[name] !== undefined || compileLoadStore(name) !== undefined || compileSystem(name) !== undefined || compileMte(name) !== undefined
}
