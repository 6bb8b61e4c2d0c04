/**
 * An MMIO device: offsets are relative to the device's base address, and an access moves the
 * bytes of `data` (1, 2, 4 or 8 of them, little-endian as the guest stored or will load them),
 * as firecracker's BusDevice does, so 64-bit registers keep every bit. A read fills `data`.
 */
export interface MmioDevice {
  readonly name: string
  read(offset: number, data: Uint8Array): void
  write(offset: number, data: Uint8Array): void
}

/** One device's window on the bus. */
export interface MmioRegion {
  readonly base: number
  readonly size: number
  readonly device: MmioDevice
}

/** Routes guest physical MMIO addresses to devices. Regions may not overlap. */
export class MmioBus {
  private readonly regions: MmioRegion[] = []

  add(base: number, size: number, device: MmioDevice): void {
    if (!Number.isSafeInteger(base) || base < 0 || !Number.isSafeInteger(size) || size <= 0) {
      throw new RangeError(`bad MMIO region base=${base} size=${size}`)
    }
    const clash = this.regions.find((r) => base < r.base + r.size && r.base < base + size)
    if (clash) {
      throw new RangeError(`${device.name} at 0x${base.toString(16)} overlaps ${clash.device.name}`)
    }
    this.regions.push({ base, size, device })
    this.regions.sort((a, b) => a.base - b.base)
  }

  /** The device and offset for `addr`, or undefined when nothing is mapped there. */
  find(addr: number): { device: MmioDevice; offset: number } | undefined {
    for (const r of this.regions) {
      if (addr >= r.base && addr < r.base + r.size) return { device: r.device, offset: addr - r.base }
    }
    return undefined
  }

  /** A guest read at `addr` into `data`; false (and `data` untouched) when no device is there. */
  read(addr: number, data: Uint8Array): boolean {
    const hit = this.find(addr)
    if (!hit) return false
    hit.device.read(hit.offset, data)
    return true
  }

  /** A guest write of `data` at `addr`; false when no device is there. */
  write(addr: number, data: Uint8Array): boolean {
    const hit = this.find(addr)
    if (!hit) return false
    hit.device.write(hit.offset, data)
    return true
  }

  /** Every region, lowest base first (for device trees, snapshots and resets). */
  entries(): readonly MmioRegion[] {
    return [...this.regions]
  }
}

/** Sizes of an MMIO access. */
export type MmioSize = 1 | 2 | 4 | 8

function checkSize(size: number): asserts size is MmioSize {
  if (size !== 1 && size !== 2 && size !== 4 && size !== 8) throw new RangeError(`access size ${size} is not 1, 2, 4 or 8`)
}

/**
 * A register read as an unsigned value (for tools and tests; the VMM passes bytes through):
 * `size` bytes at `offset`, little-endian, every bit of an 8-byte access kept.
 */
export function readMmio(device: MmioDevice, offset: number, size: number): bigint {
  checkSize(size)
  const data = new Uint8Array(size)
  device.read(offset, data)
  let value = 0n
  for (let i = size - 1; i >= 0; i--) value = (value << 8n) | BigInt(data[i]!)
  return value
}

/** A register write of an unsigned value that fits `size` bytes (for tools and tests). */
export function writeMmio(device: MmioDevice, offset: number, size: number, value: bigint | number): void {
  checkSize(size)
  if (typeof value === 'number' && !Number.isSafeInteger(value)) throw new RangeError(`${device.name}: value ${value} is not an integer`)
  const v = BigInt(value)
  if (v < 0n || v >> BigInt(8 * size) !== 0n) throw new RangeError(`${device.name}: value ${value} does not fit a ${size}-byte write`)
  const data = new Uint8Array(size)
  for (let i = 0; i < size; i++) data[i] = Number((v >> BigInt(8 * i)) & 0xffn)
  device.write(offset, data)
}
