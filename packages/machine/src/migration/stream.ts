import type { DeviceState } from '@tagvm/devices'
import { checkMachineConfig, type MachineConfig } from '../config.js'
import { FileFormatError } from '../errors.js'
import { PAGE_SIZE, PageBatch, concatBytes, type PageBatchView, type PageRecord } from '../memory/page.js'
import {
  RECORD_NAMES,
  RecordDecoder,
  RecordType,
  checkBatchFits,
  decodeDevice,
  decodeJson,
  decodePages,
  decodeVcpu,
  encodeJson,
  encodePagesRecord,
  encodeRecord,
  encodeVcpu,
  type DeviceSnapshot,
  type RawRecord,
  type VcpuState,
} from '../snapshot/records.js'

/**
 * Live-migration stream, source to destination, over any byte pipe (socket, pipe, file):
 *
 *   HELLO {magic, version}, CONFIG                         <- ACK (the destination built the machine)
 *   ( PAGES* ROUND_END{round, pages} )*                    pre-copy rounds (the guest runs meanwhile)
 *   VCPU x cpus, DEVICE*                                   the guest is stopped from here on
 *   then, pre-copy:   END{pages}                           <- ACK (the destination runs the guest)
 *   or, post-copy:    POSTCOPY{runs}+                      <- ACK (the destination runs the guest)
 *                     PAGES* (pushed, or asked for)        <- REQUEST{gpas}* while it runs
 *                     END{pages}                           <- ACK (every page has arrived)
 *
 * With pre-copy, the last round (the pages dirtied while the guest stopped) goes just before
 * the vCPU state. The source keeps its guest until it reads the ACK that the destination runs
 * it; anything else before that (an error, a closed connection, ok = false) means the source
 * carries on running. Records use the snapshot framing (records.ts), so PAGES records are the
 * same bytes in both.
 */
export const MIGRATION_MAGIC = 'tagvm-migration'
/** The migration protocol version this code speaks (1: one PAGE record per page, no handshake). */
export const MIGRATION_VERSION = 2

/** A ROUND_END record: which pre-copy round ended and how many pages it sent. */
export interface RoundEnd {
  readonly round: number
  readonly pages: number
}

/**
 * Pages still to come once a post-copy destination runs the guest, as runs of page numbers
 * counted from the start of RAM: [first, count] pairs, ascending and not touching.
 */
export interface PendingRuns {
  readonly runs: Uint32Array
  /** Pages in all runs. */
  readonly pages: number
}

type SenderStage = 'hello' | 'config' | 'rounds' | 'state' | 'postcopy' | 'done'
/** A POSTCOPY record holds at most this many runs; more go in further records. */
const MAX_RUNS_PER_RECORD = 1 << 20
const POSTCOPY_LAST = 1

/** Builds the source's side of the stream; every method returns the bytes to send. */
export class MigrationSender {
  private stage: SenderStage = 'hello'
  private round = 0
  private pagesInRound = 0
  private totalPages = 0
  private vcpus = 0
  private cpus = 0
  private config_: MachineConfig | undefined

  /**
   * The HELLO record: protocol name and version, and (`pages`) how many pages of guest memory
   * the source holds, about what the stream will fill on the destination (it backs that much
   * host memory ahead of the pages; a receiver that does not know the field ignores it).
   */
  hello(pages?: number): Uint8Array {
    this.expect('hello', 'HELLO')
    if (pages !== undefined && !(Number.isSafeInteger(pages) && pages >= 0)) throw new RangeError(`migration: ${pages} is not a page count`)
    this.stage = 'config'
    return encodeRecord(RecordType.HELLO, encodeJson(pages === undefined ? { magic: MIGRATION_MAGIC, version: MIGRATION_VERSION } : { magic: MIGRATION_MAGIC, version: MIGRATION_VERSION, pages }))
  }

  /** The CONFIG record: the machine the destination builds. */
  config(config: MachineConfig): Uint8Array {
    this.expect('config', 'CONFIG')
    this.config_ = checkMachineConfig(config, 'config', 0)
    this.cpus = this.config_.cpus
    this.stage = 'rounds'
    return encodeRecord(RecordType.CONFIG, encodeJson(config))
  }

