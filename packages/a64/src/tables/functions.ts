// Field transforms (`!function=name` in a %field line) and pattern guards (`!guard=name`).
// A transform gets the field's raw value and the whole word; a guard gets the word and
// returns false when the encoding is unallocated (in a {} group the next member is tried).
// Arm pseudocode names are kept where a function implements one.

export const transforms = {
  /** ADD/SUB (immediate): imm12, shifted left by 12 when sh (bit 22) is set. */
  addSubImm: (v: number, w: number): number => ((w >>> 22) & 1 ? v * 4096 : v),
  /** 1 - bit: LDRS* opc<0>=0 means a 64-bit destination. */
  invert: (v: number): number => v ^ 1,
  times8: (v: number): number => v * 8,
  /** LDR/STR (register): the shift applied to the index is size when S=1, else 0. */
  regOffsetAmount: (v: number, w: number): number => (v ? w >>> 30 : 0),
  /** LDP/STP: 1 = X registers (opc<1>, bit 31). */
  pairSf: (_v: number, w: number): number => w >>> 31,
  /** LDP/STP/LDNP/STNP of S/D/Q registers: imm7 scaled by 4 << opc (bits [31:30]). */
  scaleFpPair: (v: number, w: number): number => v * (4 << (w >>> 30)),
  /** SIMD shift by immediate, v = immh:immb: right shift = 2 * esize - v, esize = 8 << HighestSetBit(immh). */
  simdShiftRight: (v: number): number => (16 << (31 - Math.clz32(v >>> 3))) - v,
  /** SIMD shift by immediate: left shift = v - esize. */
  simdShiftLeft: (v: number): number => v - (8 << (31 - Math.clz32(v >>> 3))),
  /** FP <-> fixed-point conversions: fbits = 64 - scale. */
  fbitsFromScale: (v: number): number => 64 - v,
  /** VFPExpandImm(imm8) as a number (exact, and the same value in every precision). */
  vfpImm: (v: number): number => (v & 0x80 ? -1 : 1) * (1 + (v & 15) / 16) * 2 ** ((v & 0x40 ? -3 : 1) + ((v >>> 4) & 3)),
  /** AdvSIMDExpandImm(op, cmode, imm8) of a modified-immediate word: low / high 32 bits. */
  advSimdImmLo: (_v: number, w: number): number => advSimdExpandImm(w, false),
  advSimdImmHi: (_v: number, w: number): number => advSimdExpandImm(w, true),
  times2: (v: number): number => v * 2,
  times4: (v: number): number => v * 4,
  times16: (v: number): number => v * 16,
  times4096: (v: number): number => v * 4096,
  /** Unsigned offset of LDR/STR (immediate): scaled by the access size in bits [31:30]. */
  scaleBySize: (v: number, w: number): number => v << (w >>> 30),
  /** LDR/STR (immediate) of 128-bit registers: size=00, opc<1>=1. */
  scaleBy16: (v: number): number => v << 4,
  /** LDP/STP offsets: imm7 scaled by 4 << opc<1> (bit 31) for integer pairs. */
  scalePair: (v: number, w: number): number => v << (2 + (w >>> 31)),
  /** DecodeBitMasks(N, imms, immr) low 32 bits; see bitMask below. */
  bitMaskLo: (_v: number, w: number): number => bitMask(w, false),
  bitMaskHi: (_v: number, w: number): number => bitMask(w, true),
  /** ADR: immhi:immlo; ADRP: the same times 4096. */
  adrImm: (_v: number, w: number): number => ((w << 8) >> 11 & ~3) | ((w >>> 29) & 3),
  adrpImm: (_v: number, w: number): number => (((w << 8) >> 11 & ~3) | ((w >>> 29) & 3)) * 4096,
  /** MOVZ/MOVN/MOVK hw field: shift in bits. */
  times16Shift: (v: number): number => v * 16,
} as const satisfies Record<string, (value: number, word: number) => number>

export const guards = {
  /** DecodeBitMasks must not be UNDEFINED: N=1 only for 64-bit, a valid element size, not all-ones. */
  validBitMask: (w: number): boolean => bitMaskValid(w),
  /** 32-bit forms with a shift amount of 32 or more (imm6<5>=1) are unallocated. */
  shift32: (w: number): boolean => (w >>> 31) === 1 || ((w >>> 15) & 1) === 0,
  /** DCPS1..3: LL=00 is unallocated. */
  /** CASP*: Rs and Rt name even-numbered register pairs. */
  evenPairs: (w: number): boolean => (w & 1) === 0 && ((w >>> 16) & 1) === 0,
  nonZeroLL: (w: number): boolean => (w & 3) !== 0,
  /** CRC32{,C}{B,H,W} with sf=0: sz=11 (the X form) needs sf=1. */
  crcSize: (w: number): boolean => ((w >>> 10) & 3) !== 3,
} as const satisfies Record<string, (word: number) => boolean>


function highestSetBit(x: number): number {
  return 31 - Math.clz32(x)
}

