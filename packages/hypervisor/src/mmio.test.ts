// MMIO through the hypervisor's one owner of it (mmio.ts): the CPU reports a stage-2 data
// abort, the fault handler decodes the syndrome once, KVM_RUN hands the VMM the bytes of a
// store, and the next KVM_RUN writes a load's bytes into Xt -- every size, sign- and
// zero-extension into W and X registers, XZR, and 64-bit values above 2^53 intact.
import { describe, expect, test } from 'vitest'
import { KVM_ARM_TARGET_GENERIC_V8, KVM_ARM_VCPU_PSCI_0_2 } from './vcpu.js'
import { REG_PC, xRegId } from './one-reg.js'
import { GUEST_RAM, MiB, anonRam, asm, makeHost } from './test-support.js'

const DEVICE = 0x0900_0000
const SYSTEM_OFF = asm`movz x0, #0x8400, lsl #16; movk x0, #8; hvc #0`
/** Fills x3 first, so a load that writes only part of it would show. */
const GARBAGE = 0xdead_beef_cafe_f00dn

/** Runs `access` (x2 = DEVICE, x1 = `x1`, x3 = GARBAGE) up to its MMIO exit. */
function device(access: Uint8Array, x1 = 0n) {
  const host = makeHost()
  const hva = anonRam(host.mm, MiB)
  const code = new Uint8Array(access.length + SYSTEM_OFF.length)
  code.set(access)
  code.set(SYSTEM_OFF, access.length)
  host.mm.userWrite(hva, code)
  host.vm.setUserMemoryRegion({ slot: 0, flags: 0, guestPhysAddr: GUEST_RAM, memorySize: MiB, userspaceAddr: hva })
  const vcpu = host.vm.createVcpu(0)
  vcpu.init({ target: KVM_ARM_TARGET_GENERIC_V8, features: 1 << KVM_ARM_VCPU_PSCI_0_2 })
  vcpu.setOneReg(REG_PC, BigInt(GUEST_RAM))
  vcpu.setOneReg(xRegId(1), x1)
  vcpu.setOneReg(xRegId(2), BigInt(DEVICE))
  vcpu.setOneReg(xRegId(3), GARBAGE)
  const exit = vcpu.run()
  if (exit.kind !== 'mmio') throw new Error(`expected an MMIO exit, got ${exit.kind}`)
  return { vcpu, exit }
}

const BIG = 0xfedc_ba98_7654_3210n // above 2^53: a number would lose its low bits

describe('MMIO stores: the VMM gets Xt\'s low bytes', () => {
  test.each([
    ['strb w1', asm`strb w1, [x2]`, [0x10]],
    ['strh w1', asm`strh w1, [x2]`, [0x10, 0x32]],
    ['str w1', asm`str w1, [x2]`, [0x10, 0x32, 0x54, 0x76]],
    ['str x1', asm`str x1, [x2]`, [0x10, 0x32, 0x54, 0x76, 0x98, 0xba, 0xdc, 0xfe]],
    ['stlr x1', asm`stlr x1, [x2]`, [0x10, 0x32, 0x54, 0x76, 0x98, 0xba, 0xdc, 0xfe]],
    ['str xzr', asm`str xzr, [x2]`, [0, 0, 0, 0, 0, 0, 0, 0]],
    ['strb wzr', asm`strb wzr, [x2]`, [0]],
  ] as const)('%s', (_, access, bytes) => {
    const { vcpu, exit } = device(access, BIG)
    expect(exit).toMatchObject({ addr: DEVICE, size: bytes.length, write: true })
    expect([...exit.data]).toEqual(bytes)
    // The next KVM_RUN completes the store: PC past it, then SYSTEM_OFF.
    expect(vcpu.run()).toMatchObject({ kind: 'system-event' })
  })
})

describe('MMIO loads: the VMM\'s bytes land in Xt, extended as SSE and SF say', () => {
  test.each([
    ['ldrb w3', asm`ldrb w3, [x2]`, [0x80], 0x80n],
    ['ldrh w3', asm`ldrh w3, [x2]`, [0x01, 0x80], 0x8001n],
    ['ldr w3', asm`ldr w3, [x2]`, [0x01, 0x00, 0x00, 0x80], 0x8000_0001n],
    ['ldr x3', asm`ldr x3, [x2]`, [0x10, 0x32, 0x54, 0x76, 0x98, 0xba, 0xdc, 0xfe], BIG],
    ['ldar x3', asm`ldar x3, [x2]`, [0x10, 0x32, 0x54, 0x76, 0x98, 0xba, 0xdc, 0xfe], BIG],
    ['ldrsb w3', asm`ldrsb w3, [x2]`, [0x80], 0xffff_ff80n],
    ['ldrsb x3', asm`ldrsb x3, [x2]`, [0x80], 0xffff_ffff_ffff_ff80n],
    ['ldrsb x3 (positive)', asm`ldrsb x3, [x2]`, [0x7f], 0x7fn],
    ['ldrsh w3', asm`ldrsh w3, [x2]`, [0x01, 0x80], 0xffff_8001n],
    ['ldrsh x3', asm`ldrsh x3, [x2]`, [0x01, 0x80], 0xffff_ffff_ffff_8001n],
    ['ldrsw x3', asm`ldrsw x3, [x2]`, [0x01, 0x00, 0x00, 0x80], 0xffff_ffff_8000_0001n],
    ['ldrsw x3 (positive)', asm`ldrsw x3, [x2]`, [0x01, 0x00, 0x00, 0x70], 0x7000_0001n],
  ] as const)('%s', (_, access, bytes, value) => {
    const { vcpu, exit } = device(access)
    expect(exit).toMatchObject({ addr: DEVICE, size: bytes.length, write: false })
    expect([...exit.data]).toEqual(bytes.map(() => 0)) // zeroed for the VMM to fill
    exit.data.set(bytes)
    expect(vcpu.run()).toMatchObject({ kind: 'system-event' })
    expect(vcpu.getOneReg(xRegId(3))).toBe(value)
  })

  test.each([
    ['ldr xzr', asm`ldr xzr, [x2]`, 8],
    ['ldrb wzr', asm`ldrb wzr, [x2]`, 1],
  ] as const)('%s: the value is discarded and the load still completes', (_, access, size) => {
    const { vcpu, exit } = device(access)
    expect(exit).toMatchObject({ size, write: false })
    exit.data.fill(0xff)
    expect(vcpu.run()).toMatchObject({ kind: 'system-event' })
    expect(vcpu.getOneReg(xRegId(3))).toBe(GARBAGE)
  })
})

test('a completed load is not executed again: PC moves past it and the next instruction sees its value', () => {
  const { vcpu, exit } = device(asm`ldr x3, [x2]; add x3, x3, #1`)
  exit.data.set([1, 0, 0, 0, 0, 0, 0, 0])
  expect(vcpu.run()).toMatchObject({ kind: 'system-event' })
  expect(vcpu.getOneReg(xRegId(3))).toBe(2n)
})
