import fc from 'fast-check'
import { beforeEach, describe, expect, test } from 'vitest'
import {
  ACCESS_FETCH,
  ACCESS_READ,
  ACCESS_WRITE,
  FAULT_ACCESS_FLAG,
  FAULT_PERMISSION,
  FAULT_TRANSLATION,
  Mmu,
  Stage2Builder,
  TranslationResult,
} from './index.js'
import type { AccessKind, Stage2Attrs } from './index.js'
import { SparseMemory } from './test-support.js'

const RW: Stage2Attrs = { read: true, write: true, exec: true, memAttr: 0b1111 }
const MiB2 = 2 * 1024 * 1024

class Harness {
  readonly mem = new SparseMemory(2 ** 40)
  readonly live = new Set<number>()
  readonly freed: number[] = []
  next = 0x1000_0000
  failAfter = Infinity
  readonly builder: Stage2Builder
  readonly mmu: Mmu
  readonly out = new TranslationResult()

  constructor(ipaBits = 40) {
    this.builder = new Stage2Builder(this.mem, {
      ipaBits,
      allocTable: () => {
        if (this.failAfter-- <= 0) throw new Error('out of table pages')
        const pa = this.next
        this.next += 0x1000
        this.live.add(pa)
        return pa
      },
      freeTable: (pa) => {
        if (!this.live.delete(pa)) throw new Error(`free of unknown table ${pa}`)
        this.freed.push(pa)
      },
    })
    // The vCPU side: stage 1 off, stage 2 = these tables.
    this.mmu = new Mmu(this.mem)
    this.mmu.setVtcrEl2(this.builder.vtcr)
    this.mmu.setVttbrEl2(1 << 16, this.builder.rootPa)
    this.mmu.setHcrEl2(1 << 14, 1) // FWB, VM
  }

  walk(ipa: number, access: AccessKind = ACCESS_READ, el: 0 | 1 = 1): boolean {
    return this.mmu.walk(Math.floor(ipa / 2 ** 32), ipa >>> 0, access, el, false, this.out)
  }

  snapshot(): string {
    const pages = [...this.mem.pages.entries()].sort((a, b) => a[0] - b[0])
    return JSON.stringify(pages.map(([pfn, words]) => [pfn, Array.from(words)]))
  }
}

let h: Harness
beforeEach(() => {
  h = new Harness()
})

