import { isFileFormatError, isMachineRefusedError } from '@tagvm/machine'
import { CliError, EXIT_FAILURE, EXIT_INTERNAL, EXIT_OK, EXIT_USAGE, commandHelp, helpText, parseCommand, type Command } from './cli-args.js'
import { CommandFailure, type CliIo } from './cli-io.js'
import { disasmCommand } from './commands/disasm.js'
import { completionCommand, guestsCommand } from './commands/info.js'
import { migrateReceiveCommand, migrateSendCommand } from './commands/migrate.js'
import { runCommand } from './commands/run.js'
import { restoreCommand, snapshotCommand } from './commands/snapshot.js'
import { tagsCommand } from './commands/tags.js'
import { EndpointError } from './endpoint.js'
import { OutputFileError } from './files/atomic.js'
import { InputFileError } from './files/input.js'
import { versionText } from './version.js'

type Handler<C extends Command> = (command: C, io: CliIo) => number | Promise<number>

/** What each command runs. */
const COMMAND_HANDLERS: { readonly [N in Command['name']]: Handler<Extract<Command, { name: N }>> } = {
  run: runCommand,
  disasm: disasmCommand,
  snapshot: snapshotCommand,
  restore: restoreCommand,
  'migrate-send': migrateSendCommand,
  'migrate-receive': migrateReceiveCommand,
  tags: tagsCommand,
  guests: guestsCommand,
  completion: completionCommand,
}

function execute<N extends Command['name']>(command: Extract<Command, { name: N }>, io: CliIo): number | Promise<number> {
  return (COMMAND_HANDLERS[command.name] as Handler<Extract<Command, { name: N }>>)(command, io)
}

interface Failure {
  readonly status: number
  readonly message: string
}

/** One row of the failure table: errors of `type` end the command with `status` and a one-line message. */
type FailureRule = (error: unknown) => Failure | undefined

/** Errors of one of this app's classes (the machine's are recognised by their brand checks, which see across package copies). */
function instanceOf<E extends Error>(type: abstract new (...args: never[]) => E): (error: unknown) => error is E {
  return (error): error is E => error instanceof type
}

function rule<E extends Error>(matches: (error: unknown) => error is E, status: number | ((error: E) => number), message: (error: E) => string = (e) => e.message): FailureRule {
  return (error) => (matches(error) ? { status: typeof status === 'number' ? status : status(error), message: message(error) } : undefined)
}

/**
 * Every failure tagvm expects, and how it ends the command: one line on standard error and
 * this exit status. Anything else is tagvm's own bug: the stack goes to standard error and the
 * status is EXIT_INTERNAL.
 */
const FAILURES: readonly FailureRule[] = [
  rule(instanceOf(CliError), EXIT_USAGE),
  rule(instanceOf(CommandFailure), (e) => e.status),
  // A file or stream tagvm cannot use, or whose content the machine refuses (names the file, offset and record).
  rule(isFileFormatError, EXIT_FAILURE),
  rule(instanceOf(InputFileError), EXIT_FAILURE),
  rule(instanceOf(OutputFileError), EXIT_FAILURE),
  rule(instanceOf(EndpointError), EXIT_FAILURE),
  rule(isMachineRefusedError, EXIT_FAILURE, (e) => `cannot build the machine: ${e.reason}`),
]

/** The exit status and one-line message for an error, or undefined for one tagvm does not expect. */
export function failureOf(error: unknown): Failure | undefined {
  for (const describe of FAILURES) {
    const failure = describe(error)
    if (failure) return failure
  }
  return undefined
}

/** Runs one tagvm invocation and returns its exit status. Never throws. */
export async function runCli(argv: readonly string[], io: CliIo, version: string): Promise<number> {
  const parsed = parseCommand(argv)
  switch (parsed.kind) {
    case 'help':
      io.stdout.write(parsed.command ? commandHelp(parsed.command) : helpText(version))
      return EXIT_OK
    case 'version':
      io.stdout.write(versionText(version))
      return EXIT_OK
    case 'error':
      io.stderr.write(`tagvm: ${parsed.message}\n`)
      return EXIT_USAGE
    case 'command':
      try {
        return await execute(parsed.command, io)
      } catch (error) {
        const failure = failureOf(error)
        if (failure) {
          io.stderr.write(`tagvm: ${failure.message}\n`)
          return failure.status
        }
        io.stderr.write(`tagvm: internal error: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`)
        return EXIT_INTERNAL
      }
  }
}
