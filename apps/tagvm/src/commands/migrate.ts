import { EXIT_FAILURE, EXIT_INTERNAL, EXIT_OK, parseCommand, type Command } from '../cli-args.js'
import { runInteractiveCommand } from './run.js'
import { runCli, type CliIo } from '../cli-main.js'
import type { MachineConfig } from '../config.js'
import { FileFormatError } from '../loaders/errors.js'
import { Machine } from '../machine/machine.js'
import { connectEndpoint, listenEndpoint, parseEndpoint, type Channel } from '../migration/endpoint.js'
import { AckReader, MigrationReceiver, MigrationSender, ackRecord } from '../migration/stream.js'
import { ProgressReporter } from '../progress.js'
import { SNAPSHOT_MAGIC } from '../snapshot/format.js'
import { loadSnapshotFile } from '../snapshot/file.js'
import { PAGE_SIZE, TAG_BYTES_PER_PAGE, type PageRecord, type VcpuState } from '../snapshot/records.js'
import { CommandFailure, bootImage, createMachine, finish, machineConfig, readFileOrFail } from './common.js'
import { restoreMachine, snapshotOnSignal } from './snapshot.js'

/**
 * Instructions the guest runs between pre-copy rounds (it keeps dirtying memory meanwhile):
 * about 50 ms of guest time at this machine's speed.
 */
export const DEFAULT_INSNS_PER_ROUND = 100_000
/** Stop pre-copying once a round finds this few dirty pages: the rest goes with the vCPUs stopped. */
const CONVERGED_PAGES = 16

export interface SendOptions {
  readonly maxRounds: number
  readonly insnsPerRound?: number
  readonly progress?: ProgressReporter
}

export type SendResult =
  | { readonly kind: 'migrated'; readonly rounds: number; readonly pages: number; readonly bytes: number }
  /** The destination did not take the guest; the source still has it and can run on. */
  | { readonly kind: 'failed'; readonly reason: string }
  /** The guest stopped by itself (power-off, reset, error) during pre-copy. */
  | { readonly kind: 'stopped'; readonly stop: ReturnType<Machine['run']> }

/** A channel as the migration uses it: writes that fail once the channel has, and reads until a value. */
class Connection {
  private readonly failure: Promise<never>
  private failed: Error | undefined
  private reader: ((chunk: Uint8Array) => void) | undefined

  constructor(
    readonly channel: Channel,
    /** What an orderly end of the channel means (the receiver turns it into "stream incomplete"). */
    onEnd: () => Error = () => new Error('the connection closed'),
  ) {
    this.failure = new Promise<never>((_, reject) => {
      channel.onEnd((error) => {
        try {
          this.failed ??= error ?? onEnd()
        } catch (problem) {
          this.failed ??= problem as Error
        }
        reject(this.failed)
      })
    })
    this.failure.catch(() => {})
    channel.onData((chunk) => this.reader?.(chunk))
  }

  /** Resolves once the bytes are written; rejects if the channel has failed. */
  write(bytes: Uint8Array): Promise<void> {
    if (this.failed) return Promise.reject(this.failed)
    return Promise.race([this.channel.write(bytes), this.failure])
  }

  /** Resolves with the first value `read` gives for an incoming chunk; rejects when the channel ends first. */
  until<T>(read: (chunk: Uint8Array) => T | undefined): Promise<T> {
    const got = new Promise<T>((resolve, reject) => {
      this.reader = (chunk) => {
        try {
          const value = read(chunk)
          if (value !== undefined) {
            this.reader = undefined
            resolve(value)
          }
        } catch (error) {
          this.reader = undefined
          reject(error as Error)
        }
      }
    })
    return Promise.race([got, this.failure])
  }
}

/**
 * The source side of a live migration: pre-copy rounds driven by the dirty log (the guest
 * runs between rounds), then vCPU and device state with the guest stopped, then wait for
 * the destination's ACK. Only a positive ACK hands the guest over; on any failure the dirty
 * log is turned off and the caller still owns a machine that can run on.
 */
