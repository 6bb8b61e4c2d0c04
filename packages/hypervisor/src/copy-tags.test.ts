// KVM_ARM_MTE_COPY_TAGS edges at the hypervisor: the INT_MAX limit on `length` (Linux 6.3,
// "KVM: arm64: Limit length in kvm_vm_ioctl_mte_copy_tags() to INT_MAX").
import { GRANULES_PER_PAGE, PAGE_SIZE, PROT_MTE } from '@tagvm/tag-memory'
import { expect, test } from 'vitest'
import { KVM_ARM_TAGS_FROM_GUEST, KVM_ARM_TAGS_TO_GUEST, mteCopyTags, type UserTagBuffer } from './copy-tags.js'
import { GUEST_RAM, anonRam, makeHost } from './test-support.js'

const INT_MAX = 2 ** 31 - 1
const PAGES = 4

/**
 * A user buffer that records every copy it is asked for and the tag bytes in them, and gives
 * tag 5 to the guest.
 */
function recordingBuffer(): UserTagBuffer & { calls: number; bytes: number } {
  const buffer = {
    calls: 0,
    bytes: 0,
    copyToUser: (_offset: number, tags: Uint8Array) => (buffer.calls++, (buffer.bytes += tags.length), tags.length),
    copyFromUser: (_offset: number, tags: Uint8Array) => (buffer.calls++, (buffer.bytes += tags.length), tags.fill(5), tags.length),
  }
  return buffer
}

function vmWithRam() {
  const host = makeHost()
  host.vm.enableMte()
  const hva = anonRam(host.mm, PAGES * PAGE_SIZE, PROT_MTE)
  host.vm.setUserMemoryRegion({ slot: 0, flags: 0, guestPhysAddr: GUEST_RAM, memorySize: PAGES * PAGE_SIZE, userspaceAddr: hva })
  return host
}

test('a length above INT_MAX is EINVAL before any page is copied, in either direction', () => {
  const { vm } = vmWithRam()
  for (const flags of [KVM_ARM_TAGS_TO_GUEST, KVM_ARM_TAGS_FROM_GUEST]) {
    for (const length of [2 ** 31, 2 ** 32, 2 ** 40]) {
      const user = recordingBuffer()
      expect(() => mteCopyTags(vm, { guestIpa: GUEST_RAM, length, flags }, user)).toThrow(/EINVAL: length 0x[0-9a-f]+ is above INT_MAX/)
      expect(user.calls).toBe(0)
    }
  }
  // Nothing reached the guest: its tags read back as zero.
  const out = new Uint8Array(PAGES * GRANULES_PER_PAGE).fill(0xff)
  const reader: UserTagBuffer = { copyToUser: (offset, tags) => (out.set(tags, offset), tags.length), copyFromUser: () => 0 }
  expect(mteCopyTags(vm, { guestIpa: GUEST_RAM, length: PAGES * PAGE_SIZE, flags: KVM_ARM_TAGS_FROM_GUEST }, reader)).toBe(PAGES * PAGE_SIZE)
  expect(out.every((t) => t === 0)).toBe(true)
})

test('the largest page-aligned length at or below INT_MAX is taken: the pages that exist are done', () => {
  const { vm } = vmWithRam()
  const length = INT_MAX - (INT_MAX % PAGE_SIZE) // 2 GiB - 4 KiB
  const user = recordingBuffer()
  // Only PAGES pages have a memslot: the copy stops there and says how far it got.
  expect(mteCopyTags(vm, { guestIpa: GUEST_RAM, length, flags: KVM_ARM_TAGS_TO_GUEST }, user)).toBe(PAGES * PAGE_SIZE)
  // The tags of exactly those pages were asked for (in one copy: they share a memslot).
  expect(user.bytes).toBe(PAGES * GRANULES_PER_PAGE)
  expect(user.calls).toBe(1)
})
