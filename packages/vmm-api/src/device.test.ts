// KVM_CREATE_DEVICE, KVM_{SET,GET,HAS}_DEVICE_ATTR for the vGICv3 and KVM_IRQ_LINE, with
// Linux's numbers, encodings and errnos (vgic-kvm-device.c, vgic-init.c, vgic-mmio-v3.c, arm.c).
import { describe, expect, test } from 'vitest'
import { GIC_DIST, GIC_REDIST, gicMachine } from './device-test-support.js'
import {
  ICC,
  KVM_ARM_IRQ_TYPE_CPU,
  KVM_ARM_IRQ_TYPE_PPI,
  KVM_ARM_IRQ_TYPE_SPI,
  KVM_CREATE_DEVICE,
  KVM_CREATE_DEVICE_TEST,
  KVM_DEV_ARM_VGIC_CTRL_INIT,
  KVM_DEV_ARM_VGIC_GRP_ADDR,
  KVM_DEV_ARM_VGIC_GRP_CPU_REGS,
  KVM_DEV_ARM_VGIC_GRP_CPU_SYSREGS,
  KVM_DEV_ARM_VGIC_GRP_CTRL,
  KVM_DEV_ARM_VGIC_GRP_DIST_REGS,
  KVM_DEV_ARM_VGIC_GRP_LEVEL_INFO,
  KVM_DEV_ARM_VGIC_GRP_NR_IRQS,
  KVM_DEV_ARM_VGIC_GRP_REDIST_REGS,
  KVM_DEV_ARM_VGIC_SAVE_PENDING_TABLES,
  KVM_DEV_TYPE_ARM_VGIC_V2,
  KVM_DEV_TYPE_ARM_VGIC_V3,
  KVM_GET_DEVICE_ATTR,
  KVM_HAS_DEVICE_ATTR,
  KVM_IRQ_LINE,
  KVM_SET_DEVICE_ATTR,
  KVM_VGIC_V2_ADDR_TYPE_DIST,
  KVM_VGIC_V3_ADDR_TYPE_DIST,
  KVM_VGIC_V3_ADDR_TYPE_REDIST,
  KVM_VGIC_V3_ADDR_TYPE_REDIST_REGION,
  Kvm,
  ErrnoError,
  KvmError,
  MAP_ANONYMOUS,
  MAP_PRIVATE,
  PROT_READ,
  PROT_WRITE,
  REG_PC,
  kvmIrqNumber,
  redistRegionAttrValue,
  vgicVcpuAttr,
  type DeviceFd,
  type VmFd,
} from './index.js'
import { bootMachine, SPIN_GUEST } from './test-support.js'

function errno(fn: () => unknown): string {
  try {
    fn()
  } catch (error) {
    if (error instanceof ErrnoError) return error.code
    throw error
  }
  return 'no error'
}

function freshVm(vcpus = 1): { kvm: Kvm; vmFd: VmFd } {
  const kvm = Kvm.open({ hostMemory: 16 * 1024 * 1024 })
  const vmFd = kvm.createVm({ ipaBits: 40 })
  for (let id = 0; id < vcpus; id++) vmFd.createVcpu(id)
  return { kvm, vmFd }
}

function newGic(vcpus = 1): { vmFd: VmFd; gic: DeviceFd } {
  const { vmFd } = freshVm(vcpus)
  return { vmFd, gic: vmFd.createDevice({ type: KVM_DEV_TYPE_ARM_VGIC_V3 }) }
}

const ADDR = KVM_DEV_ARM_VGIC_GRP_ADDR

describe('ioctl numbers', () => {
  test('as <linux/kvm.h> computes them', () => {
    expect(KVM_CREATE_DEVICE).toBe(0xc00c_aee0)
    expect(KVM_SET_DEVICE_ATTR).toBe(0x4018_aee1)
    expect(KVM_GET_DEVICE_ATTR).toBe(0x4018_aee2)
    expect(KVM_HAS_DEVICE_ATTR).toBe(0x4018_aee3)
    expect(KVM_IRQ_LINE).toBe(0x4008_ae61)
  })
})

