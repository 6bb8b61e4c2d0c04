// WFE as KVM treats it (kvm_arch_vcpu_load, kvm_handle_wfx): HCR_EL2.TWE traps WFE only while
// the vCPU shares its host CPU, and a trapped WFE yields (KVM_RUN returns) so the vCPU that
// holds what the spinner waits for gets to run. Every vCPU of a VM shares tagvm's thread, so
// WFE traps exactly when the VM has more than one vCPU.
import { describe, expect, test } from 'vitest'
import { KVM_ARM_TARGET_GENERIC_V8, KVM_ARM_VCPU_POWER_OFF, KVM_ARM_VCPU_PSCI_0_2, type Vcpu } from './vcpu.js'
import { REG_PC, xRegId } from './one-reg.js'
import { GUEST_RAM, MiB, anonRam, asm, makeHost } from './test-support.js'

const INIT = { target: KVM_ARM_TARGET_GENERIC_V8, features: 1 << KVM_ARM_VCPU_PSCI_0_2 }
/** x1 counts the turns of a WFE spin loop. */
const SPIN = asm`add x1, x1, #1; wfe; b .-8`

function spinner(cpus: number): Vcpu[] {
  const host = makeHost()
  const hva = anonRam(host.mm, MiB)
  host.mm.userWrite(hva, SPIN)
  host.vm.setUserMemoryRegion({ slot: 0, flags: 0, guestPhysAddr: GUEST_RAM, memorySize: MiB, userspaceAddr: hva })
  const vcpus: Vcpu[] = []
  for (let i = 0; i < cpus; i++) {
    const vcpu = host.vm.createVcpu(i)
    vcpu.init(i === 0 ? INIT : { ...INIT, features: INIT.features | (1 << KVM_ARM_VCPU_POWER_OFF) })
    vcpus.push(vcpu)
  }
  vcpus[0]!.setOneReg(REG_PC, BigInt(GUEST_RAM))
  return vcpus
}

describe('WFE (HCR_EL2.TWE)', () => {
  test('a vCPU alone in its VM runs WFE untrapped: the spin loop uses the whole budget', () => {
    const [vcpu] = spinner(1)
    expect(vcpu!.run(3000)).toEqual({ kind: 'intr' })
    expect(vcpu!.cpu.retired).toBe(3000)
    expect(vcpu!.getOneReg(xRegId(1))).toBe(1000n)
  })

  test('with a second vCPU, each WFE traps, completes and yields: KVM_RUN returns after it', () => {
    const [vcpu] = spinner(2)
    for (let turn = 1; turn <= 3; turn++) {
      expect(vcpu!.run(3000)).toEqual({ kind: 'intr' })
      // add, wfe: the WFE completed (PC past it) before the yield
      expect(vcpu!.cpu.retired).toBe(2 + (turn - 1) * 3)
      expect(vcpu!.getOneReg(xRegId(1))).toBe(BigInt(turn))
      expect(vcpu!.getOneReg(REG_PC)).toBe(BigInt(GUEST_RAM + 8))
    }
  })
})