  /**
   * A PAGES record, in a pre-copy round or during post-copy: the chunks to write in order. They
   * are views of the batch (not copied), so write them before the batch is reused.
   */
  pages(batch: PageBatchView): Uint8Array[] {
    if (this.stage !== 'postcopy') this.expect('rounds', 'PAGES')
    if (batch.count === 0) return []
    const { ramBase, ramSize } = this.config_!
    const first = batch.gpas[0]!
    const last = batch.gpas[batch.count - 1]!
    if (first < ramBase || last + PAGE_SIZE > ramBase + ramSize) throw new RangeError(`migration: page 0x${(first < ramBase ? first : last).toString(16)} is outside RAM`)
    const chunks = encodePagesRecord(batch)
    this.pagesInRound += batch.count
    this.totalPages += batch.count
    return chunks
  }

  /** One page as a PAGES record of its own (tests and tools; a migration sends batches). */
  page(page: PageRecord): Uint8Array {
    const batch = new PageBatch(1)
    batch.add(page.gpa, page.data, page.tags)
    return concatBytes(this.pages(batch))
  }

  /** Ends the current pre-copy round. */
  endRound(): Uint8Array {
    this.expect('rounds', 'ROUND_END')
    const out = new Uint8Array(8)
    const view = new DataView(out.buffer)
    view.setUint32(0, this.round, true)
    view.setUint32(4, this.pagesInRound, true)
    this.round++
    this.pagesInRound = 0
    return encodeRecord(RecordType.ROUND_END, out)
  }

  /** A VCPU record, after the last round: one vCPU's registers, in vCPU order. */
  vcpu(state: VcpuState): Uint8Array {
    if (this.stage === 'rounds') {
      if (this.pagesInRound !== 0) throw new RangeError('migration: vCPU state before the last round was ended')
      this.stage = 'state'
    }
    this.expect('state', 'VCPU')
    if (state.index !== this.vcpus) throw new RangeError(`migration: vCPU ${state.index} sent where vCPU ${this.vcpus} was expected`)
    this.vcpus++
    return encodeRecord(RecordType.VCPU, encodeVcpu(state))
  }

  /** A DEVICE record: one device's saved state. */
  device(name: string, state: DeviceState): Uint8Array {
    this.expect('state', 'DEVICE')
    return encodeRecord(RecordType.DEVICE, encodeJson({ name, state }))
  }

  /**
   * POSTCOPY records, after the state: the pages still to come. The destination starts the
   * guest once it has them and pulls each such page on the guest's first access to it.
   */
  postcopy(pending: PendingRuns): Uint8Array[] {
    this.expect('state', 'POSTCOPY')
    if (this.vcpus !== this.cpus) throw new RangeError(`migration: ${this.vcpus} vCPUs sent, the config has ${this.cpus}`)
    this.stage = 'postcopy'
    const runs = pending.runs
    if (runs.length % 2 !== 0) throw new RangeError('migration: post-copy runs come in [first, count] pairs')
    const records: Uint8Array[] = []
    for (let at = 0; at === 0 || at < runs.length; at += 2 * MAX_RUNS_PER_RECORD) {
      const part = runs.subarray(at, at + 2 * MAX_RUNS_PER_RECORD)
      const payload = new Uint8Array(12 + part.length * 4)
      const view = new DataView(payload.buffer)
      const last = at + part.length >= runs.length
      view.setUint32(0, last ? POSTCOPY_LAST : 0, true)
      view.setUint32(4, last ? pending.pages : 0, true)
      view.setUint32(8, part.length / 2, true)
      for (let i = 0; i < part.length; i++) view.setUint32(12 + i * 4, part[i]!, true)
      records.push(encodeRecord(RecordType.POSTCOPY, payload))
    }
    return records
  }

  /** The END record: the source is done (it carries the number of pages sent). */
  end(): Uint8Array {
    if (this.stage !== 'postcopy') this.expect('state', 'END')
    if (this.vcpus !== this.cpus) throw new RangeError(`migration: ${this.vcpus} vCPUs sent, the config has ${this.cpus}`)
    this.stage = 'done'
    const out = new Uint8Array(8)
    new DataView(out.buffer).setFloat64(0, this.totalPages, true)
    return encodeRecord(RecordType.END, out)
  }

