import type { MachineConfig } from '../config.js'
import { FileFormatError } from '../errors.js'
import type { Machine, StopReason } from '../machine/machine.js'
import { PAGE_SIZE, PageBatch, TAG_BYTES_PER_PAGE, batchGuestBytes, type PageBatchView } from '../memory/page.js'
import type { TransferProgress } from '../progress.js'
import { MachineLoader } from '../restore.js'
import { ChannelError, type Channel } from './channel.js'
import { MigrationReceiver, MigrationSender, ReplyReader, ackRecord, requestRecord, type Ack, type PendingRuns } from './stream.js'

/**
 * Instructions the guest runs between pre-copy rounds (it keeps dirtying memory meanwhile):
 * about 50 ms of guest time at this machine's speed.
 */
export const DEFAULT_INSNS_PER_ROUND = 100_000
/** Stop pre-copying once a round finds this few dirty pages: the rest goes with the vCPUs stopped. */
const CONVERGED_PAGES = 16
/** Pages per PAGES record (4 MiB of data): large enough that framing and calls cost nothing per page. */
const SEND_BATCH_PAGES = 1024
/** Post-copy destination: instructions between looks at the stream for pages that arrived. */
const POSTCOPY_SLICE = 200_000

/** How a source migrates its guest. */
export interface SendOptions {
  /** Pre-copy rounds at most (the guest runs between them); with `postcopy`, the rounds before switching (0 or more). */
  readonly maxRounds: number
  readonly insnsPerRound?: number
  /**
   * Post-copy: after the pre-copy rounds (`maxRounds`, which may be 0) the guest stops, its
   * state goes over, and the destination runs it at once, pulling each page it lacks on first
   * access while the rest is pushed behind.
   */
  readonly postcopy?: boolean
  /**
   * Post-copy: the most bytes per second the background push sends (as QEMU's
   * max-postcopy-bandwidth), leaving the link to the pages the destination asks for.
   * Unlimited when absent.
   */
  readonly postcopyBandwidth?: number
  /** Pages walked, each counted at its largest size (data and tags), against those to walk: round 0's, then each dirty round's; `finish` gets the guest bytes sent. */
  readonly progress?: TransferProgress
}

/** Figures of a migration that handed the guest over. */
export interface MigrationFigures {
  readonly rounds: number
  readonly pages: number
  /** Guest bytes sent: data of non-zero pages and tags of tagged pages. */
  readonly bytes: number
  /** Stream bytes sent (framing and page lists included). */
  readonly streamBytes: number
  /**
   * Milliseconds the guest ran nowhere: from the source's vCPUs stopping for good to the
   * destination's answer that it runs them (the answer's trip included).
   */
  readonly downtimeMs: number
  /** Milliseconds from the start of the migration to the last page arriving. */
  readonly totalMs: number
  /** Post-copy: pages the destination asked for before they were pushed. */
  readonly requestedPages: number
}

/** How a migration ended at the source. */
export type SendResult =
  | ({ readonly kind: 'migrated' } & MigrationFigures)
  /** The destination did not take the guest; the source still has it and can run on. */
  | { readonly kind: 'failed'; readonly reason: string }
  /** The guest stopped by itself (power-off, reset, error) during pre-copy. */
  | { readonly kind: 'stopped'; readonly stop: StopReason }
  /**
   * Post-copy broke after the destination started the guest: it runs there without up to
   * `missingPages` pages (those not handed to the channel whole), and cannot run here any more
   * (it has moved on).
   */
  | { readonly kind: 'lost'; readonly reason: string; readonly missingPages: number }

/** The destination answered ACK with ok = false. */
class RefusedByDestination extends Error {}

/** A channel as the migration uses it: writes that fail once the channel has, and every chunk read handed on. */
class Connection {
  readonly failure: Promise<never>
  failed: Error | undefined
  private rejectFailure!: (error: Error) => void
  private reader: ((chunk: Uint8Array) => void) | undefined

  constructor(
    readonly channel: Channel,
    /**
     * What the end of the channel means, orderly or with an error (the receiver turns either
     * into "stream incomplete" when the stream is, which says more than a socket's EPIPE).
     */
    onEnd: (error?: Error) => Error = (error) => (error ? new ChannelError(error.message, { cause: error }) : new ChannelError('the connection closed')),
  ) {
    this.failure = new Promise<never>((_, reject) => (this.rejectFailure = reject))
    this.failure.catch(() => {})
    channel.onEnd((error) => {
      try {
        this.fail(onEnd(error))
      } catch (problem) {
        this.fail(problem as Error)
      }
    })
    channel.onData((chunk) => {
      if (this.failed) return
      try {
        this.reader?.(chunk)
      } catch (error) {
        this.fail(error as Error)
      }
    })
  }

