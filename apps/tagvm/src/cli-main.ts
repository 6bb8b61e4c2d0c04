import { readFileSync, openSync, readSync, closeSync } from 'node:fs'
import type { ConsoleInput } from './commands/console.js'
import { loadGuest } from './boot.js'
import {
  EXIT_FAILURE,
  EXIT_INTERNAL,
  EXIT_OK,
  EXIT_USAGE,
  commandHelp,
  helpText,
  parseCommand,
  type Command,
  type MachineOptions,
} from './cli-args.js'
import { disassembleBytes } from './disasm.js'
import { VIRT_RAM_BASE } from './fdt/virt.js'
import { FileFormatError } from './loaders/errors.js'
import { SparseRam } from './loaders/target.js'
import { SNAPSHOT_MAGIC } from './snapshot/format.js'
import { loadSnapshotFile } from './snapshot/file.js'
import { writeFileAtomic } from './snapshot/atomic.js'
import { renderHtmlTagMap, renderTerminalTagMap } from './tagmap.js'
import { runCommand } from './commands/run.js'
import { restoreCommand, snapshotCommand } from './commands/snapshot.js'
import { liveImageTags } from './commands/tags.js'

/** What the CLI talks to; tests pass their own. */
export interface CliIo {
  readonly stdout: { write(text: string | Uint8Array): unknown; readonly isTTY?: boolean; readonly columns?: number }
  readonly stderr: { write(text: string): unknown; readonly isTTY?: boolean; readonly columns?: number }
  /** The terminal, when there is one: `tagvm run` then feeds keystrokes to the guest's UART. */
  readonly stdin?: ConsoleInput
}

/** A failure to report in one line and exit with `status`. */
export class CliFailure extends Error {
  constructor(
    message: string,
    readonly status = EXIT_FAILURE,
  ) {
    super(message)
  }
}

function readInput(path: string): Uint8Array {
  try {
    return readFileSync(path)
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code
    throw new CliFailure(`${path}: cannot read: ${code === 'ENOENT' ? 'no such file' : code === 'EISDIR' ? 'is a directory' : (code ?? (e as Error).message)}`)
  }
}

function isSnapshotFile(path: string): boolean {
  let fd: number
  try {
    fd = openSync(path, 'r')
  } catch {
    return false
  }
  try {
    const head = new Uint8Array(SNAPSHOT_MAGIC.length)
    readSync(fd, head, 0, head.length, 0)
    return new TextDecoder().decode(head) === SNAPSHOT_MAGIC
  } finally {
    closeSync(fd)
  }
}

/** Loads the image into a scratch RAM to check it before a machine exists (same rules as the machine's loader). */
function checkImage(image: string, machine: MachineOptions): void {
  const ram = new SparseRam(VIRT_RAM_BASE, machine.memory)
  loadGuest(ram, readInput(image), image, {
    cpus: machine.cpus,
    ...(machine.base !== undefined ? { base: machine.base } : {}),
    ...(machine.initrd !== undefined ? { initrd: { bytes: readInput(machine.initrd), file: machine.initrd } } : {}),
    ...(machine.append !== undefined ? { bootargs: machine.append } : {}),
  })
}

const NO_MACHINE = 'needs the machine (vCPUs through @tagvm/vmm-api), which this build of tagvm does not assemble yet'

function execute(command: Command, io: CliIo): number {
  switch (command.name) {
    case 'disasm':
      io.stdout.write(disassembleBytes(readInput(command.file), command.file, command.base === undefined ? {} : { base: command.base }))
      return EXIT_OK
    case 'tags': {
      const snap = isSnapshotFile(command.input) ? loadSnapshotFile(command.input) : liveImageTags(command, io)
      const input = { ramBase: snap.config.ramBase, ramSize: snap.config.ramSize, pages: snap.pages }
      if (command.html !== undefined) {
        const html = new TextEncoder().encode(renderHtmlTagMap(input, { title: `tagvm tag map of ${command.input}` }))
        writeFileAtomic(command.html, (write) => write(html))
        io.stderr.write(`tagvm: wrote ${command.html}\n`)
      } else {
        io.stdout.write(renderTerminalTagMap(input, { columns: command.width ?? io.stdout.columns ?? 80, color: io.stdout.isTTY === true }))
      }
      return EXIT_OK
    }
    case 'run':
      return runCommand(command, io)
    case 'snapshot':
      return snapshotCommand(command, io)
    case 'migrate-send':
      if (isSnapshotFile(command.source)) loadSnapshotFile(command.source)
      else checkImage(command.source, command.machine)
      throw new CliFailure(`migrate send ${command.source}: ${NO_MACHINE}`)
    case 'restore':
      return restoreCommand(command, io)
    case 'migrate-receive':
      throw new CliFailure(`migrate receive: ${NO_MACHINE}`)
  }
}

/** Runs one tagvm invocation; returns the exit status. Never throws. */
export function runCli(argv: readonly string[], io: CliIo, version: string): number {
  const parsed = parseCommand(argv)
  switch (parsed.kind) {
    case 'help':
      io.stdout.write(parsed.command ? commandHelp(parsed.command) : helpText(version))
      return EXIT_OK
    case 'version':
      io.stdout.write(`${version}\n`)
      return EXIT_OK
    case 'error':
      io.stderr.write(`tagvm: ${parsed.message}\n`)
      return EXIT_USAGE
    case 'command':
      try {
        return execute(parsed.command, io)
      } catch (e) {
        if (e instanceof CliFailure) {
          io.stderr.write(`tagvm: ${e.message}\n`)
          return e.status
        }
        if (e instanceof FileFormatError || (e instanceof Error && /^\S+: cannot read snapshot/.test(e.message))) {
          io.stderr.write(`tagvm: ${e.message}\n`)
          return EXIT_FAILURE
        }
        io.stderr.write(`tagvm: internal error: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`)
        return EXIT_INTERNAL
      }
  }
}
