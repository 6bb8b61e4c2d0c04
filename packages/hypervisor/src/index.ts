export * from './psci.js'
export * from './one-reg.js'
export * from './esr.js'
export * from './memslots.js'
export type * from './host.js'
export { Hypervisor, KVM_PHYS_SHIFT_DEFAULT, type HypervisorOptions } from './hypervisor.js'
export {
  Vm,
  KVM_DIRTY_LOG_INITIALLY_SET,
  KVM_DIRTY_LOG_MANUAL_PROTECT_ENABLE,
  S2_MEMATTR_DEVICE_NGNRE,
  S2_MEMATTR_NORMAL_WB,
  type MtePolicy,
  type VmOptions,
  type VmStats,
  type VmidTlb,
} from './vm.js'
export { STAGE2_BLOCK_SIZE, handleGuestAbort, type AbortOutcome, type GuestAbort } from './fault.js'
