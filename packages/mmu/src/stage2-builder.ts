import type { DescriptorMemory } from './memory.js'

const TWO32 = 4294967296
const PAGE = 4096
const BLOCK_2M = 2 * 1024 * 1024
const ENTRIES = 512
const OA_LIMIT = 2 ** 48

/** Stage-2 access permissions (S2AP and XN) of a mapping. */
export interface Stage2Permissions {
  read: boolean
  write: boolean
  exec: boolean
}

/** Everything a stage-2 leaf descriptor says about its mapping. */
export interface Stage2Attrs extends Stage2Permissions {
  /** Stage-2 MemAttr[3:0]. With HCR_EL2.FWB=1: 0b0110 Normal WB (tags reachable), 0b0000 Device-nGnRnE. */
  memAttr: number
  /** AF; default true. Clear it to take an access flag fault on first access. */
  accessFlag?: boolean
}

/** The leaf that maps an IPA, as `Stage2Builder.lookup` finds it. */
export interface Stage2Mapping {
  /** IPA of the leaf (page or block) that maps the queried address. */
  ipa: number
  pa: number
  /** 4096 or 2 MiB (or 1 GiB, not created by this builder). */
  size: number
  attrs: Required<Stage2Attrs>
}

/** How a `Stage2Builder` sizes its tables and gets memory for them. */
export interface Stage2BuilderOptions {
  /** IPA size, 32..48 bits (VTCR_EL2.T0SZ = 64 - ipaBits). */
  ipaBits: number
  /** Returns the PA of a 4 KiB page for a table; the builder zeroes it. */
  allocTable: () => number
  /** Called with a table's PA when a merge or unmap empties it. */
  freeTable?: (pa: number) => void
  /** Replace a full table of contiguous, identical pages by a 2 MiB block (default true). */
  mergeBlocks?: boolean
}

function levelShift(level: number): number {
  return 12 + 9 * (3 - level)
}

function checkPageMultiple(name: string, value: number): void {
  if (!Number.isSafeInteger(value) || value < 0 || value % PAGE !== 0) {
    throw new RangeError(`${name} must be a non-negative multiple of 4096, got ${value}`)
  }
}

function hex(v: number): string {
  return `0x${v.toString(16)}`
}

/**
 * Builds stage-2 translation tables (4 KiB granule, VMSAv8-64 format) in memory for a
 * hypervisor: 4 KiB pages and 2 MiB blocks, split and merged as needed. The descriptors
 * are the architectural ones, so `Mmu` walks what this writes. TLB maintenance is the
 * caller's job (TLBI IPAS2E1 / flushVmid on each vCPU after unmap or writeProtect).
 */
export class Stage2Builder {
  readonly rootPa: number
  /** VTCR_EL2 describing these tables: T0SZ, SL0, inner-shareable WB walks, 4K, PS=48 bits. */
  readonly vtcr: number
  readonly ipaBits: number
  readonly startLevel: number
  private readonly memory: DescriptorMemory
  private readonly allocTableFn: () => number
  private readonly freeTableFn: ((pa: number) => void) | undefined
  private readonly mergeBlocks: boolean
  private readonly ipaLimit: number
  private destroyed = false
  // Scratch for the last descriptor read.
  private dLo = 0
  private dHi = 0

  constructor(memory: DescriptorMemory, options: Stage2BuilderOptions) {
    const { ipaBits } = options
    if (!Number.isInteger(ipaBits) || ipaBits < 32 || ipaBits > 48) {
      throw new RangeError(`ipaBits must be 32..48, got ${ipaBits}`)
    }
    this.memory = memory
    this.allocTableFn = options.allocTable
    this.freeTableFn = options.freeTable
    this.mergeBlocks = options.mergeBlocks ?? true
    this.ipaBits = ipaBits
    this.ipaLimit = 2 ** ipaBits
    // Start where a single root table is enough: level 1 up to 39 bits, else level 0.
    this.startLevel = ipaBits <= 39 ? 1 : 0
    const sl0 = this.startLevel === 1 ? 1 : 2
    this.vtcr = ((64 - ipaBits) | (sl0 << 6) | (1 << 8) | (1 << 10) | (3 << 12) | (5 << 16) | (1 << 31)) >>> 0
    this.rootPa = this.newTable()
  }

  // ---- public operations -----------------------------------------------------------

