// Accesses made of several parts (pairs, CASP, exclusive pairs, ST2G/STZ2G): a fault in any
// part (sync tag check, translation or permission fault on the second page) leaves memory,
// allocation tags and registers as they were, with ESR/FAR as QEMU reports them.

import fc from 'fast-check'
import { describe, expect, test } from 'vitest'
import { V, mteMachine, p, runWords, stopReason, type MteOptions } from './mte-test-support.js'
import { CODE, RAM_BASE, type Machine } from './test-helpers.js'

const L2 = RAM_BASE + 0x1_1000
const L3 = RAM_BASE + 0x1_2000
/** Page after RW_PAGE is unmapped at stage 1; page after RW_PAGE2 is EL1 read-only. */
const RW_PAGE = 0x4000_3000
const UNMAPPED = 0x4000_4000
const RW_PAGE2 = 0x4000_5000
const READ_ONLY = 0x4000_6000

/** mteMachine with the first 2 MiB mapped in 4 KiB pages (tagged), one hole and one read-only page. */
function pagedMachine(o: MteOptions = {}): Machine {
  const m = mteMachine(o)
  for (let i = 0; i < 512; i++) {
    const pa = RAM_BASE + 0x1000 * i
    let desc = pa | (1 << 10) | (3 << 8) | (2 << 2) | 0b11
    if (pa === UNMAPPED) desc = 0
    if (pa === READ_ONLY) desc |= 1 << 7 // AP[2] = 1: EL1 read-only
    m.memory.write32(L3 + 8 * i, desc >>> 0)
    m.memory.write32(L3 + 8 * i + 4, 0)
  }
  m.memory.write32(L2, (L3 | 0b11) >>> 0)
  // Recognisable bytes around both page boundaries.
  for (const page of [RW_PAGE, RW_PAGE2]) {
    m.memory.writeBytes(page + 0xfc0, Uint8Array.from({ length: 0x40 }, (_, i) => 0xa0 + i))
    m.memory.writeBytes(page + 0x1000, Uint8Array.from({ length: 0x40 }, (_, i) => 0x50 + i))
  }
  return m
}

const rd = (n: number, t: number): number => (n << 5) | t
/** Pair encodings: Rt = x1, Rt2 = x2, Rn = x3 (and Rs = w4 for STXP). */
const pairForms: Record<string, { word: number; bytes: number; offset: number; post?: boolean }> = {
  'STP X, offset': { word: 0xa9000000 | (2 << 10) | rd(3, 1), bytes: 8, offset: 0 },
  'STP X, pre-index': { word: 0xa9800000 | (1 << 15) | (2 << 10) | rd(3, 1), bytes: 8, offset: 8 },
  'STP X, post-index': { word: 0xa8800000 | (1 << 15) | (2 << 10) | rd(3, 1), bytes: 8, offset: 0, post: true },
  'STP W, offset': { word: 0x29000000 | (2 << 10) | rd(3, 1), bytes: 4, offset: 0 },
  'STP W, pre-index': { word: 0x29800000 | (1 << 15) | (2 << 10) | rd(3, 1), bytes: 4, offset: 4 },
  'STP W, post-index': { word: 0x28800000 | (1 << 15) | (2 << 10) | rd(3, 1), bytes: 4, offset: 0, post: true },
  'STNP X': { word: 0xa8000000 | (2 << 10) | rd(3, 1), bytes: 8, offset: 0 },
  'STNP W': { word: 0x28000000 | (2 << 10) | rd(3, 1), bytes: 4, offset: 0 },
}
const loadPairForms: Record<string, { word: number; bytes: number }> = {
  'LDP X': { word: 0xa9400000 | (2 << 10) | rd(3, 1), bytes: 8 },
  'LDP W': { word: 0x29400000 | (2 << 10) | rd(3, 1), bytes: 4 },
  LDPSW: { word: 0x69400000 | (2 << 10) | rd(3, 1), bytes: 4 },
  'LDNP X': { word: 0xa8400000 | (2 << 10) | rd(3, 1), bytes: 8 },
}

const REGS = [0x1111_2222_3333_4444n, 0x5555_6666_7777_8888n, 0x9999_aaaa_bbbb_ccccn, 0n, 0xdddd_eeee_ffff_0001n, 0x0102_0304_0506_0708n]