describe('KVM_CREATE_DEVICE', () => {
  test('KVM_CREATE_DEVICE_TEST only checks the type; other types are ENODEV', () => {
    const { vmFd } = freshVm()
    expect(vmFd.createDevice({ type: KVM_DEV_TYPE_ARM_VGIC_V3, flags: KVM_CREATE_DEVICE_TEST })).toBeNull()
    expect(errno(() => vmFd.createDevice({ type: KVM_DEV_TYPE_ARM_VGIC_V2 }))).toBe('ENODEV')
    expect(errno(() => vmFd.createDevice({ type: 99, flags: KVM_CREATE_DEVICE_TEST }))).toBe('ENODEV')
    // The test did not create one:
    expect(vmFd.createDevice({ type: KVM_DEV_TYPE_ARM_VGIC_V3 }).type).toBe(KVM_DEV_TYPE_ARM_VGIC_V3)
  })

  test('a second vGIC is EEXIST (the TEST flag still answers 0)', () => {
    const { vmFd } = newGic()
    expect(errno(() => vmFd.createDevice({ type: KVM_DEV_TYPE_ARM_VGIC_V3 }))).toBe('EEXIST')
    expect(vmFd.createDevice({ type: KVM_DEV_TYPE_ARM_VGIC_V3, flags: KVM_CREATE_DEVICE_TEST })).toBeNull()
  })

  test('EBUSY once a vCPU has run', () => {
    const kvm = Kvm.open({ hostMemory: 64 * 1024 * 1024 })
    const { vmFd, vcpu, ram } = bootMachine(kvm, { ramSize: 1 << 20 })
    kvm.process.userWrite(ram, SPIN_GUEST)
    vcpu.setOneReg(REG_PC, 0x4000_0000n)
    expect(vcpu.run(100).kind).toBe('intr')
    const error = (() => {
      try {
        vmFd.createDevice({ type: KVM_DEV_TYPE_ARM_VGIC_V3 })
      } catch (e) {
        return e
      }
    })()
    expect(error).toBeInstanceOf(KvmError)
    expect((error as KvmError).code).toBe('EBUSY')
    expect((error as KvmError).ioctl).toBe('KVM_CREATE_DEVICE')
  })
})