  /** Maps [ipa, ipa+size) to [pa, pa+size). Throws (changing nothing) if any page is mapped. */
  map(ipa: number, pa: number, size: number, attrs: Stage2Attrs): void {
    this.checkAlive()
    this.checkRange(ipa, size)
    checkPageMultiple('pa', pa)
    if (pa + size > OA_LIMIT) throw new RangeError(`PA range ${hex(pa)}+${hex(size)} exceeds 48 bits`)
    checkAttrs(attrs)
    const end = ipa + size
    for (let cur = ipa; cur < end; ) {
      const leafLevel = this.findLeaf(cur)
      if (leafLevel >= 0) throw new RangeError(`IPA ${hex(cur)} is already mapped`)
      cur = this.nextAfterHole(cur)
    }
    const loAttrs = encodeLoAttrs(attrs)
    const hiAttrs = attrs.exec ? 0 : 2 << 21
    let cur = ipa
    try {
      while (cur < end) {
        const out = pa + (cur - ipa)
        if (cur % BLOCK_2M === 0 && out % BLOCK_2M === 0 && end - cur >= BLOCK_2M) {
          const slot = this.slotFor(cur, 2, true)
          this.read(slot)
          if ((this.dLo & 3) === 3) this.freeTable(this.tableAddress()) // empty (checked above)
          this.write(slot, leafLo(out, loAttrs, 1), leafHi(out, hiAttrs))
          cur += BLOCK_2M
        } else {
          const slot = this.slotFor(cur, 3, true)
          this.write(slot, leafLo(out, loAttrs, 3), leafHi(out, hiAttrs))
          cur += PAGE
          if (cur % BLOCK_2M === 0 || cur >= end) this.tryMerge(cur - PAGE)
        }
      }
    } catch (error) {
      if (cur > ipa) this.unmap(ipa, cur - ipa)
      throw error
    }
  }

  /** Removes every mapping in [ipa, ipa+size); unmapped parts are ignored. */
  unmap(ipa: number, size: number): void {
    this.checkAlive()
    this.checkRange(ipa, size)
    this.splitEdges(ipa, ipa + size)
    this.forEachLeaf(ipa, ipa + size, (slot) => this.write(slot, 0, 0))
    this.prune(ipa, ipa + size)
  }

  /** Clears write permission on every mapping in the range (dirty logging). */
  writeProtect(ipa: number, size: number): void {
    this.checkAlive()
    this.checkRange(ipa, size)
    this.splitEdges(ipa, ipa + size)
    this.forEachLeaf(ipa, ipa + size, (slot) => this.write(slot, this.dLo & ~(1 << 7), this.dHi))
  }

  /** Adds the given permissions to every mapping in the range (never removes any). */
  relaxPermissions(ipa: number, size: number, perms: Partial<Stage2Permissions>): void {
    this.checkAlive()
    this.checkRange(ipa, size)
    this.splitEdges(ipa, ipa + size)
    const orLo = (perms.read ? 1 << 6 : 0) | (perms.write ? 1 << 7 : 0)
    this.forEachLeaf(ipa, ipa + size, (slot) => {
      this.write(slot, this.dLo | orLo, perms.exec ? this.dHi & ~(3 << 21) : this.dHi)
    })
    for (let cur = ipa - (ipa % BLOCK_2M); cur < ipa + size; cur += BLOCK_2M) this.tryMerge(cur)
  }

  /** Sets AF on the leaf mapping this IPA. Returns false if it is not mapped. */
  setAccessFlag(ipa: number): boolean {
    this.checkAlive()
    this.checkAddress(ipa)
    const level = this.findLeaf(ipa)
    if (level < 0) return false
    this.write(this.leafSlot, this.dLo | (1 << 10), this.dHi)
    return true
  }

  /** The leaf mapping this IPA, or undefined. */
  query(ipa: number): Stage2Mapping | undefined {
    this.checkAlive()
    this.checkAddress(ipa)
    const level = this.findLeaf(ipa)
    if (level < 0) return undefined
    const size = 2 ** levelShift(level)
    const lo = this.dLo
    const hi = this.dHi
    const oa = (hi & 0xffff) * TWO32 + ((lo & 0xfffff000) >>> 0)
    return {
      ipa: ipa - (ipa % size),
      pa: oa - (oa % size),
      size,
      attrs: {
        read: ((lo >>> 6) & 1) !== 0,
        write: ((lo >>> 7) & 1) !== 0,
        exec: ((hi >>> 21) & 3) === 0,
        memAttr: (lo >>> 2) & 0xf,
        accessFlag: ((lo >>> 10) & 1) !== 0,
      },
    }
  }

  // ---- table plumbing ---------------------------------------------------------------

  private checkAlive(): void {
    if (this.destroyed) throw new RangeError('Stage2Builder used after destroy()')
  }

