// KVM_ARM_MTE_COPY_TAGS, kvm-mte.md §1: the up-front errors, both directions, the buffer
// layout, the partial-copy return value, and tags kept or lost depending on how they travel.
import { describe, expect, test } from 'vitest'
import {
  KVM_ARM_TAGS_FROM_GUEST,
  KVM_ARM_TAGS_TO_GUEST,
  KVM_CAP_ARM_MTE,
  Kvm,
  KvmError,
  MAP_ANONYMOUS,
  MAP_PRIVATE,
  MAP_SHARED,
  PAGE_SIZE,
  PROT_MTE,
  PROT_READ,
  PROT_WRITE,
  ga,
} from './index.js'

const RAM = 0x4000_0000

function code(fn: () => unknown): string {
  try {
    fn()
  } catch (error) {
    if (error instanceof KvmError) return `${error.ioctl} ${error.code}`
    throw error
  }
  return 'no error'
}

function setup(pages = 4, prot = PROT_READ | PROT_WRITE) {
  const kvm = Kvm.open({ hostMemory: 64 * 1024 * 1024 })
  const vmFd = kvm.createVm({ ipaBits: 40 })
  vmFd.enableCap(KVM_CAP_ARM_MTE)
  const ram = kvm.mmap({ length: pages * PAGE_SIZE, prot, flags: MAP_PRIVATE | MAP_ANONYMOUS })
  vmFd.setUserMemoryRegion({ slot: 0, flags: 0, guestPhysAddr: ga(RAM), memorySize: pages * PAGE_SIZE, userspaceAddr: ram })
  return { kvm, vmFd, ram }
}

describe('up-front errors', () => {
  test('EINVAL without MTE, with reserved bits, unknown flags, or unaligned ipa/length', () => {
    const kvm = Kvm.open({ hostMemory: 16 * 1024 * 1024 })
    const noMte = kvm.createVm()
    const buf = new Uint8Array(256)
    expect(code(() => noMte.mteCopyTags({ guestIpa: RAM, length: PAGE_SIZE, addr: buf, flags: 0 }))).toBe('KVM_ARM_MTE_COPY_TAGS EINVAL')
    const { vmFd } = setup()
    expect(code(() => vmFd.mteCopyTags({ guestIpa: RAM, length: PAGE_SIZE, addr: buf, flags: 0, reserved: [0, 1] }))).toBe('KVM_ARM_MTE_COPY_TAGS EINVAL')
    expect(code(() => vmFd.mteCopyTags({ guestIpa: RAM, length: PAGE_SIZE, addr: buf, flags: 2 }))).toBe('KVM_ARM_MTE_COPY_TAGS EINVAL')
    expect(code(() => vmFd.mteCopyTags({ guestIpa: RAM + 16, length: PAGE_SIZE, addr: buf, flags: 0 }))).toBe('KVM_ARM_MTE_COPY_TAGS EINVAL')
    expect(code(() => vmFd.mteCopyTags({ guestIpa: RAM, length: 256, addr: buf, flags: 0 }))).toBe('KVM_ARM_MTE_COPY_TAGS EINVAL')
  })

  test('EINVAL for a length above INT_MAX (Linux 6.3+), before any tag moves; the return is always an int', () => {
    const { vmFd } = setup(4)
    const buf = new Uint8Array(4 * 256).fill(9)
    expect(code(() => vmFd.mteCopyTags({ guestIpa: RAM, length: 2 ** 31, addr: buf, flags: KVM_ARM_TAGS_TO_GUEST }))).toBe('KVM_ARM_MTE_COPY_TAGS EINVAL')
    const out = new Uint8Array(4 * 256).fill(0xee)
    expect(vmFd.mteCopyTags({ guestIpa: RAM, length: 4 * PAGE_SIZE, addr: out, flags: KVM_ARM_TAGS_FROM_GUEST })).toBe(4 * PAGE_SIZE)
    expect(out.every((t) => t === 0)).toBe(true)
  })

  test('EFAULT when the first page has no memslot, and errors carry the errno number', () => {
    const { vmFd } = setup()
    try {
      vmFd.mteCopyTags({ guestIpa: 0x8000_0000, length: PAGE_SIZE, addr: new Uint8Array(256), flags: KVM_ARM_TAGS_FROM_GUEST })
      expect.unreachable()
    } catch (error) {
      expect(error).toBeInstanceOf(KvmError)
      expect((error as KvmError).errno).toBe(14)
    }
  })
})

