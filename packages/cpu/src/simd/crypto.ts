// The cryptographic extension: AES, SHA-1, SHA-256, SHA-512, SHA-3 (EOR3/RAX1/XAR/BCAX),
// SM3, SM4 and PMULL (64 x 64 -> 128 carry-less). Registers are read as 32-bit words
// (word 0 = bits 31:0, as Elem[V, e, 32] in the Arm ARM pseudocode); every result is
// computed into locals or scratch before Vd is written, so Vd may alias any source.

import { R_HI, R_LO, alu, ror64 } from '../alu.js'
import { type VRegs, V_SCRATCH, zeroAbove } from './vregs.js'

const rol = (x: number, n: number): number => ((x << n) | (x >>> (32 - n))) >>> 0
const ror = (x: number, n: number): number => ((x >>> n) | (x << (32 - n))) >>> 0

// ---------------------------------------------------------------- AES

/** GF(2^8) multiply modulo x^8 + x^4 + x^3 + x + 1. */
function gmul(a: number, b: number): number {
  let r = 0
  while (b) {
    if (b & 1) r ^= a
    a = (a << 1) ^ (a & 0x80 ? 0x11b : 0)
    b >>>= 1
  }
  return r
}

const SBOX = new Uint8Array(256)
const INV_SBOX = new Uint8Array(256)
{
  // The S-box is the multiplicative inverse followed by FIPS-197's affine map (constant 0x63).
  for (let x = 0; x < 256; x++) {
    let inv = 0
    if (x) for (inv = 1; gmul(x, inv) !== 1; inv++);
    let s = inv
    for (let k = 1; k <= 4; k++) s ^= ((inv << k) | (inv >>> (8 - k))) & 0xff
    SBOX[x] = s ^ 0x63
    INV_SBOX[s ^ 0x63] = x
  }
}

/** AESE (decrypt false) / AESD (decrypt true): AddRoundKey, (Inv)ShiftRows, (Inv)SubBytes. */
export function aesRound(V: VRegs, decrypt: boolean, rd: number, rn: number): void {
  const u8 = V.u8
  const s = V_SCRATCH << 4
  const d = rd << 4
  const n = rn << 4
  for (let i = 0; i < 16; i++) u8[s + i] = u8[d + i]! ^ u8[n + i]!
  // Byte i is row i & 3, column i >> 2 of the state.
  for (let i = 0; i < 16; i++) {
    const row = i & 3
    const col = i >> 2
    const from = row + 4 * ((decrypt ? col - row + 4 : col + row) & 3)
    u8[d + i] = decrypt ? INV_SBOX[u8[s + from]!]! : SBOX[u8[s + from]!]!
  }
}

// Multiplication tables for (Inv)MixColumns: MUL[c][x] = c * x in GF(2^8).
function mulTable(c: number): Uint8Array {
  const t = new Uint8Array(256)
  for (let x = 0; x < 256; x++) t[x] = gmul(x, c)
  return t
}
const MUL1 = mulTable(1)
const MUL2 = mulTable(2)
const MUL3 = mulTable(3)
const MUL9 = mulTable(9)
const MUL11 = mulTable(11)
const MUL13 = mulTable(13)
const MUL14 = mulTable(14)

/** AESMC (inverse false) / AESIMC (inverse true): (Inv)MixColumns of Vn into Vd. */
export function aesMix(V: VRegs, inverse: boolean, rd: number, rn: number): void {
  const u8 = V.u8
  const n = rn << 4
  const d = rd << 4
  // Row i of the (inverse) MixColumns matrix is the coefficients rotated right by i.
  const c0 = inverse ? MUL14 : MUL2
  const c1 = inverse ? MUL11 : MUL3
  const c2 = inverse ? MUL13 : MUL1
  const c3 = inverse ? MUL9 : MUL1
  for (let col = 0; col < 16; col += 4) {
    const a0 = u8[n + col]!
    const a1 = u8[n + col + 1]!
    const a2 = u8[n + col + 2]!
    const a3 = u8[n + col + 3]!
    u8[d + col] = c0[a0]! ^ c1[a1]! ^ c2[a2]! ^ c3[a3]!
    u8[d + col + 1] = c3[a0]! ^ c0[a1]! ^ c1[a2]! ^ c2[a3]!
    u8[d + col + 2] = c2[a0]! ^ c3[a1]! ^ c0[a2]! ^ c1[a3]!
    u8[d + col + 3] = c1[a0]! ^ c2[a1]! ^ c3[a2]! ^ c0[a3]!
  }
}