export async function sendMachine(machine: Machine, channel: Channel, options: SendOptions): Promise<SendResult> {
  const connection = new Connection(channel)
  const sender = new MigrationSender()
  const acks = new AckReader('destination')
  const ack = connection.until((chunk) => acks.push(chunk))
  ack.catch(() => {})
  let pages = 0
  let bytes = 0
  let sentBytes = 0
  let queued: Uint8Array[] = []
  let queuedBytes = 0
  const flush = async (): Promise<void> => {
    if (queued.length === 0) return
    const chunk = Buffer.concat(queued)
    queued = []
    queuedBytes = 0
    await connection.write(chunk)
  }
  const send = async (record: Uint8Array): Promise<void> => {
    queued.push(record)
    queuedBytes += record.length
    sentBytes += record.length
    if (queuedBytes >= 1 << 20) await flush()
  }
  const sendPage = async (page: PageRecord): Promise<void> => {
    await send(sender.page(page))
    pages++
    bytes += (page.data ? PAGE_SIZE : 0) + (page.tags ? TAG_BYTES_PER_PAGE : 0)
    options.progress?.update(bytes)
  }
  const sendDirty = async (): Promise<number> => {
    const dirty = machine.dirtyPages()
    options.progress?.setTotal(bytes + dirty.length * PAGE_SIZE)
    for (const gpa of dirty) await sendPage(machine.readPage(gpa))
    await send(sender.endRound())
    return dirty.length
  }
  try {
    await send(sender.hello())
    await send(sender.config(machine.config))
    machine.startDirtyLog()
    machine.dirtyPages() // start the log from here: round 0 sends everything
    options.progress?.setTotal(machine.config.ramSize)
    for (const page of machine.savedPages()) await sendPage(page)
    await send(sender.endRound())
    let rounds = 1
    for (; rounds < options.maxRounds; rounds++) {
      await flush()
      const stop = machine.run(options.insnsPerRound ?? DEFAULT_INSNS_PER_ROUND)
      if (stop.kind !== 'budget') {
        machine.stopDirtyLog()
        channel.close()
        return { kind: 'stopped', stop }
      }
      if ((await sendDirty()) <= CONVERGED_PAGES) {
        rounds++
        break
      }
    }
    // Final round: the guest does not run any more; what it dirtied last goes with its state.
    await sendDirty()
    rounds++
    for (const state of machine.saveVcpus()) await send(sender.vcpu(state))
    for (const device of machine.saveDevices()) await send(sender.device(device.name, device.state))
    await send(sender.end())
    await flush()
    const answer = await ack
    if (!answer.ok) throw new Error(`the destination refused the guest: ${answer.reason ?? 'no reason given'}`)
    options.progress?.finish(bytes, `(${pages} pages in ${rounds} rounds, ${sentBytes} bytes sent)`)
    channel.close()
    return { kind: 'migrated', rounds, pages, bytes }
  } catch (error) {
    machine.stopDirtyLog()
    channel.close()
    return { kind: 'failed', reason: error instanceof Error ? error.message : String(error) }
  }
}

/**
 * The destination side: builds the machine from the stream (a fresh VM: memslot, pages and
 * their tags through KVM_ARM_MTE_COPY_TAGS, registers, devices), answers ACK once it holds the
 * whole guest, and returns the machine ready to run. A bad or cut-off stream is refused
 * (ACK false when the connection still works) and rejects.
 */
export async function receiveMachine(channel: Channel, makeMachine: (config: MachineConfig) => Machine, source = 'migration stream'): Promise<Machine> {
  let machine: Machine | undefined
  const vcpus: VcpuState[] = []
  const taggedPages = new Set<number>()
  const need = (): Machine => {
    if (!machine) throw new RangeError('migration: state before the machine config')
    return machine
  }
  const receiver = new MigrationReceiver(source, {
    config: (config) => {
      machine = makeMachine(config)
    },
    page: (page) => {
      // A page that had tags and now has none gets its tags cleared, not left stale.
      const hadTags = taggedPages.has(page.gpa)
      if (page.tags) taggedPages.add(page.gpa)
      else taggedPages.delete(page.gpa)
      need().writePage(page, hadTags)
    },
    vcpu: (state) => vcpus.push(state),
    device: (name, state) => need().loadDevice(name, state),
  })
  // An orderly end before END: the receiver names where the stream stopped.
  const connection = new Connection(channel, () => {
    receiver.finish()
    return new Error('the connection closed')
  })
  try {
    await connection.until((chunk) => {
      receiver.push(chunk)
      return receiver.complete ? true : undefined
    })
    const done = need()
    done.loadVcpus(vcpus)
    await connection.write(ackRecord(true))
    channel.close()
    return done
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error)
    // Tell the source (if it still listens) so it keeps its guest.
    connection.write(ackRecord(false, reason)).then(
      () => channel.close(),
      () => channel.close(),
    )
    throw error
  }
}

/** Both ends of a migration over a Unix socket at `path`, in one process: [source, destination]. */
export async function localChannelPair(path: string): Promise<[Channel, Channel]> {
  let ready!: () => void
  const listening = new Promise<void>((resolve) => (ready = resolve))
  const accepted = listenEndpoint({ kind: 'unix', path }, ready)
  await listening
  const source = await connectEndpoint({ kind: 'unix', path })
  return [source, await accepted]
}

