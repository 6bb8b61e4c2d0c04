import { describe, expect, test } from 'vitest'
import { ErrnoError, MAP_ANONYMOUS, MAP_PRIVATE, MAP_SHARED, PAGE_SIZE, PROT_MTE, PROT_READ, PROT_WRITE } from '@tagvm/tag-memory'
import { KVM_MEM_LOG_DIRTY_PAGES, KVM_MEM_READONLY } from './memslots.js'
import { S2_MEMATTR_DEVICE_NGNRE, S2_MEMATTR_NORMAL_WB } from './vm.js'
import {
  FSC_ACCESS_FLAG_L3,
  FSC_PERMISSION_L3,
  GUEST_RAM,
  MiB,
  anonRam,
  dataAbort,
  instructionAbort,
  hugeHost,
  makeHost,
  touch,
  type TestHost,
} from './test-support.js'

function errno(fn: () => unknown): string {
  try {
    fn()
  } catch (error) {
    if (error instanceof ErrnoError) return error.code
    throw error
  }
  return 'no error'
}

/** A host with one anonymous slot of `size` at GUEST_RAM. */
function withRam(size = 4 * MiB, options: Parameters<typeof makeHost>[0] & { prot?: number; shared?: boolean; mte?: boolean; flags?: number } = {}) {
  const host = makeHost(options)
  if (options.mte) host.vm.enableMte()
  const hva = anonRam(host.mm, size, options.prot ?? 0, options.shared ? MAP_SHARED : MAP_PRIVATE)
  host.vm.setUserMemoryRegion({ slot: 0, flags: options.flags ?? 0, guestPhysAddr: GUEST_RAM, memorySize: size, userspaceAddr: hva })
  return { ...host, hva }
}

function frameAt(host: TestHost, ipa: number): number {
  const mapping = host.vm.stage2.query(ipa)
  if (!mapping) throw new Error(`IPA 0x${ipa.toString(16)} is not mapped`)
  return Math.floor((mapping.pa + (ipa - mapping.ipa)) / PAGE_SIZE)
}

describe('classification', () => {
  test('an unsupported fault status (alignment) fails KVM_RUN with EFAULT', () => {
    const { vm } = withRam()
    expect(errno(() => vm.handleGuestAbort(dataAbort(GUEST_RAM, { fsc: 0x21 })))).toBe('EFAULT')
  })

  test('an IPA beyond the VM IPA size is an abort injected into the guest; beyond the host limit a size fault', () => {
    const { vm } = withRam(4 * MiB, { ipaBits: 36 })
    expect(vm.handleGuestAbort(dataAbort(2 ** 36 + 0x1000))).toEqual({ kind: 'inject-dabt' })
    expect(vm.handleGuestAbort(instructionAbort(2 ** 36))).toEqual({ kind: 'inject-pabt' })
    expect(vm.handleGuestAbort(dataAbort(2 ** 44))).toEqual({ kind: 'inject-size-fault' })
  })

  test('a synchronous external abort becomes a virtual SError', () => {
    const { vm } = withRam()
    expect(vm.handleGuestAbort(dataAbort(GUEST_RAM, { fsc: 0x10 }))).toEqual({ kind: 'inject-serror' })
  })

  test('a read permission fault is unexpected: EFAULT', () => {
    const host = withRam()
    host.vm.handleGuestAbort(dataAbort(GUEST_RAM))
    expect(errno(() => host.vm.handleGuestAbort(dataAbort(GUEST_RAM, { fsc: FSC_PERMISSION_L3 })))).toBe('EFAULT')
  })

  test('an access flag fault sets AF and resumes', () => {
    const host = withRam()
    host.vm.handleGuestAbort(dataAbort(GUEST_RAM))
    expect(host.vm.handleGuestAbort(dataAbort(GUEST_RAM, { fsc: FSC_ACCESS_FLAG_L3 }))).toEqual({ kind: 'resume' })
    expect(host.vm.stage2.query(GUEST_RAM)?.attrs.accessFlag).toBe(true)
  })
})

