// Issue 21 (6): device memory a VMM maps with VM_PFNMAP (a BAR) and gives the guest as a
// memslot. KVM maps it at stage 2 as Device memory; the guest's accesses complete on the
// device memory itself (no MMIO exit), and the VMM sees them through its own mapping.
import { expect, test } from 'vitest'
import { MAP_SHARED, PAGE_SIZE, PROT_READ, PROT_WRITE } from '@tagvm/tag-memory'
import { KVM_ARM_TARGET_GENERIC_V8, KVM_ARM_VCPU_PSCI_0_2 } from './vcpu.js'
import { REG_PC, xRegId } from './one-reg.js'
import { KVM_SYSTEM_EVENT_SHUTDOWN } from './psci.js'
import { S2_MEMATTR_DEVICE_NGNRE } from './stage2-attributes.js'
import { GUEST_RAM, MiB, anonRam, asm, makeHost } from './test-support.js'

const BAR_IPA = 0x5000_0000

test('a guest load and store to a device (VM_PFNMAP) memslot complete on the device memory', () => {
  const host = makeHost()
  const ram = anonRam(host.mm, MiB)
  host.mm.userWrite(ram, asm`str x1, [x2, #8]; ldr x3, [x2, #16]; add x4, x2, #0x1000; strb w1, [x4, #0xfff]; movz x0, #0x8400, lsl #16; movk x0, #8; hvc #0`)
  host.vm.setUserMemoryRegion({ slot: 0, flags: 0, guestPhysAddr: GUEST_RAM, memorySize: MiB, userspaceAddr: ram })
  const bar = host.kernel.createDeviceRegion('bar0', host.memory.frameCount + 16, 4)
  const barHva = host.mm.mmap({ length: 4 * PAGE_SIZE, prot: PROT_READ | PROT_WRITE, flags: MAP_SHARED, file: bar })
  // The device's register at offset 16, as its (VMM-side) model leaves it.
  host.mm.userWrite(barHva + 16, Uint8Array.of(0x88, 0x77, 0x66, 0x55, 0x44, 0x33, 0x22, 0x11))
  host.vm.setUserMemoryRegion({ slot: 1, flags: 0, guestPhysAddr: BAR_IPA, memorySize: 4 * PAGE_SIZE, userspaceAddr: barHva })
  const vcpu = host.vm.createVcpu(0)
  vcpu.init({ target: KVM_ARM_TARGET_GENERIC_V8, features: 1 << KVM_ARM_VCPU_PSCI_0_2 })
  vcpu.setOneReg(REG_PC, BigInt(GUEST_RAM))
  vcpu.setOneReg(xRegId(1), 0xfedc_ba98_7654_3210n)
  vcpu.setOneReg(xRegId(2), BigInt(BAR_IPA))
  expect(vcpu.run()).toEqual({ kind: 'system-event', type: KVM_SYSTEM_EVENT_SHUTDOWN, flags: 0n })
  expect(vcpu.getOneReg(xRegId(3))).toBe(0x1122_3344_5566_7788n)
  const seen = new Uint8Array(8)
  host.mm.userRead(barHva + 8, seen)
  expect([...seen]).toEqual([0x10, 0x32, 0x54, 0x76, 0x98, 0xba, 0xdc, 0xfe])
  const second = new Uint8Array(1)
  host.mm.userRead(barHva + 0x1fff, second)
  expect(second[0]).toBe(0x10)
  expect(host.vm.stage2.query(BAR_IPA)?.attrs).toMatchObject({ memAttr: S2_MEMATTR_DEVICE_NGNRE, exec: false })
  expect(host.vm.stats.mmioExits).toBe(0)
})
