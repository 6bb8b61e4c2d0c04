import fc from 'fast-check'
import { expect, test } from 'vitest'
import { PTES_PER_LEAF, PageTable } from './host-page-table.js'
import { SwapEntry, type Pte } from './host-pages.js'

// Page numbers of user addresses near the top of the 48-bit space (above 2^31, as HostMm's are),
// a few leaves apart so that ranges cross leaf boundaries and skip missing leaves.
const BASE = 2 ** 35 - 3 * PTES_PER_LEAF
const SPAN = 8 * PTES_PER_LEAF

type Op = { kind: 'set'; vpn: number } | { kind: 'delete'; vpn: number } | { kind: 'scan'; first: number; last: number; stopAfter: number }

const vpn = fc.integer({ min: BASE, max: BASE + SPAN - 1 })
const op: fc.Arbitrary<Op> = fc.oneof(
  { weight: 5, arbitrary: vpn.map((v) => ({ kind: 'set' as const, vpn: v })) },
  { weight: 2, arbitrary: vpn.map((v) => ({ kind: 'delete' as const, vpn: v })) },
  { weight: 1, arbitrary: fc.tuple(vpn, fc.integer({ min: 0, max: SPAN }), fc.integer({ min: 0, max: 50 })).map(([first, n, stopAfter]) => ({ kind: 'scan' as const, first, last: first + n, stopAfter })) },
)

test('the leaf page table answers as a Map of PTEs does: get, has, size, delete, ranges in order, early stop', () => {
  fc.assert(
    fc.property(fc.array(op, { maxLength: 300 }), (ops) => {
      const table = new PageTable()
      const reference = new Map<number, Pte>()
      let made = 0
      for (const o of ops) {
        if (o.kind === 'set') {
          const pte: Pte = { kind: 'swap', entry: new SwapEntry(made++, false) }
          table.set(o.vpn, pte)
          reference.set(o.vpn, pte)
        } else if (o.kind === 'delete') {
          expect(table.delete(o.vpn)).toBe(reference.delete(o.vpn))
        } else {
          const seen: number[] = []
          table.forEachIn(o.first, o.last, (v, pte) => {
            expect(pte).toBe(reference.get(v))
            seen.push(v)
            return seen.length < o.stopAfter
          })
          const expected = [...reference.keys()].filter((v) => v >= o.first && v < o.last).sort((a, b) => a - b)
          expect(seen).toEqual(expected.slice(0, Math.max(1, o.stopAfter)))
        }
        expect(table.size).toBe(reference.size)
      }
      for (let v = BASE; v < BASE + SPAN; v += 7) {
        expect(table.get(v)).toBe(reference.get(v))
        expect(table.has(v)).toBe(reference.has(v))
      }
      expect(table.entries()).toEqual([...reference].sort((a, b) => a[0] - b[0]))
    }),
    { numRuns: 200 },
  )
})

test('a PTE cleared during a range walk is not visited again, and emptied leaves go', () => {
  const table = new PageTable()
  const pte: Pte = { kind: 'swap', entry: new SwapEntry(1, false) }
  for (let v = BASE; v < BASE + 2 * PTES_PER_LEAF; v += 100) table.set(v, pte)
  const seen: number[] = []
  table.forEachIn(BASE, BASE + 2 * PTES_PER_LEAF, (v) => {
    seen.push(v)
    table.delete(v)
  })
  expect(seen.length).toBe(Math.ceil((2 * PTES_PER_LEAF) / 100))
  expect(table.size).toBe(0)
  expect(table.entries()).toEqual([])
})
