// LLVM's choice between `mov` and movz/movn/orr for wide and logical immediates
// (AArch64_AM::isMOVZMovAlias and friends), on 64-bit values held as two uint32 halves so
// printing needs no BigInt.

/** True when (hi:lo) has bits set only inside the 16-bit field at `shift`. */
function onlyIn16(hi: number, lo: number, shift: number): boolean {
  if (shift < 32) {
    const field = (0xffff << shift) >>> 0
    return hi === 0 && (lo & ~field) === 0
  }
  const field = (0xffff << (shift - 32)) >>> 0
  return lo === 0 && (hi & ~field) === 0
}

function isMovzAlias(hi: number, lo: number, shift: number): boolean {
  if (hi === 0 && lo === 0 && shift !== 0) return false
  return onlyIn16(hi, lo, shift)
}

function isAnyMovzAlias(hi: number, lo: number, width: number): boolean {
  for (let s = 0; s <= width - 16; s += 16) if (onlyIn16(hi, lo, s)) return true
  return false
}

/** The complement of (hi:lo) within `width` bits, as [hi, lo]. */
function not(hi: number, lo: number, width: number): [number, number] {
  return width === 32 ? [0, ~lo >>> 0] : [~hi >>> 0, ~lo >>> 0]
}

/** (hi:lo) as a signed decimal of `width` bits, exactly (LLVM prints `#-1`, not hex). */
export function signedDecimal(hi: number, lo: number, width: number): string {
  if (width === 32) return String(lo | 0)
  if (hi >>> 31) {
    // Negative: print '-' and the magnitude (two's complement of hi:lo).
    const nlo = (~lo + 1) >>> 0
    const nhi = (~hi + (nlo === 0 ? 1 : 0)) >>> 0
    return '-' + unsignedDecimal(nhi, nlo)
  }
  return unsignedDecimal(hi, lo)
}

/** Exact decimal of a 64-bit unsigned value given as halves (doubles lose digits above 2^53). */
function unsignedDecimal(hi: number, lo: number): string {
  if (hi < 0x200000) return String(hi * 0x1_0000_0000 + lo)
  // Long division by 10^7 over 16-bit limbs, most significant first.
  const limbs = [hi >>> 16, hi & 0xffff, lo >>> 16, lo & 0xffff]
  let out = ''
  while (limbs.some((l) => l !== 0)) {
    let rem = 0
    for (let i = 0; i < 4; i++) {
      const cur = rem * 0x10000 + (limbs[i] as number)
      limbs[i] = Math.floor(cur / 1e7)
      rem = cur % 1e7
    }
    const chunk = String(rem)
    out = (limbs.some((l) => l !== 0) ? chunk.padStart(7, '0') : chunk) + out
  }
  return out
}

function shifted16(imm16: number, shift: number): [number, number] {
  return shift < 32 ? [shift === 16 ? imm16 >>> 16 : 0, (imm16 << shift) >>> 0] : [(imm16 << (shift - 32)) >>> 0, 0]
}

/** Operand text for MOVZ as `mov` when LLVM prefers it, else undefined. */
export function movzAlias(imm16: number, shift: number, width: number): string | undefined {
  const [hi, lo] = shifted16(imm16, shift)
  return isMovzAlias(hi, lo, shift) ? `#${signedDecimal(hi, lo, width)}` : undefined
}

/** Operand text for MOVN as `mov` when LLVM prefers it, else undefined. */
export function movnAlias(imm16: number, shift: number, width: number): string | undefined {
  const [shi, slo] = shifted16(imm16, shift)
  const [hi, lo] = not(shi, slo, width)
  // MOVZ takes precedence over MOVN.
  if (isAnyMovzAlias(hi, lo, width)) return undefined
  const [chi, clo] = not(hi, lo, width)
  return isMovzAlias(chi, clo, shift) ? `#${signedDecimal(hi, lo, width)}` : undefined
}

/** Operand text for ORR (immediate) from the zero register as `mov`, when LLVM prefers it. */
export function orrMovAlias(hi: number, lo: number, width: number): string | undefined {
  const h = width === 32 ? 0 : hi >>> 0
  const l = lo >>> 0
  if (isAnyMovzAlias(h, l, width)) return undefined
  const [nh, nl] = not(h, l, width)
  if (isAnyMovzAlias(nh, nl, width)) return undefined
  return `#${signedDecimal(h, l, width)}`
}
