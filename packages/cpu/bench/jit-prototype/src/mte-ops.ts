// MTE tag arithmetic and CRC-32C tables for the translated code's helpers.

/** ChooseNonExcludedTag: `offset` steps from `tag` over tags not set in `exclude` (offset 0 still leaves an excluded tag). */
export function chooseTag(tag: number, offset: number, exclude: number): number {
  if ((exclude & 0xffff) === 0xffff) return 0
  let t = tag & 15
  if (offset === 0) {
    while (((exclude >>> t) & 1) !== 0) t = (t + 1) & 15
    return t
  }
  for (let i = 0; i < offset; i++) {
    t = (t + 1) & 15
    while (((exclude >>> t) & 1) !== 0) t = (t + 1) & 15
  }
  return t
}

/**
 * IRG's pseudo-random offset with GCR_EL1.RRND = 0: four steps of the architected 16-bit
 * LFSR (taps 5, 3, 2, 0 into bit 15). Returns offset | newSeed << 4.
 */
export function lfsrStep4(seed: number): number {
  let s = seed & 0xffff
  let offset = 0
  for (let i = 0; i < 4; i++) {
    const bit = ((s >>> 5) ^ (s >>> 3) ^ (s >>> 2) ^ s) & 1
    s = (bit << 15) | (s >>> 1)
    offset |= bit << i
  }
  return offset | (s << 4)
}

/** CRC-32C (Castagnoli, reflected 0x82F63B78) slicing-by-8 tables: table k at [256k, 256k + 256). */
export function crc32cTables(): Int32Array {
  const t = new Int32Array(8 * 256)
  for (let n = 0; n < 256; n++) {
    let c = n
    for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ 0x82f63b78 : c >>> 1
    t[n] = c
  }
  for (let k = 1; k < 8; k++) {
    for (let n = 0; n < 256; n++) {
      const prev = t[256 * (k - 1) + n]!
      t[256 * k + n] = (prev >>> 8) ^ t[prev & 0xff]!
    }
  }
  return t
}