// ---------------------------------------------------------------- SHA-1 / SHA-256

const choose = (x: number, y: number, z: number): number => ((y ^ z) & x) ^ z
const parity = (x: number, y: number, z: number): number => x ^ y ^ z
const majority = (x: number, y: number, z: number): number => (x & y) | ((x | y) & z)

export const SHA1_C = 0
export const SHA1_P = 1
export const SHA1_M = 2

/** SHA1C / SHA1P / SHA1M: four rounds on Qd (abcd) with Sn (e) and the four words of Vm. */
export function sha1Hash(V: VRegs, kind: number, rd: number, rn: number, rm: number): void {
  const u32 = V.u32
  const d = rd << 2
  let x0 = u32[d]!
  let x1 = u32[d + 1]!
  let x2 = u32[d + 2]!
  let x3 = u32[d + 3]!
  let y = u32[rn << 2]!
  const w0 = u32[rm << 2]!
  const w1 = u32[(rm << 2) + 1]!
  const w2 = u32[(rm << 2) + 2]!
  const w3 = u32[(rm << 2) + 3]!
  for (let e = 0; e < 4; e++) {
    const f = kind === SHA1_C ? choose(x1, x2, x3) : kind === SHA1_P ? parity(x1, x2, x3) : majority(x1, x2, x3)
    const w = e === 0 ? w0 : e === 1 ? w1 : e === 2 ? w2 : w3
    y = (y + rol(x0, 5) + f + w) >>> 0
    x1 = rol(x1, 30)
    // <Y, X> = ROL(Y:X, 32)
    const t = x3
    x3 = x2
    x2 = x1
    x1 = x0
    x0 = y
    y = t
  }
  u32[d] = x0
  u32[d + 1] = x1
  u32[d + 2] = x2
  u32[d + 3] = x3
}

/** SHA1H: Sd = ROL(Sn, 30). */
export function sha1h(V: VRegs, rd: number, rn: number): void {
  V.u32[rd << 2] = rol(V.u32[rn << 2]!, 30)
  zeroAbove(V, rd, 4)
}

/** SHA1SU0: Vd = (Vn<63:0>:Vd<127:64>) ^ Vd ^ Vm. */
export function sha1su0(V: VRegs, rd: number, rn: number, rm: number): void {
  const u32 = V.u32
  const d = rd << 2
  const n = rn << 2
  const m = rm << 2
  const r0 = u32[d + 2]! ^ u32[d]! ^ u32[m]!
  const r1 = u32[d + 3]! ^ u32[d + 1]! ^ u32[m + 1]!
  const r2 = u32[n]! ^ u32[d + 2]! ^ u32[m + 2]!
  const r3 = u32[n + 1]! ^ u32[d + 3]! ^ u32[m + 3]!
  u32[d] = r0
  u32[d + 1] = r1
  u32[d + 2] = r2
  u32[d + 3] = r3
}

/** SHA1SU1: T = Vd ^ (Vn >> 32); each word rotated left by 1, the top one also XOR ROL(T0, 2). */
export function sha1su1(V: VRegs, rd: number, rn: number): void {
  const u32 = V.u32
  const d = rd << 2
  const n = rn << 2
  const t0 = u32[d]! ^ u32[n + 1]!
  const t1 = u32[d + 1]! ^ u32[n + 2]!
  const t2 = u32[d + 2]! ^ u32[n + 3]!
  const t3 = u32[d + 3]!
  u32[d] = rol(t0, 1)
  u32[d + 1] = rol(t1, 1)
  u32[d + 2] = rol(t2, 1)
  u32[d + 3] = (rol(t3, 1) ^ rol(t0, 2)) >>> 0
}

const sigma0 = (x: number): number => ror(x, 2) ^ ror(x, 13) ^ ror(x, 22)
const sigma1 = (x: number): number => ror(x, 6) ^ ror(x, 11) ^ ror(x, 25)

/**
 * SHA256H (part1 true: Qd = hash(Qd, Qn, Vm) first half) and SHA256H2 (part1 false:
 * Qd = hash(Qn, Qd, Vm) second half): four rounds of the SHA-256 compression function.
 */
