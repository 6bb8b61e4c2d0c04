// FP/SIMD state through KVM ONE_REG (fp_regs.vregs[n] as 128-bit core registers, fpsr and
// fpcr as 32-bit ones, listed by KVM_GET_REG_LIST in struct kvm_regs order), and what KVM
// makes of a SIMD access to MMIO (no valid syndrome: ENOSYS, or KVM_EXIT_ARM_NISV).
import { describe, expect, test } from 'vitest'
import { KVM_ARM_TARGET_GENERIC_V8, KVM_ARM_VCPU_PSCI_0_2 } from './vcpu.js'
import { CoreOffset, REG_FPCR, REG_FPSR, REG_PC, coreRegId, vRegId as vreg, xRegId } from './one-reg.js'
import { GUEST_RAM, MiB, anonRam, asm, errno, makeHost } from './test-support.js'

const INIT = { target: KVM_ARM_TARGET_GENERIC_V8, features: 1 << KVM_ARM_VCPU_PSCI_0_2 }
const SYSTEM_OFF = asm`movz x0, #0x8400, lsl #16; movk x0, #8; hvc #0`
const ENABLE_FP = asm`movz x9, #0x30, lsl #16; msr cpacr_el1, x9; isb`

function guest(code: Uint8Array, nisvToUser = false) {
  const host = makeHost()
  host.vm.nisvToUser = nisvToUser
  const hva = anonRam(host.mm, MiB)
  host.mm.userWrite(hva, code)
  host.vm.setUserMemoryRegion({ slot: 0, flags: 0, guestPhysAddr: GUEST_RAM, memorySize: MiB, userspaceAddr: hva })
  const vcpu = host.vm.createVcpu(0)
  vcpu.init(INIT)
  vcpu.setOneReg(REG_PC, BigInt(GUEST_RAM))
  return vcpu
}

function concat(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0))
  parts.reduce((at, p) => (out.set(p, at), at + p.length), 0)
  return out
}

describe('FP/SIMD registers through ONE_REG', () => {
  test('KVM_GET_REG_LIST lists vregs[0..31] (U128) between spsr[] and fpsr, fpcr, with Linux ids', () => {
    const vcpu = guest(SYSTEM_OFF)
    const list = vcpu.regList()
    const at = list.indexOf(vreg(0))
    expect(vreg(0)).toBe(0x6040_0000_0010_0054n) // KVM_REG_ARM64 | U128 | CORE | 336 / 4
    expect(list.slice(at, at + 34)).toEqual([...Array.from({ length: 32 }, (_, n) => vreg(n)), REG_FPSR, REG_FPCR])
    expect(list[at - 1]).toBe(coreRegId(CoreOffset.SPSR + 8 * 4))
  })

  test('128-bit values round-trip; wrong sizes and misaligned offsets are EINVAL; values too wide are EINVAL', () => {
    const vcpu = guest(SYSTEM_OFF)
    const value = 0x0123_4567_89ab_cdef_fedc_ba98_7654_3210n
    vcpu.setOneReg(vreg(31), value)
    expect(vcpu.getOneReg(vreg(31))).toBe(value)
    expect(vcpu.getOneReg(vreg(30))).toBe(0n)
    expect(errno(() => vcpu.getOneReg(coreRegId(CoreOffset.V0, 8)))).toBe('EINVAL')
    expect(errno(() => vcpu.getOneReg(coreRegId(CoreOffset.V0 + 8, 16)))).toBe('EINVAL')
    expect(errno(() => vcpu.setOneReg(vreg(0), 1n << 128n))).toBe('EINVAL')
    expect(vcpu.getOneReg(vreg(0))).toBe(0n)
  })

  test('the guest computes with what the VMM put in V registers and FPCR; the VMM reads the results', () => {
    // fadd d2, d0, d1 under FPCR.RMode = RP; addv of v3.16b; fmov x5, d2.
    const code = concat(ENABLE_FP, asm`fadd d2, d0, d1; addv b4, v3.16b; fmov x5, d2; mrs x6, fpsr`, SYSTEM_OFF)
    const vcpu = guest(code)
    vcpu.setOneReg(vreg(0), 0x3ff0_0000_0000_0000n) // 1.0
    vcpu.setOneReg(vreg(1), 0x3ca0_0000_0000_0000n) // 2^-53: ties to even would give 1.0
    vcpu.setOneReg(vreg(3), 0x0101_0101_0101_0101_0101_0101_0101_0101n)
    vcpu.setOneReg(REG_FPCR, 1n << 22n) // round towards +inf
    expect(vcpu.run()).toMatchObject({ kind: 'system-event' })
    expect(vcpu.getOneReg(vreg(2))).toBe(0x3ff0_0000_0000_0001n)
    expect(vcpu.getOneReg(vreg(4))).toBe(16n)
    expect(vcpu.getOneReg(xRegId(5))).toBe(0x3ff0_0000_0000_0001n)
    expect(vcpu.getOneReg(REG_FPSR)).toBe(0x10n) // IXC
    expect(vcpu.getOneReg(xRegId(6))).toBe(0x10n)
  })

  test('a SIMD load from MMIO has no valid syndrome: KVM_RUN fails with ENOSYS, or exits ARM_NISV', () => {
    const code = concat(ENABLE_FP, asm`movz x2, #0x900, lsl #16; ldr q0, [x2]`, SYSTEM_OFF)
    expect(errno(() => guest(code).run())).toBe('ENOSYS')
    const exit = guest(code, true).run()
    expect(exit).toMatchObject({ kind: 'arm-nisv', faultIpa: 0x0900_0000 })
  })
})