  private expect(stage: SenderStage, what: string): void {
    if (this.stage !== stage) throw new RangeError(`migration: ${what} not allowed in the ${this.stage} stage`)
  }
}

/** What a migration stream delivers; `offset` is where the record starts in the stream. */
export interface MigrationHandlers {
  /** The stream's HELLO: `pages`, when the source said, is how many pages of guest memory it holds. */
  hello?(hello: { readonly pages?: number }): void
  /** The machine config (answer it with `ackRecord(true)`, or a refusal). */
  config?(config: MachineConfig, offset: number): void
  /**
   * A batch of pages, in the pre-copy round it came in or (`round` -1) during post-copy. Its
   * arrays are views of the bytes received: valid during the call only.
   */
  pages?(batch: PageBatchView, round: number, offset: number): void
  /** A pre-copy round ended. */
  roundEnd?(end: RoundEnd): void
  /** A vCPU's registers. */
  vcpu?(state: VcpuState, offset: number): void
  /** A device's saved state. */
  device?(device: DeviceSnapshot, offset: number): void
  /** Post-copy starts: the pages still to come (every other page of RAM is final). */
  postcopy?(pending: PendingRuns, offset: number): void
  /** The whole guest has arrived; the destination answers with `ackRecord(true)`. */
  end?(totals: { readonly rounds: number; readonly pages: number }): void
}

type ReceiverStage = 'hello' | 'config' | 'rounds' | 'state' | 'postcopy-runs' | 'postcopy' | 'done'

/**
 * The destination's side: push bytes as they arrive; records are checked (framing, CRC,
 * order, counts, pages inside RAM and, during post-copy, among those announced and sent once)
 * and handed to the handlers. Errors name the stream and offset.
 */
export class MigrationReceiver {
  private readonly decoder: RecordDecoder
  private stage: ReceiverStage = 'hello'
  private round = 0
  private pagesInRound = 0
  private totalPages = 0
  private config: MachineConfig | undefined
  private vcpus = 0
  /** Post-copy: one bit per page of RAM still to come. */
  private pending: Uint32Array | undefined
  private pendingRuns: number[] = []
  private pendingPages = 0

  constructor(
    readonly source: string,
    private readonly handlers: MigrationHandlers = {},
  ) {
    this.decoder = new RecordDecoder(source)
  }

  get complete(): boolean {
    return this.stage === 'done'
  }

  /** Whether the stream has switched to post-copy (the destination may run the guest). */
  get postcopy(): boolean {
    return this.stage === 'postcopy' || (this.stage === 'done' && this.pending !== undefined)
  }

  /** Post-copy pages announced but not arrived yet. */
  get missingPages(): number {
    return this.pendingPages
  }

  /** Whether the page at `gpa` is announced for post-copy and has not arrived. */
  isMissing(gpa: number): boolean {
    const pending = this.pending
    if (!pending || !this.config) return false
    const page = (gpa - this.config.ramBase) / PAGE_SIZE
    return (pending[page >>> 5]! & (1 << (page & 31))) !== 0
  }

  /**
   * Where the next bytes of the stream may be read into (see Channel.readInto): pushing a view
   * of it from its start decodes them in place, so pages go from the socket's read to guest
   * memory without another copy.
   */
  readBuffer(): Uint8Array {
    return this.decoder.readBuffer()
  }

  /** The next bytes of the stream, as they arrive; whole records go to the handlers at once. */
  push(chunk: Uint8Array): void {
    for (const record of this.decoder.push(chunk)) this.handle(record)
    // Nothing follows END: not even part of a record.
    if (this.stage === 'done' && this.decoder.pending) throw new FileFormatError(this.source, this.decoder.offset, `${this.decoder.pending} bytes after END`)
  }

