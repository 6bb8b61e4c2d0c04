// The vCPU run loop with the real CPU: exits KVM resolves in the kernel (PSCI over HVC and
// SMC, ID-register and MTE-register traps, stage-2 faults) and the ones it hands to the VMM.
import { describe, expect, test } from 'vitest'
import { ErrnoError, MAP_FIXED, MAP_SHARED, PAGE_SIZE, PROT_READ, PROT_WRITE } from '@tagvm/tag-memory'
import {
  KVM_ARM_TARGET_GENERIC_V8,
  KVM_ARM_VCPU_EL1_32BIT,
  KVM_ARM_VCPU_POWER_OFF,
  KVM_ARM_VCPU_PSCI_0_2,
  KVM_MP_STATE_RUNNABLE,
  KVM_MP_STATE_STOPPED,
  type Vcpu,
} from './vcpu.js'
import {
  REG_GCR_EL1,
  REG_ID_AA64PFR1_EL1,
  REG_PC,
  REG_PSCI_VERSION,
  REG_PSTATE,
  REG_RGSR_EL1,
  REG_TFSRE0_EL1,
  REG_TFSR_EL1,
  coreRegId,
  sysregId,
  xRegId,
} from './one-reg.js'
import { KVM_SYSTEM_EVENT_SHUTDOWN } from './psci.js'
import { GUEST_RAM, MiB, anonRam, asm, makeHost, type TestHost } from './test-support.js'

const ESR_EL1 = sysregId(3, 0, 5, 2, 0)
const VBAR_EL1 = sysregId(3, 0, 12, 0, 0)
const INIT = { target: KVM_ARM_TARGET_GENERIC_V8, features: 1 << KVM_ARM_VCPU_PSCI_0_2 }
const SYSTEM_OFF = asm`movz x0, #0x8400, lsl #16; movk x0, #8; hvc #0`

function errno(fn: () => unknown): string {
  try {
    fn()
  } catch (error) {
    if (error instanceof ErrnoError) return error.code
    throw error
  }
  return 'no error'
}

/** A VM with 1 MiB of RAM at GUEST_RAM holding `code` at its start, and one initialised vCPU at it. */
function guest(code: Uint8Array, options: { mte?: boolean; init?: boolean } = {}): TestHost & { vcpu: Vcpu; hva: number } {
  const host = makeHost()
  if (options.mte) host.vm.enableMte()
  const hva = anonRam(host.mm, MiB)
  host.mm.userWrite(hva, code)
  host.vm.setUserMemoryRegion({ slot: 0, flags: 0, guestPhysAddr: GUEST_RAM, memorySize: MiB, userspaceAddr: hva })
  const vcpu = host.vm.createVcpu(0)
  if (options.init ?? true) {
    vcpu.init(INIT)
    vcpu.setOneReg(REG_PC, BigInt(GUEST_RAM))
  }
  return { ...host, vcpu, hva }
}

function concat(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0))
  let at = 0
  for (const part of parts) {
    out.set(part, at)
    at += part.length
  }
  return out
}

describe('vCPU creation and KVM_ARM_VCPU_INIT', () => {
  test('KVM_RUN and ONE_REG before init are ENOEXEC', () => {
    const { vcpu } = guest(SYSTEM_OFF, { init: false })
    expect(errno(() => vcpu.run())).toBe('ENOEXEC')
    expect(errno(() => vcpu.getOneReg(REG_PC))).toBe('ENOEXEC')
    expect(errno(() => vcpu.regList())).toBe('ENOEXEC')
  })

  test('another target or the AArch32 feature is EINVAL; a second vCPU with the same id is EEXIST', () => {
    const { vm, vcpu } = guest(SYSTEM_OFF, { init: false })
    expect(errno(() => vcpu.init({ target: 0, features: 0 }))).toBe('EINVAL')
    expect(errno(() => vcpu.init({ target: KVM_ARM_TARGET_GENERIC_V8, features: 1 << KVM_ARM_VCPU_EL1_32BIT }))).toBe('EINVAL')
    expect(errno(() => vm.createVcpu(0))).toBe('EEXIST')
    expect(errno(() => vm.createVcpu(512))).toBe('EINVAL')
    vcpu.init(INIT)
    vcpu.init(INIT) // a second init with the same features resets
    expect(errno(() => vcpu.init({ target: KVM_ARM_TARGET_GENERIC_V8, features: 0 }))).toBe('EINVAL')
  })

  test('enabling MTE after KVM_CREATE_VCPU is EINVAL (kvm-mte.md §1)', () => {
    const { vm } = guest(SYSTEM_OFF)
    expect(errno(() => vm.enableMte())).toBe('EINVAL')
  })

  test('reset state: EL1h with DAIF masked, PC 0 until set; POWER_OFF starts stopped', () => {
    const { vm, vcpu } = guest(SYSTEM_OFF, { init: false })
    vcpu.init(INIT)
    expect(vcpu.getOneReg(REG_PSTATE)).toBe(0x3c5n)
    expect(vcpu.getOneReg(REG_PC)).toBe(0n)
    expect(vcpu.mpState).toBe(KVM_MP_STATE_RUNNABLE)
    const second = vm.createVcpu(1)
    second.init({ target: KVM_ARM_TARGET_GENERIC_V8, features: (1 << KVM_ARM_VCPU_PSCI_0_2) | (1 << KVM_ARM_VCPU_POWER_OFF) })
    expect(second.mpState).toBe(KVM_MP_STATE_STOPPED)
    expect(second.run()).toEqual({ kind: 'intr' })
  })
})

