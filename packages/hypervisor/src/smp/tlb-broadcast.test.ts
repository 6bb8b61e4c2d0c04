// TLB maintenance in a VM with several vCPUs traps (HCR_EL2.TTLB) and is performed on every
// vCPU's TLB: each TLBI of a loop reaches the VM's broadcast, and the others' TLBs.
import { describe, expect, test } from 'vitest'
import { KVM_ARM_TARGET_GENERIC_V8, KVM_ARM_VCPU_PSCI_0_2, type Vcpu } from '../vcpu.js'
import { REG_PC, xRegId } from '../one-reg.js'
import { GUEST_RAM, MiB, anonRam, makeHost, touch } from '../test-support.js'
import { tlbiOperation } from './tlb-broadcast.js'
import { sysregKey } from '@tagvm/cpu'
import { TLBI_VAE1, TLBI_VMALLE1 } from '@tagvm/mmu'

const INIT = { target: KVM_ARM_TARGET_GENERIC_V8, features: 1 << KVM_ARM_VCPU_PSCI_0_2 }

/** llvm-mc encodings: 1000 times TLBI VAE1IS between barriers, then a spin. */
const TLBI_LOOP = [
  0x52807d0a, //       mov w10, #1000
  0xd5033a9f, // loop: dsb ishst
  0xd508832c, //       tlbi vae1is, x12
  0xd5033b9f, //       dsb ish
  0xd5033fdf, //       isb
  0x7100054a, //       subs w10, w10, #1
  0x54ffff61, //       b.ne loop
  0x14000000, //       b .
]

describe('TLB maintenance across vCPUs', () => {
  test('every TLBI of a loop traps and is broadcast (the block tier included)', () => {
    const host = makeHost()
    const hva = anonRam(host.mm, MiB)
    const bytes = new Uint8Array(TLBI_LOOP.length * 4)
    TLBI_LOOP.forEach((word, at) => new DataView(bytes.buffer).setUint32(at * 4, word, true))
    host.mm.userWrite(hva, bytes)
    host.vm.setUserMemoryRegion({ slot: 0, flags: 0, guestPhysAddr: GUEST_RAM, memorySize: MiB, userspaceAddr: hva })
    touch(host.vm, GUEST_RAM)
    const vcpus: Vcpu[] = [0, 1].map((i) => {
      const vcpu = host.vm.createVcpu(i)
      vcpu.init(INIT)
      vcpu.setOneReg(REG_PC, BigInt(GUEST_RAM))
      return vcpu
    })
    const seen: number[] = []
    host.vm.tlbBroadcast = (op) => seen.push(op)
    vcpus[0]!.run(20_000)
    expect(vcpus[0]!.getOneReg(xRegId(10))).toBe(0n)
    expect(seen.length).toBe(1000)
    expect(seen.every((op) => op === TLBI_VAE1)).toBe(true)
  })

  test('TLBI keys: the EL1 forms, inner-shareable and local', () => {
    expect(tlbiOperation(sysregKey(1, 0, 8, 3, 1))).toBe(TLBI_VAE1)
    expect(tlbiOperation(sysregKey(1, 0, 8, 7, 0))).toBe(TLBI_VMALLE1)
    expect(tlbiOperation(sysregKey(1, 0, 7, 5, 1))).toBeUndefined()
  })
})