describe('outside every memslot', () => {
  test('a data abort with a valid syndrome is an MMIO exit with the full IPA', () => {
    const { vm } = withRam()
    const outcome = vm.handleGuestAbort(dataAbort(0x0900_0018, { write: true, size: 4, srt: 3 }))
    expect(outcome).toEqual({ kind: 'mmio', ipa: 0x0900_0018, size: 4, write: true, srt: 3, signExtend: false, sixtyFour: false })
    expect(vm.stats.mmioExits).toBe(1)
  })

  test('without ISV KVM_RUN fails with ENOSYS, or exits KVM_EXIT_ARM_NISV when the VMM asked for it', () => {
    const { vm } = withRam()
    expect(errno(() => vm.handleGuestAbort(dataAbort(0x0900_0000, { isv: false, write: true })))).toBe('ENOSYS')
    vm.nisvToUser = true
    expect(vm.handleGuestAbort(dataAbort(0x0900_0004, { isv: false, write: true }))).toEqual({
      kind: 'arm-nisv',
      esrIss: 0x47, // WnR | FSC 0x07
      faultIpa: 0x0900_0004,
    })
  })

  test('an instruction fetch is a prefetch abort injected into the guest', () => {
    const { vm } = withRam()
    expect(vm.handleGuestAbort(instructionAbort(0x0800_0000))).toEqual({ kind: 'inject-pabt' })
  })

  test('a stage-1 table walk there is a data abort injected into the guest', () => {
    const { vm } = withRam()
    expect(vm.handleGuestAbort(dataAbort(0x0800_0000, { s1ptw: true, isv: false }))).toEqual({ kind: 'inject-dabt' })
  })

  test('cache maintenance there is skipped', () => {
    const { vm } = withRam()
    expect(vm.handleGuestAbort(dataAbort(0x0800_0000, { cm: true, isv: false, write: true }))).toEqual({ kind: 'skip-instruction' })
  })

  test('a write to a read-only memslot is MMIO; a read maps the page read-only', () => {
    const { vm } = withRam(4 * MiB, { flags: KVM_MEM_READONLY })
    expect(vm.handleGuestAbort(dataAbort(GUEST_RAM + 8, { write: true, size: 8, srt: 2 }))).toMatchObject({ kind: 'mmio', ipa: GUEST_RAM + 8, write: true })
    expect(vm.handleGuestAbort(dataAbort(GUEST_RAM))).toEqual({ kind: 'resume' })
    expect(vm.stage2.query(GUEST_RAM)?.attrs.write).toBe(false)
  })
})

