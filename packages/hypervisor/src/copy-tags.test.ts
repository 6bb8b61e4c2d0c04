// KVM_ARM_MTE_COPY_TAGS edges at the hypervisor: the INT_MAX limit on `length` (Linux 6.3,
// "KVM: arm64: Limit length in kvm_vm_ioctl_mte_copy_tags() to INT_MAX").
import { GRANULES_PER_PAGE, MAP_SHARED, PAGE_SIZE, PROT_MTE, PROT_READ, PROT_WRITE } from '@tagvm/tag-memory'
import { describe, expect, test } from 'vitest'
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

describe('the bulk path: a memslot\'s run of pages per step', () => {
  /** Tags for `pages` pages: each granule's tag from its page and index. */
  const tagPattern = (pages: number, seed: number): Uint8Array => new Uint8Array(pages * GRANULES_PER_PAGE).map((_, i) => (i * 7 + seed + (i >>> 8)) & 15)
  const arrayBuffer = (bytes: Uint8Array): UserTagBuffer => ({
    copyToUser: (offset, tags) => {
      const n = Math.max(0, Math.min(tags.length, bytes.length - offset))
      bytes.set(tags.subarray(0, n), offset)
      return n
    },
    copyFromUser: (offset, tags) => {
      const n = Math.max(0, Math.min(tags.length, bytes.length - offset))
      tags.set(bytes.subarray(offset, offset + n))
      return n
    },
  })

  test('tags round-trip over two adjacent memslots and more pages than one step; high bits of each byte are dropped going in', () => {
    const host = makeHost()
    host.vm.enableMte()
    const first = 300
    const second = 50
    const a = anonRam(host.mm, first * PAGE_SIZE, PROT_MTE)
    const b = anonRam(host.mm, second * PAGE_SIZE)
    host.vm.setUserMemoryRegion({ slot: 0, flags: 0, guestPhysAddr: GUEST_RAM, memorySize: first * PAGE_SIZE, userspaceAddr: a })
    host.vm.setUserMemoryRegion({ slot: 1, flags: 0, guestPhysAddr: GUEST_RAM + first * PAGE_SIZE, memorySize: second * PAGE_SIZE, userspaceAddr: b })
    const pages = first + second
    const tags = tagPattern(pages, 3)
    const withHighBits = tags.map((t, i) => t | ((i & 15) << 4))
    expect(mteCopyTags(host.vm, { guestIpa: GUEST_RAM, length: pages * PAGE_SIZE, flags: KVM_ARM_TAGS_TO_GUEST }, arrayBuffer(withHighBits))).toBe(pages * PAGE_SIZE)
    const back = new Uint8Array(pages * GRANULES_PER_PAGE).fill(0xff)
    expect(mteCopyTags(host.vm, { guestIpa: GUEST_RAM, length: pages * PAGE_SIZE, flags: KVM_ARM_TAGS_FROM_GUEST }, arrayBuffer(back))).toBe(pages * PAGE_SIZE)
    expect(back).toEqual(tags)
    // Every frame behind the slots is tagged now, and its tags are those sent.
    const frame = host.mm.faultIn(b + 10 * PAGE_SIZE, { write: false }).pfn
    expect(host.memory.isTagged(frame)).toBe(true)
    expect(host.memory.getTag(frame * PAGE_SIZE + 16 * 5)).toBe(tags[(first + 10) * GRANULES_PER_PAGE + 5])
  })

  test('a range running past its memslot does the pages inside and returns their bytes; starting outside is EFAULT with nothing changed', () => {
    const host = makeHost()
    host.vm.enableMte()
    const hva = anonRam(host.mm, 8 * PAGE_SIZE, PROT_MTE)
    host.vm.setUserMemoryRegion({ slot: 0, flags: 0, guestPhysAddr: GUEST_RAM, memorySize: 8 * PAGE_SIZE, userspaceAddr: hva })
    const tags = tagPattern(12, 1)
    expect(mteCopyTags(host.vm, { guestIpa: GUEST_RAM + 4 * PAGE_SIZE, length: 8 * PAGE_SIZE, flags: KVM_ARM_TAGS_TO_GUEST }, arrayBuffer(tags))).toBe(4 * PAGE_SIZE)
    const back = new Uint8Array(8 * GRANULES_PER_PAGE)
    mteCopyTags(host.vm, { guestIpa: GUEST_RAM, length: 8 * PAGE_SIZE, flags: KVM_ARM_TAGS_FROM_GUEST }, arrayBuffer(back))
    expect(back.subarray(0, 4 * GRANULES_PER_PAGE).every((t) => t === 0)).toBe(true)
    expect(back.subarray(4 * GRANULES_PER_PAGE)).toEqual(tags.subarray(0, 4 * GRANULES_PER_PAGE))
    const untouched = recordingBuffer()
    expect(() => mteCopyTags(host.vm, { guestIpa: GUEST_RAM + 8 * PAGE_SIZE, length: PAGE_SIZE, flags: KVM_ARM_TAGS_TO_GUEST }, untouched)).toThrow(/EFAULT: no memslot holds IPA 0x40008000/)
    expect(untouched.calls).toBe(0)
    expect(() => mteCopyTags(host.vm, { guestIpa: GUEST_RAM + 8, length: PAGE_SIZE, flags: KVM_ARM_TAGS_TO_GUEST }, untouched)).toThrow(/EINVAL: guest_ipa and length must be page aligned/)
  })

  test('device frames (a pfnmap memslot made before MTE was enabled) stop the copy at their first page', () => {
    const host = makeHost()
    const ram = anonRam(host.mm, 4 * PAGE_SIZE)
    host.vm.setUserMemoryRegion({ slot: 0, flags: 0, guestPhysAddr: GUEST_RAM, memorySize: 4 * PAGE_SIZE, userspaceAddr: ram })
    const bar = host.kernel.createDeviceRegion('bar0', host.memory.frameCount + 16, 4)
    const barHva = host.mm.mmap({ length: 4 * PAGE_SIZE, prot: PROT_READ | PROT_WRITE, flags: MAP_SHARED, file: bar })
    host.vm.setUserMemoryRegion({ slot: 1, flags: 0, guestPhysAddr: GUEST_RAM + 4 * PAGE_SIZE, memorySize: 4 * PAGE_SIZE, userspaceAddr: barHva })
    host.vm.enableMte()
    const tags = tagPattern(8, 2)
    expect(mteCopyTags(host.vm, { guestIpa: GUEST_RAM, length: 8 * PAGE_SIZE, flags: KVM_ARM_TAGS_TO_GUEST }, arrayBuffer(tags))).toBe(4 * PAGE_SIZE)
    expect(() => mteCopyTags(host.vm, { guestIpa: GUEST_RAM + 4 * PAGE_SIZE, length: PAGE_SIZE, flags: KVM_ARM_TAGS_FROM_GUEST }, arrayBuffer(new Uint8Array(256)))).toThrow(/EFAULT: IPA 0x40004000 is device memory without tags/)
  })

  test('a user buffer that ends half-way: the pages it covered are done, the page it cut gets zero tags (valid), the rest is untouched', () => {
    const host = makeHost()
    host.vm.enableMte()
    const hva = anonRam(host.mm, 6 * PAGE_SIZE, PROT_MTE)
    host.vm.setUserMemoryRegion({ slot: 0, flags: 0, guestPhysAddr: GUEST_RAM, memorySize: 6 * PAGE_SIZE, userspaceAddr: hva })
    const full = tagPattern(6, 9).map((t) => t | 1)
    expect(mteCopyTags(host.vm, { guestIpa: GUEST_RAM, length: 6 * PAGE_SIZE, flags: KVM_ARM_TAGS_TO_GUEST }, arrayBuffer(full))).toBe(6 * PAGE_SIZE)
    const short = tagPattern(6, 4).subarray(0, 2 * GRANULES_PER_PAGE + 100)
    expect(mteCopyTags(host.vm, { guestIpa: GUEST_RAM, length: 6 * PAGE_SIZE, flags: KVM_ARM_TAGS_TO_GUEST }, arrayBuffer(short))).toBe(2 * PAGE_SIZE)
    const back = new Uint8Array(6 * GRANULES_PER_PAGE)
    mteCopyTags(host.vm, { guestIpa: GUEST_RAM, length: 6 * PAGE_SIZE, flags: KVM_ARM_TAGS_FROM_GUEST }, arrayBuffer(back))
    expect(back.subarray(0, 2 * GRANULES_PER_PAGE)).toEqual(short.subarray(0, 2 * GRANULES_PER_PAGE))
    expect(back.subarray(2 * GRANULES_PER_PAGE, 3 * GRANULES_PER_PAGE).every((t) => t === 0)).toBe(true)
    expect(back.subarray(3 * GRANULES_PER_PAGE)).toEqual(full.subarray(3 * GRANULES_PER_PAGE))
    // Reading out into a buffer that ends half-way: the whole pages it holds are counted.
    const shortOut = new Uint8Array(3 * GRANULES_PER_PAGE - 1)
    expect(mteCopyTags(host.vm, { guestIpa: GUEST_RAM, length: 6 * PAGE_SIZE, flags: KVM_ARM_TAGS_FROM_GUEST }, arrayBuffer(shortOut))).toBe(2 * PAGE_SIZE)
    expect(() => mteCopyTags(host.vm, { guestIpa: GUEST_RAM, length: PAGE_SIZE, flags: KVM_ARM_TAGS_FROM_GUEST }, arrayBuffer(new Uint8Array(0)))).toThrow(/EFAULT: the tag buffer could not take page 0x40000000/)
  })
})