describe('Stage2Builder', () => {
  test('VTCR and the walker agree for 32-, 40- and 48-bit IPA spaces', () => {
    for (const bits of [32, 39, 40, 48]) {
      const hb = new Harness(bits)
      const ipa = 2 ** bits - 0x1000
      hb.builder.map(ipa, 0x7654_3000, 0x1000, RW)
      expect(hb.walk(ipa + 0x10), `${bits} bits`).toBe(true)
      expect(hb.out.pa).toBe(0x7654_3010)
      expect(hb.builder.vtcr & 0x3f).toBe(64 - bits)
    }
  })

  test('pages and 2 MiB blocks are real descriptors the walker follows', () => {
    h.builder.map(0x4000_0000, 0x8000_0000, MiB2 + 0x2000, RW)
    expect(h.builder.query(0x4000_0000)).toMatchObject({ ipa: 0x4000_0000, pa: 0x8000_0000, size: MiB2 })
    expect(h.builder.query(0x4020_1000)).toMatchObject({ ipa: 0x4020_1000, pa: 0x8020_1000, size: 0x1000 })
    expect(h.builder.query(0x4020_2000)).toBeUndefined()
    expect(h.walk(0x401f_fff8)).toBe(true)
    expect(h.out.pa).toBe(0x801f_fff8)
    expect(h.out.tagged).toBe(false) // stage 1 off: Device
    expect(h.walk(0x4020_2000)).toBe(false)
    expect(h.out.fault).toBe(FAULT_TRANSLATION)
    expect(h.out.stage).toBe(2)
    expect(h.out.level).toBe(3)
  })

  test('misuse throws RangeError and changes nothing', () => {
    h.builder.map(0x4000_0000, 0x8000_0000, 0x3000, RW)
    const before = h.snapshot()
    expect(() => h.builder.map(0x4000_0800, 0, 0x1000, RW)).toThrow(RangeError)
    expect(() => h.builder.map(0x4000_0000, 0x800, 0x1000, RW)).toThrow(RangeError)
    expect(() => h.builder.map(0x4000_0000, 0, 0x1800, RW)).toThrow(RangeError)
    expect(() => h.builder.map(0x4000_0000, 0, 0, RW)).toThrow(RangeError)
    expect(() => h.builder.map(2 ** 40 - 0x1000, 0, 0x2000, RW)).toThrow(RangeError)
    expect(() => h.builder.map(0x3fff_f000, 0, 0x2000, RW)).toThrow(/already mapped/)
    expect(() => h.builder.map(0x5000_0000, 0, 0x1000, { ...RW, memAttr: 16 })).toThrow(RangeError)
    expect(() => h.builder.unmap(0x4000_0000, 0x10)).toThrow(RangeError)
    expect(() => h.builder.query(-1)).toThrow(RangeError)
    expect(() => new Stage2Builder(h.mem, { ipaBits: 52, allocTable: () => 0 })).toThrow(RangeError)
    expect(h.snapshot()).toBe(before)
  })

  test('a table allocation failure in the middle of map leaves nothing mapped', () => {
    h.failAfter = 2
    expect(() => h.builder.map(0x4000_0000, 0x8000_0000, 3 * MiB2 + 0x1000, { ...RW })).toThrow('out of table pages')
    h.failAfter = Infinity
    expect(h.live.size).toBe(1) // the tables made on the way were given back too
    for (let ipa = 0x4000_0000; ipa < 0x4000_0000 + 3 * MiB2 + 0x1000; ipa += 0x1000) {
      expect(h.builder.query(ipa)).toBeUndefined()
    }
    h.builder.map(0x4000_0000, 0x8000_0000, 3 * MiB2 + 0x1000, RW)
  })

  test('unmap inside a block splits it; emptied tables are freed', () => {
    h.builder.map(0x4000_0000, 0x8000_0000, MiB2, RW)
    h.builder.unmap(0x4010_0000, 0x1000)
    expect(h.builder.query(0x4010_0000)).toBeUndefined()
    expect(h.builder.query(0x4010_1000)).toMatchObject({ pa: 0x8010_1000, size: 0x1000 })
    expect(h.walk(0x4000_0000)).toBe(true)
    expect(h.walk(0x4010_0000)).toBe(false)
    const tables = h.live.size
    h.builder.unmap(0x4000_0000, MiB2)
    expect(h.live.size).toBeLessThan(tables)
    expect(h.live.size).toBe(1) // only the root remains
  })

  test('writeProtect (dirty logging) and relaxPermissions, checked by the walker', () => {
    h.builder.map(0x4000_0000, 0x8000_0000, MiB2, RW)
    h.builder.writeProtect(0x4000_0000, MiB2)
    expect(h.walk(0x4000_5000, ACCESS_WRITE)).toBe(false)
    expect(h.out.fault).toBe(FAULT_PERMISSION)
    expect(h.out.stage).toBe(2)
    expect(h.out.level).toBe(2)
    expect(h.out.faultIpa).toBe(0x4000_5000)
    expect(h.walk(0x4000_5000, ACCESS_READ)).toBe(true)
    h.builder.relaxPermissions(0x4000_5000, 0x1000, { write: true })
    expect(h.builder.query(0x4000_5000)).toMatchObject({ size: 0x1000 })
    expect(h.walk(0x4000_5000, ACCESS_WRITE)).toBe(true)
    expect(h.walk(0x4000_6000, ACCESS_WRITE)).toBe(false)
    h.builder.relaxPermissions(0x4000_0000, MiB2, { write: true })
    expect(h.builder.query(0x4000_6000)).toMatchObject({ size: MiB2 }) // merged back
  })

  test('contiguous identical pages merge into a block; exec and memAttr round-trip', () => {
    const attrs: Stage2Attrs = { read: true, write: false, exec: false, memAttr: 0b0110 }
    for (let i = 511; i >= 0; i--) h.builder.map(0x4020_0000 + i * 0x1000, 0x8040_0000 + i * 0x1000, 0x1000, attrs)
    expect(h.builder.query(0x4020_0000)).toEqual({
      ipa: 0x4020_0000,
      pa: 0x8040_0000,
      size: MiB2,
      attrs: { ...attrs, accessFlag: true },
    })
    expect(h.freed.length).toBe(1)
    expect(h.walk(0x4020_0000, ACCESS_FETCH)).toBe(false)
  })

  test('destroy() unmaps everything and returns every table, the root included', () => {
    h.builder.map(0x4000_0000, 0x8000_0000, MiB2 + 0x1000, RW)
    h.builder.map(0xff_0000_0000, 0x8000_0000, 0x1000, RW)
    expect(h.live.size).toBeGreaterThan(4)
    h.builder.destroy()
    expect(h.live.size).toBe(0)
    expect(() => h.builder.query(0x4000_0000)).toThrow(RangeError)
    expect(() => h.builder.map(0, 0, 0x1000, RW)).toThrow(RangeError)
  })

  test('access flag: cleared AF faults until setAccessFlag', () => {
    h.builder.map(0x4000_0000, 0x8000_0000, 0x1000, { ...RW, accessFlag: false })
    expect(h.walk(0x4000_0000)).toBe(false)
    expect(h.out.fault).toBe(FAULT_ACCESS_FLAG)
    expect(h.builder.setAccessFlag(0x4000_0000)).toBe(true)
    expect(h.builder.setAccessFlag(0x4000_1000)).toBe(false)
    expect(h.walk(0x4000_0000)).toBe(true)
  })
})

