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
