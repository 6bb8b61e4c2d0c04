// Issue 9: save a running MTE guest through this API only (registers, memory, tags),
// restore it into a fresh VM in the same process, and continue. Tags travel through
// KVM_ARM_MTE_COPY_TAGS; a VMM that reads them through a mapping without PROT_MTE gets zeros.
import { describe, expect, test } from 'vitest'
import { readFileSync } from 'node:fs'
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
  KVM_REG_ARM_PTIMER_CNT,
  KVM_REG_ARM_TIMER_CNT,
} from './index.js'
import { CHECKSUM_GUEST as GUEST, GUESTS, bootMachine, loadElf, runGuest } from './test-support.js'

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
  for (const [id, value] of snapshot.registers) {
    // The counters are live: restored, they go on from the saved value (never backwards).
    if (id === KVM_REG_ARM_TIMER_CNT || id === KVM_REG_ARM_PTIMER_CNT) expect(restored.vcpu.getOneReg(id) >= value).toBe(true)
    else expect(restored.vcpu.getOneReg(id)).toBe(value)
  }
  expect(snapshot.registers.has(KVM_REG_ARM_TIMER_CNT)).toBe(true)
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

describe('a tagging guest (mte-demo) saved mid-run and restored', () => {
  const RAM_SIZE = 16 * 1024 * 1024
  const QEMU_SCTLR = 0xc50838n

  function saveRestoreRun(tagsVia: 'ioctl' | 'mapping'): string {
    const kvm = Kvm.open({ hostMemory: 128 * 1024 * 1024, hostMteLevel: 3 })
    const first = bootMachine(kvm, { ramSize: RAM_SIZE, mte: true, sctlr: QEMU_SCTLR })
    first.vcpu.setOneReg(REG_PC, BigInt(loadElf(kvm, first.ram, 'mte-demo')))
    const uart = { text: '' }
    // Stop it once it has tagged its heap (a, b, c allocated), before it uses the tags.
    expect(runGuest(first.vcpu, uart, { stopWhen: (text) => text.endsWith('1. Use after free\n') })).toBe('stopped')
    const registers = new Map<bigint, bigint>()
    for (const id of first.vcpu.getRegList()) registers.set(id, first.vcpu.getOneReg(id))
    const memory = new Uint8Array(RAM_SIZE)
    kvm.process.userRead(first.ram, memory)
    const tags = new Uint8Array((RAM_SIZE / PAGE_SIZE) * 256)
    if (tagsVia === 'ioctl') first.vmFd.mteCopyTags({ guestIpa: ga(RAM), length: RAM_SIZE, addr: tags, flags: KVM_ARM_TAGS_FROM_GUEST })
    else kvm.process.userReadTags(first.ram, RAM_SIZE, tags)
    first.vmFd.vm.destroy()

    const second = bootMachine(kvm, { ramSize: RAM_SIZE, mte: true })
    kvm.process.userWrite(second.ram, memory)
    second.vmFd.mteCopyTags({ guestIpa: ga(RAM), length: RAM_SIZE, addr: tags, flags: KVM_ARM_TAGS_TO_GUEST })
    for (const [id, value] of registers) second.vcpu.setOneReg(id, value)
    // A guest whose tags are gone may fault for ever: bound the run by output and time.
    const limit = readFileSync(`${GUESTS}mte-demo/qemu.out`, 'utf8').length + 2000
    runGuest(second.vcpu, uart, { budget: 5_000_000, stopOnIntr: true, stopWhen: (text) => text.length > limit })
    return uart.text
  }

  test('tags through KVM_ARM_MTE_COPY_TAGS: the guest carries on as if never stopped (QEMU’s output)', () => {
    expect(saveRestoreRun('ioctl')).toBe(readFileSync(`${GUESTS}mte-demo/qemu.out`, 'utf8'))
  })

  test('tags read through the VMM’s mapping without PROT_MTE: the restored guest finds its tags gone', () => {
    const text = saveRestoreRun('mapping')
    expect(text).not.toBe(readFileSync(`${GUESTS}mte-demo/qemu.out`, 'utf8'))
    // Correct code now faults: writing "secret" through a (tag c) finds its memory at tag 0.
    expect(text).toContain('tag check fault on a write of 0x0c00000040210000\n       the pointer carries tag c, the memory there has tag 0')
  })
})
