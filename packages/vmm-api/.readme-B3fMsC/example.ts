import assert from 'node:assert/strict'
import {
  Kvm, ga, KVM_CAP_ARM_MTE, KVM_ARM_VCPU_PSCI_0_2, KVM_ARM_TAGS_FROM_GUEST, KVM_SYSTEM_EVENT_SHUTDOWN,
  MAP_ANONYMOUS, MAP_PRIVATE, PROT_MTE, PROT_READ, PROT_WRITE, REG_PC,
} from 'file:///work/main/packages/vmm-api/src/index.ts'

const kvm = Kvm.open() // a host with MTE, 1 GiB of (lazily allocated) memory
assert.equal(kvm.checkExtension(KVM_CAP_ARM_MTE), 1)
const vm = kvm.createVm({ ipaBits: 40 })
vm.enableCap(KVM_CAP_ARM_MTE) // before any vCPU, as on Linux

const RAM = ga(0x4000_0000)
const size = 2 * 1024 * 1024
const ram = kvm.mmap({ length: size, prot: PROT_READ | PROT_WRITE | PROT_MTE, flags: MAP_PRIVATE | MAP_ANONYMOUS })
vm.setUserMemoryRegion({ slot: 0, flags: 0, guestPhysAddr: RAM, memorySize: size, userspaceAddr: ram })

// The guest writes "hi" to a PL011 data register at 0x0900_0000, then PSCI SYSTEM_OFF.
const code = Uint32Array.of(
  0xd2a12001, 0x52800d00, 0x39000020, // movz x1, #0x900, lsl #16; mov w0, #'h'; strb w0, [x1]
  0x52800d20, 0x39000020, //             mov w0, #'i'; strb w0, [x1]
  0xd2b08000, 0xf2800100, 0xd4000002, // movz x0, #0x8400, lsl #16; movk x0, #8; hvc #0
)
kvm.process.userWrite(ram, new Uint8Array(code.buffer))
// The VMM tags a heap granule through its PROT_MTE mapping (tags 3, 4, 5).
kvm.process.userWriteTags(ram + 0x1000, Uint8Array.of(3, 4, 5))

const vcpu = vm.createVcpu(0)
vcpu.init({ ...vm.armPreferredTarget(), features: [KVM_ARM_VCPU_PSCI_0_2] })
vcpu.setOneReg(REG_PC, BigInt(RAM))
let uart = ''
for (;;) {
  const exit = vcpu.run()
  if (exit.kind === 'mmio' && exit.write) uart += String.fromCharCode(exit.data[0] ?? 0)
  else if (exit.kind === 'system-event' && exit.type === KVM_SYSTEM_EVENT_SHUTDOWN) break
  else throw new Error(`unexpected exit ${exit.kind}`)
}
assert.equal(uart, 'hi')

const tags = new Uint8Array(256) // one byte per 16-byte granule of a 4 KiB page
assert.equal(vm.mteCopyTags({ guestIpa: ga(RAM + 0x1000), length: 4096, addr: tags, flags: KVM_ARM_TAGS_FROM_GUEST }), 4096)
assert.deepEqual([...tags.subarray(0, 4)], [3, 4, 5, 0])
