// vGICv3 scenarios through @tagvm/vmm-api: the VMM side goes through KVM_IRQ_LINE and the
// device attributes; the guest side (GIC MMIO, ICC_* registers) is driven directly on the
// vGIC until the CPU takes interrupts itself (then these become guest programs).
import { describe, expect, test } from 'vitest'
import { GIC_DIST, gicMachine, guest, type GicMachine } from './device-test-support.js'
import {
  ICC,
  KVM_ARM_IRQ_TYPE_PPI,
  KVM_ARM_IRQ_TYPE_SPI,
  KVM_DEV_ARM_VGIC_GRP_CPU_SYSREGS,
  KVM_DEV_ARM_VGIC_GRP_DIST_REGS,
  KVM_DEV_ARM_VGIC_GRP_LEVEL_INFO,
  KVM_DEV_ARM_VGIC_GRP_REDIST_REGS,
  SIGNAL_FIQ,
  SIGNAL_IRQ,
  kvmIrqNumber,
  vgicVcpuAttr,
} from './index.js'

// Distributor / redistributor offsets the scenarios use.
const GICD_CTLR = 0x0
const GICD_ISENABLER = 0x100
const GICD_ISPENDR = 0x200
const GICD_ISACTIVER = 0x300
const GICD_IPRIORITYR = 0x400
const GICD_ICFGR = 0xc00
const GICD_IROUTER = 0x6000
const GICR_IGROUPR0 = 0x1_0080
const GICR_ISENABLER0 = 0x1_0100
const GICR_ISPENDR0 = 0x1_0200
const GICR_ISACTIVER0 = 0x1_0300
const GICR_IPRIORITYR0 = 0x1_0400

const spi = (n: number) => kvmIrqNumber(KVM_ARM_IRQ_TYPE_SPI, 0, n)
const ppi = (vcpu: number, n: number) => kvmIrqNumber(KVM_ARM_IRQ_TYPE_PPI, vcpu, n)

/** Linux's GIC bring-up: distributor group 1 on, every vCPU's interface open. */
function linuxLike(vcpus = 2, eoiMode = 0): GicMachine & { g: ReturnType<typeof guest>[] } {
  const m = gicMachine(vcpus)
  const g = m.vcpus.map((_, v) => guest(m, v))
  g[0]!.write(GIC_DIST + GICD_CTLR, 0x2)
  for (const cpu of g) cpu.openCpuInterface(eoiMode)
  return { ...m, g }
}

/** Makes SPI `n` level-sensitive (ICFGR bit 2*(n%16)+1 clear), enabled, with a priority. */
function configureSpi(g: ReturnType<typeof guest>, n: number, options: { level?: boolean; priority?: number } = {}): void {
  const cfg = GIC_DIST + GICD_ICFGR + 4 * Math.floor(n / 16)
  const bit = 2 * (n % 16) + 1
  const current = g.read(cfg)
  g.write(cfg, options.level ? current & ~(1 << bit) : current | (1 << bit))
  g.write(GIC_DIST + GICD_IPRIORITYR + n, options.priority ?? 0xa0, 1)
  g.write(GIC_DIST + GICD_ISENABLER + 4 * Math.floor(n / 32), 1 << n % 32)
}