describe('mapping guest RAM', () => {
  test('a read of untouched anonymous memory maps the shared zero page read-only; the write then maps a private page', () => {
    const host = withRam(4 * MiB, { mte: true })
    host.vm.handleGuestAbort(dataAbort(GUEST_RAM))
    const zero = frameAt(host, GUEST_RAM)
    expect(host.vm.stage2.query(GUEST_RAM)?.attrs.write).toBe(false)
    // The zero page is never tagged, so the MTE fault path must not clean or tag it.
    expect(host.memory.isTagged(zero)).toBe(false)
    expect(host.vm.stats.tagPagesCleaned).toBe(0)
    // The write: a permission fault; the COW break replaces the frame, and the handler maps
    // the new page (cleaning its tags once).
    let outcome = host.vm.handleGuestAbort(dataAbort(GUEST_RAM, { write: true, fsc: FSC_PERMISSION_L3 }))
    if (!host.vm.stage2.query(GUEST_RAM)) outcome = host.vm.handleGuestAbort(dataAbort(GUEST_RAM, { write: true }))
    expect(outcome).toEqual({ kind: 'resume' })
    const page = frameAt(host, GUEST_RAM)
    expect(page).not.toBe(zero)
    expect(host.vm.stage2.query(GUEST_RAM)?.attrs.write).toBe(true)
    expect(host.memory.isTagged(page)).toBe(true)
    expect(host.memory.isTagged(zero)).toBe(false)
  })

  test('a write fault maps the faulted-in frame Normal WB, writable for anonymous private memory', () => {
    const host = withRam()
    expect(host.vm.handleGuestAbort(dataAbort(GUEST_RAM + 0x3000, { write: true }))).toEqual({ kind: 'resume' })
    const mapping = host.vm.stage2.query(GUEST_RAM + 0x3000)
    expect(mapping).toMatchObject({ ipa: GUEST_RAM + 0x3000, size: PAGE_SIZE })
    expect(mapping?.attrs).toMatchObject({ read: true, write: true, exec: true, memAttr: S2_MEMATTR_NORMAL_WB })
    expect(frameAt(host, GUEST_RAM + 0x3000)).toBe(host.mm.residentFrame(host.hva + 0x3000))
  })

  test('a read of a private file page maps the page cache read-only; the write breaks COW onto a new frame', () => {
    const host = makeHost()
    const file = host.kernel.createFile('image', new Uint8Array(2 * PAGE_SIZE).fill(7))
    const hva = host.mm.mmap({ length: 2 * PAGE_SIZE, prot: PROT_READ | PROT_WRITE, flags: MAP_PRIVATE, file })
    host.vm.setUserMemoryRegion({ slot: 0, flags: 0, guestPhysAddr: GUEST_RAM, memorySize: 2 * PAGE_SIZE, userspaceAddr: hva })
    host.vm.handleGuestAbort(dataAbort(GUEST_RAM))
    const cacheFrame = frameAt(host, GUEST_RAM)
    expect(host.vm.stage2.query(GUEST_RAM)?.attrs.write).toBe(false)
    expect(host.vm.handleGuestAbort(dataAbort(GUEST_RAM, { write: true, fsc: FSC_PERMISSION_L3 }))).toEqual({ kind: 'resume' })
    // The COW break invalidated the old stage-2 entry (MMU notifier) while the page was being
    // faulted in, so the handler asked for a retry; the retried access maps the copy.
    expect(host.vm.stage2.query(GUEST_RAM)).toBeUndefined()
    touch(host.vm, GUEST_RAM, true)
    const copy = frameAt(host, GUEST_RAM)
    expect(copy).not.toBe(cacheFrame)
    expect(host.vm.stage2.query(GUEST_RAM)?.attrs.write).toBe(true)
    expect(host.memory.read8(copy * PAGE_SIZE)).toBe(7)
  })

  test('a write to a read-only host mapping fails KVM_RUN with EFAULT', () => {
    const host = makeHost()
    const hva = host.mm.mmap({ length: PAGE_SIZE, prot: PROT_READ, flags: MAP_PRIVATE | MAP_ANONYMOUS })
    host.vm.setUserMemoryRegion({ slot: 0, flags: 0, guestPhysAddr: GUEST_RAM, memorySize: PAGE_SIZE, userspaceAddr: hva })
    expect(errno(() => host.vm.handleGuestAbort(dataAbort(GUEST_RAM, { write: true })))).toBe('EFAULT')
  })

  test('a slot over a hole in the host address space fails with EFAULT at fault time', () => {
    const host = makeHost()
    const hva = anonRam(host.mm, 2 * PAGE_SIZE)
    host.mm.munmap(hva + PAGE_SIZE, PAGE_SIZE)
    host.vm.setUserMemoryRegion({ slot: 0, flags: 0, guestPhysAddr: GUEST_RAM, memorySize: 2 * PAGE_SIZE, userspaceAddr: hva })
    expect(host.vm.handleGuestAbort(dataAbort(GUEST_RAM))).toEqual({ kind: 'resume' })
    expect(errno(() => host.vm.handleGuestAbort(dataAbort(GUEST_RAM + PAGE_SIZE)))).toBe('EFAULT')
  })

  test('device memory (VM_PFNMAP) is mapped Device at stage 2, not executable, never sanitised', () => {
    const host = makeHost()
    const bar = host.kernel.createDeviceRegion('bar0', host.memory.frameCount + 16, 4)
    const hva = host.mm.mmap({ length: 4 * PAGE_SIZE, prot: PROT_READ | PROT_WRITE, flags: MAP_SHARED, file: bar })
    host.vm.setUserMemoryRegion({ slot: 1, flags: 0, guestPhysAddr: 0x1000_0000, memorySize: 4 * PAGE_SIZE, userspaceAddr: hva })
    host.vm.handleGuestAbort(dataAbort(0x1000_1000, { write: true }))
    const mapping = host.vm.stage2.query(0x1000_1000)
    expect(mapping?.pa).toBe((host.memory.frameCount + 17) * PAGE_SIZE)
    expect(mapping?.attrs).toMatchObject({ memAttr: S2_MEMATTR_DEVICE_NGNRE, exec: false, write: true })
    expect(host.vm.stats.tagPagesCleaned).toBe(0)
    expect(host.vm.handleGuestAbort(instructionAbort(0x1000_2000))).toEqual({ kind: 'inject-pabt' })
  })
})

