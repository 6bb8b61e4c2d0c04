/**
 * The tagvm machine: QEMU's `virt` with MTE through the KVM-shaped API, guest memory, loaders,
 * the device tree, snapshots and live migration, and tag maps. No Node API: it runs in a
 * browser or Web Worker as well as in the `tagvm` CLI.
 *
 * @module \@tagvm/machine
 */
// What a machine is made of, and the errors a file, stream or host refusal becomes
export { type MachineConfig, type Backing, type ClockKind, BACKINGS, CLOCKS, MAX_CPUS, checkMachineConfig } from './config.js'
export { FileFormatError, MachineRefusedError, isFileFormatError, isMachineRefusedError } from './errors.js'
// The machine (vCPUs through @tagvm/vmm-api) and its guest memory
export { Machine, BOOT_PSTATE, BOOT_SCTLR_EL1, MAX_GUEST_RAM, MAX_JIT_GUEST_RAM, MP_STATE_DEVICE, type MachineHostOptions, type MachineIo, type StopReason, type MissingPageStop, type RunOptions } from './machine/machine.js'
export { JIT_V8_FLAGS } from './machine/jit-v8-flags.js'
export { GuestMemory, type RamRegion, type PageScanOptions } from './memory/guest-memory.js'
export { PAGE_SIZE, TAG_BYTES_PER_PAGE, BATCH_DATA, BATCH_TAGS, PageBatch, batchPages, batchGuestBytes, concatBytes, type PageRecord, type PageBatchView } from './memory/page.js'
export { LoadedPages } from './memory/loaded-pages.js'
export { type TransferProgress } from './progress.js'
// Loading guests
export * from './loaders/index.js'
export { loadGuest, imageKind, type BootPlan, type BootOptions, type ImageKind } from './boot.js'
// Device tree
export * from './fdt/index.js'
// Disassembly
export { disassembleElf, disassembleRaw, disassembleBytes, instructionText } from './disasm.js'
// Snapshots, migration, and restoring either
export * from './snapshot/index.js'
export * from './migration/index.js'
export { MachineLoader, SnapshotRestore, restoreSnapshot } from './restore.js'
// Tag maps, and tags watched live from another thread
export { LiveTagPublisher, LiveTagView, type LiveTagSource } from './memory/live-tags.js'
export { tagGrid, cellDensity, renderTerminalTagMap, renderHtmlTagMap, type TagMapInput, type TagPage, type TagCell, type TagGrid, type TagSummary } from './tagmap.js'
// vCPUs on threads (phase 1 of issue 18)
export { vcpuThreadBootSource, type SmpStats, type SmpThreadOptions, type VcpuThreadHandle, type VcpuThreadSpawner } from './smp/threads.js'