describe('copying', () => {
  test('TO_GUEST then FROM_GUEST round-trips one tag per byte, low nibble only, 256 bytes a page', () => {
    const { vmFd } = setup(4)
    const tags = Uint8Array.from({ length: 4 * 256 }, (_, i) => (i * 5) & 0xff)
    expect(vmFd.mteCopyTags({ guestIpa: ga(RAM), length: 4 * PAGE_SIZE, addr: tags, flags: KVM_ARM_TAGS_TO_GUEST })).toBe(4 * PAGE_SIZE)
    const out = new Uint8Array(4 * 256)
    expect(vmFd.mteCopyTags({ guestIpa: ga(RAM), length: 4 * PAGE_SIZE, addr: out, flags: KVM_ARM_TAGS_FROM_GUEST })).toBe(4 * PAGE_SIZE)
    expect([...out]).toEqual([...tags].map((b) => b & 0xf))
  })

  test('FROM_GUEST of a page that never held tags gives zeros (stale hardware tags stay hidden)', () => {
    const { kvm, vmFd } = setup(1)
    const frame = kvm.kernel.allocFrame()
    kvm.kernel.memory.setTags(frame * PAGE_SIZE, PAGE_SIZE, 0x7)
    kvm.kernel.freeFrame(frame)
    const out = new Uint8Array(256).fill(0xee)
    vmFd.mteCopyTags({ guestIpa: RAM, length: PAGE_SIZE, addr: out, flags: KVM_ARM_TAGS_FROM_GUEST })
    expect(out.every((b) => b === 0)).toBe(true)
  })

  test('a later page failing returns the guest bytes done, not tag bytes', () => {
    const { vmFd } = setup(2)
    const out = new Uint8Array(3 * 256)
    expect(vmFd.mteCopyTags({ guestIpa: RAM, length: 3 * PAGE_SIZE, addr: out, flags: KVM_ARM_TAGS_FROM_GUEST })).toBe(2 * PAGE_SIZE)
    // A buffer too short for the second page: the first is done, then EFAULT → 4096.
    expect(vmFd.mteCopyTags({ guestIpa: RAM, length: 2 * PAGE_SIZE, addr: new Uint8Array(300), flags: KVM_ARM_TAGS_TO_GUEST })).toBe(PAGE_SIZE)
  })

  test('a short buffer on TO_GUEST leaves the page with zero tags, not stale ones, and fails with EFAULT', () => {
    const { vmFd } = setup(1)
    vmFd.mteCopyTags({ guestIpa: RAM, length: PAGE_SIZE, addr: new Uint8Array(256).fill(9), flags: KVM_ARM_TAGS_TO_GUEST })
    expect(code(() => vmFd.mteCopyTags({ guestIpa: RAM, length: PAGE_SIZE, addr: new Uint8Array(10).fill(3), flags: KVM_ARM_TAGS_TO_GUEST }))).toBe(
      'KVM_ARM_MTE_COPY_TAGS EFAULT',
    )
    const out = new Uint8Array(256)
    vmFd.mteCopyTags({ guestIpa: RAM, length: PAGE_SIZE, addr: out, flags: KVM_ARM_TAGS_FROM_GUEST })
    expect(out.every((b) => b === 0)).toBe(true)
  })

  test('the buffer may be a VMM address: tags land in its bytes; an unmapped one is EFAULT', () => {
    const { kvm, vmFd } = setup(1)
    vmFd.mteCopyTags({ guestIpa: RAM, length: PAGE_SIZE, addr: Uint8Array.from({ length: 256 }, (_, i) => i & 0xf), flags: KVM_ARM_TAGS_TO_GUEST })
    const buf = kvm.mmap({ length: PAGE_SIZE, prot: PROT_READ | PROT_WRITE, flags: MAP_PRIVATE | MAP_ANONYMOUS })
    vmFd.mteCopyTags({ guestIpa: RAM, length: PAGE_SIZE, addr: buf, flags: KVM_ARM_TAGS_FROM_GUEST })
    const seen = new Uint8Array(256)
    kvm.process.userRead(buf, seen)
    expect(seen[17]).toBe(1)
    kvm.munmap(buf, PAGE_SIZE)
    expect(code(() => vmFd.mteCopyTags({ guestIpa: RAM, length: PAGE_SIZE, addr: buf, flags: KVM_ARM_TAGS_FROM_GUEST }))).toBe('KVM_ARM_MTE_COPY_TAGS EFAULT')
  })

  test('device memory is refused with EFAULT', () => {
    const kvm = Kvm.open({ hostMemory: 16 * 1024 * 1024 })
    const vmFd = kvm.createVm()
    const bar = kvm.kernel.createDeviceRegion('bar', kvm.kernel.memory.frameCount, 1)
    const hva = kvm.mmap({ length: PAGE_SIZE, prot: PROT_READ | PROT_WRITE, flags: MAP_SHARED, file: bar })
    vmFd.setUserMemoryRegion({ slot: 0, flags: 0, guestPhysAddr: RAM, memorySize: PAGE_SIZE, userspaceAddr: hva })
    vmFd.enableCap(KVM_CAP_ARM_MTE) // after the slot: allowed, and the slot is not re-checked
    expect(code(() => vmFd.mteCopyTags({ guestIpa: RAM, length: PAGE_SIZE, addr: new Uint8Array(256), flags: KVM_ARM_TAGS_FROM_GUEST }))).toBe(
      'KVM_ARM_MTE_COPY_TAGS EFAULT',
    )
  })
})

