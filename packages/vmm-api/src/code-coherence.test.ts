// A VMM patches guest code through its own mapping of guest RAM while the vCPU has the old
// instructions decoded: after IC IVAU + ISB in the guest (and at the latest on the next
// KVM_RUN) the vCPU executes the new instruction.
import { expect, test } from 'vitest'
import { Kvm, REG_PC, xRegId } from './index.js'
import { asm, bootMachine } from './test-support.js'

const RAM = 0x4000_0000
const MAILBOX = 0x0a00_0000 // no memslot: an MMIO exit per store

test('a VMM write through the host mapping replaces an instruction the vCPU has executed (IC IVAU + ISB)', () => {
  const kvm = Kvm.open({ hostMemory: 64 * 1024 * 1024 })
  const { vcpu, ram } = bootMachine(kvm, { ramSize: 1 << 20 })
  // movz x0, #1 is the instruction the VMM rewrites; each loop reports x0 through the mailbox.
  kvm.process.userWrite(ram, asm`movz x0, #1; strb w0, [x5]; ic ivau, x6; dsb ish; isb; b .-20`)
  vcpu.setOneReg(REG_PC, BigInt(RAM))
  vcpu.setOneReg(xRegId(5), BigInt(MAILBOX))
  vcpu.setOneReg(xRegId(6), BigInt(RAM))
  const reported: number[] = []
  for (let i = 0; i < 40; i++) {
    const exit = vcpu.run()
    expect(exit).toMatchObject({ kind: 'mmio', addr: MAILBOX, write: true })
    if (exit.kind === 'mmio') reported.push(exit.data[0]!)
    // After 20 reports (the loop is hot, blocks are built) the VMM patches the first instruction.
    if (i === 19) kvm.process.userWrite(ram, asm`movz x0, #2`)
  }
  expect(reported).toEqual([...Array<number>(20).fill(1), ...Array<number>(20).fill(2)])
})
