import type { Machine } from '@tagvm/machine'
import { EXIT_FAILURE, EXIT_OK, type Command } from '../cli-args.js'
import type { CliIo } from '../cli-io.js'
import { checkOutputPath } from '../files/atomic.js'
import { restoreMachine, saveMachine } from '../files/snapshot-file.js'
import { ProgressReporter } from '../progress.js'
import { StopTrigger } from '../stop-trigger.js'
import { bootImage, commandLineMachine, createMachine, finish, jitHost, smpHost } from './common.js'
import { runOnConsole } from './console.js'
import { preallocHost } from './migrate.js'

type SnapshotCommand = Extract<Command, { name: 'snapshot' }>
type RestoreCommand = Extract<Command, { name: 'restore' }>

function progress(io: CliIo, quiet: boolean, label: string, total: number): ProgressReporter | undefined {
  return quiet ? undefined : new ProgressReporter(io.stderr, label, total)
}

/** Instructions between looks at the event loop while waiting for SIGUSR1. */
const SIGNAL_POLL_INSNS = 1_000_000

/**
 * Runs the guest until the snapshot is due: after --after-insns, or (without it) when SIGUSR1
 * arrives, running in slices and letting the event loop deliver the signal between them. Returns
 * the exit status when the guest ends first, else undefined.
 */
async function runUntilDue(machine: Machine, command: SnapshotCommand, io: CliIo): Promise<number | undefined> {
  if (command.afterInsns !== undefined) {
    const stop = machine.run(command.afterInsns)
    if (stop.kind === 'budget') return undefined
    const what = stop.kind === 'error' ? `cannot continue: ${stop.message}` : stop.kind === 'power-off' ? 'powered off' : 'asked for a reset'
    io.stderr.write(`tagvm: the guest ${what} after ${machine.retired} instructions, before --after-insns ${command.afterInsns}; no snapshot written\n`)
    return EXIT_FAILURE
  }
  const trigger = new StopTrigger({ signal: 'SIGUSR1' })
  try {
    if (!command.quiet) io.stderr.write(`tagvm: running; send SIGUSR1 to process ${process.pid} to save the guest to ${command.out}\n`)
    const limit = command.machine.maxInsns ?? Number.POSITIVE_INFINITY
    while (!trigger.fired(machine.retired)) {
      const stop = machine.run(Math.min(trigger.sliceBudget(machine.retired, SIGNAL_POLL_INSNS), limit - machine.retired))
      if (stop.kind !== 'budget' || machine.retired >= limit) {
        io.stderr.write('tagvm: no SIGUSR1 arrived while the guest ran; no snapshot written\n')
        return finish(stop, machine, io, command.machine.maxInsns)
      }
      // Signals are delivered on the event loop.
      await new Promise((resolve) => setImmediate(resolve))
    }
    return undefined
  } finally {
    trigger.dispose()
  }
}

/** `tagvm snapshot IMAGE OUT`: run until --after-insns N or SIGUSR1, save, stop. */
export async function snapshotCommand(command: SnapshotCommand, io: CliIo): Promise<number> {
  // Before the guest runs: an output that cannot be written is found now, not after the run.
  checkOutputPath(command.out)
  const machine = commandLineMachine(command.machine, io)
  bootImage(machine, command.image, command.machine)
  const ended = await runUntilDue(machine, command, io)
  if (ended !== undefined) return ended
  const { fileBytes } = saveMachine(machine, command.out, progress(io, command.quiet, `snapshot ${command.out}`, machine.config.ramSize))
  const how = command.afterInsns === undefined ? ' on SIGUSR1' : ''
  if (!command.quiet) io.stderr.write(`tagvm: saved the guest${how} after ${machine.retired} instructions to ${command.out} (${fileBytes} bytes)\n`)
  return EXIT_OK
}

/** `tagvm restore SNAPSHOT`: a fresh VM with the saved state, then run on (the terminal is its console, as for `tagvm run`). */
export function restoreCommand(command: RestoreCommand, io: CliIo): Promise<number> {
  const machine = restoreMachine(
    command.snapshot,
    (config) => {
      // The config comes first in a snapshot: RAM is backed before any page is read.
      if (command.prealloc) preallocHost(config.ramSize, io, command.quiet)
      return createMachine(config, io, command.trace, { ...smpHost(command.smpMode), ...jitHost(command.jit) })
    },
    progress(io, command.quiet, `restore ${command.snapshot}`, 0),
  )
  return runOnConsole(machine, io, command.maxInsns, command.trace)
}
