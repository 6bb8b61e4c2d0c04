// kvm_run.immediate_exit, the rule a VMM follows before reading vCPU state for a save or a
// migration (Documentation/virt/kvm/api.rst): KVM_RUN with it set first completes the MMIO
// access the last exit left pending (kvm_handle_mmio_return runs before the check, as in
// kvm_arch_vcpu_ioctl_run), then fails with EINTR without running guest code. PSCI calls
// have nothing pending here: they complete inside the KVM_RUN that traps them (CPU_ON
// resets the target vCPU at once), so its registers are final when the call returns.
import { expect, test } from 'vitest'
import { KvmError, KVM_ARM_VCPU_POWER_OFF, KVM_ARM_VCPU_PSCI_0_2, Kvm, REG_PC, xRegId, type VcpuFd } from './index.js'
import { asm, bootMachine } from './test-support.js'

const RAM = 0x4000_0000
const DEVICE = 0x0a00_0000

function eintr(vcpu: VcpuFd): string {
  vcpu.immediateExit = true
  try {
    vcpu.run()
    return 'ran'
  } catch (error) {
    if (error instanceof KvmError) return `${error.ioctl} ${error.code}`
    throw error
  } finally {
    vcpu.immediateExit = false
  }
}

test('an answered MMIO store and load complete under immediate_exit, run no further, and are never repeated', () => {
  const kvm = Kvm.open({ hostMemory: 64 * 1024 * 1024 })
  const { vcpu, ram } = bootMachine(kvm, { ramSize: 1 << 20 })
  kvm.process.userWrite(ram, asm`strb w1, [x2]; ldr x3, [x2, #8]; add x4, x3, #1; strb w4, [x2]; movz x0, #0x8400, lsl #16; movk x0, #8; hvc #0`)
  vcpu.setOneReg(REG_PC, BigInt(RAM))
  vcpu.setOneReg(xRegId(1), 0x41n)
  vcpu.setOneReg(xRegId(2), BigInt(DEVICE))
  const stores: number[] = []

  const store = vcpu.run()
  expect(store).toMatchObject({ kind: 'mmio', addr: DEVICE, write: true })
  if (store.kind === 'mmio') stores.push(store.data[0]!)
  const before = vcpu.retiredInstructions
  expect(eintr(vcpu)).toBe('KVM_RUN EINTR')
  // The store is done: PC is past it and nothing else ran.
  expect(vcpu.getOneReg(REG_PC)).toBe(BigInt(RAM + 4))
  expect(vcpu.retiredInstructions).toBe(before + 1)

  const load = vcpu.run()
  expect(load).toMatchObject({ kind: 'mmio', addr: DEVICE + 8, write: false })
  if (load.kind === 'mmio') load.data.set([0x99, 0, 0, 0, 0, 0, 0, 0x80])
  expect(eintr(vcpu)).toBe('KVM_RUN EINTR')
  expect(vcpu.getOneReg(xRegId(3))).toBe(0x8000_0000_0000_0099n) // what a save reads
  expect(vcpu.getOneReg(REG_PC)).toBe(BigInt(RAM + 8))
  expect(vcpu.getOneReg(xRegId(4))).toBe(0n) // the add after the load has not run

  // Resuming (as a restored or migrated machine does) goes on after the completed accesses.
  for (;;) {
    const exit = vcpu.run()
    if (exit.kind !== 'mmio') {
      expect(exit.kind).toBe('system-event')
      break
    }
    stores.push(exit.data[0]!)
  }
  expect(stores).toEqual([0x41, 0x9a])
})

test('immediate_exit with nothing pending runs no guest code; PSCI CPU_ON leaves nothing pending on its target', () => {
  const kvm = Kvm.open({ hostMemory: 64 * 1024 * 1024 })
  const { vmFd, vcpu, ram } = bootMachine(kvm, { ramSize: 1 << 20 })
  const second = vmFd.createVcpu(1)
  second.init({ ...vmFd.armPreferredTarget(), features: [KVM_ARM_VCPU_PSCI_0_2, KVM_ARM_VCPU_POWER_OFF] })
  // CPU_ON(target 1, entry RAM + 0x100, context 0x55), then SYSTEM_OFF.
  kvm.process.userWrite(ram, asm`movz x0, #0xc400, lsl #16; movk x0, #3; mov x1, #1; movz x2, #0x4000, lsl #16; add x2, x2, #0x100; mov x3, #0x55; hvc #0; movz x0, #0x8400, lsl #16; movk x0, #8; hvc #0`)
  vcpu.setOneReg(REG_PC, BigInt(RAM))
  expect(eintr(vcpu)).toBe('KVM_RUN EINTR')
  expect(vcpu.retiredInstructions).toBe(0)
  expect(vcpu.run()).toMatchObject({ kind: 'system-event' })
  expect(eintr(second)).toBe('KVM_RUN EINTR')
  expect([second.getOneReg(REG_PC), second.getOneReg(xRegId(0))]).toEqual([BigInt(RAM + 0x100), 0x55n])
  expect(second.retiredInstructions).toBe(0)
})
