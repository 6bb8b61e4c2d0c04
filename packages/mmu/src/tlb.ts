/**
 * A direct-mapped TLB in flat typed arrays (v86 style): entry i is index i of every array.
 * Entries always describe one 4 KiB page, even when the walk found a larger block; the
 * block sizes are kept so that TLBI by VA/IPA removes every page of the block.
 */
export class Tlb {
  readonly size: number
  readonly mask: number
  /** VA[63:32] of the page with TBI applied (bits 63:56 = copies of bit 55). */
  readonly vaHiKey: Int32Array
  /** VA[31:12] << 12 | 1; 0 means the entry is empty. */
  readonly vaLoKey: Int32Array
  readonly asid: Int32Array
  readonly vmid: Int32Array
  /** PERM_* | TLB_GLOBAL | TLB_DEVICE | TLB_TAGGED | combined MAIR byte << 16. */
  readonly flags: Int32Array
  /** Final PA of the 4 KiB page. */
  readonly paPage: Float64Array
  /** IPA of the 4 KiB page. */
  readonly ipaPage: Float64Array
  /** log2 of the stage-1 block (or page) size the entry came from. */
  readonly s1SizeLog2: Uint8Array
  /** log2 of the stage-2 block (or page) size the entry came from (0: no stage 2). */
  readonly s2SizeLog2: Uint8Array
  /** Opaque to the MMU: set to -1 on fill; the CPU keeps its host frame handle here. */
  readonly hostSlot: Int32Array
  /** Entries filled from blocks larger than 4 KiB since the last full flush. */
  largeEntries = 0

  constructor(entriesLog2 = 10) {
    if (!Number.isInteger(entriesLog2) || entriesLog2 < 1 || entriesLog2 > 20) {
      throw new RangeError(`TLB size must be 2^1..2^20 entries, got 2^${entriesLog2}`)
    }
    this.size = 1 << entriesLog2
    this.mask = this.size - 1
    this.vaHiKey = new Int32Array(this.size)
    this.vaLoKey = new Int32Array(this.size)
    this.asid = new Int32Array(this.size)
    this.vmid = new Int32Array(this.size)
    this.flags = new Int32Array(this.size)
    this.paPage = new Float64Array(this.size)
    this.ipaPage = new Float64Array(this.size)
    this.s1SizeLog2 = new Uint8Array(this.size)
    this.s2SizeLog2 = new Uint8Array(this.size)
    this.hostSlot = new Int32Array(this.size).fill(-1)
  }

  /** Slot for a page; keyHi is the canonical (TBI-applied) VA[63:32]. */
  indexOf(keyHi: number, vaLo: number): number {
    return ((vaLo >>> 12) ^ (keyHi >>> 8)) & this.mask
  }

  /** Empties slot `i`. */
  invalidate(i: number): void {
    this.vaLoKey[i] = 0
    this.hostSlot[i] = -1
  }

  /** Empties every slot. */
  flushAll(): void {
    this.vaLoKey.fill(0)
    this.hostSlot.fill(-1)
    this.largeEntries = 0
  }

  /** Number of valid entries (tests and statistics). */
  countValid(): number {
    let n = 0
    for (let i = 0; i < this.size; i++) if (this.vaLoKey[i] !== 0) n++
    return n
  }
}
