import fc from 'fast-check'
import { expect, test } from 'vitest'
import {
  Mmu,
  TLBI_ASIDE1,
  TLBI_VAAE1,
  TLBI_VAALE1,
  TLBI_VAE1,
  TLBI_VALE1,
  TLBI_VMALLE1,
  TranslationResult,
} from './index.js'
import type { AccessKind } from './index.js'
import { SparseMemory, halves, index4k, s1Block, s1Page, s1Table } from './test-support.js'

// Property: the TLB never changes an outcome. translate() (TLB hit or walk + fill) must
// agree with walk() (no TLB) for every access, across ASID switches, TBI tags, both
// halves, every EL/PAN/access kind, a tiny TLB that forces evictions, and leaf rewrites
// (pages and 2 MiB blocks) each followed by a TLBI that architecturally covers it.

const USER_ROOTS = [0x10000, 0x11000] // ASID 1 and ASID 2 use different TTBR0 tables
const KERNEL_ROOT = 0x12000

const mapping = fc.record({
  upper: fc.boolean(),
  root: fc.integer({ min: 0, max: 1 }),
  page: fc.integer({ min: 0, max: 63 }),
  pa: fc.integer({ min: 0x100, max: 0xfffff }),
  ap: fc.integer({ min: 0, max: 3 }),
  uxn: fc.boolean(),
  pxn: fc.boolean(),
  ng: fc.boolean(),
  attrIndx: fc.integer({ min: 0, max: 2 }),
  block: fc.boolean(),
})

const access = fc.record({
  target: fc.integer({ min: 0, max: 32 }), // index of a mapping, or (beyond) an unmapped VA
  offset: fc.integer({ min: 0, max: 0xfff }),
  tag: fc.integer({ min: 0, max: 15 }),
  kind: fc.constantFrom<AccessKind>(0, 1, 2),
  el: fc.constantFrom<0 | 1>(0, 1),
  pan: fc.boolean(),
  asid: fc.oneof({ weight: 4, arbitrary: fc.constant(-1) }, { weight: 1, arbitrary: fc.integer({ min: 0, max: 1 }) }),
})

const remap = fc.record({
  remap: fc.constant(true),
  target: fc.integer({ min: 0, max: 29 }),
  pa: fc.integer({ min: 0x100, max: 0xfffff }),
  ap: fc.integer({ min: 0, max: 3 }),
  tlbi: fc.integer({ min: 0, max: 4 }),
})

/** VA of a generated mapping: `page` picks one of 64 pages in a small window of its half. */
function vaOf(m: { upper: boolean; page: number }): bigint {
  // Pages spread over two 2 MiB regions so that blocks and pages mix.
  const base = m.upper ? 0xffff_8000_4000_0000n : 0x0000_0000_4000_0000n
  return base + BigInt(m.page % 32) * 0x1000n + BigInt(Math.floor(m.page / 32)) * 0x20_0000n
}