describe('KVM_DEV_ARM_VGIC_GRP_ADDR', () => {
  test('distributor: set once (EEXIST after), 64 KiB aligned (EINVAL), inside the IPA space (E2BIG); reads back', () => {
    const { gic } = newGic()
    expect(gic.getAttrValue(ADDR, KVM_VGIC_V3_ADDR_TYPE_DIST, 8)).toBe(0xffff_ffff_ffff_ffffn) // VGIC_ADDR_UNDEF
    expect(errno(() => gic.setAttrValue(ADDR, KVM_VGIC_V3_ADDR_TYPE_DIST, 0x0800_1000))).toBe('EINVAL')
    expect(errno(() => gic.setAttrValue(ADDR, KVM_VGIC_V3_ADDR_TYPE_DIST, 2n ** 40n))).toBe('E2BIG')
    expect(errno(() => gic.setAttrValue(ADDR, KVM_VGIC_V3_ADDR_TYPE_DIST, 2n ** 40n - 0x8000n * 2n + 0x1_0000n))).toBe('E2BIG')
    expect(errno(() => gic.setAttrValue(ADDR, KVM_VGIC_V3_ADDR_TYPE_DIST, 0xffff_ffff_ffff_0000n))).toBe('EINVAL') // wraps
    gic.setAttrValue(ADDR, KVM_VGIC_V3_ADDR_TYPE_DIST, GIC_DIST)
    expect(gic.getAttrValue(ADDR, KVM_VGIC_V3_ADDR_TYPE_DIST, 8)).toBe(BigInt(GIC_DIST))
    expect(errno(() => gic.setAttrValue(ADDR, KVM_VGIC_V3_ADDR_TYPE_DIST, 0x0900_0000))).toBe('EEXIST')
  })

  test('legacy redistributor base: sized by the vCPUs, must not overlap the distributor; twice is EEXIST', () => {
    const { gic } = newGic(2)
    gic.setAttrValue(ADDR, KVM_VGIC_V3_ADDR_TYPE_DIST, GIC_DIST)
    // Two redistributors at 0x07fe_0000 would cover 0x07fe_0000..0x0802_0000, over the distributor.
    expect(errno(() => gic.setAttrValue(ADDR, KVM_VGIC_V3_ADDR_TYPE_REDIST, 0x07fe_0000))).toBe('EINVAL')
    expect(gic.getAttrValue(ADDR, KVM_VGIC_V3_ADDR_TYPE_REDIST, 8)).toBe(0xffff_ffff_ffff_ffffn)
    gic.setAttrValue(ADDR, KVM_VGIC_V3_ADDR_TYPE_REDIST, GIC_REDIST)
    expect(gic.getAttrValue(ADDR, KVM_VGIC_V3_ADDR_TYPE_REDIST, 8)).toBe(BigInt(GIC_REDIST))
    expect(errno(() => gic.setAttrValue(ADDR, KVM_VGIC_V3_ADDR_TYPE_REDIST, 0x1000_0000))).toBe('EEXIST')
    // KVM lets a sized region follow the legacy one (it never fills, so the region stays unused).
    expect(errno(() => gic.setAttrValue(ADDR, KVM_VGIC_V3_ADDR_TYPE_REDIST_REGION, redistRegionAttrValue(1, 0x1000_0000n, 1)))).toBe('no error')
    expect(gic.vgic.redistBaseOf(1)).toBe(GIC_REDIST + 0x2_0000)
  })

  test('redistributor regions: index order, a count, no flags, no overlap; read back by index (ENOENT if absent)', () => {
    const { gic } = newGic(3)
    const region = (index: number, base: bigint, count: number, flags = 0n) =>
      errno(() => gic.setAttrValue(ADDR, KVM_VGIC_V3_ADDR_TYPE_REDIST_REGION, redistRegionAttrValue(index, base, count) | (flags << 12n)))
    expect(region(1, 0x0a00_0000n, 1)).toBe('EINVAL') // must start at index 0
    expect(region(0, 0x0a00_0000n, 0)).toBe('EINVAL') // no count
    expect(region(0, 0x0a00_0000n, 1, 1n)).toBe('EINVAL') // flags
    expect(region(0, 0x0a00_8000n, 1)).toBe('EINVAL') // misaligned
    expect(region(0, 0x0a00_0000n, 2)).toBe('no error')
    expect(region(2, 0x0b00_0000n, 1)).toBe('EINVAL') // skips index 1
    expect(region(1, 0x0a02_0000n, 1)).toBe('EINVAL') // overlaps region 0
    expect(region(1, 0x0b00_0000n, 1)).toBe('no error')
    expect(errno(() => gic.setAttrValue(ADDR, KVM_VGIC_V3_ADDR_TYPE_REDIST, 0x0c00_0000))).toBe('EINVAL') // no legacy after regions
    expect(gic.getAttrValue(ADDR, KVM_VGIC_V3_ADDR_TYPE_REDIST_REGION, 8, 1n)).toBe(redistRegionAttrValue(1, 0x0b00_0000n, 1))
    expect(gic.getAttrValue(ADDR, KVM_VGIC_V3_ADDR_TYPE_REDIST_REGION, 8, 0n)).toBe(redistRegionAttrValue(0, 0x0a00_0000n, 2))
    expect(errno(() => gic.getAttrValue(ADDR, KVM_VGIC_V3_ADDR_TYPE_REDIST_REGION, 8, 7n))).toBe('ENOENT')
    // The third vCPU lands in region 1; it is the last redistributor there.
    expect(gic.vgic.redistBaseOf(2)).toBe(0x0b00_0000)
  })

  test('GICv2 and unknown address types are ENXIO', () => {
    const { gic } = newGic()
    expect(errno(() => gic.setAttrValue(ADDR, KVM_VGIC_V2_ADDR_TYPE_DIST, GIC_DIST))).toBe('ENXIO')
    expect(errno(() => gic.getAttrValue(ADDR, 9, 8))).toBe('ENXIO')
    expect(errno(() => gic.hasAttr({ group: ADDR, attr: KVM_VGIC_V2_ADDR_TYPE_DIST, addr: 0 }))).toBe('ENXIO')
    gic.hasAttr({ group: ADDR, attr: KVM_VGIC_V3_ADDR_TYPE_REDIST_REGION, addr: 0 })
  })

  test('values come through user memory: a VMM address works, an unmapped one is EFAULT, a short buffer too', () => {
    const { vmFd, gic } = newGic()
    const kvm = vmFd.kvm
    const page = kvm.mmap({ length: 4096, prot: PROT_READ | PROT_WRITE, flags: MAP_PRIVATE | MAP_ANONYMOUS })
    kvm.process.userWrite(page, new Uint8Array(new BigUint64Array([BigInt(GIC_DIST)]).buffer))
    gic.setAttr({ group: ADDR, attr: KVM_VGIC_V3_ADDR_TYPE_DIST, addr: page })
    gic.getAttr({ group: ADDR, attr: KVM_VGIC_V3_ADDR_TYPE_DIST, addr: page + 8 })
    const back = new Uint8Array(8)
    kvm.process.userRead(page + 8, back)
    expect(new BigUint64Array(back.buffer)[0]).toBe(BigInt(GIC_DIST))
    expect(errno(() => gic.setAttr({ group: ADDR, attr: KVM_VGIC_V3_ADDR_TYPE_REDIST, addr: 0x7000_0000 }))).toBe('EFAULT')
    expect(errno(() => gic.setAttr({ group: ADDR, attr: KVM_VGIC_V3_ADDR_TYPE_REDIST, addr: new Uint32Array(1) }))).toBe('EFAULT')
    expect(gic.vgic.redistBase).toBe(-1) // nothing changed
  })
})

