import { beforeEach, describe, expect, test } from 'vitest'
import {
  ACCESS_FETCH,
  ACCESS_READ,
  ACCESS_WRITE,
  FAULT_PERMISSION,
  Mmu,
  PERM_EL0_R,
  PERM_EL1_W,
  TLBI_ASIDE1,
  TLBI_IPAS2E1,
  TLBI_VAAE1,
  TLBI_VAE1,
  TLBI_VALE1,
  TLBI_VMALLE1,
  TLB_GLOBAL,
  TLB_TAGGED,
  Tlb,
  TranslationResult,
  permissionBit,
} from './index.js'
import { SparseMemory, halves, index4k, s1Block, s1Page, s1Table, s2Page, s2Table } from './test-support.js'

const TCR_LO = 16 | (16 << 16) | (2 << 30)
const TCR_HI = 5 | (1 << 5) | (1 << 6)
const L0 = 0x10000
const L1 = 0x11000
const L2 = 0x12000
const L3 = 0x13000

let mem: SparseMemory
let mmu: Mmu
const out = new TranslationResult()

function map(va: bigint, leaf: bigint): void {
  mem.write64(L0 + index4k(va, 0) * 8, s1Table(L1))
  mem.write64(L1 + index4k(va, 1) * 8, s1Table(L2))
  mem.write64(L2 + index4k(va, 2) * 8, s1Table(L3))
  mem.write64(L3 + index4k(va, 3) * 8, leaf)
}

function tr(va: bigint, access: 0 | 1 | 2 = ACCESS_READ, el: 0 | 1 = 1): boolean {
  const [hi, lo] = halves(va)
  return mmu.translate(hi, lo, access, el, false, out)
}

function tlbi(op: number, xt: bigint): void {
  const [hi, lo] = halves(xt)
  mmu.tlbi(op, hi, lo)
}

/** Xt for TLBI by VA: ASID in 63:48, VA[55:12] in 43:0. */
function vaOperand(va: bigint, asid = 0): bigint {
  return (BigInt(asid) << 48n) | ((va >> 12n) & 0xfff_ffff_ffffn)
}

beforeEach(() => {
  mem = new SparseMemory(2 ** 40)
  mmu = new Mmu(mem, { tlbEntriesLog2: 8 })
  mmu.setTcrEl1(TCR_HI, TCR_LO)
  mmu.setMairEl1(0, 0xfff0)
  mmu.setTtbr0El1(5 << 16, L0) // ASID 5
  mmu.setSctlrEl1(0, 1)
})

