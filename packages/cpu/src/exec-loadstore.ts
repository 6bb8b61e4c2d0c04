// Loads and stores of general registers: single registers in every addressing form
// (immediate offset in each index mode, register offset, literal, unprivileged), pairs and
// prefetches. Every access goes through the data path's rd*/wr* (TLB fast path, MMU on a
// miss), and all memory accesses of an instruction happen before any register is written,
// so an abort or an exit leaves the registers as they were and the instruction can be retried.

import { alu, splitImm, R_HI, R_LO } from './alu.js'
import { ACC_UNCHECKED, ACC_UNPRIV, TWO32, accessIss } from './constants.js'
import type { Cpu } from './cpu.js'
import type { DataPath } from './data-path.js'
import type { Build, Handler, HandlerTable } from './handlers.js'
import { REG_DISCARD, rsp } from './state.js'

/** Loads `1 << size` bytes; returns the low word, the high word of an 8-byte load in cpu.data.rdHi. */
export function load(mem: DataPath, size: number, hi: number, lo: number, info: number): number {
  switch (size) {
    case 0:
      return mem.rd8(hi, lo, info)
    case 1:
      return mem.rd16(hi, lo, info)
    case 2:
      return mem.rd32(hi, lo, info)
    default:
      return mem.rd64(hi, lo, info)
  }
}

export function store(mem: DataPath, size: number, hi: number, lo: number, vLo: number, vHi: number, info: number): void {
  switch (size) {
    case 0:
      mem.wr8(hi, lo, vLo & 0xff, info)
      break
    case 1:
      mem.wr16(hi, lo, vLo & 0xffff, info)
      break
    case 2:
      mem.wr32(hi, lo, vLo >>> 0, info)
      break
    default:
      mem.wr64(hi, lo, vLo >>> 0, vHi >>> 0, info)
  }
}

/** Writes a loaded value to register slot t (2*reg), extending as the instruction says. */
export function setLoaded(x: Int32Array, t: number, size: number, signed: boolean, sf: number, lo: number, hi: number): void {
  if (size === 3) {
    x[t] = lo
    x[t + 1] = hi
    return
  }
  if (!signed) {
    x[t] = lo
    x[t + 1] = 0
    return
  }
  const shift = 32 - (8 << size)
  const v = shift === 0 ? lo | 0 : (lo << shift) >> shift
  x[t] = v
  x[t + 1] = sf ? v >> 31 : 0
}

/** Destination slot for Rt (31 = XZR: writes discarded). */
export function dst(rt: number): number {
  return 2 * (rt === 31 ? REG_DISCARD : rt)
}

export const enum Mode {
  Offset,
  Pre,
  Post,
}

/**
 * A single-register load or store with an immediate offset (any mode) or a register offset.
 */
function single(
  cpu: Cpu, isLoad: boolean, size: number, signed: boolean, sf: number, rn: number, rt: number, mode: Mode,
  imm: number, info: number, regOffset: ((x: Int32Array) => void) | null,
): Handler {
  const x = cpu.x
  const mem = cpu.data
  const n = 2 * rsp(rn)
  const t = 2 * rt // source slot (31 reads zero)
  const td = dst(rt)
  const spBase = rn === 31
  const [iLo, iHi] = splitImm(imm)
  const wb = mode !== Mode.Offset
  return () => {
    if (spBase) mem.checkSpAlignment()
    const bLo = x[n]! >>> 0
    const bHi = x[n + 1]! >>> 0
    let oLo = iLo
    let oHi = iHi
    if (regOffset !== null) {
      regOffset(x)
      oLo = alu[R_LO]!
      oHi = alu[R_HI]!
    }
    // Effective address (pre-index and offset) or base (post-index).
    let lo = bLo
    let hi = bHi
    if (mode !== Mode.Post) {
      const s = bLo + oLo
      lo = s >>> 0
      hi = (bHi + oHi + (s >= TWO32 ? 1 : 0)) >>> 0
    }
    if (isLoad) {
      const vLo = load(mem, size, hi, lo, info)
      const vHi = size === 3 ? mem.rdHi : 0
      if (wb) writeback(x, n, lo, hi, mode, iLo, iHi)
      setLoaded(x, td, size, signed, sf, vLo, vHi)
    } else {
      store(mem, size, hi, lo, x[t]!, x[t + 1]!, info)
      if (wb) writeback(x, n, lo, hi, mode, iLo, iHi)
    }
    return 0
  }
}