  /** The connection is unusable from now on (the first reason sticks). */
  fail(error: Error): void {
    if (this.failed) return
    this.failed = error
    this.rejectFailure(error)
  }

  /**
   * Every chunk from the other side goes to `reader`; an error it throws fails the connection.
   * `readBuffer`, when the channel can read into memory it is given: where the next bytes go.
   */
  read(reader: (chunk: Uint8Array) => void, readBuffer?: () => Uint8Array): void {
    this.reader = reader
    if (readBuffer) this.channel.readInto?.(readBuffer)
  }

  /** Resolves once the bytes are handed on (in order, as one write where the channel can); rejects if the channel has failed. */
  write(bytes: Uint8Array | readonly Uint8Array[]): Promise<void> {
    if (this.failed) return Promise.reject(this.failed)
    const chunks = bytes instanceof Uint8Array ? [bytes] : bytes
    const written = this.channel.writev ? this.channel.writev(chunks) : Promise.all(chunks.map((c) => this.channel.write(c))).then(() => {})
    return Promise.race([
      written.catch((error: unknown) => {
        throw error instanceof Error ? new ChannelError(error.message, { cause: error }) : new ChannelError(String(error))
      }),
      this.failure,
    ])
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

/** The source's view of what comes back: answers in order, page requests as they come. */
class Replies {
  private readonly reader = new ReplyReader('destination')
  private readonly acks: Ack[] = []
  private waiting: ((ack: Ack) => void) | undefined
  /** Post-copy pages the destination asked for, not yet sent. */
  readonly requested: number[] = []
  onRequest: (() => void) | undefined

  constructor(private readonly connection: Connection) {
    connection.read(
      (chunk) => this.take(chunk),
      () => this.reader.readBuffer(),
    )
  }

  private take(chunk: Uint8Array): void {
    for (const reply of this.reader.push(chunk)) {
      if (reply.kind === 'request') {
        for (const gpa of reply.gpas) this.requested.push(gpa)
        this.onRequest?.()
      } else {
        const ack = reply.reason === undefined ? { ok: reply.ok } : { ok: reply.ok, reason: reply.reason }
        if (this.waiting) this.waiting(ack)
        else this.acks.push(ack)
      }
    }
  }

  /** The next answer; a refusal throws (the source keeps its guest). */
  async ack(): Promise<void> {
    const queued = this.acks.shift()
    const ack =
      queued ??
      (await Promise.race([
        new Promise<Ack>((resolve) => {
          this.waiting = (a) => {
            this.waiting = undefined
            resolve(a)
          }
        }),
        this.connection.failure,
      ]))
    if (!ack.ok) throw new RefusedByDestination(`the destination refused the guest: ${ack.reason ?? 'no reason given'}`)
  }
}

/** Two batches used in turn: one fills while the other's bytes are still being written. */
class BatchPair {
  private batches = [new PageBatch(SEND_BATCH_PAGES), new PageBatch(SEND_BATCH_PAGES)]
  private readonly writes: Promise<void>[] = [Promise.resolve(), Promise.resolve()]
  private turn = 0

  /**
   * Batches of about a twentieth of `pages` (at most SEND_BATCH_PAGES), so a small transfer
   * still reports its progress in steps; call once every write has finished (`drain`).
   */
  sizeFor(pages: number): void {
    const size = Math.max(1, Math.min(SEND_BATCH_PAGES, Math.ceil(pages / 20)))
    if (size !== this.batches[0]!.capacity) this.batches = [new PageBatch(size), new PageBatch(size)]
  }

  /** The batch to fill now (call `ready` first). */
  readonly current = (): PageBatch => this.batches[this.turn]!

  /** Resolves once the current batch's previous bytes have been written. */
  ready(): Promise<void> {
    return this.writes[this.turn]!
  }

  /** The current batch is being written by `write`; the other one is current now. */
  sent(write: Promise<void>): void {
    write.catch(() => {})
    this.writes[this.turn] = write
    this.turn ^= 1
  }

  /** Waits for every write. */
  async drain(): Promise<void> {
    await Promise.all(this.writes)
  }
}

/** Runs of set bits of a page bitmap, as [first, count] pairs (what POSTCOPY carries). */
function bitmapRuns(bitmap: Uint8Array, pageCount: number): PendingRuns {
  const runs: number[] = []
  let pages = 0
  for (let page = 0; page < pageCount; ) {
    if ((page & 7) === 0 && bitmap[page >>> 3] === 0) {
      page += 8
      continue
    }
    if (!(bitmap[page >>> 3]! & (1 << (page & 7)))) {
      page++
      continue
    }
    const first = page
    while (page < pageCount && bitmap[page >>> 3]! & (1 << (page & 7))) page++
    runs.push(first, page - first)
    pages += page - first
  }
  return { runs: Uint32Array.from(runs), pages }
}

/**
 * The source side of a live migration: a handshake (the destination builds the machine
 * first, so a refusal comes before the guest stops), pre-copy rounds driven by the dirty log
 * (the guest runs between rounds), then with the guest stopped either the last dirty pages and
 * the vCPU and device state (pre-copy), or the state and the list of pages still to come
 * (post-copy: the destination runs the guest at once; the pages follow, those it asks for
 * first). Only the destination's ACK that it runs the guest hands the guest over; on any
 * failure before that, the dirty log is turned off and the caller still owns a machine that
 * can run on.
 */
export async function sendMachine(machine: Machine, channel: Channel, options: SendOptions): Promise<SendResult> {
  const started = performance.now()
  const connection = new Connection(channel)
  const replies = new Replies(connection)
  const sender = new MigrationSender()
  const memory = machine.memory
  const progress = options.progress
  const pair = new BatchPair()
  let pages = 0
  let bytes = 0
  let streamBytes = 0
  let handedOver = false
  const write = (chunks: Uint8Array | readonly Uint8Array[]): Promise<void> => {
    for (const c of chunks instanceof Uint8Array ? [chunks] : chunks) streamBytes += c.length
    return connection.write(chunks)
  }
  const sendBatch = (batch: PageBatchView): void => {
    const n = batch.count
    pages += n
    bytes += batchGuestBytes(batch)
    walked += n * pageBound
    progress?.update(walked)
    const written = write(sender.pages(batch))
    if (inPostcopy) void written.then(() => (postcopyDelivered += n), () => {})
    pair.sent(written)
  }
  /** Sends every page of `bitmap` (clearing bits as it goes, so requests and pushes never repeat a page). */
  const sendBitmap = async (bitmap: Uint8Array, clear: boolean): Promise<number> => {
    let sent = 0
    await pair.drain()
    pair.sizeFor(countBits(bitmap))
    const walk = memory.bitmapBatches(bitmap, pair.current, clear)
    for (let step = walk.next(); !step.done; ) {
      sent += step.value.count
      sendBatch(step.value)
      // The walk fills the other batch next: once its bytes are out.
      await pair.ready()
      step = walk.next()
    }
    return sent
  }
  // Progress counts pages walked at their largest size (data and tags), against the pages
  // there are to walk; the final figure is the guest bytes actually sent.
  const pageBound = PAGE_SIZE + (memory.mte ? TAG_BYTES_PER_PAGE : 0)
  let walked = 0
  const upperBound = (bitmap: Uint8Array): number => countBits(bitmap) * pageBound
  /** Post-copy: pages to send, and those handed to the channel whole (the rest is what the destination lacks if the stream breaks). */
  let inPostcopy = false
  let postcopyPages = 0
  let postcopyDelivered = 0
  let accepted: Promise<void> = Promise.resolve()
  /** The destination's refusal of the config, which explains any failure after it. */
  let refusal: Error | undefined
  try {
    memory.startDirtyLog()
    memory.dirtyBitmap() // start the log from here: round 0 sends everything
    // What the guest holds now (round 0), taken before HELLO, which tells the destination how
    // much host memory the stream will fill; the guest does not run until the rounds start.
    const first = memory.extentBitmap()
    await write([sender.hello(countBits(first)), sender.config(machine.config)])
    // The destination answers the config once it has built the machine; pre-copy goes on
    // meanwhile, but the guest stops only after that answer (a refusal leaves it running).
    accepted = replies.ack()
    accepted.catch((error: unknown) => (refusal = error as Error))
    let rounds = 0
    if (options.maxRounds > 0) {
      progress?.setTotal(upperBound(first))
      await sendBitmap(first, false)
      await write(sender.endRound())
      rounds = 1
    }
    let converged = false
    /** The guest runs between rounds (and dirties pages); a guest that stops by itself ends the migration. */
    const runGuest = async (): Promise<StopReason | undefined> => {
      await pair.drain()
      if (refusal) throw refusal
      const stop = machine.run(options.insnsPerRound ?? DEFAULT_INSNS_PER_ROUND)
      return stop.kind === 'budget' ? undefined : stop
    }
    for (; rounds < options.maxRounds && !converged; rounds++) {
      const stop = await runGuest()
      if (stop) {
        memory.stopDirtyLog()
        await connection.close()
        return { kind: 'stopped', stop }
      }
      const dirty = memory.dirtyBitmap()
      progress?.setTotal(walked + upperBound(dirty))
      converged = (await sendBitmap(dirty, false)) <= CONVERGED_PAGES
      await write(sender.endRound())
    }
    // Post-copy after pre-copy rounds: the guest runs on meanwhile (as it would while the last
    // round is sent), and what it dirties comes after the switch.
    if (options.postcopy && rounds > 0) {
      const stop = await runGuest()
      if (stop) {
        memory.stopDirtyLog()
        await connection.close()
        return { kind: 'stopped', stop }
      }
    }
    await pair.drain()
    await accepted
    // The guest runs no more here: pending MMIO and PSCI work completes before its state is read.
    const stopped = performance.now()
    machine.completePendingWork()
    const last = rounds === 0 ? memory.extentBitmap() : memory.dirtyBitmap()
    if (!options.postcopy) {
      // Pre-copy: what the guest dirtied last goes with its state.
      progress?.setTotal(walked + upperBound(last))
      await sendBitmap(last, false)
      await write(sender.endRound())
      rounds++
    }
    for (const state of machine.saveVcpus()) await write(sender.vcpu(state))
    for (const device of machine.saveDevices()) await write(sender.device(device.name, device.state))
    let requestedPages = 0
    if (!options.postcopy) {
      await pair.drain()
      await write(sender.end())
      await replies.ack()
      handedOver = true
    } else {
      const pending = bitmapRuns(last, memory.pageCount)
      inPostcopy = true
      postcopyPages = pending.pages
      progress?.setTotal(walked + upperBound(last))
      await write(sender.postcopy(pending))
      await replies.ack()
      handedOver = true
      const downtimeMs = performance.now() - stopped
      // Pages the destination asks for go first; the rest are pushed in address order.
      const served = new PageBatch(SEND_BATCH_PAGES)
      const serveRequests = async (): Promise<void> => {
        while (replies.requested.length > 0) {
          const asked = replies.requested.splice(0, SEND_BATCH_PAGES).sort((a, b) => a - b)
          const wanted = asked.filter((gpa, i) => {
            const page = (gpa - memory.ramBase) / PAGE_SIZE
            const bit = 1 << (page & 7)
            if (!memory.contains(gpa, PAGE_SIZE) || (i > 0 && asked[i - 1] === gpa) || !(last[page >>> 3]! & bit)) return false
            last[page >>> 3] = last[page >>> 3]! & ~bit
            return true
          })
          if (wanted.length === 0) continue
          requestedPages += wanted.length
          await pair.drain()
          served.clear()
          memory.readPagesInto(served, wanted, 0, wanted.length)
          sendBatch(served)
          await pair.drain()
        }
      }
      // With a bandwidth limit, pushes go in batches of about 1/20 s of it, each when its turn comes.
      const bandwidth = options.postcopyBandwidth
      const pushPages = bandwidth ? Math.max(1, Math.min(SEND_BATCH_PAGES, Math.floor(bandwidth / 20 / (PAGE_SIZE + TAG_BYTES_PER_PAGE)))) : SEND_BATCH_PAGES
      const pushBatches = [new PageBatch(pushPages), new PageBatch(pushPages)]
      let turn = 0
      const pushStart = performance.now()
      let pushed = 0
      await pair.drain()
      const walk = memory.bitmapBatches(last, () => pushBatches[turn]!, true)
      for (let step = walk.next(); !step.done; ) {
        pushed += step.value.data.length + step.value.tags.length
        sendBatch(step.value)
        turn ^= 1
        await serveRequests()
        await pair.ready()
        if (bandwidth) {
          const due = pushStart + (pushed / bandwidth) * 1000
          while (performance.now() < due) {
            await new Promise<void>((resolve) => setTimeout(resolve, Math.min(50, due - performance.now())))
            await serveRequests()
          }
        }
        step = walk.next()
      }
      await serveRequests()
      await pair.drain()
      await write(sender.end())
      await replies.ack()
      const figures = { rounds, pages, bytes, streamBytes, downtimeMs, totalMs: performance.now() - started, requestedPages }
      progress?.finish(bytes, `(${pages} pages in ${rounds} rounds and post-copy, ${requestedPages} asked for, ${streamBytes} bytes sent)`)
      memory.stopDirtyLog()
      await connection.close()
      return { kind: 'migrated', ...figures }
    }
    const downtimeMs = performance.now() - stopped
    progress?.finish(bytes, `(${pages} pages in ${rounds} rounds, ${streamBytes} bytes sent)`)
    memory.stopDirtyLog()
    await connection.close()
    return { kind: 'migrated', rounds, pages, bytes, streamBytes, downtimeMs, totalMs: performance.now() - started, requestedPages }
  } catch (error) {
    memory.stopDirtyLog()
    await connection.close()
    if (!isMigrationFailure(error)) throw error
    if (handedOver) return { kind: 'lost', reason: error.message, missingPages: postcopyPages - postcopyDelivered }
    return { kind: 'failed', reason: (refusal ?? error).message }
  }
}

function countBits(bitmap: Uint8Array): number {
  let n = 0
  for (const byte of bitmap) for (let b = byte; b; b &= b - 1) n++
  return n
}

/** A guest that arrived (or is arriving) by migration. */
export interface IncomingGuest {
  readonly machine: Machine
  /** Whether the guest came by post-copy (pages may still be arriving while it runs). */
  readonly postcopy: boolean
  /**
   * Runs the guest for at most `budget` instructions; during post-copy, a page the guest
   * touches before it has arrived is asked for and waited for (the guest runs only on pages
   * that are complete with their tags). If post-copy breaks, the guest stops with an error
   * saying what it lost.
   */
  run(budget?: number): Promise<StopReason>
  /** Resolves once every page has arrived (at once for pre-copy); rejects when post-copy breaks. */
  readonly complete: Promise<void>
}

/** What a destination may want to hear early. */
export interface ReceiveOptions {
  /**
   * The source holds this many pages of guest memory, about what the stream will fill (told
   * before the config, so host memory can be backed ahead of the pages).
   */
  readonly expectPages?: (pages: number) => void
}

/**
 * The destination side: builds the machine from the stream (a fresh VM: memslot, pages and
 * their tags through KVM_ARM_MTE_COPY_TAGS, registers, devices; see MachineLoader), answers
 * the config once the machine is built and the end once it holds the guest. Pre-copy: the
 * channel is closed before returning, so the source can exit at once. Post-copy: returns as
 * soon as the state has arrived, the pages still to come marked missing; `run` pulls them. A
 * bad, refused or cut-off stream before the guest runs is answered ACK false when the channel
 * still works, and rejects with a FileFormatError or ChannelError.
 */
export async function receiveMigration(channel: Channel, makeMachine: (config: MachineConfig) => Machine, source = 'migration stream', options: ReceiveOptions = {}): Promise<IncomingGuest> {
  const loader = new MachineLoader(source, makeMachine)
  // An orderly end before END: the receiver names where the stream stopped.
  const connection = new Connection(channel, (error) => {
    receiver.finish()
    return error ? new ChannelError(error.message, { cause: error }) : new ChannelError('the connection closed')
  })
  let answer: Promise<void> = Promise.resolve()
  const reply = (bytes: Uint8Array): void => {
    answer = answer.then(() => connection.write(bytes))
    answer.catch(() => {})
  }
  /** Pages that arrive during post-copy, so the run loop can stop waiting. */
  let arrived: (() => void) | undefined
  let started: (() => void) | undefined
  const receiver: MigrationReceiver = new MigrationReceiver(source, {
    hello: (hello) => {
      if (hello.pages !== undefined) options.expectPages?.(hello.pages)
    },
    config: (config, offset) => {
      loader.config(config, offset)
      reply(ackRecord(true))
    },
    pages: (batch, round, offset) => {
      loader.pages(batch, offset)
      if (round < 0) {
        loader.machine!.memory.markArrived(batch)
        arrived?.()
      }
    },
    vcpu: (state, offset) => loader.vcpu(state, offset),
    device: (device, offset) => loader.device(device, offset),
    postcopy: (pending) => {
      loader.machine!.memory.markMissing(pending.runs)
      started?.()
    },
  })
  const ended = new Promise<void>((resolve, reject) => {
    connection.read(
      (chunk) => {
        receiver.push(chunk)
        if (receiver.complete) resolve()
      },
      () => receiver.readBuffer(),
    )
    connection.failure.catch(reject)
  })
  ended.catch(() => {})
  const postcopyStarted = new Promise<void>((resolve) => (started = resolve))
  try {
    await Promise.race([ended, postcopyStarted, connection.failure])
    if (connection.failed) throw connection.failed
    if (!receiver.postcopy) {
      reply(ackRecord(true))
      await answer
      // Shut the channel before the caller runs the guest (which keeps this thread busy), or the
      // source would wait for our end of it until the guest stops.
      await connection.close()
      const machine = loader.machine!
      return { machine, postcopy: false, run: (budget) => Promise.resolve(machine.run(budget)), complete: Promise.resolve() }
    }
    // Post-copy: the guest runs from here; tell the source so it can count its downtime.
    reply(ackRecord(true))
    await answer
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error)
    // Tell the source (if it still listens) so it keeps its guest.
    await connection.write(ackRecord(false, reason)).catch(() => {})
    await connection.close()
    throw error
  }
  return postcopyGuest(loader.machine!, receiver, connection, ended, (wake) => (arrived = wake))
}

/** The destination's guest during post-copy: runs in slices, asking for pages it faults on. */
function postcopyGuest(machine: Machine, receiver: MigrationReceiver, connection: Connection, ended: Promise<void>, onArrival: (wake: () => void) => void): IncomingGuest {
  let lost: string | undefined
  const complete = ended.then(
    async () => {
      await connection.write(ackRecord(true)).catch(() => {})
      await connection.close()
    },
    async (error: unknown) => {
      const missing = receiver.missingPages
      lost = `post-copy broke (${error instanceof Error ? error.message : String(error)}): ${missing} pages of guest memory with their tags (${((missing * (PAGE_SIZE + TAG_BYTES_PER_PAGE)) / 2 ** 20).toFixed(2)} MiB at most) never arrived from the source, and the source cannot take the guest back`
      await connection.close()
      throw new ChannelError(lost, { cause: error })
    },
  )
  complete.catch(() => {})
  let wake: (() => void) | undefined
  onArrival(() => wake?.())
  const asked = new Set<number>()
  const run = async (budget = Number.POSITIVE_INFINITY): Promise<StopReason> => {
    const start = machine.retired
    for (;;) {
      if (lost) return { kind: 'error', message: lost }
      if (receiver.complete && machine.memory.missingPages === 0) return machine.run(budget - (machine.retired - start))
      const left = budget - (machine.retired - start)
      if (left <= 0) return { kind: 'budget' }
      const stop = machine.runUntilMissing(Math.min(left, POSTCOPY_SLICE))
      if (stop.kind === 'missing-page') {
        if (!asked.has(stop.gpa)) {
          asked.add(stop.gpa)
          await connection.write(requestRecord([stop.gpa])).catch(() => {})
        }
        await new Promise<void>((resolve) => {
          wake = resolve
          complete.then(resolve, resolve)
          if (!machine.memory.isMissing(stop.gpa)) resolve()
        })
        wake = undefined
        continue
      }
      if (stop.kind !== 'budget') return stop
      // Let the event loop deliver pages that came meanwhile.
      await new Promise<void>((resolve) => setTimeout(resolve, 0))
    }
  }
  return { machine, postcopy: true, run, complete }
}

/**
 * The destination side for callers that want the whole guest before it runs: as
 * receiveMigration, but a post-copy stream is received to its end before this returns.
 */
export async function receiveMachine(channel: Channel, makeMachine: (config: MachineConfig) => Machine, source = 'migration stream', options: ReceiveOptions = {}): Promise<Machine> {
  const incoming = await receiveMigration(channel, makeMachine, source, options)
  await incoming.complete
  return incoming.machine
}
