/**
 * Host physical memory with MTE allocation tags, and the host kernel's memory model a VMM
 * sees: mmap/mprotect with PROT_MTE, copy-on-write, swap, migration and compaction.
 *
 * @module \@tagvm/tag-memory
 */
export * from './constants.js'
export { checkTag, packTagBytes, unpackTagBytes } from './tags.js'
export { Errno, ErrnoError, isErrnoError, type ErrnoName } from './errno.js'
export {
  PhysicalMemory,
  CHUNK_SIZE,
  growWasmMemory,
  MAX_PHYSICAL_MEMORY,
  type FrameData,
  type FrameTags,
  type PhysicalMemoryOptions,
  type SharedMemoryHandle,
  type TagSummaryWatcher,
  type WasmMemory,
} from './physical-memory.js'
export { HOST_ARENA_SIZE, hugePageFriendly, liveHostArenaBytes, prefaultHostMemory, prefaultedHostBytes, releasePrefaultedHostMemory, sharedHostArenas, useSharedHostArenas, type HostArenaSupply } from './host-reserve.js'
export * from './mman.js'
export { HostKernel, type HostKernelOptions, type HostKernelStats, type ThpMode } from './host-kernel.js'
export {
  PAGE_IS_WPALLOWED,
  PAGE_IS_WRITTEN,
  PAGE_IS_FILE,
  PAGE_IS_PRESENT,
  PAGE_IS_SWAPPED,
  PAGE_IS_PFNZERO,
  PAGE_IS_HUGE,
  PAGE_IS_SOFT_DIRTY,
  PAGE_IS_GUARD,
  PM_SCAN_WP_MATCHING,
  PM_SCAN_CHECK_WPASYNC,
  type PagemapScanArgs,
  type PagemapScanResult,
  type PageRegion,
} from './pagemap-scan.js'
export { ShmemFile, RegularFile, DeviceRegion, type HostFile } from './host-files.js'
export {
  HostMm,
  TagCheckFault,
  MADV_DONTNEED,
  MADV_MERGEABLE,
  MADV_UNMERGEABLE,
  MADV_HUGEPAGE,
  MADV_NOHUGEPAGE,
  MADV_PAGEOUT,
  type VmaInfo,
  type MmapOptions,
  type FaultResult,
  type UserAccessOptions,
  type TagCheckMode,
  type InvalidateListener,
} from './host-mm.js'
