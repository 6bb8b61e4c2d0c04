// Which entries of the fast TLB (layout.ts ST_TLB) were written since it was last emptied, so
// emptying it rewrites those entries only. A Linux boot empties it ~61k times with ~13 fills in
// between on average: copying the whole 32 KiB table each time (TypedArray.set on the shared
// wasm memory, which V8 copies with relaxed atomic moves) was ~25k host instructions a flush,
// 3% of the boot's first 300 M instructions under callgrind, and evicted the L1 data cache.
//
// Sound because the runtime's fill (jit.ts) is the only writer that makes an entry match
// anything: the other writers (fast-tlb.ts EntryFrames.dropMadeUniform, the tag summaries'
// write-key drops) only set keys to -1, which leaves an empty entry as it was. After `empty`
// every entry is as EMPTY_TLB has it, as after a copy of the whole table.

import { EMPTY_TLB } from './fast-tlb.js'
import { ST_TLB, TLB_ENTRIES, TLB_ENTRY_BYTES } from './layout.js'

const WORDS = TLB_ENTRY_BYTES / 4

/** The fast TLB entries of one state page filled since it was last emptied. */
export class TlbFills {
  /** Entry indices filled, in order (each once: see `marked`); the first `size` are current. */
  readonly filled = new Int32Array(TLB_ENTRIES)
  private count = 0
  /** 1 for an entry in `filled`. */
  private readonly marked = new Uint8Array(TLB_ENTRIES)

  /** `s32` views the wasm memory; `base` is the state page's offset in it. The whole table is emptied here once. */
  constructor(private readonly base: number, s32: Int32Array) {
    s32.set(EMPTY_TLB, (base + ST_TLB) >> 2)
  }

  /** How many entries `filled` lists. */
  get size(): number {
    return this.count
  }

  /** Entry `index` was written (call after every write that can make it match). */
  note(index: number): void {
    if (this.marked[index] !== 0) return
    this.marked[index] = 1
    this.filled[this.count++] = index
  }

  /** Empties every entry filled since the last call (each back to EMPTY_TLB's words). */
  empty(s32: Int32Array): void {
    for (let k = 0; k < this.count; k++) {
      const index = this.filled[k]!
      this.marked[index] = 0
      const e = (this.base + ST_TLB + index * TLB_ENTRY_BYTES) >> 2
      const from = index * WORDS
      for (let w = 0; w < WORDS; w++) s32[e + w] = EMPTY_TLB[from + w]!
    }
    this.count = 0
  }
}
