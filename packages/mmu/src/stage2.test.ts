import { beforeEach, describe, expect, test } from 'vitest'
import {
  ACCESS_FETCH,
  ACCESS_READ,
  ACCESS_WRITE,
  FAULT_ACCESS_FLAG,
  FAULT_ADDRESS_SIZE,
  FAULT_PERMISSION,
  FAULT_TRANSLATION,
  Mmu,
  TranslationResult,
  combineAttributes,
} from './index.js'
import type { AccessKind } from './index.js'
import { SparseMemory, halves, index4k, s1Page, s1Table, s2Block, s2Page, s2Table } from './test-support.js'
import type { S2Leaf } from './test-support.js'

const TCR_LO = 16 | (16 << 16) | (2 << 30)
const TCR_HI = 5 | (1 << 5) | (1 << 6)
// MAIR: Attr0 0xF0, Attr1 0xFF, Attr2 0x44, Attr3 0x00, Attr4 0x04, Attr5 0xAA (WT)
const MAIR_LO = 0x0044fff0
const MAIR_HI = 0xaa04
const MAIRS = [0xf0, 0xff, 0x44, 0x00, 0x04, 0xaa]

// VTCR_EL2: T0SZ=24 (40-bit IPA), SL0=1 (start at level 1: two concatenated tables), 4K, PS=48.
const VTCR = (24 | (1 << 6) | (5 << 16) | (1 << 31)) >>> 0
const S2_ROOT = 0x200000 // 8 KiB, 8 KiB aligned
const VMID = 7

let mem: SparseMemory
let mmu: Mmu
let nextTable: number
const out = new TranslationResult()

function newTable(): number {
  const pa = nextTable
  nextTable += 0x1000
  return pa
}

/** Reads a table pointer from a descriptor or creates the next-level table. */
function tableAt(descPa: number): number {
  const d = mem.read64(descPa)
  if ((d & 3n) === 3n) return Number(d & 0xffff_ffff_f000n)
  const t = newTable()
  mem.write64(descPa, s2Table(t))
  return t
}

/** Maps one 4 KiB IPA page at stage 2, building tables descriptor by descriptor. */
function s2Map(ipa: number, pa: number, leaf: S2Leaf = {}): void {
  const v = BigInt(ipa)
  const l1 = S2_ROOT + Number((v >> 30n) & 0x3ffn) * 8 // 10-bit index over the concatenated root
  const l2 = tableAt(l1) + index4k(v, 2) * 8
  const l3 = tableAt(l2) + index4k(v, 3) * 8
  mem.write64(l3, s2Page(pa, leaf))
}

function s2LeafPa(ipa: number): number {
  const v = BigInt(ipa)
  const l1 = S2_ROOT + Number((v >> 30n) & 0x3ffn) * 8
  const l2 = tableAt(l1) + index4k(v, 2) * 8
  return tableAt(l2) + index4k(v, 3) * 8
}

// Stage-1 tables live in IPA space at 0x10000.. and are backed at PA 0x510000..
const S1 = [0x10000, 0x11000, 0x12000, 0x13000]
const S1_BACKING = 0x500000
const VA = 0x40001000n
const IPA = 0x8000_5000
const PA = 0x3_0000_7000

function writeS1(level: number, desc: bigint): void {
  mem.write64(S1_BACKING + (S1[level] as number) + index4k(VA, level) * 8, desc)
}

function buildS1(leaf: bigint): void {
  writeS1(0, s1Table(S1[1] as number))
  writeS1(1, s1Table(S1[2] as number))
  writeS1(2, s1Table(S1[3] as number))
  writeS1(3, leaf)
}

function walk(access: AccessKind = ACCESS_READ, el: 0 | 1 = 1, va = VA): boolean {
  const [hi, lo] = halves(va)
  return mmu.walk(hi, lo, access, el, false, out)
}