describe('SGIs', () => {
  test('vCPU 0 sends SGI 3 to vCPU 1 through ICC_SGI1R_EL1 (Aff1 0, TargetList bit 1)', () => {
    const { g } = linuxLike(2)
    const received: number[] = []
    g[1]!.cif.onSignal = (signal) => received.push(signal)
    g[0]!.msr(ICC.SGI1R_EL1, (3 << 24) | 0b10)
    expect(g[0]!.cif.signal).toBe(0)
    expect(g[1]!.cif.signal).toBe(SIGNAL_IRQ)
    expect(received).toEqual([SIGNAL_IRQ])
    expect(g[1]!.mrs(ICC.IAR1_EL1)).toBe(3)
    expect(received).toEqual([SIGNAL_IRQ, 0])
    g[1]!.msr(ICC.EOIR1_EL1, 3)
    expect(g[1]!.read(g[1]!.redist(GICR_ISACTIVER0))).toBe(0)
  })

  test('affinity routing reaches vCPU 17 (Aff1 1, Aff0 1); IRM broadcasts to every vCPU but the sender', () => {
    const { g } = linuxLike(18)
    g[0]!.msr(ICC.SGI1R_EL1, (5 << 24) | (1 << 16) | 0b10)
    expect(g.map((cpu) => cpu.cif.signal).filter((s) => s).length).toBe(1)
    expect(g[17]!.mrs(ICC.HPPIR1_EL1)).toBe(5)
    g[17]!.msr(ICC.SGI1R_EL1, 7 << 24, 1 << 8) // IRM = bit 40
    expect(g[17]!.mrs(ICC.HPPIR1_EL1)).toBe(5)
    for (let v = 0; v < 17; v++) expect(g[v]!.mrs(ICC.HPPIR1_EL1)).toBe(7)
  })

  test('ICC_SGI0R_EL1 and ASGI1R raise only group-0 SGIs; SGI1R raises either group', () => {
    const { g } = linuxLike(2)
    g[0]!.msr(ICC.SGI0R_EL1, (2 << 24) | 0b10) // SGI 2 is group 1: nothing
    expect(g[1]!.read(g[1]!.redist(GICR_ISPENDR0))).toBe(0)
    g[1]!.write(g[1]!.redist(GICR_IGROUPR0), ~(1 << 2)) // SGI 2 to group 0
    g[0]!.msr(ICC.ASGI1R_EL1, (2 << 24) | 0b10)
    expect(g[1]!.read(g[1]!.redist(GICR_ISPENDR0))).toBe(1 << 2)
    expect(g[1]!.cif.signal).toBe(0) // group 0 is not enabled on vCPU 1
    g[1]!.msr(ICC.IGRPEN0_EL1, 1)
    expect(g[1]!.cif.signal).toBe(SIGNAL_FIQ)
    expect(g[1]!.mrs(ICC.IAR0_EL1)).toBe(2)
    g[0]!.msr(ICC.SGI1R_EL1, (4 << 24) | 0b10)
    expect(g[1]!.read(g[1]!.redist(GICR_ISPENDR0))).toBe(1 << 4)
  })
})

