import { beforeEach, describe, expect, test } from 'vitest'
import { ACCESS_FETCH, ACCESS_READ, FAULT_TRANSLATION, Mmu, TLBI_VAE1, TranslationResult } from './index.js'
import { SparseMemory, halves, index4k, s1Page, s1Table, s2Block, s2Page, s2Table } from './test-support.js'

// Register decoding details: ASID/VMID widths, TCR.A1, granule encodings, stage-2 granules.
const TCR_LO = 16 | (16 << 16) | (2 << 30)
const TCR_HI = 5 | (1 << 5) | (1 << 6)

let mem: SparseMemory
let mmu: Mmu
const out = new TranslationResult()

function map4k(root: number, va: bigint, pa: number, ap = 0b01): void {
  let table = root
  for (let level = 0; level < 3; level++) {
    const slot = table + index4k(va, level) * 8
    const d = mem.read64(slot)
    if ((d & 3n) === 3n) table = Number(d & 0xffff_ffff_f000n)
    else {
      const next = 0x100000 + mem.pages.size * 0x1000
      mem.write64(next, 0n) // claim the page
      mem.write64(slot, s1Table(next))
      table = next
    }
  }
  mem.write64(table + index4k(va, 3) * 8, s1Page(pa, { ng: true, ap }))
}

function tr(va: bigint, access: 0 | 1 | 2 = ACCESS_READ): boolean {
  const [hi, lo] = halves(va)
  return mmu.translate(hi, lo, access, 1, false, out)
}

beforeEach(() => {
  mem = new SparseMemory(2 ** 40)
  mmu = new Mmu(mem)
  mmu.setTcrEl1(TCR_HI, TCR_LO)
  mmu.setMairEl1(0, 0xff)
  mmu.setTtbr0El1(0, 0x10000)
  mmu.setTtbr1El1(0, 0x20000)
  mmu.setSctlrEl1(0, 1)
})

describe('ASIDs and VMIDs', () => {
  test('8-bit ASIDs unless TCR.AS; TCR.A1 takes the ASID from TTBR1', () => {
    mmu.setTtbr0El1(0x1234 << 16, 0x10000)
    expect(mmu.currentAsid).toBe(0x34)
    mmu.setTcrEl1(TCR_HI | (1 << 4), TCR_LO)
    expect(mmu.currentAsid).toBe(0x1234)
    mmu.setTtbr1El1(0x77 << 16, 0x20000)
    mmu.setTcrEl1(TCR_HI | (1 << 4), TCR_LO | (1 << 22))
    expect(mmu.currentAsid).toBe(0x77)
  })

  test('8-bit VMIDs unless VTCR_EL2.VS', () => {
    mmu.setVttbrEl2(0x1234 << 16, 0)
    expect(mmu.currentVmid).toBe(0x34)
    mmu.setVtcrEl2(((24 | (1 << 6) | (5 << 16)) | (1 << 19)) >>> 0)
    expect(mmu.currentVmid).toBe(0x1234)
  })
})

describe('TTBR1 and fetch lookups', () => {
  test('TLBI VAE1 with an upper-range VA removes the TTBR1 entry', () => {
    const va = 0xffff_8000_1234_5000n
    map4k(0x20000, va, 0x8000_0000)
    expect(tr(va)).toBe(true)
    expect(out.pa).toBe(0x8000_0000)
    const [hi, lo] = halves(va)
    expect(mmu.lookupData(hi, lo)).toBe(out.tlbIndex)
    const xt = (va >> 12n) & 0xfff_ffff_ffffn
    const [xh, xl] = halves(xt)
    mmu.tlbi(TLBI_VAE1, xh, xl)
    expect(mmu.lookupData(hi, lo)).toBe(-1)
  })

  test('lookupFetch ignores the top byte only without TBID', () => {
    map4k(0x10000, 0x4000_1000n, 0x8000_0000, 0b10)
    expect(tr(0x4000_1000n, ACCESS_FETCH)).toBe(true)
    const i = out.tlbIndex
    expect(mmu.lookupFetch(0x0500_0000, 0x4000_1000)).toBe(i)
    mmu.setTcrEl1(TCR_HI | (1 << 19), TCR_LO) // TBID0 (flushes)
    expect(tr(0x4000_1000n, ACCESS_FETCH)).toBe(true)
    expect(mmu.lookupFetch(0x0500_0000, 0x4000_1000)).toBe(-1)
    expect(mmu.lookupData(0x0500_0000, 0x4000_1000)).toBe(out.tlbIndex)
  })
})