function readBytes(m: Machine, pa: number, length: number): Uint8Array {
  const out = new Uint8Array(length)
  m.memory.readBytes(pa, out)
  return out
}

interface Snapshot {
  regs: bigint[]
  bytes: number[]
  tags: number[]
}

function snapshot(m: Machine, at: number): Snapshot {
  const start = at & ~0xf
  return {
    regs: Array.from({ length: 6 }, (_, r) => m.cpu.getX(r)),
    bytes: Array.from(readBytes(m, start - 0x20, 0x60)),
    tags: Array.from({ length: 6 }, (_, g) => m.memory.getTag(start - 0x20 + 16 * g)),
  }
}

/**
 * Runs `word` with x3 = base and the other registers set; expects a synchronous data
 * abort to EL1 with `esr` and `far` and nothing else changed (registers, bytes, tags).
 */
function expectNoEffect(m: Machine, word: number, base: bigint, at: number, esr: bigint, far: bigint): void {
  REGS.forEach((v, r) => m.cpu.setX(r, v))
  m.cpu.setX(3, base)
  const before = snapshot(m, at)
  const stop = runWords(m, [word])
  expect(stop.kind).toBe('hvc')
  expect(stopReason(stop)).toBe(4) // current EL, SP_ELx, synchronous
  expect(m.cpu.getSysreg('ESR_EL1')).toBe(esr)
  expect(m.cpu.getSysreg('FAR_EL1')).toBe(far)
  expect(m.cpu.getSysreg('ELR_EL1')).toBe(BigInt(CODE))
  expect(snapshot(m, at)).toEqual(before)
}

const TAG_WRITE = 0x9600_0051n
const TAG_READ = 0x9600_0011n
const TRANSLATION_L3_WRITE = 0x9600_0047n
const TRANSLATION_L3_READ = 0x9600_0007n
const PERMISSION_L3_WRITE = 0x9600_004fn

describe('stores of two registers change nothing when their second part faults', () => {
  for (const [name, form] of Object.entries(pairForms)) {
    // The second register's bytes begin at `second`; the instruction's address is second - bytes.
    const baseFor = (second: number, tag = 0): bigint => (BigInt(tag) << 56n) | BigInt(second - form.bytes - form.offset)

    test(`${name}: sync tag check fault in the second granule`, () => {
      const m = pagedMachine()
      // First part in granule 0 of V (tag 3), second in granule 1 (tag 4).
      expectNoEffect(m, form.word, baseFor(V + 16, 3), V + 16, TAG_WRITE, p(3, 16))
    })

    test(`${name}: translation fault on the next page`, () => {
      const m = pagedMachine()
      expectNoEffect(m, form.word, baseFor(UNMAPPED), UNMAPPED, TRANSLATION_L3_WRITE, BigInt(UNMAPPED))
    })

    test(`${name}: permission fault on the next page`, () => {
      const m = pagedMachine()
      expectNoEffect(m, form.word, baseFor(READ_ONLY), READ_ONLY, PERMISSION_L3_WRITE, BigInt(READ_ONLY))
    })

    test(`${name}: a first part that itself crosses into the unmapped page`, () => {
      const m = pagedMachine()
      // Address UNMAPPED - 2: the first register straddles the page boundary.
      const base = BigInt(UNMAPPED - 2 - form.offset)
      expectNoEffect(m, form.word, base, UNMAPPED, TRANSLATION_L3_WRITE, BigInt(UNMAPPED))
    })

    test(`${name}: without a fault both parts are written and the base written back`, () => {
      const m = pagedMachine()
      REGS.forEach((v, r) => m.cpu.setX(r, v))
      const at = UNMAPPED - 2 * form.bytes
      m.cpu.setX(3, BigInt(at - form.offset))
      expect(stopReason(runWords(m, [form.word]))).toBe('end')
      const mask = form.bytes === 8 ? (1n << 64n) - 1n : 0xffff_ffffn
      const read = (a: number): bigint => {
        const bytes = readBytes(m, a, form.bytes)
        return bytes.reduceRight((acc, b) => (acc << 8n) | BigInt(b), 0n)
      }
      expect(read(at)).toBe(REGS[1]! & mask)
      expect(read(at + form.bytes)).toBe(REGS[2]! & mask)
      const written = form.offset !== 0 || form.post === true
      expect(m.cpu.getX(3)).toBe(BigInt(at - form.offset) + (written ? BigInt(form.offset || form.bytes) : 0n))
    })
  }

  test('STP across granules in async mode writes both parts and records TFSR_EL1', () => {
    const m = pagedMachine({ tcf: 2 })
    m.cpu.setX(1, 1n)
    m.cpu.setX(2, 2n)
    m.cpu.setX(3, p(3, 8))
    expect(stopReason(runWords(m, [pairForms['STP X, offset']!.word]))).toBe('end')
    expect(m.memory.read32(V + 8)).toBe(1)
    expect(m.memory.read32(V + 16)).toBe(2)
    expect(m.cpu.getSysreg('TFSR_EL1') & 1n).toBe(1n)
  })
})