/** True when N:imms:immr in bits [22], [15:10], [21:16] form a valid DecodeBitMasks input. */
export function bitMaskValid(w: number): boolean {
  const sf = w >>> 31
  const n = (w >>> 22) & 1
  const imms = (w >>> 10) & 0x3f
  if (sf === 0 && n === 1) return false
  const len = highestSetBit((n << 6) | (~imms & 0x3f))
  if (len < 1) return false
  const levels = (1 << len) - 1
  return (imms & levels) !== levels
}

/**
 * DecodeBitMasks(N, imms, immr, immediate=TRUE) for the logical-immediate encoding in `w`,
 * returning the high or low 32 bits of the 64-bit mask (32-bit forms: high half is 0).
 * Assumes bitMaskValid(w).
 */
export function bitMask(w: number, high: boolean): number {
  const sf = w >>> 31
  if (sf === 0 && high) return 0
  const n = (w >>> 22) & 1
  const imms = (w >>> 10) & 0x3f
  const immr = (w >>> 16) & 0x3f
  const len = highestSetBit((n << 6) | (~imms & 0x3f))
  if (len < 1) return 0
  const esize = 1 << len
  const levels = esize - 1
  const s = imms & levels
  const r = immr & levels
  // welem = Ones(s+1) in an esize-bit element, rotated right by r.
  if (esize === 64) {
    // Ones(s + 1) over 64 bits as two halves, then rotate right by r.
    let lo = s + 1 >= 32 ? 0xffffffff : (2 ** (s + 1) - 1)
    let hi = s + 1 > 32 ? (s + 1 - 32 >= 32 ? 0xffffffff : 2 ** (s + 1 - 32) - 1) : 0
    for (let i = 0; i < r; i++) {
      const bit = lo & 1
      lo = ((lo >>> 1) | ((hi & 1) << 31)) >>> 0
      hi = ((hi >>> 1) | (bit << 31)) >>> 0
    }
    return high ? hi : lo
  }
  const ones = (2 ** (s + 1) - 1) >>> 0
  const emask = esize === 32 ? 0xffffffff : (1 << esize) - 1
  const rotated = r === 0 ? ones : ((ones >>> r) | (ones << (esize - r))) & emask
  let word32 = rotated >>> 0
  for (let e = esize; e < 32; e *= 2) word32 = (word32 | (word32 << e)) >>> 0
  return word32
}

/**
 * AdvSIMDExpandImm for a modified-immediate word (op bit 29, cmode bits [15:12], imm8 =
 * a:b:c bits [18:16] and d:e:f:g:h bits [9:5]; o2 bit 11 selects FP16 FMOV), as the high or
 * low 32 bits of the 64-bit pattern.
 */
export function advSimdExpandImm(w: number, high: boolean): number {
  const op = (w >>> 29) & 1
  const cmode = (w >>> 12) & 15
  const imm8 = ((w >>> 11) & 0xe0) | ((w >>> 5) & 0x1f)
  const a = imm8 >>> 7
  const b = (imm8 >>> 6) & 1
  if ((w >>> 11) & 1) {
    // FMOV (vector, half precision): a:NOT(b):bb:cdefgh:000000 in every 16-bit element.
    const h = (a << 15) | ((b ^ 1) << 14) | (b ? 0x3000 : 0) | ((imm8 & 0x3f) << 6)
    return (h | (h << 16)) >>> 0
  }
  let word: number
  switch (cmode >>> 1) {
    case 0: word = imm8; break
    case 1: word = imm8 << 8; break
    case 2: word = imm8 << 16; break
    case 3: word = imm8 << 24; break
    case 4: word = imm8 | (imm8 << 16); break
    case 5: word = (imm8 << 8) | (imm8 << 24); break
    case 6: word = cmode & 1 ? (imm8 << 16) | 0xffff : (imm8 << 8) | 0xff; break
    default:
      if ((cmode & 1) === 0 && op === 0) {
        word = imm8 * 0x01010101
        break
      }
      if ((cmode & 1) === 0) {
        // Each imm8 bit is a byte of ones: bits 7..4 the high word, 3..0 the low word.
        let bytes = 0
        const nibble = high ? imm8 >>> 4 : imm8 & 15
        for (let i = 0; i < 4; i++) if ((nibble >>> i) & 1) bytes |= 0xff << (8 * i)
        return bytes >>> 0
      }
      if (op === 0) {
        // FMOV single: a:NOT(b):bbbbb:cdefgh:Zeros(19), in both halves.
        word = (a << 31) | ((b ^ 1) << 30) | (b ? 0x3e000000 : 0) | ((imm8 & 0x3f) << 19)
        break
      }
      // FMOV double: a:NOT(b):bbbbbbbb:cdefgh:Zeros(48).
      if (!high) return 0
      return ((a << 31) | ((b ^ 1) << 30) | (b ? 0x3fc00000 : 0) | ((imm8 & 0x3f) << 16)) >>> 0
  }
  return word >>> 0
}
