// 64-bit integer arithmetic on 32-bit halves. Every function takes and produces uint32
// halves (`lo`, `hi`) and writes its result into the shared scratch array `alu`, so the
// interpreter never allocates and never touches BigInt.

import { TWO32 } from './constants.js'

/** Scratch results: [lo, hi, N, Z, C, V, lo2, hi2]. Read right after a call. */
export const alu = new Float64Array(8)
export const R_LO = 0
export const R_HI = 1
export const R_N = 2
export const R_Z = 3
export const R_C = 4
export const R_V = 5


/** AddWithCarry on 64 bits: result and NZCV as the architecture defines them. */
export function add64(aLo: number, aHi: number, bLo: number, bHi: number, carryIn: number): void {
  const lo = aLo + bLo + carryIn
  const loCarry = lo >= TWO32 ? 1 : 0
  const hiSum = aHi + bHi + loCarry
  const hi = hiSum >>> 0
  const rLo = lo >>> 0
  alu[R_LO] = rLo
  alu[R_HI] = hi
  alu[R_N] = hi >>> 31
  alu[R_Z] = (rLo | hi) === 0 ? 1 : 0
  alu[R_C] = hiSum >= TWO32 ? 1 : 0
  // Signed overflow: operands share a sign that the result does not.
  alu[R_V] = (~(aHi ^ bHi) & (aHi ^ hi)) >>> 31
}

/** AddWithCarry on 32 bits (result zero-extended). */
export function add32(a: number, b: number, carryIn: number): void {
  const sum = (a >>> 0) + (b >>> 0) + carryIn
  const r = sum >>> 0
  alu[R_LO] = r
  alu[R_HI] = 0
  alu[R_N] = r >>> 31
  alu[R_Z] = r === 0 ? 1 : 0
  alu[R_C] = sum >= TWO32 ? 1 : 0
  alu[R_V] = (~(a ^ b) & (a ^ r)) >>> 31
}

/** Logical shift left by 0..63. */
export function lsl64(lo: number, hi: number, n: number): void {
  if (n === 0) {
    alu[R_LO] = lo >>> 0
    alu[R_HI] = hi >>> 0
  } else if (n < 32) {
    alu[R_LO] = (lo << n) >>> 0
    alu[R_HI] = ((hi << n) | (lo >>> (32 - n))) >>> 0
  } else {
    alu[R_LO] = 0
    alu[R_HI] = (lo << (n - 32)) >>> 0
  }
}

/** Logical shift right by 0..63. */
export function lsr64(lo: number, hi: number, n: number): void {
  if (n === 0) {
    alu[R_LO] = lo >>> 0
    alu[R_HI] = hi >>> 0
  } else if (n < 32) {
    alu[R_LO] = ((lo >>> n) | (hi << (32 - n))) >>> 0
    alu[R_HI] = hi >>> n
  } else {
    alu[R_LO] = hi >>> (n - 32)
    alu[R_HI] = 0
  }
}

/** Arithmetic shift right by 0..63. */
export function asr64(lo: number, hi: number, n: number): void {
  if (n === 0) {
    alu[R_LO] = lo >>> 0
    alu[R_HI] = hi >>> 0
  } else if (n < 32) {
    alu[R_LO] = ((lo >>> n) | (hi << (32 - n))) >>> 0
    alu[R_HI] = (hi >> n) >>> 0
  } else {
    alu[R_LO] = (hi >> (n - 32)) >>> 0
    alu[R_HI] = (hi >> 31) >>> 0
  }
}

/** Rotate right by 0..63. */
export function ror64(lo: number, hi: number, n: number): void {
  if (n >= 32) {
    const t = lo
    lo = hi
    hi = t
    n -= 32
  }
  if (n === 0) {
    alu[R_LO] = lo >>> 0
    alu[R_HI] = hi >>> 0
  } else {
    alu[R_LO] = ((lo >>> n) | (hi << (32 - n))) >>> 0
    alu[R_HI] = ((hi >>> n) | (lo << (32 - n))) >>> 0
  }
}

/** 32-bit rotate right by 0..31 (uint32 result). */
export function ror32(x: number, n: number): number {
  return n === 0 ? x >>> 0 : ((x >>> n) | (x << (32 - n))) >>> 0
}

/** Shifts (type 0 LSL, 1 LSR, 2 ASR, 3 ROR) a 64-bit value; result in alu[0..1]. */
export function shift64(type: number, lo: number, hi: number, n: number): void {
  switch (type) {
    case 0:
      lsl64(lo, hi, n)
      break
    case 1:
      lsr64(lo, hi, n)
      break
    case 2:
      asr64(lo, hi, n)
      break
    default:
      ror64(lo, hi, n)
  }
}

