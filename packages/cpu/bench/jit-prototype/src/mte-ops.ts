// Helpers' arithmetic: the interpreter's own MTE tag functions (IRG's LFSR and
// ChooseNonExcludedTag), and CRC-32C tables for the translated code.

export { chooseNonExcludedTag as chooseTag, lfsrStep4 } from '../../../src/mte.js'

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