describe('KVM_DEV_ARM_VGIC_GRP_NR_IRQS and GRP_CTRL', () => {
  test('NR_IRQS: 32 before anyone set it; 64..992 in steps of 32 (EINVAL), only once (EBUSY)', () => {
    const { gic } = newGic()
    expect(gic.getAttrValue(KVM_DEV_ARM_VGIC_GRP_NR_IRQS, 0, 4)).toBe(32n)
    for (const bad of [32, 48, 70, 1024, 1023]) expect(errno(() => gic.setAttrValue(KVM_DEV_ARM_VGIC_GRP_NR_IRQS, 0, bad))).toBe('EINVAL')
    gic.setAttrValue(KVM_DEV_ARM_VGIC_GRP_NR_IRQS, 0, 992)
    expect(gic.getAttrValue(KVM_DEV_ARM_VGIC_GRP_NR_IRQS, 0, 4)).toBe(992n)
    expect(errno(() => gic.setAttrValue(KVM_DEV_ARM_VGIC_GRP_NR_IRQS, 0, 288))).toBe('EBUSY')
  })

  test('CTRL_INIT fixes 256 interrupts when none were chosen; twice is fine; other controls are ENXIO', () => {
    const { gic } = newGic()
    gic.setAttr({ group: KVM_DEV_ARM_VGIC_GRP_CTRL, attr: KVM_DEV_ARM_VGIC_CTRL_INIT, addr: 0 })
    gic.setAttr({ group: KVM_DEV_ARM_VGIC_GRP_CTRL, attr: KVM_DEV_ARM_VGIC_CTRL_INIT, addr: 0 })
    expect(gic.getAttrValue(KVM_DEV_ARM_VGIC_GRP_NR_IRQS, 0, 4)).toBe(256n)
    gic.setAttr({ group: KVM_DEV_ARM_VGIC_GRP_CTRL, attr: KVM_DEV_ARM_VGIC_SAVE_PENDING_TABLES, addr: 0 })
    expect(errno(() => gic.setAttr({ group: KVM_DEV_ARM_VGIC_GRP_CTRL, attr: 1, addr: 0 }))).toBe('ENXIO')
    expect(errno(() => gic.getAttr({ group: KVM_DEV_ARM_VGIC_GRP_CTRL, attr: KVM_DEV_ARM_VGIC_CTRL_INIT, addr: new Uint32Array(1) }))).toBe('ENXIO')
    expect(errno(() => gic.setAttr({ group: 42, attr: 0, addr: 0 }))).toBe('ENXIO')
  })
})

