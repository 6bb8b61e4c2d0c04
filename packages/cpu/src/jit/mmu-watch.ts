// How the compiled tier follows the MMU (jit.ts): wrappers around every MMU method that can
// change a translation, and the VA regions the chain table holds records in, so that a TLBI
// by VA far from the recorded code keeps the records.

import { TLBI_VAAE1, TLBI_VAALE1, TLBI_VAE1, TLBI_VALE1, type Mmu } from '@tagvm/mmu'
import { storeAsDoubles } from '../field-shapes.js'

/** What the runtime does on each kind of MMU change. */
export interface MmuHooks {
  /** The fast TLB may hold stale entries. */
  fastTlb(): void
  /** Fetch translations may have changed: the fast TLB and every chain record go. */
  stale(): void
  /** A TLBI by VA (VA[55:32] in `hi`, VA[31:12] in `lo`): the fast TLB goes, chain records of its region too. */
  tlbiByVa(hi: number, lo: number): void
}

/** Wraps the MMU's (instance) methods so that every change reaches `hooks` before it is made. */
export function watchMmu(mmu: Mmu, hooks: MmuHooks): void {
  type Methods<K extends string> = Record<K, (...args: never[]) => unknown>
  const wrap = <K extends string>(target: Methods<K>, name: K, before: (...args: number[]) => void): void => {
    const original = target[name].bind(target) as (...args: unknown[]) => unknown
    ;(target as Record<K, unknown>)[name] = (...args: number[]) => {
      before(...args)
      return original(...args)
    }
  }
  // The MMU's TLB changes only through the MMU methods below (which see to the chain table);
  // here the fast TLB, whose entries outlive the MMU's.
  const fastTlb = (): void => hooks.fastTlb()
  const stale = (): void => hooks.stale()
  wrap(mmu.tlb as unknown as Methods<'invalidate' | 'flushAll'>, 'invalidate', fastTlb)
  wrap(mmu.tlb as unknown as Methods<'invalidate' | 'flushAll'>, 'flushAll', fastTlb)
  const m = mmu as unknown as Methods<'setTtbr0El1' | 'setTtbr1El1' | 'setVttbrEl2' | 'tlbi' | 'flushVmid' | 'flushAll'>
  wrap(m, 'setTtbr0El1', stale)
  wrap(m, 'setTtbr1El1', stale)
  wrap(m, 'setVttbrEl2', stale)
  // TLB maintenance whether or not the MMU's TLB still holds the page: a fast-TLB entry
  // outlives the MMU entry it was filled from once that slot is refilled for another page
  // (guest TLBI by VA/ASID/IPA, the hypervisor's stage-2 unmaps and write protection).
  wrap(m, 'tlbi', (op, hi, lo) => {
    // Xt[43:0] = VA[55:12].
    if (op === TLBI_VAE1 || op === TLBI_VALE1 || op === TLBI_VAAE1 || op === TLBI_VAALE1) hooks.tlbiByVa(((hi & 0xfff) << 12) | (lo >>> 20), lo << 12)
    else stale()
  })
  wrap(m, 'flushVmid', stale)
  wrap(m, 'flushAll', stale)
}

/**
 * The VA regions the chain table holds records of in its current generation: VA[55:shift],
 * 2^shift the largest block a stage-1 descriptor of that half can map with the TCR_EL1 granule
 * (a TLBI by VA drops a whole block's entry, so every page of it). Linux's fixmap text
 * patching and vmalloc frees TLBI kernel pages tens of thousands of times a boot, far from
 * the code that runs: those keep the records.
 */
export class ChainRegions {
  private readonly regions = new Set<number>()
  private last = -1
  private shiftLow = 30
  private shiftHigh = 30

  constructor() {
    storeAsDoubles(this, ['last'])
  }

  /** A new generation: no records; the shifts from TCR_EL1 (a TCR change starts a generation: it flushes the MMU). */
  reset(tcrLo: number, tcrHi: number): void {
    this.regions.clear()
    this.last = -1
    const ds = (tcrHi >>> (59 - 32)) & 1
    // Largest block: 4 KiB granule 1 GiB (512 GiB with DS), 16 KiB 32 MiB (64 GiB with DS),
    // 64 KiB 512 MiB (4 TiB with 52-bit PAs: taken always).
    const shift = (kb: number): number => (kb === 4 ? (ds ? 39 : 30) : kb === 16 ? (ds ? 36 : 25) : 42)
    const tg0 = (tcrLo >>> 14) & 3
    const tg1 = (tcrLo >>> 30) & 3
    this.shiftLow = shift(tg0 === 1 ? 64 : tg0 === 2 ? 16 : 4)
    this.shiftHigh = shift(tg1 === 1 ? 16 : tg1 === 3 ? 64 : 4)
  }

  /** A record at this VA (hi: VA[63:32], the top byte ignored). */
  record(hi: number, lo: number): void {
    const region = this.of(hi, lo)
    if (region !== this.last) {
      this.last = region
      this.regions.add(region)
    }
  }

  /** Whether some record lies in the region of this VA. */
  holds(hi: number, lo: number): boolean {
    return this.regions.has(this.of(hi, lo))
  }

  private of(hi: number, lo: number): number {
    const h = hi & 0x00ff_ffff
    const shift = (h & 0x0080_0000) !== 0 ? this.shiftHigh : this.shiftLow
    // Regions of the two halves differ in VA[55] (kept by h in both forms).
    return shift >= 32 ? h >>> (shift - 32) : h * 2 ** (32 - shift) + (lo >>> shift)
  }
}
