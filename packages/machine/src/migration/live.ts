import type { MachineConfig } from '../config.js'
import { FileFormatError } from '../errors.js'
import type { Machine, StopReason } from '../machine/machine.js'
import { PAGE_SIZE, TAG_BYTES_PER_PAGE, concatBytes, pageRecordBytes, type PageRecord } from '../memory/page.js'
import type { TransferProgress } from '../progress.js'
import { MachineLoader } from '../restore.js'
import { ChannelError, type Channel } from './channel.js'
import { AckReader, MigrationReceiver, MigrationSender, ackRecord } from './stream.js'

/**
 * Instructions the guest runs between pre-copy rounds (it keeps dirtying memory meanwhile):
 * about 50 ms of guest time at this machine's speed.
 */
export const DEFAULT_INSNS_PER_ROUND = 100_000
/** Stop pre-copying once a round finds this few dirty pages: the rest goes with the vCPUs stopped. */
const CONVERGED_PAGES = 16
/** Records are sent in batches of about this many bytes. */
const SEND_BATCH = 1 << 20

/** How a source migrates its guest. */
export interface SendOptions {
  readonly maxRounds: number
  readonly insnsPerRound?: number
  /** Measured in guest bytes (data and tags) to send: round 0's pages, then each dirty round's. */
  readonly progress?: TransferProgress
}

/** How a migration ended at the source. */
export type SendResult =
  | { readonly kind: 'migrated'; readonly rounds: number; readonly pages: number; readonly bytes: number }
  /** The destination did not take the guest; the source still has it and can run on. */
  | { readonly kind: 'failed'; readonly reason: string }
  /** The guest stopped by itself (power-off, reset, error) during pre-copy. */
  | { readonly kind: 'stopped'; readonly stop: StopReason }

/** The destination answered ACK with ok = false. */
class RefusedByDestination extends Error {}

/** A channel as the migration uses it: writes that fail once the channel has, and reads until a value. */
class Connection {
  private readonly failure: Promise<never>
  private failed: Error | undefined
  private reader: ((chunk: Uint8Array) => void) | undefined