describe('ONE_REG and the MTE registers (kvm-mte.md §3)', () => {
  test('without the capability the MTE registers are hidden (ENOENT) and PFR1.MTE reads 0', () => {
    const { vcpu } = guest(SYSTEM_OFF)
    for (const id of [REG_RGSR_EL1, REG_GCR_EL1, REG_TFSR_EL1, REG_TFSRE0_EL1]) {
      expect(errno(() => vcpu.getOneReg(id))).toBe('ENOENT')
      expect(errno(() => vcpu.setOneReg(id, 0n))).toBe('ENOENT')
      expect(vcpu.regList()).not.toContain(id)
    }
    expect((vcpu.getOneReg(REG_ID_AA64PFR1_EL1) >> 8n) & 0xfn).toBe(0n)
  })

  test('with the capability they are listed, start with KVM junk, round-trip, and PFR1.MTE shows the host level', () => {
    const { vcpu } = guest(SYSTEM_OFF, { mte: true })
    const list = vcpu.regList()
    for (const id of [REG_RGSR_EL1, REG_GCR_EL1, REG_TFSR_EL1, REG_TFSRE0_EL1]) expect(list).toContain(id)
    expect((vcpu.getOneReg(REG_ID_AA64PFR1_EL1) >> 8n) & 0xfn).toBe(3n)
    vcpu.setOneReg(REG_TFSR_EL1, 1n)
    expect(vcpu.getOneReg(REG_TFSR_EL1)).toBe(1n)
  })

  test('core registers, bad sizes (EINVAL), unknown ids (ENOENT), ID registers are read-only', () => {
    const { vcpu } = guest(SYSTEM_OFF)
    vcpu.setOneReg(xRegId(7), 0x1234_5678_9abc_def0n)
    expect(vcpu.getOneReg(xRegId(7))).toBe(0x1234_5678_9abc_def0n)
    expect(errno(() => vcpu.getOneReg(coreRegId(4, 8)))).toBe('EINVAL')
    expect(errno(() => vcpu.getOneReg(coreRegId(0x2000, 8)))).toBe('ENOENT')
    expect(errno(() => vcpu.setOneReg(REG_PSTATE, 0x3c9n))).toBe('EINVAL') // EL2h
    const pfr1 = vcpu.getOneReg(REG_ID_AA64PFR1_EL1)
    vcpu.setOneReg(REG_ID_AA64PFR1_EL1, pfr1)
    expect(errno(() => vcpu.setOneReg(REG_ID_AA64PFR1_EL1, pfr1 | (2n << 8n)))).toBe('EINVAL')
    expect(vcpu.getOneReg(REG_PSCI_VERSION)).toBe(0x10001n)
  })
})