  /** Call when the connection closes: an unfinished stream is an error naming where it stopped. */
  finish(): void {
    if (this.stage !== 'done') {
      const stage = this.stage === 'postcopy-runs' ? 'postcopy' : this.stage
      const missing = this.stage === 'postcopy' ? ` with ${this.pendingPages} post-copy pages still missing` : ''
      throw new FileFormatError(
        this.source,
        this.decoder.offset + this.decoder.pending,
        `stream ended in the ${stage} stage${missing}${this.decoder.pending ? ` inside a record (${this.decoder.pending} bytes of it)` : ''}: migration incomplete`,
      )
    }
    if (this.decoder.pending) throw new FileFormatError(this.source, this.decoder.offset, `${this.decoder.pending} bytes after END`)
  }

  private fail(record: RawRecord, problem: string): never {
    throw new FileFormatError(this.source, record.offset, problem)
  }

  private handle(record: RawRecord): void {
    const name = RECORD_NAMES[record.type]
    const order = (...stages: ReceiverStage[]): void => {
      if (!stages.includes(this.stage)) this.fail(record, `${name} record in the ${this.stage} stage`)
    }
    switch (record.type) {
      case RecordType.HELLO: {
        order('hello')
        const hello = decodeJson(record, this.source) as { magic?: unknown; version?: unknown; pages?: unknown } | null
        if (hello?.magic !== MIGRATION_MAGIC) this.fail(record, 'not a tagvm migration stream')
        if (hello.version !== MIGRATION_VERSION) {
          const by = typeof hello.version === 'number' && hello.version < MIGRATION_VERSION ? 'an older' : 'a newer'
          this.fail(record, `migration protocol version ${JSON.stringify(hello.version)} (sent by ${by} tagvm); this tagvm speaks version ${MIGRATION_VERSION}`)
        }
        if (hello.pages !== undefined && !(Number.isSafeInteger(hello.pages) && (hello.pages as number) >= 0)) this.fail(record, `HELLO record: ${JSON.stringify(hello.pages)} is not a page count`)
        this.stage = 'config'
        this.handlers.hello?.(hello.pages === undefined ? {} : { pages: hello.pages as number })
        break
      }
      case RecordType.CONFIG: {
        order('config')
        const config = checkMachineConfig(decodeJson(record, this.source), this.source, record.offset)
        this.config = config
        this.stage = 'rounds'
        this.handlers.config?.(config, record.offset)
        break
      }
      case RecordType.PAGES: {
        order('rounds', 'postcopy')
        const batch = decodePages(record, this.source)
        checkBatchFits(batch, this.config!, this.source, record.offset)
        if (this.stage === 'postcopy') {
          this.takePending(batch, record)
        } else {
          this.pagesInRound += batch.count
        }
        this.totalPages += batch.count
        this.handlers.pages?.(batch, this.stage === 'postcopy' ? -1 : this.round, record.offset)
        break
      }
      case RecordType.ROUND_END: {
        order('rounds')
        if (record.payload.length !== 8) this.fail(record, 'ROUND_END record: expected 8 bytes')
        const view = new DataView(record.payload.buffer, record.payload.byteOffset, 8)
        const end = { round: view.getUint32(0, true), pages: view.getUint32(4, true) }
        if (end.round !== this.round) this.fail(record, `ROUND_END for round ${end.round} while receiving round ${this.round}`)
        if (end.pages !== this.pagesInRound) this.fail(record, `round ${end.round} announced ${end.pages} pages, ${this.pagesInRound} arrived`)
        this.handlers.roundEnd?.(end)
        this.round++
        this.pagesInRound = 0
        break
      }
      case RecordType.VCPU: {
        if (this.stage === 'rounds') {
          if (this.pagesInRound !== 0) this.fail(record, `VCPU record in the middle of round ${this.round} (its ROUND_END is missing)`)
          this.stage = 'state'
        }
        order('state')
        const state = decodeVcpu(record, this.source)
        if (state.index !== this.vcpus) this.fail(record, `VCPU record for vCPU ${state.index} where vCPU ${this.vcpus} was expected`)
        this.vcpus++
        this.handlers.vcpu?.(state, record.offset)
        break
      }
      case RecordType.DEVICE:
        order('state')
        this.handlers.device?.(decodeDevice(record, this.source), record.offset)
        break
      case RecordType.POSTCOPY:
        order('state', 'postcopy-runs')
        if (this.vcpus !== this.config!.cpus) this.fail(record, `POSTCOPY after ${this.vcpus} of ${this.config!.cpus} vCPUs`)
        this.postcopyRuns(record)
        break
      case RecordType.END: {
        order('state', 'postcopy')
        if (this.vcpus !== this.config!.cpus) this.fail(record, `END after ${this.vcpus} of ${this.config!.cpus} vCPUs`)
        if (this.stage === 'postcopy' && this.pendingPages !== 0) this.fail(record, `END with ${this.pendingPages} post-copy pages never sent`)
        const sent = record.payload.length === 8 ? new DataView(record.payload.buffer, record.payload.byteOffset, 8).getFloat64(0, true) : NaN
        if (sent !== this.totalPages) this.fail(record, `END says ${sent} pages were sent, ${this.totalPages} arrived`)
        this.stage = 'done'
        this.handlers.end?.({ rounds: this.round, pages: this.totalPages })
        break
      }
      default:
        this.fail(record, `${name} record does not belong in a source-to-destination stream`)
    }
  }

