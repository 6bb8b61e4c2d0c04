// Exclusives (LDXR/STXR and pairs), load-acquire/store-release (incl. RCpc LDAPR and the
// unscaled LDAPUR/STLUR), compare-and-swap (CAS, CASP) and the LSE atomics. All of them
// must be naturally aligned, and all memory accesses happen before any register is written.

import { add64, alu, splitImm, R_HI, R_LO } from './alu.js'
import { ACC_ALIGNED, ACC_UNCHECKED, PAGE_OFFSET_MASK, TWO32, accessIss } from './constants.js'
import type { Cpu } from './cpu.js'
import type { DataPath } from './data-path.js'
import { dst, load, setLoaded, store } from './exec-loadstore.js'
import type { Build, HandlerTable } from './handlers.js'
import { smpMonitorOf, type SmpLock, type SmpMonitor } from './smp-monitor.js'
import { rsp } from './state.js'

/**
 * Runs `body` inside the global monitor's lock (vCPUs on worker threads, see smp-monitor.ts);
 * with no lock (vCPUs in lockstep on one thread) `body` itself.
 */
function locked(lock: SmpLock | null, body: () => number): () => number {
  if (!lock) return body
  return () => {
    lock.acquire()
    try {
      return body()
    } finally {
      lock.release()
    }
  }
}

/** Whether the CPU runs on a thread of its own beside others (a monitor with a lock). */
function isThreaded(smp: SmpMonitor | undefined): boolean {
  return smp !== undefined && smp.lock !== null
}

/** What memory held at the last casStore: low half, high half (0 below 64 bits). */
let casLo = 0
let casHi = 0
/** 64-bit views of host chunks for casStore, made once per chunk. */
const chunkWords64 = new WeakMap<Uint8Array, BigUint64Array>()

/**
 * The write of an atomic under the global monitor (vCPU threads): stores `nLo/nHi` (1 << size
 * bytes, naturally aligned) at [hi:lo] only if memory still holds `eLo/eHi`, as one host
 * compare-and-swap, after the checks a store makes (watchpoints, permission and stage 2, tags).
 * The monitor's lock keeps other CPUs' atomics out but not their plain stores: writing back a
 * value computed from an earlier load would undo a plain store that landed in between (on
 * Linux, a queued spinlock's byte-store unlock lost under another CPU's LDSET of its pending
 * bit leaves the lock held by nobody). Returns whether it stored; casLo/casHi hold what memory
 * held. A 64-bit compare-and-swap needs BigInt in JavaScript: only 64-bit atomics on vCPU
 * threads pay it. 128-bit pairs (LDXP/STXP, CASP of X registers) have no host compare-and-swap
 * and stay atomic only with respect to other atomics.
 */
