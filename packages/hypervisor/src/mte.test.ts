// One scenario per rule of kvm-mte.md §1, §2 and §4 that the hypervisor core decides.
import { describe, expect, test } from 'vitest'
import {
  ErrnoError,
  MAP_FIXED,
  MAP_PRIVATE,
  MAP_SHARED,
  PAGE_SIZE,
  PROT_MTE,
  PROT_READ,
  PROT_WRITE,
  TAG_STORAGE_BYTES_PER_PAGE,
} from '@tagvm/tag-memory'
import { GUEST_RAM, MiB, anonRam, dataAbort, hugeHost, makeHost, type TestHost } from './test-support.js'

function errno(fn: () => unknown): string {
  try {
    fn()
  } catch (error) {
    if (error instanceof ErrnoError) return error.code
    throw error
  }
  return 'no error'
}

function slot(host: TestHost, id: number, hva: number, size: number, guestPhysAddr = GUEST_RAM + id * 0x1000_0000): void {
  host.vm.setUserMemoryRegion({ slot: id, flags: 0, guestPhysAddr, memorySize: size, userspaceAddr: hva })
}

function frameAt(host: TestHost, ipa: number): number {
  const mapping = host.vm.stage2.query(ipa)
  if (!mapping) throw new Error(`IPA 0x${ipa.toString(16)} is not mapped`)
  return Math.floor((mapping.pa + (ipa - mapping.ipa)) / PAGE_SIZE)
}

/** Tags of one frame, one per granule. */
function tagsOf(host: TestHost, pfn: number): number[] {
  const out = new Uint8Array(PAGE_SIZE / 16)
  host.memory.copyTagsOut(pfn * PAGE_SIZE, PAGE_SIZE, out)
  return [...out]
}

/** Leaves stale tags (0xa) in the frame the next allocation hands out, as freed memory has. */
function leaveStaleTags(host: TestHost): number {
  const pfn = host.kernel.allocFrame()
  host.memory.setTags(pfn * PAGE_SIZE, PAGE_SIZE, 0xa)
  host.kernel.freeFrame(pfn)
  return pfn
}

describe('§1 KVM_CAP_ARM_MTE opt-in', () => {
  test('EINVAL when the host has no MTE', () => {
    const host = makeHost({ hostMteLevel: 0 })
    expect(host.hv.hostSupportsMte).toBe(false)
    expect(errno(() => host.vm.enableMte())).toBe('EINVAL')
    expect(host.vm.mteEnabled).toBe(false)
  })

  test('EINVAL once a vCPU exists; enabling twice before that succeeds', () => {
    const host = makeHost()
    host.vm.enableMte()
    host.vm.enableMte()
    host.vm.noteVcpuCreated()
    expect(errno(() => host.vm.enableMte())).toBe('EINVAL')
    const other = host.hv.createVm({ mm: host.mm })
    other.noteVcpuCreated()
    expect(errno(() => other.enableMte())).toBe('EINVAL')
    expect(other.mteEnabled).toBe(false)
  })
})