/** Shifts a 32-bit value by 0..31; returns uint32. */
export function shift32(type: number, x: number, n: number): number {
  switch (type) {
    case 0:
      return (x << n) >>> 0
    case 1:
      return x >>> n
    case 2:
      return (x >> n) >>> 0
    default:
      return ror32(x, n)
  }
}

// Full 32x32 -> 64 unsigned product, left in mulLo/mulHi.
let mulLo = 0
let mulHi = 0
function mulu32(a: number, b: number): void {
  const aL = a & 0xffff
  const aH = a >>> 16
  const bL = b & 0xffff
  const bH = b >>> 16
  const ll = aL * bL
  const lh = aL * bH
  const hl = aH * bL
  const hh = aH * bH
  const mid = (ll >>> 16) + (lh & 0xffff) + (hl & 0xffff)
  mulLo = (((mid & 0xffff) << 16) | (ll & 0xffff)) >>> 0
  mulHi = (hh + (lh >>> 16) + (hl >>> 16) + Math.floor(mid / 65536)) >>> 0
}

/** Low 64 bits of a 64x64 product (MUL/MADD). */
export function mul64(aLo: number, aHi: number, bLo: number, bHi: number): void {
  mulu32(aLo >>> 0, bLo >>> 0)
  alu[R_LO] = mulLo
  alu[R_HI] = (mulHi + Math.imul(aLo, bHi) + Math.imul(aHi, bLo)) >>> 0
}

/** High 64 bits of the unsigned 128-bit product (UMULH). */
export function umulh(aLo: number, aHi: number, bLo: number, bHi: number): void {
  aLo >>>= 0
  aHi >>>= 0
  bLo >>>= 0
  bHi >>>= 0
  mulu32(aLo, bLo)
  const p0hi = mulHi
  mulu32(aLo, bHi)
  const p1lo = mulLo
  const p1hi = mulHi
  mulu32(aHi, bLo)
  const p2lo = mulLo
  const p2hi = mulHi
  mulu32(aHi, bHi)
  const p3lo = mulLo
  const p3hi = mulHi
  // Column 1 (bits 63:32): p0hi + p1lo + p2lo; its carry flows into column 2.
  const c1 = p0hi + p1lo + p2lo
  const carry1 = Math.floor(c1 / TWO32)
  const c2 = p1hi + p2hi + p3lo + carry1
  const carry2 = Math.floor(c2 / TWO32)
  alu[R_LO] = c2 >>> 0
  alu[R_HI] = (p3hi + carry2) >>> 0
}

/** High 64 bits of the signed 128-bit product (SMULH). */
export function smulh(aLo: number, aHi: number, bLo: number, bHi: number): void {
  umulh(aLo, aHi, bLo, bHi)
  // Signed high = unsigned high - (a<0 ? b : 0) - (b<0 ? a : 0), mod 2^64.
  let lo = alu[R_LO]!
  let hi = alu[R_HI]!
  if (aHi >> 31) {
    const l = lo - (bLo >>> 0)
    hi = (hi - (bHi >>> 0) - (l < 0 ? 1 : 0)) >>> 0
    lo = l >>> 0
  }
  if (bHi >> 31) {
    const l = lo - (aLo >>> 0)
    hi = (hi - (aHi >>> 0) - (l < 0 ? 1 : 0)) >>> 0
    lo = l >>> 0
  }
  alu[R_LO] = lo
  alu[R_HI] = hi
}

/** 32x32 -> 64 product, signed or unsigned (SMADDL/UMADDL); result in alu[0..1]. */
export function mul32x32(a: number, b: number, signed: boolean): void {
  if (!signed) {
    mulu32(a >>> 0, b >>> 0)
    alu[R_LO] = mulLo
    alu[R_HI] = mulHi
    return
  }
  mulu32(a >>> 0, b >>> 0)
  let hi = mulHi
  if (a < 0 || a >= 0x80000000) hi -= b >>> 0
  if (b < 0 || b >= 0x80000000) hi -= a >>> 0
  alu[R_LO] = mulLo
  alu[R_HI] = hi >>> 0
}

