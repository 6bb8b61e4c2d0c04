import { readFileSync } from 'node:fs'
import { ErrnoError } from '@tagvm/vmm-api'
import { EXIT_FAILURE, EXIT_LIMIT, EXIT_OK, type MachineOptions } from '../cli-args.js'
import { CliFailure, type CliIo } from '../cli-main.js'
import type { MachineConfig } from '../config.js'
import { VIRT_RAM_BASE } from '../fdt/virt.js'
import { Machine, type StopReason } from '../machine/machine.js'

/** A failure the CLI reports in one line (tagvm: MESSAGE) and exits with its status. */
export { CliFailure as CommandFailure } from '../cli-main.js'

export function machineConfig(options: MachineOptions): MachineConfig {
  return { ramBase: VIRT_RAM_BASE, ramSize: options.memory, cpus: options.cpus, mte: options.mte, backing: options.backing }
}

export function readFileOrFail(path: string): Uint8Array {
  try {
    return readFileSync(path)
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code
    throw new CliFailure(`${path}: cannot read: ${code === 'ENOENT' ? 'no such file' : code === 'EISDIR' ? 'is a directory' : (code ?? (e as Error).message)}`)
  }
}

/** Builds the machine; a host refusal (e.g. PROT_MTE on file-backed RAM) becomes a clear failure. */
export function createMachine(config: MachineConfig, io: CliIo, trace: boolean): Machine {
  try {
    return Machine.create(config, {
      console: (bytes) => io.stdout.write(bytes),
      message: (text) => io.stderr.write(`tagvm: ${text}\n`),
      ...(trace ? { trace: (line: string) => io.stderr.write(line) } : {}),
    })
  } catch (e) {
    if (e instanceof ErrnoError) {
      const hint = config.mte && config.backing === 'file' ? ' (file-backed memory cannot hold allocation tags: use --mte off, or --backing anon or shmem)' : ''
      throw new CliFailure(`cannot build the machine: ${e.message.includes(e.code) ? e.message : `${e.message} (${e.code})`}${hint}`)
    }
    throw e
  }
}

/** Boots an image as `tagvm run` does. */
export function bootImage(machine: Machine, image: string, options: MachineOptions): void {
  machine.boot(readFileOrFail(image), image, {
    ...(options.base !== undefined ? { base: options.base } : {}),
    ...(options.initrd !== undefined ? { initrd: { bytes: readFileOrFail(options.initrd), file: options.initrd } } : {}),
    ...(options.append !== undefined ? { bootargs: options.append } : {}),
  })
}

/** Runs to the end (or `maxInsns` more instructions) and turns the outcome into an exit status. */
export function runToEnd(machine: Machine, io: CliIo, maxInsns: number | undefined): number {
  return finish(machine.run(maxInsns ?? Number.POSITIVE_INFINITY), machine, io, maxInsns)
}

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