describe('§1 memslot validation with MTE (VM_MTE_ALLOWED)', () => {
  test('anonymous private and shared memory and memfd are accepted', () => {
    const host = makeHost()
    host.vm.enableMte()
    slot(host, 0, anonRam(host.mm, MiB), MiB)
    slot(host, 1, anonRam(host.mm, MiB, 0, MAP_SHARED), MiB)
    const memfd = host.kernel.memfdCreate('guest-ram', MiB)
    slot(host, 2, host.mm.mmap({ length: MiB, prot: PROT_READ | PROT_WRITE, flags: MAP_SHARED, file: memfd }), MiB)
    expect(host.vm.memslots.slots.length).toBe(3)
  })

  test('file-backed (private or shared) and pfn-mapped device memory are refused with EINVAL', () => {
    const host = makeHost()
    host.vm.enableMte()
    const file = host.kernel.createFile('disk.img', new Uint8Array(MiB))
    const priv = host.mm.mmap({ length: MiB, prot: PROT_READ | PROT_WRITE, flags: MAP_PRIVATE, file })
    const shared = host.mm.mmap({ length: MiB, prot: PROT_READ | PROT_WRITE, flags: MAP_SHARED, file })
    const bar = host.kernel.createDeviceRegion('bar', host.memory.frameCount, 16)
    const device = host.mm.mmap({ length: 16 * PAGE_SIZE, prot: PROT_READ | PROT_WRITE, flags: MAP_SHARED, file: bar })
    expect(errno(() => slot(host, 0, priv, MiB))).toBe('EINVAL')
    expect(errno(() => slot(host, 0, shared, MiB))).toBe('EINVAL')
    expect(errno(() => slot(host, 0, device, 16 * PAGE_SIZE))).toBe('EINVAL')
    expect(host.vm.memslots.slots.length).toBe(0)
  })

  test('without MTE the same file and device slots are fine', () => {
    const host = makeHost()
    const file = host.kernel.createFile('disk.img', new Uint8Array(MiB))
    slot(host, 0, host.mm.mmap({ length: MiB, prot: PROT_READ | PROT_WRITE, flags: MAP_PRIVATE, file }), MiB)
    expect(host.vm.memslots.slots.length).toBe(1)
  })

  test('every VMA in the range is checked; holes are skipped', () => {
    const host = makeHost()
    host.vm.enableMte()
    const base = anonRam(host.mm, 4 * PAGE_SIZE)
    host.mm.munmap(base + PAGE_SIZE, PAGE_SIZE) // a hole
    slot(host, 0, base, 4 * PAGE_SIZE)
    const file = host.kernel.createFile('f', new Uint8Array(PAGE_SIZE))
    const mixed = anonRam(host.mm, 4 * PAGE_SIZE)
    host.mm.mmap({ addr: mixed + 2 * PAGE_SIZE, length: PAGE_SIZE, prot: PROT_READ, flags: MAP_PRIVATE | MAP_FIXED, file })
    expect(errno(() => slot(host, 1, mixed, 4 * PAGE_SIZE))).toBe('EINVAL')
  })

  test('moving or re-flagging a slot re-validates it (CREATE, MOVE and FLAGS_ONLY)', () => {
    const host = makeHost()
    const file = host.kernel.createFile('f', new Uint8Array(MiB))
    const hva = host.mm.mmap({ length: MiB, prot: PROT_READ | PROT_WRITE, flags: MAP_PRIVATE, file })
    slot(host, 0, hva, MiB)
    host.vm.enableMte()
    expect(errno(() => host.vm.setUserMemoryRegion({ slot: 0, flags: 0, guestPhysAddr: 0x9000_0000, memorySize: MiB, userspaceAddr: hva }))).toBe('EINVAL')
    expect(errno(() => host.vm.setUserMemoryRegion({ slot: 0, flags: 1, guestPhysAddr: GUEST_RAM, memorySize: MiB, userspaceAddr: hva }))).toBe('EINVAL')
    expect(host.vm.memslots.get(0)?.guestPhysAddr).toBe(GUEST_RAM)
    // Deleting is always possible.
    host.vm.setUserMemoryRegion({ slot: 0, flags: 0, guestPhysAddr: GUEST_RAM, memorySize: 0, userspaceAddr: hva })
    expect(host.vm.memslots.slots.length).toBe(0)
  })
})