describe('the first run (kvm_vgic_map_resources)', () => {
  // Called directly until KVM_RUN calls it.
  test('ENXIO without a redistributor for every vCPU or without a distributor; a failure resets the vGIC', () => {
    const { gic } = newGic(2)
    gic.setAttrValue(ADDR, KVM_VGIC_V3_ADDR_TYPE_DIST, GIC_DIST)
    gic.setAttrValue(ADDR, KVM_VGIC_V3_ADDR_TYPE_REDIST_REGION, redistRegionAttrValue(0, BigInt(GIC_REDIST), 1))
    gic.setAttr({ group: KVM_DEV_ARM_VGIC_GRP_CTRL, attr: KVM_DEV_ARM_VGIC_CTRL_INIT, addr: 0 })
    expect(errno(() => gic.vgic.mapResources())).toBe('ENXIO')
    expect(gic.vgic.initialized).toBe(false)
    expect(gic.vgic.distBase).toBe(-1)
    const other = newGic(1).gic
    other.setAttrValue(ADDR, KVM_VGIC_V3_ADDR_TYPE_REDIST, GIC_REDIST)
    expect(errno(() => other.vgic.mapResources())).toBe('ENXIO')
  })

  test('EBUSY before CTRL_INIT; EINVAL when the redistributors grew into the distributor', () => {
    const { gic } = newGic(1)
    gic.setAttrValue(ADDR, KVM_VGIC_V3_ADDR_TYPE_DIST, GIC_DIST)
    gic.setAttrValue(ADDR, KVM_VGIC_V3_ADDR_TYPE_REDIST, GIC_REDIST)
    expect(errno(() => gic.vgic.mapResources())).toBe('EBUSY')

    const { vmFd, gic: late } = newGic(1)
    late.setAttrValue(ADDR, KVM_VGIC_V3_ADDR_TYPE_REDIST, GIC_DIST - 0x2_0000) // one redistributor fits below
    late.setAttrValue(ADDR, KVM_VGIC_V3_ADDR_TYPE_DIST, GIC_DIST)
    vmFd.createVcpu(1) // the legacy region now reaches the distributor
    late.setAttr({ group: KVM_DEV_ARM_VGIC_GRP_CTRL, attr: KVM_DEV_ARM_VGIC_CTRL_INIT, addr: 0 })
    expect(errno(() => late.vgic.mapResources())).toBe('EINVAL')
  })

  test('with everything set the frames answer guest MMIO', () => {
    const { gic } = gicMachine(2)
    expect(gic.vgic.ready).toBe(true)
    expect(gic.vgic.mmioRead(0, GIC_DIST + 0xffe8, 4)).toBe(true)
    expect(gic.vgic.dataLo).toBe(0x3b)
  })
})