/** Unsigned 64-bit division, truncating; divide by zero gives 0 (UDIV). */
export function udiv64(nLo: number, nHi: number, dLo: number, dHi: number): void {
  nLo >>>= 0
  nHi >>>= 0
  dLo >>>= 0
  dHi >>>= 0
  if ((dLo | dHi) === 0) {
    alu[R_LO] = 0
    alu[R_HI] = 0
    return
  }
  if (nHi < 0x200000 && dHi < 0x200000) {
    // Both fit in 53 bits: doubles divide exactly.
    const q = Math.floor((nHi * TWO32 + nLo) / (dHi * TWO32 + dLo))
    alu[R_LO] = q >>> 0
    alu[R_HI] = Math.floor(q / TWO32) >>> 0
    return
  }
  // Restoring division, one quotient bit per step.
  let qLo = 0
  let qHi = 0
  let rLo = 0
  let rHi = 0
  for (let i = 63; i >= 0; i--) {
    rHi = ((rHi << 1) | (rLo >>> 31)) >>> 0
    rLo = ((rLo << 1) | ((i >= 32 ? nHi >>> (i - 32) : nLo >>> i) & 1)) >>> 0
    if (rHi > dHi || (rHi === dHi && rLo >= dLo)) {
      const l = rLo - dLo
      rHi = (rHi - dHi - (l < 0 ? 1 : 0)) >>> 0
      rLo = l >>> 0
      if (i >= 32) qHi |= 1 << (i - 32)
      else qLo |= 1 << i
    }
  }
  alu[R_LO] = qLo >>> 0
  alu[R_HI] = qHi >>> 0
}

function neg64(lo: number, hi: number): void {
  const l = (~lo >>> 0) + 1
  alu[R_LO] = l >>> 0
  alu[R_HI] = (~hi + (l >= TWO32 ? 1 : 0)) >>> 0
}

/** Signed 64-bit division rounding towards zero; /0 gives 0, MIN/-1 gives MIN (SDIV). */
export function sdiv64(nLo: number, nHi: number, dLo: number, dHi: number): void {
  const nNeg = nHi >> 31 !== 0
  const dNeg = dHi >> 31 !== 0
  if (nNeg) {
    neg64(nLo, nHi)
    nLo = alu[R_LO]!
    nHi = alu[R_HI]!
  }
  if (dNeg) {
    neg64(dLo, dHi)
    dLo = alu[R_LO]!
    dHi = alu[R_HI]!
  }
  udiv64(nLo, nHi, dLo, dHi)
  if (nNeg !== dNeg) neg64(alu[R_LO]!, alu[R_HI]!)
}

/** Count leading zeros of a 64-bit value. */
export function clz64(lo: number, hi: number): number {
  return hi !== 0 ? Math.clz32(hi) : 32 + Math.clz32(lo)
}

/** Count leading sign bits (excluding the sign bit itself) of a 64-bit value. */
export function cls64(lo: number, hi: number): number {
  const m = hi >> 31
  return clz64((lo ^ m) >>> 0, (hi ^ m) >>> 0) - 1
}

export function cls32(x: number): number {
  return Math.clz32((x ^ (x >> 31)) >>> 0) - 1
}

export function rbit32(x: number): number {
  x = ((x >>> 1) & 0x55555555) | ((x & 0x55555555) << 1)
  x = ((x >>> 2) & 0x33333333) | ((x & 0x33333333) << 2)
  x = ((x >>> 4) & 0x0f0f0f0f) | ((x & 0x0f0f0f0f) << 4)
  x = ((x >>> 8) & 0x00ff00ff) | ((x & 0x00ff00ff) << 8)
  return ((x >>> 16) | (x << 16)) >>> 0
}

export function rev32(x: number): number {
  return (((x & 0xff) << 24) | ((x & 0xff00) << 8) | ((x >>> 8) & 0xff00) | (x >>> 24)) >>> 0
}

/** Byte-reverse each 16-bit halfword (REV16). */
export function rev16(x: number): number {
  return (((x & 0x00ff00ff) << 8) | ((x >>> 8) & 0x00ff00ff)) >>> 0
}

function crcTable(poly: number): Uint32Array {
  const t = new Uint32Array(256)
  for (let i = 0; i < 256; i++) {
    let c = i
    for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ poly : c >>> 1
    t[i] = c >>> 0
  }
  return t
}
/** Slicing-by-4 tables: T[k][i] is the CRC of byte i followed by k zero bytes. */
function sliceTables(poly: number): Uint32Array[] {
  const t0 = crcTable(poly)
  const tables = [t0]
  for (let k = 1; k < 4; k++) {
    const prev = tables[k - 1]!
    const t = new Uint32Array(256)
    for (let i = 0; i < 256; i++) t[i] = (prev[i]! >>> 8) ^ t0[prev[i]! & 0xff]!
    tables.push(t)
  }
  return tables
}
const [C0, C1, C2, C3] = sliceTables(0xedb88320) as [Uint32Array, Uint32Array, Uint32Array, Uint32Array]
const [K0, K1, K2, K3] = sliceTables(0x82f63b78) as [Uint32Array, Uint32Array, Uint32Array, Uint32Array]

