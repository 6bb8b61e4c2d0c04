/** Linux mmap/mprotect constants (include/uapi/asm-generic/mman-common.h, arm64 mman.h). */
export const PROT_NONE = 0x0
export const PROT_READ = 0x1
export const PROT_WRITE = 0x2
export const PROT_EXEC = 0x4
/** arm64: the mapping is Tagged (MAIR attribute 0xF0); only where VM_MTE_ALLOWED. */
export const PROT_MTE = 0x20

export const MAP_SHARED = 0x01
export const MAP_PRIVATE = 0x02
export const MAP_SHARED_VALIDATE = 0x03
export const MAP_FIXED = 0x10
export const MAP_ANONYMOUS = 0x20
export const MAP_NORESERVE = 0x4000
export const MAP_POPULATE = 0x8000
export const MAP_FIXED_NOREPLACE = 0x100000

/** Prot bits this model understands (PROT_BTI and the grows-up/down bits are not modelled). */
export const PROT_KNOWN = PROT_READ | PROT_WRITE | PROT_EXEC | PROT_MTE
/** Map flags this model understands; others are refused with EINVAL rather than ignored. */
export const MAP_KNOWN = MAP_SHARED | MAP_PRIVATE | MAP_FIXED | MAP_ANONYMOUS | MAP_NORESERVE | MAP_POPULATE | MAP_FIXED_NOREPLACE

/** Lowest and highest user addresses the model hands out (a 48-bit user address space). */
export const USER_ADDRESS_MIN = 0x1_0000
export const USER_ADDRESS_LIMIT = 2 ** 48
