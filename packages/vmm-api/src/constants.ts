/**
 * KVM's userspace ABI numbers (include/uapi/linux/kvm.h, arch/arm64/include/uapi/asm/kvm.h),
 * with the real values, so tagvm code maps to C or Rust line for line.
 */

/** KVM_GET_API_VERSION always returns 12. */
export const KVM_API_VERSION = 12

// ---- capabilities (KVM_CHECK_EXTENSION / KVM_ENABLE_CAP) ----------------------------------
export const KVM_CAP_IRQCHIP = 0
export const KVM_CAP_USER_MEMORY = 3
export const KVM_CAP_NR_VCPUS = 9
export const KVM_CAP_NR_MEMSLOTS = 10
export const KVM_CAP_MP_STATE = 14
export const KVM_CAP_SYNC_MMU = 16
export const KVM_CAP_IOEVENTFD = 36
export const KVM_CAP_VCPU_EVENTS = 41
export const KVM_CAP_MAX_VCPUS = 66
export const KVM_CAP_ONE_REG = 70
export const KVM_CAP_READONLY_MEM = 81
export const KVM_CAP_ARM_PSCI = 87
export const KVM_CAP_DEVICE_CTRL = 89
export const KVM_CAP_ARM_EL1_32BIT = 93
export const KVM_CAP_ENABLE_CAP_VM = 98
export const KVM_CAP_ARM_PSCI_0_2 = 102
export const KVM_CAP_CHECK_EXTENSION_VM = 105
export const KVM_CAP_ARM_PMU_V3 = 126
export const KVM_CAP_MAX_VCPU_ID = 128
export const KVM_CAP_IMMEDIATE_EXIT = 136
export const KVM_CAP_ARM_VM_IPA_SIZE = 165
export const KVM_CAP_MANUAL_DIRTY_LOG_PROTECT2 = 168
export const KVM_CAP_ARM_SVE = 170
export const KVM_CAP_ARM_IRQ_LINE_LAYOUT_2 = 174
export const KVM_CAP_ARM_NISV_TO_USER = 177
export const KVM_CAP_ARM_INJECT_EXT_DABT = 178
export const KVM_CAP_ARM_MTE = 205

// ---- ioctl numbers (include/uapi/asm-generic/ioctl.h encoding) ----------------------------
export const KVMIO = 0xae
const IOC_NONE = 0
const IOC_WRITE = 1
const IOC_READ = 2

/** _IOC(dir, type, nr, size): dir in 31:30, size in 29:16, type in 15:8, nr in 7:0. */
export function ioc(dir: number, type: number, nr: number, size: number): number {
  return ((dir << 30) | (size << 16) | (type << 8) | nr) >>> 0
}

/** Struct sizes in bytes (the size field of each ioctl number). */
export const SIZEOF_KVM_USERSPACE_MEMORY_REGION = 32
export const SIZEOF_KVM_DIRTY_LOG = 16
export const SIZEOF_KVM_CLEAR_DIRTY_LOG = 24
export const SIZEOF_KVM_ENABLE_CAP = 104
export const SIZEOF_KVM_ONE_REG = 16
export const SIZEOF_KVM_VCPU_INIT = 32
export const SIZEOF_KVM_REG_LIST = 8
export const SIZEOF_KVM_MP_STATE = 4
export const SIZEOF_KVM_ARM_COPY_MTE_TAGS = 48

