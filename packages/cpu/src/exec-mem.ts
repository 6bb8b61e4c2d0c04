// Loads and stores: single registers in every addressing form, pairs, literal loads,
// unprivileged, exclusives, acquire/release (incl. RCpc), CAS/CASP and the LSE atomics.
// Every access goes through the CPU's rd*/wr* helpers (TLB fast path, MMU on a miss) and
// all memory accesses of an instruction happen before any register is written, so an
// abort or an exit leaves the registers as they were and the instruction can be retried.

import { add64, alu, splitImm, R_HI, R_LO } from './alu.js'
import { ACC_ALIGNED, ACC_UNCHECKED, ACC_UNPRIV, TWO32, accessIss } from './constants.js'
import type { Cpu } from './cpu.js'
import type { Fields, Handler } from './exec.js'
import { REG_DISCARD, rsp } from './state.js'

type Builder = (cpu: Cpu, d: Fields, word: number) => Handler


/** Loads `1 << size` bytes; returns the low word, the high word of an 8-byte load in cpu.data.rdHi. */
function load(cpu: Cpu, size: number, hi: number, lo: number, info: number): number {
  switch (size) {
    case 0:
      return cpu.data.rd8(hi, lo, info)
    case 1:
      return cpu.data.rd16(hi, lo, info)
    case 2:
      return cpu.data.rd32(hi, lo, info)
    default:
      return cpu.data.rd64(hi, lo, info)
  }
}

function store(cpu: Cpu, size: number, hi: number, lo: number, vLo: number, vHi: number, info: number): void {
  switch (size) {
    case 0:
      cpu.data.wr8(hi, lo, vLo & 0xff, info)
      break
    case 1:
      cpu.data.wr16(hi, lo, vLo & 0xffff, info)
      break
    case 2:
      cpu.data.wr32(hi, lo, vLo >>> 0, info)
      break
    default:
      cpu.data.wr64(hi, lo, vLo >>> 0, vHi >>> 0, info)
  }
}