test('translate() agrees with walk() for every access sequence', () => {
  fc.assert(
    fc.property(
      fc.array(mapping, { minLength: 1, maxLength: 30 }),
      fc.array(fc.oneof({ weight: 5, arbitrary: access }, { weight: 1, arbitrary: remap }), {
        minLength: 1,
        maxLength: 120,
        size: 'max',
      }),
      fc.boolean(),
      (maps, accesses, tbid) => {
        const mem = new SparseMemory(2 ** 40)
        let nextTable = 0x100000
        const tableAt = (slot: number): number => {
          const d = mem.read64(slot)
          if ((d & 3n) === 3n) return Number(d & 0xffff_ffff_f000n)
          const t = nextTable
          nextTable += 0x1000
          mem.write64(slot, s1Table(t))
          return t
        }
        for (const m of maps) {
          const va = vaOf(m)
          const root = m.upper ? KERNEL_ROOT : (USER_ROOTS[m.root] as number)
          const l1 = tableAt(root + index4k(va, 0) * 8)
          const l2 = tableAt(l1 + index4k(va, 1) * 8)
          // User mappings are non-global (as Linux makes them): a global user entry would
          // legitimately be shared across ASIDs and differ from a fresh walk.
          const leaf = { ap: m.ap, uxn: m.uxn, pxn: m.pxn, ng: m.upper ? m.ng : true, attrIndx: m.attrIndx }
          const l2Slot = l2 + index4k(va, 2) * 8
          if (m.block && (mem.read64(l2Slot) & 3n) !== 3n) {
            mem.write64(l2Slot, s1Block((m.pa & ~0x1ff) * 0x1000, leaf))
          } else if ((mem.read64(l2Slot) & 3n) === 3n) {
            mem.write64(tableAt(l2Slot) + index4k(va, 3) * 8, s1Page(m.pa * 0x1000, leaf))
          }
        }
        const mmu = new Mmu(mem, { tlbEntriesLog2: 6 })
        mmu.setTcrEl1(5 | (1 << 5) | (1 << 6) | (tbid ? 1 << 19 : 0), 16 | (16 << 16) | (2 << 30))
        mmu.setMairEl1(0, 0x44fff0)
        mmu.setTtbr1El1(0, KERNEL_ROOT)
        mmu.setSctlrEl1(1 << 25, 1) // EPAN too
        const cached = new TranslationResult()
        const fresh = new TranslationResult()
        let asid = -1
        const leafSlot = (root: number, va: bigint): number => {
          let table = root
          for (let level = 0; level <= 3; level++) {
            const slot = table + index4k(va, level) * 8
            const d = mem.read64(slot)
            if ((d & 1n) === 0n) return -1
            if (level === 3 || (d & 2n) === 0n) return slot
            table = Number(d & 0xffff_ffff_f000n)
          }
          return -1
        }
        for (const a of accesses) {
          if ('remap' in a) {
            const m = maps[a.target % maps.length] as (typeof maps)[number]
            const va = vaOf(m)
            const slot = leafSlot(m.upper ? KERNEL_ROOT : (USER_ROOTS[m.root] as number), va)
            if (slot < 0) continue
            const old = mem.read64(slot)
            const isBlock = (old & 2n) === 0n
            const oa = BigInt(isBlock ? (a.pa & ~0x1ff) * 0x1000 : a.pa * 0x1000)
            mem.write64(slot, (old & ~(0xffff_ffff_f000n | (3n << 6n))) | oa | (BigInt(a.ap) << 6n))
            const vaXt = halves((va >> 12n) & 0xfff_ffff_ffffn)
            const userAsid = BigInt(m.root + 1) << 48n
            const withAsid = halves(((va >> 12n) & 0xfff_ffff_ffffn) | userAsid)
            // Kernel entries may be non-global under either ASID: only all-ASID forms cover them.
            const choice = m.upper ? [TLBI_VAAE1, TLBI_VAALE1, TLBI_VMALLE1][a.tlbi % 3] : a.tlbi
            if (m.upper) {
              if (choice === TLBI_VMALLE1) mmu.tlbi(TLBI_VMALLE1, 0, 0)
              else mmu.tlbi(choice as number, vaXt[0], vaXt[1])
            } else {
              const op = [TLBI_VAE1, TLBI_VALE1, TLBI_VAAE1, TLBI_ASIDE1, TLBI_VMALLE1][choice as number] as number
              if (op === TLBI_VAAE1) mmu.tlbi(op, vaXt[0], vaXt[1])
              else mmu.tlbi(op, withAsid[0], withAsid[1])
            }
            continue
          }
          if (a.asid !== asid && (a.asid >= 0 || asid < 0)) {
            asid = Math.max(a.asid, 0)
            mmu.setTtbr0El1((asid + 1) << 16, USER_ROOTS[asid] as number)
          }
          // Mostly mapped VAs; a couple of target values per run hit unmapped ones.
          const m = maps[a.target % (maps.length + 2)]
          const va = (m ? vaOf(m) : 0x0000_0000_5000_0000n + BigInt(a.target) * 0x1000n) + BigInt(a.offset)
          const [hi, lo] = halves(va | (BigInt(a.tag) << 56n))
          const ok1 = mmu.translate(hi, lo, a.kind, a.el, a.pan, cached)
          const ok2 = mmu.walk(hi, lo, a.kind, a.el, a.pan, fresh)
          if (ok1 !== ok2) expect.fail(`translate ${ok1} vs walk ${ok2} at ${va.toString(16)}`)
          if (ok1) {
            expect([cached.pa, cached.tagged, cached.device, cached.attrs]).toEqual([
              fresh.pa,
              fresh.tagged,
              fresh.device,
              fresh.attrs,
            ])
          } else {
            expect([cached.fault, cached.stage, cached.level, cached.iss]).toEqual([
              fresh.fault,
              fresh.stage,
              fresh.level,
              fresh.iss,
            ])
          }
        }
      },
    ),
    { numRuns: 150 },
  )
})