// system ioctls
export const KVM_GET_API_VERSION = ioc(IOC_NONE, KVMIO, 0x00, 0)
export const KVM_CREATE_VM = ioc(IOC_NONE, KVMIO, 0x01, 0)
export const KVM_CHECK_EXTENSION = ioc(IOC_NONE, KVMIO, 0x03, 0)
// VM ioctls
export const KVM_CREATE_VCPU = ioc(IOC_NONE, KVMIO, 0x41, 0)
/** `_IOW(KVMIO, 0x42, struct kvm_dirty_log)`. */
export const KVM_GET_DIRTY_LOG = ioc(IOC_WRITE, KVMIO, 0x42, SIZEOF_KVM_DIRTY_LOG)
/** `_IOW(KVMIO, 0x46, struct kvm_userspace_memory_region)`. */
export const KVM_SET_USER_MEMORY_REGION = ioc(IOC_WRITE, KVMIO, 0x46, SIZEOF_KVM_USERSPACE_MEMORY_REGION)
/** `_IOW(KVMIO, 0xa3, struct kvm_enable_cap)`. */
export const KVM_ENABLE_CAP = ioc(IOC_WRITE, KVMIO, 0xa3, SIZEOF_KVM_ENABLE_CAP)
/** `_IOR(KVMIO, 0xaf, struct kvm_vcpu_init)`. */
export const KVM_ARM_PREFERRED_TARGET = ioc(IOC_READ, KVMIO, 0xaf, SIZEOF_KVM_VCPU_INIT)
/** `_IOR(KVMIO, 0xb4, struct kvm_arm_copy_mte_tags)`; the struct is 48 bytes. */
export const KVM_ARM_MTE_COPY_TAGS = ioc(IOC_READ, KVMIO, 0xb4, SIZEOF_KVM_ARM_COPY_MTE_TAGS)
/** `_IOWR(KVMIO, 0xc0, struct kvm_clear_dirty_log)`. */
export const KVM_CLEAR_DIRTY_LOG = ioc(IOC_READ | IOC_WRITE, KVMIO, 0xc0, SIZEOF_KVM_CLEAR_DIRTY_LOG)
// vCPU ioctls
export const KVM_RUN = ioc(IOC_NONE, KVMIO, 0x80, 0)
export const KVM_GET_MP_STATE = ioc(IOC_READ, KVMIO, 0x98, SIZEOF_KVM_MP_STATE)
export const KVM_SET_MP_STATE = ioc(IOC_WRITE, KVMIO, 0x99, SIZEOF_KVM_MP_STATE)
export const KVM_GET_ONE_REG = ioc(IOC_WRITE, KVMIO, 0xab, SIZEOF_KVM_ONE_REG)
export const KVM_SET_ONE_REG = ioc(IOC_WRITE, KVMIO, 0xac, SIZEOF_KVM_ONE_REG)
/** `_IOW(KVMIO, 0xae, struct kvm_vcpu_init)`. */
export const KVM_ARM_VCPU_INIT = ioc(IOC_WRITE, KVMIO, 0xae, SIZEOF_KVM_VCPU_INIT)
/** `_IOWR(KVMIO, 0xb0, struct kvm_reg_list)`. */
export const KVM_GET_REG_LIST = ioc(IOC_READ | IOC_WRITE, KVMIO, 0xb0, SIZEOF_KVM_REG_LIST)

// ---- KVM_ARM_MTE_COPY_TAGS ----------------------------------------------------------------
/**
 * struct kvm_arm_copy_mte_tags { u64 guest_ipa; u64 length; void *addr; u64 flags; u64 reserved[2]; }
 * Field offsets in bytes.
 */
export const KVM_ARM_COPY_MTE_TAGS_LAYOUT = { guest_ipa: 0, length: 8, addr: 16, flags: 24, reserved: 32 } as const
export const KVM_ARM_TAGS_TO_GUEST = 0
export const KVM_ARM_TAGS_FROM_GUEST = 1

/** struct kvm_userspace_memory_region { u32 slot; u32 flags; u64 guest_phys_addr; u64 memory_size; u64 userspace_addr; } */
export const KVM_USERSPACE_MEMORY_REGION_LAYOUT = { slot: 0, flags: 4, guest_phys_addr: 8, memory_size: 16, userspace_addr: 24 } as const

// ---- KVM_CREATE_VM type (arm64) -------------------------------------------------------------
/** The IPA size lives in bits 7:0 of the type; 0 means 40 bits. */
export const KVM_VM_TYPE_ARM_IPA_SIZE_MASK = 0xff
export function KVM_VM_TYPE_ARM_IPA_SIZE(bits: number): number {
  return bits & KVM_VM_TYPE_ARM_IPA_SIZE_MASK
}

// ---- exit reasons (struct kvm_run.exit_reason) --------------------------------------------
export const KVM_EXIT_UNKNOWN = 0
export const KVM_EXIT_MMIO = 6
export const KVM_EXIT_FAIL_ENTRY = 9
export const KVM_EXIT_INTR = 10
export const KVM_EXIT_INTERNAL_ERROR = 17
export const KVM_EXIT_SYSTEM_EVENT = 24
export const KVM_EXIT_ARM_NISV = 28
