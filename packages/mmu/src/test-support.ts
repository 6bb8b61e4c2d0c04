// Helpers for this package's tests (not part of the public surface): a sparse memory
// and descriptor builders that spell out every bit, so tests read like the Arm ARM.
import type { DescriptorMemory } from './memory.js'

export class SparseMemory implements DescriptorMemory {
  readonly pages = new Map<number, Uint32Array>()
  reads = 0
  constructor(readonly limit = 2 ** 48) {}

  read32(pa: number): number {
    this.check(pa)
    this.reads++
    const page = this.pages.get(Math.floor(pa / 4096))
    return page ? (page[(pa % 4096) / 4] as number) : 0
  }

  write32(pa: number, value: number): void {
    this.check(pa)
    if (!Number.isInteger(value) || value < 0 || value > 0xffffffff) throw new RangeError(`bad value ${value}`)
    const pfn = Math.floor(pa / 4096)
    let page = this.pages.get(pfn)
    if (!page) {
      page = new Uint32Array(1024)
      this.pages.set(pfn, page)
    }
    page[(pa % 4096) / 4] = value
  }

  write64(pa: number, value: bigint): void {
    this.write32(pa, Number(value & 0xffffffffn))
    this.write32(pa + 4, Number((value >> 32n) & 0xffffffffn))
  }

  read64(pa: number): bigint {
    return (BigInt(this.read32(pa + 4)) << 32n) | BigInt(this.read32(pa))
  }

  private check(pa: number): void {
    if (!Number.isInteger(pa) || pa < 0 || pa % 4 !== 0 || pa + 4 > this.limit) {
      throw new RangeError(`PA 0x${pa.toString(16)} outside memory`)
    }
  }
}

/** Bump allocator of zeroed 4 KiB pages. */
export function pageAllocator(start: number): { alloc: () => number; freed: number[]; allocated: number[] } {
  let next = start
  const freed: number[] = []
  const allocated: number[] = []
  return {
    alloc: () => {
      const pa = next
      next += 4096
      allocated.push(pa)
      return pa
    },
    freed,
    allocated,
  }
}

export interface S1Leaf {
  attrIndx?: number
  ap?: number // AP[2:1]
  af?: boolean
  ng?: boolean
  pxn?: boolean
  uxn?: boolean
  dbm?: boolean
}

/** Stage-1 table descriptor with optional APTable/UXNTable/PXNTable. */
export function s1Table(next: number, t: { apTable?: number; uxnTable?: boolean; pxnTable?: boolean } = {}): bigint {
  return (
    BigInt(next) |
    3n |
    (BigInt(t.apTable ?? 0) << 61n) |
    (t.uxnTable ? 1n << 60n : 0n) |
    (t.pxnTable ? 1n << 59n : 0n)
  )
}

function s1Attrs(l: S1Leaf): bigint {
  return (
    (BigInt(l.attrIndx ?? 0) << 2n) |
    (BigInt(l.ap ?? 0) << 6n) |
    (3n << 8n) |
    ((l.af ?? true) ? 1n << 10n : 0n) |
    (l.ng ? 1n << 11n : 0n) |
    (l.dbm ? 1n << 51n : 0n) |
    (l.pxn ? 1n << 53n : 0n) |
    (l.uxn ? 1n << 54n : 0n)
  )
}

export function s1Page(pa: number, l: S1Leaf = {}): bigint {
  return BigInt(pa) | 3n | s1Attrs(l)
}

export function s1Block(pa: number, l: S1Leaf = {}): bigint {
  return BigInt(pa) | 1n | s1Attrs(l)
}

export interface S2Leaf {
  memAttr?: number
  s2ap?: number
  af?: boolean
  xn?: number // XN[1:0] at 54:53
}

function s2Attrs(l: S2Leaf): bigint {
  return (
    (BigInt(l.memAttr ?? 0b1111) << 2n) |
    (BigInt(l.s2ap ?? 3) << 6n) |
    (3n << 8n) |
    ((l.af ?? true) ? 1n << 10n : 0n) |
    (BigInt(l.xn ?? 0) << 53n)
  )
}

export function s2Table(next: number): bigint {
  return BigInt(next) | 3n
}

export function s2Page(pa: number, l: S2Leaf = {}): bigint {
  return BigInt(pa) | 3n | s2Attrs(l)
}

export function s2Block(pa: number, l: S2Leaf = {}): bigint {
  return BigInt(pa) | 1n | s2Attrs(l)
}

/** Splits a 64-bit value (bigint, test edge only) into hi/lo halves. */
export function halves(v: bigint): [number, number] {
  return [Number((v >> 32n) & 0xffffffffn), Number(v & 0xffffffffn)]
}

/** 4 KiB-granule table index of a VA at a level (VA as bigint, test edge only). */
export function index4k(va: bigint, level: number): number {
  return Number((va >> BigInt(12 + 9 * (3 - level))) & 0x1ffn)
}