function crcWord(c: number, word: number, t0: Uint32Array, t1: Uint32Array, t2: Uint32Array, t3: Uint32Array): number {
  c = (c ^ word) >>> 0
  return (t3[c & 0xff]! ^ t2[(c >>> 8) & 0xff]! ^ t1[(c >>> 16) & 0xff]! ^ t0[c >>> 24]!) >>> 0
}

/**
 * CRC32/CRC32C step: accumulator `acc` and `bytes` (1, 2, 4 or 8) of data, little-endian,
 * from dataLo/dataHi. Bit-reflected polynomials, no inversion (as the instructions define).
 */
export function crc32(acc: number, dataLo: number, dataHi: number, bytes: number, castagnoli: boolean): number {
  const t0 = castagnoli ? K0 : C0
  if (bytes >= 4) {
    const t1 = castagnoli ? K1 : C1
    const t2 = castagnoli ? K2 : C2
    const t3 = castagnoli ? K3 : C3
    const c = crcWord(acc, dataLo, t0, t1, t2, t3)
    return bytes === 8 ? crcWord(c, dataHi, t0, t1, t2, t3) : c
  }
  let c = acc >>> 0
  for (let i = 0; i < bytes; i++) c = (t0[(c ^ (dataLo >>> (8 * i))) & 0xff]! ^ (c >>> 8)) >>> 0
  return c
}

/** Bitmask pair from DecodeBitMasks (decode time only). */
export interface BitMasks {
  wmaskLo: number
  wmaskHi: number
  tmaskLo: number
  tmaskHi: number
}

function ones64(n: number): [number, number] {
  if (n >= 64) return [0xffffffff, 0xffffffff]
  if (n >= 32) return [0xffffffff, n === 32 ? 0 : (0xffffffff >>> (64 - n))]
  return [n === 0 ? 0 : 0xffffffff >>> (32 - n), 0]
}

/**
 * DecodeBitMasks(N, imms, immr, immediate) from the Arm ARM: returns undefined where the
 * architecture says the encoding is reserved (UNDEFINED).
 */
export function decodeBitMasks(n: number, imms: number, immr: number, immediate: boolean, datasize: number): BitMasks | undefined {
  const combined = (n << 6) | (~imms & 0x3f)
  if (combined === 0) return undefined
  const len = 31 - Math.clz32(combined)
  if (len < 1 && immediate) return undefined
  if (len < 1) return undefined
  const levels = (1 << len) - 1
  if (immediate && (imms & levels) === levels) return undefined
  const esize = 1 << len
  if (esize > datasize) return undefined
  const s = imms & levels
  const r = immr & levels
  const d = (s - r) & levels
  // welem = Ones(S+1) rotated right by R within esize; telem = Ones(d+1).
  const welem = rorElem(ones64(s + 1), r, esize)
  const telem = ones64(d + 1)
  const w = replicate(welem, esize)
  const t = replicate(telem, esize)
  const [wLo, wHi] = datasize === 32 ? [w[0], 0] : w
  const [tLo, tHi] = datasize === 32 ? [t[0], 0] : t
  return { wmaskLo: wLo >>> 0, wmaskHi: wHi >>> 0, tmaskLo: tLo >>> 0, tmaskHi: tHi >>> 0 }
}

function rorElem(v: [number, number], r: number, esize: number): [number, number] {
  if (r === 0) return v
  // Work in doubles for esize <= 32, else 64-bit halves.
  if (esize <= 32) {
    const mask = esize === 32 ? 0xffffffff : (1 << esize) - 1
    const x = v[0] & mask
    return [(((x >>> r) | (x << (esize - r))) & mask) >>> 0, 0]
  }
  ror64(v[0], v[1], r)
  return [alu[R_LO]!, alu[R_HI]!]
}

function replicate(v: [number, number], esize: number): [number, number] {
  if (esize === 64) return v
  let x = v[0] >>> 0
  for (let size = esize; size < 32; size *= 2) x = (x | (x << size)) >>> 0
  return [x, x]
}

/** Splits a signed offset (|imm| < 2^52) into uint32 halves for a 64-bit add. */
export function splitImm(imm: number): [number, number] {
  const lo = ((imm % TWO32) + TWO32) % TWO32
  return [lo >>> 0, Math.floor((imm - lo) / TWO32) >>> 0]
}