  /** A POSTCOPY record: runs of pages still to come; the last one starts post-copy. */
  private postcopyRuns(record: RawRecord): void {
    const p = record.payload
    const bad = (problem: string): never => this.fail(record, `POSTCOPY record: ${problem}`)
    if (p.length < 12) bad(`payload of ${p.length} bytes is shorter than its 12-byte header`)
    const view = new DataView(p.buffer, p.byteOffset, p.byteLength)
    const flags = view.getUint32(0, true)
    const total = view.getUint32(4, true)
    const count = view.getUint32(8, true)
    if (flags & ~POSTCOPY_LAST) bad(`unknown flags 0x${flags.toString(16)}`)
    if (p.length !== 12 + count * 8) bad(`payload is ${p.length} bytes, expected ${12 + count * 8} for ${count} runs`)
    const pageCount = this.config!.ramSize / PAGE_SIZE
    const pending = (this.pending ??= new Uint32Array(Math.ceil(pageCount / 32)))
    let end = this.pendingRuns.length ? this.pendingRuns[this.pendingRuns.length - 1]! : -1
    for (let i = 0; i < count; i++) {
      const first = view.getUint32(12 + i * 8, true)
      const n = view.getUint32(16 + i * 8, true)
      if (n === 0 || first <= end || first + n > pageCount) bad(`run ${i} (pages ${first}..${first + n - 1}) is empty, out of order or outside RAM's ${pageCount} pages`)
      for (let page = first; page < first + n; page++) pending[page >>> 5] = pending[page >>> 5]! | (1 << (page & 31))
      this.pendingPages += n
      this.pendingRuns.push(first, first + n)
      end = first + n
    }
    if (flags & POSTCOPY_LAST) {
      if (total !== this.pendingPages) bad(`announces ${total} pages, its runs hold ${this.pendingPages}`)
      const runs = new Uint32Array(this.pendingRuns.length)
      for (let i = 0; i < runs.length; i += 2) {
        runs[i] = this.pendingRuns[i]!
        runs[i + 1] = this.pendingRuns[i + 1]! - this.pendingRuns[i]!
      }
      this.pendingRuns = []
      this.stage = 'postcopy'
      this.handlers.postcopy?.({ runs, pages: total }, record.offset)
    } else {
      this.stage = 'postcopy-runs'
    }
  }

  /** Post-copy pages arrive once each, and only those announced. */
  private takePending(batch: PageBatchView, record: RawRecord): void {
    const pending = this.pending!
    const base = this.config!.ramBase
    for (let i = 0; i < batch.count; i++) {
      const page = (batch.gpas[i]! - base) / PAGE_SIZE
      const bit = 1 << (page & 31)
      if ((pending[page >>> 5]! & bit) === 0) this.fail(record, `PAGES record: page 0x${batch.gpas[i]!.toString(16)} was not announced for post-copy, or came twice`)
    }
    for (let i = 0; i < batch.count; i++) {
      const page = (batch.gpas[i]! - base) / PAGE_SIZE
      pending[page >>> 5] = pending[page >>> 5]! & ~(1 << (page & 31))
    }
    this.pendingPages -= batch.count
  }
}