function expectS2Fault(kind: number, level: number, ipa: number, s1ptw: boolean): void {
  expect(out.fault).toBe(kind)
  expect(out.stage).toBe(2)
  expect(out.level).toBe(level)
  expect(out.s1ptw).toBe(s1ptw)
  expect(out.ipaValid).toBe(true)
  expect(out.faultIpa).toBe(ipa)
  expect(out.hpfar).toBe(Math.floor(ipa / 4096) * 16)
}

beforeEach(() => {
  mem = new SparseMemory(2 ** 40)
  nextTable = 0x300000
  mmu = new Mmu(mem)
  mmu.setTcrEl1(TCR_HI, TCR_LO)
  mmu.setMairEl1(MAIR_HI, MAIR_LO)
  mmu.setTtbr0El1(0, S1[0] as number)
  mmu.setSctlrEl1(0, 1)
  mmu.setVtcrEl2(VTCR)
  mmu.setVttbrEl2(VMID << 16, S2_ROOT)
  mmu.setHcrEl2(0, 1) // VM
  for (const t of S1) s2Map(t, S1_BACKING + t)
})

describe('two-stage translation', () => {
  test('stage-1 tables are read through stage 2; the output IPA is translated by stage 2', () => {
    buildS1(s1Page(IPA))
    s2Map(IPA, PA)
    expect(walk()).toBe(true)
    expect(out.ipa).toBe(IPA)
    expect(out.pa).toBe(PA)
    expect(out.tagged).toBe(true)
  })

  test('a 2 MiB stage-2 block, reached through the second concatenated root table', () => {
    buildS1(s1Page(0xc0_0012_3000)) // IPA 768 GiB + ...: root index 768 (> 511)
    const l1 = S2_ROOT + 768 * 8
    const l2 = newTable()
    mem.write64(l1, s2Table(l2))
    mem.write64(l2 + 0 * 8, s2Block(0x1_0000_0000))
    expect(walk()).toBe(true)
    expect(out.pa).toBe(0x1_0012_3000)
  })

  test('a missing stage-2 entry for the final IPA is a stage-2 translation fault with HPFAR', () => {
    buildS1(s1Page(IPA))
    expect(walk(ACCESS_WRITE)).toBe(false)
    expectS2Fault(FAULT_TRANSLATION, 1, IPA, false)
    expect(out.iss).toBe(0b000101 | (1 << 6))
    expect([out.farHi, out.farLo]).toEqual([0, 0x40001000])
    s2Map(IPA + 0x1000, PA) // same L3 table now exists
    expect(walk(ACCESS_READ)).toBe(false)
    expectS2Fault(FAULT_TRANSLATION, 3, IPA, false)
  })

  test.each([0, 1, 2, 3])('a stage-1 table read at level %i that stage 2 cannot translate is S1PTW', (level) => {
    buildS1(s1Page(IPA))
    s2Map(IPA, PA)
    const tableIpa = S1[level] as number
    mem.write64(s2LeafPa(tableIpa), 0n)
    expect(walk(ACCESS_WRITE)).toBe(false)
    const descIpa = tableIpa + index4k(VA, level) * 8
    expectS2Fault(FAULT_TRANSLATION, 3, descIpa, true)
    expect(out.iss).toBe(0b000111 | (1 << 7)) // WnR=0 for a walk read, S1PTW=1
  })

  test('stage-2 access flag and permission faults on a table read are S1PTW faults', () => {
    buildS1(s1Page(IPA))
    s2Map(IPA, PA)
    mem.write64(s2LeafPa(S1[2] as number), s2Page(S1_BACKING + (S1[2] as number), { af: false }))
    expect(walk()).toBe(false)
    expectS2Fault(FAULT_ACCESS_FLAG, 3, (S1[2] as number) + index4k(VA, 2) * 8, true)
    mem.write64(s2LeafPa(S1[2] as number), s2Page(S1_BACKING + (S1[2] as number), { s2ap: 0b10 }))
    expect(walk()).toBe(false)
    expect(out.fault).toBe(FAULT_PERMISSION)
    expect(out.s1ptw).toBe(true)
  })

  test('stage-2 permissions: S2AP read/write and XN per EL (FEAT_XNX)', () => {
    buildS1(s1Page(IPA, { ap: 0b01 }))
    s2Map(IPA, PA, { s2ap: 0b01 })
    expect(walk(ACCESS_READ)).toBe(true)
    expect(walk(ACCESS_WRITE)).toBe(false)
    expectS2Fault(FAULT_PERMISSION, 3, IPA, false)
    expect(out.fsc).toBe(0x0f)
    s2Map(IPA, PA, { s2ap: 0b10 })
    expect(walk(ACCESS_READ)).toBe(false)
    expect(walk(ACCESS_WRITE)).toBe(true)
    const fetch = (xn: number, el: 0 | 1): boolean => {
      s2Map(IPA, PA, { xn })
      buildS1(s1Page(IPA, { ap: 0b10 }))
      return walk(ACCESS_FETCH, el)
    }
    expect([fetch(0, 0), fetch(0, 1)]).toEqual([true, true])
    expect([fetch(1, 0), fetch(1, 1)]).toEqual([true, false])
    expect([fetch(2, 0), fetch(2, 1)]).toEqual([false, false])
    expect([fetch(3, 0), fetch(3, 1)]).toEqual([false, true])
  })

  test('walkStage1 (AT S1E1x) gives the IPA and stage-1 attributes, and still reports S1PTW faults', () => {
    buildS1(s1Page(IPA, { attrIndx: 0 }))
    const [hi, lo] = halves(VA + 0x10n)
    expect(mmu.walkStage1(hi, lo, ACCESS_READ, 1, false, out)).toBe(true) // final IPA unmapped at stage 2: fine
    expect([out.ipa, out.pa, out.attrs, out.tagged]).toEqual([IPA + 0x10, IPA + 0x10, 0xf0, true])
    mem.write64(s2LeafPa(S1[3] as number), 0n)
    mmu.flushAll() // the stage-2 translation of the table page was cached
    expect(mmu.walkStage1(hi, lo, ACCESS_READ, 1, false, out)).toBe(false)
    expectS2Fault(FAULT_TRANSLATION, 3, (S1[3] as number) + index4k(VA, 3) * 8, true)
    s2Map(S1[3] as number, S1_BACKING + (S1[3] as number))
    buildS1(s1Page(IPA, { ap: 0b10 }))
    expect(mmu.walkStage1(hi, lo, ACCESS_WRITE, 1, false, out)).toBe(false)
    expect([out.stage, out.fault]).toEqual([1, FAULT_PERMISSION])
  })

  test('stage-2 faults of every kind at every level the final IPA can reach', () => {
    // IPA 0xc0_0012_3000 uses root index 768, then L2 index 0, L3 index 0x123.
    const ipa = 0xc0_0012_3000
    buildS1(s1Page(ipa))
    const l1 = S2_ROOT + 768 * 8
    const l2 = newTable()
    const l3 = newTable()
    const cases: Array<[string, () => void, number, number]> = [
      ['translation L1', () => mem.write64(l1, 0n), FAULT_TRANSLATION, 1],
      ['AF L1 block', () => mem.write64(l1, s2Block(0x1_0000_0000, { af: false })), FAULT_ACCESS_FLAG, 1],
      ['permission L1 block', () => mem.write64(l1, s2Block(0x1_0000_0000, { s2ap: 0 })), FAULT_PERMISSION, 1],
      [
        'address size L1 (PS = 32 bits)',
        () => (mmu.setVtcrEl2((VTCR & ~(7 << 16)) >>> 0), mem.write64(l1, s2Table(0x1_0000_0000))),
        FAULT_ADDRESS_SIZE,
        1,
      ],
      [
        'translation L2',
        () => (mmu.setVtcrEl2(VTCR), mem.write64(l1, s2Table(l2)), mem.write64(l2, 0n)),
        FAULT_TRANSLATION,
        2,
      ],
      ['AF L2 block', () => mem.write64(l2, s2Block(0x1_0000_0000, { af: false })), FAULT_ACCESS_FLAG, 2],
      ['permission L2 block', () => mem.write64(l2, s2Block(0x1_0000_0000, { s2ap: 0 })), FAULT_PERMISSION, 2],
      ['translation L3', () => (mem.write64(l2, s2Table(l3)), mem.write64(l3 + 0x123 * 8, 0n)), FAULT_TRANSLATION, 3],
      ['reserved L3 encoding', () => mem.write64(l3 + 0x123 * 8, s2Block(0x1_0000_0000)), FAULT_TRANSLATION, 3],
      ['AF L3', () => mem.write64(l3 + 0x123 * 8, s2Page(0x1_0000_0000, { af: false })), FAULT_ACCESS_FLAG, 3],
      ['permission L3', () => mem.write64(l3 + 0x123 * 8, s2Page(0x1_0000_0000, { s2ap: 0 })), FAULT_PERMISSION, 3],
    ]
    for (const [name, setup, kind, level] of cases) {
      setup()
      mmu.flushAll()
      expect(walk(ACCESS_READ), name).toBe(false)
      expect([out.fault, out.stage, out.level, out.s1ptw, out.faultIpa], name).toEqual([kind, 2, level, false, ipa])
    }
  })

  test('a stage-1 permission fault is reported before stage 2 looks at the output IPA', () => {
    buildS1(s1Page(IPA, { ap: 0b10 }))
    expect(walk(ACCESS_WRITE)).toBe(false)
    expect(out.stage).toBe(1)
    expect(out.fault).toBe(FAULT_PERMISSION)
  })

  test('stage-2 access flag fault on the final IPA', () => {
    buildS1(s1Page(IPA))
    s2Map(IPA, PA, { af: false })
    expect(walk()).toBe(false)
    expectS2Fault(FAULT_ACCESS_FLAG, 3, IPA, false)
  })

  test('IPAs beyond VTCR.T0SZ fault at level 0; output above VTCR.PS is an address size fault', () => {
    buildS1(s1Page(0x100_0000_0000))
    expect(walk()).toBe(false)
    expectS2Fault(FAULT_TRANSLATION, 0, 0x100_0000_0000, false)
    mmu.setVtcrEl2((VTCR & ~(7 << 16)) >>> 0) // PS = 32 bits
    buildS1(s1Page(IPA))
    s2Map(IPA, PA) // PA above 4 GiB
    expect(walk()).toBe(false)
    expectS2Fault(FAULT_ADDRESS_SIZE, 3, IPA, false)
  })

  test('an inconsistent VTCR (SL0 vs T0SZ, or SL0=3) faults every stage-2 lookup at level 0', () => {
    buildS1(s1Page(IPA))
    s2Map(IPA, PA)
    mmu.setVtcrEl2((VTCR & ~(3 << 6)) >>> 0) // SL0=0: start at level 2, too small for 40 bits
    expect(walk()).toBe(false)
    expectS2Fault(FAULT_TRANSLATION, 0, (S1[0] as number) + index4k(VA, 0) * 8, true)
    mmu.setVtcrEl2((VTCR | (3 << 6)) >>> 0)
    expect(walk()).toBe(false)
    expect(out.level).toBe(0)
    mmu.setVtcrEl2(VTCR)
    expect(walk()).toBe(true)
  })

  test('stage 1 off under stage 2: flat VA→IPA, Device unless HCR_EL2.DC; DCT makes it Tagged', () => {
    mmu.setSctlrEl1(0, 0)
    s2Map(0x4000_1000, PA)
    expect(walk(ACCESS_READ, 1, 0x4000_1010n)).toBe(true)
    expect(out.pa).toBe(PA + 0x10)
    expect(out.device).toBe(true)
    mmu.setHcrEl2(0, 1 | (1 << 12))
    expect(walk(ACCESS_READ, 1, 0x4000_1010n)).toBe(true)
    expect([out.device, out.tagged]).toEqual([false, false])
    mmu.setHcrEl2(1 << 25, 1 | (1 << 12))
    expect(walk(ACCESS_READ, 1, 0x4000_1010n)).toBe(true)
    expect([out.device, out.tagged]).toEqual([false, true])
    mmu.setSctlrEl1(0, 1) // DC still forces stage 1 off
    expect(walk(ACCESS_READ, 1, 0x4000_1010n)).toBe(true)
    expect(out.pa).toBe(PA + 0x10)
  })
})

