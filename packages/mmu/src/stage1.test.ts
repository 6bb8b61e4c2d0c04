import { beforeEach, describe, expect, test } from 'vitest'
import {
  ACCESS_FETCH,
  ACCESS_READ,
  ACCESS_WRITE,
  FAULT_ACCESS_FLAG,
  FAULT_ADDRESS_SIZE,
  FAULT_EXTERNAL_ON_WALK,
  FAULT_NONE,
  FAULT_PERMISSION,
  FAULT_TRANSLATION,
  Mmu,
  TranslationResult,
} from './index.js'
import type { AccessKind } from './index.js'
import { SparseMemory, halves, index4k, s1Block, s1Page, s1Table } from './test-support.js'

// TCR_EL1: T0SZ=T1SZ=16 (48-bit VAs), TG0=4K, TG1=4K (0b10), IPS=48 bits, TBI0=TBI1=1.
const TCR_LO = 16 | (16 << 16) | (2 << 30)
const TCR_HI = 5 | (1 << 5) | (1 << 6)
// MAIR_EL1: Attr0 0xF0 Tagged, Attr1 0xFF, Attr2 0x44 NC, Attr3 0x00 nGnRnE, Attr4 0x04 nGnRE.
const MAIR_LO = 0x0044fff0
const MAIR_HI = 0x04

const L0 = 0x10000
const L1 = 0x11000
const L2 = 0x12000
const L3 = 0x13000
const VA = 0x40001000n // L0[0] L1[1] L2[0] L3[1]
const PA = 0x80005000

let mem: SparseMemory
let mmu: Mmu
const out = new TranslationResult()

function setDesc(table: number, level: number, va: bigint, desc: bigint): void {
  mem.write64(table + index4k(va, level) * 8, desc)
}

function buildStandard(leaf: bigint = s1Page(PA)): void {
  setDesc(L0, 0, VA, s1Table(L1))
  setDesc(L1, 1, VA, s1Table(L2))
  setDesc(L2, 2, VA, s1Table(L3))
  setDesc(L3, 3, VA, leaf)
}

function walk(va: bigint, access: AccessKind = ACCESS_READ, el: 0 | 1 = 1, pan = false): boolean {
  const [hi, lo] = halves(va)
  return mmu.walk(hi, lo, access, el, pan, out)
}

function expectFault(kind: number, level: number): void {
  expect(out.fault).toBe(kind)
  expect(out.stage).toBe(1)
  expect(out.level).toBe(level)
  expect(out.s1ptw).toBe(false)
  expect(out.ipaValid).toBe(false)
}

beforeEach(() => {
  mem = new SparseMemory(2 ** 40)
  mmu = new Mmu(mem)
  mmu.setTcrEl1(TCR_HI, TCR_LO)
  mmu.setMairEl1(MAIR_HI, MAIR_LO)
  mmu.setTtbr0El1(0, L0)
  mmu.setTtbr1El1(0, 0x20000)
  mmu.setSctlrEl1(0, 1)
})