describe('TLB', () => {
  test('a walk fills an entry; the next access hits without reading memory', () => {
    map(0x4000_1000n, s1Page(0x8000_0000, { ng: true }))
    expect(tr(0x4000_1234n)).toBe(true)
    const i = out.tlbIndex
    expect(i).toBeGreaterThanOrEqual(0)
    expect(mmu.tlb.hostSlot[i]).toBe(-1)
    mmu.tlb.hostSlot[i] = 42
    const reads = mem.reads
    expect(tr(0x4000_1ff8n, ACCESS_WRITE)).toBe(true)
    expect(mem.reads).toBe(reads)
    expect(out.tlbIndex).toBe(i)
    expect(out.pa).toBe(0x8000_0ff8)
    expect(out.tagged).toBe(true)
    expect(mmu.tlb.hostSlot[i]).toBe(42)
    expect(mmu.lookupData(0, 0x4000_1000)).toBe(i)
    expect(mmu.lookupData(0x0b00_0000, 0x4000_1000)).toBe(i) // TBI: tag ignored
    expect(mmu.tlb.flags[i]! & TLB_TAGGED).not.toBe(0)
    expect(mmu.tlb.flags[i]! & TLB_GLOBAL).toBe(0)
    expect(mmu.tlb.flags[i]! & PERM_EL0_R).toBe(0)
    expect(mmu.tlb.flags[i]! & PERM_EL1_W).not.toBe(0)
  })

  test('a hit without the needed permission walks again and reports the fault', () => {
    map(0x4000_1000n, s1Page(0x8000_0000, { ap: 0b10 }))
    expect(tr(0x4000_1000n)).toBe(true)
    expect(tr(0x4000_1000n, ACCESS_WRITE)).toBe(false)
    expect(out.fault).toBe(FAULT_PERMISSION)
    expect(tr(0x4000_1000n, ACCESS_FETCH)).toBe(true)
  })

  test('entries are stale until a TLBI, as on hardware', () => {
    map(0x4000_1000n, s1Page(0x8000_0000, { ng: true }))
    expect(tr(0x4000_1000n)).toBe(true)
    map(0x4000_1000n, s1Page(0x9000_0000, { ng: true }))
    expect(tr(0x4000_1000n)).toBe(true)
    expect(out.pa).toBe(0x8000_0000)
    tlbi(TLBI_VAE1, vaOperand(0x4000_1000n, 6)) // other ASID: no effect
    expect(tr(0x4000_1000n)).toBe(true)
    expect(out.pa).toBe(0x8000_0000)
    tlbi(TLBI_VAE1, vaOperand(0x4000_1000n, 5))
    expect(tr(0x4000_1000n)).toBe(true)
    expect(out.pa).toBe(0x9000_0000)
  })

  test('ASIDs: non-global entries belong to their ASID; global entries are shared and survive ASIDE1', () => {
    map(0x4000_1000n, s1Page(0x8000_0000, { ng: true }))
    map(0x4000_2000n, s1Page(0x8000_1000))
    expect(tr(0x4000_1000n)).toBe(true)
    expect(tr(0x4000_2000n)).toBe(true)
    mmu.setTtbr0El1(6 << 16, L0)
    expect(mmu.lookupData(0, 0x4000_1000)).toBe(-1)
    expect(mmu.lookupData(0, 0x4000_2000)).toBeGreaterThanOrEqual(0)
    mmu.setTtbr0El1(5 << 16, L0)
    expect(mmu.lookupData(0, 0x4000_1000)).toBeGreaterThanOrEqual(0)
    tlbi(TLBI_ASIDE1, 5n << 48n)
    expect(mmu.lookupData(0, 0x4000_1000)).toBe(-1)
    expect(mmu.lookupData(0, 0x4000_2000)).toBeGreaterThanOrEqual(0)
    tlbi(TLBI_VAAE1, vaOperand(0x4000_2000n))
    expect(mmu.lookupData(0, 0x4000_2000)).toBe(-1)
  })

  test('TLBI by VA removes every 4 KiB entry of a 2 MiB block', () => {
    mem.write64(L0, s1Table(L1))
    mem.write64(L1 + 8, s1Table(L2))
    mem.write64(L2, s1Block(0x8000_0000, { ng: true }))
    for (let p = 0; p < 8; p++) expect(tr(0x4000_0000n + BigInt(p) * 0x1000n)).toBe(true)
    expect(mmu.tlb.countValid()).toBe(8)
    tlbi(TLBI_VALE1, vaOperand(0x4010_0000n, 5))
    expect(mmu.tlb.countValid()).toBe(0)
  })

  test('VMIDs separate guests; VMALLE1 only drops the current VMID; flushVmid and flushAll', () => {
    map(0x4000_1000n, s1Page(0x8000_0000))
    expect(tr(0x4000_1000n)).toBe(true)
    mmu.setVttbrEl2(3 << 16, 0) // a different VMID (stage 2 still off)
    expect(mmu.lookupData(0, 0x4000_1000)).toBe(-1)
    map(0x4000_3000n, s1Page(0x8000_3000))
    expect(tr(0x4000_3000n)).toBe(true)
    tlbi(TLBI_VMALLE1, 0n)
    expect(mmu.tlb.countValid()).toBe(1)
    mmu.setVttbrEl2(0, 0)
    expect(mmu.lookupData(0, 0x4000_1000)).toBeGreaterThanOrEqual(0)
    mmu.flushVmid(0)
    expect(mmu.tlb.countValid()).toBe(0)
    expect(tr(0x4000_1000n)).toBe(true)
    mmu.flushAll()
    expect(mmu.tlb.countValid()).toBe(0)
  })

  test('IPAS2E1 drops combined entries whose stage-2 page is the given IPA', () => {
    mmu.setVtcrEl2((24 | (2 << 6) | (5 << 16)) >>> 0) // 40-bit IPA, start level 0
    mmu.setVttbrEl2(1 << 16, 0x200000)
    mmu.setHcrEl2(0, 1)
    // Stage 2: identity for the stage-1 tables, IPA 0x8000_0000 → PA 0x1_0000_0000.
    const s2 = (ipa: number, pa: number): void => {
      const v = BigInt(ipa)
      mem.write64(0x200000 + index4k(v, 0) * 8, s2Table(0x201000))
      mem.write64(0x201000 + index4k(v, 1) * 8, s2Table(0x202000 + index4k(v, 1) * 0x2000))
      const l2 = 0x202000 + index4k(v, 1) * 0x2000
      mem.write64(l2 + index4k(v, 2) * 8, s2Table(l2 + 0x1000))
      mem.write64(l2 + 0x1000 + index4k(v, 3) * 8, s2Page(pa))
    }
    for (const t of [L0, L1, L2, L3]) s2(t, t)
    map(0x4000_1000n, s1Page(0x8000_0000))
    map(0x4000_2000n, s1Page(0x8000_1000))
    s2(0x8000_0000, 0x1_0000_0000)
    s2(0x8000_1000, 0x1_0000_1000)
    expect(tr(0x4000_1000n)).toBe(true)
    expect(out.pa).toBe(0x1_0000_0000)
    expect(tr(0x4000_2000n)).toBe(true)
    tlbi(TLBI_IPAS2E1, BigInt(0x8000_0000 / 4096))
    expect(mmu.lookupData(0, 0x4000_1000)).toBe(-1)
    expect(mmu.lookupData(0, 0x4000_2000)).toBeGreaterThanOrEqual(0)
  })

  test('register writes that change translation flush the TLB; TTBR writes do not', () => {
    map(0x4000_1000n, s1Page(0x8000_0000))
    expect(tr(0x4000_1000n)).toBe(true)
    mmu.setTtbr0El1(5 << 16, L0)
    expect(mmu.tlb.countValid()).toBe(1)
    mmu.setMairEl1(0, 0xffff)
    expect(mmu.tlb.countValid()).toBe(0)
    expect(tr(0x4000_1000n)).toBe(true)
    expect(out.tagged).toBe(false)
    mmu.setSctlrEl1(0, 0)
    expect(mmu.tlb.countValid()).toBe(0)
  })

  test('permissionBit and bad arguments', () => {
    expect(permissionBit(0, ACCESS_READ, true)).toBe(PERM_EL0_R)
    expect(permissionBit(1, ACCESS_WRITE, false)).toBe(PERM_EL1_W)
    expect(() => new Tlb(0)).toThrow(RangeError)
    expect(() => mmu.tlbi(99, 0, 0)).toThrow(RangeError)
  })
})