describe('register groups', () => {
  test('EBUSY before CTRL_INIT; EINVAL for an MPIDR no vCPU has', () => {
    const { gic } = newGic(1)
    expect(errno(() => gic.getAttrValue(KVM_DEV_ARM_VGIC_GRP_DIST_REGS, 0, 4))).toBe('EBUSY')
    expect(errno(() => gic.getAttrValue(KVM_DEV_ARM_VGIC_GRP_REDIST_REGS, vgicVcpuAttr(0x8000_0000n, 0x8), 4))).toBe('EBUSY')
    expect(errno(() => gic.getAttrValue(KVM_DEV_ARM_VGIC_GRP_REDIST_REGS, vgicVcpuAttr(0x8000_0001n, 0x8), 4))).toBe('EINVAL')
    expect(errno(() => gic.getAttrValue(KVM_DEV_ARM_VGIC_GRP_CPU_SYSREGS, vgicVcpuAttr(0x100n, ICC.PMR_EL1), 8))).toBe('EINVAL')
  })

  test('distributor and redistributor registers read as the guest sees them; offsets with nothing read 0', () => {
    const { gic } = gicMachine(2)
    expect(gic.getAttrValue(KVM_DEV_ARM_VGIC_GRP_DIST_REGS, 0x4, 4)).toBe(0x48_0008n) // GICD_TYPER, 288 interrupts
    expect(gic.getAttrValue(KVM_DEV_ARM_VGIC_GRP_DIST_REGS, 0x5000, 4)).toBe(0n)
    const typer = gic.getAttrValue(KVM_DEV_ARM_VGIC_GRP_REDIST_REGS, vgicVcpuAttr(0x8000_0001n, 0x8), 4)
    expect(typer).toBe((1n << 8n) | 0x10n)
    expect(gic.getAttrValue(KVM_DEV_ARM_VGIC_GRP_REDIST_REGS, vgicVcpuAttr(0x8000_0001n, 0xc), 4)).toBe(1n)
  })

  test('restores: GICD_IIDR takes revision 2 or 3 only (EINVAL), TYPER2 only its value, GICR_TYPER writes are ignored', () => {
    const { gic } = gicMachine(1)
    const dist = (offset: number, value: number) => errno(() => gic.setAttrValue(KVM_DEV_ARM_VGIC_GRP_DIST_REGS, offset, value))
    expect(dist(0x8, 0x4b00_443b)).toBe('EINVAL')
    expect(dist(0x8, 0x4b00_343c)).toBe('EINVAL')
    expect(dist(0x8, 0x4b00_243b)).toBe('no error')
    expect(gic.getAttrValue(KVM_DEV_ARM_VGIC_GRP_REDIST_REGS, vgicVcpuAttr(0x8000_0000n, 0), 4)).toBe(0n) // GICR_CTLR: no IR/CES at rev 2
    expect(dist(0xc, 1)).toBe('EINVAL')
    expect(dist(0xc, 0)).toBe('no error')
    gic.setAttrValue(KVM_DEV_ARM_VGIC_GRP_REDIST_REGS, vgicVcpuAttr(0x8000_0000n, 0x8), 0xffff)
    expect(gic.getAttrValue(KVM_DEV_ARM_VGIC_GRP_REDIST_REGS, vgicVcpuAttr(0x8000_0000n, 0x8), 4)).toBe(0x10n)
  })

  test('CPU system registers: u64 values, ENXIO for registers not saved, EINVAL for values KVM refuses', () => {
    const { gic } = gicMachine(1)
    const attr = (key: number) => vgicVcpuAttr(0x8000_0000n, key)
    expect(gic.getAttrValue(KVM_DEV_ARM_VGIC_GRP_CPU_SYSREGS, attr(ICC.CTLR_EL1), 8)).toBe(0x8400n)
    gic.setAttrValue(KVM_DEV_ARM_VGIC_GRP_CPU_SYSREGS, attr(ICC.PMR_EL1), 0xf0)
    expect(gic.getAttrValue(KVM_DEV_ARM_VGIC_GRP_CPU_SYSREGS, attr(ICC.PMR_EL1), 8)).toBe(0xf0n)
    expect(errno(() => gic.getAttrValue(KVM_DEV_ARM_VGIC_GRP_CPU_SYSREGS, attr(ICC.IAR1_EL1), 8))).toBe('ENXIO')
    expect(errno(() => gic.getAttrValue(KVM_DEV_ARM_VGIC_GRP_CPU_SYSREGS, attr(ICC.AP1R1_EL1), 8))).toBe('EINVAL')
    expect(errno(() => gic.setAttrValue(KVM_DEV_ARM_VGIC_GRP_CPU_SYSREGS, attr(ICC.CTLR_EL1), 0x8500))).toBe('EINVAL') // 6 priority bits
    expect(errno(() => gic.setAttrValue(KVM_DEV_ARM_VGIC_GRP_CPU_SYSREGS, attr(ICC.CTLR_EL1), 0x0400))).toBe('EINVAL') // A3V differs
    expect(errno(() => gic.setAttrValue(KVM_DEV_ARM_VGIC_GRP_CPU_SYSREGS, attr(ICC.SRE_EL1), 0))).toBe('EINVAL')
    gic.setAttrValue(KVM_DEV_ARM_VGIC_GRP_CPU_SYSREGS, attr(ICC.CTLR_EL1), 0x8302) // 4 priority bits, EOImode
    expect(gic.getAttrValue(KVM_DEV_ARM_VGIC_GRP_CPU_SYSREGS, attr(ICC.CTLR_EL1), 8)).toBe(0x8302n)
  })

  test('LEVEL_INFO: 32 lines from a multiple of 32 (EINVAL otherwise), info type 0 only', () => {
    const { gic } = gicMachine(1)
    expect(errno(() => gic.getAttrValue(KVM_DEV_ARM_VGIC_GRP_LEVEL_INFO, vgicVcpuAttr(0x8000_0000n, 40), 4))).toBe('EINVAL')
    expect(errno(() => gic.getAttrValue(KVM_DEV_ARM_VGIC_GRP_LEVEL_INFO, vgicVcpuAttr(0x8000_0000n, (1 << 10) | 32), 4))).toBe('EINVAL')
    gic.setAttrValue(KVM_DEV_ARM_VGIC_GRP_LEVEL_INFO, vgicVcpuAttr(0x8000_0000n, 0), 0xffff_ffff)
    // SGIs have no line; PPIs are level-sensitive and report theirs.
    expect(gic.getAttrValue(KVM_DEV_ARM_VGIC_GRP_LEVEL_INFO, vgicVcpuAttr(0x8000_0000n, 0), 4)).toBe(0xffff_0000n)
    // SPIs are edge until configured: their lines are kept but not reported.
    gic.setAttrValue(KVM_DEV_ARM_VGIC_GRP_LEVEL_INFO, vgicVcpuAttr(0x8000_0000n, 32), 0x3)
    expect(gic.getAttrValue(KVM_DEV_ARM_VGIC_GRP_LEVEL_INFO, vgicVcpuAttr(0x8000_0000n, 32), 4)).toBe(0n)
    gic.setAttrValue(KVM_DEV_ARM_VGIC_GRP_DIST_REGS, 0xc08, 0) // ICFGR2: SPIs 32..47 level
    expect(gic.getAttrValue(KVM_DEV_ARM_VGIC_GRP_LEVEL_INFO, vgicVcpuAttr(0x8000_0000n, 32), 4)).toBe(3n)
  })

  test('KVM_HAS_DEVICE_ATTR', () => {
    const { gic } = gicMachine(1)
    const has = (group: number, attr: bigint | number) => errno(() => gic.hasAttr({ group, attr, addr: 0 }))
    expect(has(KVM_DEV_ARM_VGIC_GRP_NR_IRQS, 0)).toBe('no error')
    expect(has(KVM_DEV_ARM_VGIC_GRP_CTRL, KVM_DEV_ARM_VGIC_CTRL_INIT)).toBe('no error')
    expect(has(KVM_DEV_ARM_VGIC_GRP_CTRL, 2)).toBe('ENXIO')
    expect(has(KVM_DEV_ARM_VGIC_GRP_DIST_REGS, 0x6100)).toBe('no error') // IROUTER32
    expect(has(KVM_DEV_ARM_VGIC_GRP_DIST_REGS, 0x6102)).toBe('ENXIO') // misaligned
    expect(has(KVM_DEV_ARM_VGIC_GRP_DIST_REGS, 0x6000 + 8 * 300)).toBe('ENXIO') // beyond 288 interrupts
    expect(has(KVM_DEV_ARM_VGIC_GRP_DIST_REGS, 0x5000)).toBe('ENXIO')
    expect(has(KVM_DEV_ARM_VGIC_GRP_REDIST_REGS, vgicVcpuAttr(0x8000_0000n, 0x1_0100))).toBe('no error')
    expect(has(KVM_DEV_ARM_VGIC_GRP_REDIST_REGS, vgicVcpuAttr(0x8000_0005n, 0x1_0100))).toBe('EINVAL')
    expect(has(KVM_DEV_ARM_VGIC_GRP_CPU_SYSREGS, vgicVcpuAttr(0x8000_0000n, ICC.IGRPEN1_EL1))).toBe('no error')
    expect(has(KVM_DEV_ARM_VGIC_GRP_CPU_SYSREGS, vgicVcpuAttr(0x8000_0000n, ICC.EOIR1_EL1))).toBe('ENXIO')
    expect(has(KVM_DEV_ARM_VGIC_GRP_LEVEL_INFO, 0)).toBe('no error')
    expect(has(KVM_DEV_ARM_VGIC_GRP_LEVEL_INFO, 1 << 10)).toBe('ENXIO')
    expect(has(KVM_DEV_ARM_VGIC_GRP_CPU_REGS, 0)).toBe('ENXIO') // a GICv2 group
  })
})