describe('§2 stage-2 faults of an MTE VM', () => {
  test('the first map of a never-tagged frame cleans its stale tags and marks it tagged, once', () => {
    const host = makeHost()
    host.vm.enableMte()
    const stale = leaveStaleTags(host)
    const hva = anonRam(host.mm, PAGE_SIZE) // no PROT_MTE: the VMM never asked for tags
    slot(host, 0, hva, PAGE_SIZE)
    host.vm.handleGuestAbort(dataAbort(GUEST_RAM, { write: true }))
    const pfn = frameAt(host, GUEST_RAM)
    expect(pfn).toBe(stale)
    expect(host.memory.isTagged(pfn)).toBe(true)
    expect(tagsOf(host, pfn).every((t) => t === 0)).toBe(true)
    expect(host.vm.stats.tagPagesCleaned).toBe(1)
    // The guest tags the granules; an unmap and re-fault (a permission fault, or the
    // translation fault after an invalidation) never cleans again.
    host.memory.setTags(pfn * PAGE_SIZE, 64, 0x5)
    host.vm.unmapStage2(GUEST_RAM, PAGE_SIZE)
    host.vm.handleGuestAbort(dataAbort(GUEST_RAM))
    expect(frameAt(host, GUEST_RAM)).toBe(pfn)
    expect(tagsOf(host, pfn).slice(0, 5)).toEqual([5, 5, 5, 5, 0])
    expect(host.vm.stats.tagPagesCleaned).toBe(1)
  })

  test('without MTE the same fault leaves the frame untouched (stale tags, not tagged)', () => {
    const host = makeHost()
    const stale = leaveStaleTags(host)
    slot(host, 0, anonRam(host.mm, PAGE_SIZE), PAGE_SIZE)
    host.vm.handleGuestAbort(dataAbort(GUEST_RAM, { write: true }))
    expect(frameAt(host, GUEST_RAM)).toBe(stale)
    expect(host.memory.isTagged(stale)).toBe(false)
    expect(tagsOf(host, stale)[0]).toBe(0xa)
  })

  test('pages the VMM already tagged through PROT_MTE keep their tags (no re-sanitising)', () => {
    const host = makeHost()
    host.vm.enableMte()
    const hva = anonRam(host.mm, PAGE_SIZE, PROT_MTE)
    host.mm.userWriteTags(hva, Uint8Array.of(1, 2, 3))
    slot(host, 0, hva, PAGE_SIZE)
    host.vm.handleGuestAbort(dataAbort(GUEST_RAM))
    expect(tagsOf(host, frameAt(host, GUEST_RAM)).slice(0, 4)).toEqual([1, 2, 3, 0])
    expect(host.vm.stats.tagPagesCleaned).toBe(0)
  })

  test('a VMA that cannot hold tags, mapped over a slot after validation, fails KVM_RUN with EFAULT', () => {
    const host = makeHost()
    host.vm.enableMte()
    const hva = anonRam(host.mm, 4 * PAGE_SIZE)
    slot(host, 0, hva, 4 * PAGE_SIZE)
    host.vm.handleGuestAbort(dataAbort(GUEST_RAM + PAGE_SIZE))
    const file = host.kernel.createFile('late', new Uint8Array(PAGE_SIZE))
    host.mm.mmap({ addr: hva + PAGE_SIZE, length: PAGE_SIZE, prot: PROT_READ | PROT_WRITE, flags: MAP_SHARED | MAP_FIXED, file })
    // The MMU notifier dropped the old mapping; the re-fault finds a VMA without VM_MTE_ALLOWED.
    expect(host.vm.stage2.query(GUEST_RAM + PAGE_SIZE)).toBeUndefined()
    expect(errno(() => host.vm.handleGuestAbort(dataAbort(GUEST_RAM + PAGE_SIZE)))).toBe('EFAULT')
    expect(host.vm.handleGuestAbort(dataAbort(GUEST_RAM))).toEqual({ kind: 'resume' })
  })

  test('a 2 MiB block is sanitised page by page: all 512 frames cleaned and tagged', () => {
    const { vm, memory, mm, hva } = hugeHost(0, true)
    vm.handleGuestAbort(dataAbort(GUEST_RAM + 0x4_5000, { write: true }))
    expect(vm.stage2.query(GUEST_RAM)?.size).toBe(2 * MiB)
    expect(vm.stats.tagPagesCleaned).toBe(512)
    const head = mm.residentFrame(hva) as number
    for (let pfn = head; pfn < head + 512; pfn++) expect(memory.isTagged(pfn)).toBe(true)
  })
})

describe('§4 tags survive host swap and migration under a running guest', () => {
  test('a guest-tagged page swapped out and faulted back in has its tags; never re-cleaned', () => {
    const host = makeHost()
    host.vm.enableMte()
    const hva = anonRam(host.mm, 8 * PAGE_SIZE)
    slot(host, 0, hva, 8 * PAGE_SIZE)
    const want: number[][] = []
    for (let page = 0; page < 8; page++) {
      host.vm.handleGuestAbort(dataAbort(GUEST_RAM + page * PAGE_SIZE, { write: true }))
      const pfn = frameAt(host, GUEST_RAM + page * PAGE_SIZE)
      const tags = Array.from({ length: 256 }, (_, g) => (g * 7 + page) & 0xf)
      host.memory.copyTagsIn(pfn * PAGE_SIZE, PAGE_SIZE, Uint8Array.from(tags))
      want.push(tags)
    }
    for (let page = 0; page < 8; page++) host.mm.swapOut(hva + page * PAGE_SIZE)
    expect(host.kernel.stats.swapOuts).toBe(8)
    for (let page = 0; page < 8; page++) {
      expect(host.vm.stage2.query(GUEST_RAM + page * PAGE_SIZE)).toBeUndefined()
      host.vm.handleGuestAbort(dataAbort(GUEST_RAM + page * PAGE_SIZE))
      expect(tagsOf(host, frameAt(host, GUEST_RAM + page * PAGE_SIZE))).toEqual(want[page])
    }
    expect(host.kernel.stats.tagRestores).toBe(8)
    expect(host.vm.stats.tagPagesCleaned).toBe(8)
  })

  test('a migrated page keeps its tags at its new frame', () => {
    const host = makeHost()
    host.vm.enableMte()
    const hva = anonRam(host.mm, PAGE_SIZE)
    slot(host, 0, hva, PAGE_SIZE)
    host.vm.handleGuestAbort(dataAbort(GUEST_RAM, { write: true }))
    const before = frameAt(host, GUEST_RAM)
    host.memory.setTags(before * PAGE_SIZE, PAGE_SIZE, 0xc)
    const after = host.mm.migrate(hva)
    host.vm.handleGuestAbort(dataAbort(GUEST_RAM))
    expect(frameAt(host, GUEST_RAM)).toBe(after)
    expect(after).not.toBe(before)
    expect(tagsOf(host, after).every((t) => t === 0xc)).toBe(true)
    expect(host.vm.stats.tagPagesCleaned).toBe(1)
  })

  test('shared memfd RAM: tags the guest wrote are seen by a VMM mapping the memfd with PROT_MTE', () => {
    const host = makeHost()
    host.vm.enableMte()
    const memfd = host.kernel.memfdCreate('ram', PAGE_SIZE)
    const guestView = host.mm.mmap({ length: PAGE_SIZE, prot: PROT_READ | PROT_WRITE, flags: MAP_SHARED, file: memfd })
    slot(host, 0, guestView, PAGE_SIZE)
    host.vm.handleGuestAbort(dataAbort(GUEST_RAM, { write: true }))
    host.memory.setTag(frameAt(host, GUEST_RAM) * PAGE_SIZE + 32, 9)
    const vmmView = host.mm.mmap({ length: PAGE_SIZE, prot: PROT_READ | PROT_WRITE | PROT_MTE, flags: MAP_SHARED, file: memfd })
    const seen = new Uint8Array(4)
    host.mm.userReadTags(vmmView, 64, seen)
    expect([...seen]).toEqual([0, 0, 9, 0])
  })
})

