// vmm-api benchmarks: guest instructions per second through KVM_RUN, and MMIO exits per
// second (guest store → exit → VMM → next run). Prints figures; never fails on time.
import { performance } from 'node:perf_hooks'
import { KVM_ARM_VCPU_PSCI_0_2, Kvm, MAP_ANONYMOUS, MAP_PRIVATE, PROT_READ, PROT_WRITE, REG_PC, ga } from '../src/index.js'
import { SPIN_GUEST, UART_GUEST } from '../src/test-support.js'

const RAM = 0x4000_0000

function boot(code: Uint8Array) {
  const kvm = Kvm.open({ hostMemory: 64 * 1024 * 1024 })
  const vmFd = kvm.createVm()
  const ram = kvm.mmap({ length: 1 << 20, prot: PROT_READ | PROT_WRITE, flags: MAP_PRIVATE | MAP_ANONYMOUS })
  vmFd.setUserMemoryRegion({ slot: 0, flags: 0, guestPhysAddr: ga(RAM), memorySize: 1 << 20, userspaceAddr: ram })
  kvm.process.userWrite(ram, code)
  const vcpu = vmFd.createVcpu(0)
  vcpu.init({ ...vmFd.armPreferredTarget(), features: [KVM_ARM_VCPU_PSCI_0_2] })
  vcpu.setOneReg(REG_PC, BigInt(RAM))
  return vcpu
}

{
  const vcpu = boot(SPIN_GUEST)
  const start = performance.now()
  let exits = 0
  for (;;) {
    const exit = vcpu.run()
    exits++
    if (exit.kind === 'system-event') break
  }
  const seconds = (performance.now() - start) / 1000
  const instructions = 2 * 0x2fa0000 + 4
  console.log(`guest MIPS through KVM_RUN (countdown loop)     ${(instructions / seconds / 1e6).toFixed(1)} (${exits} runs, ${seconds.toFixed(2)} s)`)
}
{
  const vcpu = boot(UART_GUEST)
  const start = performance.now()
  let mmio = 0
  for (;;) {
    const exit = vcpu.run()
    if (exit.kind === 'mmio') mmio++
    else if (exit.kind === 'system-event') break
  }
  const seconds = (performance.now() - start) / 1000
  console.log(`MMIO exits/s (guest store → VMM → run)          ${Math.round(mmio / seconds).toLocaleString('en-US')} (${mmio} exits)`)
}
