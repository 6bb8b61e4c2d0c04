/** KVM capability numbers (include/uapi/linux/kvm.h). */
export const KVM_CAP_USER_MEMORY = 3
export const KVM_CAP_ARM_MTE = 205

/** ioctl number encoding (include/uapi/asm-generic/ioctl.h). */
export const KVMIO = 0xae
const IOC_WRITE = 1
const IOC_READ = 2

export function ioc(dir: number, type: number, nr: number, size: number): number {
  return ((dir << 30) | (size << 16) | (type << 8) | nr) >>> 0
}

/** `_IOR(KVMIO, 0xb4, struct kvm_arm_copy_mte_tags)`; the struct is 48 bytes. */
export const KVM_ARM_MTE_COPY_TAGS = ioc(IOC_READ, KVMIO, 0xb4, 48)
/** `_IOW(KVMIO, 0x46, struct kvm_userspace_memory_region)`; 32 bytes. */
export const KVM_SET_USER_MEMORY_REGION = ioc(IOC_WRITE, KVMIO, 0x46, 32)
