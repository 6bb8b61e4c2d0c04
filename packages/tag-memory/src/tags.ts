import { MAX_TAG } from './constants.js'

/**
 * Checks a 4-bit allocation tag. Out-of-range tags are programming errors (RangeError),
 * never silently truncated.
 */
export function checkTag(tag: number): number {
  if (!Number.isInteger(tag) || tag < 0 || tag > MAX_TAG) {
    throw new RangeError(`allocation tag must be an integer 0..15, got ${tag}`)
  }
  return tag
}

/** Reads the tag of granule `index` from packed storage (even granule in the low nibble). */
export function unpackTag(packed: Uint8Array, index: number): number {
  const byte = packed[index >>> 1] ?? 0
  return index & 1 ? byte >>> 4 : byte & 0xf
}

/**
 * Writes the tag of granule `index` into packed storage starting at byte `offset`. Two granules
 * share a byte, so the byte is updated by compare-and-swap: on shared memory another thread may
 * be tagging the neighbour granule at the same moment, and its tag must not be undone.
 */
export function packTag(packed: Uint8Array, index: number, tag: number, offset = 0): void {
  const at = offset + (index >>> 1)
  let byte = Atomics.load(packed, at)
  for (;;) {
    const next = index & 1 ? (byte & 0x0f) | (tag << 4) : (byte & 0xf0) | tag
    const seen = Atomics.compareExchange(packed, at, byte, next)
    if (seen === byte) return
    byte = seen
  }
}
