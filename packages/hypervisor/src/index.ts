/**
 * The KVM model for arm64 MTE guests: memslots, the stage-2 fault handler with tag cleaning,
 * vCPUs on `@tagvm/cpu`, in-kernel PSCI, ONE_REG and KVM_ARM_MTE_COPY_TAGS.
 *
 * @module \@tagvm/hypervisor
 */
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
export {
  Vcpu,
  DEFAULT_RUN_BUDGET,
  KVM_ARM_TARGET_GENERIC_V8,
  KVM_ARM_VCPU_EL1_32BIT,
  KVM_ARM_VCPU_PMU_V3,
  KVM_ARM_VCPU_POWER_OFF,
  KVM_ARM_VCPU_PSCI_0_2,
  KVM_ARM_VCPU_SVE,
  KVM_MAX_VCPUS,
  KVM_MP_STATE_RUNNABLE,
  KVM_MP_STATE_STOPPED,
  KVM_MEMORY_EXIT_FLAG_USERFAULT,
  type VcpuExit,
  type VcpuInit,
} from './vcpu.js'
export {
  KVM_ARM_TAGS_FROM_GUEST,
  KVM_ARM_TAGS_TO_GUEST,
  copyTagsIoctlReturn,
  mteCopyTags,
  type CopyMteTagsRequest,
  type UserTagBuffer,
} from './copy-tags.js'
export { ENOEXEC } from './errors.js'
export * from './guest-debug.js'
export * from './vgic/index.js'
export * from './timer/index.js'
export * from './smp/index.js'
export { defaultCpuFactory, jitCpuFactory } from './guest-cpu.js'
