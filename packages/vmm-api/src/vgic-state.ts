// Saving and restoring a vGICv3 the way QEMU does it under KVM (hw/intc/arm_gicv3_kvm.c:
// kvm_arm_gicv3_get / kvm_arm_gicv3_put): only through KVM_GET/SET_DEVICE_ATTR, the
// distributor's registers, each redistributor's SGI/PPI registers, each CPU interface's
// ICC registers and the line levels, as plain numbers a snapshot can hold as JSON.
import { ICC } from '@tagvm/hypervisor'
import {
  KVM_DEV_ARM_VGIC_GRP_CPU_SYSREGS,
  KVM_DEV_ARM_VGIC_GRP_DIST_REGS,
  KVM_DEV_ARM_VGIC_GRP_LEVEL_INFO,
  KVM_DEV_ARM_VGIC_GRP_REDIST_REGS,
  vgicVcpuAttr,
  type DeviceFd,
} from './device.js'
import type { VcpuFd } from './kvm.js'

/** [offset or key, value] pairs: every value is a 32-bit register. */
export type RegisterValues = [number, number][]

/** A vGICv3's saved state: what `saveVgicV3` reads and `restoreVgicV3` writes back. */
export interface VgicV3State {
  readonly nrIrqs: number
  readonly dist: RegisterValues
  /** GRP_LEVEL_INFO of the SPIs, per 32 interrupts from INTID 32. */
  readonly spiLevels: RegisterValues
  readonly vcpus: { readonly redist: RegisterValues; readonly sys: RegisterValues; readonly ppiLevels: number }[]
}

const GICR_SGI = 0x1_0000
/** The CPU interface registers QEMU moves (ICC_AP*R0 only: 5 priority bits). */
const ICC_SAVED = [ICC.CTLR_EL1, ICC.PMR_EL1, ICC.BPR0_EL1, ICC.BPR1_EL1, ICC.AP0R0_EL1, ICC.AP1R0_EL1, ICC.IGRPEN0_EL1, ICC.IGRPEN1_EL1]

/** Distributor offsets in restore order: control, then configuration, then routing, then state. */
function distOffsets(nrIrqs: number): number[] {
  const words = nrIrqs / 32
  const offsets = [0x0]
  const bitmap = (base: number): void => {
    for (let i = 1; i < words; i++) offsets.push(base + 4 * i)
  }
  bitmap(0x080) // IGROUPR
  for (let i = 8; i < nrIrqs / 4; i++) offsets.push(0x400 + 4 * i) // IPRIORITYR
  for (let i = 2; i < nrIrqs / 16; i++) offsets.push(0xc00 + 4 * i) // ICFGR
  for (let n = 32; n < nrIrqs; n++) offsets.push(0x6000 + 8 * n) // IROUTER (Aff2..0)
  bitmap(0x100) // ISENABLER
  bitmap(0x200) // ISPENDR (the latch; line levels go separately)
  bitmap(0x300) // ISACTIVER
  return offsets
}

/** Redistributor (SGI frame) offsets in restore order. */
const REDIST_OFFSETS = [
  GICR_SGI + 0x080, // IGROUPR0
  ...Array.from({ length: 8 }, (_, i) => GICR_SGI + 0x400 + 4 * i), // IPRIORITYR0..7
  GICR_SGI + 0xc00, // ICFGR0
  GICR_SGI + 0xc04, // ICFGR1
  GICR_SGI + 0x100, // ISENABLER0
  GICR_SGI + 0x200, // ISPENDR0
  GICR_SGI + 0x300, // ISACTIVER0
]

const n32 = (v: bigint): number => Number(v & 0xffff_ffffn)

/** The vGIC's whole state (KVM_GET_DEVICE_ATTR only). */
export function saveVgicV3(gic: DeviceFd, vcpus: readonly VcpuFd[]): VgicV3State {
  const nrIrqs = gic.vgic.nrIrqs
  const dist: RegisterValues = distOffsets(nrIrqs).map((o) => [o, n32(gic.getAttrValue(KVM_DEV_ARM_VGIC_GRP_DIST_REGS, o, 4))])
  const first = vcpus[0]!.vcpu.mpidr
  const spiLevels: RegisterValues = []
  for (let n = 32; n < nrIrqs; n += 32) spiLevels.push([n, n32(gic.getAttrValue(KVM_DEV_ARM_VGIC_GRP_LEVEL_INFO, vgicVcpuAttr(first, n), 4))])
  return {
    nrIrqs,
    dist,
    spiLevels,
    vcpus: vcpus.map((v) => {
      const mpidr = v.vcpu.mpidr
      return {
        redist: REDIST_OFFSETS.map((o): [number, number] => [o, n32(gic.getAttrValue(KVM_DEV_ARM_VGIC_GRP_REDIST_REGS, vgicVcpuAttr(mpidr, o), 4))]),
        sys: ICC_SAVED.map((key): [number, number] => [key, n32(gic.getAttrValue(KVM_DEV_ARM_VGIC_GRP_CPU_SYSREGS, vgicVcpuAttr(mpidr, key), 8))]),
        ppiLevels: n32(gic.getAttrValue(KVM_DEV_ARM_VGIC_GRP_LEVEL_INFO, vgicVcpuAttr(mpidr, 0), 4)),
      }
    }),
  }
}

/**
 * Puts a saved state into a vGIC with the same interrupts and vCPUs (KVM_SET_DEVICE_ATTR only),
 * in QEMU's order: redistributors and CPU interfaces, then the distributor, configuration
 * before pending state, then the SPI line levels. RangeError when the shapes differ; KVM's
 * errors (a value it refuses) come through as they are.
 */
export function restoreVgicV3(gic: DeviceFd, vcpus: readonly VcpuFd[], state: VgicV3State): void {
  if (state.nrIrqs !== gic.vgic.nrIrqs) throw new RangeError(`the saved vGIC has ${state.nrIrqs} interrupts, this one ${gic.vgic.nrIrqs}`)
  if (state.vcpus.length !== vcpus.length) throw new RangeError(`the saved vGIC serves ${state.vcpus.length} vCPUs, this one ${vcpus.length}`)
  state.vcpus.forEach((saved, i) => {
    const mpidr = vcpus[i]!.vcpu.mpidr
    for (const [o, value] of saved.redist) gic.setAttrValue(KVM_DEV_ARM_VGIC_GRP_REDIST_REGS, vgicVcpuAttr(mpidr, o), value)
    gic.setAttrValue(KVM_DEV_ARM_VGIC_GRP_LEVEL_INFO, vgicVcpuAttr(mpidr, 0), saved.ppiLevels)
    for (const [key, value] of saved.sys) gic.setAttrValue(KVM_DEV_ARM_VGIC_GRP_CPU_SYSREGS, vgicVcpuAttr(mpidr, key), value)
  })
  for (const [o, value] of state.dist) gic.setAttrValue(KVM_DEV_ARM_VGIC_GRP_DIST_REGS, o, value)
  const first = vcpus[0]!.vcpu.mpidr
  for (const [n, value] of state.spiLevels) gic.setAttrValue(KVM_DEV_ARM_VGIC_GRP_LEVEL_INFO, vgicVcpuAttr(first, n), value)
}