describe('stage-1 4 KiB walks', () => {
  test('a level-3 page translates, keeps the page offset and reads MAIR Attr0 as Tagged', () => {
    buildStandard()
    expect(walk(VA + 0x123n)).toBe(true)
    expect(out.fault).toBe(FAULT_NONE)
    expect(out.pa).toBe(PA + 0x123)
    expect(out.ipa).toBe(PA + 0x123)
    expect(out.tagged).toBe(true)
    expect(out.device).toBe(false)
    expect(out.attrs).toBe(0xf0)
  })

  test('level-1 (1 GiB) and level-2 (2 MiB) blocks', () => {
    setDesc(L0, 0, VA, s1Table(L1))
    setDesc(L1, 1, VA, s1Block(0x1_0000_0000, { attrIndx: 1 }))
    expect(walk(0x7654_3210n)).toBe(true)
    expect(out.pa).toBe(0x1_0000_0000 + 0x3654_3210)
    expect(out.tagged).toBe(false)
    expect(out.attrs).toBe(0xff)
    setDesc(L1, 1, VA, s1Table(L2))
    setDesc(L2, 2, VA, s1Block(0x8020_0000, { attrIndx: 3 }))
    expect(walk(0x4012_3456n)).toBe(true)
    expect(out.pa).toBe(0x8020_0000 + 0x12_3456)
    expect(out.device).toBe(true)
    expect(out.attrs).toBe(0x00)
  })

  test('a block descriptor at level 0 and the reserved level-3 encoding are translation faults', () => {
    setDesc(L0, 0, VA, s1Block(0))
    expect(walk(VA)).toBe(false)
    expectFault(FAULT_TRANSLATION, 0)
    buildStandard(s1Block(PA))
    expect(walk(VA)).toBe(false)
    expectFault(FAULT_TRANSLATION, 3)
  })

  test.each([0, 1, 2, 3])('an invalid descriptor at level %i is a translation fault at that level', (level) => {
    buildStandard()
    const tables = [L0, L1, L2, L3]
    setDesc(tables[level] as number, level, VA, 0x0000_0000_8000_0f7cn) // bit 0 clear, junk elsewhere
    expect(walk(VA, ACCESS_WRITE)).toBe(false)
    expectFault(FAULT_TRANSLATION, level)
    expect(out.fsc).toBe(0b000100 | level)
    expect(out.iss).toBe(0b000100 | level | (1 << 6))
    expect([out.farHi, out.farLo]).toEqual([0, 0x40001000])
  })

  test('access flag faults at levels 1, 2 and 3', () => {
    buildStandard(s1Page(PA, { af: false }))
    expect(walk(VA)).toBe(false)
    expectFault(FAULT_ACCESS_FLAG, 3)
    expect(out.fsc).toBe(0x0b)
    setDesc(L2, 2, VA, s1Block(0x4000_0000, { af: false }))
    expect(walk(VA)).toBe(false)
    expectFault(FAULT_ACCESS_FLAG, 2)
    setDesc(L1, 1, VA, s1Block(0x4000_0000, { af: false }))
    expect(walk(VA)).toBe(false)
    expectFault(FAULT_ACCESS_FLAG, 1)
    expect(out.fsc).toBe(0x09)
  })

  test('permission faults on level-1 and level-2 blocks report their level', () => {
    setDesc(L0, 0, VA, s1Table(L1))
    setDesc(L1, 1, VA, s1Block(0x4000_0000, { ap: 0b10 }))
    expect(walk(VA, ACCESS_WRITE)).toBe(false)
    expectFault(FAULT_PERMISSION, 1)
    expect(out.fsc).toBe(0x0d)
    setDesc(L1, 1, VA, s1Table(L2))
    setDesc(L2, 2, VA, s1Block(0x4000_0000, { ap: 0b10 }))
    expect(walk(VA, ACCESS_WRITE)).toBe(false)
    expectFault(FAULT_PERMISSION, 2)
    expect(out.fsc).toBe(0x0e)
  })

  test('the access flag is checked before permissions', () => {
    buildStandard(s1Page(PA, { af: false, ap: 0b10 }))
    expect(walk(VA, ACCESS_WRITE)).toBe(false)
    expect(out.fault).toBe(FAULT_ACCESS_FLAG)
  })

  test('address size faults: descriptor output above IPS, TTBR above IPS', () => {
    mmu.setTcrEl1(TCR_HI & ~7, TCR_LO) // IPS = 32 bits
    buildStandard(s1Page(0x1_0000_0000))
    expect(walk(VA)).toBe(false)
    expectFault(FAULT_ADDRESS_SIZE, 3)
    expect(out.fsc).toBe(0x03)
    setDesc(L1, 1, VA, s1Table(0x1_0000_0000))
    expect(walk(VA)).toBe(false)
    expectFault(FAULT_ADDRESS_SIZE, 1)
    mmu.setTtbr0El1(0x1, L0)
    expect(walk(VA)).toBe(false)
    expectFault(FAULT_ADDRESS_SIZE, 0)
  })

  test('a table PA outside memory is a synchronous external abort on the walk', () => {
    setDesc(L0, 0, VA, s1Table(0x100_0000_0000))
    expect(walk(VA)).toBe(false)
    expect(out.fault).toBe(FAULT_EXTERNAL_ON_WALK)
    expect(out.level).toBe(1)
    expect(out.fsc).toBe(0x15)
  })
})