export function sha256Hash(V: VRegs, part1: boolean, rd: number, rn: number, rm: number): void {
  const u32 = V.u32
  const xr = (part1 ? rd : rn) << 2
  const yr = (part1 ? rn : rd) << 2
  let x0 = u32[xr]!, x1 = u32[xr + 1]!, x2 = u32[xr + 2]!, x3 = u32[xr + 3]!
  let y0 = u32[yr]!, y1 = u32[yr + 1]!, y2 = u32[yr + 2]!, y3 = u32[yr + 3]!
  const m = rm << 2
  for (let e = 0; e < 4; e++) {
    const chs = choose(y0, y1, y2)
    const maj = majority(x0, x1, x2)
    const t = (y3 + sigma1(y0) + chs + u32[m + e]!) >>> 0
    x3 = (t + x3) >>> 0
    y3 = (t + sigma0(x0) + maj) >>> 0
    // <Y, X> = ROL(Y:X, 32): the words move up by one, y3 wraps into x0 and x3 into y0.
    const nx0 = y3
    const ny0 = x3
    x3 = x2
    x2 = x1
    x1 = x0
    x0 = nx0
    y3 = y2
    y2 = y1
    y1 = y0
    y0 = ny0
  }
  const d = rd << 2
  if (part1) {
    u32[d] = x0
    u32[d + 1] = x1
    u32[d + 2] = x2
    u32[d + 3] = x3
  } else {
    u32[d] = y0
    u32[d + 1] = y1
    u32[d + 2] = y2
    u32[d + 3] = y3
  }
}

const smallSigma0 = (x: number): number => ror(x, 7) ^ ror(x, 18) ^ (x >>> 3)
const smallSigma1 = (x: number): number => ror(x, 17) ^ ror(x, 19) ^ (x >>> 10)

/** SHA256SU0: Vd[e] += sigma0((Vn<31:0>:Vd<127:32>)[e]). */
export function sha256su0(V: VRegs, rd: number, rn: number): void {
  const u32 = V.u32
  const d = rd << 2
  const t0 = u32[d + 1]!
  const t1 = u32[d + 2]!
  const t2 = u32[d + 3]!
  const t3 = u32[rn << 2]!
  u32[d] = (u32[d]! + smallSigma0(t0)) >>> 0
  u32[d + 1] = (u32[d + 1]! + smallSigma0(t1)) >>> 0
  u32[d + 2] = (u32[d + 2]! + smallSigma0(t2)) >>> 0
  u32[d + 3] = (u32[d + 3]! + smallSigma0(t3)) >>> 0
}

/** SHA256SU1: the second half of the message schedule update. */
export function sha256su1(V: VRegs, rd: number, rn: number, rm: number): void {
  const u32 = V.u32
  const d = rd << 2
  const n = rn << 2
  const m = rm << 2
  // T0 = Vm<31:0> : Vn<127:32>; T1 = Vm<127:64>.
  const t00 = u32[n + 1]!, t01 = u32[n + 2]!, t02 = u32[n + 3]!, t03 = u32[m]!
  const r0 = (smallSigma1(u32[m + 2]!) + u32[d]! + t00) >>> 0
  const r1 = (smallSigma1(u32[m + 3]!) + u32[d + 1]! + t01) >>> 0
  const r2 = (smallSigma1(r0) + u32[d + 2]! + t02) >>> 0
  const r3 = (smallSigma1(r1) + u32[d + 3]! + t03) >>> 0
  u32[d] = r0
  u32[d + 1] = r1
  u32[d + 2] = r2
  u32[d + 3] = r3
}

// ---------------------------------------------------------------- SHA-512 (64-bit words as lo/hi)