describe('host invalidations (MMU notifiers)', () => {
  test('munmap, swap-out and migration drop the stage-2 entries of the pages they touch', () => {
    const host = withRam(16 * PAGE_SIZE)
    for (let i = 0; i < 4; i++) host.vm.handleGuestAbort(dataAbort(GUEST_RAM + i * PAGE_SIZE, { write: true }))
    let flushes = 0
    host.vm.attachTlb({ flushVmid: (vmid) => void (vmid === host.vm.vmid && flushes++) })
    host.mm.swapOut(host.hva)
    expect(host.vm.stage2.query(GUEST_RAM)).toBeUndefined()
    expect(host.vm.stage2.query(GUEST_RAM + PAGE_SIZE)).toBeDefined()
    host.mm.migrate(host.hva + PAGE_SIZE)
    expect(host.vm.stage2.query(GUEST_RAM + PAGE_SIZE)).toBeUndefined()
    host.mm.munmap(host.hva + 2 * PAGE_SIZE, PAGE_SIZE)
    expect(host.vm.stage2.query(GUEST_RAM + 2 * PAGE_SIZE)).toBeUndefined()
    expect(host.vm.stage2.query(GUEST_RAM + 3 * PAGE_SIZE)).toBeDefined()
    expect(flushes).toBe(3)
    // The migrated page faults back in at its new frame.
    host.vm.handleGuestAbort(dataAbort(GUEST_RAM + PAGE_SIZE))
    expect(frameAt(host, GUEST_RAM + PAGE_SIZE)).toBe(host.mm.residentFrame(host.hva + PAGE_SIZE))
  })
})

describe('dirty logging', () => {
  test('read faults map read-only, writes are logged, GET_DIRTY_LOG reports, clears and re-protects', () => {
    const host = withRam(128 * PAGE_SIZE, { flags: KVM_MEM_LOG_DIRTY_PAGES })
    const { vm } = host
    // A written page read while logging maps read-only; its next write is logged.
    touch(vm, GUEST_RAM + 5 * PAGE_SIZE, true)
    vm.getDirtyLog(0)
    vm.handleGuestAbort(dataAbort(GUEST_RAM + 5 * PAGE_SIZE))
    expect(vm.stage2.query(GUEST_RAM + 5 * PAGE_SIZE)?.attrs.write).toBe(false)
    touch(vm, GUEST_RAM + 5 * PAGE_SIZE, true)
    touch(vm, GUEST_RAM + 70 * PAGE_SIZE, true)
    expect(vm.stage2.query(GUEST_RAM + 5 * PAGE_SIZE)?.attrs.write).toBe(true)
    const log = vm.getDirtyLog(0)
    expect(log.length).toBe(16)
    expect([...log].map((b, i) => (b ? `${i}:${b}` : '')).filter(Boolean)).toEqual(['0:32', '8:64'])
    expect(vm.getDirtyLog(0).every((b) => b === 0)).toBe(true)
    expect(vm.stage2.query(GUEST_RAM + 5 * PAGE_SIZE)?.attrs.write).toBe(false)
    vm.handleGuestAbort(dataAbort(GUEST_RAM + 5 * PAGE_SIZE, { write: true, fsc: FSC_PERMISSION_L3 }))
    expect(vm.getDirtyLog(0)[0]).toBe(32)
  })

  test('enabling logging on a live slot write-protects what is mapped', () => {
    const host = withRam(16 * PAGE_SIZE)
    host.vm.handleGuestAbort(dataAbort(GUEST_RAM, { write: true }))
    expect(host.vm.stage2.query(GUEST_RAM)?.attrs.write).toBe(true)
    host.vm.setUserMemoryRegion({ slot: 0, flags: KVM_MEM_LOG_DIRTY_PAGES, guestPhysAddr: GUEST_RAM, memorySize: 16 * PAGE_SIZE, userspaceAddr: host.hva })
    expect(host.vm.stage2.query(GUEST_RAM)?.attrs.write).toBe(false)
  })

  test('GET_DIRTY_LOG: EINVAL for a bad slot id, ENOENT for a slot without logging', () => {
    const { vm } = withRam()
    expect(errno(() => vm.getDirtyLog(1 << 16))).toBe('EINVAL')
    expect(errno(() => vm.getDirtyLog(0))).toBe('ENOENT')
    expect(errno(() => vm.getDirtyLog(3))).toBe('ENOENT')
  })

  test('manual protect: GET leaves the log, CLEAR_DIRTY_LOG clears chosen bits and checks alignment', () => {
    const host = makeHost()
    host.vm.enableManualDirtyLogProtect(1)
    const hva = anonRam(host.mm, 130 * PAGE_SIZE)
    host.vm.setUserMemoryRegion({ slot: 0, flags: KVM_MEM_LOG_DIRTY_PAGES, guestPhysAddr: GUEST_RAM, memorySize: 130 * PAGE_SIZE, userspaceAddr: hva })
    const { vm } = host
    for (const page of [1, 2, 129]) vm.handleGuestAbort(dataAbort(GUEST_RAM + page * PAGE_SIZE, { write: true }))
    expect(vm.getDirtyLog(0)[0]).toBe(6)
    expect(vm.getDirtyLog(0)[0]).toBe(6)
    expect(errno(() => vm.clearDirtyLog(0, 1, 64, new Uint8Array(8)))).toBe('EINVAL')
    expect(errno(() => vm.clearDirtyLog(0, 0, 65, new Uint8Array(16)))).toBe('EINVAL')
    expect(errno(() => vm.clearDirtyLog(0, 128, 3, new Uint8Array(8)))).toBe('EINVAL')
    vm.clearDirtyLog(0, 0, 64, Uint8Array.of(2, 0, 0, 0, 0, 0, 0, 0))
    expect(vm.getDirtyLog(0)[0]).toBe(4)
    expect(vm.stage2.query(GUEST_RAM + PAGE_SIZE)?.attrs.write).toBe(false)
    expect(vm.stage2.query(GUEST_RAM + 2 * PAGE_SIZE)?.attrs.write).toBe(true)
    vm.clearDirtyLog(0, 128, 2, Uint8Array.of(2, 0, 0, 0, 0, 0, 0, 0))
    expect(vm.getDirtyLog(0)[16]).toBe(0)
  })

  test('dirty logging on a VM_PFNMAP region is refused with EINVAL', () => {
    const host = makeHost()
    const bar = host.kernel.createDeviceRegion('bar0', host.memory.frameCount, 4)
    const hva = host.mm.mmap({ length: 4 * PAGE_SIZE, prot: PROT_READ | PROT_WRITE, flags: MAP_SHARED, file: bar })
    expect(
      errno(() => host.vm.setUserMemoryRegion({ slot: 0, flags: KVM_MEM_LOG_DIRTY_PAGES, guestPhysAddr: GUEST_RAM, memorySize: 4 * PAGE_SIZE, userspaceAddr: hva })),
    ).toBe('EINVAL')
    expect(host.vm.memslots.slots.length).toBe(0)
  })
})

