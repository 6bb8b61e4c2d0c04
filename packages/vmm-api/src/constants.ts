/**
 * KVM's userspace ABI numbers (include/uapi/linux/kvm.h, arch/arm64/include/uapi/asm/kvm.h),
 * with the real values, so tagvm code maps to C or Rust line for line.
 */

/** KVM_GET_API_VERSION always returns 12. */
export const KVM_API_VERSION = 12

// ---- capabilities (KVM_CHECK_EXTENSION / KVM_ENABLE_CAP) ----------------------------------
/** Linux's `KVM_CAP_IRQCHIP` capability number. */
export const KVM_CAP_IRQCHIP = 0
/** Linux's `KVM_CAP_USER_MEMORY` capability number. */
export const KVM_CAP_USER_MEMORY = 3
/** Linux's `KVM_CAP_NR_VCPUS` capability number. */
export const KVM_CAP_NR_VCPUS = 9
/** Linux's `KVM_CAP_NR_MEMSLOTS` capability number. */
export const KVM_CAP_NR_MEMSLOTS = 10
/** Linux's `KVM_CAP_MP_STATE` capability number. */
export const KVM_CAP_MP_STATE = 14
/** Linux's `KVM_CAP_SYNC_MMU` capability number. */
export const KVM_CAP_SYNC_MMU = 16
/** Linux's `KVM_CAP_IOEVENTFD` capability number. */
export const KVM_CAP_IOEVENTFD = 36
/** Linux's `KVM_CAP_VCPU_EVENTS` capability number. */
export const KVM_CAP_VCPU_EVENTS = 41
/** Linux's `KVM_CAP_MAX_VCPUS` capability number. */
export const KVM_CAP_MAX_VCPUS = 66
/** Linux's `KVM_CAP_ONE_REG` capability number. */
export const KVM_CAP_ONE_REG = 70
/** Linux's `KVM_CAP_READONLY_MEM` capability number. */
export const KVM_CAP_READONLY_MEM = 81
/** Linux's `KVM_CAP_ARM_PSCI` capability number. */
export const KVM_CAP_ARM_PSCI = 87
/** Linux's `KVM_CAP_DEVICE_CTRL` capability number. */
export const KVM_CAP_DEVICE_CTRL = 89
/** Linux's `KVM_CAP_ARM_EL1_32BIT` capability number. */
export const KVM_CAP_ARM_EL1_32BIT = 93
/** Linux's `KVM_CAP_ENABLE_CAP_VM` capability number. */
export const KVM_CAP_ENABLE_CAP_VM = 98
/** Linux's `KVM_CAP_ARM_PSCI_0_2` capability number. */
export const KVM_CAP_ARM_PSCI_0_2 = 102
/** Linux's `KVM_CAP_CHECK_EXTENSION_VM` capability number. */
export const KVM_CAP_CHECK_EXTENSION_VM = 105
/** Linux's `KVM_CAP_ARM_PMU_V3` capability number. */
export const KVM_CAP_ARM_PMU_V3 = 126
/** Linux's `KVM_CAP_MAX_VCPU_ID` capability number. */
export const KVM_CAP_MAX_VCPU_ID = 128
/** Linux's `KVM_CAP_IMMEDIATE_EXIT` capability number. */
export const KVM_CAP_IMMEDIATE_EXIT = 136
/** Linux's `KVM_CAP_ARM_VM_IPA_SIZE` capability number. */
export const KVM_CAP_ARM_VM_IPA_SIZE = 165
/** Linux's `KVM_CAP_MANUAL_DIRTY_LOG_PROTECT2` capability number. */
export const KVM_CAP_MANUAL_DIRTY_LOG_PROTECT2 = 168
/** Linux's `KVM_CAP_ARM_SVE` capability number. */
export const KVM_CAP_ARM_SVE = 170
/** Linux's `KVM_CAP_ARM_IRQ_LINE_LAYOUT_2` capability number. */
export const KVM_CAP_ARM_IRQ_LINE_LAYOUT_2 = 174
/** Linux's `KVM_CAP_ARM_NISV_TO_USER` capability number. */
export const KVM_CAP_ARM_NISV_TO_USER = 177
/** Linux's `KVM_CAP_ARM_INJECT_EXT_DABT` capability number. */
export const KVM_CAP_ARM_INJECT_EXT_DABT = 178
/** Linux's `KVM_CAP_ARM_MTE` capability number. */
export const KVM_CAP_ARM_MTE = 205