describe('granule encodings', () => {
  test('TG1 = 0b01 is 16 KiB; reserved TG0 = 0b11 walks as 4 KiB', () => {
    // TTBR1 with 16 KiB granule, T1SZ = 17 (47 bits): levels 1..3, index bits 46:36, 35:25, 24:14.
    mmu.setTcrEl1(TCR_HI, (TCR_LO & ~((0x3f << 16) | (3 << 30))) | (17 << 16) | (1 << 30))
    const va = 0xffff_8000_0000_4000n
    const i1 = Number((va >> 36n) & 0x7ffn)
    const i2 = Number((va >> 25n) & 0x7ffn)
    const i3 = Number((va >> 14n) & 0x7ffn)
    mem.write64(0x20000 + i1 * 8, s1Table(0x24000))
    mem.write64(0x24000 + i2 * 8, s1Table(0x28000))
    mem.write64(0x28000 + i3 * 8, s1Page(0x9000_4000))
    expect(tr(va + 0x3ffn)).toBe(true)
    expect(out.pa).toBe(0x9000_43ff)
    mmu.setTcrEl1(TCR_HI, TCR_LO | (3 << 14))
    map4k(0x10000, 0x4000_1000n, 0x8000_0000)
    expect(tr(0x4000_1000n)).toBe(true)
    expect(out.pa).toBe(0x8000_0000)
  })
})

describe('stage-2 granules and blocks', () => {
  beforeEach(() => {
    mmu.setSctlrEl1(0, 0) // stage 1 off: VA = IPA
    mmu.setHcrEl2(0, 1)
  })

  test('4 KiB: a 1 GiB block at level 1', () => {
    mmu.setVtcrEl2((24 | (1 << 6) | (5 << 16)) >>> 0)
    mmu.setVttbrEl2(0, 0x200000)
    mem.write64(0x200000 + 1 * 8, s2Block(0x1_c000_0000))
    expect(tr(0x4765_4321n)).toBe(true)
    expect(out.pa).toBe(0x1_c765_4321)
  })

  test('64 KiB: 40-bit IPA from level 2 (SL0=1), 512 MiB blocks and 64 KiB pages', () => {
    // TG0 = 0b01, SL0 = 1 → start at level 2: index bits 39:29 (2048 entries), L3 28:16.
    mmu.setVtcrEl2((24 | (1 << 6) | (1 << 14) | (5 << 16)) >>> 0)
    mmu.setVttbrEl2(0, 0x400000)
    const ipa = 0x87_6543_2100
    const i2 = Math.floor(ipa / 2 ** 29) % 2048
    const i3 = Math.floor(ipa / 2 ** 16) % 8192
    mem.write64(0x400000 + i2 * 8, s2Table(0x500000))
    mem.write64(0x500000 + i3 * 8, s2Page(0x3_0001_0000))
    expect(tr(BigInt(ipa))).toBe(true)
    expect(out.pa).toBe(0x3_0001_0000 + (ipa % 0x10000))
    mem.write64(0x400000 + i2 * 8, s2Block(0x2_0000_0000))
    mmu.flushAll()
    expect(tr(BigInt(ipa))).toBe(true)
    expect(out.pa).toBe(0x2_0000_0000 + (ipa % 2 ** 29))
  })

  test('16 KiB: SL0=3 is invalid without FEAT_LPA2', () => {
    mmu.setVtcrEl2((24 | (3 << 6) | (2 << 14) | (5 << 16)) >>> 0)
    expect(tr(0x1000n)).toBe(false)
    expect([out.fault, out.stage, out.level]).toEqual([FAULT_TRANSLATION, 2, 0])
  })
})
