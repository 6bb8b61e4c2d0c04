/**
 * CRC-32 (ISO-HDLC: reflected polynomial 0xEDB88320, as zlib, gzip, PNG and Ethernet use it),
 * the checksum of every snapshot and migration record. The portable code below runs anywhere;
 * a host with a native one (Node's `zlib.crc32`) installs it with `useNativeCrc32`, so the
 * checksum costs almost nothing next to moving the bytes.
 */

// Slicing-by-16: table k maps a byte to its CRC contribution k bytes further on, so sixteen
// bytes (four aligned 32-bit words) cost sixteen lookups and no per-byte shifting of the
// running value. Little-endian hosts only read words; others go byte by byte.
const TABLES = (() => {
  const t = new Int32Array(16 * 256)
  for (let i = 0; i < 256; i++) {
    let c = i
    for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ 0xedb8_8320 : c >>> 1
    t[i] = c
  }
  for (let k = 1; k < 16; k++) {
    for (let i = 0; i < 256; i++) {
      const prev = t[(k - 1) * 256 + i]!
      t[k * 256 + i] = (prev >>> 8) ^ t[prev & 0xff]!
    }
  }
  return t
})()

const LITTLE_ENDIAN = new Uint8Array(Uint16Array.of(1).buffer)[0] === 1

/** The portable CRC-32 of `bytes`, continuing from `crc` (the value a previous call returned). */
export function portableCrc32(bytes: Uint8Array, crc = 0): number {
  const t = TABLES
  let c = ~crc
  let i = 0
  const n = bytes.length
  if (LITTLE_ENDIAN && n >= 64) {
    // Bytes up to a 4-byte boundary, then 16 bytes at a time as aligned words.
    const head = (4 - (bytes.byteOffset & 3)) & 3
    for (; i < head; i++) c = t[(c ^ bytes[i]!) & 0xff]! ^ (c >>> 8)
    const words = new Int32Array(bytes.buffer, bytes.byteOffset + i, (n - i) >>> 2)
    const blocks = words.length & ~3
    for (let w = 0; w < blocks; w += 4) {
      const a = c ^ words[w]!
      const b = words[w + 1]!
      const d = words[w + 2]!
      const e = words[w + 3]!
      c =
        t[0xf00 + (a & 0xff)]! ^
        t[0xe00 + ((a >>> 8) & 0xff)]! ^
        t[0xd00 + ((a >>> 16) & 0xff)]! ^
        t[0xc00 + (a >>> 24)]! ^
        t[0xb00 + (b & 0xff)]! ^
        t[0xa00 + ((b >>> 8) & 0xff)]! ^
        t[0x900 + ((b >>> 16) & 0xff)]! ^
        t[0x800 + (b >>> 24)]! ^
        t[0x700 + (d & 0xff)]! ^
        t[0x600 + ((d >>> 8) & 0xff)]! ^
        t[0x500 + ((d >>> 16) & 0xff)]! ^
        t[0x400 + (d >>> 24)]! ^
        t[0x300 + (e & 0xff)]! ^
        t[0x200 + ((e >>> 8) & 0xff)]! ^
        t[0x100 + ((e >>> 16) & 0xff)]! ^
        t[e >>> 24]!
    }
    i += blocks * 4
  }
  for (; i < n; i++) c = t[(c ^ bytes[i]!) & 0xff]! ^ (c >>> 8)
  return ~c >>> 0
}

let implementation: (bytes: Uint8Array, crc: number) => number = portableCrc32

/** CRC-32 of `bytes`, continuing from `crc` (the value a previous call returned). */
export function crc32(bytes: Uint8Array, crc = 0): number {
  return implementation(bytes, crc)
}

const CHECK = new TextEncoder().encode('123456789')
const CHECK_VALUE = 0xcbf4_3926

/**
 * Makes `crc32` use a host's native CRC-32 (same polynomial and conventions as zlib's
 * `crc32(data, value)`), or the portable one again with `undefined`. A function that does not
 * compute the same CRC-32 is refused.
 */
export function useNativeCrc32(native: ((bytes: Uint8Array, crc: number) => number) | undefined): void {
  if (native && (native(CHECK, 0) >>> 0 !== CHECK_VALUE || native(CHECK.subarray(4), native(CHECK.subarray(0, 4), 0)) >>> 0 !== CHECK_VALUE)) {
    throw new RangeError('useNativeCrc32: the function given does not compute CRC-32 (ISO-HDLC)')
  }
  implementation = native ? (bytes, crc) => native(bytes, crc) >>> 0 : portableCrc32
}