  private checkAddress(ipa: number): void {
    if (!Number.isSafeInteger(ipa) || ipa < 0 || ipa >= this.ipaLimit) {
      throw new RangeError(`IPA ${ipa} outside the ${this.ipaBits}-bit IPA space`)
    }
  }

  private checkRange(ipa: number, size: number): void {
    checkPageMultiple('ipa', ipa)
    checkPageMultiple('size', size)
    if (size === 0) throw new RangeError('size must be at least one page')
    if (ipa + size > this.ipaLimit) {
      throw new RangeError(`IPA range ${hex(ipa)}+${hex(size)} exceeds the ${this.ipaBits}-bit IPA space`)
    }
  }

  private newTable(): number {
    const pa = this.allocTableFn()
    if (!Number.isSafeInteger(pa) || pa < 0 || pa % PAGE !== 0 || pa + PAGE > OA_LIMIT) {
      throw new RangeError(`allocTable returned ${pa}, not a 4 KiB-aligned PA`)
    }
    for (let off = 0; off < PAGE; off += 4) this.memory.write32(pa + off, 0)
    return pa
  }

  private freeTable(pa: number): void {
    this.freeTableFn?.(pa)
  }

  private read(slot: number): void {
    this.dLo = this.memory.read32(slot)
    this.dHi = this.memory.read32(slot + 4)
  }

  private write(slot: number, lo: number, hi: number): void {
    this.memory.write32(slot, lo >>> 0)
    this.memory.write32(slot + 4, hi >>> 0)
  }

  private tableAddress(): number {
    return (this.dHi & 0xffff) * TWO32 + ((this.dLo & 0xfffff000) >>> 0)
  }

  private indexAt(ipa: number, level: number): number {
    const entries = level === this.startLevel ? 2 ** (this.ipaBits - levelShift(level)) : ENTRIES
    return Math.floor(ipa / 2 ** levelShift(level)) % entries
  }

  /** Slot of `ipa` at `level`, walking (and with create, building) the tables above it. */
  private slotFor(ipa: number, level: number, create: boolean): number {
    let table = this.rootPa
    for (let l = this.startLevel; ; l++) {
      const slot = table + this.indexAt(ipa, l) * 8
      if (l === level) return slot
      this.read(slot)
      if ((this.dLo & 3) === 3) {
        table = this.tableAddress()
      } else if (!create) {
        return -1
      } else {
        if ((this.dLo & 1) !== 0) throw new RangeError(`IPA ${hex(ipa)} is inside a block at level ${l}`)
        const next = this.newTable()
        this.write(slot, (next & 0xfffff000) | 3, Math.floor(next / TWO32))
        table = next
      }
    }
  }

  private leafSlot = 0
  private holeLevel = 0

  /** Level of the leaf mapping ipa (descriptor in dLo/dHi, slot in leafSlot), or -1. */
  private findLeaf(ipa: number): number {
    let table = this.rootPa
    for (let l = this.startLevel; l <= 3; l++) {
      const slot = table + this.indexAt(ipa, l) * 8
      this.read(slot)
      if ((this.dLo & 1) === 0) {
        this.holeLevel = l
        return -1
      }
      if (l === 3 || (this.dLo & 2) === 0) {
        this.leafSlot = slot
        return l
      }
      table = this.tableAddress()
    }
    return -1
  }

  /** After findLeaf returned -1: the first IPA past the hole it found. */
  private nextAfterHole(ipa: number): number {
    const size = 2 ** levelShift(this.holeLevel)
    return ipa - (ipa % size) + size
  }

  /** Splits blocks that straddle the range edges, so later steps never half-cover a block. */
  private splitEdges(start: number, end: number): void {
    this.splitBlockAt(start)
    if (end < this.ipaLimit) this.splitBlockAt(end)
  }

  private splitBlockAt(ipa: number): void {
    const level = this.findLeaf(ipa)
    if (level < 0 || level === 3) return
    const size = 2 ** levelShift(level)
    if (ipa % size === 0) return
    if (level !== 2) throw new RangeError(`cannot split a level-${level} block`)
    const slot = this.leafSlot
    const lo = this.dLo
    const hi = this.dHi
    const base = (hi & 0xffff) * TWO32 + ((lo & 0xffe00000) >>> 0)
    const table = this.newTable()
    for (let i = 0; i < ENTRIES; i++) {
      const out = base + i * PAGE
      this.write(table + i * 8, leafLo(out, lo & 0xffc, 3), (hi & ~0xffff) | Math.floor(out / TWO32))
    }
    this.write(slot, (table & 0xfffff000) | 3, Math.floor(table / TWO32))
  }

