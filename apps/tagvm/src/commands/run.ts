import type { Command } from '../cli-args.js'
import type { CliIo } from '../cli-io.js'
import { bootImage, commandLineMachine, finish } from './common.js'
import { runOnConsole } from './console.js'
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
  return runOnConsole(machine, io, command.machine.maxInsns, command.machine.trace)
}
