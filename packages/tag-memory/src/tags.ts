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

const LITTLE_ENDIAN = new Uint8Array(Uint16Array.of(1).buffer)[0] === 1
/** Packed byte → its two tags as one-per-byte output, a little-endian 16-bit word (n_even, n_odd). */
const SPREAD = Uint16Array.from({ length: 256 }, (_, b) => (b & 0xf) | ((b >>> 4) << 8))

/**
 * Packs `granules` tags (an even count), one per byte in the low nibble from `src[srcOffset]`
 * (tag storage, the KVM_ARM_MTE_COPY_TAGS layout), two a byte into `dst` from `dstOffset`:
 * granule 2i in the low nibble of byte i, 2i+1 in the high one (swap's saved tags). High
 * nibbles of `src` are not looked at (storage keeps them zero). Four tags a 32-bit word where
 * `src` is aligned.
 */
export function packTagBytes(src: Uint8Array, srcOffset: number, dst: Uint8Array, dstOffset: number, granules: number): void {
  checkSpan(src, srcOffset, granules, dst, dstOffset, granules >>> 1)
  let i = 0
  if (LITTLE_ENDIAN && ((src.byteOffset + srcOffset) & 3) === 0) {
    const words = new Uint32Array(src.buffer, src.byteOffset + srcOffset, granules >>> 2)
    for (let o = dstOffset; i < words.length; i++, o += 2) {
      const x = words[i] as number
      dst[o] = (x & 0xf) | ((x >>> 4) & 0xf0)
      dst[o + 1] = ((x >>> 16) & 0xf) | ((x >>> 20) & 0xf0)
    }
    i *= 4
  }
  for (; i < granules; i += 2) dst[dstOffset + (i >>> 1)] = ((src[srcOffset + i] as number) & 0xf) | (((src[srcOffset + i + 1] as number) & 0xf) << 4)
}

/**
 * Unpacks `granules` tags (an even count) from packed `src` (two a byte, even granule low; from
 * `srcOffset`) to one per byte in `dst` from `dstOffset`, high nibbles zero: the inverse of
 * packTagBytes. Two output bytes a table lookup, stored as one 16-bit word where `dst` is aligned.
 */
export function unpackTagBytes(src: Uint8Array, srcOffset: number, dst: Uint8Array, dstOffset: number, granules: number): void {
  checkSpan(dst, dstOffset, granules, src, srcOffset, granules >>> 1)
  const bytes = granules >>> 1
  if (LITTLE_ENDIAN && ((dst.byteOffset + dstOffset) & 1) === 0) {
    const words = new Uint16Array(dst.buffer, dst.byteOffset + dstOffset, bytes)
    for (let b = 0; b < bytes; b++) words[b] = SPREAD[src[srcOffset + b] as number] as number
    return
  }
  for (let b = 0; b < bytes; b++) {
    const byte = src[srcOffset + b] as number
    dst[dstOffset + 2 * b] = byte & 0xf
    dst[dstOffset + 2 * b + 1] = byte >>> 4
  }
}

function checkSpan(wide: Uint8Array, wideOffset: number, granules: number, packed: Uint8Array, packedOffset: number, packedBytes: number): void {
  if (!(Number.isInteger(granules) && granules >= 0 && (granules & 1) === 0)) throw new RangeError(`tags are packed in pairs: ${granules} granules`)
  if (!(Number.isInteger(wideOffset) && wideOffset >= 0 && wideOffset + granules <= wide.length)) {
    throw new RangeError(`a buffer of ${wide.length} bytes cannot hold ${granules} tags at offset ${wideOffset}`)
  }
  if (!(Number.isInteger(packedOffset) && packedOffset >= 0 && packedOffset + packedBytes <= packed.length)) {
    throw new RangeError(`a buffer of ${packed.length} bytes cannot hold ${packedBytes} packed tag bytes at offset ${packedOffset}`)
  }
}