// 64-bit values as (lo, hi) uint32 halves; helpers leave results in alu[R_LO], alu[R_HI].
/** ROR(x, a) ^ ROR(x, b) ^ ROR(x, c). */
function sigma3(lo: number, hi: number, a: number, b: number, c: number): void {
  ror64(lo, hi, a)
  let l = alu[R_LO]!
  let h = alu[R_HI]!
  ror64(lo, hi, b)
  l ^= alu[R_LO]!
  h ^= alu[R_HI]!
  ror64(lo, hi, c)
  alu[R_LO] = (l ^ alu[R_LO]!) >>> 0
  alu[R_HI] = (h ^ alu[R_HI]!) >>> 0
}
/** ROR(x, a) ^ ROR(x, b) ^ (x >> c), c < 32. */
function sigmaShift(lo: number, hi: number, a: number, b: number, c: number): void {
  ror64(lo, hi, a)
  let l = alu[R_LO]!
  let h = alu[R_HI]!
  ror64(lo, hi, b)
  l ^= alu[R_LO]! ^ ((lo >>> c) | (hi << (32 - c)))
  h ^= alu[R_HI]! ^ (hi >>> c)
  alu[R_LO] = l >>> 0
  alu[R_HI] = h >>> 0
}
/** Sum of three 64-bit values. */
function add3(alo: number, ahi: number, blo: number, bhi: number, clo: number, chi: number): void {
  const lo = alo + blo + clo // < 3 * 2^32, exact
  const carry = Math.floor(lo / 0x1_0000_0000)
  alu[R_LO] = lo >>> 0
  alu[R_HI] = (ahi + bhi + chi + carry) >>> 0
}

/** SHA512H: Qd = the first half of two rounds' T1 computation (Arm ARM SHA512H). */
export function sha512h(V: VRegs, rd: number, rn: number, rm: number): void {
  const u32 = V.u32
  const n = rn << 2
  const m = rm << 2
  const d = rd << 2
  const x0l = u32[n]!, x0h = u32[n + 1]!, x1l = u32[n + 2]!, x1h = u32[n + 3]!
  const y0l = u32[m]!, y0h = u32[m + 1]!, y1l = u32[m + 2]!, y1h = u32[m + 3]!
  const w0l = u32[d]!, w0h = u32[d + 1]!, w1l = u32[d + 2]!, w1h = u32[d + 3]!
  // High half: Ch(Y1, X0, X1) + Sigma1(Y1) + W1.
  sigma3(y1l, y1h, 14, 18, 41)
  const s1l = alu[R_LO]!, s1h = alu[R_HI]!
  const chl = ((y1l & x0l) ^ (~y1l & x1l)) >>> 0
  const chh = ((y1h & x0h) ^ (~y1h & x1h)) >>> 0
  add3(chl, chh, s1l, s1h, w1l, w1h)
  const hil = alu[R_LO]!, hih = alu[R_HI]!
  // tmp = high + Y0; low half: Ch(tmp, Y1, X0) + Sigma1(tmp) + W0.
  add3(hil, hih, y0l, y0h, 0, 0)
  const tl = alu[R_LO]!, th = alu[R_HI]!
  sigma3(tl, th, 14, 18, 41)
  const s2l = alu[R_LO]!, s2h = alu[R_HI]!
  const c2l = ((tl & y1l) ^ (~tl & x0l)) >>> 0
  const c2h = ((th & y1h) ^ (~th & x0h)) >>> 0
  add3(c2l, c2h, s2l, s2h, w0l, w0h)
  u32[d] = alu[R_LO]!
  u32[d + 1] = alu[R_HI]!
  u32[d + 2] = hil
  u32[d + 3] = hih
}

/** SHA512H2: Qd = the Sigma0/Maj half of two rounds (Arm ARM SHA512H2). */
export function sha512h2(V: VRegs, rd: number, rn: number, rm: number): void {
  const u32 = V.u32
  const n = rn << 2
  const m = rm << 2
  const d = rd << 2
  const x0l = u32[n]!, x0h = u32[n + 1]!
  const y0l = u32[m]!, y0h = u32[m + 1]!, y1l = u32[m + 2]!, y1h = u32[m + 3]!
  const w0l = u32[d]!, w0h = u32[d + 1]!, w1l = u32[d + 2]!, w1h = u32[d + 3]!
  sigma3(y0l, y0h, 28, 34, 39)
  const n0l = alu[R_LO]!, n0h = alu[R_HI]!
  const mjl = ((x0l & y1l) ^ (x0l & y0l) ^ (y1l & y0l)) >>> 0
  const mjh = ((x0h & y1h) ^ (x0h & y0h) ^ (y1h & y0h)) >>> 0
  add3(mjl, mjh, n0l, n0h, w1l, w1h)
  const hil = alu[R_LO]!, hih = alu[R_HI]!
  sigma3(hil, hih, 28, 34, 39)
  const n1l = alu[R_LO]!, n1h = alu[R_HI]!
  const m2l = ((hil & y0l) ^ (hil & y1l) ^ (y1l & y0l)) >>> 0
  const m2h = ((hih & y0h) ^ (hih & y1h) ^ (y1h & y0h)) >>> 0
  add3(m2l, m2h, n1l, n1h, w0l, w0h)
  u32[d] = alu[R_LO]!
  u32[d + 1] = alu[R_HI]!
  u32[d + 2] = hil
  u32[d + 3] = hih
}

