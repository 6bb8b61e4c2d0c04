import type { DeviceState } from '@tagvm/devices'
import { checkMachineConfig, type MachineConfig } from '../config.js'
import { FileFormatError } from '../errors.js'
import type { PageRecord } from '../memory/page.js'
import {
  RECORD_NAMES,
  RecordDecoder,
  RecordType,
  checkPageFits,
  decodeDevice,
  decodeJson,
  decodePage,
  decodeVcpu,
  encodeJson,
  encodePageRecord,
  encodeRecord,
  encodeVcpu,
  type DeviceSnapshot,
  type RawRecord,
  type VcpuState,
} from '../snapshot/records.js'

/**
 * Live-migration stream, source to destination, over any byte pipe (socket, pipe, file):
 *
 *   HELLO {magic, version}, CONFIG,
 *   ( PAGE* ROUND_END{round, pages} )+      pre-copy rounds; the last one runs with vCPUs stopped
 *   VCPU x cpus, DEVICE*, END{pages}
 *
 * and one record back, ACK {ok, reason?}, once the destination holds the whole guest. The
 * source keeps its guest until it reads ACK with ok = true; anything else (an error, a closed
 * connection, ok = false) means the source carries on running. Records use the snapshot
 * framing (records.ts), so page records are the same bytes in both.
 */
export const MIGRATION_MAGIC = 'tagvm-migration'
/** The migration protocol version this code speaks. */
export const MIGRATION_VERSION = 1

/** A ROUND_END record: which pre-copy round ended and how many pages it sent. */
export interface RoundEnd {
  readonly round: number
  readonly pages: number
}

/** Builds the source's side of the stream; every method returns the bytes to send. */
export class MigrationSender {
  private stage: 'hello' | 'config' | 'rounds' | 'state' | 'done' = 'hello'
  private round = 0
  private pagesInRound = 0
  private totalPages = 0
  private vcpus = 0
  private cpus = 0

  /** The HELLO record: protocol name and version. */
  hello(): Uint8Array {
    this.expect('hello', 'HELLO')
    this.stage = 'config'
    return encodeRecord(RecordType.HELLO, encodeJson({ magic: MIGRATION_MAGIC, version: MIGRATION_VERSION }))
  }

  /** The CONFIG record: the machine the destination builds. */
  config(config: MachineConfig): Uint8Array {
    this.expect('config', 'CONFIG')
    this.cpus = checkMachineConfig(config, 'config', 0).cpus
    this.stage = 'rounds'
    return encodeRecord(RecordType.CONFIG, encodeJson(config))
  }

  /** A PAGE record in the current round. */
  page(page: PageRecord): Uint8Array {
    this.expect('rounds', 'PAGE')
    this.pagesInRound++
    this.totalPages++
    return encodePageRecord(page)
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
      if (this.round === 0 || this.pagesInRound !== 0) throw new RangeError('migration: vCPU state before the last round was ended')
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

  /** The END record: the source is done (it carries the number of pages sent). */
  end(): Uint8Array {
    this.expect('state', 'END')
    if (this.vcpus !== this.cpus) throw new RangeError(`migration: ${this.vcpus} vCPUs sent, the config has ${this.cpus}`)
    this.stage = 'done'
    const out = new Uint8Array(8)
    new DataView(out.buffer).setFloat64(0, this.totalPages, true)
    return encodeRecord(RecordType.END, out)
  }

  private expect(stage: MigrationSender['stage'], what: string): void {
    if (this.stage !== stage) throw new RangeError(`migration: ${what} not allowed in the ${this.stage} stage`)
  }
}

/** What a migration stream delivers; `offset` is where the record starts in the stream. */
export interface MigrationHandlers {
  /** The machine config. */
  config?(config: MachineConfig, offset: number): void
  /** A page, in the round it came in. */
  page?(page: PageRecord, round: number, offset: number): void
  /** A pre-copy round ended. */
  roundEnd?(end: RoundEnd): void
  /** A vCPU's registers. */
  vcpu?(state: VcpuState, offset: number): void
  /** A device's saved state. */
  device?(device: DeviceSnapshot, offset: number): void
  /** The whole guest has arrived; the destination answers with `ackRecord(true)` once it runs. */
  end?(totals: { readonly rounds: number; readonly pages: number }): void
}

/**
 * The destination's side: push bytes as they arrive; records are checked (framing, CRC,
 * order, counts) and handed to the handlers. Errors name the stream and offset.
 */
export class MigrationReceiver {
  private readonly decoder: RecordDecoder
  private stage: 'hello' | 'config' | 'rounds' | 'state' | 'done' = 'hello'
  private round = 0
  private pagesInRound = 0
  private totalPages = 0
  private config: MachineConfig | undefined
  private vcpus = 0