/** Writes a loaded value to register slot t (2*reg), extending as the instruction says. */
function setLoaded(x: Int32Array, t: number, size: number, signed: boolean, sf: number, lo: number, hi: number): void {
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
function dst(rt: number): number {
  return 2 * (rt === 31 ? REG_DISCARD : rt)
}

const enum Mode {
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
  const n = 2 * rsp(rn)
  const t = 2 * rt // source slot (31 reads zero)
  const td = dst(rt)
  const spBase = rn === 31
  const [iLo, iHi] = splitImm(imm)
  const wb = mode !== Mode.Offset
  return () => {
    if (spBase) cpu.data.checkSpAlignment()
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
      const vLo = load(cpu, size, hi, lo, info)
      const vHi = size === 3 ? cpu.data.rdHi : 0
      if (wb) writeback(x, n, lo, hi, mode, iLo, iHi)
      setLoaded(x, td, size, signed, sf, vLo, vHi)
    } else {
      store(cpu, size, hi, lo, x[t]!, x[t + 1]!, info)
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
  const x = cpu.x
  const n = 2 * rn
  const t = 2 * rt
  const td = dst(rt)
  if (size === 3) {
    return isLoad
      ? () => {
          const s = (x[n]! >>> 0) + imm
          const hi = (x[n + 1]! + (s >= TWO32 ? 1 : 0)) >>> 0
          const lo = cpu.data.rd64(hi, s >>> 0, info)
          x[td] = lo
          x[td + 1] = cpu.data.rdHi
          return 0
        }
      : () => {
          const s = (x[n]! >>> 0) + imm
          const hi = (x[n + 1]! + (s >= TWO32 ? 1 : 0)) >>> 0
          cpu.data.wr64(hi, s >>> 0, x[t]!, x[t + 1]!, info)
          return 0
        }
  }
  if (size === 2) {
    return isLoad
      ? () => {
          const s = (x[n]! >>> 0) + imm
          const hi = (x[n + 1]! + (s >= TWO32 ? 1 : 0)) >>> 0
          x[td] = cpu.data.rd32(hi, s >>> 0, info)
          x[td + 1] = 0
          return 0
        }
      : () => {
          const s = (x[n]! >>> 0) + imm
          const hi = (x[n + 1]! + (s >= TWO32 ? 1 : 0)) >>> 0
          cpu.data.wr32(hi, s >>> 0, x[t]! >>> 0, info)
          return 0
        }
  }
  return single(cpu, isLoad, size, false, 0, rn, rt, Mode.Offset, imm, info, null)
}

/** LDR/STR Xt, [Xn], #imm: streaming loops. */
function fastPostIndex64(cpu: Cpu, isLoad: boolean, rn: number, rt: number, imm: number, info: number): Handler {
  const x = cpu.x
  const n = 2 * rn
  const t = 2 * rt
  const td = dst(rt)
  const [iLo, iHi] = splitImm(imm)
  return isLoad
    ? () => {
        const lo = x[n]! >>> 0
        const hi = x[n + 1]! >>> 0
        const vLo = cpu.data.rd64(hi, lo, info)
        x[td] = vLo
        x[td + 1] = cpu.data.rdHi
        const s = lo + iLo
        x[n] = s
        x[n + 1] = hi + iHi + (s >= TWO32 ? 1 : 0)
        return 0
      }
    : () => {
        const lo = x[n]! >>> 0
        const hi = x[n + 1]! >>> 0
        cpu.data.wr64(hi, lo, x[t]!, x[t + 1]!, info)
        const s = lo + iLo
        x[n] = s
        x[n + 1] = hi + iHi + (s >= TWO32 ? 1 : 0)
        return 0
      }
}

/** LDR/STR (any size) Xt, [Xn, Xm{, LSL #size}]: table and array indexing. */
function fastRegisterOffset(cpu: Cpu, isLoad: boolean, size: number, rn: number, rm: number, rt: number, amount: number, info: number): Handler {
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
      const v = load(cpu, size, hi, lo, info)
      x[td] = v
      x[td + 1] = size === 3 ? cpu.data.rdHi : 0
    } else {
      store(cpu, size, hi, lo, x[t]!, x[t + 1]!, info)
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

function loadStore(isLoad: boolean, signed: boolean, mode: Mode, kind: 'imm' | 'reg' | 'unpriv'): Builder {
  return (cpu, f) => {
    const size = f.size!
    const rn = f.rn!
    const rt = f.rt!
    const sf = signed ? f.sf! : size === 3 ? 1 : 0
    const wb = mode !== Mode.Offset
    let info = wb || kind === 'unpriv' ? 0 : accessIss(1 << size, rt, signed, sf === 1, false)
    if (kind === 'unpriv') info |= ACC_UNPRIV
    // MTE: SP-based immediate offsets without writeback are not tag-checked.
    if (kind === 'imm' && rn === 31 && !wb) info |= ACC_UNCHECKED
    if (kind === 'reg') {
      const option = f.option!
      if ((option & 2) === 0) return () => cpu.undefined()
      const amount = f.amount! ? size : 0
      if (option === 3 && !signed && rn !== 31) return fastRegisterOffset(cpu, isLoad, size, rn, f.rm!, rt, amount, info)
      return single(cpu, isLoad, size, signed, sf, rn, rt, mode, 0, info, regOffsetOperand(2 * f.rm!, option, amount))
    }
    if (!signed && mode === Mode.Offset && kind === 'imm' && rn !== 31 && f.imm! >= 0) {
      return fastUnsignedOffset(cpu, isLoad, size, rn, rt, f.imm!, info)
    }
    if (!signed && mode === Mode.Post && size === 3 && rn !== 31 && rn !== rt) {
      return fastPostIndex64(cpu, isLoad, rn, rt, f.imm!, info)
    }
    return single(cpu, isLoad, size, signed, sf, rn, rt, mode, f.imm!, info, null)
  }
}

const loadLiteral: Builder = (cpu, f) => {
  const x = cpu.x
  const td = dst(f.rt!)
  // LDR (literal) has sf; LDRSW (literal) has none.
  const isSw = f.sf === undefined
  const sf = f.sf ?? 1
  const [iLo, iHi] = splitImm(f.imm!)
  const info = accessIss(isSw || !sf ? 4 : 8, f.rt!, isSw, isSw || sf === 1, false) | ACC_UNCHECKED
  return () => {
    const s = cpu.pcLo + iLo
    const lo = s >>> 0
    const hi = (cpu.pcHi + iHi + (s >= TWO32 ? 1 : 0)) >>> 0
    if (sf && !isSw) {
      const v = cpu.data.rd64(hi, lo, info)
      x[td] = v
      x[td + 1] = cpu.data.rdHi
    } else {
      const v = cpu.data.rd32(hi, lo, info)
      x[td] = v
      x[td + 1] = isSw ? v >> 31 : 0
    }
    return 0
  }
}

const prefetch: Builder = () => () => 0

/** LDP/STP/LDPSW (and LDNP/STNP as mode 0). */
function pair(isLoad: boolean, signedWord: boolean): Builder {
  return (cpu, f) => {
    const x = cpu.x
    const sf = signedWord ? 0 : f.sf!
    const size = sf ? 3 : 2
    const bytes = 1 << size
    const rawMode = f.mode!
    const mode = rawMode === 1 ? Mode.Post : rawMode === 3 ? Mode.Pre : Mode.Offset
    const rn = f.rn!
    const n = 2 * rsp(rn)
    const t1 = 2 * f.rt!
    const t2 = 2 * f.rt2!
    const d1 = dst(f.rt!)
    const d2 = dst(f.rt2!)
    const [iLo, iHi] = splitImm(f.imm!)
    const info = rn === 31 && mode === Mode.Offset ? ACC_UNCHECKED : 0
    const spBase = rn === 31
    if (sf && !signedWord) return fastPair64(cpu, isLoad, mode, spBase, n, t1, t2, d1, d2, iLo, iHi, info)
    return () => {
      if (spBase) cpu.data.checkSpAlignment()
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
        const aLo = load(cpu, size, hi, lo, info)
        const aHi = cpu.data.rdHi
        const bLo2 = load(cpu, size, hi2, lo2, info)
        const bHi2 = cpu.data.rdHi
        if (mode !== Mode.Offset) writeback(x, n, lo, hi, mode, iLo, iHi)
        setLoaded(x, d1, size, signedWord, 1, aLo, aHi)
        setLoaded(x, d2, size, signedWord, 1, bLo2, bHi2)
      } else {
        const aLo = x[t1]!
        const aHi = x[t1 + 1]!
        const bLo2 = x[t2]!
        const bHi2 = x[t2 + 1]!
        cpu.data.probeParts(hi, lo, 2 * bytes, bytes, info, true)
        store(cpu, size, hi, lo, aLo, aHi, info)
        store(cpu, size, hi2, lo2, bLo2, bHi2, info)
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
  const post = mode === Mode.Post
  const wb = mode !== Mode.Offset
  return () => {
    if (spBase) cpu.data.checkSpAlignment()
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
      const aLo = cpu.data.rd64(hi, lo, info)
      const aHi = cpu.data.rdHi
      const bLo2 = cpu.data.rd64(hi2, lo2, info)
      const bHi2 = cpu.data.rdHi
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
      cpu.data.probeParts(hi, lo, 16, 8, info, true)
      cpu.data.wr64(hi, lo, x[t1]!, x[t1 + 1]!, info)
      cpu.data.wr64(hi2, lo2, x[t2]!, x[t2 + 1]!, info)
      if (wb) {
        x[n] = eLo
        x[n + 1] = eHi
      }
    }
    return 0
  }
}

// ---- exclusives and ordered accesses ----

function baseAddress(cpu: Cpu, n: number, spBase: boolean): void {
  if (spBase) cpu.data.checkSpAlignment()
  alu[R_LO] = cpu.x[n]! >>> 0
  alu[R_HI] = cpu.x[n + 1]! >>> 0
}

function checkAligned(cpu: Cpu, hi: number, lo: number, bytes: number, isWrite: boolean): void {
  if ((lo & (bytes - 1)) !== 0) cpu.data.alignmentFault(hi, lo, isWrite)
}

function loadExclusive(isPair: boolean): Builder {
  return (cpu, f) => {
    const x = cpu.x
    const size = isPair ? 2 + f.sf! : f.size!
    const bytes = 1 << size
    const total = isPair ? bytes * 2 : bytes
    const rn = f.rn!
    const n = 2 * rsp(rn)
    const d1 = dst(f.rt!)
    const d2 = isPair ? dst(f.rt2!) : 0
    const info = ACC_ALIGNED | (rn === 31 ? ACC_UNCHECKED : 0)
    return () => {
      baseAddress(cpu, n, rn === 31)
      const lo = alu[R_LO]!
      const hi = alu[R_HI]!
      checkAligned(cpu, hi, lo, total, false)
      const aLo = load(cpu, size, hi, lo, info)
      const aHi = cpu.data.rdHi
      let bLo = 0
      let bHi = 0
      if (isPair) {
        bLo = load(cpu, size, hi, (lo + bytes) >>> 0, info)
        bHi = cpu.data.rdHi
      }
      cpu.data.setExclusive(hi, lo, total)
      setLoaded(x, d1, size, false, 1, aLo, aHi)
      if (isPair) setLoaded(x, d2, size, false, 1, bLo, bHi)
      return 0
    }
  }
}

function storeExclusive(isPair: boolean): Builder {
  return (cpu, f) => {
    const x = cpu.x
    const size = isPair ? 2 + f.sf! : f.size!
    const bytes = 1 << size
    const total = isPair ? bytes * 2 : bytes
    const rn = f.rn!
    const n = 2 * rsp(rn)
    const t1 = 2 * f.rt!
    const t2 = isPair ? 2 * f.rt2! : 0
    const s = dst(f.rs!)
    const info = ACC_ALIGNED | (rn === 31 ? ACC_UNCHECKED : 0)
    return () => {
      baseAddress(cpu, n, rn === 31)
      const lo = alu[R_LO]!
      const hi = alu[R_HI]!
      checkAligned(cpu, hi, lo, total, true)
      const aLo = x[t1]!
      const aHi = x[t1 + 1]!
      const bLo = isPair ? x[t2]! : 0
      const bHi = isPair ? x[t2 + 1]! : 0
      // Aligned to the pair's size: both halves share a page and a granule, so the first
      // store's checks cover the second.
      const ok = cpu.data.checkExclusive(hi, lo, total)
      if (ok) {
        store(cpu, size, hi, lo, aLo, aHi, info)
        if (isPair) store(cpu, size, hi, (lo + bytes) >>> 0, bLo, bHi, info)
      }
      x[s] = ok ? 0 : 1
      x[s + 1] = 0
      return 0
    }
  }
}

/** LDAR/STLR/LDAPR and LDAPUR/LDAPURS/STLUR (imm present). */
function ordered(isLoad: boolean, withImm: boolean, signed: boolean): Builder {
  return (cpu, f) => {
    const x = cpu.x
    const size = f.size!
    const bytes = 1 << size
    const rn = f.rn!
    const n = 2 * rsp(rn)
    const t = 2 * f.rt!
    const td = dst(f.rt!)
    const sf = signed ? f.sf! : size === 3 ? 1 : 0
    const [iLo, iHi] = splitImm(withImm ? f.imm! : 0)
    const info = accessIss(bytes, f.rt!, signed, sf === 1, true) | ACC_ALIGNED | (rn === 31 ? ACC_UNCHECKED : 0)
    return () => {
      baseAddress(cpu, n, rn === 31)
      const sum = alu[R_LO]! + iLo
      const lo = sum >>> 0
      const hi = (alu[R_HI]! + iHi + (sum >= TWO32 ? 1 : 0)) >>> 0
      checkAligned(cpu, hi, lo, bytes, !isLoad)
      if (isLoad) {
        const vLo = load(cpu, size, hi, lo, info)
        setLoaded(x, td, size, signed, sf, vLo, cpu.data.rdHi)
      } else {
        store(cpu, size, hi, lo, x[t]!, x[t + 1]!, info)
      }
      return 0
    }
  }
}

// ---- CAS, CASP, LSE atomics ----

function sizeMask(size: number): [number, number] {
  return size === 3 ? [0xffffffff, 0xffffffff] : size === 2 ? [0xffffffff, 0] : size === 1 ? [0xffff, 0] : [0xff, 0]
}

const compareAndSwap: Builder = (cpu, f) => {
  const x = cpu.x
  const size = f.size!
  const bytes = 1 << size
  const rn = f.rn!
  const n = 2 * rsp(rn)
  const sSrc = 2 * f.rs!
  const sDst = dst(f.rs!)
  const t = 2 * f.rt!
  const [mLo, mHi] = sizeMask(size)
  const info = ACC_ALIGNED | (rn === 31 ? ACC_UNCHECKED : 0)
  return () => {
    baseAddress(cpu, n, rn === 31)
    const lo = alu[R_LO]!
    const hi = alu[R_HI]!
    checkAligned(cpu, hi, lo, bytes, true)
    const oldLo = load(cpu, size, hi, lo, info) >>> 0
    const oldHi = size === 3 ? cpu.data.rdHi >>> 0 : 0
    if (oldLo === ((x[sSrc]! & mLo) >>> 0) && oldHi === ((x[sSrc + 1]! & mHi) >>> 0)) {
      store(cpu, size, hi, lo, x[t]!, x[t + 1]!, info)
    }
    x[sDst] = oldLo
    x[sDst + 1] = oldHi
    return 0
  }
}

const compareAndSwapPair: Builder = (cpu, f) => {
  const x = cpu.x
  const size = 2 + f.sf!
  const bytes = 1 << size
  const rn = f.rn!
  const n = 2 * rsp(rn)
  const rs = f.rs!
  const rt = f.rt!
  const [mLo, mHi] = sizeMask(size)
  const info = ACC_ALIGNED | (rn === 31 ? ACC_UNCHECKED : 0)
  return () => {
    baseAddress(cpu, n, rn === 31)
    const lo = alu[R_LO]!
    const hi = alu[R_HI]!
    checkAligned(cpu, hi, lo, bytes * 2, true)
    // As QEMU: the whole pair is checked as a write (permission, tags; WnR = 1) before the
    // compare, whether or not the store then happens.
    cpu.data.probeAccess(hi, lo, bytes * 2, bytes * 2, info, true)
    // Tags were checked (as a write) by the probe: the parts are not checked again.
    const parts = info | ACC_UNCHECKED
    const aLo = load(cpu, size, hi, lo, parts) >>> 0
    const aHi = size === 3 ? cpu.data.rdHi >>> 0 : 0
    const bLo = load(cpu, size, hi, (lo + bytes) >>> 0, parts) >>> 0
    const bHi = size === 3 ? cpu.data.rdHi >>> 0 : 0
    const s0 = 2 * rs
    const s1 = 2 * (rs + 1)
    const equal =
      aLo === ((x[s0]! & mLo) >>> 0) && aHi === ((x[s0 + 1]! & mHi) >>> 0) &&
      bLo === ((x[s1]! & mLo) >>> 0) && bHi === ((x[s1 + 1]! & mHi) >>> 0)
    if (equal) {
      store(cpu, size, hi, lo, x[2 * rt]!, x[2 * rt + 1]!, parts)
      store(cpu, size, hi, (lo + bytes) >>> 0, x[2 * (rt + 1)]!, x[2 * (rt + 1) + 1]!, parts)
    }
    const d0 = dst(rs)
    const d1 = dst(rs + 1)
    x[d0] = aLo
    x[d0 + 1] = aHi
    x[d1] = bLo
    x[d1 + 1] = bHi
    return 0
  }
}

const ADD = 0
const CLR = 1
const EOR = 2
const SET = 3
const SMAX = 4
const SMIN = 5
const UMAX = 6
const UMIN = 7
const SWP = 8

function atomic(op: number): Builder {
  return (cpu, f) => {
    const x = cpu.x
    const size = f.size!
    const bytes = 1 << size
    const rn = f.rn!
    const n = 2 * rsp(rn)
    const sSrc = 2 * f.rs!
    const td = dst(f.rt!)
    const [mLo, mHi] = sizeMask(size)
    const bits = 8 << size
    const info = ACC_ALIGNED | (rn === 31 ? ACC_UNCHECKED : 0)
    return () => {
      baseAddress(cpu, n, rn === 31)
      const lo = alu[R_LO]!
      const hi = alu[R_HI]!
      checkAligned(cpu, hi, lo, bytes, true)
      const oLo = load(cpu, size, hi, lo, info) >>> 0
      const oHi = size === 3 ? cpu.data.rdHi >>> 0 : 0
      const sLo = (x[sSrc]! & mLo) >>> 0
      const sHi = (x[sSrc + 1]! & mHi) >>> 0
      let nLo: number
      let nHi: number
      switch (op) {
        case ADD:
          add64(oLo, oHi, sLo, sHi, 0)
          nLo = alu[R_LO]!
          nHi = alu[R_HI]!
          break
        case CLR:
          nLo = oLo & ~sLo
          nHi = oHi & ~sHi
          break
        case EOR:
          nLo = oLo ^ sLo
          nHi = oHi ^ sHi
          break
        case SET:
          nLo = oLo | sLo
          nHi = oHi | sHi
          break
        case SWP:
          nLo = sLo
          nHi = sHi
          break
        default: {
          const signed = op === SMAX || op === SMIN
          const c = compare(oLo, oHi, sLo, sHi, bits, signed)
          const wantMax = op === SMAX || op === UMAX
          const keepOld = wantMax ? c >= 0 : c <= 0
          nLo = keepOld ? oLo : sLo
          nHi = keepOld ? oHi : sHi
        }
      }
      store(cpu, size, hi, lo, nLo, nHi, info)
      x[td] = oLo
      x[td + 1] = oHi
      return 0
    }
  }
}

/** Compares two `bits`-wide values held as halves: -1, 0 or 1. */
function compare(aLo: number, aHi: number, bLo: number, bHi: number, bits: number, signed: boolean): number {
  if (bits === 64) {
    let ah = aHi
    let bh = bHi
    if (signed) {
      ah |= 0
      bh |= 0
    }
    if (ah !== bh) return ah < bh ? -1 : 1
    return aLo === bLo ? 0 : aLo < bLo ? -1 : 1
  }
  let a = aLo
  let b = bLo
  if (signed) {
    const sh = 32 - bits
    a = (a << sh) >> sh
    b = (b << sh) >> sh
  }
  return a === b ? 0 : a < b ? -1 : 1
}

const LOAD_STORE: Record<string, Builder> = {
  LDR_lit: loadLiteral,
  LDRSW_lit: loadLiteral,
  PRFM_lit: prefetch,
  PRFM_ui: prefetch,
  PRFUM: prefetch,
  PRFM_reg: prefetch,
  STR_ui: loadStore(false, false, Mode.Offset, 'imm'),
  LDR_ui: loadStore(true, false, Mode.Offset, 'imm'),
  LDRS_ui: loadStore(true, true, Mode.Offset, 'imm'),
  STUR: loadStore(false, false, Mode.Offset, 'imm'),
  LDUR: loadStore(true, false, Mode.Offset, 'imm'),
  LDURS: loadStore(true, true, Mode.Offset, 'imm'),
  STR_post: loadStore(false, false, Mode.Post, 'imm'),
  LDR_post: loadStore(true, false, Mode.Post, 'imm'),
  LDRS_post: loadStore(true, true, Mode.Post, 'imm'),
  STR_pre: loadStore(false, false, Mode.Pre, 'imm'),
  LDR_pre: loadStore(true, false, Mode.Pre, 'imm'),
  LDRS_pre: loadStore(true, true, Mode.Pre, 'imm'),
  STTR: loadStore(false, false, Mode.Offset, 'unpriv'),
  LDTR: loadStore(true, false, Mode.Offset, 'unpriv'),
  LDTRS: loadStore(true, true, Mode.Offset, 'unpriv'),
  STR_reg: loadStore(false, false, Mode.Offset, 'reg'),
  LDR_reg: loadStore(true, false, Mode.Offset, 'reg'),
  LDRS_reg: loadStore(true, true, Mode.Offset, 'reg'),
  STP: pair(false, false),
  LDP: pair(true, false),
  LDPSW: pair(true, true),
  LDXR: loadExclusive(false),
  LDAXR: loadExclusive(false),
  LDXP: loadExclusive(true),
  LDAXP: loadExclusive(true),
  STXR: storeExclusive(false),
  STLXR: storeExclusive(false),
  STXP: storeExclusive(true),
  STLXP: storeExclusive(true),
  LDAR: ordered(true, false, false),
  STLR: ordered(false, false, false),
  LDAPR: ordered(true, false, false),
  LDAPUR: ordered(true, true, false),
  LDAPURS: ordered(true, true, true),
  STLUR: ordered(false, true, false),
  CAS: compareAndSwap,
  CASA: compareAndSwap,
  CASL: compareAndSwap,
  CASAL: compareAndSwap,
  CASP: compareAndSwapPair,
  CASPA: compareAndSwapPair,
  CASPL: compareAndSwapPair,
  CASPAL: compareAndSwapPair,
  LDADD: atomic(ADD),
  LDCLR: atomic(CLR),
  LDEOR: atomic(EOR),
  LDSET: atomic(SET),
  LDSMAX: atomic(SMAX),
  LDSMIN: atomic(SMIN),
  LDUMAX: atomic(UMAX),
  LDUMIN: atomic(UMIN),
  SWP: atomic(SWP),
}

export function compileLoadStore(name: string): Builder | undefined {
  return LOAD_STORE[name]
}