function writeback(x: Int32Array, n: number, lo: number, hi: number, mode: Mode, iLo: number, iHi: number): void {
  if (mode === Mode.Post) {
    const s = lo + iLo
    x[n] = s
    x[n + 1] = hi + iHi + (s >= TWO32 ? 1 : 0)
  } else {
    x[n] = lo
    x[n + 1] = hi
  }
}

/** Fast LDR/STR Xt/Wt, [Xn, #uimm] (the common case, kept small for the JIT). */
function fastUnsignedOffset(cpu: Cpu, isLoad: boolean, size: number, rn: number, rt: number, imm: number, info: number): Handler {
  const mem = cpu.data
  const x = cpu.x
  const n = 2 * rn
  const t = 2 * rt
  const td = dst(rt)
  if (size === 3) {
    return isLoad
      ? () => {
          const s = (x[n]! >>> 0) + imm
          const hi = (x[n + 1]! + (s >= TWO32 ? 1 : 0)) >>> 0
          const lo = mem.rd64(hi, s >>> 0, info)
          x[td] = lo
          x[td + 1] = mem.rdHi
          return 0
        }
      : () => {
          const s = (x[n]! >>> 0) + imm
          const hi = (x[n + 1]! + (s >= TWO32 ? 1 : 0)) >>> 0
          mem.wr64(hi, s >>> 0, x[t]!, x[t + 1]!, info)
          return 0
        }
  }
  if (size === 2) {
    return isLoad
      ? () => {
          const s = (x[n]! >>> 0) + imm
          const hi = (x[n + 1]! + (s >= TWO32 ? 1 : 0)) >>> 0
          x[td] = mem.rd32(hi, s >>> 0, info)
          x[td + 1] = 0
          return 0
        }
      : () => {
          const s = (x[n]! >>> 0) + imm
          const hi = (x[n + 1]! + (s >= TWO32 ? 1 : 0)) >>> 0
          mem.wr32(hi, s >>> 0, x[t]! >>> 0, info)
          return 0
        }
  }
  return single(cpu, isLoad, size, false, 0, rn, rt, Mode.Offset, imm, info, null)
}

/** LDR/STR Xt, [Xn], #imm: streaming loops. */
function fastPostIndex64(cpu: Cpu, isLoad: boolean, rn: number, rt: number, imm: number, info: number): Handler {
  const mem = cpu.data
  const x = cpu.x
  const n = 2 * rn
  const t = 2 * rt
  const td = dst(rt)
  const [iLo, iHi] = splitImm(imm)
  return isLoad
    ? () => {
        const lo = x[n]! >>> 0
        const hi = x[n + 1]! >>> 0
        const vLo = mem.rd64(hi, lo, info)
        x[td] = vLo
        x[td + 1] = mem.rdHi
        const s = lo + iLo
        x[n] = s
        x[n + 1] = hi + iHi + (s >= TWO32 ? 1 : 0)
        return 0
      }
    : () => {
        const lo = x[n]! >>> 0
        const hi = x[n + 1]! >>> 0
        mem.wr64(hi, lo, x[t]!, x[t + 1]!, info)
        const s = lo + iLo
        x[n] = s
        x[n + 1] = hi + iHi + (s >= TWO32 ? 1 : 0)
        return 0
      }
}

