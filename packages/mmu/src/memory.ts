/**
 * What walks and the stage-2 builder need from physical memory. Little-endian 32-bit
 * words at 4-aligned PAs; `write32` takes an unsigned value. `PhysicalMemory` from
 * `@tagvm/tag-memory` satisfies it. A `read32` that throws RangeError for a PA outside
 * memory is reported by the walker as a synchronous external abort on the walk.
 */
export interface DescriptorMemory {
  /** The little-endian 32-bit word at `pa` (4-aligned). */
  read32(pa: number): number
  /** Stores an unsigned 32-bit word at `pa` (4-aligned), little-endian. */
  write32(pa: number, value: number): void
}