describe('memslot arch checks', () => {
  test('a slot ending above the IPA space is EFAULT (kvm_arch_prepare_memory_region)', () => {
    const host = makeHost({ ipaBits: 32 })
    const hva = anonRam(host.mm, 2 * PAGE_SIZE)
    expect(errno(() => host.vm.setUserMemoryRegion({ slot: 0, flags: 0, guestPhysAddr: 2 ** 32 - PAGE_SIZE, memorySize: 2 * PAGE_SIZE, userspaceAddr: hva }))).toBe('EFAULT')
    host.vm.setUserMemoryRegion({ slot: 0, flags: 0, guestPhysAddr: 2 ** 32 - 2 * PAGE_SIZE, memorySize: 2 * PAGE_SIZE, userspaceAddr: hva })
  })

  test('deleting and moving a slot unmaps its old stage-2 range', () => {
    const host = withRam(4 * PAGE_SIZE)
    host.vm.handleGuestAbort(dataAbort(GUEST_RAM))
    host.vm.setUserMemoryRegion({ slot: 0, flags: 0, guestPhysAddr: 0x8000_0000, memorySize: 4 * PAGE_SIZE, userspaceAddr: host.hva })
    expect(host.vm.stage2.query(GUEST_RAM)).toBeUndefined()
    host.vm.handleGuestAbort(dataAbort(0x8000_0000))
    host.vm.setUserMemoryRegion({ slot: 0, flags: 0, guestPhysAddr: 0x8000_0000, memorySize: 0, userspaceAddr: host.hva })
    expect(host.vm.stage2.query(0x8000_0000)).toBeUndefined()
    expect(host.vm.handleGuestAbort(dataAbort(0x8000_0000))).toMatchObject({ kind: 'mmio' })
  })
})

