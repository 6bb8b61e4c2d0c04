// Lazy NZCV. A flag setter leaves its operands in the translation's cc locals (ccOp says
// how to read them); a flag reader after a setter in the same block evaluates its condition
// straight from those operands (b.ne after subs is an integer compare), and only exits and
// readers with no setter in sight materialize NZCV with these functions.

/** ccOp values: NZCV given literally in ccLit (bits 31:28), or a SUBS of the cc operands. */
export const CC_LITERAL = 0
export const CC_SUB32 = 1
export const CC_SUB64 = 2

/** NZCV (bits 31:28) of the lazily-held flags. 64-bit operands as int32 halves. */
export function nzcvOf(op: number, aL: number, aH: number, bL: number, bH: number, lit: number): number {
  if (op === CC_SUB64) {
    const t = (aL >>> 0) - (bL >>> 0)
    const rH = (aH - bH - (t < 0 ? 1 : 0)) | 0
    const rL = t | 0
    const n = rH < 0 ? 1 : 0
    const z = (rL | rH) === 0 ? 1 : 0
    const c = aH >>> 0 > bH >>> 0 || (aH === bH && aL >>> 0 >= bL >>> 0) ? 1 : 0
    const v = ((aH ^ bH) & (aH ^ rH)) < 0 ? 1 : 0
    return (n << 31) | (z << 30) | (c << 29) | (v << 28)
  }
  if (op === CC_SUB32) {
    const r = (aL - bL) | 0
    const n = r < 0 ? 1 : 0
    const z = r === 0 ? 1 : 0
    const c = aL >>> 0 >= bL >>> 0 ? 1 : 0
    const v = ((aL ^ bL) & (aL ^ r)) < 0 ? 1 : 0
    return (n << 31) | (z << 30) | (c << 29) | (v << 28)
  }
  return lit
}

/** ConditionHolds(cond) for NZCV in bits 31:28. */
export function condHolds(cond: number, nzcv: number): boolean {
  const n = (nzcv >>> 31) & 1
  const z = (nzcv >>> 30) & 1
  const c = (nzcv >>> 29) & 1
  const v = (nzcv >>> 28) & 1
  let r: boolean
  switch (cond >> 1) {
    case 0:
      r = z === 1
      break
    case 1:
      r = c === 1
      break
    case 2:
      r = n === 1
      break
    case 3:
      r = v === 1
      break
    case 4:
      r = c === 1 && z === 0
      break
    case 5:
      r = n === v
      break
    case 6:
      r = n === v && z === 0
      break
    default:
      return true
  }
  return (cond & 1) === 1 ? !r : r
}
