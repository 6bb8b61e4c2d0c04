// KVM_MEM_USERFAULT (as the KVM Userfault series proposes it): guest faults on pages marked in
// the memslot's userfault bitmap exit to the VMM and map nothing; once the VMM has filled the
// page and cleared its bit, the same access maps it. What post-copy migration builds on.
import { describe, expect, test } from 'vitest'
import { ErrnoError, PAGE_SIZE, PROT_MTE } from '@tagvm/tag-memory'
import { dataAbort, GUEST_RAM, MiB, anonRam, makeHost, touch } from './test-support.js'
import { KVM_ARM_TAGS_TO_GUEST, mteCopyTags } from './copy-tags.js'
import { KVM_MEM_LOG_DIRTY_PAGES, KVM_MEM_USERFAULT } from './memslots.js'

function host(): ReturnType<typeof makeHost> & { hva: number; bitmap: Uint8Array } {
  const h = makeHost()
  h.vm.enableMte()
  const hva = anonRam(h.mm, MiB, PROT_MTE)
  const bitmap = new Uint8Array(MiB / PAGE_SIZE / 8)
  return { ...h, hva, bitmap }
}

describe('KVM_MEM_USERFAULT', () => {
  test('a fault on a marked page exits without mapping; after the VMM clears the bit it maps with the tags the VMM put there', () => {
    const h = host()
    h.bitmap[0] = 0b10 // page 1 is missing
    h.vm.setUserMemoryRegion({ slot: 0, flags: KVM_MEM_USERFAULT, guestPhysAddr: GUEST_RAM, memorySize: MiB, userspaceAddr: h.hva, userfaultBitmap: h.bitmap })
    touch(h.vm, GUEST_RAM) // page 0 is not marked: mapped as usual
    const missing = GUEST_RAM + PAGE_SIZE
    expect(h.vm.handleGuestAbort(dataAbort(missing + 0x10, { write: true }))).toEqual({ kind: 'userfault', gpa: missing, write: true, exec: false })
    expect(h.vm.stage2.query(missing)).toBeUndefined()
    // The VMM fills the page (data through its mapping, tags through KVM_ARM_MTE_COPY_TAGS), then clears the bit.
    h.mm.userWrite(h.hva + PAGE_SIZE, new Uint8Array(PAGE_SIZE).fill(0x5a))
    mteCopyTags(h.vm, { guestIpa: missing, length: PAGE_SIZE, flags: KVM_ARM_TAGS_TO_GUEST }, { copyToUser: () => 0, copyFromUser: (_offset, tags) => (tags.fill(7), tags.length) })
    h.bitmap[0] = 0
    touch(h.vm, missing, true)
    const pa = h.vm.stage2.query(missing)!.pa
    expect(h.memory.getTag(pa + 0x40)).toBe(7) // not cleaned away on the first mapping
    expect(h.memory.read8(pa)).toBe(0x5a)
  })

  test('a userfault slot maps pages only (no block over missing pages); turning it on unmaps the slot; a bitmap is required', () => {
    const h = host()
    h.vm.setUserMemoryRegion({ slot: 0, flags: 0, guestPhysAddr: GUEST_RAM, memorySize: MiB, userspaceAddr: h.hva })
    touch(h.vm, GUEST_RAM)
    expect(h.vm.stage2.query(GUEST_RAM)).toBeDefined()
    const errno = (run: () => void): string | undefined => {
      try {
        run()
      } catch (error) {
        if (error instanceof ErrnoError) return error.code
        throw error
      }
      return undefined
    }
    expect(errno(() => h.vm.setUserMemoryRegion({ slot: 0, flags: KVM_MEM_USERFAULT, guestPhysAddr: GUEST_RAM, memorySize: MiB, userspaceAddr: h.hva }))).toBe('EINVAL')
    expect(errno(() => h.vm.setUserMemoryRegion({ slot: 0, flags: KVM_MEM_USERFAULT, guestPhysAddr: GUEST_RAM, memorySize: MiB, userspaceAddr: h.hva, userfaultBitmap: new Uint8Array(4) }))).toBe('EINVAL')
    h.bitmap[0] = 1
    h.vm.setUserMemoryRegion({ slot: 0, flags: KVM_MEM_USERFAULT | KVM_MEM_LOG_DIRTY_PAGES, guestPhysAddr: GUEST_RAM, memorySize: MiB, userspaceAddr: h.hva, userfaultBitmap: h.bitmap })
    expect(h.vm.stage2.query(GUEST_RAM)).toBeUndefined()
    expect(h.vm.handleGuestAbort(dataAbort(GUEST_RAM))).toMatchObject({ kind: 'userfault', gpa: GUEST_RAM })
    // Off again: every page faults in as usual.
    h.vm.setUserMemoryRegion({ slot: 0, flags: 0, guestPhysAddr: GUEST_RAM, memorySize: MiB, userspaceAddr: h.hva })
    touch(h.vm, GUEST_RAM)
  })
})