describe('PPIs and SPIs from the VMM', () => {
  test('a PPI raised with KVM_IRQ_LINE reaches only its vCPU, and follows its level line', () => {
    const { vmFd, g } = linuxLike(2)
    g[1]!.write(g[1]!.redist(GICR_ISENABLER0), 1 << 23)
    vmFd.irqLine(ppi(1, 23), 1)
    expect(g[0]!.cif.signal).toBe(0)
    expect(g[1]!.cif.signal).toBe(SIGNAL_IRQ)
    expect(g[1]!.mrs(ICC.IAR1_EL1)).toBe(23)
    // Active, and still pending while the line is high.
    expect(g[1]!.read(g[1]!.redist(GICR_ISPENDR0))).toBe(1 << 23)
    vmFd.irqLine(ppi(1, 23), 0)
    g[1]!.msr(ICC.EOIR1_EL1, 23)
    expect(g[1]!.cif.signal).toBe(0)
    expect(g[1]!.read(g[1]!.redist(GICR_ISPENDR0))).toBe(0)
  })

  test('an SPI goes where GICD_IROUTER sends it; rerouting moves it; an unknown affinity holds it', () => {
    const { vmFd, g } = linuxLike(2)
    configureSpi(g[0]!, 40, { level: true })
    g[0]!.write(GIC_DIST + GICD_IROUTER + 8 * 40, 1) // Aff0 1: vCPU 1
    vmFd.irqLine(spi(40), 1)
    expect([g[0]!.cif.signal, g[1]!.cif.signal]).toEqual([0, SIGNAL_IRQ])
    g[0]!.write(GIC_DIST + GICD_IROUTER + 8 * 40, 0x0300) // nobody
    expect([g[0]!.cif.signal, g[1]!.cif.signal]).toEqual([0, 0])
    g[0]!.write(GIC_DIST + GICD_IROUTER + 8 * 40, 0, 8) // 64-bit write: vCPU 0
    expect([g[0]!.cif.signal, g[1]!.cif.signal]).toEqual([SIGNAL_IRQ, 0])
    expect(g[0]!.mrs(ICC.IAR1_EL1)).toBe(40)
  })

  test('level: an SPI stays pending while its line is high, and comes back after EOI until the line drops', () => {
    const { vmFd, g } = linuxLike(1)
    configureSpi(g[0]!, 33, { level: true })
    vmFd.irqLine(spi(33), 1)
    expect(g[0]!.mrs(ICC.IAR1_EL1)).toBe(33)
    expect(g[0]!.cif.signal).toBe(0) // active: not presented again
    g[0]!.msr(ICC.EOIR1_EL1, 33)
    expect(g[0]!.cif.signal).toBe(SIGNAL_IRQ) // line still high
    expect(g[0]!.mrs(ICC.IAR1_EL1)).toBe(33)
    vmFd.irqLine(spi(33), 0) // the device's handler cleared its condition
    g[0]!.msr(ICC.EOIR1_EL1, 33)
    expect(g[0]!.cif.signal).toBe(0)
    expect(g[0]!.read(GIC_DIST + GICD_ISPENDR + 4)).toBe(0)
    // A software-pended level interrupt is cleared by its acknowledge.
    g[0]!.write(GIC_DIST + GICD_ISPENDR + 4, 1 << 1)
    expect(g[0]!.mrs(ICC.IAR1_EL1)).toBe(33)
    g[0]!.msr(ICC.EOIR1_EL1, 33)
    expect(g[0]!.mrs(ICC.IAR1_EL1)).toBe(1023)
  })

  test('edge: a pulse latches; a second edge while active is delivered once after the EOI', () => {
    const { vmFd, g } = linuxLike(1)
    configureSpi(g[0]!, 34, { level: false })
    vmFd.irqLine(spi(34), 1)
    vmFd.irqLine(spi(34), 0)
    expect(g[0]!.cif.signal).toBe(SIGNAL_IRQ)
    expect(g[0]!.mrs(ICC.IAR1_EL1)).toBe(34)
    vmFd.irqLine(spi(34), 1)
    vmFd.irqLine(spi(34), 1) // still one edge's worth
    expect(g[0]!.cif.signal).toBe(0)
    g[0]!.msr(ICC.EOIR1_EL1, 34)
    expect(g[0]!.mrs(ICC.IAR1_EL1)).toBe(34)
    g[0]!.msr(ICC.EOIR1_EL1, 34)
    expect(g[0]!.mrs(ICC.IAR1_EL1)).toBe(1023)
  })

  test('GICD_CTLR.EnableGrp1 gates delivery; pending state survives while it is off', () => {
    const { vmFd, g } = linuxLike(1)
    configureSpi(g[0]!, 35)
    g[0]!.write(GIC_DIST + GICD_CTLR, 0)
    vmFd.irqLine(spi(35), 1)
    expect(g[0]!.cif.signal).toBe(0)
    expect(g[0]!.mrs(ICC.IAR1_EL1)).toBe(1023)
    expect(g[0]!.read(GIC_DIST + GICD_ISPENDR + 4)).toBe(1 << 3)
    g[0]!.write(GIC_DIST + GICD_CTLR, 2)
    expect(g[0]!.cif.signal).toBe(SIGNAL_IRQ)
  })
})

