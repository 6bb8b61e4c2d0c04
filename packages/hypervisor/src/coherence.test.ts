// Property: whatever the guest touches and the host does (swap, migration, dirty-log
// toggling), stage 2 never maps a stale frame, write permission follows the rules, every
// frame an MTE guest can reach holds valid tags, and the guest's tags survive.
import { expect, test } from 'vitest'
import fc from 'fast-check'
import { GRANULES_PER_PAGE, PAGE_SIZE } from '@tagvm/tag-memory'
import { mteCopyTags } from './copy-tags.js'
import { KVM_MEM_LOG_DIRTY_PAGES } from './memslots.js'
import { GUEST_RAM, anonRam, makeHost, touch } from './test-support.js'

const PAGES = 8

type Op =
  | { kind: 'read' | 'write'; page: number }
  | { kind: 'tag'; page: number; tag: number }
  | { kind: 'swap' | 'migrate'; page: number }
  | { kind: 'log'; on: boolean }
  | { kind: 'get-log' }

const op: fc.Arbitrary<Op> = fc.oneof(
  fc.record({ kind: fc.constantFrom('read' as const, 'write' as const), page: fc.nat(PAGES - 1) }),
  fc.record({ kind: fc.constant('tag' as const), page: fc.nat(PAGES - 1), tag: fc.integer({ min: 1, max: 15 }) }),
  fc.record({ kind: fc.constantFrom('swap' as const, 'migrate' as const), page: fc.nat(PAGES - 1) }),
  fc.record({ kind: fc.constant('log' as const), on: fc.boolean() }),
  fc.record({ kind: fc.constant('get-log' as const) }),
)

test('stage 2 stays coherent with the host and tags survive, for any sequence of guest and host events', () => {
  fc.assert(
    fc.property(fc.array(op, { minLength: 1, maxLength: 40 }), (ops) => {
      const host = makeHost({ memory: 8 * 1024 * 1024 })
      const { vm, mm, memory, kernel } = host
      vm.enableMte()
      const hva = anonRam(mm, PAGES * PAGE_SIZE)
      let flags = 0
      const region = () => ({ slot: 0, flags, guestPhysAddr: GUEST_RAM, memorySize: PAGES * PAGE_SIZE, userspaceAddr: hva })
      vm.setUserMemoryRegion(region())
      const expectedTags = new Map<number, number>()
      const writtenSinceLog = new Set<number>()

      for (const step of ops) {
        const ipa = (page: number) => GUEST_RAM + page * PAGE_SIZE
        switch (step.kind) {
          case 'read':
            touch(vm, ipa(step.page))
            break
          case 'write':
            touch(vm, ipa(step.page), true)
            writtenSinceLog.add(step.page)
            break
          case 'tag': {
            // STG is a write: fault the page in writable, then set the first granule's tag.
            touch(vm, ipa(step.page), true)
            writtenSinceLog.add(step.page)
            const mapping = vm.stage2.query(ipa(step.page))
            memory.setTag(mapping!.pa, step.tag)
            expectedTags.set(step.page, step.tag)
            break
          }
          case 'swap':
          case 'migrate': {
            const frame = mm.residentFrame(hva + step.page * PAGE_SIZE)
            if (frame === null || frame === kernel.zeroPfn) break
            if (step.kind === 'swap') mm.swapOut(hva + step.page * PAGE_SIZE)
            else mm.migrate(hva + step.page * PAGE_SIZE)
            break
          }
          case 'log':
            flags = step.on ? KVM_MEM_LOG_DIRTY_PAGES : 0
            vm.setUserMemoryRegion(region())
            writtenSinceLog.clear()
            break
          case 'get-log':
            if (flags) {
              const log = vm.getDirtyLog(0)
              for (let page = 0; page < PAGES; page++) {
                const dirty = ((log[page >>> 3] as number) >>> (page & 7)) & 1
                // Every page written since the last read of the log is reported.
                if (writtenSinceLog.has(page)) expect(dirty).toBe(1)
              }
              writtenSinceLog.clear()
            }
            break
        }

        // Invariants after every step.
        for (let page = 0; page < PAGES; page++) {
          const mapping = vm.stage2.query(GUEST_RAM + page * PAGE_SIZE)
          if (!mapping) continue
          const mapped = mapping.pa / PAGE_SIZE
          expect(mapped).toBe(mm.residentFrame(hva + page * PAGE_SIZE))
          if (mapped !== kernel.zeroPfn) expect(memory.isTagged(mapped)).toBe(true)
          else expect(mapping.attrs.write).toBe(false)
          if (mapping.attrs.write && flags) expect(vm.memslots.get(0)!.isDirty(GUEST_RAM / PAGE_SIZE + page)).toBe(true)
        }
      }

      const tags = new Uint8Array(PAGES * GRANULES_PER_PAGE)
      const user = {
        copyToUser: (offset: number, src: Uint8Array) => (tags.set(src, offset), src.length),
        copyFromUser: () => 0,
      }
      mteCopyTags(vm, { guestIpa: GUEST_RAM, length: PAGES * PAGE_SIZE, flags: 1 }, user)
      for (const [page, tag] of expectedTags) expect(tags[page * GRANULES_PER_PAGE]).toBe(tag)
    }),
    { numRuns: 60 },
  )
})