/** LDR/STR (any size) Xt, [Xn, Xm{, LSL #size}]: table and array indexing. */
function fastRegisterOffset(cpu: Cpu, isLoad: boolean, size: number, rn: number, rm: number, rt: number, amount: number, info: number): Handler {
  const mem = cpu.data
  const x = cpu.x
  const n = 2 * rn
  const m = 2 * rm
  const t = 2 * rt
  const td = dst(rt)
  return () => {
    const mLo = x[m]!
    const mHi = x[m + 1]!
    const oLo = amount === 0 ? mLo >>> 0 : (mLo << amount) >>> 0
    const oHi = amount === 0 ? mHi : (mHi << amount) | (mLo >>> (32 - amount))
    const s = (x[n]! >>> 0) + oLo
    const lo = s >>> 0
    const hi = (x[n + 1]! + oHi + (s >= TWO32 ? 1 : 0)) >>> 0
    if (isLoad) {
      const v = load(mem, size, hi, lo, info)
      x[td] = v
      x[td + 1] = size === 3 ? mem.rdHi : 0
    } else {
      store(mem, size, hi, lo, x[t]!, x[t + 1]!, info)
    }
    return 0
  }
}

function regOffsetOperand(m: number, option: number, amount: number): (x: Int32Array) => void {
  return (x) => {
    const lo = x[m]! >>> 0
    let hi = x[m + 1]! >>> 0
    if (option === 2) hi = 0 // UXTW
    else if (option === 6) hi = lo >>> 31 ? 0xffffffff : 0 // SXTW
    if (amount === 0) {
      alu[R_LO] = lo
      alu[R_HI] = hi
    } else {
      alu[R_LO] = (lo << amount) >>> 0
      alu[R_HI] = ((hi << amount) | (lo >>> (32 - amount))) >>> 0
    }
  }
}

/** Single-register loads and stores with an immediate offset, in each index mode, and LDTR/STTR. */
type ImmediateForm =
  | 'STR_ui' | 'LDR_ui' | 'LDRS_ui' | 'STUR' | 'LDUR' | 'LDURS' | 'STR_post' | 'LDR_post' | 'LDRS_post' | 'STR_pre'
  | 'LDR_pre' | 'LDRS_pre' | 'STTR' | 'LDTR' | 'LDTRS'

function loadStoreImmediate(isLoad: boolean, mode: Mode, kind: 'imm' | 'unpriv'): Build<ImmediateForm> {
  return (cpu, f) => {
    const { size, rn, rt, imm } = f
    // LDRS* carry sf (the width of the sign-extended result); the others are as wide as the access.
    const signed = 'sf' in f
    const sf = signed ? f.sf : size === 3 ? 1 : 0
    const wb = mode !== Mode.Offset
    let info = wb || kind === 'unpriv' ? 0 : accessIss(1 << size, rt, signed, sf === 1, false)
    if (kind === 'unpriv') info |= ACC_UNPRIV
    // MTE: SP-based immediate offsets without writeback are not tag-checked.
    if (kind === 'imm' && rn === 31 && !wb) info |= ACC_UNCHECKED
    if (!signed && mode === Mode.Offset && kind === 'imm' && rn !== 31 && imm >= 0) {
      return fastUnsignedOffset(cpu, isLoad, size, rn, rt, imm, info)
    }
    if (!signed && mode === Mode.Post && size === 3 && rn !== 31 && rn !== rt) {
      return fastPostIndex64(cpu, isLoad, rn, rt, imm, info)
    }
    return single(cpu, isLoad, size, signed, sf, rn, rt, mode, imm, info, null)
  }
}

/** LDR/STR/LDRS* (register offset). */
function loadStoreRegister(isLoad: boolean): Build<'STR_reg' | 'LDR_reg' | 'LDRS_reg'> {
  return (cpu, f) => {
    const { size, rn, rt, rm, option } = f
    const signed = 'sf' in f
    const sf = signed ? f.sf : size === 3 ? 1 : 0
    const info = accessIss(1 << size, rt, signed, sf === 1, false)
    if ((option & 2) === 0) return () => cpu.undefined()
    const amount = f.amount ? size : 0
    if (option === 3 && !signed && rn !== 31) return fastRegisterOffset(cpu, isLoad, size, rn, rm, rt, amount, info)
    return single(cpu, isLoad, size, signed, sf, rn, rt, Mode.Offset, 0, info, regOffsetOperand(2 * rm, option, amount))
  }
}

