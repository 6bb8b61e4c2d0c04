import { EXIT_OK, type Command } from '../cli-args.js'
import type { CliIo } from '../cli-io.js'
import { bootImage, commandLineMachine, finish, runToEnd } from './common.js'
import { runInteractive } from './console.js'
import { runWithGdb } from '../gdb/server.js'

type RunCommand = Extract<Command, { name: 'run' }>

/**
 * `tagvm run IMAGE`: the guest's console is stdout; the exit status says how it ended. On a
 * terminal (and without --trace, which stays line by line on stderr) the keystrokes reach the
 * guest's PL011 (raw mode; Ctrl-A x quits, as in QEMU's -nographic).
 */
export async function runCommand(command: RunCommand, io: CliIo): Promise<number> {
  const machine = commandLineMachine(command.machine, io)
  bootImage(machine, command.image, command.machine)
  if (command.gdb) {
    const stop = await runWithGdb(machine, { ...command.gdb, message: (text) => io.stderr.write(`tagvm: ${text}\n`) })
    return finish(stop, machine, io, undefined)
  }
  if (io.stdin?.isTTY !== true || command.machine.trace) return runToEnd(machine, io, command.machine.maxInsns)
  const stop = await runInteractive(machine, io.stdin, command.machine.maxInsns)
  if (stop.kind === 'quit') {
    io.stderr.write(`\ntagvm: quit (Ctrl-A x) after ${machine.retired} instructions\n`)
    return EXIT_OK
  }
  return finish(stop, machine, io, command.machine.maxInsns)
}
