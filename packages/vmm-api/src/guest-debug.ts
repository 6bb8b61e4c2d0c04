// KVM_SET_GUEST_DEBUG as a VMM sees it: the control bits and struct kvm_guest_debug_arch
// (re-exported from the hypervisor, where the ioctl is handled), the capabilities that
// advertise it, and the KVM_EXIT_DEBUG exit. VcpuFd.setGuestDebug is the ioctl.

export {
  KVM_ARM_MAX_DBG_REGS,
  KVM_DEBUG_ARCH_HSR_HIGH_VALID,
  KVM_GUESTDBG_ENABLE,
  KVM_GUESTDBG_SINGLESTEP,
  KVM_GUESTDBG_TAGVM_TAG_FAULTS,
  KVM_GUESTDBG_USE_HW,
  KVM_GUESTDBG_USE_SW_BP,
  KVM_GUESTDBG_VALID_MASK,
  type DebugExitArch,
  type GuestDebug,
  type GuestDebugArch,
  type GuestTranslation,
} from '@tagvm/hypervisor'
import { KVM_ARM_MAX_DBG_REGS } from '@tagvm/hypervisor'

/** Linux's `KVM_CAP_SET_GUEST_DEBUG` capability number. */
export const KVM_CAP_SET_GUEST_DEBUG = 23
/** Linux's `KVM_CAP_GUEST_DEBUG_HW_BPS`: how many hardware breakpoints KVM_GUESTDBG_USE_HW takes. */
export const KVM_CAP_GUEST_DEBUG_HW_BPS = 119
/** Linux's `KVM_CAP_GUEST_DEBUG_HW_WPS`: how many hardware watchpoints. */
export const KVM_CAP_GUEST_DEBUG_HW_WPS = 120
/** `kvm_run.exit_reason` KVM_EXIT_DEBUG. */
export const KVM_EXIT_DEBUG = 4

/**
 * The guest-debug capabilities' values, or undefined for another capability. The VMM's
 * breakpoints and watchpoints are not the guest's (ID_AA64DFR0_EL1 may offer fewer): the
 * model matches all KVM_ARM_MAX_DBG_REGS of each.
 */
export function guestDebugExtension(cap: number): number | undefined {
  switch (cap) {
    case KVM_CAP_SET_GUEST_DEBUG:
      return 1
    case KVM_CAP_GUEST_DEBUG_HW_BPS:
    case KVM_CAP_GUEST_DEBUG_HW_WPS:
      return KVM_ARM_MAX_DBG_REGS
    default:
      return undefined
  }
}