describe('priorities', () => {
  test('PMR masks interrupts at or below its priority; lowering the mask releases them', () => {
    const { vmFd, g } = linuxLike(1)
    configureSpi(g[0]!, 36, { priority: 0xc0 })
    g[0]!.msr(ICC.PMR_EL1, 0xc0)
    vmFd.irqLine(spi(36), 1)
    expect(g[0]!.cif.signal).toBe(0)
    expect(g[0]!.mrs(ICC.HPPIR1_EL1)).toBe(36) // pending, just masked
    g[0]!.msr(ICC.PMR_EL1, 0xc8)
    expect(g[0]!.cif.signal).toBe(SIGNAL_IRQ)
  })

  test('running priority: only a higher group priority preempts the active interrupt; BPR decides the group', () => {
    const { vmFd, g } = linuxLike(1)
    const cpu = g[0]!
    configureSpi(cpu, 40, { priority: 0x50 })
    configureSpi(cpu, 41, { priority: 0x48 })
    configureSpi(cpu, 42, { priority: 0x50 })
    cpu.msr(ICC.BPR1_EL1, 3) // group priority = priority[7:3]
    vmFd.irqLine(spi(40), 1)
    expect(cpu.mrs(ICC.IAR1_EL1)).toBe(40)
    expect(cpu.mrs(ICC.RPR_EL1)).toBe(0x50)
    vmFd.irqLine(spi(42), 1) // same priority: waits
    expect(cpu.cif.signal).toBe(0)
    vmFd.irqLine(spi(41), 1) // 0x48 < 0x50: preempts
    expect(cpu.cif.signal).toBe(SIGNAL_IRQ)
    expect(cpu.mrs(ICC.IAR1_EL1)).toBe(41)
    expect(cpu.mrs(ICC.RPR_EL1)).toBe(0x48)
    cpu.msr(ICC.EOIR1_EL1, 41)
    cpu.msr(ICC.EOIR1_EL1, 40)
    expect(cpu.mrs(ICC.IAR1_EL1)).toBe(42)
    cpu.msr(ICC.EOIR1_EL1, 42)

    // With BPR1 = 6 the group priority is priority[7:6]: 0x48 and 0x50 are both group 0x40.
    cpu.msr(ICC.BPR1_EL1, 6)
    vmFd.irqLine(spi(40), 1)
    expect(cpu.mrs(ICC.IAR1_EL1)).toBe(40)
    expect(cpu.mrs(ICC.RPR_EL1)).toBe(0x40)
    vmFd.irqLine(spi(41), 1)
    expect(cpu.cif.signal).toBe(0)
    expect(cpu.mrs(ICC.IAR1_EL1)).toBe(1023)
    cpu.msr(ICC.EOIR1_EL1, 40)
    expect(cpu.mrs(ICC.IAR1_EL1)).toBe(41)
  })

  test('ties go to the lowest INTID', () => {
    const { g } = linuxLike(1)
    g[0]!.write(g[0]!.redist(GICR_IPRIORITYR0), 0x8080_8080)
    g[0]!.write(g[0]!.redist(GICR_ISPENDR0), 0b1100)
    expect(g[0]!.mrs(ICC.IAR1_EL1)).toBe(2)
  })
})

describe('EOImode', () => {
  test('EOImode 0: EOIR drops the priority and deactivates; DIR is ignored', () => {
    const { g } = linuxLike(1, 0)
    const cpu = g[0]!
    cpu.write(cpu.redist(GICR_ISPENDR0), 1 << 1)
    expect(cpu.mrs(ICC.IAR1_EL1)).toBe(1)
    cpu.msr(ICC.DIR_EL1, 1)
    expect(cpu.read(cpu.redist(GICR_ISACTIVER0))).toBe(2)
    cpu.msr(ICC.EOIR1_EL1, 1)
    expect(cpu.read(cpu.redist(GICR_ISACTIVER0))).toBe(0)
    expect(cpu.mrs(ICC.RPR_EL1)).toBe(0xff)
  })

  test('EOImode 1: EOIR only drops the priority, the interrupt stays active until DIR', () => {
    const { vmFd, g } = linuxLike(1, 1)
    const cpu = g[0]!
    configureSpi(cpu, 50, { level: true })
    vmFd.irqLine(spi(50), 1)
    expect(cpu.mrs(ICC.IAR1_EL1)).toBe(50)
    cpu.msr(ICC.EOIR1_EL1, 50)
    expect(cpu.mrs(ICC.RPR_EL1)).toBe(0xff)
    expect(cpu.read(GIC_DIST + GICD_ISACTIVER + 4)).toBe(1 << 18)
    expect(cpu.cif.signal).toBe(0) // still active: not presented again though its line is high
    vmFd.irqLine(spi(50), 0)
    cpu.msr(ICC.DIR_EL1, 50)
    expect(cpu.read(GIC_DIST + GICD_ISACTIVER + 4)).toBe(0)
    expect(cpu.cif.signal).toBe(0)
  })
})