describe('2 MiB blocks (host transparent huge pages)', () => {
  test('a write fault in a huge host page maps a 2 MiB block when the slot is aligned alike', () => {
    const { vm, mm, hva, kernel } = hugeHost()
    vm.handleGuestAbort(dataAbort(GUEST_RAM + 0x12_3000, { write: true }))
    expect(kernel.stats.thpAllocs).toBe(1)
    const head = mm.residentFrame(hva) as number
    expect(head % 512).toBe(0)
    expect(vm.stage2.query(GUEST_RAM + 0x12_3000)).toMatchObject({ ipa: GUEST_RAM, size: 2 * MiB, pa: head * PAGE_SIZE })
    expect(vm.stats.blocksMapped).toBe(1)
    expect(mm.residentFrame(hva + 0x12_3000)).toBe(head + 0x123)
  })

  test('a slot whose IPA and HVA differ modulo 2 MiB gets pages only', () => {
    const { vm, kernel } = hugeHost(PAGE_SIZE)
    vm.handleGuestAbort(dataAbort(GUEST_RAM + PAGE_SIZE + 0x1000, { write: true }))
    expect(kernel.stats.thpAllocs).toBe(1)
    expect(vm.stage2.query(GUEST_RAM + PAGE_SIZE + 0x1000)?.size).toBe(PAGE_SIZE)
  })

  test('the host splitting the huge page (swap-out of one page) drops the block; re-faults map pages', () => {
    const { vm, mm, hva } = hugeHost()
    vm.handleGuestAbort(dataAbort(GUEST_RAM, { write: true }))
    expect(vm.stage2.query(GUEST_RAM + 0x7000)?.size).toBe(2 * MiB)
    mm.swapOut(hva + 0x7000)
    expect(vm.stage2.query(GUEST_RAM)).toBeUndefined()
    touch(vm, GUEST_RAM, true)
    expect(vm.stage2.query(GUEST_RAM)?.size).toBe(PAGE_SIZE)
    touch(vm, GUEST_RAM + 0x7000, true)
    expect(frameAt({ vm } as TestHost, GUEST_RAM + 0x7000)).toBe(mm.residentFrame(hva + 0x7000))
  })

  test('dirty logging splits a block into pages on the first write', () => {
    const { vm, hva } = hugeHost()
    vm.handleGuestAbort(dataAbort(GUEST_RAM, { write: true }))
    vm.setUserMemoryRegion({ slot: 0, flags: KVM_MEM_LOG_DIRTY_PAGES, guestPhysAddr: GUEST_RAM, memorySize: 4 * MiB, userspaceAddr: hva })
    vm.getDirtyLog(0)
    expect(vm.stage2.query(GUEST_RAM)).toMatchObject({ size: 2 * MiB, attrs: { write: false } })
    vm.handleGuestAbort(dataAbort(GUEST_RAM + 0x5000, { write: true, fsc: 0x0e }))
    expect(vm.stage2.query(GUEST_RAM + 0x5000)).toMatchObject({ size: PAGE_SIZE, attrs: { write: true } })
    expect(vm.getDirtyLog(0)[0]).toBe(32)
  })
})

test('a VM created with PROT_MTE-less memory stays usable after a late EFAULT', () => {
  const host = makeHost()
  const file = host.kernel.createFile('disk', new Uint8Array(PAGE_SIZE))
  const fileHva = host.mm.mmap({ length: PAGE_SIZE, prot: PROT_READ | PROT_WRITE, flags: MAP_SHARED, file })
  const ramHva = anonRam(host.mm, PAGE_SIZE, PROT_MTE)
  host.vm.setUserMemoryRegion({ slot: 0, flags: 0, guestPhysAddr: GUEST_RAM, memorySize: PAGE_SIZE, userspaceAddr: ramHva })
  host.vm.setUserMemoryRegion({ slot: 1, flags: 0, guestPhysAddr: 0x5000_0000, memorySize: PAGE_SIZE, userspaceAddr: fileHva })
  host.vm.enableMte() // after the slots: they are not re-validated
  expect(errno(() => host.vm.handleGuestAbort(dataAbort(0x5000_0000)))).toBe('EFAULT')
  expect(host.vm.stage2.query(0x5000_0000)).toBeUndefined()
  expect(host.vm.handleGuestAbort(dataAbort(GUEST_RAM))).toEqual({ kind: 'resume' })
})
