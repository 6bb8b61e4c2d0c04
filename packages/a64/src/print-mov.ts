// LLVM's choice between `mov` and movz/movn/orr for wide and logical immediates
// (AArch64_AM::isMOVZMovAlias and friends). BigInt is fine here: printing only.

const MASK64 = (1n << 64n) - 1n

function widthMask(width: number): bigint {
  return width === 32 ? 0xffffffffn : MASK64
}

function isMovzAlias(value: bigint, shift: number, width: number): boolean {
  const v = value & widthMask(width)
  if (v === 0n && shift !== 0) return false
  return (v & ~(0xffffn << BigInt(shift)) & MASK64) === 0n
}

function isAnyMovzAlias(value: bigint, width: number): boolean {
  for (let s = 0; s <= width - 16; s += 16) {
    if ((value & ~(0xffffn << BigInt(s)) & MASK64) === 0n) return true
  }
  return false
}

function isMovnAlias(value: bigint, shift: number, width: number): boolean {
  if (isAnyMovzAlias(value, width)) return false
  return isMovzAlias(~value & widthMask(width), shift, width)
}

function isAnyMovwAlias(value: bigint, width: number): boolean {
  if (isAnyMovzAlias(value, width)) return true
  return isAnyMovzAlias(~value & widthMask(width), width)
}

function signed(value: bigint, width: number): bigint {
  return BigInt.asIntN(width, value)
}

/** Text for MOVZ: `mov` form when LLVM prefers it, else undefined. */
export function movzAlias(imm16: number, shift: number, width: number): string | undefined {
  const value = (BigInt(imm16) << BigInt(shift)) & widthMask(width)
  return isMovzAlias(value, shift, width) ? `#${signed(value, width)}` : undefined
}

/** Text for MOVN: `mov` form when LLVM prefers it, else undefined. */
export function movnAlias(imm16: number, shift: number, width: number): string | undefined {
  const value = ~(BigInt(imm16) << BigInt(shift)) & widthMask(width)
  return isMovnAlias(value, shift, width) ? `#${signed(value, width)}` : undefined
}

/** Text for ORR (immediate) from the zero register: `mov` form when LLVM prefers it. */
export function orrMovAlias(hi: number, lo: number, width: number): string | undefined {
  const value = ((BigInt(hi >>> 0) << 32n) | BigInt(lo >>> 0)) & widthMask(width)
  return isAnyMovwAlias(value, width) ? undefined : `#${signed(value, width)}`
}
