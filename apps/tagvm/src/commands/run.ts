import type { Command } from '../cli-args.js'
import { EXIT_OK } from '../cli-args.js'
import type { CliIo } from '../cli-main.js'
import { bootImage, createMachine, finish, machineConfig, runToEnd } from './common.js'
import { runInteractive, type ConsoleInput } from './console.js'

type RunCommand = Extract<Command, { name: 'run' }>

/** `tagvm run IMAGE`: the guest's console is stdout; the exit status says how it ended. */
export function runCommand(command: RunCommand, io: CliIo): number {
  const machine = createMachine(machineConfig(command.machine), io, command.machine.trace)
  bootImage(machine, command.image, command.machine)
  return runToEnd(machine, io, command.machine.maxInsns)
}

/**
 * `tagvm run IMAGE` on a terminal: as runCommand, and the terminal's keystrokes reach the
 * guest's PL011 (raw mode; Ctrl-A x quits, as in QEMU's -nographic).
 */
export async function runInteractiveCommand(command: RunCommand, io: CliIo, terminal: ConsoleInput): Promise<number> {
  const machine = createMachine(machineConfig(command.machine), io, command.machine.trace)
  bootImage(machine, command.image, command.machine)
  const stop = await runInteractive(machine, terminal, command.machine.maxInsns)
  if (stop.kind === 'quit') {
    io.stderr.write(`\ntagvm: quit (Ctrl-A x) after ${machine.retired} instructions\n`)
    return EXIT_OK
  }
  return finish(stop, machine, io, command.machine.maxInsns)
}