  /** Calls fn(slot) with dLo/dHi loaded for every leaf inside [start, end). */
  private forEachLeaf(start: number, end: number, fn: (slot: number) => void): void {
    for (let cur = start; cur < end; ) {
      const level = this.findLeaf(cur)
      if (level < 0) {
        cur = this.nextAfterHole(cur)
        continue
      }
      const size = 2 ** levelShift(level)
      fn(this.leafSlot)
      cur = cur - (cur % size) + size
    }
  }

  /** Frees tables left empty inside [start, end), visiting only tables that exist. */
  private prune(start: number, end: number): void {
    this.pruneTable(this.rootPa, this.startLevel, 0, start, end)
  }

  private pruneTable(table: number, level: number, tableIpa: number, start: number, end: number): void {
    if (level >= 3) return
    const span = 2 ** levelShift(level)
    const entries = level === this.startLevel ? 2 ** (this.ipaBits - levelShift(level)) : ENTRIES
    const first = Math.max(0, Math.floor((start - tableIpa) / span))
    const last = Math.min(entries - 1, Math.floor((end - 1 - tableIpa) / span))
    for (let i = first; i <= last; i++) {
      const slot = table + i * 8
      this.read(slot)
      if ((this.dLo & 3) !== 3) continue
      const child = this.tableAddress()
      this.pruneTable(child, level + 1, tableIpa + i * span, start, end)
      if (this.isEmpty(child)) {
        this.write(slot, 0, 0)
        this.freeTable(child)
      }
    }
  }

  /** Unmaps everything and frees every table, the root included; the builder is then unusable. */
  destroy(): void {
    if (this.destroyed) return
    this.unmap(0, this.ipaLimit)
    this.freeTable(this.rootPa)
    this.destroyed = true
  }

  private isEmpty(table: number): boolean {
    for (let i = 0; i < ENTRIES; i++) if ((this.memory.read32(table + i * 8) & 1) !== 0) return false
    return true
  }

  /** Replaces the level-3 table covering ipa by a 2 MiB block if its 512 pages allow it. */
  private tryMerge(ipa: number): void {
    if (!this.mergeBlocks) return
    const slot = this.slotFor(ipa, 2, false)
    if (slot < 0) return
    this.read(slot)
    if ((this.dLo & 3) !== 3) return
    const table = this.tableAddress()
    const firstLo = this.memory.read32(table)
    const firstHi = this.memory.read32(table + 4)
    if ((firstLo & 3) !== 3) return
    const base = (firstHi & 0xffff) * TWO32 + ((firstLo & 0xfffff000) >>> 0)
    if (base % BLOCK_2M !== 0) return
    for (let i = 1; i < ENTRIES; i++) {
      const lo = this.memory.read32(table + i * 8)
      const hi = this.memory.read32(table + i * 8 + 4)
      const out = base + i * PAGE
      if ((lo & 0xfff) !== (firstLo & 0xfff) || (hi & ~0xffff) !== (firstHi & ~0xffff)) return
      if ((hi & 0xffff) * TWO32 + ((lo & 0xfffff000) >>> 0) !== out) return
    }
    this.write(slot, leafLo(base, firstLo & 0xffc, 1), firstHi)
    this.freeTable(table)
  }
}

function checkAttrs(attrs: Stage2Attrs): void {
  if (!Number.isInteger(attrs.memAttr) || attrs.memAttr < 0 || attrs.memAttr > 15) {
    throw new RangeError(`memAttr must be 4 bits, got ${attrs.memAttr}`)
  }
  for (const key of ['read', 'write', 'exec'] as const) {
    if (typeof attrs[key] !== 'boolean') throw new RangeError(`${key} must be a boolean`)
  }
}

/** Descriptor bits 11:2 for these attributes: MemAttr, S2AP, SH=inner shareable, AF. */
function encodeLoAttrs(attrs: Stage2Attrs): number {
  return (
    (attrs.memAttr << 2) |
    (attrs.read ? 1 << 6 : 0) |
    (attrs.write ? 1 << 7 : 0) |
    (3 << 8) |
    (attrs.accessFlag === false ? 0 : 1 << 10)
  )
}

function leafLo(out: number, loAttrs: number, type: 1 | 3): number {
  return ((out & 0xfffff000) | loAttrs | type) >>> 0
}

function leafHi(out: number, hiAttrs: number): number {
  return (hiAttrs | Math.floor(out / TWO32)) >>> 0
}