describe('save and restore through the device attributes', () => {
  /** Every register group QEMU's kvm_arm_gicv3_get/put moves, for 288 interrupts and `vcpus` vCPUs. */
  function save(m: GicMachine) {
    const gic = m.gic
    const mpidrs = m.vcpus.map((v) => v.vcpu.mpidr)
    const dist = new Map<number, bigint>()
    for (const offset of [0x0, 0x8, 0xc]) dist.set(offset, gic.getAttrValue(KVM_DEV_ARM_VGIC_GRP_DIST_REGS, offset, 4))
    for (const base of [0x80, 0x100, 0x200, 0x300]) for (let i = 1; i < 9; i++) dist.set(base + 4 * i, gic.getAttrValue(KVM_DEV_ARM_VGIC_GRP_DIST_REGS, base + 4 * i, 4))
    for (let i = 8; i < 72; i++) dist.set(0x400 + 4 * i, gic.getAttrValue(KVM_DEV_ARM_VGIC_GRP_DIST_REGS, 0x400 + 4 * i, 4))
    for (let i = 2; i < 18; i++) dist.set(0xc00 + 4 * i, gic.getAttrValue(KVM_DEV_ARM_VGIC_GRP_DIST_REGS, 0xc00 + 4 * i, 4))
    for (let n = 32; n < 288; n++) dist.set(0x6000 + 8 * n, gic.getAttrValue(KVM_DEV_ARM_VGIC_GRP_DIST_REGS, 0x6000 + 8 * n, 4))
    const levels = new Map<number, bigint>()
    for (let n = 32; n < 288; n += 32) levels.set(n, gic.getAttrValue(KVM_DEV_ARM_VGIC_GRP_LEVEL_INFO, vgicVcpuAttr(mpidrs[0]!, n), 4))
    const perVcpu = mpidrs.map((mpidr) => {
      const regs = new Map<number, bigint>()
      for (const offset of [0x1_0080, 0x1_0100, 0x1_0200, 0x1_0300, 0x1_0c00, 0x1_0c04]) regs.set(offset, gic.getAttrValue(KVM_DEV_ARM_VGIC_GRP_REDIST_REGS, vgicVcpuAttr(mpidr, offset), 4))
      for (let i = 0; i < 8; i++) regs.set(0x1_0400 + 4 * i, gic.getAttrValue(KVM_DEV_ARM_VGIC_GRP_REDIST_REGS, vgicVcpuAttr(mpidr, 0x1_0400 + 4 * i), 4))
      const sys = new Map<number, bigint>()
      for (const key of [ICC.CTLR_EL1, ICC.PMR_EL1, ICC.BPR0_EL1, ICC.BPR1_EL1, ICC.AP0R0_EL1, ICC.AP1R0_EL1, ICC.IGRPEN0_EL1, ICC.IGRPEN1_EL1]) {
        sys.set(key, gic.getAttrValue(KVM_DEV_ARM_VGIC_GRP_CPU_SYSREGS, vgicVcpuAttr(mpidr, key), 8))
      }
      const ppiLevels = gic.getAttrValue(KVM_DEV_ARM_VGIC_GRP_LEVEL_INFO, vgicVcpuAttr(mpidr, 0), 4)
      return { mpidr, regs, sys, ppiLevels }
    })
    return { dist, levels, perVcpu }
  }

  function restore(m: GicMachine, state: ReturnType<typeof save>): void {
    const gic = m.gic
    // QEMU's order: redistributors and CPU interfaces, then configuration before pending state.
    for (const cpu of state.perVcpu) {
      for (const [offset, value] of cpu.regs) gic.setAttrValue(KVM_DEV_ARM_VGIC_GRP_REDIST_REGS, vgicVcpuAttr(cpu.mpidr, offset), value)
      gic.setAttrValue(KVM_DEV_ARM_VGIC_GRP_LEVEL_INFO, vgicVcpuAttr(cpu.mpidr, 0), cpu.ppiLevels)
      for (const [key, value] of cpu.sys) gic.setAttrValue(KVM_DEV_ARM_VGIC_GRP_CPU_SYSREGS, vgicVcpuAttr(cpu.mpidr, key), value)
    }
    for (const [offset, value] of state.dist) gic.setAttrValue(KVM_DEV_ARM_VGIC_GRP_DIST_REGS, offset, value)
    for (const [n, value] of state.levels) gic.setAttrValue(KVM_DEV_ARM_VGIC_GRP_LEVEL_INFO, vgicVcpuAttr(state.perVcpu[0]!.mpidr, n), value)
  }

  test('a guest mid-interrupt moves to a new VM and carries on exactly where it was', () => {
    const source = linuxLike(2)
    const [a0, a1] = source.g as [ReturnType<typeof guest>, ReturnType<typeof guest>]
    configureSpi(a0, 60, { level: true, priority: 0x80 })
    configureSpi(a0, 61, { level: false, priority: 0x40 })
    a0.write(GIC_DIST + GICD_IROUTER + 8 * 61, 1)
    a1.write(a1.redist(GICR_ISENABLER0), 1 << 20)
    a1.write(a1.redist(GICR_IPRIORITYR0 + 20), 0x30, 1)
    source.vmFd.irqLine(spi(60), 1)
    expect(a0.mrs(ICC.IAR1_EL1)).toBe(60) // vCPU 0 is inside the handler of SPI 60
    source.vmFd.irqLine(spi(61), 1) // edge SPI for vCPU 1, pending
    source.vmFd.irqLine(ppi(1, 20), 1) // level PPI of vCPU 1
    a1.msr(ICC.PMR_EL1, 0x20) // vCPU 1 masks everything for now
    const saved = save(source)

    const target = gicMachine(2)
    restore(target, saved)
    const [b0, b1] = [guest(target, 0), guest(target, 1)]
    expect(save(target)).toEqual(saved)
    expect(b0.mrs(ICC.RPR_EL1)).toBe(0x80)
    expect(b0.read(GIC_DIST + GICD_ISACTIVER + 4)).toBe(1 << 28)
    expect(b1.cif.signal).toBe(0)
    b1.msr(ICC.PMR_EL1, 0xf0)
    expect(b1.mrs(ICC.IAR1_EL1)).toBe(20) // 0x30 beats the SPI's 0x40
    expect(b1.mrs(ICC.IAR1_EL1)).toBe(1023) // which cannot preempt it
    target.vmFd.irqLine(ppi(1, 20), 0)
    b1.msr(ICC.EOIR1_EL1, 20)
    expect(b1.mrs(ICC.IAR1_EL1)).toBe(61)
    // vCPU 0 finishes its handler; the level line of SPI 60 came along and is still high.
    b0.msr(ICC.EOIR1_EL1, 60)
    expect(b0.mrs(ICC.IAR1_EL1)).toBe(60)
    target.vmFd.irqLine(spi(60), 0)
    b0.msr(ICC.EOIR1_EL1, 60)
    expect(b0.cif.signal).toBe(0)
  })
})
