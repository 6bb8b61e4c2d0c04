import type { Pte } from './host-pages.js'

/** PTEs per leaf table: one 4 KiB table of 8-byte entries, 2 MiB of address space, as arm64's level 3. */
export const PTES_PER_LEAF = 512

/**
 * A PTE as a leaf holds it: a Pte object, or a plain frame number for the commonest page of
 * all, an exclusive private anonymous page (see PageTable).
 */
export type RawPte = Pte | number

/** One leaf table: its PTEs by index and how many are set (an empty leaf is freed). */
interface Leaf {
  readonly ptes: (RawPte | undefined)[]
  count: number
}

/**
 * One process's page table: PTEs by virtual page number, held in leaf tables of 512 entries
 * keyed by leaf number. A user address's page number is above 2^31 (mappings sit near the
 * top of the 48-bit space), which a Map would key as a heap number; a leaf number stays a
 * small integer, and the PTEs of a range are found leaf by leaf, in address order, without
 * looking at the rest of the table.
 */
export class PageTable {
  private readonly leaves = new Map<number, Leaf>()
  private ptes = 0
  /** The leaf looked up last (a fault or copy walks pages in order: one Map lookup per leaf, not per page). */
  private lastKey = -1
  private lastLeaf: Leaf | undefined

  /**
   * A PTE may be held as a bare frame number (`setFrame`): a writable PTE mapping an
   * exclusive private anonymous page (one reference, this one mapping, no swap cache, not
   * zero, not huge), which is what a VMM's guest RAM is made of, so filling it creates no
   * objects. Whoever asks for a Pte object (`get`, `forEachIn`, `entries`) gets one: the owner's
   * `materialize` turns the frame into its Page and PTE objects and stores them with `set`.
   * `raw` and `forEachRawIn` look without materializing.
   */
  constructor(private readonly materialize: (vpn: number, pfn: number) => Pte = () => {
    throw new Error('this page table holds no frame-number PTEs')
  }) {}

  /** PTEs set. */
  get size(): number {
    return this.ptes
  }

  get(vpn: number): Pte | undefined {
    const pte = this.raw(vpn)
    return typeof pte === 'number' ? this.materialize(vpn, pte) : pte
  }

  /** The PTE at `vpn` as the leaf holds it: a frame number for a bare anonymous page (see the constructor). */
  raw(vpn: number): RawPte | undefined {
    return this.leaf(Math.floor(vpn / PTES_PER_LEAF))?.ptes[vpn % PTES_PER_LEAF]
  }

  private leaf(key: number): Leaf | undefined {
    if (key === this.lastKey) return this.lastLeaf
    const leaf = this.leaves.get(key)
    this.lastKey = key
    this.lastLeaf = leaf
    return leaf
  }

  has(vpn: number): boolean {
    return this.raw(vpn) !== undefined
  }

  set(vpn: number, pte: Pte): void {
    this.store(vpn, pte)
  }

  /** A writable PTE at `vpn` mapping the exclusive private anonymous page in frame `pfn` (see the constructor). */
  setFrame(vpn: number, pfn: number): void {
    this.store(vpn, pfn)
  }

  private store(vpn: number, pte: RawPte): void {
    const key = Math.floor(vpn / PTES_PER_LEAF)
    let leaf = this.leaf(key)
    if (!leaf) {
      leaf = { ptes: new Array<RawPte | undefined>(PTES_PER_LEAF).fill(undefined), count: 0 }
      this.leaves.set(key, leaf)
      this.lastLeaf = leaf
    }
    const index = vpn % PTES_PER_LEAF
    if (leaf.ptes[index] === undefined) {
      leaf.count++
      this.ptes++
    }
    leaf.ptes[index] = pte
  }

  /** Clears the PTE at `vpn`; false when there was none. */
  delete(vpn: number): boolean {
    const key = Math.floor(vpn / PTES_PER_LEAF)
    const leaf = this.leaf(key)
    const index = vpn % PTES_PER_LEAF
    if (!leaf || leaf.ptes[index] === undefined) return false
    leaf.ptes[index] = undefined
    this.ptes--
    if (--leaf.count === 0) {
      this.leaves.delete(key)
      this.lastLeaf = undefined
    }
    return true
  }

  /**
   * Calls `visit` for each PTE of pages [first, last), ascending, until it returns false.
   * Costs the leaves the range covers (or, for a range wider than the table, the table's
   * leaves), not its pages. `visit` may clear or replace the PTE it is given (not others).
   */
  forEachIn(first: number, last: number, visit: (vpn: number, pte: Pte) => boolean | void): void {
    this.forEachRawIn(first, last, (vpn, pte) => visit(vpn, typeof pte === 'number' ? this.materialize(vpn, pte) : pte))
  }

  /** As `forEachIn`, with each PTE as the leaf holds it (a bare anonymous page stays a frame number). */
  forEachRawIn(first: number, last: number, visit: (vpn: number, pte: RawPte) => boolean | void): void {
    if (last <= first) return
    const firstLeaf = Math.floor(first / PTES_PER_LEAF)
    const lastLeaf = Math.floor((last - 1) / PTES_PER_LEAF)
    let keys: number[]
    if (lastLeaf - firstLeaf < this.leaves.size) {
      keys = []
      for (let key = firstLeaf; key <= lastLeaf; key++) if (this.leaves.has(key)) keys.push(key)
    } else {
      keys = []
      for (const key of this.leaves.keys()) if (key >= firstLeaf && key <= lastLeaf) keys.push(key)
      keys.sort((a, b) => a - b)
    }
    for (const key of keys) {
      const leaf = this.leaves.get(key)
      if (!leaf) continue
      const base = key * PTES_PER_LEAF
      const from = Math.max(first - base, 0)
      const to = Math.min(last - base, PTES_PER_LEAF)
      const ptes = leaf.ptes
      for (let i = from; i < to; i++) {
        const pte = ptes[i]
        if (pte !== undefined && visit(base + i, pte) === false) return
      }
    }
  }

  /** Every PTE with its page number, ascending. */
  entries(): [number, Pte][] {
    const out: [number, Pte][] = []
    this.forEachIn(0, Number.MAX_SAFE_INTEGER, (vpn, pte) => {
      out.push([vpn, pte])
    })
    return out
  }
}