function casStore(mem: DataPath, size: number, hi: number, lo: number, info: number, eLo: number, eHi: number, nLo: number, nHi: number): boolean {
  const bytes = 1 << size
  mem.probeAccess(hi, lo, bytes, bytes, info, true)
  const f = mem.frameList[mem.probeSlot1]!
  const o = f.base + (lo & PAGE_OFFSET_MASK)
  let stored: boolean
  casHi = 0
  switch (size) {
    case 0:
      casLo = Atomics.compareExchange(f.bytes, o, eLo & 0xff, nLo & 0xff)
      stored = casLo === (eLo & 0xff)
      break
    case 1:
      casLo = Atomics.compareExchange(f.u16, o >>> 1, eLo & 0xffff, nLo & 0xffff)
      stored = casLo === (eLo & 0xffff)
      break
    case 2:
      casLo = Atomics.compareExchange(f.u32, o >>> 2, eLo >>> 0, nLo >>> 0) >>> 0
      stored = casLo === eLo >>> 0
      break
    default: {
      let words = chunkWords64.get(f.bytes)
      if (!words) chunkWords64.set(f.bytes, (words = new BigUint64Array(f.bytes.buffer, f.bytes.byteOffset, f.bytes.byteLength / 8)))
      const expected = (BigInt(eHi >>> 0) << 32n) | BigInt(eLo >>> 0)
      const seen = Atomics.compareExchange(words, o >>> 3, expected, (BigInt(nHi >>> 0) << 32n) | BigInt(nLo >>> 0))
      casLo = Number(seen & 0xffff_ffffn)
      casHi = Number(seen >> 32n)
      stored = seen === expected
    }
  }
  if (stored && f.code !== 0) mem.codeWritten(f)
  return stored
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

function loadExclusive(): Build<'LDXR' | 'LDAXR' | 'LDXP' | 'LDAXP'> {
  return (cpu, f) => {
    const mem = cpu.data
    const x = cpu.x
    const isPair = 'rt2' in f
    const size = 'sf' in f ? 2 + f.sf : f.size
    const bytes = 1 << size
    const total = isPair ? bytes * 2 : bytes
    const rn = f.rn
    const n = 2 * rsp(rn)
    const d1 = dst(f.rt)
    const d2 = 'rt2' in f ? dst(f.rt2) : 0
    const info = ACC_ALIGNED | (rn === 31 ? ACC_UNCHECKED : 0)
    const smp = smpMonitorOf(cpu)
    const body = () => {
      baseAddress(cpu, n, rn === 31)
      const lo = alu[R_LO]!
      const hi = alu[R_HI]!
      checkAligned(cpu, hi, lo, total, false)
      const aLo = load(mem, size, hi, lo, info)
      const aHi = mem.rdHi
      let bLo = 0
      let bHi = 0
      if (isPair) {
        bLo = load(mem, size, hi, (lo + bytes) >>> 0, info)
        bHi = mem.rdHi
      }
      mem.setExclusive(hi, lo, total)
      setLoaded(x, d1, size, false, 1, aLo, aHi)
      if (isPair) setLoaded(x, d2, size, false, 1, bLo, bHi)
      return 0
    }
    if (!smp) return body
    // Under the global monitor: load, and remember what was loaded (from the destination
    // registers, zero-extended as the store-exclusive compares them).
    const { loaded } = smp
    return locked(smp.lock, () => {
      const result = body()
      loaded[0] = x[d1]!
      loaded[1] = x[d1 + 1]!
      loaded[2] = isPair ? x[d2]! : 0
      loaded[3] = isPair ? x[d2 + 1]! : 0
      return result
    })
  }
}

function storeExclusive(): Build<'STXR' | 'STLXR' | 'STXP' | 'STLXP'> {
  return (cpu, f) => {
    const mem = cpu.data
    const x = cpu.x
    const isPair = 'rt2' in f
    const size = 'sf' in f ? 2 + f.sf : f.size
    const bytes = 1 << size
    const total = isPair ? bytes * 2 : bytes
    const rn = f.rn
    const n = 2 * rsp(rn)
    const t1 = 2 * f.rt
    const t2 = 'rt2' in f ? 2 * f.rt2 : 0
    const s = dst(f.rs)
    const info = ACC_ALIGNED | (rn === 31 ? ACC_UNCHECKED : 0)
    const smp = smpMonitorOf(cpu)
    const threaded = isThreaded(smp)
    const body = () => {
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
      let ok = mem.checkExclusive(hi, lo, total)
      if (ok && threaded && total <= 8) {
        // Another CPU may have written the reservation since: the store happens only if memory
        // still holds what the load-exclusive read, in one host compare-and-swap (a pair of
        // words as one doubleword).
        const [mLo, mHi] = sizeMask(size)
        const { loaded } = smp!
        ok = isPair
          ? casStore(mem, 3, hi, lo, info, loaded[0]!, loaded[2]!, aLo, bLo)
          : casStore(mem, size, hi, lo, info, loaded[0]! & mLo, loaded[1]! & mHi, aLo, aHi)
      } else {
        // vCPUs taking turns on one thread, and 128-bit pairs on threads (the lock keeps memory
        // as the compare found it, against other atomics only).
        if (ok && smp) ok = stillHolds(mem, smp.loaded, size, hi, lo, bytes, isPair, info)
        if (ok) {
          store(mem, size, hi, lo, aLo, aHi, info)
          if (isPair) store(mem, size, hi, (lo + bytes) >>> 0, bLo, bHi, info)
        }
      }
      x[s] = ok ? 0 : 1
      x[s + 1] = 0
      return 0
    }
    return smp ? locked(smp.lock, body) : body
  }
}

/** Whether memory at [hi:lo] still holds the value(s) in `loaded` (see SmpMonitor). */
function stillHolds(mem: Cpu['data'], loaded: Uint32Array, size: number, hi: number, lo: number, bytes: number, isPair: boolean, info: number): boolean {
  const [mLo, mHi] = sizeMask(size)
  if (load(mem, size, hi, lo, info) >>> 0 !== ((loaded[0]! & mLo) >>> 0)) return false
  if ((size === 3 ? mem.rdHi >>> 0 : 0) !== ((loaded[1]! & mHi) >>> 0)) return false
  if (!isPair) return true
  if (load(mem, size, hi, (lo + bytes) >>> 0, info) >>> 0 !== ((loaded[2]! & mLo) >>> 0)) return false
  return (size === 3 ? mem.rdHi >>> 0 : 0) === ((loaded[3]! & mHi) >>> 0)
}

/** LDAR/STLR/LDAPR and LDAPUR/LDAPURS/STLUR (imm present). */
function ordered(isLoad: boolean): Build<'LDAR' | 'STLR' | 'LDAPR' | 'LDAPUR' | 'LDAPURS' | 'STLUR'> {
  return (cpu, f) => {
    const mem = cpu.data
    const signed = 'sf' in f
    const x = cpu.x
    const size = f.size
    const bytes = 1 << size
    const rn = f.rn
    const n = 2 * rsp(rn)
    const t = 2 * f.rt
    const td = dst(f.rt)
    const sf = 'sf' in f ? f.sf : size === 3 ? 1 : 0
    const [iLo, iHi] = splitImm('imm' in f ? f.imm : 0)
    const info = accessIss(bytes, f.rt, signed, sf === 1, true) | ACC_ALIGNED | (rn === 31 ? ACC_UNCHECKED : 0)
    return () => {
      baseAddress(cpu, n, rn === 31)
      const sum = alu[R_LO]! + iLo
      const lo = sum >>> 0
      const hi = (alu[R_HI]! + iHi + (sum >= TWO32 ? 1 : 0)) >>> 0
      checkAligned(cpu, hi, lo, bytes, !isLoad)
      if (isLoad) {
        const vLo = load(mem, size, hi, lo, info)
        setLoaded(x, td, size, signed, sf, vLo, mem.rdHi)
      } else {
        store(mem, size, hi, lo, x[t]!, x[t + 1]!, info)
      }
      return 0
    }
  }
}

// ---- CAS, CASP, LSE atomics ----

function sizeMask(size: number): [number, number] {
  return size === 3 ? [0xffffffff, 0xffffffff] : size === 2 ? [0xffffffff, 0] : size === 1 ? [0xffff, 0] : [0xff, 0]
}

const compareAndSwap: Build<'CAS' | 'CASA' | 'CASL' | 'CASAL'> = (cpu, f) => {
  const mem = cpu.data
  const x = cpu.x
  const size = f.size
  const bytes = 1 << size
  const rn = f.rn
  const n = 2 * rsp(rn)
  const sSrc = 2 * f.rs
  const sDst = dst(f.rs)
  const t = 2 * f.rt
  const [mLo, mHi] = sizeMask(size)
  const info = ACC_ALIGNED | (rn === 31 ? ACC_UNCHECKED : 0)
  const smp = smpMonitorOf(cpu)
  const threaded = isThreaded(smp)
  const body = () => {
    baseAddress(cpu, n, rn === 31)
    const lo = alu[R_LO]!
    const hi = alu[R_HI]!
    checkAligned(cpu, hi, lo, bytes, true)
    let oldLo = load(mem, size, hi, lo, info) >>> 0
    let oldHi = size === 3 ? mem.rdHi >>> 0 : 0
    if (oldLo === ((x[sSrc]! & mLo) >>> 0) && oldHi === ((x[sSrc + 1]! & mHi) >>> 0)) {
      if (!threaded) store(mem, size, hi, lo, x[t]!, x[t + 1]!, info)
      else if (!casStore(mem, size, hi, lo, info, oldLo, oldHi, x[t]!, x[t + 1]!)) {
        // Another CPU's plain store came between: the compare fails against what is there now.
        oldLo = casLo >>> 0
        oldHi = casHi >>> 0
      }
    }
    x[sDst] = oldLo
    x[sDst + 1] = oldHi
    return 0
  }
  return smp ? locked(smp.lock, body) : body
}

const compareAndSwapPair: Build<'CASP' | 'CASPA' | 'CASPL' | 'CASPAL'> = (cpu, f) => {
  const mem = cpu.data
  const x = cpu.x
  const size = 2 + f.sf
  const bytes = 1 << size
  const rn = f.rn
  const n = 2 * rsp(rn)
  const rs = f.rs
  const rt = f.rt
  const [mLo, mHi] = sizeMask(size)
  const info = ACC_ALIGNED | (rn === 31 ? ACC_UNCHECKED : 0)
  const smp = smpMonitorOf(cpu)
  const threaded = isThreaded(smp)
  const body = () => {
    baseAddress(cpu, n, rn === 31)
    const lo = alu[R_LO]!
    const hi = alu[R_HI]!
    checkAligned(cpu, hi, lo, bytes * 2, true)
    // As QEMU: the whole pair is checked as a write (permission, tags; WnR = 1) before the
    // compare, whether or not the store then happens.
    mem.probeAccess(hi, lo, bytes * 2, bytes * 2, info, true)
    // Tags were checked (as a write) by the probe: the parts are not checked again.
    const parts = info | ACC_UNCHECKED
    let aLo = load(mem, size, hi, lo, parts) >>> 0
    const aHi = size === 3 ? mem.rdHi >>> 0 : 0
    let bLo = load(mem, size, hi, (lo + bytes) >>> 0, parts) >>> 0
    const bHi = size === 3 ? mem.rdHi >>> 0 : 0
    const s0 = 2 * rs
    const s1 = 2 * (rs + 1)
    const equal =
      aLo === ((x[s0]! & mLo) >>> 0) && aHi === ((x[s0 + 1]! & mHi) >>> 0) &&
      bLo === ((x[s1]! & mLo) >>> 0) && bHi === ((x[s1 + 1]! & mHi) >>> 0)
    if (equal && threaded && size === 2) {
      // A pair of words: one doubleword compare-and-swap (see casStore); on a miss the compare
      // fails against what memory holds now.
      if (!casStore(mem, 3, hi, lo, parts, aLo, bLo, x[2 * rt]!, x[2 * (rt + 1)]!)) {
        aLo = casLo >>> 0
        bLo = casHi >>> 0
      }
    } else if (equal) {
      // (128-bit pairs on threads: atomic with respect to other atomics only, see casStore.)
      store(mem, size, hi, lo, x[2 * rt]!, x[2 * rt + 1]!, parts)
      store(mem, size, hi, (lo + bytes) >>> 0, x[2 * (rt + 1)]!, x[2 * (rt + 1) + 1]!, parts)
    }
    const d0 = dst(rs)
    const d1 = dst(rs + 1)
    x[d0] = aLo
    x[d0 + 1] = aHi
    x[d1] = bLo
    x[d1 + 1] = bHi
    return 0
  }
  return smp ? locked(smp.lock, body) : body
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

function atomic(op: number): Build<'LDADD' | 'LDCLR' | 'LDEOR' | 'LDSET' | 'LDSMAX' | 'LDSMIN' | 'LDUMAX' | 'LDUMIN' | 'SWP'> {
  return (cpu, f) => {
    const mem = cpu.data
    const x = cpu.x
    const size = f.size
    const bytes = 1 << size
    const rn = f.rn
    const n = 2 * rsp(rn)
    const sSrc = 2 * f.rs
    const td = dst(f.rt)
    const [mLo, mHi] = sizeMask(size)
    const bits = 8 << size
    const info = ACC_ALIGNED | (rn === 31 ? ACC_UNCHECKED : 0)
    const smp = smpMonitorOf(cpu)
    const threaded = isThreaded(smp)
    const body = () => {
      baseAddress(cpu, n, rn === 31)
      const lo = alu[R_LO]!
      const hi = alu[R_HI]!
      checkAligned(cpu, hi, lo, bytes, true)
      let oLo = load(mem, size, hi, lo, info) >>> 0
      let oHi = size === 3 ? mem.rdHi >>> 0 : 0
      const sLo = (x[sSrc]! & mLo) >>> 0
      const sHi = (x[sSrc + 1]! & mHi) >>> 0
      for (;;) {
        combine(op, oLo, oHi, sLo, sHi, bits)
        if (!threaded) {
          store(mem, size, hi, lo, alu[R_LO]!, alu[R_HI]!, info)
          break
        }
        // On threads: written only over the value it was computed from (see casStore); a plain
        // store that came between makes it compute again from what memory holds now.
        if (casStore(mem, size, hi, lo, info, oLo, oHi, alu[R_LO]!, alu[R_HI]!)) break
        oLo = casLo >>> 0
        oHi = casHi >>> 0
      }
      x[td] = oLo
      x[td + 1] = oHi
      return 0
    }
    return smp ? locked(smp.lock, body) : body
  }
}

/** The value an LSE atomic `op` stores over old `o` with operand `s`, into alu[R_LO]/alu[R_HI]. */
function combine(op: number, oLo: number, oHi: number, sLo: number, sHi: number, bits: number): void {
  let nLo: number
  let nHi: number
  switch (op) {
    case ADD:
      add64(oLo, oHi, sLo, sHi, 0)
      return
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
  alu[R_LO] = nLo >>> 0
  alu[R_HI] = nHi >>> 0
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

export const atomics: HandlerTable = {
  LDXR: loadExclusive(),
  LDAXR: loadExclusive(),
  LDXP: loadExclusive(),
  LDAXP: loadExclusive(),
  STXR: storeExclusive(),
  STLXR: storeExclusive(),
  STXP: storeExclusive(),
  STLXP: storeExclusive(),
  LDAR: ordered(true),
  STLR: ordered(false),
  LDAPR: ordered(true),
  LDAPUR: ordered(true),
  LDAPURS: ordered(true),
  STLUR: ordered(false),
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