describe('tags through the ioctl versus through a mapping (issue 9)', () => {
  test('a VMM mapping without PROT_MTE reads every tag as zero and drops tag writes; COPY_TAGS loses nothing', () => {
    const { kvm, vmFd, ram } = setup(1)
    const guestTags = Uint8Array.from({ length: 256 }, (_, i) => (i % 15) + 1)
    vmFd.mteCopyTags({ guestIpa: RAM, length: PAGE_SIZE, addr: guestTags, flags: KVM_ARM_TAGS_TO_GUEST })
    const throughMapping = new Uint8Array(256)
    kvm.process.userReadTags(ram, PAGE_SIZE, throughMapping)
    expect(throughMapping.every((t) => t === 0)).toBe(true)
    kvm.process.userWriteTags(ram, new Uint8Array(256).fill(4))
    const throughIoctl = new Uint8Array(256)
    vmFd.mteCopyTags({ guestIpa: RAM, length: PAGE_SIZE, addr: throughIoctl, flags: KVM_ARM_TAGS_FROM_GUEST })
    expect([...throughIoctl]).toEqual([...guestTags])
  })

  test('with PROT_MTE the VMM mapping sees the same tags as the ioctl', () => {
    const { kvm, vmFd, ram } = setup(1, PROT_READ | PROT_WRITE | PROT_MTE)
    vmFd.mteCopyTags({ guestIpa: RAM, length: PAGE_SIZE, addr: new Uint8Array(256).fill(6), flags: KVM_ARM_TAGS_TO_GUEST })
    const seen = new Uint8Array(256)
    kvm.process.userReadTags(ram, PAGE_SIZE, seen)
    expect(seen.every((t) => t === 6)).toBe(true)
  })
})