// ---- the CLI ---------------------------------------------------------------------------

type SendCommand = Extract<Command, { name: 'migrate-send' }>
type ReceiveCommand = Extract<Command, { name: 'migrate-receive' }>

function isSnapshot(bytes: Uint8Array): boolean {
  return new TextDecoder().decode(bytes.subarray(0, SNAPSHOT_MAGIC.length)) === SNAPSHOT_MAGIC
}

export async function migrateSendCommand(command: SendCommand, io: CliIo): Promise<number> {
  const bytes = readFileOrFail(command.source)
  let machine: Machine
  if (isSnapshot(bytes)) {
    const snapshot = loadSnapshotFile(command.source)
    machine = restoreMachine(snapshot, (s) => createMachine(s.config, io, command.machine.trace))
  } else {
    machine = createMachine(machineConfig(command.machine), io, command.machine.trace)
    bootImage(machine, command.source, command.machine)
  }
  if (command.afterInsns !== undefined) {
    const stop = machine.run(command.afterInsns)
    if (stop.kind !== 'budget') return finish(stop, machine, io, undefined)
  }
  let channel: Channel
  try {
    channel = await connectEndpoint(parseEndpoint(command.to))
  } catch (e) {
    throw new CommandFailure(`migrate send: ${e instanceof Error ? e.message : String(e)}`)
  }
  const progress = command.quiet ? undefined : new ProgressReporter(io.stderr, 'migrate', machine.config.ramSize)
  const result = await sendMachine(machine, channel, { maxRounds: command.maxRounds, ...(progress ? { progress } : {}) })
  switch (result.kind) {
    case 'migrated':
      if (!command.quiet) io.stderr.write(`tagvm: the guest now runs on the destination (${result.pages} pages in ${result.rounds} rounds); stopping here\n`)
      return EXIT_OK
    case 'stopped':
      io.stderr.write(`tagvm: the guest stopped by itself during pre-copy (${result.stop.kind}); migration abandoned\n`)
      return finish(result.stop, machine, io, undefined)
    case 'failed':
      io.stderr.write(`tagvm: migration failed: ${result.reason}; the guest keeps running here\n`)
      return finish(machine.run(command.machine.maxInsns ?? Number.POSITIVE_INFINITY), machine, io, command.machine.maxInsns)
  }
}

export async function migrateReceiveCommand(command: ReceiveCommand, io: CliIo): Promise<number> {
  let channel: Channel
  try {
    channel = await listenEndpoint(parseEndpoint(command.listen), () => {
      if (!command.quiet) io.stderr.write(`tagvm: waiting for a migration on ${command.listen}\n`)
    })
  } catch (e) {
    throw new CommandFailure(`migrate receive: ${e instanceof Error ? e.message : String(e)}`)
  }
  let machine: Machine
  try {
    machine = await receiveMachine(channel, (config) => createMachine(config, io, command.trace), command.listen)
  } catch (error) {
    io.stderr.write(`tagvm: migration failed: ${error instanceof Error ? error.message : String(error)}\n`)
    return EXIT_FAILURE
  }
  if (!command.quiet) io.stderr.write('tagvm: migration complete; the guest continues here\n')
  return finish(machine.run(command.maxInsns ?? Number.POSITIVE_INFINITY), machine, io, command.maxInsns)
}

/**
 * The CLI entry: `migrate send|receive` (sockets) and `snapshot` on SIGUSR1 need the event
 * loop, so they run asynchronously; every other command goes to runCli.
 */
export async function runCliAsync(argv: readonly string[], io: CliIo, version: string): Promise<number> {
  const parsed = parseCommand(argv)
  if (parsed.kind !== 'command') return runCli(argv, io, version)
  const command = parsed.command
  const run = async (): Promise<number> => {
    if (command.name === 'migrate-send') return migrateSendCommand(command, io)
    if (command.name === 'migrate-receive') return migrateReceiveCommand(command, io)
    if (command.name === 'snapshot' && command.afterInsns === undefined) return snapshotOnSignal(command, io)
    // On a terminal the guest's UART also gets the keyboard; --trace stays line by line on stderr.
    if (command.name === 'run' && io.stdin?.isTTY === true && !command.machine.trace) return runInteractiveCommand(command, io, io.stdin)
    return runCli(argv, io, version)
  }
  try {
    return await run()
  } catch (e) {
    if (e instanceof CommandFailure) {
      io.stderr.write(`tagvm: ${e.message}\n`)
      return e.status
    }
    if (e instanceof FileFormatError) {
      io.stderr.write(`tagvm: ${e.message}\n`)
      return EXIT_FAILURE
    }
    io.stderr.write(`tagvm: internal error: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`)
    return EXIT_INTERNAL
  }
}
