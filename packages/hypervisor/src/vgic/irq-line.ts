// KVM_IRQ_LINE on arm64 (kvm_vm_ioctl_irq_line in arch/arm64/kvm/arm.c): the irq field packs
// the interrupt type, a vCPU index and the interrupt number.
import { ErrnoError } from '@tagvm/tag-memory'
import { VGIC_NR_PRIVATE_IRQS, VGIC_NR_SGIS } from './registers.js'
import { vmVgic, type VgicVm } from './vgic.js'

/**
 * Fields of kvm_irq_level.irq: | vcpu2_index 31:28 | irq_type 27:24 | vcpu_index 23:16 | irq_id 15:0 |
 * (vcpu2_index extends the vCPU index by 256 per step, KVM_CAP_ARM_IRQ_LINE_LAYOUT_2).
 */
export const KVM_ARM_IRQ_VCPU2_SHIFT = 28
export const KVM_ARM_IRQ_VCPU2_MASK = 0xf
export const KVM_ARM_IRQ_TYPE_SHIFT = 24
export const KVM_ARM_IRQ_TYPE_MASK = 0xf
export const KVM_ARM_IRQ_VCPU_SHIFT = 16
export const KVM_ARM_IRQ_VCPU_MASK = 0xff
export const KVM_ARM_IRQ_NUM_SHIFT = 0
export const KVM_ARM_IRQ_NUM_MASK = 0xffff
/** irq_type: the vCPU's own IRQ/FIQ inputs (no in-kernel irqchip), an SPI, a PPI. */
export const KVM_ARM_IRQ_TYPE_CPU = 0
export const KVM_ARM_IRQ_TYPE_SPI = 1
export const KVM_ARM_IRQ_TYPE_PPI = 2
/** irq_id for KVM_ARM_IRQ_TYPE_CPU. */
export const KVM_ARM_IRQ_CPU_IRQ = 0
export const KVM_ARM_IRQ_CPU_FIQ = 1

/** Builds kvm_irq_level.irq. */
export function kvmIrqNumber(type: number, vcpuIndex: number, irqId: number): number {
  const vcpu2 = Math.floor(vcpuIndex / (KVM_ARM_IRQ_VCPU_MASK + 1))
  return (
    ((vcpu2 & KVM_ARM_IRQ_VCPU2_MASK) << KVM_ARM_IRQ_VCPU2_SHIFT) |
    ((type & KVM_ARM_IRQ_TYPE_MASK) << KVM_ARM_IRQ_TYPE_SHIFT) |
    ((vcpuIndex & KVM_ARM_IRQ_VCPU_MASK) << KVM_ARM_IRQ_VCPU_SHIFT) |
    (irqId & KVM_ARM_IRQ_NUM_MASK)
  ) >>> 0
}

/**
 * Without an in-kernel irqchip, KVM_ARM_IRQ_TYPE_CPU drives HCR_EL2.VI / VF of the vCPU. The
 * lines are kept here per vCPU index (bit 0 IRQ, bit 1 FIQ) until the CPU samples them.
 */
const userspaceLines = new WeakMap<VgicVm, number[]>()

/** The IRQ (bit 0) and FIQ (bit 1) lines userspace drives into vCPU index `v` (no in-kernel irqchip). */
export function userspaceIrqLines(vm: VgicVm, v: number): number {
  return userspaceLines.get(vm)?.[v] ?? 0
}

/**
 * KVM_IRQ_LINE. ENXIO: an SPI or PPI without an in-kernel irqchip, or a CPU line with one.
 * EINVAL: no vCPU with that id, a PPI number outside 16..31, an SPI number below 32 or beyond
 * the vGIC's interrupts, an unknown type. EBUSY: the vGIC is not initialized yet.
 */
export function irqLine(vm: VgicVm, irq: number, level: boolean): void {
  if (!Number.isInteger(irq) || irq < 0 || irq > 0xffff_ffff) throw new RangeError(`irq must be a 32-bit value, got ${irq}`)
  const type = (irq >>> KVM_ARM_IRQ_TYPE_SHIFT) & KVM_ARM_IRQ_TYPE_MASK
  const vcpuId =
    ((irq >>> KVM_ARM_IRQ_VCPU_SHIFT) & KVM_ARM_IRQ_VCPU_MASK) +
    ((irq >>> KVM_ARM_IRQ_VCPU2_SHIFT) & KVM_ARM_IRQ_VCPU2_MASK) * (KVM_ARM_IRQ_VCPU_MASK + 1)
  const num = (irq >>> KVM_ARM_IRQ_NUM_SHIFT) & KVM_ARM_IRQ_NUM_MASK
  const vgic = vmVgic(vm)
  const vcpuIndex = (): number => {
    const index = vm.vcpus.findIndex((vcpu) => vcpu.id === vcpuId)
    if (index < 0) throw new ErrnoError('EINVAL', `no vCPU with id ${vcpuId}`)
    return index
  }
  switch (type) {
    case KVM_ARM_IRQ_TYPE_CPU: {
      if (vgic) throw new ErrnoError('ENXIO', 'the VM has an in-kernel irqchip; CPU lines are its own')
      const v = vcpuIndex()
      if (num > KVM_ARM_IRQ_CPU_FIQ) throw new ErrnoError('EINVAL', `CPU line ${num} is neither IRQ (0) nor FIQ (1)`)
      let lines = userspaceLines.get(vm)
      if (!lines) userspaceLines.set(vm, (lines = []))
      const bit = 1 << num
      lines[v] = level ? (lines[v] ?? 0) | bit : (lines[v] ?? 0) & ~bit
      return
    }
    case KVM_ARM_IRQ_TYPE_PPI: {
      if (!vgic) throw new ErrnoError('ENXIO', 'no in-kernel irqchip (KVM_CREATE_DEVICE) for a PPI')
      const v = vcpuIndex()
      if (num < VGIC_NR_SGIS || num >= VGIC_NR_PRIVATE_IRQS) throw new ErrnoError('EINVAL', `PPI ${num} is not 16..31`)
      vgic.injectIrq(v, num, level)
      return
    }
    case KVM_ARM_IRQ_TYPE_SPI:
      if (!vgic) throw new ErrnoError('ENXIO', 'no in-kernel irqchip (KVM_CREATE_DEVICE) for an SPI')
      if (num < VGIC_NR_PRIVATE_IRQS) throw new ErrnoError('EINVAL', `SPI ${num} is below 32`)
      vgic.injectIrq(-1, num, level)
      return
    default:
      throw new ErrnoError('EINVAL', `unknown interrupt type ${type}`)
  }
}
