// A VM with vCPUs and a vGICv3 set up the way QEMU's virt machine asks KVM for one, plus
// helpers for what the guest will do once the CPU is wired to the vGIC (MMIO to the GIC
// frames, ICC_* accesses): until then tests drive the vCPU side directly.
import {
  ICC,
  KVM_DEV_ARM_VGIC_CTRL_INIT,
  KVM_DEV_ARM_VGIC_GRP_ADDR,
  KVM_DEV_ARM_VGIC_GRP_CTRL,
  KVM_DEV_ARM_VGIC_GRP_NR_IRQS,
  KVM_DEV_TYPE_ARM_VGIC_V3,
  KVM_VGIC_V3_ADDR_TYPE_DIST,
  KVM_VGIC_V3_ADDR_TYPE_REDIST,
  KVM_VGIC_V3_REDIST_SIZE,
  Kvm,
  type CpuInterface,
  type DeviceFd,
  type VcpuFd,
  type VmFd,
} from './index.js'

/** QEMU virt's GICv3 frames (hw/arm/virt.c: VIRT_GIC_DIST, VIRT_GIC_REDIST) and its 288 interrupts. */
export const GIC_DIST = 0x0800_0000
export const GIC_REDIST = 0x080a_0000
export const VIRT_NR_IRQS = 288

export interface GicMachine {
  kvm: Kvm
  vmFd: VmFd
  vcpus: VcpuFd[]
  gic: DeviceFd
}

/** KVM_CREATE_DEVICE + NR_IRQS + addresses + CTRL_INIT at the virt machine's addresses, as QEMU's kvm_arm_gicv3_realize does. */
export function createVirtGic(vmFd: VmFd): DeviceFd {
  const gic = vmFd.createDevice({ type: KVM_DEV_TYPE_ARM_VGIC_V3 })
  gic.setAttrValue(KVM_DEV_ARM_VGIC_GRP_NR_IRQS, 0, VIRT_NR_IRQS)
  gic.setAttrValue(KVM_DEV_ARM_VGIC_GRP_ADDR, KVM_VGIC_V3_ADDR_TYPE_DIST, GIC_DIST)
  gic.setAttrValue(KVM_DEV_ARM_VGIC_GRP_ADDR, KVM_VGIC_V3_ADDR_TYPE_REDIST, GIC_REDIST)
  gic.setAttr({ group: KVM_DEV_ARM_VGIC_GRP_CTRL, attr: KVM_DEV_ARM_VGIC_CTRL_INIT, addr: 0 })
  return gic
}

/** A VM with `vcpuCount` vCPUs and the virt machine's vGICv3 (createVirtGic). */
export function gicMachine(vcpuCount = 2, options: { map?: boolean } = {}): GicMachine {
  const kvm = Kvm.open({ hostMemory: 16 * 1024 * 1024 })
  const vmFd = kvm.createVm({ ipaBits: 40 })
  const vcpus = Array.from({ length: vcpuCount }, (_, id) => vmFd.createVcpu(id))
  const gic = createVirtGic(vmFd)
  // What the first KVM_RUN does (kvm_vgic_map_resources); explicit until the run loop calls it.
  if (options.map ?? true) gic.vgic.mapResources()
  return { kvm, vmFd, vcpus, gic }
}

/** The guest side of vCPU `v`: GIC MMIO and ICC_* system registers. */
export function guest(machine: GicMachine, v: number) {
  const vgic = machine.gic.vgic
  const cif: CpuInterface = vgic.cpuInterface(v)
  return {
    cif,
    read(ipa: number, len: 1 | 4 = 4): number {
      if (!vgic.mmioRead(v, ipa, len)) throw new Error(`0x${ipa.toString(16)} is not a GIC frame`)
      return vgic.dataLo
    },
    write(ipa: number, value: number, len: 1 | 4 | 8 = 4, hi = 0): void {
      if (!vgic.mmioWrite(v, ipa, len, value >>> 0, hi)) throw new Error(`0x${ipa.toString(16)} is not a GIC frame`)
    },
    /** This vCPU's redistributor frame address + `offset`. */
    redist(offset: number, of = v): number {
      return GIC_REDIST + of * KVM_VGIC_V3_REDIST_SIZE + offset
    },
    mrs(key: number): number {
      if (!cif.read(key)) throw new Error(`MRS 0x${key.toString(16)} is UNDEFINED`)
      return cif.valueLo
    },
    msr(key: number, lo: number, hi = 0): void {
      if (!cif.write(key, lo, hi)) throw new Error(`MSR 0x${key.toString(16)} is UNDEFINED`)
    },
    /** What Linux's gic_cpu_sys_reg_init does: PMR 0xf0, BPR1 0, EOImode as asked, group 1 on. */
    openCpuInterface(eoiMode = 0): void {
      this.msr(ICC.PMR_EL1, 0xf0)
      this.msr(ICC.BPR1_EL1, 0)
      this.msr(ICC.CTLR_EL1, eoiMode << 1)
      this.msr(ICC.IGRPEN1_EL1, 1)
    },
  }
}
