// Byte-lane access to a block of 32-bit registers (the PrimeCell devices): a guest access of
// 1, 2, 4 or 8 bytes becomes a read or write of the register that holds it.

export function checkAccess(name: string, offset: number, size: number): void {
  if (size !== 1 && size !== 2 && size !== 4 && size !== 8) {
    throw new RangeError(`${name}: access size ${size} is not 1, 2, 4 or 8`)
  }
  if (!Number.isInteger(offset) || offset < 0 || offset + Math.min(size, 4) > 0x1000) {
    throw new RangeError(`${name}: offset ${offset} is outside the 4 KiB register block`)
  }
}

/** The bytes of a 32-bit register that an access of `size` at `offset` sees. */
export function laneOf(value: number, offset: number, size: number): number {
  if (size >= 4) return value >>> 0
  const shifted = value >>> (8 * (offset & 3))
  return size === 1 ? shifted & 0xff : shifted & 0xffff
}

/** A guest read of `data.length` bytes at `offset` of a 4 KiB block: the register's lane, little-endian. */
export function readRegister32(name: string, offset: number, data: Uint8Array, read: (reg: number) => number): void {
  checkAccess(name, offset, data.length)
  const value = laneOf(read(offset & ~3), offset, data.length)
  // Registers are 32 bits wide: an 8-byte read sees them zero-extended.
  data.fill(0)
  for (let i = 0; i < Math.min(data.length, 4); i++) data[i] = (value >>> (8 * i)) & 0xff
}

/** A guest write of `data` (little-endian) at `offset`; an 8-byte write's upper half has no register behind it. */
export function writeRegister32(name: string, offset: number, data: Uint8Array, write: (reg: number, value: number) => void): void {
  checkAccess(name, offset, data.length)
  let value = 0
  for (let i = Math.min(data.length, 4) - 1; i >= 0; i--) value = (value << 8) | data[i]!
  // A narrow write to a byte lane above bit 0 has no meaning for these registers.
  const v = (data.length >= 4 ? value : value << (8 * (offset & 3))) >>> 0
  write(offset & ~3, v)
}