  constructor(
    readonly source: string,
    private readonly handlers: MigrationHandlers = {},
  ) {
    this.decoder = new RecordDecoder(source)
  }

  get complete(): boolean {
    return this.stage === 'done'
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
      throw new FileFormatError(
        this.source,
        this.decoder.offset + this.decoder.pending,
        `stream ended in the ${this.stage} stage${this.decoder.pending ? ` inside a record (${this.decoder.pending} bytes of it)` : ''}: migration incomplete`,
      )
    }
    if (this.decoder.pending) throw new FileFormatError(this.source, this.decoder.offset, `${this.decoder.pending} bytes after END`)
  }

  private fail(record: RawRecord, problem: string): never {
    throw new FileFormatError(this.source, record.offset, problem)
  }

  private handle(record: RawRecord): void {
    const name = RECORD_NAMES[record.type]
    const order = (stage: MigrationReceiver['stage']): void => {
      if (this.stage !== stage) this.fail(record, `${name} record in the ${this.stage} stage`)
    }
    switch (record.type) {
      case RecordType.HELLO: {
        order('hello')
        const hello = decodeJson(record, this.source) as { magic?: unknown; version?: unknown } | null
        if (hello?.magic !== MIGRATION_MAGIC) this.fail(record, 'not a tagvm migration stream')
        if (hello.version !== MIGRATION_VERSION) this.fail(record, `migration protocol version ${JSON.stringify(hello.version)}; this tagvm speaks version ${MIGRATION_VERSION}`)
        this.stage = 'config'
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
      case RecordType.PAGE: {
        order('rounds')
        const page = decodePage(record, this.source)
        checkPageFits(page, this.config!, this.source, record.offset)
        this.pagesInRound++
        this.totalPages++
        this.handlers.page?.(page, this.round, record.offset)
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
        if (this.stage === 'rounds' && this.round > 0 && this.pagesInRound === 0) this.stage = 'state'
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
      case RecordType.END: {
        order('state')
        if (this.vcpus !== this.config!.cpus) this.fail(record, `END after ${this.vcpus} of ${this.config!.cpus} vCPUs`)
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
}

/** The destination's answer: ok, or why not. */
export interface Ack {
  readonly ok: boolean
  readonly reason?: string
}

/** The destination's answer. */
export function ackRecord(ok: boolean, reason?: string): Uint8Array {
  return encodeRecord(RecordType.ACK, encodeJson(reason === undefined ? { ok } : { ok, reason }))
}

/** Reads the destination's answer on the source side; push bytes until it returns an Ack. */
export class AckReader {
  private readonly decoder: RecordDecoder
  constructor(readonly source: string) {
    this.decoder = new RecordDecoder(source)
  }
  /** The next bytes from the destination; the answer once it is whole. */
  push(chunk: Uint8Array): Ack | undefined {
    const [record] = this.decoder.push(chunk)
    if (!record) return undefined
    if (record.type !== RecordType.ACK) throw new FileFormatError(this.source, record.offset, `expected an ACK record, got ${RECORD_NAMES[record.type]}`)
    const ack = decodeJson(record, this.source) as Partial<Ack> | null
    if (typeof ack?.ok !== 'boolean') throw new FileFormatError(this.source, record.offset, 'ACK record: expected {"ok": boolean}')
    return ack.reason === undefined ? { ok: ack.ok } : { ok: ack.ok, reason: String(ack.reason) }
  }
}
