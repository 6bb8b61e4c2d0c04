/**
 * Checks that `value` is an A64 instruction word: an integer in [0, 2^32).
 * Anything else is a programming error, reported as a RangeError rather than decoded.
 */
export function toInstructionWord(value: unknown): number {
  if (typeof value !== 'number' || !Number.isInteger(value)) {
    throw new RangeError(`instruction word must be an integer, got ${describe(value)}`)
  }
  if (value < 0 || value > 0xffff_ffff) {
    throw new RangeError(`instruction word must be in [0, 0xffffffff], got ${value}`)
  }
  return value >>> 0
}

function describe(value: unknown): string {
  if (typeof value === 'number') return String(value)
  if (typeof value === 'string') return JSON.stringify(value)
  return typeof value
}
