// Two vCPUs of one VM taking turns on one thread, with KVM_RUN returning between vCPU 0's
// LDXR and its STXR while vCPU 1 updates the same word: vCPU 0's store-exclusive must fail
// and its retry must see vCPU 1's update, so no increment is lost.
import { describe, expect, test } from 'vitest'
import { KVM_ARM_TARGET_GENERIC_V8, KVM_ARM_VCPU_PSCI_0_2, type Vcpu } from '../vcpu.js'
import { REG_PC, xRegId } from '../one-reg.js'
import { GUEST_RAM, MiB, anonRam, makeHost, touch } from '../test-support.js'

const INIT = { target: KVM_ARM_TARGET_GENERIC_V8, features: 1 << KVM_ARM_VCPU_PSCI_0_2 }
const COUNTER = GUEST_RAM + 0x1000

/** llvm-mc encodings of the exclusive increment both vCPUs run. */
const INCREMENT = [
  0xc85f7c01, // loop: ldxr x1, [x0]
  0x91000421, //       add x1, x1, #1
  0xc8027c01, //       stxr w2, x1, [x0]
  0x35ffffa2, //       cbnz w2, loop
  0x14000000, //       b .
]
const MOV_X3_7_STR = [
  0xd28000e3, // mov x3, #7
  0xf9000003, // str x3, [x0]
  0x14000000, // b .
]

function twoVcpus(codeOf: (index: number) => readonly number[]): { vcpus: Vcpu[]; counter: () => number } {
  const host = makeHost()
  const hva = anonRam(host.mm, MiB)
  for (let i = 0; i < 2; i++) {
    const words = codeOf(i)
    const bytes = new Uint8Array(words.length * 4)
    words.forEach((word, at) => new DataView(bytes.buffer).setUint32(at * 4, word, true))
    host.mm.userWrite(hva + i * 0x100, bytes)
  }
  host.vm.setUserMemoryRegion({ slot: 0, flags: 0, guestPhysAddr: GUEST_RAM, memorySize: MiB, userspaceAddr: hva })
  // Mapped up front: a first write's stage-2 fault is an exception, which clears the local
  // monitor on its return, so the first pair would fail for that reason alone.
  touch(host.vm, GUEST_RAM)
  touch(host.vm, COUNTER, true)
  const vcpus = [0, 1].map((i) => {
    const vcpu = host.vm.createVcpu(i)
    vcpu.init(INIT)
    vcpu.setOneReg(REG_PC, BigInt(GUEST_RAM + i * 0x100))
    vcpu.setOneReg(xRegId(0), BigInt(COUNTER))
    return vcpu
  })
  const counter = () => {
    const out = new Uint8Array(8)
    host.mm.userRead(hva + 0x1000, out)
    return Number(new DataView(out.buffer).getBigUint64(0, true))
  }
  return { vcpus, counter }
}

describe('the exclusive monitor of vCPUs in lockstep', () => {
  test('an exclusive increment split by a KVM_RUN boundary fails, retries and loses nothing', () => {
    const { vcpus, counter } = twoVcpus(() => INCREMENT)
    const [a, b] = vcpus as [Vcpu, Vcpu]
    a.run(1) // LDXR: x1 = 0, the reservation is A's
    expect(a.getOneReg(REG_PC)).toBe(BigInt(GUEST_RAM + 4))
    b.run(4) // B's whole increment: memory = 1
    expect(b.getOneReg(xRegId(2))).toBe(0n)
    expect(counter()).toBe(1)
    a.run(2) // ADD, STXR: must fail (B wrote the granule)
    expect(a.getOneReg(xRegId(2))).toBe(1n)
    expect(counter()).toBe(1)
    a.run(20) // CBNZ back, and the retry succeeds
    expect(counter()).toBe(2)
    expect(a.getOneReg(xRegId(1))).toBe(2n)
  })

  test("another vCPU's plain store to the reservation breaks the pair", () => {
    const { vcpus, counter } = twoVcpus((i) => (i === 0 ? INCREMENT : MOV_X3_7_STR))
    const [a, b] = vcpus as [Vcpu, Vcpu]
    a.run(1)
    b.run(2)
    a.run(2)
    expect(a.getOneReg(xRegId(2))).toBe(1n)
    expect(counter()).toBe(7)
    a.run(20)
    expect(counter()).toBe(8)
  })

  test('a vCPU alone in its VM keeps the plain local monitor: an undisturbed pair succeeds', () => {
    const { vcpus, counter } = twoVcpus(() => INCREMENT)
    const [a] = vcpus as [Vcpu, Vcpu]
    a.run(3)
    expect(a.getOneReg(xRegId(2))).toBe(0n)
    expect(counter()).toBe(1)
  })
})
