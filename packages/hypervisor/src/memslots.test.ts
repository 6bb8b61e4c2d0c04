import { describe, expect, test } from 'vitest'
import fc from 'fast-check'
import { ErrnoError } from '@tagvm/tag-memory'
import { KVM_MEM_LOG_DIRTY_PAGES, KVM_MEM_READONLY, MemslotTable, type UserMemoryRegion } from './memslots.js'

const MiB = 1024 * 1024
const region = (over: Partial<UserMemoryRegion> = {}): UserMemoryRegion => ({
  slot: 0,
  flags: 0,
  guestPhysAddr: 0x4000_0000,
  memorySize: 4 * MiB,
  userspaceAddr: 0x7f00_0000_0000,
  ...over,
})

function errno(fn: () => unknown): string {
  try {
    fn()
  } catch (error) {
    if (error instanceof ErrnoError) return error.code
    throw error
  }
  return 'no error'
}

function add(table: MemslotTable, r: UserMemoryRegion) {
  return table.commit(table.plan(r))
}

describe('KVM_SET_USER_MEMORY_REGION generic rules', () => {
  test('create, then lookup by gfn', () => {
    const table = new MemslotTable()
    const slot = add(table, region())
    expect(slot?.npages).toBe(1024)
    expect(table.findByGfn(0x4_0000)?.id).toBe(0)
    expect(table.findByGfn(0x4_0000 + 1023)?.id).toBe(0)
    expect(table.findByGfn(0x4_0000 + 1024)).toBeUndefined()
  })

  test('misaligned size, guest address or user address is EINVAL', () => {
    const table = new MemslotTable()
    expect(errno(() => table.plan(region({ memorySize: 4097 })))).toBe('EINVAL')
    expect(errno(() => table.plan(region({ guestPhysAddr: 0x4000_0800 })))).toBe('EINVAL')
    expect(errno(() => table.plan(region({ userspaceAddr: 0x7f00_0000_0010 })))).toBe('EINVAL')
  })

  test('unknown flags, a second address space or a slot id past the limit is EINVAL', () => {
    const table = new MemslotTable()
    expect(errno(() => table.plan(region({ flags: 4 })))).toBe('EINVAL')
    expect(errno(() => table.plan(region({ slot: 1 << 16 })))).toBe('EINVAL')
    expect(errno(() => table.plan(region({ slot: 32767 })))).toBe('EINVAL')
    expect(table.plan(region({ slot: 32766 })).change).toBe('create')
  })

  test('a user range above the 48-bit user address space is EINVAL (access_ok)', () => {
    const table = new MemslotTable()
    expect(errno(() => table.plan(region({ userspaceAddr: 2 ** 48 - 4096, memorySize: 8192 })))).toBe('EINVAL')
  })

  test('deleting a slot that does not exist is EINVAL', () => {
    const table = new MemslotTable()
    expect(errno(() => table.plan(region({ memorySize: 0 })))).toBe('EINVAL')
  })

  test('overlapping guest ranges are EEXIST; adjacent ones are fine', () => {
    const table = new MemslotTable()
    add(table, region())
    expect(errno(() => table.plan(region({ slot: 1, guestPhysAddr: 0x4000_0000 + 4 * MiB - 4096 })))).toBe('EEXIST')
    expect(table.plan(region({ slot: 1, guestPhysAddr: 0x4000_0000 + 4 * MiB })).change).toBe('create')
  })

  test('resize, changing the user address or the read-only flag of a live slot is EINVAL', () => {
    const table = new MemslotTable()
    add(table, region())
    expect(errno(() => table.plan(region({ memorySize: 8 * MiB })))).toBe('EINVAL')
    expect(errno(() => table.plan(region({ userspaceAddr: 0x7e00_0000_0000 })))).toBe('EINVAL')
    expect(errno(() => table.plan(region({ flags: KVM_MEM_READONLY })))).toBe('EINVAL')
  })

  test('move, flags-only and no-op changes are classified as Linux does', () => {
    const table = new MemslotTable()
    add(table, region())
    expect(table.plan(region({ guestPhysAddr: 0x8000_0000 })).change).toBe('move')
    expect(table.plan(region({ flags: KVM_MEM_LOG_DIRTY_PAGES })).change).toBe('flags-only')
    expect(table.plan(region()).change).toBe('none')
    expect(table.plan(region({ memorySize: 0 })).change).toBe('delete')
  })

  test('a moved slot is found at its new address only', () => {
    const table = new MemslotTable()
    add(table, region())
    add(table, region({ guestPhysAddr: 0x8000_0000 }))
    expect(table.findByGfn(0x4_0000)).toBeUndefined()
    expect(table.findByGfn(0x8_0000)?.id).toBe(0)
  })

  test('dirty logging allocates a bitmap rounded to 64-bit words, and turning it off drops it', () => {
    const table = new MemslotTable()
    const slot = add(table, region({ memorySize: 3 * 4096, flags: KVM_MEM_LOG_DIRTY_PAGES }))
    expect(slot?.dirtyBitmap?.byteLength).toBe(8)
    add(table, region({ memorySize: 3 * 4096 }))
    expect(slot?.dirtyBitmap).toBeNull()
  })
})

test('property: lookups agree with a linear scan after random creates and deletes', () => {
  fc.assert(
    fc.property(
      fc.array(fc.record({ slot: fc.integer({ min: 0, max: 7 }), base: fc.integer({ min: 0, max: 63 }), pages: fc.integer({ min: 0, max: 8 }) }), {
        maxLength: 40,
      }),
      fc.array(fc.integer({ min: 0, max: 80 }), { maxLength: 20 }),
      (ops, probes) => {
        const table = new MemslotTable()
        const model = new Map<number, { base: number; pages: number }>()
        for (const op of ops) {
          const r = region({ slot: op.slot, guestPhysAddr: op.base * 4096, memorySize: op.pages * 4096, userspaceAddr: 0x1000_0000 + op.slot * 0x10_0000 })
          let plan
          try {
            plan = table.plan(r)
          } catch (error) {
            if (!(error instanceof ErrnoError)) throw error
            continue
          }
          table.commit(plan)
          if (op.pages === 0) model.delete(op.slot)
          else model.set(op.slot, { base: op.base, pages: op.pages })
        }
        const ranges = [...model.values()]
        for (let i = 0; i < ranges.length; i++) {
          for (let j = i + 1; j < ranges.length; j++) {
            const a = ranges[i] as { base: number; pages: number }
            const b = ranges[j] as { base: number; pages: number }
            expect(a.base < b.base + b.pages && b.base < a.base + a.pages).toBe(false)
          }
        }
        for (const gfn of probes) {
          const expected = [...model.entries()].find(([, s]) => gfn >= s.base && gfn < s.base + s.pages)?.[0]
          expect(table.findByGfn(gfn)?.id).toBe(expected)
        }
      },
    ),
  )
})
