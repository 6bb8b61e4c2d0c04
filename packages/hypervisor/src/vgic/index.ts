export * from './registers.js'
export {
  IRQ_ACTIVE,
  IRQ_EDGE,
  IRQ_ENABLED,
  IRQ_GROUP1,
  IRQ_LINE_LEVEL,
  IRQ_OWNER_NONE,
  IRQ_OWNER_PTIMER,
  IRQ_OWNER_VTIMER,
  IRQ_PENDING_LATCH,
  IrqTable,
  irqIsPending,
  type Allocate,
} from './irq.js'
export { DIST_REGISTERS, REDIST_REGISTERS, type RegisterRegion } from './mmio.js'
export { CpuInterface, type SignalListener } from './cpu-interface.js'
export {
  Vgic,
  createVgicV3,
  vmVgic,
  vcpuHasRun,
  type RedistRegion,
  type VgicOptions,
  type VgicVcpu,
  type VgicVm,
} from './vgic.js'
export * from './irq-line.js'
