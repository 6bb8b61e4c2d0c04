// MMIO through the KVM API: KVM_EXIT_MMIO carries bytes both ways, so full 64-bit values
// survive, and the next KVM_RUN extends a load as the instruction says.
import { expect, test } from 'vitest'
import { Kvm, REG_PC, xRegId } from './index.js'
import { asm, bootMachine } from './test-support.js'

const RAM = 0x4000_0000
const DEVICE = 0x0a00_0000

test('8-byte stores and loads keep all 64 bits; LDRSH/LDRSB extend into W and X; stores of XZR are zero', () => {
  const kvm = Kvm.open({ hostMemory: 64 * 1024 * 1024 })
  const { vcpu, ram } = bootMachine(kvm, { ramSize: 1 << 20 })
  const code = asm`str x1, [x2]; ldr x3, [x2, #8]; ldrsh w4, [x2, #16]; ldrsb x5, [x2, #24]; strh wzr, [x2, #32]; movz x0, #0x8400, lsl #16; movk x0, #8; hvc #0`
  kvm.process.userWrite(ram, code)
  vcpu.setOneReg(REG_PC, BigInt(RAM))
  vcpu.setOneReg(xRegId(1), 0xfedc_ba98_7654_3211n)
  vcpu.setOneReg(xRegId(2), BigInt(DEVICE))
  vcpu.setOneReg(xRegId(4), 0xffff_ffff_ffff_ffffn)
  const answers = new Map<number, number[]>([
    [DEVICE + 8, [0x11, 0x32, 0x54, 0x76, 0x98, 0xba, 0xdc, 0xfe]],
    [DEVICE + 16, [0xfe, 0xff]],
    [DEVICE + 24, [0x80]],
  ])
  const stores: [number, number[]][] = []
  for (;;) {
    const exit = vcpu.run()
    if (exit.kind !== 'mmio') {
      expect(exit.kind).toBe('system-event')
      break
    }
    if (exit.write) stores.push([exit.addr, [...exit.data]])
    else exit.data.set(answers.get(exit.addr)!)
  }
  expect(stores).toEqual([
    [DEVICE, [0x11, 0x32, 0x54, 0x76, 0x98, 0xba, 0xdc, 0xfe]],
    [DEVICE + 32, [0, 0]],
  ])
  expect(vcpu.getOneReg(xRegId(3))).toBe(0xfedc_ba98_7654_3211n)
  expect(vcpu.getOneReg(xRegId(4))).toBe(0xffff_fffen) // W destination: upper half zero
  expect(vcpu.getOneReg(xRegId(5))).toBe(0xffff_ffff_ffff_ff80n)
})
