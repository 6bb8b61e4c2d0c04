// Issue 21 (7b): a guest stuck in a loop of exceptions makes the same progress whether the
// CPU takes them (UDF) or KVM injects them (a trapped system register access that KVM
// answers with UNDEFINED): each is one step of `retired` and of KVM_RUN's budget. A
// prefetch abort KVM injects for a fetch outside every memslot counts nothing -- no
// instruction was fetched -- so a guest stuck there is still seen as making no progress.
import { describe, expect, test } from 'vitest'
import { KVM_ARM_TARGET_GENERIC_V8, KVM_ARM_VCPU_PSCI_0_2 } from './vcpu.js'
import { REG_PC, sysregId, xRegId } from './one-reg.js'
import { GUEST_RAM, MiB, anonRam, asm, makeHost } from './test-support.js'

const VBAR_EL1 = sysregId(3, 0, 12, 0, 0)
/** VBAR_EL1 + 0x200: the vector of a synchronous exception from EL1 with SP_EL1. */
const VECTOR = GUEST_RAM + 0xa00

/** A vCPU whose synchronous-exception vector is `code` itself, so each exception runs it again. */
function loopAt(code: Uint8Array) {
  const host = makeHost()
  const hva = anonRam(host.mm, MiB)
  host.mm.userWrite(hva + (VECTOR - GUEST_RAM), code)
  host.vm.setUserMemoryRegion({ slot: 0, flags: 0, guestPhysAddr: GUEST_RAM, memorySize: MiB, userspaceAddr: hva })
  const vcpu = host.vm.createVcpu(0)
  vcpu.init({ target: KVM_ARM_TARGET_GENERIC_V8, features: 1 << KVM_ARM_VCPU_PSCI_0_2 })
  vcpu.setOneReg(VBAR_EL1, BigInt(GUEST_RAM + 0x800))
  vcpu.setOneReg(REG_PC, BigInt(VECTOR))
  return vcpu
}

describe('exception loops count as progress', () => {
  test.each([
    ['udf (the CPU takes UNDEFINED)', asm`udf #0`],
    // No KVM_CAP_ARM_MTE: HCR_EL2.ATA = 0 traps GCR_EL1 to KVM, which injects UNDEFINED.
    ['mrs of a trapped register (KVM injects UNDEFINED)', asm`mrs x0, gcr_el1`],
    // ID registers are read-only: KVM injects UNDEFINED for the write TID3 traps.
    ['msr to an ID register (KVM injects UNDEFINED)', asm`msr s3_0_c0_c4_0, x0`],
  ])('%s: every step counts and KVM_RUN spends its budget', (_, code) => {
    const vcpu = loopAt(code)
    expect(vcpu.run(1000)).toEqual({ kind: 'intr' })
    expect(vcpu.cpu.retired).toBe(1000)
    expect(vcpu.getOneReg(REG_PC)).toBe(BigInt(VECTOR))
  })
})

test('a prefetch abort KVM injects (fetch outside every memslot) counts nothing', () => {
  const vcpu = loopAt(asm`udf #0`)
  vcpu.setOneReg(VBAR_EL1, 0x1000_0000n) // no memory at the vectors either
  vcpu.setOneReg(REG_PC, 0x1000_0000n)
  expect(vcpu.run(1000)).toEqual({ kind: 'intr' })
  expect(vcpu.cpu.retired).toBe(0)
})

test('KVM_RUN retires at most its budget, counting the instructions KVM completes (emulated ID reads, MMIO)', () => {
  // 1: mrs x0, id_aa64pfr1_el1 (trapped by HCR_EL2.TID3, emulated by KVM); b 1b
  const idLoop = loopAt(asm`mrs x0, id_aa64pfr1_el1; b .-4`)
  expect(idLoop.run(1000)).toEqual({ kind: 'intr' })
  expect(idLoop.cpu.retired).toBe(1000)
  // A store to no memslot, then NOPs: the answered store completes in the next run, and counts there.
  const mmio = loopAt(asm`strb w1, [x2]; nop; nop; nop; nop; nop; nop; nop; nop`)
  mmio.setOneReg(xRegId(2), 0x0900_0000n)
  expect(mmio.run(1000)).toMatchObject({ kind: 'mmio', write: true })
  const before = mmio.cpu.retired
  expect(mmio.run(5)).toEqual({ kind: 'intr' })
  expect(mmio.cpu.retired - before).toBe(5)
})