/** SHA512SU0: Vd.d[0] += sigma0(Vd.d[1]); Vd.d[1] += sigma0(Vn.d[0]). */
export function sha512su0(V: VRegs, rd: number, rn: number): void {
  const u32 = V.u32
  const d = rd << 2
  const n = rn << 2
  const w0l = u32[d]!, w0h = u32[d + 1]!, w1l = u32[d + 2]!, w1h = u32[d + 3]!
  sigmaShift(w1l, w1h, 1, 8, 7)
  add3(w0l, w0h, alu[R_LO]!, alu[R_HI]!, 0, 0)
  const r0l = alu[R_LO]!, r0h = alu[R_HI]!
  sigmaShift(u32[n]!, u32[n + 1]!, 1, 8, 7)
  add3(w1l, w1h, alu[R_LO]!, alu[R_HI]!, 0, 0)
  u32[d] = r0l
  u32[d + 1] = r0h
  u32[d + 2] = alu[R_LO]!
  u32[d + 3] = alu[R_HI]!
}

/** SHA512SU1: Vd.d[i] += sigma1(Vn.d[i]) + Vm.d[i]. */
export function sha512su1(V: VRegs, rd: number, rn: number, rm: number): void {
  const u32 = V.u32
  const d = rd << 2
  const n = rn << 2
  const m = rm << 2
  sigmaShift(u32[n + 2]!, u32[n + 3]!, 19, 61, 6)
  add3(u32[d + 2]!, u32[d + 3]!, alu[R_LO]!, alu[R_HI]!, u32[m + 2]!, u32[m + 3]!)
  const hil = alu[R_LO]!, hih = alu[R_HI]!
  sigmaShift(u32[n]!, u32[n + 1]!, 19, 61, 6)
  add3(u32[d]!, u32[d + 1]!, alu[R_LO]!, alu[R_HI]!, u32[m]!, u32[m + 1]!)
  u32[d] = alu[R_LO]!
  u32[d + 1] = alu[R_HI]!
  u32[d + 2] = hil
  u32[d + 3] = hih
}

// ---------------------------------------------------------------- SHA-3

/** EOR3: Vd = Vn ^ Vm ^ Va. BCAX: Vd = Vn ^ (Vm & ~Va). */
export function eor3(V: VRegs, bcax: boolean, rd: number, rn: number, rm: number, ra: number): void {
  const u32 = V.u32
  for (let k = 0; k < 4; k++) {
    const n = u32[(rn << 2) + k]!
    const m = u32[(rm << 2) + k]!
    const a = u32[(ra << 2) + k]!
    u32[(rd << 2) + k] = bcax ? n ^ (m & ~a) : n ^ m ^ a
  }
}

/** RAX1: Vd.2d = Vn ^ ROL(Vm, 1). */
export function rax1(V: VRegs, rd: number, rn: number, rm: number): void {
  const u32 = V.u32
  for (let k = 0; k < 4; k += 2) {
    const ml = u32[(rm << 2) + k]!
    const mh = u32[(rm << 2) + k + 1]!
    const rl = ((ml << 1) | (mh >>> 31)) >>> 0
    const rh = ((mh << 1) | (ml >>> 31)) >>> 0
    u32[(rd << 2) + k] = u32[(rn << 2) + k]! ^ rl
    u32[(rd << 2) + k + 1] = u32[(rn << 2) + k + 1]! ^ rh
  }
}

/** XAR: Vd.2d = ROR(Vn ^ Vm, imm). */
export function xar(V: VRegs, rd: number, rn: number, rm: number, imm: number): void {
  const u32 = V.u32
  for (let k = 0; k < 4; k += 2) {
    ror64(u32[(rn << 2) + k]! ^ u32[(rm << 2) + k]!, u32[(rn << 2) + k + 1]! ^ u32[(rm << 2) + k + 1]!, imm)
    u32[(rd << 2) + k] = alu[R_LO]!
    u32[(rd << 2) + k + 1] = alu[R_HI]!
  }
}

