// Permutes and moves: REV16/32/64, ZIP/UZP/TRN, EXT, TBL/TBX, DUP, INS, UMOV/SMOV, bitwise
// operations on whole registers and the modified-immediate moves. Anything that moves lanes
// across a register is assembled in scratch and copied, so Vd may be any source.

import { type VRegs, V_SCRATCH, zeroAbove } from './vregs.js'

const S = V_SCRATCH

/** Copies lane si of register sr to lane di of register dr (esz 0..3). */
export function copyLane(V: VRegs, esz: number, dr: number, di: number, sr: number, si: number): void {
  switch (esz) {
    case 0:
      V.u8[(dr << 4) + di] = V.u8[(sr << 4) + si]!
      return
    case 1:
      V.u16[(dr << 3) + di] = V.u16[(sr << 3) + si]!
      return
    case 2:
      V.u32[(dr << 2) + di] = V.u32[(sr << 2) + si]!
      return
    default:
      V.u32[(dr << 2) + 2 * di] = V.u32[(sr << 2) + 2 * si]!
      V.u32[(dr << 2) + 2 * di + 1] = V.u32[(sr << 2) + 2 * si + 1]!
  }
}

/** Copies the first `bytes` (8 or 16) of scratch register s to rd and zeroes the rest. */
function fromScratch(V: VRegs, rd: number, s: number, bytes: number): void {
  const u32 = V.u32
  const d = rd << 2
  const f = s << 2
  u32[d] = u32[f]!
  u32[d + 1] = u32[f + 1]!
  if (bytes === 16) {
    u32[d + 2] = u32[f + 2]!
    u32[d + 3] = u32[f + 3]!
  } else {
    u32[d + 2] = 0
    u32[d + 3] = 0
  }
}

/** REV16/REV32/REV64: reverse the esize elements within each container of `containerBytes`. */
export function rev(V: VRegs, containerBytes: number, esz: number, q: number, rd: number, rn: number): void {
  const n = (q ? 16 : 8) >> esz
  const flip = (containerBytes >> esz) - 1
  for (let i = 0; i < n; i++) copyLane(V, esz, S, i ^ flip, rn, i)
  fromScratch(V, rd, S, q ? 16 : 8)
}

/** ZIP1 (part 0) / ZIP2 (part 1): interleave the low or high halves of Vn and Vm. */
export function zip(V: VRegs, part: number, esz: number, q: number, rd: number, rn: number, rm: number): void {
  const n = (q ? 16 : 8) >> esz
  const base = part ? n >> 1 : 0
  for (let i = 0; i < n >> 1; i++) {
    copyLane(V, esz, S, 2 * i, rn, base + i)
    copyLane(V, esz, S, 2 * i + 1, rm, base + i)
  }
  fromScratch(V, rd, S, q ? 16 : 8)
}

/** UZP1 (part 0) / UZP2 (part 1): the even or odd lanes of Vm:Vn. */
export function uzp(V: VRegs, part: number, esz: number, q: number, rd: number, rn: number, rm: number): void {
  const n = (q ? 16 : 8) >> esz
  const half = n >> 1
  for (let i = 0; i < half; i++) {
    copyLane(V, esz, S, i, rn, 2 * i + part)
    copyLane(V, esz, S, half + i, rm, 2 * i + part)
  }
  fromScratch(V, rd, S, q ? 16 : 8)
}

/** TRN1 (part 0) / TRN2 (part 1): even (odd) lanes of Vn and Vm alternately. */
export function trn(V: VRegs, part: number, esz: number, q: number, rd: number, rn: number, rm: number): void {
  const n = (q ? 16 : 8) >> esz
  for (let i = 0; i < n >> 1; i++) {
    copyLane(V, esz, S, 2 * i, rn, 2 * i + part)
    copyLane(V, esz, S, 2 * i + 1, rm, 2 * i + part)
  }
  fromScratch(V, rd, S, q ? 16 : 8)
}

/** EXT: bytes imm.. of the concatenation Vm:Vn (each 8 or 16 bytes). */
export function ext(V: VRegs, q: number, rd: number, rn: number, rm: number, imm: number): void {
  const bytes = q ? 16 : 8
  const u8 = V.u8
  for (let i = 0; i < bytes; i++) {
    const k = imm + i
    u8[(S << 4) + i] = k < bytes ? u8[(rn << 4) + k]! : u8[(rm << 4) + k - bytes]!
  }
  fromScratch(V, rd, S, bytes)
}

/**
 * TBL (tbx false) / TBX (tbx true): each index byte of Vm selects a byte of the table
 * Vn, Vn+1, … (`regs` registers, numbers wrapping at 32); out-of-range indices give 0 (TBL)
 * or leave the Vd byte (TBX).
 */
export function tbl(V: VRegs, tbx: boolean, q: number, regs: number, rd: number, rn: number, rm: number): void {
  const u8 = V.u8
  const u32 = V.u32
  // The table goes to scratch 32..35 first: Vd or Vm may be one of its registers.
  for (let r = 0; r < regs; r++) {
    const from = ((rn + r) & 31) << 2
    const to = (S + r) << 2
    u32[to] = u32[from]!
    u32[to + 1] = u32[from + 1]!
    u32[to + 2] = u32[from + 2]!
    u32[to + 3] = u32[from + 3]!
  }
  const out = (S + 4) << 4
  const limit = regs << 4
  const bytes = q ? 16 : 8
  for (let i = 0; i < bytes; i++) {
    const index = u8[(rm << 4) + i]!
    u8[out + i] = index < limit ? u8[(S << 4) + index]! : tbx ? u8[(rd << 4) + i]! : 0
  }
  fromScratch(V, rd, S + 4, bytes)
}

