/** Addresses the generator hands to registers and data: mostly data pages, some elsewhere. */
import { CODE_GPA, CODE_REGION, DATA_OFFSET, MAIN_GPA, MMIO_GPA, REFUSED_GPA, REGION } from './layout.js'
import type { Rng } from './rng.js'
import type { Regime, SlotSpec } from './scenario.js'

/** Where the data pages of each slot start (the main slot holds code and tables first). */
export function dataStart(slot: SlotSpec): number {
  return slot.slot === 0 ? DATA_OFFSET : 0
}

/**
 * A pointer into guest memory (data mostly), sometimes tagged or an upper-half alias, as
 * two 32-bit halves (data pages need hundreds of them; no BigInt).
 */
export function pointerHalves(rng: Rng, regime: Regime, slots: readonly SlotSpec[]): [lo: number, hi: number] {
  const target = rng.weighted<() => number>([
    [70, () => {
      const slot = rng.pick(slots)
      const start = dataStart(slot)
      return slot.gpa + start + rng.int(slot.size - start)
    }],
    [8, () => MMIO_GPA + rng.int(0x1000)],
    [6, () => CODE_GPA + rng.int(CODE_REGION)],
    [6, () => MAIN_GPA + rng.int(DATA_OFFSET)],
    [10, () => REFUSED_GPA + rng.int(REGION)],
  ])()
  const lo = (target & ~(rng.pick([1, 8, 16, 16, 64]) - 1)) >>> 0
  let hi = 0
  if (rng.chance(0.5)) hi |= rng.int(16) << 24
  // Upper-half alias: VA bits 55..(64 - T0SZ) set (TTBR1 covers them with T1SZ = T0SZ).
  if (regime.ttbr1 && rng.chance(0.2)) hi = (hi | (~0 << (32 - regime.t0sz))) >>> 0
  return [lo, hi >>> 0]
}

export function generatedPointer(rng: Rng, regime: Regime, slots: readonly SlotSpec[]): bigint {
  const [lo, hi] = pointerHalves(rng, regime, slots)
  return (BigInt(hi) << 32n) | BigInt(lo)
}