describe('Tagged: every MAIR x stage-2 MemAttr x FWB combination', () => {
  /** arm-mte.md §1: Tagged iff S1 is 0xF0 and the result stays Normal iWB/oWB RWA. */
  function expectedTagged(mair: number, memAttr: number, fwb: boolean): boolean {
    if (mair !== 0xf0) return false
    return fwb ? memAttr === 0b0110 || memAttr === 0b0111 : memAttr === 0b1111
  }
  function expectedDevice(mair: number, memAttr: number, fwb: boolean): boolean {
    if (fwb) {
      if (memAttr <= 3) return true
      if (memAttr === 0b0110) return false
      if (memAttr === 0b0101 || memAttr === 0b0111) return (mair & 0xf0) === 0
      return true // reserved encodings: Device-nGnRnE (documented choice)
    }
    return (mair & 0xf0) === 0 || (memAttr & 0b1100) === 0
  }

  for (const fwb of [false, true]) {
    test(`through the walker, FWB=${fwb ? 1 : 0}`, () => {
      mmu.setHcrEl2(fwb ? 1 << 14 : 0, 1)
      for (let attrIndx = 0; attrIndx < MAIRS.length; attrIndx++) {
        const mair = MAIRS[attrIndx] as number
        buildS1(s1Page(IPA, { attrIndx }))
        for (let memAttr = 0; memAttr < 16; memAttr++) {
          s2Map(IPA, PA, { memAttr })
          expect(walk()).toBe(true)
          const label = `MAIR ${mair.toString(16)} MemAttr ${memAttr.toString(2)} FWB ${fwb}`
          expect(out.tagged, label).toBe(expectedTagged(mair, memAttr, fwb))
          expect(out.device, label).toBe(expectedDevice(mair, memAttr, fwb))
          expect(combineAttributes(mair, memAttr, fwb)).toEqual({
            type: out.device ? 'device' : 'normal',
            tagged: out.tagged,
          })
        }
      }
    })
  }

  test('combined attribute bytes follow the stronger-type / weaker-cacheability rule', () => {
    mmu.setHcrEl2(0, 1)
    const attrsOf = (attrIndx: number, memAttr: number): number => {
      buildS1(s1Page(IPA, { attrIndx }))
      s2Map(IPA, PA, { memAttr })
      expect(walk()).toBe(true)
      return out.attrs
    }
    expect(attrsOf(0, 0b1111)).toBe(0xf0)
    expect(attrsOf(0, 0b0101)).toBe(0x44) // S2 NC: Normal NC, untagged
    expect(attrsOf(1, 0b1110)).toBe(0xfb) // inner becomes WT
    expect(attrsOf(4, 0b0000)).toBe(0x00) // nGnRnE is stronger than nGnRE
    expect(attrsOf(3, 0b0001)).toBe(0x00)
    expect(attrsOf(1, 0b0011)).toBe(0x0c) // S2 Device-GRE over S1 Normal
    mmu.setHcrEl2(1 << 14, 1)
    expect(attrsOf(2, 0b0110)).toBe(0xff) // FWB forces write-back
    expect(attrsOf(3, 0b0110)).toBe(0xff)
    expect(attrsOf(0, 0b0101)).toBe(0x44)
    expect(attrsOf(4, 0b0101)).toBe(0x04)
  })

  test('combineAttributes rejects values that are not a MAIR byte / 4-bit MemAttr', () => {
    expect(() => combineAttributes(0x100, 0, false)).toThrow(RangeError)
    expect(() => combineAttributes(0xf0, 16, true)).toThrow(RangeError)
  })
})
