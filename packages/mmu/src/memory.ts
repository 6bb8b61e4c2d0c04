/**
 * What walks and the stage-2 builder need from physical memory. Little-endian 32-bit
 * words at 4-aligned PAs; `write32` takes an unsigned value. `PhysicalMemory` from
 * `@tagvm/tag-memory` satisfies it. A `read32` that throws RangeError for a PA outside
 * memory is reported by the walker as a synchronous external abort on the walk.
 */
export interface DescriptorMemory {
  read32(pa: number): number
  write32(pa: number, value: number): void
}