const loadLiteral: Build<'LDR_lit' | 'LDRSW_lit'> = (cpu, f) => {
  const mem = cpu.data
  const x = cpu.x
  const td = dst(f.rt)
  // LDR (literal) has sf; LDRSW (literal) has none.
  const isSw = !('sf' in f)
  const sf = 'sf' in f ? f.sf : 1
  const [iLo, iHi] = splitImm(f.imm)
  const info = accessIss(isSw || !sf ? 4 : 8, f.rt, isSw, isSw || sf === 1, false) | ACC_UNCHECKED
  return () => {
    const s = cpu.pcLo + iLo
    const lo = s >>> 0
    const hi = (cpu.pcHi + iHi + (s >= TWO32 ? 1 : 0)) >>> 0
    if (sf && !isSw) {
      const v = mem.rd64(hi, lo, info)
      x[td] = v
      x[td + 1] = mem.rdHi
    } else {
      const v = mem.rd32(hi, lo, info)
      x[td] = v
      x[td + 1] = isSw ? v >> 31 : 0
    }
    return 0
  }
}

const prefetch: Build<'PRFM_lit' | 'PRFM_ui' | 'PRFUM' | 'PRFM_reg'> = () => () => 0

/** LDP/STP/LDPSW (and LDNP/STNP as mode 0). */
function pair(isLoad: boolean): Build<'STP' | 'LDP' | 'LDPSW'> {
  return (cpu, f) => {
    const mem = cpu.data
    const x = cpu.x
    // LDPSW has no sf: 32-bit words, sign-extended.
    const signedWord = !('sf' in f)
    const sf = 'sf' in f ? f.sf : 0
    const size = sf ? 3 : 2
    const bytes = 1 << size
    const rawMode = f.mode
    const mode = rawMode === 1 ? Mode.Post : rawMode === 3 ? Mode.Pre : Mode.Offset
    const rn = f.rn
    const n = 2 * rsp(rn)
    const t1 = 2 * f.rt
    const t2 = 2 * f.rt2
    const d1 = dst(f.rt)
    const d2 = dst(f.rt2)
    const [iLo, iHi] = splitImm(f.imm)
    const info = rn === 31 && mode === Mode.Offset ? ACC_UNCHECKED : 0
    const spBase = rn === 31
    if (sf && !signedWord) return fastPair64(cpu, isLoad, mode, spBase, n, t1, t2, d1, d2, iLo, iHi, info)
    return () => {
      if (spBase) mem.checkSpAlignment()
      const bLo = x[n]! >>> 0
      const bHi = x[n + 1]! >>> 0
      let lo = bLo
      let hi = bHi
      if (mode !== Mode.Post) {
        const s = bLo + iLo
        lo = s >>> 0
        hi = (bHi + iHi + (s >= TWO32 ? 1 : 0)) >>> 0
      }
      const s2 = lo + bytes
      const lo2 = s2 >>> 0
      const hi2 = s2 >= TWO32 ? (hi + 1) >>> 0 : hi
      if (isLoad) {
        const aLo = load(mem, size, hi, lo, info)
        const aHi = mem.rdHi
        const bLo2 = load(mem, size, hi2, lo2, info)
        const bHi2 = mem.rdHi
        if (mode !== Mode.Offset) writeback(x, n, lo, hi, mode, iLo, iHi)
        setLoaded(x, d1, size, signedWord, 1, aLo, aHi)
        setLoaded(x, d2, size, signedWord, 1, bLo2, bHi2)
      } else {
        const aLo = x[t1]!
        const aHi = x[t1 + 1]!
        const bLo2 = x[t2]!
        const bHi2 = x[t2 + 1]!
        mem.probeParts(hi, lo, 2 * bytes, bytes, info, true)
        store(mem, size, hi, lo, aLo, aHi, info)
        store(mem, size, hi2, lo2, bLo2, bHi2, info)
        if (mode !== Mode.Offset) writeback(x, n, lo, hi, mode, iLo, iHi)
      }
      return 0
    }
  }
}

