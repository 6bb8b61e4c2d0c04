// The CLI
export {
  COMMANDS,
  helpText,
  commandHelp,
  parseCommand,
  parseSize,
  parseCount,
  parseAddress,
  CliError,
  EXIT_OK,
  EXIT_FAILURE,
  EXIT_USAGE,
  EXIT_LIMIT,
  EXIT_INTERNAL,
  type Command,
  type MachineOptions,
  type ParsedCommand,
} from './cli-args.js'
export { runCli, type CliIo } from './cli-main.js'
export { VERSION } from './version.js'
export { type MachineConfig, type Backing, checkMachineConfig } from './config.js'
// The machine (vCPUs through @tagvm/vmm-api) and what the commands do with it
export { Machine, BOOT_PSTATE, BOOT_SCTLR_EL1, VIRT_UART_BASE, type MachineIo, type StopReason } from './machine/machine.js'
export { saveMachine, restoreMachine } from './commands/snapshot.js'
export { sendMachine, receiveMachine, runCliAsync, type SendOptions, type SendResult } from './commands/migrate.js'
// Loading guests
export * from './loaders/index.js'
export { loadGuest, imageKind, type BootPlan, type BootOptions, type ImageKind } from './boot.js'
// Device tree
export * from './fdt/index.js'
// Disassembly
export { disassembleElf, disassembleRaw, disassembleBytes, instructionText } from './disasm.js'
// Snapshots and migration
export * from './snapshot/index.js'
export * from './migration/index.js'
export { StopTrigger, type SignalSource } from './stop-trigger.js'
// Output
export { ProgressReporter, type ProgressStream } from './progress.js'
export { tagGrid, renderTerminalTagMap, renderHtmlTagMap, type TagMapInput, type TagPage, type TagCell, type TagGrid } from './tagmap.js'