describe('stage-1 permissions', () => {
  const cases: Array<[string, number, AccessKind, 0 | 1, boolean]> = [
    // name, AP[2:1], access, EL, allowed
    ['EL1 RW page, EL1 write', 0b00, ACCESS_WRITE, 1, true],
    ['EL1 RW page, EL0 read', 0b00, ACCESS_READ, 0, false],
    ['EL0+EL1 RW page, EL0 write', 0b01, ACCESS_WRITE, 0, true],
    ['EL1 RO page, EL1 write', 0b10, ACCESS_WRITE, 1, false],
    ['EL1 RO page, EL1 read', 0b10, ACCESS_READ, 1, true],
    ['EL1 RO page, EL0 read', 0b10, ACCESS_READ, 0, false],
    ['RO page, EL0 read', 0b11, ACCESS_READ, 0, true],
    ['RO page, EL0 write', 0b11, ACCESS_WRITE, 0, false],
    ['RO page, EL1 write', 0b11, ACCESS_WRITE, 1, false],
  ]
  test.each(cases)('%s', (_name, ap, access, el, allowed) => {
    buildStandard(s1Page(PA, { ap }))
    expect(walk(VA, access, el)).toBe(allowed)
    if (!allowed) {
      expectFault(FAULT_PERMISSION, 3)
      expect(out.fsc).toBe(0x0f)
      expect((out.iss >> 6) & 1).toBe(access === ACCESS_WRITE ? 1 : 0)
    }
  })

  test('UXN, PXN, and EL1 never executes EL0-writable memory', () => {
    buildStandard(s1Page(PA, { ap: 0b11, uxn: true }))
    expect(walk(VA, ACCESS_FETCH, 0)).toBe(false)
    expectFault(FAULT_PERMISSION, 3)
    expect(out.iss).toBe(0x0f) // no WnR on instruction aborts
    expect(walk(VA, ACCESS_FETCH, 1)).toBe(true)
    buildStandard(s1Page(PA, { ap: 0b11, pxn: true }))
    expect(walk(VA, ACCESS_FETCH, 1)).toBe(false)
    expect(walk(VA, ACCESS_FETCH, 0)).toBe(true)
    buildStandard(s1Page(PA, { ap: 0b01 }))
    expect(walk(VA, ACCESS_FETCH, 1)).toBe(false)
    expect(walk(VA, ACCESS_FETCH, 0)).toBe(true)
  })

  test('SCTLR_EL1.WXN makes writable memory execute-never at the EL that can write it', () => {
    mmu.setSctlrEl1(0, 1 | (1 << 19))
    buildStandard(s1Page(PA, { ap: 0b00 }))
    expect(walk(VA, ACCESS_FETCH, 1)).toBe(false)
    buildStandard(s1Page(PA, { ap: 0b10 }))
    expect(walk(VA, ACCESS_FETCH, 1)).toBe(true)
    buildStandard(s1Page(PA, { ap: 0b01, pxn: true }))
    expect(walk(VA, ACCESS_FETCH, 0)).toBe(false)
  })

  test('PAN blocks EL1 data access to EL0-accessible memory, not fetches; EPAN adds EL0-executable memory', () => {
    buildStandard(s1Page(PA, { ap: 0b01, pxn: true }))
    expect(walk(VA, ACCESS_READ, 1, true)).toBe(false)
    expectFault(FAULT_PERMISSION, 3)
    expect(walk(VA, ACCESS_READ, 1, false)).toBe(true)
    buildStandard(s1Page(PA, { ap: 0b00 }))
    expect(walk(VA, ACCESS_WRITE, 1, true)).toBe(true)
    expect(walk(VA, ACCESS_FETCH, 1, true)).toBe(true)
    mmu.setSctlrEl1(1 << 25, 1) // EPAN
    expect(walk(VA, ACCESS_READ, 1, true)).toBe(false) // UXN=0: EL0-executable
    buildStandard(s1Page(PA, { ap: 0b00, uxn: true }))
    expect(walk(VA, ACCESS_READ, 1, true)).toBe(true)
  })

  test('APTable, UXNTable and PXNTable restrict everything below; TCR.HPD0 disables them', () => {
    buildStandard(s1Page(PA, { ap: 0b01 }))
    setDesc(L1, 1, VA, s1Table(L2, { apTable: 0b01 }))
    expect(walk(VA, ACCESS_READ, 0)).toBe(false)
    expect(walk(VA, ACCESS_WRITE, 1)).toBe(true)
    setDesc(L1, 1, VA, s1Table(L2, { apTable: 0b10 }))
    expect(walk(VA, ACCESS_WRITE, 1)).toBe(false)
    expect(walk(VA, ACCESS_READ, 0)).toBe(true)
    setDesc(L1, 1, VA, s1Table(L2, { uxnTable: true, pxnTable: true }))
    buildStandard(s1Page(PA, { ap: 0b10 }))
    setDesc(L1, 1, VA, s1Table(L2, { uxnTable: true, pxnTable: true }))
    expect(walk(VA, ACCESS_FETCH, 1)).toBe(false)
    expect(walk(VA, ACCESS_FETCH, 0)).toBe(false)
    mmu.setTcrEl1(TCR_HI | (1 << 9), TCR_LO) // HPD0
    expect(walk(VA, ACCESS_FETCH, 1)).toBe(true)
  })
})

