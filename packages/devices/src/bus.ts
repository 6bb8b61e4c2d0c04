/**
 * An MMIO device: offsets are relative to the device's base address. `size` is 1, 2, 4 or 8
 * bytes; values are unsigned and fit the access size (8-byte values as far as a number can
 * hold them).
 */
export interface MmioDevice {
  readonly name: string
  read(offset: number, size: number): number
  write(offset: number, size: number, value: number): void
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

  /** Every region, lowest base first (for device trees, snapshots and resets). */
  entries(): readonly MmioRegion[] {
    return [...this.regions]
  }
}
