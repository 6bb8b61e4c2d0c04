// Issue 9: save a running MTE guest through this API only (registers, memory, tags),
// restore it into a fresh VM in the same process, and continue. Tags travel through
// KVM_ARM_MTE_COPY_TAGS; a VMM that reads them through a mapping without PROT_MTE gets zeros.
import { expect, test } from 'vitest'
import {
  KVM_ARM_TAGS_FROM_GUEST,
  KVM_ARM_TAGS_TO_GUEST,
  KVM_ARM_VCPU_PSCI_0_2,
  KVM_CAP_ARM_MTE,
  Kvm,
  MAP_ANONYMOUS,
  MAP_PRIVATE,
  PAGE_SIZE,
  PROT_READ,
  PROT_WRITE,
  REG_PC,
  ga,
  xRegId,
  type VcpuFd,
  type VmFd,
} from './index.js'
import { CHECKSUM_GUEST as GUEST } from './test-support.js'

const RAM = 0x4000_0000
const SIZE = 2 * 1024 * 1024
const DATA = RAM + 1024 * 1024
const DATA_PAGES = 16


interface Machine {
  vmFd: VmFd
  vcpu: VcpuFd
  ram: number
}

function machine(kvm: Kvm): Machine {
  const vmFd = kvm.createVm({ ipaBits: 40 })
  vmFd.enableCap(KVM_CAP_ARM_MTE)
  // No PROT_MTE: the VMM never touches tags through its own mapping.
  const ram = kvm.mmap({ length: SIZE, prot: PROT_READ | PROT_WRITE, flags: MAP_PRIVATE | MAP_ANONYMOUS })
  vmFd.setUserMemoryRegion({ slot: 0, flags: 0, guestPhysAddr: ga(RAM), memorySize: SIZE, userspaceAddr: ram })
  const vcpu = vmFd.createVcpu(0)
  vcpu.init({ ...vmFd.armPreferredTarget(), features: [KVM_ARM_VCPU_PSCI_0_2] })
  return { vmFd, vcpu, ram }
}

interface Snapshot {
  registers: Map<bigint, bigint>
  memory: Uint8Array
  tags: Uint8Array
}

function save(kvm: Kvm, m: Machine, tagsVia: 'ioctl' | 'mapping'): Snapshot {
  const registers = new Map<bigint, bigint>()
  for (const id of m.vcpu.getRegList()) registers.set(id, m.vcpu.getOneReg(id))
  const memory = new Uint8Array(SIZE)
  kvm.process.userRead(m.ram, memory)
  const tags = new Uint8Array((SIZE / PAGE_SIZE) * 256)
  if (tagsVia === 'ioctl') m.vmFd.mteCopyTags({ guestIpa: ga(RAM), length: SIZE, addr: tags, flags: KVM_ARM_TAGS_FROM_GUEST })
  else kvm.process.userReadTags(m.ram, SIZE, tags) // the mistake: this mapping has no PROT_MTE
  return { registers, memory, tags }
}

function restore(kvm: Kvm, snapshot: Snapshot): Machine {
  const m = machine(kvm)
  kvm.process.userWrite(m.ram, snapshot.memory)
  m.vmFd.mteCopyTags({ guestIpa: ga(RAM), length: SIZE, addr: snapshot.tags, flags: KVM_ARM_TAGS_TO_GUEST })
  for (const [id, value] of snapshot.registers) m.vcpu.setOneReg(id, value)
  return m
}

function guestTags(m: Machine): number[] {
  const out = new Uint8Array(DATA_PAGES * 256)
  m.vmFd.mteCopyTags({ guestIpa: ga(DATA), length: DATA_PAGES * PAGE_SIZE, addr: out, flags: KVM_ARM_TAGS_FROM_GUEST })
  return [...out]
}

function runToOff(m: Machine): void {
  for (;;) {
    const exit = m.vcpu.run()
    if (exit.kind === 'system-event') return
    if (exit.kind !== 'intr') throw new Error(`unexpected exit ${exit.kind}`)
  }
}

function start(kvm: Kvm): { m: Machine; tags: number[] } {
  const m = machine(kvm)
  kvm.process.userWrite(m.ram, GUEST)
  m.vcpu.setOneReg(REG_PC, BigInt(RAM))
  // The guest's tags on its data pages (what STG would have left).
  const tags = Array.from({ length: DATA_PAGES * 256 }, (_, i) => (i * 11 + 3) & 0xf)
  m.vmFd.mteCopyTags({ guestIpa: ga(DATA), length: DATA_PAGES * PAGE_SIZE, addr: Uint8Array.from(tags), flags: KVM_ARM_TAGS_TO_GUEST })
  // Stop it half-way through its first loop.
  expect(m.vcpu.run(30_000)).toEqual({ kind: 'intr' })
  return { m, tags }
}

test('save through the API, restore into a fresh VM, continue: registers, memory and tags unchanged', () => {
  const kvm = Kvm.open({ hostMemory: 64 * 1024 * 1024 })
  const reference = machine(kvm)
  kvm.process.userWrite(reference.ram, GUEST)
  reference.vcpu.setOneReg(REG_PC, BigInt(RAM))
  runToOff(reference)

  const { m, tags } = start(kvm)
  const snapshot = save(kvm, m, 'ioctl')
  m.vmFd.vm.destroy()
  const restored = restore(kvm, snapshot)
  for (const [id, value] of snapshot.registers) expect(restored.vcpu.getOneReg(id)).toBe(value)
  expect(guestTags(restored)).toEqual(tags)
  runToOff(restored)
  expect(restored.vcpu.getOneReg(xRegId(5))).toBe(reference.vcpu.getOneReg(xRegId(5)))
  expect(restored.vcpu.getOneReg(xRegId(6))).toBe(reference.vcpu.getOneReg(xRegId(5)))
  expect(guestTags(restored)).toEqual(tags)
})

test('the same save reading tags through the VMM mapping without PROT_MTE loses every tag', () => {
  const kvm = Kvm.open({ hostMemory: 64 * 1024 * 1024 })
  const { m, tags } = start(kvm)
  const snapshot = save(kvm, m, 'mapping')
  expect(snapshot.tags.every((t) => t === 0)).toBe(true)
  const restored = restore(kvm, snapshot)
  expect(guestTags(restored).every((t) => t === 0)).toBe(true)
  expect(tags.some((t) => t !== 0)).toBe(true)
})
