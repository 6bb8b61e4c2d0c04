import type { Command } from '../cli-args.js'
import type { CliIo } from '../cli-main.js'
import { bootImage, createMachine, machineConfig, runToEnd } from './common.js'

type RunCommand = Extract<Command, { name: 'run' }>

/** `tagvm run IMAGE`: the guest's console is stdout; the exit status says how it ended. */
export function runCommand(command: RunCommand, io: CliIo): number {
  const machine = createMachine(machineConfig(command.machine), io, command.machine.trace)
  bootImage(machine, command.image, command.machine)
  return runToEnd(machine, io, command.machine.maxInsns)
}