// ---------------------------------------------------------------- SM3

/** SM3SS1: Vd<127:96> = ROL(ROL(Vn<127:96>, 12) + Vm<127:96> + Va<127:96>, 7), the rest 0. */
export function sm3ss1(V: VRegs, rd: number, rn: number, rm: number, ra: number): void {
  const u32 = V.u32
  const r = rol((rol(u32[(rn << 2) + 3]!, 12) + u32[(rm << 2) + 3]! + u32[(ra << 2) + 3]!) >>> 0, 7)
  u32[rd << 2] = 0
  u32[(rd << 2) + 1] = 0
  u32[(rd << 2) + 2] = 0
  u32[(rd << 2) + 3] = r
}

export const SM3_TT1A = 0
export const SM3_TT1B = 1
export const SM3_TT2A = 2
export const SM3_TT2B = 3

/** SM3TT1A/1B/2A/2B: one compression round step with word idx of Vm. */
export function sm3tt(V: VRegs, kind: number, rd: number, rn: number, rm: number, idx: number): void {
  const u32 = V.u32
  const d = rd << 2
  const d0 = u32[d]!, d1 = u32[d + 1]!, d2 = u32[d + 2]!, d3 = u32[d + 3]!
  const n3 = u32[(rn << 2) + 3]!
  const w = u32[(rm << 2) + idx]!
  let top: number
  if (kind === SM3_TT1A || kind === SM3_TT1B) {
    const ss2 = n3 ^ rol(d3, 12)
    const f = kind === SM3_TT1A ? d1 ^ d3 ^ d2 : (d3 & d1) | (d3 & d2) | (d1 & d2)
    top = (f + d0 + ss2 + w) >>> 0
    u32[d + 1] = rol(d2, 9)
  } else {
    const g = kind === SM3_TT2A ? d1 ^ d3 ^ d2 : (d3 & d2) | (~d3 & d1)
    const tt2 = (g + d0 + n3 + w) >>> 0
    top = (tt2 ^ rol(tt2, 9) ^ rol(tt2, 17)) >>> 0
    u32[d + 1] = rol(d2, 19)
  }
  u32[d] = d1
  u32[d + 2] = d3
  u32[d + 3] = top
}

/** SM3's permutation P1. */
const p1 = (x: number): number => (x ^ rol(x, 15) ^ rol(x, 23)) >>> 0

/** SM3PARTW1: the first half of the SM3 message expansion. */
export function sm3partw1(V: VRegs, rd: number, rn: number, rm: number): void {
  const u32 = V.u32
  const d = rd << 2
  const n = rn << 2
  const m = rm << 2
  const r0 = p1((u32[d]! ^ u32[n]! ^ rol(u32[m + 1]!, 15)) >>> 0)
  const r1 = p1((u32[d + 1]! ^ u32[n + 1]! ^ rol(u32[m + 2]!, 15)) >>> 0)
  const r2 = p1((u32[d + 2]! ^ u32[n + 2]! ^ rol(u32[m + 3]!, 15)) >>> 0)
  const r3 = p1((u32[d + 3]! ^ u32[n + 3]! ^ rol(r0, 15)) >>> 0)
  u32[d] = r0
  u32[d + 1] = r1
  u32[d + 2] = r2
  u32[d + 3] = r3
}

/** SM3PARTW2: the second half of the SM3 message expansion. */
export function sm3partw2(V: VRegs, rd: number, rn: number, rm: number): void {
  const u32 = V.u32
  const d = rd << 2
  const n = rn << 2
  const m = rm << 2
  const t0 = (u32[n]! ^ rol(u32[m]!, 7)) >>> 0
  const t1 = (u32[n + 1]! ^ rol(u32[m + 1]!, 7)) >>> 0
  const t2 = (u32[n + 2]! ^ rol(u32[m + 2]!, 7)) >>> 0
  const t3 = (u32[n + 3]! ^ rol(u32[m + 3]!, 7)) >>> 0
  const x = p1(rol(t0, 15))
  u32[d] = (u32[d]! ^ t0) >>> 0
  u32[d + 1] = (u32[d + 1]! ^ t1) >>> 0
  u32[d + 2] = (u32[d + 2]! ^ t2) >>> 0
  u32[d + 3] = (u32[d + 3]! ^ t3 ^ x) >>> 0
}

