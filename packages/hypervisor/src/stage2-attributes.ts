// Stage-2 memory attributes KVM maps guest memory with. A leaf module, so the fault handler
// and the VM take the values from here rather than from each other.

/** Stage-2 MemAttr[3:0] with FWB: Normal write-back (tags reachable), Device-nGnRE. */
export const S2_MEMATTR_NORMAL_WB = 0b0110
export const S2_MEMATTR_DEVICE_NGNRE = 0b0001
