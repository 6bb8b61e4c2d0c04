// The tagvm command line: parsing, the dispatcher and its exit statuses. The machine itself
// (loaders, device tree, snapshots, migration, tag maps) is @tagvm/machine.
export {
  COMMANDS,
  commandsNamed,
  optionSpellings,
  COMPLETION_SHELLS,
  helpText,
  commandHelp,
  parseCommand,
  parseSize,
  parseCount,
  parseAddress,
  parseEndpoint,
  CliError,
  EXIT_OK,
  EXIT_FAILURE,
  EXIT_USAGE,
  EXIT_LIMIT,
  EXIT_INTERNAL,
  type Command,
  type CommandSpec,
  type OptionSpec,
  type CompletionShell,
  type Endpoint,
  type MachineOptions,
  type ParsedCommand,
} from './cli-args.js'
export { runCli, failureOf } from './cli-main.js'
export { CommandFailure, type CliIo, type ConsoleInput } from './cli-io.js'
export { VERSION, QEMU_MACHINE, versionText } from './version.js'
export { BUNDLED_GUESTS, bundledGuestPath, bundledGuestsDir, type BundledGuest } from './guests.js'
export { bashCompletion, zshCompletion } from './completion.js'
// What the CLI adds around the machine: files, sockets and pipes, the terminal, signals
export * from './files/index.js'
export { connectEndpoint, listenEndpoint, localChannelPair, EndpointError } from './endpoint.js'
export { runInteractive, type InteractiveStop } from './commands/console.js'
export { StopTrigger, type SignalSource } from './stop-trigger.js'
export { ProgressReporter, type ProgressStream } from './progress.js'