describe('KVM_RUN', () => {
  test('PSCI SYSTEM_OFF over HVC is a shutdown system event; resuming sees INTERNAL_FAILURE', () => {
    const { vcpu } = guest(SYSTEM_OFF)
    expect(vcpu.run()).toEqual({ kind: 'system-event', type: KVM_SYSTEM_EVENT_SHUTDOWN, flags: 0n })
    expect(vcpu.getOneReg(xRegId(0))).toBe(BigInt.asUintN(64, -6n))
    expect(vcpu.mpState).toBe(KVM_MP_STATE_STOPPED)
  })

  test('MMIO outside memslots: a store exits with its data; a load gets what the VMM put in data', () => {
    const code = concat(asm`movz x2, #0x900, lsl #16; movz w1, #0xbeef; str w1, [x2, #4]; ldrh w3, [x2, #8]`, SYSTEM_OFF)
    const { vcpu } = guest(code)
    const store = vcpu.run()
    expect(store).toMatchObject({ kind: 'mmio', addr: 0x0900_0004, size: 4, write: true })
    if (store.kind !== 'mmio') throw new Error('expected MMIO')
    expect([...store.data]).toEqual([0xef, 0xbe, 0, 0])
    const load = vcpu.run()
    expect(load).toMatchObject({ kind: 'mmio', addr: 0x0900_0008, size: 2, write: false })
    if (load.kind !== 'mmio') throw new Error('expected MMIO')
    load.data.set([0x34, 0x12])
    expect(vcpu.run()).toMatchObject({ kind: 'system-event' })
    expect(vcpu.getOneReg(xRegId(3))).toBe(0x1234n)
  })

  test('SMC #0 is an SMCCC call (PSCI_VERSION), SMC #1 returns NOT_SUPPORTED', () => {
    const code = concat(asm`movz x0, #0x8400, lsl #16; smc #0; mov x6, x0; smc #1; mov x7, x0`, SYSTEM_OFF)
    const { vcpu } = guest(code)
    expect(vcpu.run()).toMatchObject({ kind: 'system-event' })
    expect(vcpu.getOneReg(xRegId(6))).toBe(0x10001n)
    expect(vcpu.getOneReg(xRegId(7))).toBe((1n << 64n) - 1n)
  })

  test('PSCI CPU_ON starts vCPU 1 at the entry with the context id; AFFINITY_INFO then reports it on', () => {
    const entry = GUEST_RAM + 0x800
    const code = concat(
      asm`movz x0, #0xc400, lsl #16; movk x0, #3; mov x1, #1; movz x2, #0x4000, lsl #16; add x2, x2, #0x800; mov x3, #0x55; hvc #0; mov x8, x0; movz x0, #0xc400, lsl #16; movk x0, #4; mov x1, #1; mov x2, #0; hvc #0; mov x9, x0`,
      SYSTEM_OFF,
    )
    const { vm, vcpu, mm, hva } = guest(code)
    mm.userWrite(hva + 0x800, SYSTEM_OFF)
    const second = vm.createVcpu(1)
    second.init({ target: KVM_ARM_TARGET_GENERIC_V8, features: (1 << KVM_ARM_VCPU_PSCI_0_2) | (1 << KVM_ARM_VCPU_POWER_OFF) })
    expect(vcpu.run()).toMatchObject({ kind: 'system-event' })
    expect(vcpu.getOneReg(xRegId(8))).toBe(0n)
    expect(vcpu.getOneReg(xRegId(9))).toBe(0n) // AFFINITY_INFO: ON
    expect(second.getOneReg(REG_PC)).toBe(BigInt(entry))
    expect(second.getOneReg(xRegId(0))).toBe(0x55n)
  })

  test('without MTE: ID_AA64PFR1_EL1 reads MTE = 0 in the guest and GCR_EL1 access is UNDEF', () => {
    const vector = concat(asm`mrs x5, esr_el1`, SYSTEM_OFF)
    const code = asm`mrs x1, id_aa64pfr1_el1; mrs x4, gcr_el1; mov x10, #1`
    const { vcpu, mm, hva } = guest(code)
    mm.userWrite(hva + 0x1000 + 0x200, vector) // VBAR_EL1 + 0x200: current EL, SPx, synchronous
    vcpu.setOneReg(VBAR_EL1, BigInt(GUEST_RAM + 0x1000))
    expect(vcpu.run()).toMatchObject({ kind: 'system-event' })
    expect((vcpu.getOneReg(xRegId(1)) >> 8n) & 0xfn).toBe(0n)
    expect(vcpu.getOneReg(xRegId(5)) >> 26n).toBe(0n) // EC 0: UNDEFINED
    expect(vcpu.getOneReg(xRegId(10))).toBe(0n)
    expect(vcpu.getOneReg(ESR_EL1) >> 26n).toBe(0n)
  })

  test('ID registers the CPU does not implement (AArch32 ID_PFR0_EL1, ID_AA64PFR2_EL1) read as zero', () => {
    const code = concat(asm`mov x1, #5; mov x2, #5; mrs x1, id_pfr0_el1; mrs x2, s3_0_c0_c4_2`, SYSTEM_OFF)
    const { vcpu } = guest(code)
    expect(vcpu.run()).toMatchObject({ kind: 'system-event' })
    expect(vcpu.getOneReg(xRegId(1))).toBe(0n)
    expect(vcpu.getOneReg(xRegId(2))).toBe(0n)
  })

  test('with MTE: PFR1.MTE is the host level (3) in the guest and GCR_EL1 is the guest’s own register', () => {
    const code = concat(asm`mrs x1, id_aa64pfr1_el1; movz x2, #5; movk x2, #1, lsl #16; msr gcr_el1, x2; mrs x4, gcr_el1`, SYSTEM_OFF)
    const { vcpu } = guest(code, { mte: true })
    expect(vcpu.run()).toMatchObject({ kind: 'system-event' })
    expect((vcpu.getOneReg(xRegId(1)) >> 8n) & 0xfn).toBe(3n)
    expect(vcpu.getOneReg(xRegId(4))).toBe(vcpu.getOneReg(REG_GCR_EL1))
    expect(vcpu.getOneReg(REG_GCR_EL1) & 0x1ffffn).toBe(0x10005n)
  })

  test('a guest access to memory that cannot hold tags fails KVM_RUN with EFAULT; after the VMM fixes it the guest goes on', () => {
    const code = concat(asm`movz x2, #0x4010, lsl #16; ldr x3, [x2]`, SYSTEM_OFF)
    const host = makeHost()
    const ram = anonRam(host.mm, MiB)
    host.mm.userWrite(ram, code)
    host.vm.setUserMemoryRegion({ slot: 0, flags: 0, guestPhysAddr: GUEST_RAM, memorySize: MiB, userspaceAddr: ram })
    const file = host.kernel.createFile('disk', new Uint8Array(PAGE_SIZE).fill(0x11))
    const data = host.mm.mmap({ length: PAGE_SIZE, prot: PROT_READ | PROT_WRITE, flags: MAP_SHARED, file })
    host.vm.setUserMemoryRegion({ slot: 1, flags: 0, guestPhysAddr: GUEST_RAM + MiB, memorySize: PAGE_SIZE, userspaceAddr: data })
    host.vm.enableMte()
    const vcpu = host.vm.createVcpu(0)
    vcpu.init(INIT)
    vcpu.setOneReg(REG_PC, BigInt(GUEST_RAM))
    expect(errno(() => vcpu.run())).toBe('EFAULT')
    expect(vcpu.getOneReg(REG_PC)).toBe(BigInt(GUEST_RAM + 4)) // still at the load
    // The VMM replaces the file mapping with anonymous memory; the load now completes.
    host.mm.mmap({ addr: data, length: PAGE_SIZE, prot: PROT_READ | PROT_WRITE, flags: MAP_SHARED | MAP_FIXED | 0x20 })
    expect(vcpu.run()).toMatchObject({ kind: 'system-event' })
    expect(vcpu.getOneReg(xRegId(3))).toBe(0n)
  })

  test('immediate_exit makes KVM_RUN fail with EINTR without running, after completing an answered MMIO read', () => {
    const { vcpu } = guest(SYSTEM_OFF)
    vcpu.immediateExit = true
    expect(errno(() => vcpu.run())).toBe('EINTR')
    expect(vcpu.getOneReg(REG_PC)).toBe(BigInt(GUEST_RAM))
    const mmio = guest(concat(asm`movz x2, #0x900, lsl #16; ldrb w3, [x2]`, SYSTEM_OFF)).vcpu
    const load = mmio.run()
    if (load.kind !== 'mmio') throw new Error('expected MMIO')
    load.data[0] = 0x7f
    mmio.immediateExit = true
    expect(errno(() => mmio.run())).toBe('EINTR')
    expect(mmio.getOneReg(xRegId(3))).toBe(0x7fn)
    mmio.immediateExit = false
    expect(mmio.run()).toMatchObject({ kind: 'system-event' })
  })

  test('a spent budget returns KVM_EXIT_INTR and the guest continues on the next run', () => {
    const { vcpu } = guest(concat(asm`mov x1, #1; mov x1, #2; mov x1, #3`, SYSTEM_OFF))
    expect(vcpu.run(2)).toEqual({ kind: 'intr' })
    expect(vcpu.getOneReg(xRegId(1))).toBe(2n)
    expect(vcpu.run()).toMatchObject({ kind: 'system-event' })
  })
})