describe('study policies', () => {
  test('"transparent-upgrade" (the 2020 RFC) accepts a file slot, tags its page cache, and loses the tags on writeback', () => {
    const host = makeHost({ mtePolicy: 'transparent-upgrade' })
    host.vm.enableMte()
    const file = host.kernel.createFile('disk.img', new Uint8Array(PAGE_SIZE))
    const hva = host.mm.mmap({ length: PAGE_SIZE, prot: PROT_READ | PROT_WRITE, flags: MAP_SHARED, file })
    slot(host, 0, hva, PAGE_SIZE)
    host.vm.handleGuestAbort(dataAbort(GUEST_RAM, { write: true }))
    const pfn = frameAt(host, GUEST_RAM)
    expect(host.memory.isTagged(pfn)).toBe(true)
    host.memory.setTags(pfn * PAGE_SIZE, PAGE_SIZE, 0x3)
    // The host evicts the page-cache page: data goes back to the file, tags nowhere.
    host.kernel.swapOutFrame(pfn)
    host.vm.handleGuestAbort(dataAbort(GUEST_RAM))
    expect(tagsOf(host, frameAt(host, GUEST_RAM)).every((t) => t === 0)).toBe(true)
    expect(host.vm.stats.tagPagesCleaned).toBe(2)
  })

  test('"require-prot-mte" refuses RAM the VMM did not map with PROT_MTE', () => {
    const host = makeHost({ mtePolicy: 'require-prot-mte' })
    host.vm.enableMte()
    expect(errno(() => slot(host, 0, anonRam(host.mm, PAGE_SIZE), PAGE_SIZE))).toBe('EINVAL')
    slot(host, 0, anonRam(host.mm, PAGE_SIZE, PROT_MTE), PAGE_SIZE)
    host.vm.handleGuestAbort(dataAbort(GUEST_RAM, { write: true }))
    // The host tagged the page when the VMM's mapping faulted it in; KVM cleaned nothing.
    expect(host.vm.stats.tagPagesCleaned).toBe(0)
    expect(host.memory.isTagged(frameAt(host, GUEST_RAM))).toBe(true)
  })
})

test('tag storage stays proportional to tagged frames (1/16 of each)', () => {
  const host = makeHost()
  host.vm.enableMte()
  slot(host, 0, anonRam(host.mm, 64 * PAGE_SIZE), 64 * PAGE_SIZE)
  for (let page = 0; page < 64; page += 8) host.vm.handleGuestAbort(dataAbort(GUEST_RAM + page * PAGE_SIZE, { write: true }))
  expect(host.memory.framesWithTagStorage).toBe(8)
  expect(TAG_STORAGE_BYTES_PER_PAGE).toBe(PAGE_SIZE / 16)
})

test('destroying a VM returns its stage-2 table pages to the host', () => {
  const host = makeHost()
  const before = host.kernel.freeFrames
  const vm = host.hv.createVm({ mm: host.mm })
  const hva = anonRam(host.mm, 8 * PAGE_SIZE)
  vm.setUserMemoryRegion({ slot: 0, flags: 0, guestPhysAddr: GUEST_RAM, memorySize: 8 * PAGE_SIZE, userspaceAddr: hva })
  for (let page = 0; page < 8; page++) vm.handleGuestAbort(dataAbort(GUEST_RAM + page * PAGE_SIZE, { write: true }))
  host.mm.munmap(hva, 8 * PAGE_SIZE)
  vm.destroy()
  expect(host.kernel.freeFrames).toBe(before)
  expect(errno(() => vm.enableMte())).toBe('EBADF')
})
