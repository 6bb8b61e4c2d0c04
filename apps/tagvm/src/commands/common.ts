import { setFlagsFromString } from 'node:v8'
import { JIT_V8_FLAGS, Machine, VIRT_RAM_BASE, isMachineRefusedError, type MachineConfig, type MachineHostOptions, type StopReason } from '@tagvm/machine'
import { spawnVcpuWorker } from '../vcpu-worker.js'
import { EXIT_FAILURE, EXIT_LIMIT, EXIT_OK, type MachineOptions, type SmpMode } from '../cli-args.js'
import { CommandFailure, type CliIo } from '../cli-io.js'
import { guestImageBytes } from '../files/guest-image.js'
import { readInputFile } from '../files/input.js'

export function machineConfig(options: MachineOptions): MachineConfig {
  return { ramBase: VIRT_RAM_BASE, ramSize: options.memory, cpus: options.cpus, mte: options.mte, backing: options.backing, clock: options.clock }
}

/** A machine whose console is standard output and whose notes go to standard error. */
export function createMachine(config: MachineConfig, io: CliIo, trace: boolean, host: MachineHostOptions = {}): Machine {
  return Machine.create(config, {
    console: (bytes) => io.stdout.write(bytes),
    message: (text) => io.stderr.write(`tagvm: ${text}\n`),
    ...(trace ? { trace: (line: string) => io.stderr.write(line) } : {}),
  }, host)
}

/** --smp-mode threads: each vCPU in a worker thread running @tagvm/vmm-api's runVcpuThread; --jit: the compiled tier. */
function hostOptions(options: MachineOptions): MachineHostOptions {
  return { ...smpHost(options.smpMode), ...jitHost(options.jit) }
}

/** The host options of --smp-mode (restore and migrate receive take it with --jit). */
export function smpHost(mode: SmpMode): MachineHostOptions {
  return mode === 'threads' ? { threads: { spawn: spawnVcpuWorker } } : {}
}

/** The host options of --jit (restore and migrate receive take it without the other machine options). */
export function jitHost(jit: boolean): MachineHostOptions {
  if (!jit) return {}
  // Before the first translation: V8 reads the tiering budget when it instantiates a module.
  setFlagsFromString(JIT_V8_FLAGS)
  return { jit: true }
}

/** The machine the command line describes; a host that cannot build it is a one-line failure with a hint. */
export function commandLineMachine(options: MachineOptions, io: CliIo, machineIo?: Parameters<typeof Machine.create>[1]): Machine {
  const config = machineConfig(options)
  try {
    return machineIo ? Machine.create(config, machineIo, hostOptions(options)) : createMachine(config, io, options.trace, hostOptions(options))
  } catch (e) {
    if (isMachineRefusedError(e)) {
      const hint = config.mte && config.backing === 'file' ? ' (file-backed memory cannot hold allocation tags: use --mte off, or --backing anon or shmem)' : ''
      throw new CommandFailure(`cannot build the machine: ${e.reason}${hint}`)
    }
    throw e
  }
}

/** Boots an image as `tagvm run` does (files/guest-image.ts decides what the file is). */
export function bootImage(machine: Machine, image: string, options: MachineOptions): void {
  machine.boot(guestImageBytes(image, options), image, {
    ...(options.base !== undefined ? { base: options.base } : {}),
    ...(options.initrd !== undefined ? { initrd: { bytes: readInputFile(options.initrd), file: options.initrd } } : {}),
    ...(options.append !== undefined ? { bootargs: options.append } : {}),
  })
}

/** Runs to the end (or `maxInsns` more instructions) and turns the outcome into an exit status. */
export function runToEnd(machine: Machine, io: CliIo, maxInsns: number | undefined): number {
  return finish(machine.run(maxInsns ?? Number.POSITIVE_INFINITY), machine, io, maxInsns)
}

/** The exit status for how the guest stopped, and why when it did not power off (also under --quiet). */
export function finish(stop: StopReason, machine: Machine, io: CliIo, maxInsns: number | undefined): number {
  switch (stop.kind) {
    case 'power-off':
      return EXIT_OK
    case 'reset':
      // As QEMU with -no-reboot: a reset request ends the run.
      io.stderr.write('tagvm: the guest asked for a reset (PSCI SYSTEM_RESET); tagvm does not reboot, so it stops here\n')
      return EXIT_OK
    case 'budget':
      io.stderr.write(`tagvm: stopped the guest after ${maxInsns ?? machine.retired} instructions (--max-insns); it had not powered off\n`)
      return EXIT_LIMIT
    case 'error':
      io.stderr.write(`tagvm: the guest cannot continue: ${stop.message} (after ${machine.retired} instructions)\n`)
      return EXIT_FAILURE
  }
}
