/** CRC-32C (Castagnoli, reflected polynomial 0x82F63B78), as iSCSI, ext4 and btrfs use it. */
const TABLE = (() => {
  const t = new Uint32Array(256)
  for (let i = 0; i < 256; i++) {
    let c = i
    for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ 0x82f6_3b78 : c >>> 1
    t[i] = c >>> 0
  }
  return t
})()

/** CRC-32C of `bytes`, continuing from `crc` (the value a previous call returned). */
export function crc32c(bytes: Uint8Array, crc = 0): number {
  let c = ~crc >>> 0
  for (let i = 0; i < bytes.length; i++) c = TABLE[(c ^ bytes[i]!) & 0xff]! ^ (c >>> 8)
  return ~c >>> 0
}
