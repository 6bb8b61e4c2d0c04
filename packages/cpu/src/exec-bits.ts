// Data processing on general registers, part two: bitfield moves and extract, conditional
// compare and select, multiply (and long, high), divide, shifts by register, CRC32 and the
// one-source operations (RBIT, REV*, CLZ, CLS).

import {
  add32, add64, alu, asr64, cls32, cls64, clz64, crc32, decodeBitMasks, lsl64, lsr64, mul32x32, mul64, rbit32, rev16,
  rev32, ror32, ror64, sdiv64, shift32, shift64, smulh, udiv64, umulh, R_HI, R_LO,
} from './alu.js'
import { TWO32 } from './constants.js'
import type { Cpu } from './cpu.js'
import type { Build, Handler, HandlerTable } from './handlers.js'
import { conditionHolds, setNzcvFromAlu } from './pstate.js'
import { PS, wz } from './state.js'

function bitfield(kind: 'S' | 'B' | 'U'): Build<'SBFM' | 'BFM' | 'UBFM'> {
  return (cpu, f) => {
    const x = cpu.x
    const sf = f.sf
    const n = 2 * f.rn
    const d = 2 * wz(f.rd)
    const immr = f.immr
    const imms = f.imms
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

const extract: Build<'EXTR'> = (cpu, f) => {
  const x = cpu.x
  const n = 2 * f.rn
  const m = 2 * f.rm
  const d = 2 * wz(f.rd)
  const lsb = f.imms
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

// ---------------------------------------------------------------------------------------
// Conditional compare / select

/**
 * CCMN/CCMP: if the condition holds, the flags of Rn + (or -) the operand (register slot
 * m, or the immediate when m < 0); else the flags given by nzcv.
 */
function condCompare(cpu: Cpu, sub: boolean, sf: number, n: number, m: number, immv: number, cond: number, nzcv: number): Handler {
  const x = cpu.x
  const p = cpu.p
  return () => {
    if (conditionHolds(p, cond)) {
      let bLo = m < 0 ? immv : x[m]! >>> 0
      let bHi = m < 0 ? 0 : x[m + 1]! >>> 0
      if (sub) {
        bLo = ~bLo >>> 0
        bHi = ~bHi >>> 0
      }
      if (sf) add64(x[n]! >>> 0, x[n + 1]! >>> 0, bLo, bHi, sub ? 1 : 0)
      else add32(x[n]! >>> 0, bLo, sub ? 1 : 0)
      setNzcvFromAlu(p)
    } else {
      p[PS.N] = nzcv >>> 3
      p[PS.Z] = (nzcv >>> 2) & 1
      p[PS.C] = (nzcv >>> 1) & 1
      p[PS.V] = nzcv & 1
    }
    return 0
  }
}

const condCompareRegister =
  (sub: boolean): Build<'CCMN_r' | 'CCMP_r'> =>
  (cpu, f) =>
    condCompare(cpu, sub, f.sf, 2 * f.rn, 2 * f.rm, 0, f.cond, f.nzcv)
const condCompareImmediate =
  (sub: boolean): Build<'CCMN_i' | 'CCMP_i'> =>
  (cpu, f) =>
    condCompare(cpu, sub, f.sf, 2 * f.rn, -1, f.imm, f.cond, f.nzcv)

function condSelect(kind: 'SEL' | 'INC' | 'INV' | 'NEG'): Build<'CSEL' | 'CSINC' | 'CSINV' | 'CSNEG'> {
  return (cpu, f) => {
    const x = cpu.x
    const p = cpu.p
    const n = 2 * f.rn
    const m = 2 * f.rm
    const d = 2 * wz(f.rd)
    const cond = f.cond
    const sf = f.sf
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

function multiplyAdd(sub: boolean): Build<'MADD' | 'MSUB'> {
  return (cpu, f) => {
    const x = cpu.x
    const n = 2 * f.rn
    const m = 2 * f.rm
    const a = 2 * f.ra
    const d = 2 * wz(f.rd)
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

function multiplyLong(signed: boolean, sub: boolean): Build<'SMADDL' | 'SMSUBL' | 'UMADDL' | 'UMSUBL'> {
  return (cpu, f) => {
    const x = cpu.x
    const n = 2 * f.rn
    const m = 2 * f.rm
    const a = 2 * f.ra
    const d = 2 * wz(f.rd)
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

function multiplyHigh(signed: boolean): Build<'SMULH' | 'UMULH'> {
  return (cpu, f) => {
    const x = cpu.x
    const n = 2 * f.rn
    const m = 2 * f.rm
    const d = 2 * wz(f.rd)
    return () => {
      if (signed) smulh(x[n]!, x[n + 1]!, x[m]!, x[m + 1]!)
      else umulh(x[n]!, x[n + 1]!, x[m]!, x[m + 1]!)
      x[d] = alu[R_LO]!
      x[d + 1] = alu[R_HI]!
      return 0
    }
  }
}

function divide(signed: boolean): Build<'UDIV' | 'SDIV'> {
  return (cpu, f) => {
    const x = cpu.x
    const n = 2 * f.rn
    const m = 2 * f.rm
    const d = 2 * wz(f.rd)
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

function shiftVariable(type: number): Build<'LSLV' | 'LSRV' | 'ASRV' | 'RORV'> {
  return (cpu, f) => {
    const x = cpu.x
    const n = 2 * f.rn
    const m = 2 * f.rm
    const d = 2 * wz(f.rd)
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

function crc(castagnoli: boolean): Build<'CRC32' | 'CRC32C'> {
  return (cpu, f) => {
    const x = cpu.x
    const n = 2 * f.rn
    const m = 2 * f.rm
    const d = 2 * wz(f.rd)
    const bytes = 1 << f.sz
    return () => {
      x[d] = crc32(x[n]!, x[m]!, bytes === 8 ? x[m + 1]! : 0, bytes, castagnoli)
      x[d + 1] = 0
      return 0
    }
  }
}

function oneSource(op: 'RBIT' | 'REV16' | 'REV32' | 'REV' | 'CLZ' | 'CLS'): Build<'RBIT' | 'REV16' | 'REV32' | 'REV' | 'CLZ' | 'CLS'> {
  return (cpu, f) => {
    const x = cpu.x
    const n = 2 * f.rn
    const d = 2 * wz(f.rd)
    const sf = 'sf' in f ? f.sf : 1 // REV32 is 64-bit only
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


export const bitsAndMultiply: HandlerTable = {
  SBFM: bitfield('S'),
  BFM: bitfield('B'),
  UBFM: bitfield('U'),
  EXTR: extract,
  CCMN_r: condCompareRegister(false),
  CCMP_r: condCompareRegister(true),
  CCMN_i: condCompareImmediate(false),
  CCMP_i: condCompareImmediate(true),
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
}