// ---- ioctl numbers (include/uapi/asm-generic/ioctl.h encoding) ----------------------------
/** The type byte of every KVM ioctl number (0xAE). */
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
/** `sizeof(struct kvm_dirty_log)` on arm64, in bytes. */
export const SIZEOF_KVM_DIRTY_LOG = 16
/** `sizeof(struct kvm_clear_dirty_log)` on arm64, in bytes. */
export const SIZEOF_KVM_CLEAR_DIRTY_LOG = 24
/** `sizeof(struct kvm_enable_cap)` on arm64, in bytes. */
export const SIZEOF_KVM_ENABLE_CAP = 104
/** `sizeof(struct kvm_one_reg)` on arm64, in bytes. */
export const SIZEOF_KVM_ONE_REG = 16
/** `sizeof(struct kvm_vcpu_init)` on arm64, in bytes. */
export const SIZEOF_KVM_VCPU_INIT = 32
/** `sizeof(struct kvm_reg_list)` on arm64, in bytes. */
export const SIZEOF_KVM_REG_LIST = 8
/** `sizeof(struct kvm_mp_state)` on arm64, in bytes. */
export const SIZEOF_KVM_MP_STATE = 4
/** `sizeof(struct kvm_arm_copy_mte_tags)` on arm64, in bytes. */
export const SIZEOF_KVM_ARM_COPY_MTE_TAGS = 48

// system ioctls
/** `_IO(KVMIO, 0x00)`. */
export const KVM_GET_API_VERSION = ioc(IOC_NONE, KVMIO, 0x00, 0)
/** `_IO(KVMIO, 0x01)`. */
export const KVM_CREATE_VM = ioc(IOC_NONE, KVMIO, 0x01, 0)
/** `_IO(KVMIO, 0x03)`. */
export const KVM_CHECK_EXTENSION = ioc(IOC_NONE, KVMIO, 0x03, 0)
// VM ioctls
/** `_IO(KVMIO, 0x41)`. */
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
/** `_IO(KVMIO, 0x80)`. */
export const KVM_RUN = ioc(IOC_NONE, KVMIO, 0x80, 0)
/** `_IOR(KVMIO, 0x98, struct kvm_mp_state)`. */
export const KVM_GET_MP_STATE = ioc(IOC_READ, KVMIO, 0x98, SIZEOF_KVM_MP_STATE)
/** `_IOW(KVMIO, 0x99, struct kvm_mp_state)`. */
export const KVM_SET_MP_STATE = ioc(IOC_WRITE, KVMIO, 0x99, SIZEOF_KVM_MP_STATE)
/** `_IOW(KVMIO, 0xab, struct kvm_one_reg)`. */
export const KVM_GET_ONE_REG = ioc(IOC_WRITE, KVMIO, 0xab, SIZEOF_KVM_ONE_REG)
/** `_IOW(KVMIO, 0xac, struct kvm_one_reg)`. */
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
/** `kvm_arm_copy_mte_tags.flags`: copy tags from the user buffer into guest memory. */
export const KVM_ARM_TAGS_TO_GUEST = 0
/** `kvm_arm_copy_mte_tags.flags`: copy tags from guest memory into the user buffer. */
export const KVM_ARM_TAGS_FROM_GUEST = 1

/** struct kvm_userspace_memory_region { u32 slot; u32 flags; u64 guest_phys_addr; u64 memory_size; u64 userspace_addr; } */
export const KVM_USERSPACE_MEMORY_REGION_LAYOUT = { slot: 0, flags: 4, guest_phys_addr: 8, memory_size: 16, userspace_addr: 24 } as const

// ---- KVM_CREATE_VM type (arm64) -------------------------------------------------------------
/** The IPA size lives in bits 7:0 of the type; 0 means 40 bits. */
export const KVM_VM_TYPE_ARM_IPA_SIZE_MASK = 0xff
/** The KVM_CREATE_VM machine type asking for `bits` of IPA space (Linux's macro of the same name). */
export function KVM_VM_TYPE_ARM_IPA_SIZE(bits: number): number {
  return bits & KVM_VM_TYPE_ARM_IPA_SIZE_MASK
}

// ---- exit reasons (struct kvm_run.exit_reason) --------------------------------------------
/** `kvm_run.exit_reason` KVM_EXIT_UNKNOWN. */
export const KVM_EXIT_UNKNOWN = 0
/** `kvm_run.exit_reason` KVM_EXIT_MMIO. */
export const KVM_EXIT_MMIO = 6
/** `kvm_run.exit_reason` KVM_EXIT_FAIL_ENTRY. */
export const KVM_EXIT_FAIL_ENTRY = 9
/** `kvm_run.exit_reason` KVM_EXIT_INTR. */
export const KVM_EXIT_INTR = 10
/** `kvm_run.exit_reason` KVM_EXIT_INTERNAL_ERROR. */
export const KVM_EXIT_INTERNAL_ERROR = 17
/** `kvm_run.exit_reason` KVM_EXIT_SYSTEM_EVENT. */
export const KVM_EXIT_SYSTEM_EVENT = 24
/** `kvm_run.exit_reason` KVM_EXIT_ARM_NISV. */
export const KVM_EXIT_ARM_NISV = 28