describe('stage-1 address ranges', () => {
  test('TTBR1 serves the upper range, with its own T1SZ start level', () => {
    // T1SZ = 25: 39-bit upper range, walk starts at level 1.
    mmu.setTcrEl1(TCR_HI, (TCR_LO & ~(0x3f << 16)) | (25 << 16))
    const va = 0xffff_ffc0_0020_3000n
    mem.write64(0x20000 + index4k(va, 1) * 8, s1Table(0x21000))
    mem.write64(0x21000 + index4k(va, 2) * 8, s1Table(0x22000))
    mem.write64(0x22000 + index4k(va, 3) * 8, s1Page(0x9000_0000, { attrIndx: 2 }))
    expect(walk(va + 8n)).toBe(true)
    expect(out.pa).toBe(0x9000_0008)
    expect(out.attrs).toBe(0x44)
    expect(walk(0xffff_ff00_0020_3000n)).toBe(false) // outside the 39-bit range
    expectFault(FAULT_TRANSLATION, 0)
  })

  test('non-canonical VAs fault; TBI ignores the top byte for data; TBID keeps it for fetches', () => {
    buildStandard()
    expect(walk(0x0001_0000_4000_1000n)).toBe(false)
    expectFault(FAULT_TRANSLATION, 0)
    expect(walk(0x0f00_0000_4000_1000n, ACCESS_READ)).toBe(true)
    expect(out.pa).toBe(PA)
    expect(walk(0x0f00_0000_4000_1000n, ACCESS_FETCH)).toBe(true)
    mmu.setTcrEl1(TCR_HI | (1 << 19), TCR_LO) // TBID0
    expect(walk(0x0f00_0000_4000_1000n, ACCESS_FETCH)).toBe(false)
    expectFault(FAULT_TRANSLATION, 0)
    expect(walk(0x0f00_0000_4000_1000n, ACCESS_READ)).toBe(true)
    mmu.setTcrEl1(TCR_HI & ~(1 << 5), TCR_LO) // TBI0 = 0
    expect(walk(0x0f00_0000_4000_1000n, ACCESS_READ)).toBe(false)
  })

  test('EPD0/EPD1 and an out-of-range T0SZ fault at level 0', () => {
    buildStandard()
    mmu.setTcrEl1(TCR_HI, TCR_LO | (1 << 7))
    expect(walk(VA)).toBe(false)
    expectFault(FAULT_TRANSLATION, 0)
    mmu.setTcrEl1(TCR_HI, TCR_LO | (1 << 23))
    expect(walk(VA)).toBe(true)
    expect(walk(0xffff_0000_0000_0000n)).toBe(false)
    expectFault(FAULT_TRANSLATION, 0)
    mmu.setTcrEl1(TCR_HI, (TCR_LO & ~0x3f) | 12)
    expect(walk(VA)).toBe(false)
    expectFault(FAULT_TRANSLATION, 0)
  })
})

