// A guest that takes interrupts through KVM_RUN: it programs the vGIC's distributor and its
// redistributor by MMIO (emulated in the kernel, no exit), opens its CPU interface with
// ICC_* system registers, arms the virtual timer, and sleeps in WFI. The VMM loop below is
// what a VMM does with a blocked vCPU: on the deterministic clock, let time jump to the
// deadline; with no deadline, raise an SPI through KVM_IRQ_LINE.
import { describe, expect, test } from 'vitest'
import {
  InstructionClock,
  KVM_ARM_IRQ_TYPE_SPI,
  KVM_SYSTEM_EVENT_SHUTDOWN,
  REG_PC,
  createVmTimers,
  kvmIrqNumber,
  xRegId,
  type VcpuFd,
} from './index.js'
import { createVirtGic } from './device-test-support.js'
import { Kvm } from './index.js'
import { bootMachine } from './test-support.js'

const RAM = 0x4000_0000
const RECORDS = 0x4010_0000

// Assembled with clang/ld.lld 14 at 0x4000_0000 (source in the comments):
const MAIN = [
  0x10004001, // adr x1, vectors (0x4000_0800)
  0xd518c001, // msr vbar_el1, x1
  0xd2a10002, // mov x2, #0x08000000
  0x52800043, // mov w3, #2
  0xb9000043, // str w3, [x2]            GICD_CTLR.EnableGrp1
  0xd2a10164, // movz x4, #0x080b, lsl #16
  0x91040084, // add x4, x4, #0x100
  0x52a10005, // mov w5, #(1 << 27)
  0xb9000085, // str w5, [x4]            GICR_ISENABLER0: PPI 27
  0x52800045, // mov w5, #2
  0xb9010445, // str w5, [x2, #0x104]    GICD_ISENABLER1: SPI 33
  0xf930845f, // str xzr, [x2, #0x6108]  GICD_IROUTER33: vCPU 0
  0xd2801e06, // mov x6, #0xf0
  0xd5184606, // msr icc_pmr_el1, x6
  0xd2800026, // mov x6, #1
  0xd518cce6, // msr icc_igrpen1_el1, x6
  0xd5033fdf, // isb
  0xd2800014, // mov x20, #0
  0xd2800017, // mov x23, #0
  0xd2807d07, // mov x7, #1000
  0xd51be307, // msr cntv_tval_el0, x7
  0xd2800027, // mov x7, #1
  0xd51be327, // msr cntv_ctl_el0, x7    enabled, unmasked
  0xd50342ff, // msr daifclr, #2
  0xd503207f, // 1: wfi
  0xf1000e9f, // cmp x20, #3
  0x54ffffcb, // b.lt 1b
  0xd51be33f, // msr cntv_ctl_el0, xzr   timer off: only the VMM's SPI can wake it now
  0xd503207f, // 2: wfi
  0xb4fffff7, // cbz x23, 2b
  0xd53be058, // mrs x24, cntvct_el0
  0x52b08000, // movz w0, #0x8400, lsl #16
  0x11002000, // add w0, w0, #8
  0xd4000002, // hvc #0                  PSCI SYSTEM_OFF
]
/** At vectors + 0x280 (IRQ, current EL with SP_ELx). */
const IRQ_HANDLER = [
  0xd538cc15, // mrs x21, icc_iar1_el1
  0xf1006ebf, // cmp x21, #27
  0x540000e1, // b.ne 3f
  0xd53be056, // mrs x22, cntvct_el0
  0xf8347b36, // str x22, [x25, x20, lsl #3]
  0x91000694, // add x20, x20, #1
  0xd2807d07, // mov x7, #1000
  0xd51be307, // msr cntv_tval_el0, x7   re-arm 1000 ticks on
  0x14000002, // b 4f
  0xaa1503f7, // 3: mov x23, x21
  0xd518cc35, // 4: msr icc_eoir1_el1, x21
  0xd69f03e0, // eret
]

function words(list: readonly number[]): Uint8Array {
  const bytes = new Uint8Array(list.length * 4)
  list.forEach((w, i) => new DataView(bytes.buffer).setUint32(4 * i, w, true))
  return bytes
}