  constructor(
    readonly channel: Channel,
    /** What an orderly end of the channel means (the receiver turns it into "stream incomplete"). */
    onEnd: () => Error = () => new ChannelError('the connection closed'),
  ) {
    this.failure = new Promise<never>((_, reject) => {
      channel.onEnd((error) => {
        try {
          this.failed ??= error ? new ChannelError(error.message, { cause: error }) : onEnd()
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
    return Promise.race([
      this.channel.write(bytes).catch((error: unknown) => {
        throw error instanceof Error ? new ChannelError(error.message, { cause: error }) : new ChannelError(String(error))
      }),
      this.failure,
    ])
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

  /** Closes the channel and waits until it is shut; a channel that fails while closing is closed too. */
  async close(): Promise<void> {
    await this.channel.close().catch(() => {})
  }
}

/** Whether a migration failure leaves the source's guest to run on (a bug rethrows instead). */
function isMigrationFailure(error: unknown): error is Error {
  return error instanceof ChannelError || error instanceof FileFormatError || error instanceof RefusedByDestination
}

/**
 * The source side of a live migration: pre-copy rounds driven by the dirty log (the guest
 * runs between rounds), then vCPU and device state with the guest stopped, then wait for
 * the destination's ACK. Only a positive ACK hands the guest over; on any failure of the
 * channel or the destination the dirty log is turned off and the caller still owns a machine
 * that can run on.
 */
export async function sendMachine(machine: Machine, channel: Channel, options: SendOptions): Promise<SendResult> {
  const connection = new Connection(channel)
  const sender = new MigrationSender()
  const acks = new AckReader('destination')
  const ack = connection.until((chunk) => acks.push(chunk))
  ack.catch(() => {})
  const memory = machine.memory
  const progress = options.progress
  let pages = 0
  let bytes = 0
  let sentBytes = 0
  let queued: Uint8Array[] = []
  let queuedBytes = 0
  const flush = async (): Promise<void> => {
    if (queued.length === 0) return
    const chunk = concatBytes(queued)
    queued = []
    queuedBytes = 0
    await connection.write(chunk)
  }
  const send = async (record: Uint8Array): Promise<void> => {
    queued.push(record)
    queuedBytes += record.length
    sentBytes += record.length
    if (queuedBytes >= SEND_BATCH) await flush()
  }
  const sendPage = async (page: PageRecord): Promise<void> => {
    await send(sender.page(page))
    pages++
    bytes += pageRecordBytes(page)
    progress?.update(bytes)
  }
  const sendDirty = async (): Promise<number> => {
    const dirty = memory.dirtyPages()
    // An upper bound: a dirty page may have become zero, and only tagged pages carry tags.
    progress?.setTotal(bytes + dirty.length * (PAGE_SIZE + (memory.mte ? TAG_BYTES_PER_PAGE : 0)))
    for (const gpa of dirty) await sendPage(memory.readPage(gpa))
    await send(sender.endRound())
    return dirty.length
  }
  try {
    await send(sender.hello())
    await send(sender.config(machine.config))
    memory.startDirtyLog()
    memory.dirtyPages() // start the log from here: round 0 sends everything
    // Round 0: find what there is to send first, so progress is measured against it.
    const first = memory.savedPageList()
    progress?.setTotal(first.bytes)
    for (const gpa of first.gpas) await sendPage(memory.readPage(gpa))
    await send(sender.endRound())
    let rounds = 1
    for (; rounds < options.maxRounds; rounds++) {
      await flush()
      const stop = machine.run(options.insnsPerRound ?? DEFAULT_INSNS_PER_ROUND)
      if (stop.kind !== 'budget') {
        memory.stopDirtyLog()
        await connection.close()
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
    if (!answer.ok) throw new RefusedByDestination(`the destination refused the guest: ${answer.reason ?? 'no reason given'}`)
    progress?.finish(bytes, `(${pages} pages in ${rounds} rounds, ${sentBytes} bytes sent)`)
    memory.stopDirtyLog()
    await connection.close()
    return { kind: 'migrated', rounds, pages, bytes }
  } catch (error) {
    memory.stopDirtyLog()
    await connection.close()
    if (isMigrationFailure(error)) return { kind: 'failed', reason: error.message }
    throw error
  }
}

/**
 * The destination side: builds the machine from the stream (a fresh VM: memslot, pages and
 * their tags through KVM_ARM_MTE_COPY_TAGS, registers, devices; see MachineLoader), answers
 * ACK once it holds the whole guest, closes the channel (so the source sees the end at once and
 * can exit), and returns the machine ready to run. A bad, refused or cut-off stream is answered
 * ACK false when the channel still works, and rejects with a FileFormatError or ChannelError.
 */
export async function receiveMachine(channel: Channel, makeMachine: (config: MachineConfig) => Machine, source = 'migration stream'): Promise<Machine> {
  const loader = new MachineLoader(source, makeMachine)
  const receiver = new MigrationReceiver(source, {
    config: (config, offset) => loader.config(config, offset),
    page: (page, _round, offset) => loader.page(page, offset),
    vcpu: (state, offset) => loader.vcpu(state, offset),
    device: (device, offset) => loader.device(device, offset),
  })
  // An orderly end before END: the receiver names where the stream stopped.
  const connection = new Connection(channel, () => {
    receiver.finish()
    return new ChannelError('the connection closed')
  })
  try {
    await connection.until((chunk) => {
      receiver.push(chunk)
      return receiver.complete ? true : undefined
    })
    await connection.write(ackRecord(true))
    // Shut the channel before the caller runs the guest (which keeps this thread busy), or the
    // source would wait for our end of it until the guest stops.
    await connection.close()
    return loader.machine!
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error)
    // Tell the source (if it still listens) so it keeps its guest.
    await connection.write(ackRecord(false, reason)).catch(() => {})
    await connection.close()
    throw error
  }
}