describe('KVM_IRQ_LINE', () => {
  test('the irq field: type 27:24, vCPU 23:16 (+256 per step of 31:28), number 15:0', () => {
    expect(kvmIrqNumber(KVM_ARM_IRQ_TYPE_SPI, 0, 33)).toBe(0x0100_0021)
    expect(kvmIrqNumber(KVM_ARM_IRQ_TYPE_PPI, 3, 27)).toBe(0x0203_001b)
    expect(kvmIrqNumber(KVM_ARM_IRQ_TYPE_PPI, 300, 27)).toBe(0x122c_001b)
  })

  test('without an in-kernel irqchip: SPI and PPI are ENXIO; the CPU lines need a valid vCPU and line', () => {
    const { vmFd } = freshVm(1)
    expect(errno(() => vmFd.irqLine(kvmIrqNumber(KVM_ARM_IRQ_TYPE_SPI, 0, 33), 1))).toBe('ENXIO')
    expect(errno(() => vmFd.irqLine(kvmIrqNumber(KVM_ARM_IRQ_TYPE_PPI, 0, 20), 1))).toBe('ENXIO')
    expect(errno(() => vmFd.irqLine(kvmIrqNumber(KVM_ARM_IRQ_TYPE_CPU, 1, 0), 1))).toBe('EINVAL')
    expect(errno(() => vmFd.irqLine(kvmIrqNumber(KVM_ARM_IRQ_TYPE_CPU, 0, 2), 1))).toBe('EINVAL')
    vmFd.irqLine(kvmIrqNumber(KVM_ARM_IRQ_TYPE_CPU, 0, 1), 1)
  })

  test('with the vGIC: EBUSY before INIT; EINVAL for a bad vCPU, PPI outside 16..31, SPI below 32 or beyond; ENXIO for CPU lines', () => {
    const { vmFd, gic } = newGic(1)
    expect(errno(() => vmFd.irqLine(kvmIrqNumber(KVM_ARM_IRQ_TYPE_SPI, 0, 33), 1))).toBe('EBUSY')
    gic.setAttr({ group: KVM_DEV_ARM_VGIC_GRP_CTRL, attr: KVM_DEV_ARM_VGIC_CTRL_INIT, addr: 0 })
    const line = (type: number, vcpu: number, num: number) => errno(() => vmFd.irqLine(kvmIrqNumber(type, vcpu, num), 1))
    expect(line(KVM_ARM_IRQ_TYPE_CPU, 0, 0)).toBe('ENXIO')
    expect(line(KVM_ARM_IRQ_TYPE_PPI, 1, 20)).toBe('EINVAL')
    expect(line(KVM_ARM_IRQ_TYPE_PPI, 0, 15)).toBe('EINVAL')
    expect(line(KVM_ARM_IRQ_TYPE_PPI, 0, 32)).toBe('EINVAL')
    expect(line(KVM_ARM_IRQ_TYPE_SPI, 0, 31)).toBe('EINVAL')
    expect(line(KVM_ARM_IRQ_TYPE_SPI, 0, 256)).toBe('EINVAL') // 256 interrupts: SPIs 32..255
    expect(line(3, 0, 40)).toBe('EINVAL')
    expect(line(KVM_ARM_IRQ_TYPE_SPI, 0, 255)).toBe('no error')
    expect(line(KVM_ARM_IRQ_TYPE_PPI, 0, 23)).toBe('no error')
  })
})