describe('stage 1 off', () => {
  test('data is Device-nGnRnE and flat; VAs above 48 bits are address size faults', () => {
    mmu.setSctlrEl1(0, 0)
    expect(walk(0x1234_5678_9abcn, ACCESS_WRITE, 0)).toBe(true)
    expect(out.pa).toBe(0x1234_5678_9abc)
    expect(out.device).toBe(true)
    expect(out.tagged).toBe(false)
    expect(walk(0x0001_0000_0000_0000n)).toBe(false)
    expectFault(FAULT_ADDRESS_SIZE, 0)
    expect(walk(0x0a00_0000_0000_1000n)).toBe(true) // TBI0: tag ignored
    expect(out.pa).toBe(0x1000)
  })
})

describe('16 KiB and 64 KiB granules', () => {
  test('16 KiB: 47-bit VA walks from level 1 to a level-3 page', () => {
    // T0SZ=17, TG0=0b10 (16K). Index bits: L1 46:36, L2 35:25, L3 24:14.
    mmu.setTcrEl1(TCR_HI, 17 | (2 << 14) | (16 << 16) | (2 << 30))
    const va = 0x0000_1234_5678_9abcn
    const i1 = Number((va >> 36n) & 0x7ffn)
    const i2 = Number((va >> 25n) & 0x7ffn)
    const i3 = Number((va >> 14n) & 0x7ffn)
    mem.write64(0x40000 + i1 * 8, s1Table(0x44000))
    mem.write64(0x44000 + i2 * 8, s1Table(0x48000))
    mem.write64(0x48000 + i3 * 8, s1Page(0x8000_4000))
    mmu.setTtbr0El1(0, 0x40000)
    expect(walk(va)).toBe(true)
    expect(out.pa).toBe(0x8000_4000 + Number(va & 0x3fffn))
    // A level-2 block is 32 MiB.
    mem.write64(0x44000 + i2 * 8, s1Block(0x1_0200_0000))
    expect(walk(va)).toBe(true)
    expect(out.pa).toBe(0x1_0200_0000 + Number(va & 0x1ff_ffffn))
  })

  test('64 KiB: 48-bit VA walks from level 1; a level-1 block is a translation fault', () => {
    mmu.setTcrEl1(TCR_HI, 16 | (1 << 14) | (16 << 16) | (2 << 30))
    const va = 0x0000_8765_4321_0fedn
    const i1 = Number((va >> 42n) & 0x3fn)
    const i2 = Number((va >> 29n) & 0x1fffn)
    const i3 = Number((va >> 16n) & 0x1fffn)
    mem.write64(0x100000 + i1 * 8, s1Table(0x110000))
    mem.write64(0x110000 + i2 * 8, s1Table(0x120000))
    mem.write64(0x120000 + i3 * 8, s1Page(0x8001_0000))
    mmu.setTtbr0El1(0, 0x100000)
    expect(walk(va)).toBe(true)
    expect(out.pa).toBe(0x8001_0000 + Number(va & 0xffffn))
    mem.write64(0x100000 + i1 * 8, s1Block(0))
    expect(walk(va)).toBe(false)
    expectFault(FAULT_TRANSLATION, 1)
  })
})