// ---------------------------------------------------------------- SM4

// The SM4 S-box (GB/T 32907-2016), as published.
const SM4_SBOX = Uint8Array.from(
  (
    'd690e9fecce13db716b614c228fb2c052b679a762abe04c3aa44132649860699' +
    '9c4250f491ef987a33540b43edcfac62e4b31ca9c908e89580df94fa758f3fa6' +
    '4707a7fcf37317ba83593c19e6854fa8686b81b27164da8bf8eb0f4b70569d35' +
    '1e240e5e6358d1a225227c3b01217887d40046579fd327524c3602e7a0c4c89e' +
    'eabf8ad240c738b5a3f7f2cef96115a1e0ae5da49b341a55ad933230f58cb1e3' +
    '1df6e22e8266ca60c02923ab0d534e6fd5db3745defd8e2f03ff6a726d6c5b51' +
    '8d1baf92bbddbc7f11d95c411f105ad80ac13188a5cd7bbd2d74d012b8e5b4b0' +
    '8969974a0c96777e65b9f109c56ec68418f07dec3adc4d2079ee5f3ed7cb3948'
  )
    .match(/../g)!
    .map((h) => parseInt(h, 16)),
)

function sm4Tau(x: number): number {
  return (
    (SM4_SBOX[x & 0xff]! | (SM4_SBOX[(x >>> 8) & 0xff]! << 8) | (SM4_SBOX[(x >>> 16) & 0xff]! << 16) | (SM4_SBOX[x >>> 24]! << 24)) >>> 0
  )
}

/**
 * SM4E (key false: Vd = data, Vn = four round keys) and SM4EKEY (key true: Vd = next four
 * round keys from Vn = the previous four and Vm = four CK constants): four rounds each.
 */
export function sm4(V: VRegs, key: boolean, rd: number, rn: number, rm: number): void {
  const u32 = V.u32
  const src = (key ? rn : rd) << 2
  const k = (key ? rm : rn) << 2
  let x0 = u32[src]!, x1 = u32[src + 1]!, x2 = u32[src + 2]!, x3 = u32[src + 3]!
  for (let i = 0; i < 4; i++) {
    const t = sm4Tau((x1 ^ x2 ^ x3 ^ u32[k + i]!) >>> 0)
    const l = key ? t ^ rol(t, 13) ^ rol(t, 23) : t ^ rol(t, 2) ^ rol(t, 10) ^ rol(t, 18) ^ rol(t, 24)
    const next = (l ^ x0) >>> 0
    x0 = x1
    x1 = x2
    x2 = x3
    x3 = next
  }
  const d = rd << 2
  u32[d] = x0
  u32[d + 1] = x1
  u32[d + 2] = x2
  u32[d + 3] = x3
}

// ---------------------------------------------------------------- PMULL (64-bit)

/**
 * PMULL/PMULL2 .1q: the 128-bit carry-less product of Vn.d[part] and Vm.d[part]
 * (part 0 for PMULL, 1 for PMULL2).
 */
export function pmull64(V: VRegs, part: number, rd: number, rn: number, rm: number): void {
  const u32 = V.u32
  const a0 = u32[(rn << 2) + 2 * part]!
  const a1 = u32[(rn << 2) + 2 * part + 1]!
  const b0 = u32[(rm << 2) + 2 * part]!
  const b1 = u32[(rm << 2) + 2 * part + 1]!
  // a shifted left by i, as four words, XORed in for each set bit i of b.
  let s0 = a0, s1 = a1, s2 = 0, s3 = 0
  let r0 = 0, r1 = 0, r2 = 0, r3 = 0
  for (let i = 0; i < 64; i++) {
    if (((i < 32 ? b0 >>> i : b1 >>> (i - 32)) & 1) !== 0) {
      r0 ^= s0
      r1 ^= s1
      r2 ^= s2
      r3 ^= s3
    }
    s3 = (s3 << 1) | (s2 >>> 31)
    s2 = (s2 << 1) | (s1 >>> 31)
    s1 = (s1 << 1) | (s0 >>> 31)
    s0 <<= 1
  }
  const d = rd << 2
  u32[d] = r0
  u32[d + 1] = r1
  u32[d + 2] = r2
  u32[d + 3] = r3
}
