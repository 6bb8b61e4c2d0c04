import { prefaultHostMemory } from '@tagvm/vmm-api'
import { isChannelError, isFileFormatError, isSnapshot, receiveMigration, sendMachine, type Channel, type IncomingGuest, type Machine } from '@tagvm/machine'
import { EXIT_FAILURE, EXIT_OK, parseEndpoint, type Command } from '../cli-args.js'
import type { CliIo } from '../cli-io.js'
import { connectEndpoint, endpointText, listenEndpoint } from '../endpoint.js'
import { readFileHead } from '../files/input.js'
import { IncomingPrefault } from '../files/host-prefault.js'
import { restoreMachine } from '../files/snapshot-file.js'
import { ProgressReporter } from '../progress.js'
import { bootImage, commandLineMachine, createMachine, finish, jitHost, smpHost } from './common.js'

type SendCommand = Extract<Command, { name: 'migrate-send' }>
type ReceiveCommand = Extract<Command, { name: 'migrate-receive' }>

/** `tagvm migrate send IMAGE|SNAPSHOT --to ENDPOINT`: run (or restore) the guest, then hand it over. */
export async function migrateSendCommand(command: SendCommand, io: CliIo): Promise<number> {
  let machine: Machine
  if (isSnapshot(readFileHead(command.source, 8))) {
    machine = restoreMachine(command.source, (config) => createMachine(config, io, command.machine.trace, { ...smpHost(command.machine.smpMode), ...jitHost(command.machine.jit) }))
  } else {
    machine = commandLineMachine(command.machine, io)
    bootImage(machine, command.source, command.machine)
  }
  if (command.afterInsns !== undefined) {
    const stop = machine.run(command.afterInsns)
    if (stop.kind !== 'budget') return finish(stop, machine, io, undefined)
  }
  const channel = await connectEndpoint(parseEndpoint(command.to))
  const progress = command.quiet ? undefined : new ProgressReporter(io.stderr, 'migrate', 0)
  const result = await sendMachine(machine, channel, { maxRounds: command.maxRounds, postcopy: command.postcopy, ...(progress ? { progress } : {}) })
  switch (result.kind) {
    case 'migrated': {
      const how = command.postcopy ? `${result.rounds} pre-copy rounds and post-copy, ${result.requestedPages} pages asked for` : `${result.rounds} rounds`
      if (!command.quiet) io.stderr.write(`tagvm: the guest now runs on the destination (${result.pages} pages in ${how}; downtime ${result.downtimeMs.toFixed(1)} ms); stopping here\n`)
      return EXIT_OK
    }
    case 'lost':
      io.stderr.write(`tagvm: post-copy migration broke after the destination started the guest: ${result.reason}; ${result.missingPages} pages never left here, and the guest cannot come back (it ran on there)\n`)
      return EXIT_FAILURE
    case 'stopped':
      io.stderr.write(`tagvm: the guest stopped by itself during pre-copy (${result.stop.kind}); migration abandoned\n`)
      return finish(result.stop, machine, io, undefined)
    case 'failed':
      io.stderr.write(`tagvm: migration failed: ${result.reason}; the guest keeps running here\n`)
      return finish(machine.run(command.machine.maxInsns ?? Number.POSITIVE_INFINITY), machine, io, command.machine.maxInsns)
  }
}

/**
 * --prealloc: backs host memory for `ramSize` bytes of guest RAM and their tags (4 bits per
 * 16-byte granule) now, so the pages that arrive later go into memory the OS already backs;
 * says how long that took (it is not part of the stream's time).
 */
export function preallocHost(ramSize: number, io: CliIo, quiet: boolean): void {
  const start = performance.now()
  const bytes = prefaultHostMemory(ramSize + ramSize / 32)
  if (!quiet) io.stderr.write(`tagvm: backed ${(bytes / 2 ** 20).toFixed(0)} MiB of host memory for guest RAM and tags in ${(performance.now() - start).toFixed(0)} ms (--prealloc)\n`)
}

/** `tagvm migrate receive --listen ENDPOINT`: build the guest from the stream, then run it. */
export async function migrateReceiveCommand(command: ReceiveCommand, io: CliIo): Promise<number> {
  // Before listening, as QEMU's -incoming with -mem-prealloc: a source that comes early waits.
  if (command.prealloc !== undefined) preallocHost(command.prealloc, io, command.quiet)
  // The prefault worker starts as the destination listens, so its start-up is over before a source comes.
  const prefault = new IncomingPrefault()
  let channel: Channel
  try {
    channel = await listenEndpoint(parseEndpoint(command.listen), (at) => {
      prefault.listening()
      if (!command.quiet) io.stderr.write(`tagvm: waiting for a migration on ${endpointText(at)}\n`)
    })
  } catch (error) {
    prefault.stop()
    throw error
  }
  let incoming: IncomingGuest
  try {
    incoming = await receiveMigration(channel, (config) => prefault.supplyTo(createMachine(config, io, command.trace, { ...smpHost(command.smpMode), ...jitHost(command.jit) })), command.listen, { expectPages: (pages) => prefault.expect(pages) })
  } catch (error) {
    prefault.stop()
    // A bad, refused or broken stream; anything else is tagvm's own bug.
    if (!(isFileFormatError(error) || isChannelError(error))) throw error
    io.stderr.write(`tagvm: migration failed: ${error.message}\n`)
    return EXIT_FAILURE
  }
  // Pre-copy has every page by now (the worker ends before the guest runs); post-copy goes on
  // filling memory while the guest runs.
  prefault.arrived(incoming)
  if (!command.quiet) io.stderr.write(incoming.postcopy ? 'tagvm: post-copy migration: the guest continues here while its memory arrives\n' : 'tagvm: migration complete; the guest continues here\n')
  return finish(await incoming.run(command.maxInsns ?? Number.POSITIVE_INFINITY), incoming.machine, io, command.maxInsns)
}