/** DUP (element): every lane of Vd = Vn[idx]; DUP (scalar) is n = 1 with the rest zeroed. */
export function dupElement(V: VRegs, esz: number, n: number, rd: number, rn: number, idx: number): void {
  copyLane(V, esz, S, 0, rn, idx)
  for (let i = 0; i < n; i++) copyLane(V, esz, rd, i, S, 0)
  zeroAbove(V, rd, n << esz)
}

/** DUP (general): every lane of Vd = the low esize bits of (lo, hi). */
export function dupGeneral(V: VRegs, esz: number, q: number, rd: number, lo: number, hi: number): void {
  const u32 = V.u32
  const d = rd << 2
  let w: number
  switch (esz) {
    case 0:
      w = (lo & 0xff) * 0x01010101
      break
    case 1:
      w = (lo & 0xffff) * 0x00010001
      break
    default:
      w = lo
  }
  u32[d] = u32[d + 2] = w
  u32[d + 1] = u32[d + 3] = esz === 3 ? hi : w
  if (!q) u32[d + 2] = u32[d + 3] = 0
}

/** INS (general): Vd[idx] = the low esize bits of (lo, hi); the other lanes are kept. */
export function insGeneral(V: VRegs, esz: number, rd: number, idx: number, lo: number, hi: number): void {
  switch (esz) {
    case 0:
      V.u8[(rd << 4) + idx] = lo
      return
    case 1:
      V.u16[(rd << 3) + idx] = lo
      return
    case 2:
      V.u32[(rd << 2) + idx] = lo
      return
    default:
      V.u32[(rd << 2) + 2 * idx] = lo
      V.u32[(rd << 2) + 2 * idx + 1] = hi
  }
}

/** INS (element): Vd[idx] = Vn[idx2]; the other lanes are kept. */
export function insElement(V: VRegs, esz: number, rd: number, idx: number, rn: number, idx2: number): void {
  copyLane(V, esz, rd, idx, rn, idx2)
}

/**
 * UMOV / SMOV: lane idx of Vn into a general register, zero- or sign-extended to 32 bits
 * (wide false: the upper word is 0) or 64 bits. Writes x[xi] (low) and x[xi + 1] (high).
 */
export function moveToGeneral(V: VRegs, esz: number, rn: number, idx: number, signed: boolean, wide: boolean, x: Uint32Array, xi: number): void {
  let lo: number
  let hi = 0
  switch (esz) {
    case 0:
      lo = signed ? V.i8[(rn << 4) + idx]! : V.u8[(rn << 4) + idx]!
      break
    case 1:
      lo = signed ? V.i16[(rn << 3) + idx]! : V.u16[(rn << 3) + idx]!
      break
    case 2:
      lo = V.u32[(rn << 2) + idx]!
      if (signed) lo |= 0
      break
    default:
      lo = V.u32[(rn << 2) + 2 * idx]!
      hi = V.u32[(rn << 2) + 2 * idx + 1]!
  }
  if (esz < 3) hi = wide && lo < 0 ? 0xffff_ffff : 0
  x[xi] = lo >>> 0
  x[xi + 1] = hi
}

// ---------------------------------------------------------------- whole-register bitwise

export const AND = 0
export const BIC = 1
export const ORR = 2
export const ORN = 3
export const EOR = 4
export const BSL = 5
export const BIT = 6
export const BIF = 7

/** The logical group: AND, BIC, ORR, ORN, EOR, BSL, BIT, BIF on 8 or 16 bytes. */
export function logical(V: VRegs, op: number, q: number, rd: number, rn: number, rm: number): void {
  const u32 = V.u32
  const words = q ? 4 : 2
  for (let k = 0; k < words; k++) {
    const n = u32[(rn << 2) + k]!
    const m = u32[(rm << 2) + k]!
    const d = u32[(rd << 2) + k]!
    let r: number
    switch (op) {
      case AND:
        r = n & m
        break
      case BIC:
        r = n & ~m
        break
      case ORR:
        r = n | m
        break
      case ORN:
        r = n | ~m
        break
      case EOR:
        r = n ^ m
        break
      case BSL:
        r = (d & n) | (~d & m)
        break
      case BIT:
        r = (d & ~m) | (n & m)
        break
      default:
        r = (d & m) | (n & ~m)
    }
    u32[(rd << 2) + k] = r
  }
  if (!q) zeroAbove(V, rd, 8)
}

/** Modified-immediate moves. */
export const IMM_MOVI = 0
export const IMM_MVNI = 1
export const IMM_ORR = 2
export const IMM_BIC = 3

/**
 * MOVI/MVNI/ORR/BIC (vector, immediate) and MOVI (64-bit scalar and 2D): the 64-bit
 * pattern (lo, hi) from AdvSIMDExpandImm in each half of Vd.
 */
export function modifiedImmediate(V: VRegs, op: number, q: number, rd: number, lo: number, hi: number): void {
  const u32 = V.u32
  const d = rd << 2
  for (let k = 0; k < 4; k++) {
    const imm = k & 1 ? hi : lo
    switch (op) {
      case IMM_MOVI:
        u32[d + k] = imm
        break
      case IMM_MVNI:
        u32[d + k] = ~imm
        break
      case IMM_ORR:
        u32[d + k] = u32[d + k]! | imm
        break
      default:
        u32[d + k] = u32[d + k]! & ~imm
    }
  }
  if (!q) zeroAbove(V, rd, 8)
}