function setUp() {
  const kvm = Kvm.open({ hostMemory: 64 * 1024 * 1024 })
  const { vmFd, vcpu, ram } = bootMachine(kvm, { ramSize: 4 * 1024 * 1024 })
  const clock = new InstructionClock()
  createVmTimers(vmFd.vm, { clock })
  createVirtGic(vmFd)
  kvm.process.userWrite(ram, words(MAIN))
  kvm.process.userWrite(ram + 0x800 + 0x280, words(IRQ_HANDLER))
  vcpu.setOneReg(REG_PC, BigInt(RAM))
  vcpu.setOneReg(xRegId(25), BigInt(RECORDS))
  return { kvm, vmFd, vcpu, ram, clock }
}

/** The VMM's loop: runs to SYSTEM_OFF; a blocked vCPU idles the clock, or gets SPI 33 when nothing else can wake it. */
function runToOff(vcpu: VcpuFd, clock: InstructionClock, raiseSpi: () => void): { sleeps: number[]; spis: number } {
  const sleeps: number[] = []
  let spis = 0
  for (let i = 0; i < 1000; i++) {
    const exit = vcpu.run(100_000)
    if (exit.kind === 'system-event') {
      expect(exit.type).toBe(KVM_SYSTEM_EVENT_SHUTDOWN)
      return { sleeps, spis }
    }
    expect(exit.kind).toBe('intr')
    const deadline = vcpu.waitDeadline
    if (deadline === undefined) continue
    if (deadline === Infinity) {
      spis++
      raiseSpi()
    } else {
      sleeps.push(deadline)
      expect(clock.idle(deadline)).toBe(0)
    }
  }
  throw new Error('the guest did not power off')
}

describe('interrupts through KVM_RUN', () => {
  test('virtual timer PPI 27 wakes WFI three times, then an SPI from KVM_IRQ_LINE; guest time jumps over the sleeps', () => {
    const { kvm, vmFd, vcpu, ram, clock } = setUp()
    const spi33 = kvmIrqNumber(KVM_ARM_IRQ_TYPE_SPI, 0, 33)
    const { sleeps, spis } = runToOff(vcpu, clock, () => {
      vmFd.irqLine(spi33, 1)
      vmFd.irqLine(spi33, 0) // an edge from the device's point of view; the latch keeps it pending
    })
    expect(vcpu.getOneReg(xRegId(20))).toBe(3n) // three timer interrupts
    expect(vcpu.getOneReg(xRegId(23))).toBe(33n) // then the SPI
    expect(spis).toBe(1)
    expect(sleeps).toHaveLength(3)
    // Each interrupt came at or after its deadline; each deadline is 1000 ticks after the
    // re-arming MSR, 4 instructions (one tick each) after the handler read the counter.
    const seen = new BigUint64Array(3)
    const bytes = new Uint8Array(seen.buffer)
    kvm.process.userRead(ram + (RECORDS - RAM), bytes)
    for (let n = 0; n < 3; n++) expect(Number(seen[n])).toBeGreaterThanOrEqual(sleeps[n]!)
    for (let n = 1; n < 3; n++) expect(sleeps[n]! - Number(seen[n - 1]!)).toBe(1004)
    // Guest time ran ahead of the instructions it retired: the sleeps were skipped, not spun.
    expect(Number(vcpu.getOneReg(xRegId(24)))).toBeGreaterThan(3000)
    expect(vcpu.retiredInstructions).toBeLessThan(200)
  })

  test('the run is deterministic on the instruction clock', () => {
    const values = [0, 1].map(() => {
      const { vmFd, vcpu, clock } = setUp()
      runToOff(vcpu, clock, () => vmFd.irqLine(kvmIrqNumber(KVM_ARM_IRQ_TYPE_SPI, 0, 33), 1))
      return [vcpu.getOneReg(xRegId(24)), vcpu.getOneReg(xRegId(22)), BigInt(vcpu.retiredInstructions)]
    })
    expect(values[0]).toEqual(values[1])
  })
})
