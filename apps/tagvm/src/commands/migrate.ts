import { createServer, connect, Socket } from 'node:net'
import { EXIT_FAILURE, EXIT_INTERNAL, EXIT_OK, parseCommand, type Command } from '../cli-args.js'
import { runCli, type CliIo } from '../cli-main.js'
import type { MachineConfig } from '../config.js'
import { FileFormatError } from '../loaders/errors.js'
import { Machine } from '../machine/machine.js'
import { AckReader, MigrationReceiver, MigrationSender, ackRecord } from '../migration/stream.js'
import { ProgressReporter } from '../progress.js'
import { SNAPSHOT_MAGIC } from '../snapshot/format.js'
import { loadSnapshotFile } from '../snapshot/file.js'
import { PAGE_SIZE, TAG_BYTES_PER_PAGE, type PageRecord, type VcpuState } from '../snapshot/records.js'
import { CommandFailure, bootImage, createMachine, finish, machineConfig, readFileOrFail } from './common.js'
import { restoreMachine } from './snapshot.js'

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

/** A connection as the migration needs it: ordered writes that settle, incoming chunks, closure. */
class Connection {
  private readonly failure: Promise<never>
  private failed: Error | undefined

  constructor(readonly socket: Socket) {
    this.failure = new Promise<never>((_, reject) => {
      const fail = (error: Error): void => {
        this.failed ??= error
        reject(this.failed)
      }
      socket.on('error', fail)
      socket.on('close', () => fail(new Error('the connection closed')))
    })
    this.failure.catch(() => {})
  }

  /** Resolves once the bytes are handed to the kernel; rejects if the connection has failed. */
  write(bytes: Uint8Array): Promise<void> {
    if (this.failed) return Promise.reject(this.failed)
    const written = new Promise<void>((resolve, reject) => {
      this.socket.write(bytes, (error) => (error ? reject(error) : resolve()))
    })
    return Promise.race([written, this.failure])
  }

  /** Resolves with the value `read` gives for some chunk; rejects when the connection ends first. */
  until<T>(read: (chunk: Uint8Array) => T | undefined): Promise<T> {
    const got = new Promise<T>((resolve, reject) => {
      const onData = (chunk: Buffer): void => {
        try {
          const value = read(chunk)
          if (value !== undefined) {
            this.socket.off('data', onData)
            resolve(value)
          }
        } catch (error) {
          reject(error as Error)
        }
      }
      this.socket.on('data', onData)
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
export async function sendMachine(machine: Machine, socket: Socket, options: SendOptions): Promise<SendResult> {
  const connection = new Connection(socket)
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
        socket.destroy()
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
    socket.end()
    return { kind: 'migrated', rounds, pages, bytes }
  } catch (error) {
    machine.stopDirtyLog()
    socket.destroy()
    return { kind: 'failed', reason: error instanceof Error ? error.message : String(error) }
  }
}

/**
 * The destination side: builds the machine from the stream (a fresh VM: memslot, pages and
 * their tags through KVM_ARM_MTE_COPY_TAGS, registers, devices), answers ACK once it holds the
 * whole guest, and returns the machine ready to run. A bad or cut-off stream is refused
 * (ACK false when the connection still works) and rejects.
 */
export async function receiveMachine(socket: Socket, makeMachine: (config: MachineConfig) => Machine, source = 'migration stream'): Promise<Machine> {
  const connection = new Connection(socket)
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
  const ended = new Promise<void>((resolve) => socket.once('end', resolve))
  try {
    await Promise.race([
      connection.until((chunk) => {
        receiver.push(chunk)
        return receiver.complete ? true : undefined
      }),
      ended.then(() => receiver.finish()),
    ])
    const done = need()
    done.loadVcpus(vcpus)
    await connection.write(ackRecord(true))
    socket.end()
    return done
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error)
    if (!socket.destroyed) {
      socket.end(ackRecord(false, reason))
    }
    throw error
  }
}

// ---- the CLI ---------------------------------------------------------------------------

type SendCommand = Extract<Command, { name: 'migrate-send' }>
type ReceiveCommand = Extract<Command, { name: 'migrate-receive' }>

function isSnapshot(bytes: Uint8Array): boolean {
  return new TextDecoder().decode(bytes.subarray(0, SNAPSHOT_MAGIC.length)) === SNAPSHOT_MAGIC
}

function connectTo(where: string): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const fd = /^fd:(\d+)$/.exec(where)
    if (fd) {
      resolve(new Socket({ fd: Number(fd[1]), readable: true, writable: true }))
      return
    }
    const socket = connect(where)
    socket.once('connect', () => resolve(socket))
    socket.once('error', (e: NodeJS.ErrnoException) => reject(new CommandFailure(`migrate send: cannot connect to ${where}: ${e.code ?? e.message}`)))
  })
}

function acceptOn(where: string, io: CliIo, quiet: boolean): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const fd = /^fd:(\d+)$/.exec(where)
    if (fd) {
      resolve(new Socket({ fd: Number(fd[1]), readable: true, writable: true }))
      return
    }
    const server = createServer((socket) => {
      server.close()
      resolve(socket)
    })
    server.once('error', (e: NodeJS.ErrnoException) => reject(new CommandFailure(`migrate receive: cannot listen on ${where}: ${e.code ?? e.message}`)))
    server.listen(where, () => {
      if (!quiet) io.stderr.write(`tagvm: waiting for a migration on ${where}\n`)
    })
  })
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
  const socket = await connectTo(command.to)
  const progress = command.quiet ? undefined : new ProgressReporter(io.stderr, 'migrate', machine.config.ramSize)
  const result = await sendMachine(machine, socket, { maxRounds: command.maxRounds, ...(progress ? { progress } : {}) })
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
  const socket = await acceptOn(command.listen, io, command.quiet)
  let machine: Machine
  try {
    machine = await receiveMachine(socket, (config) => createMachine(config, io, command.trace), command.listen)
  } catch (error) {
    io.stderr.write(`tagvm: migration failed: ${error instanceof Error ? error.message : String(error)}\n`)
    return EXIT_FAILURE
  }
  if (!command.quiet) io.stderr.write('tagvm: migration complete; the guest continues here\n')
  return finish(machine.run(command.maxInsns ?? Number.POSITIVE_INFINITY), machine, io, command.maxInsns)
}

/**
 * The CLI entry: `migrate send|receive` needs sockets, so it runs asynchronously; every other
 * command goes to runCli.
 */
export async function runCliAsync(argv: readonly string[], io: CliIo, version: string): Promise<number> {
  const parsed = parseCommand(argv)
  if (parsed.kind !== 'command' || (parsed.command.name !== 'migrate-send' && parsed.command.name !== 'migrate-receive')) return runCli(argv, io, version)
  const command = parsed.command
  try {
    return command.name === 'migrate-send' ? await migrateSendCommand(command, io) : await migrateReceiveCommand(command, io)
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