/** LDP/STP of X registers: the common prologue/epilogue and copy form. */
function fastPair64(
  cpu: Cpu, isLoad: boolean, mode: Mode, spBase: boolean, n: number, t1: number, t2: number, d1: number, d2: number,
  iLo: number, iHi: number, info: number,
): Handler {
  const x = cpu.x
  const mem = cpu.data
  const post = mode === Mode.Post
  const wb = mode !== Mode.Offset
  return () => {
    if (spBase) mem.checkSpAlignment()
    const bLo = x[n]! >>> 0
    const bHi = x[n + 1]! >>> 0
    const s = bLo + iLo
    const eLo = s >>> 0
    const eHi = (bHi + iHi + (s >= TWO32 ? 1 : 0)) >>> 0
    const lo = post ? bLo : eLo
    const hi = post ? bHi : eHi
    const s2 = lo + 8
    const lo2 = s2 >>> 0
    const hi2 = s2 >= TWO32 ? (hi + 1) >>> 0 : hi
    if (isLoad) {
      const aLo = mem.rd64(hi, lo, info)
      const aHi = mem.rdHi
      const bLo2 = mem.rd64(hi2, lo2, info)
      const bHi2 = mem.rdHi
      if (wb) {
        x[n] = eLo
        x[n + 1] = eHi
      }
      x[d1] = aLo
      x[d1 + 1] = aHi
      x[d2] = bLo2
      x[d2 + 1] = bHi2
    } else {
      // Both halves are checked before either is written (a fault leaves memory unchanged).
      mem.probeParts(hi, lo, 16, 8, info, true)
      mem.wr64(hi, lo, x[t1]!, x[t1 + 1]!, info)
      mem.wr64(hi2, lo2, x[t2]!, x[t2 + 1]!, info)
      if (wb) {
        x[n] = eLo
        x[n + 1] = eHi
      }
    }
    return 0
  }
}

export const loadsAndStores: HandlerTable = {
  LDR_lit: loadLiteral,
  LDRSW_lit: loadLiteral,
  PRFM_lit: prefetch,
  PRFM_ui: prefetch,
  PRFUM: prefetch,
  PRFM_reg: prefetch,
  STR_ui: loadStoreImmediate(false, Mode.Offset, 'imm'),
  LDR_ui: loadStoreImmediate(true, Mode.Offset, 'imm'),
  LDRS_ui: loadStoreImmediate(true, Mode.Offset, 'imm'),
  STUR: loadStoreImmediate(false, Mode.Offset, 'imm'),
  LDUR: loadStoreImmediate(true, Mode.Offset, 'imm'),
  LDURS: loadStoreImmediate(true, Mode.Offset, 'imm'),
  STR_post: loadStoreImmediate(false, Mode.Post, 'imm'),
  LDR_post: loadStoreImmediate(true, Mode.Post, 'imm'),
  LDRS_post: loadStoreImmediate(true, Mode.Post, 'imm'),
  STR_pre: loadStoreImmediate(false, Mode.Pre, 'imm'),
  LDR_pre: loadStoreImmediate(true, Mode.Pre, 'imm'),
  LDRS_pre: loadStoreImmediate(true, Mode.Pre, 'imm'),
  STTR: loadStoreImmediate(false, Mode.Offset, 'unpriv'),
  LDTR: loadStoreImmediate(true, Mode.Offset, 'unpriv'),
  LDTRS: loadStoreImmediate(true, Mode.Offset, 'unpriv'),
  STR_reg: loadStoreRegister(false),
  LDR_reg: loadStoreRegister(true),
  LDRS_reg: loadStoreRegister(true),
  STP: pair(false),
  LDP: pair(true),
  LDPSW: pair(true),
}