describe('stage-2 cache for stage-1 table reads', () => {
  test('is stale until IPAS2E1 / VMALLS12E1 / flushVmid, like the TLB', async () => {
    const { TLBI_VMALLS12E1 } = await import('./index.js')
    mmu.setVtcrEl2((24 | (2 << 6) | (5 << 16)) >>> 0)
    mmu.setVttbrEl2(1 << 16, 0x200000)
    mmu.setHcrEl2(0, 1)
    const l3Slot = (ipa: number): number => 0x204000 + index4k(BigInt(ipa), 3) * 8
    // Stage 2: one L0/L1/L2 path, one L3 table for IPAs 0..2 MiB (identity for the S1 tables).
    mem.write64(0x200000, s2Table(0x201000))
    mem.write64(0x201000, s2Table(0x202000))
    mem.write64(0x202000, s2Table(0x204000))
    for (const t of [L0, L1, L2, L3]) mem.write64(l3Slot(t), s2Page(t))
    mem.write64(l3Slot(0x8_0000), s2Page(0x9_0000))
    map(0x4000_1000n, s1Page(0x8_0000))
    expect(tr(0x4000_1000n)).toBe(true)
    expect(out.pa).toBe(0x9_0000)
    // Move the L3 stage-1 table's backing: cached until invalidated.
    for (let i = 0; i < 512; i++) mem.write64(0x33000 + i * 8, mem.read64(L3 + i * 8))
    mem.write64(0x33000 + index4k(0x4000_1000n, 3) * 8, 0n)
    mem.write64(l3Slot(L3), s2Page(0x33000))
    mmu.flushVmid(99) // another VMID: nothing happens to ours
    const [hi, lo] = halves(0x4000_1000n)
    expect(mmu.walk(hi, lo, ACCESS_READ, 1, false, out)).toBe(true)
    tlbi(TLBI_IPAS2E1, BigInt(L3 / 4096))
    expect(mmu.walk(hi, lo, ACCESS_READ, 1, false, out)).toBe(false)
    expect(out.level).toBe(3)
    mem.write64(l3Slot(L3), s2Page(L3))
    expect(mmu.walk(hi, lo, ACCESS_READ, 1, false, out)).toBe(false) // fault was not cached: still the old one
    tlbi(TLBI_VMALLS12E1, 0n)
    expect(mmu.walk(hi, lo, ACCESS_READ, 1, false, out)).toBe(true)
  })
})
