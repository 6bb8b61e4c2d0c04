import { describe, expect, it } from 'vitest'
import {
  KVM_CAP_GUEST_DEBUG_HW_BPS,
  KVM_CAP_SET_GUEST_DEBUG,
  KVM_GUESTDBG_ENABLE,
  KVM_GUESTDBG_SINGLESTEP,
  KVM_GUESTDBG_USE_HW,
  KVM_GUESTDBG_USE_SW_BP,
  Kvm,
  KvmError,
  REG_PC,
  type VcpuExit,
} from './index.js'
import { bootMachine, loadElf } from './test-support.js'

function esrClass(exit: VcpuExit): number {
  if (exit.kind !== 'debug') throw new Error(`expected KVM_EXIT_DEBUG, got ${exit.kind}`)
  return exit.arch.hsr >>> 26
}

function guest() {
  const kvm = Kvm.open()
  const { vcpu, ram } = bootMachine(kvm)
  const entry = loadElf(kvm, ram, 'hello')
  vcpu.setOneReg(REG_PC, BigInt(entry))
  return { kvm, vcpu, entry }
}

describe('KVM_SET_GUEST_DEBUG', () => {
  it('is advertised, with 16 hardware breakpoints and watchpoints', () => {
    const kvm = Kvm.open()
    expect(kvm.checkExtension(KVM_CAP_SET_GUEST_DEBUG)).toBe(1)
    expect(kvm.checkExtension(KVM_CAP_GUEST_DEBUG_HW_BPS)).toBe(16)
  })

  it('single-steps: each KVM_RUN retires one instruction and exits with a software-step ESR', () => {
    const { vcpu, entry } = guest()
    vcpu.setGuestDebug({ control: KVM_GUESTDBG_ENABLE | KVM_GUESTDBG_SINGLESTEP })
    const pcs: bigint[] = []
    for (let n = 0; n < 5; n++) {
      const exit = vcpu.run()
      expect(esrClass(exit)).toBe(0x32)
      pcs.push(vcpu.getOneReg(REG_PC))
    }
    expect(vcpu.retiredInstructions).toBe(5)
    expect(pcs[0]).not.toBe(BigInt(entry))
    expect(new Set(pcs).size).toBeGreaterThan(1)
    vcpu.setGuestDebug({ control: 0 })
    expect(vcpu.run(1000).kind).not.toBe('debug')
  })

  it('stops on a hardware breakpoint from dbg_bcr/dbg_bvr, before the instruction', () => {
    const { vcpu, entry } = guest()
    const at = BigInt(entry + 12)
    vcpu.setGuestDebug({ control: KVM_GUESTDBG_ENABLE | KVM_GUESTDBG_USE_HW, arch: { dbgBcr: [0x1e7n], dbgBvr: [at] } })
    const exit = vcpu.run()
    expect(esrClass(exit)).toBe(0x30)
    expect(vcpu.getOneReg(REG_PC)).toBe(at)
    expect(vcpu.retiredInstructions).toBe(3)
  })

  it('refuses unknown control bits and over-long arrays with EINVAL, changing nothing', () => {
    const { vcpu } = guest()
    expect(() => vcpu.setGuestDebug({ control: KVM_GUESTDBG_ENABLE | 0x100 })).toThrow(KvmError)
    expect(() => vcpu.setGuestDebug({ control: KVM_GUESTDBG_ENABLE | KVM_GUESTDBG_USE_HW, arch: { dbgBvr: new Array<bigint>(17).fill(0n) } })).toThrow(/EINVAL/)
    expect(vcpu.run(100).kind).toBe('intr')
    // USE_SW_BP alone is accepted: BRK would exit.
    vcpu.setGuestDebug({ control: KVM_GUESTDBG_ENABLE | KVM_GUESTDBG_USE_SW_BP })
  })

  it('KVM_TRANSLATE gives the stage-1 view: identity with the MMU off', () => {
    const { vcpu } = guest()
    const t = vcpu.translate(0x4000_1234n)
    expect(t).toMatchObject({ physicalAddress: 0x4000_1234, valid: true })
    expect(() => vcpu.translate(-1n)).toThrow(/EINVAL/)
  })
})
