import { EXIT_FAILURE, EXIT_OK, type Command } from '../cli-args.js'
import type { CliIo } from '../cli-main.js'
import { Machine } from '../machine/machine.js'
import { ProgressReporter } from '../progress.js'
import { StopTrigger } from '../stop-trigger.js'
import { loadSnapshotFile, saveSnapshotFile } from '../snapshot/file.js'
import type { Snapshot } from '../snapshot/format.js'
import { PAGE_SIZE, TAG_BYTES_PER_PAGE } from '../snapshot/records.js'
import { CommandFailure, bootImage, createMachine, finish, machineConfig, runToEnd } from './common.js'

type SnapshotCommand = Extract<Command, { name: 'snapshot' }>
type RestoreCommand = Extract<Command, { name: 'restore' }>

function progress(io: CliIo, quiet: boolean, label: string, total: number): ProgressReporter | undefined {
  return quiet ? undefined : new ProgressReporter(io.stderr, label, total)
}

/**
 * Saves a stopped machine: config, every vCPU's ONE_REG registers, device state, and every
 * page that holds data or tags (tags through KVM_ARM_MTE_COPY_TAGS). Written atomically.
 * Returns the file's size and the guest bytes saved (data + tags).
 */
export function saveMachine(machine: Machine, path: string, report?: ProgressReporter): { fileBytes: number; guestBytes: number } {
  let guestBytes = 0
  const fileBytes = saveSnapshotFile(path, (enc) => {
    enc.writeConfig(machine.config)
    for (const state of machine.saveVcpus()) enc.writeVcpu(state)
    for (const device of machine.saveDevices()) enc.writeDevice(device)
    for (const page of machine.savedPages()) {
      enc.writePage(page)
      guestBytes += (page.data ? PAGE_SIZE : 0) + (page.tags ? TAG_BYTES_PER_PAGE : 0)
      report?.update(page.gpa + PAGE_SIZE - machine.config.ramBase)
    }
    enc.end()
  })
  report?.finish(machine.config.ramSize, `(${machine.config.ramSize / PAGE_SIZE} pages scanned, ${fileBytes} bytes written)`)
  return { fileBytes, guestBytes }
}

/** Builds a fresh machine from a snapshot: memslot, memory, tags (COPY_TAGS to the guest), registers, devices. */
export function restoreMachine(snapshot: Snapshot, makeMachine: (s: Snapshot) => Machine, report?: ProgressReporter): Machine {
  const machine = makeMachine(snapshot)
  for (const page of snapshot.pages) {
    machine.writePage(page)
    report?.update(page.gpa + PAGE_SIZE - snapshot.config.ramBase)
  }
  machine.loadVcpus(snapshot.vcpus)
  for (const device of snapshot.devices) machine.loadDevice(device.name, device.state)
  report?.finish(snapshot.config.ramSize, `(${snapshot.pages.length} pages)`)
  return machine
}

/** `tagvm snapshot IMAGE OUT --after-insns N`: run N instructions, save, stop. */
export function snapshotCommand(command: SnapshotCommand, io: CliIo): number {
  if (command.afterInsns === undefined) {
    // Waiting for a signal needs the event loop: the tagvm binary routes this case to snapshotOnSignal.
    throw new CommandFailure('snapshot: give --after-insns N (the tagvm binary also saves on SIGUSR1 without it)')
  }
  const machine = createMachine(machineConfig(command.machine), io, command.machine.trace)
  bootImage(machine, command.image, command.machine)
  const stop = machine.run(command.afterInsns)
  if (stop.kind !== 'budget') {
    const what = stop.kind === 'error' ? `cannot continue: ${stop.message}` : stop.kind === 'power-off' ? 'powered off' : 'asked for a reset'
    io.stderr.write(`tagvm: the guest ${what} after ${machine.retired} instructions, before --after-insns ${command.afterInsns}; no snapshot written\n`)
    return EXIT_FAILURE
  }
  const { fileBytes } = saveMachine(machine, command.out, progress(io, command.quiet, `snapshot ${command.out}`, machine.config.ramSize))
  if (!command.quiet) io.stderr.write(`tagvm: saved the guest after ${machine.retired} instructions to ${command.out} (${fileBytes} bytes)\n`)
  return EXIT_OK
}

/** Instructions between looks at the event loop while waiting for SIGUSR1. */
const SIGNAL_POLL_INSNS = 1_000_000

/**
 * `tagvm snapshot IMAGE OUT` without --after-insns: runs the guest in slices, letting the event
 * loop run between them, and saves it when SIGUSR1 arrives (or stops at --max-insns).
 */
export async function snapshotOnSignal(command: SnapshotCommand, io: CliIo): Promise<number> {
  const machine = createMachine(machineConfig(command.machine), io, command.machine.trace)
  bootImage(machine, command.image, command.machine)
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
  } finally {
    trigger.dispose()
  }
  const { fileBytes } = saveMachine(machine, command.out, progress(io, command.quiet, `snapshot ${command.out}`, machine.config.ramSize))
  if (!command.quiet) io.stderr.write(`tagvm: saved the guest on SIGUSR1 after ${machine.retired} instructions to ${command.out} (${fileBytes} bytes)\n`)
  return EXIT_OK
}

/** `tagvm restore SNAPSHOT`: a fresh VM with the saved state, then run on. */
export function restoreCommand(command: RestoreCommand, io: CliIo): number {
  const snapshot = loadSnapshotFile(command.snapshot)
  const machine = restoreMachine(
    snapshot,
    (s) => createMachine(s.config, io, command.trace),
    progress(io, command.quiet, `restore ${command.snapshot}`, snapshot.config.ramSize),
  )
  return runToEnd(machine, io, command.maxInsns)
}