/** The destination's answer: ok, or why not. */
export interface Ack {
  readonly ok: boolean
  readonly reason?: string
}

/** What a destination sends back: answers, and during post-copy the pages it needs first. */
export type Reply = ({ readonly kind: 'ack' } & Ack) | { readonly kind: 'request'; readonly gpas: Float64Array }

/** The destination's answer. */
export function ackRecord(ok: boolean, reason?: string): Uint8Array {
  return encodeRecord(RecordType.ACK, encodeJson(reason === undefined ? { ok } : { ok, reason }))
}

/** A REQUEST record: the destination needs these pages now (post-copy), as u32 count, u32 0, u64 gpas. */
export function requestRecord(gpas: ArrayLike<number>): Uint8Array {
  const payload = new Uint8Array(8 + gpas.length * 8)
  const view = new DataView(payload.buffer)
  view.setUint32(0, gpas.length, true)
  for (let i = 0; i < gpas.length; i++) {
    const gpa = gpas[i]!
    view.setUint32(8 + i * 8, gpa % 0x1_0000_0000, true)
    view.setUint32(12 + i * 8, Math.floor(gpa / 0x1_0000_0000), true)
  }
  return encodeRecord(RecordType.REQUEST, payload)
}

/** Reads what the destination sends back, on the source side. */
export class ReplyReader {
  private readonly decoder: RecordDecoder
  constructor(readonly source: string) {
    this.decoder = new RecordDecoder(source)
  }

  /** Where the next bytes from the destination may be read into (see MigrationReceiver.readBuffer). */
  readBuffer(): Uint8Array {
    return this.decoder.readBuffer()
  }

  /** The next bytes from the destination; the replies they complete. */
  push(chunk: Uint8Array): Reply[] {
    return this.decoder.push(chunk).map((record) => this.reply(record))
  }

  private reply(record: RawRecord): Reply {
    if (record.type === RecordType.ACK) {
      const ack = decodeJson(record, this.source) as Partial<Ack> | null
      if (typeof ack?.ok !== 'boolean') throw new FileFormatError(this.source, record.offset, 'ACK record: expected {"ok": boolean}')
      return ack.reason === undefined ? { kind: 'ack', ok: ack.ok } : { kind: 'ack', ok: ack.ok, reason: String(ack.reason) }
    }
    if (record.type === RecordType.REQUEST) {
      const p = record.payload
      const view = new DataView(p.buffer, p.byteOffset, p.byteLength)
      const count = p.length >= 8 ? view.getUint32(0, true) : -1
      if (count < 1 || p.length !== 8 + count * 8) throw new FileFormatError(this.source, record.offset, `REQUEST record of ${p.length} bytes does not hold a page list`)
      const gpas = new Float64Array(count)
      for (let i = 0; i < count; i++) {
        const gpa = view.getUint32(12 + i * 8, true) * 0x1_0000_0000 + view.getUint32(8 + i * 8, true)
        if (gpa % PAGE_SIZE !== 0) throw new FileFormatError(this.source, record.offset, `REQUEST record: 0x${gpa.toString(16)} is not a page address`)
        gpas[i] = gpa
      }
      return { kind: 'request', gpas }
    }
    throw new FileFormatError(this.source, record.offset, `expected an ACK record, got ${RECORD_NAMES[record.type]}`)
  }
}

/** Reads the destination's first answer on the source side; push bytes until it returns an Ack. */
export class AckReader {
  private readonly replies: ReplyReader
  constructor(readonly source: string) {
    this.replies = new ReplyReader(source)
  }
  /** The next bytes from the destination; the answer once it is whole. */
  push(chunk: Uint8Array): Ack | undefined {
    const [reply] = this.replies.push(chunk)
    if (!reply) return undefined
    if (reply.kind !== 'ack') throw new FileFormatError(this.source, 0, 'expected an ACK record, got REQUEST')
    return reply.reason === undefined ? { ok: reply.ok } : { ok: reply.ok, reason: reply.reason }
  }
}