describe('Stage2Builder property: random map/unmap/protect sequences agree with a reference map', () => {
  interface RefPage {
    pa: number
    read: boolean
    write: boolean
    exec: boolean
    memAttr: number
    af: boolean
  }
  const WINDOW = 0x8000_0000 // 2 MiB aligned
  const PAGES = 1536 // three 2 MiB blocks

  // Starts and lengths are often multiples of 64 pages so that ranges tile 2 MiB regions
  // exactly, which is what makes splits and merges happen.
  const range = fc.record({
    start: fc.oneof(
      fc.integer({ min: 0, max: PAGES - 1 }),
      fc.integer({ min: 0, max: PAGES / 64 - 1 }).map((x) => x * 64),
      fc.integer({ min: 0, max: PAGES / 512 - 1 }).map((x) => x * 512),
    ),
    count: fc.oneof(
      fc.integer({ min: 1, max: 300 }),
      fc.integer({ min: 1, max: 8 }).map((x) => x * 64),
      fc.constant(512),
    ),
  })
  // A few attribute sets, so neighbouring maps often share attributes (and can merge).
  const presets = [
    { read: true, write: true, exec: true, memAttr: 0b0110, af: true },
    { read: true, write: false, exec: false, memAttr: 0b0110, af: true },
    { read: true, write: true, exec: false, memAttr: 0b0101, af: true },
    { read: false, write: true, exec: true, memAttr: 0b0000, af: false },
  ] as const
  const small = fc.record({
    start: fc.integer({ min: 0, max: PAGES - 1 }),
    count: fc.oneof(fc.integer({ min: 1, max: 8 }), fc.integer({ min: 1, max: 300 })),
  })
  const op = fc.oneof(
    {
      weight: 4,
      arbitrary: fc.record({
        kind: fc.constant('map' as const),
        r: range,
        // -1: PA = a fixed offset from the IPA, so separate maps line up into blocks.
        pa: fc.oneof(fc.constant(-1), fc.constant(-1), fc.integer({ min: 0, max: 0xfffff }).map((p) => p * 0x1000)),
        preset: fc.integer({ min: 0, max: presets.length - 1 }),
      }),
    },
    { weight: 2, arbitrary: fc.record({ kind: fc.constant('unmap' as const), r: small }) },
    { weight: 2, arbitrary: fc.record({ kind: fc.constant('protect' as const), r: small }) },
    {
      weight: 1,
      arbitrary: fc.record({ kind: fc.constant('relax' as const), r: small, write: fc.boolean(), exec: fc.boolean() }),
    },
    { weight: 1, arbitrary: fc.record({ kind: fc.constant('af' as const), page: fc.integer({ min: 0, max: PAGES - 1 }) }) },
  )

  /** Compares one page with the reference; returns a description of the first mismatch. */
  function mismatch(hb: Harness, ref: Map<number, RefPage>, page: number): string | undefined {
    const ipa = WINDOW + page * 0x1000
    const want = ref.get(page)
    const got = hb.builder.query(ipa)
    if (!want) {
      if (got) return `page ${page}: unexpectedly mapped`
      if (hb.walk(ipa) || hb.out.fault !== FAULT_TRANSLATION) return `page ${page}: walker did not fault`
      return undefined
    }
    if (!got) return `page ${page}: not mapped`
    if (got.pa + (ipa - got.ipa) !== want.pa) return `page ${page}: pa ${got.pa} vs ${want.pa}`
    const a = got.attrs
    if (a.read !== want.read || a.write !== want.write || a.exec !== want.exec || a.memAttr !== want.memAttr || a.accessFlag !== want.af) {
      return `page ${page}: attrs ${JSON.stringify(a)} vs ${JSON.stringify(want)}`
    }
    const ok = hb.walk(ipa + 8, ACCESS_WRITE)
    const expected = !want.af ? FAULT_ACCESS_FLAG : !want.write ? FAULT_PERMISSION : 0
    if (expected !== 0 ? ok || hb.out.fault !== expected : !ok || hb.out.pa !== want.pa + 8) {
      return `page ${page}: walker gave ${ok ? hb.out.pa : `fault ${hb.out.fault}`}`
    }
    return undefined
  }

  function check(hb: Harness, ref: Map<number, RefPage>, page: number): void {
    const problem = mismatch(hb, ref, page)
    if (problem !== undefined) expect.fail(problem)
  }

  test('every page agrees after every sequence (queries and walks)', () => {
    fc.assert(
      fc.property(fc.array(op, { minLength: 5, maxLength: 30, size: 'max' }), fc.integer({ min: 0, max: PAGES - 1 }), (ops, probe) => {
        const hb = new Harness()
        const ref = new Map<number, RefPage>()
        for (const o of ops) {
          if (o.kind === 'af') {
            const p = ref.get(o.page)
            expect(hb.builder.setAccessFlag(WINDOW + o.page * 0x1000)).toBe(p !== undefined)
            // AF lives in the leaf: a block sets it for all its pages.
            if (p) {
              const leaf = hb.builder.query(WINDOW + o.page * 0x1000)!
              for (let a = leaf.ipa; a < leaf.ipa + leaf.size; a += 0x1000) {
                const q = ref.get((a - WINDOW) / 0x1000)
                if (q) q.af = true
              }
            }
            continue
          }
          const count = Math.min(o.r.count, PAGES - o.r.start)
          const ipa = WINDOW + o.r.start * 0x1000
          const size = count * 0x1000
          if (o.kind === 'map') {
            const pa = o.pa < 0 ? 0x1_0000_0000 + o.r.start * 0x1000 : o.pa
            let overlap = false
            for (let i = 0; i < count; i++) if (ref.has(o.r.start + i)) overlap = true
            const p = presets[o.preset]!
            const attrs = { read: p.read, write: p.write, exec: p.exec, memAttr: p.memAttr, accessFlag: p.af }
            if (overlap) {
              expect(() => hb.builder.map(ipa, pa, size, attrs)).toThrow(RangeError)
            } else {
              hb.builder.map(ipa, pa, size, attrs)
              for (let i = 0; i < count; i++) {
                ref.set(o.r.start + i, { ...p, pa: pa + i * 0x1000 })
              }
            }
          } else if (o.kind === 'unmap') {
            hb.builder.unmap(ipa, size)
            for (let i = 0; i < count; i++) ref.delete(o.r.start + i)
          } else if (o.kind === 'protect') {
            hb.builder.writeProtect(ipa, size)
            for (let i = 0; i < count; i++) {
              const p = ref.get(o.r.start + i)
              if (p) p.write = false
            }
          } else {
            hb.builder.relaxPermissions(ipa, size, { write: o.write, exec: o.exec })
            for (let i = 0; i < count; i++) {
              const p = ref.get(o.r.start + i)
              if (p) {
                p.write ||= o.write
                p.exec ||= o.exec
              }
            }
          }
          check(hb, ref, probe)
          check(hb, ref, o.kind === 'map' || o.kind === 'unmap' || o.kind === 'protect' || o.kind === 'relax' ? Math.min(o.r.start, PAGES - 1) : probe)
        }
        for (let page = 0; page < PAGES; page++) check(hb, ref, page)
        if (ref.size === 0) expect(hb.live.size).toBe(1)
      }),
      { numRuns: 100, endOnFailure: true },
    )
  })
})