describe('pairs against the granule rule', () => {
  test('STP/LDP of X or W at any byte offset and tag: fault iff a touched granule differs, else both parts', () => {
    const forms = [pairForms['STP X, offset']!, pairForms['STP W, offset']!, loadPairForms['LDP X']!, loadPairForms['LDP W']!]
    const granuleTags = [3, 4, 0, 0xf]
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 3 }), fc.integer({ min: 0, max: 0x30 }), fc.constantFrom(3, 4, 0, 0xf, 7), fc.boolean(), (which, offset, tag, sameTags) => {
        const form = forms[which]!
        const isStore = which < 2
        const m = pagedMachine()
        // Sometimes every granule carries the pointer's tag (the probe's fast answer).
        if (sameTags) for (let g = 0; g < 4; g++) m.memory.setTag(V + 16 * g, tag)
        const tags = sameTags ? [tag, tag, tag, tag] : granuleTags
        const span = 2 * form.bytes
        const first = offset >>> 4
        const last = (offset + span - 1) >>> 4
        let failing = -1
        for (let g = first; g <= last; g++) {
          if (tags[g] !== tag) {
            failing = g
            break
          }
        }
        REGS.forEach((v, r) => m.cpu.setX(r, v))
        const base = p(tag, offset)
        m.cpu.setX(3, base)
        const before = snapshot(m, V + 0x20)
        const stop = stopReason(runWords(m, [form.word]))
        if (failing >= 0) {
          expect(stop).toBe(4)
          expect(m.cpu.getSysreg('ESR_EL1')).toBe(isStore ? TAG_WRITE : TAG_READ)
          expect(m.cpu.getSysreg('FAR_EL1')).toBe(failing === first ? base : p(tag, 16 * failing))
          expect(snapshot(m, V + 0x20)).toEqual(before)
          return
        }
        expect(stop).toBe('end')
        const mask = form.bytes === 8 ? (1n << 64n) - 1n : 0xffff_ffffn
        const value = (a: number): bigint => readBytes(m, a, form.bytes).reduceRight((acc, b) => (acc << 8n) | BigInt(b), 0n)
        if (isStore) {
          expect(value(V + offset)).toBe(REGS[1]! & mask)
          expect(value(V + offset + form.bytes)).toBe(REGS[2]! & mask)
        } else {
          // LDP W zero-extends: the little-endian value as read.
          expect(m.cpu.getX(1)).toBe(value(V + offset))
          expect(m.cpu.getX(2)).toBe(value(V + offset + form.bytes))
        }
      }),
      { numRuns: 150 },
    )
  })
})

describe('loads of two registers change no register when a part faults', () => {
  for (const [name, form] of Object.entries(loadPairForms)) {
    test(`${name}: sync tag check fault in the second granule`, () => {
      const m = pagedMachine()
      const base = (3n << 56n) | BigInt(V + 16 - form.bytes)
      expectNoEffect(m, form.word, base, V + 16, TAG_READ, p(3, 16))
    })

    test(`${name}: translation fault on the next page`, () => {
      const m = pagedMachine()
      expectNoEffect(m, form.word, BigInt(UNMAPPED - form.bytes), UNMAPPED, TRANSLATION_L3_READ, BigInt(UNMAPPED))
    })
  }
})

describe('CASP, exclusive pairs and ST2G/STZ2G', () => {
  // CASP Xs, Xs+1, Xt, Xt+1: Rs = x4, Rt = x0, Rn = x3.
  const casp = { CASP: 0x48207c00, CASPA: 0x48607c00, CASPL: 0x4820fc00, CASPAL: 0x4860fc00 }
  for (const [name, op] of Object.entries(casp)) {
    for (const [width, sz] of [['X', 1 << 30], ['W', 0]] as const) {
      const word = (op & ~(1 << 30)) | sz | (4 << 16) | rd(3, 0)
      test(`${name} (${width}): a tag mismatch faults as a write and changes nothing`, () => {
        const m = pagedMachine()
        // Granule 1 of V has tag 4; the pointer says 3.
        expectNoEffect(m, word >>> 0, p(3, 16), V + 16, TAG_WRITE, p(3, 16))
      })

      test(`${name} (${width}): read-only memory faults as a write even when the compare fails`, () => {
        const m = pagedMachine()
        expectNoEffect(m, word >>> 0, BigInt(READ_ONLY), READ_ONLY, PERMISSION_L3_WRITE, BigInt(READ_ONLY))
      })
    }
  }

  test('CASP in asymmetric mode (writes async): the tag mismatch is recorded, not raised', () => {
    const m = pagedMachine({ tcf: 3 })
    m.cpu.setX(3, p(3, 16))
    expect(stopReason(runWords(m, [(0x48207c00 | (4 << 16) | rd(3, 0)) >>> 0]))).toBe('end')
    expect(m.cpu.getSysreg('TFSR_EL1') & 1n).toBe(1n)
  })

  test('LDXP: a tag mismatch loads nothing', () => {
    const m = pagedMachine()
    expectNoEffect(m, (0xc87f0000 | (2 << 10) | rd(3, 1)) >>> 0, p(3, 16), V + 16, TAG_READ, p(3, 16))
  })

  for (const [name, op] of [['STXP', 0xc8200000], ['STLXP', 0xc8208000]] as const) {
    test(`${name}: a tag mismatch after a successful LDXP stores nothing and leaves the status register`, () => {
      const m = pagedMachine()
      const ldxp = (0xc87f0000 | (5 << 10) | rd(3, 0)) >>> 0 // ldxp x0, x5, [x3]
      m.cpu.setX(3, p(4, 16))
      expect(stopReason(runWords(m, [ldxp]))).toBe('end')
      // Same address, wrong tag: the store-exclusive faults before writing either half.
      expectNoEffect(m, (op | (4 << 16) | (2 << 10) | rd(3, 1)) >>> 0, p(3, 16), V + 16, TAG_WRITE, p(3, 16))
    })
  }

  // ST2G/STZ2G x1, [x3]: the tag comes from x1 (tag 5), 32 bytes from x3.
  const st2 = { ST2G: 0xd9a00800, STZ2G: 0xd9e00800 }
  for (const [name, op] of Object.entries(st2)) {
    const word = (op | rd(3, 1)) >>> 0
    test(`${name} across into an unmapped page changes neither tags nor data`, () => {
      const m = pagedMachine()
      expectNoEffect(m, word, BigInt(UNMAPPED - 16), UNMAPPED, TRANSLATION_L3_WRITE, BigInt(UNMAPPED))
    })

    test(`${name} across into a read-only page changes neither tags nor data`, () => {
      const m = pagedMachine()
      expectNoEffect(m, word, BigInt(READ_ONLY - 16), READ_ONLY, PERMISSION_L3_WRITE, BigInt(READ_ONLY))
    })
  }

  test('STGP on a read-only page changes neither tag nor data', () => {
    const m = pagedMachine()
    const stgp = (0x69000000 | (2 << 10) | rd(3, 1)) >>> 0 // stgp x1, x2, [x3]
    expectNoEffect(m, stgp, (5n << 56n) | BigInt(READ_ONLY + 0x20), READ_ONLY + 0x20, PERMISSION_L3_WRITE, (5n << 56n) | BigInt(READ_ONLY + 0x20))
  })
})
