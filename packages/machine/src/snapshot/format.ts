import { checkMachineConfig, type MachineConfig } from '../config.js'
import { FileFormatError } from '../errors.js'
import { PAGE_SIZE, PageBatch, batchPages, concatBytes, type PageBatchView, type PageRecord } from '../memory/page.js'
import { crc32 as crc32Of } from './crc32.js'
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
} from './records.js'
import { Sha256 } from './sha256.js'

/**
 * Snapshot file layout (version 3):
 *   "TAGVMSNP" | u32 version | u32 CRC-32 of the previous 12 bytes
 *   CONFIG, VCPU x cpus, DEVICE x n, PAGES x n (ascending addresses throughout), END
 * with the record framing of records.ts: each record's CRC-32 covers its type, length and
 * payload, and END holds the SHA-256 of the file header and of every record's framing before
 * it (its 8-byte type and length and its 4-byte CRC, in file order). So every byte is checked
 * by a CRC, and the file as a whole (which records, in which order, none missing or swapped)
 * by the SHA-256, without hashing every byte twice: hashing the bodies cost a fifth of a save.
 * Version 2 hashed every byte; version 1 had one PAGE record per page and CRC-32C checksums.
 */
export const SNAPSHOT_MAGIC = 'TAGVMSNP'
/** The snapshot format version this code writes and reads. */
export const SNAPSHOT_VERSION = 3
/** Pages per PAGES record the encoder writes when given pages one at a time. */
const ENCODER_BATCH_PAGES = 256
export const SNAPSHOT_HEADER_SIZE = 16

/** A whole snapshot in memory: what decodeSnapshot gives and encodeSnapshot takes. */
export interface Snapshot {
  readonly config: MachineConfig
  readonly vcpus: readonly VcpuState[]
  readonly devices: readonly DeviceSnapshot[]
  readonly pages: readonly PageRecord[]
}

function snapshotHeader(): Uint8Array {
  const out = new Uint8Array(SNAPSHOT_HEADER_SIZE)
  out.set(new TextEncoder().encode(SNAPSHOT_MAGIC))
  const view = new DataView(out.buffer)
  view.setUint32(8, SNAPSHOT_VERSION, true)
  view.setUint32(12, crc32Of(out.subarray(0, 12)), true)
  return out
}

/** What the END record's SHA-256 covers of a record: its type and length, and its CRC-32. */
function hashFraming(hash: Digest, typeAndLength: Uint8Array, crc: Uint8Array): void {
  hash.update(typeAndLength)
  hash.update(crc)
}

/** An incremental hash, as the END record's SHA-256 needs. */
export interface Digest {
  /** Adds bytes to what is hashed. */
  update(bytes: Uint8Array): unknown
  /** The 32-byte digest of everything so far; hashing may go on afterwards. */
  digest(): Uint8Array
}

/** Options of the snapshot encoder and decoder. */
export interface SnapshotOptions {
  /**
   * A SHA-256 to use instead of the built-in one (which runs anywhere); a host with a native
   * one (Node's crypto) passes it for speed.
   */
  readonly sha256?: () => Digest
}

/** Options of the snapshot encoder. */
export interface SnapshotEncoderOptions extends SnapshotOptions {
  /**
   * The sink is done with each chunk when it returns (it has written or copied it), so the
   * encoder may hand it views of buffers it or its caller reuse (a page batch's data and
   * tags) instead of a copy of every record. Leave it off for a sink that keeps chunks (an
   * array of parts for a Blob, a queue for a later write).
   */
  readonly transientChunks?: boolean
}

type Stage = 'config' | 'vcpus' | 'devices' | 'pages' | 'ended'
const ORDER: Stage[] = ['config', 'vcpus', 'devices', 'pages', 'ended']

/**
 * Writes a snapshot as a sequence of chunks, in order: config, vCPUs, devices, pages, end.
 * Memory can be streamed page by page, so a snapshot never has to be held whole.
 */
export class SnapshotEncoder {
  private readonly hash: Digest
  private stage: Stage = 'config'
  private config: MachineConfig | undefined
  private lastPage = -1
  private vcpuCount = 0
  /** Pages given one at a time, written as a PAGES record once full or before the end. */
  private pending: PageBatch | undefined
  private readonly transient: boolean
  bytesWritten = 0

  constructor(
    private readonly sink: (chunk: Uint8Array) => void,
    options: SnapshotEncoderOptions = {},
  ) {
    this.hash = options.sha256?.() ?? new Sha256()
    this.transient = options.transientChunks === true
    const header = snapshotHeader()
    this.hash.update(header)
    this.emit(header)
  }

  /** A PAGES record's chunks: as they are for a transient sink, else joined into an array of its own. */
  private emitPages(batch: PageBatchView): void {
    const chunks = encodePagesRecord(batch)
    // The first chunk starts with the type and length, the last is the CRC.
    hashFraming(this.hash, chunks[0]!.subarray(0, 8), chunks[chunks.length - 1]!)
    if (this.transient) for (const chunk of chunks) this.emit(chunk)
    else this.emit(concatBytes(chunks))
  }

  private emit(chunk: Uint8Array): void {
    this.bytesWritten += chunk.length
    this.sink(chunk)
  }

  /** A whole record (framing and CRC included) as one chunk: its framing goes into the END hash. */
  private emitRecord(record: Uint8Array): void {
    hashFraming(this.hash, record.subarray(0, 8), record.subarray(record.length - 4))
    this.emit(record)
  }

  private advance(to: Stage, what: string): void {
    if (ORDER.indexOf(to) < ORDER.indexOf(this.stage)) throw new RangeError(`snapshot: ${what} after ${this.stage}; the order is config, vcpus, devices, pages, end`)
    if (to !== 'config' && this.stage === 'config') throw new RangeError(`snapshot: ${what} before the machine config`)
    this.stage = to
  }

  /** The machine config: first, once. */
  writeConfig(config: MachineConfig): void {
    if (this.config) throw new RangeError('snapshot: config written twice')
    this.advance('config', 'config')
    this.config = checkMachineConfig(config, 'config', 0)
    this.emitRecord(encodeRecord(RecordType.CONFIG, encodeJson(this.config)))
    this.stage = 'vcpus'
  }

  /** One vCPU's registers, in vCPU order. */
  writeVcpu(state: VcpuState): void {
    this.advance('vcpus', 'a vCPU')
    if (state.index !== this.vcpuCount) throw new RangeError(`snapshot: vCPU ${state.index} written where vCPU ${this.vcpuCount} was expected`)
    this.vcpuCount++
    this.emitRecord(encodeRecord(RecordType.VCPU, encodeVcpu(state)))
  }

  /** One device's saved state. */
  writeDevice(device: DeviceSnapshot): void {
    this.advance('devices', 'a device')
    this.emitRecord(encodeRecord(RecordType.DEVICE, encodeJson(device)))
  }

  /** One page worth saving, in ascending address order, inside RAM (batched into PAGES records). */
  writePage(page: PageRecord): void {
    this.advance('pages', 'a page')
    this.checkPage(page.gpa)
    if (page.tags?.some((t) => t > 15)) throw new RangeError(`snapshot: page 0x${page.gpa.toString(16)}: an allocation tag is not 4-bit`)
    const pending = (this.pending ??= new PageBatch(ENCODER_BATCH_PAGES))
    pending.add(page.gpa, page.data, page.tags)
    this.lastPage = page.gpa
    if (pending.full) this.flushPages()
  }

  /**
   * A batch of pages (ascending, above every page written before, inside RAM) as one PAGES
   * record. The sink gets the record in an array of its own (it may keep it), or with
   * `transientChunks` as views of the batch; either way the batch is free for reuse once this
   * returns.
   */
  writePages(batch: PageBatchView): void {
    this.advance('pages', 'pages')
    this.flushPages()
    if (batch.count === 0) return
    for (const gpa of [batch.gpas[0]!, batch.gpas[batch.count - 1]!]) this.checkPage(gpa)
    this.lastPage = batch.gpas[batch.count - 1]!
    this.emitPages(batch)
  }

  private checkPage(gpa: number): void {
    const config = this.config!
    if (gpa <= this.lastPage) throw new RangeError(`snapshot: page 0x${gpa.toString(16)} is not above the previous page`)
    if (gpa < config.ramBase || gpa + PAGE_SIZE > config.ramBase + config.ramSize) throw new RangeError(`snapshot: page 0x${gpa.toString(16)} is outside RAM`)
  }

  private flushPages(): void {
    const pending = this.pending
    if (!pending || pending.count === 0) return
    this.emitPages(pending)
    pending.clear()
  }

  /** Closes the snapshot with its END record (the SHA-256 of all before it). */
  end(): void {
    if (this.stage === 'config') throw new RangeError('snapshot: end before the machine config')
    if (this.vcpuCount !== this.config!.cpus) throw new RangeError(`snapshot: ${this.vcpuCount} vCPUs written, the config has ${this.config!.cpus}`)
    this.flushPages()
    this.advance('ended', 'end')
    this.emit(encodeRecord(RecordType.END, this.hash.digest()))
  }
}

/** A whole snapshot as one byte array. */
export function encodeSnapshot(snapshot: Snapshot, options: SnapshotOptions = {}): Uint8Array {
  const chunks: Uint8Array[] = []
  const enc = new SnapshotEncoder((c) => chunks.push(c), options)
  writeSnapshotTo(enc, snapshot)
  return concatBytes(chunks)
}

/** Writes a whole snapshot through an encoder, section by section. */
export function writeSnapshotTo(enc: SnapshotEncoder, snapshot: Snapshot): void {
  enc.writeConfig(snapshot.config)
  for (const v of snapshot.vcpus) enc.writeVcpu(v)
  for (const d of snapshot.devices) enc.writeDevice(d)
  for (const p of snapshot.pages) enc.writePage(p)
  enc.end()
}

/** What a snapshot delivers, record by record, with the offset of each record in the file. */
export interface SnapshotHandlers {
  /** The machine config (the first record). */
  config?(config: MachineConfig, offset: number): void
  /** A vCPU's registers. */
  vcpu?(state: VcpuState, offset: number): void
  /** A device's saved state. */
  device?(device: DeviceSnapshot, offset: number): void
  /**
   * A batch of pages with their data and tags (views of the bytes read: valid during the call
   * only).
   */
  pages?(batch: PageBatchView, offset: number): void
}

/** Options of the streaming snapshot decoder. */
export interface SnapshotDecoderOptions extends SnapshotOptions {
  /** Called with the file offset of a record at least every MiB. */
  readonly onProgress?: (offset: number) => void
}

/**
 * Reads a snapshot from chunks as they come (a file read piece by piece, a stream), checking
 * the header, every record's checksum, the order of sections, the config, every page against
 * RAM and the whole-file SHA-256, and hands each record to `handlers` as soon as it is whole.
 * `finish()` says whether the snapshot was complete. Errors are FileFormatErrors naming
 * `file`, the offset and the problem (truncated, corrupted, wrong version, out of order, ...);
 * a handler's own errors pass through.
 */
export class SnapshotDecoder {
  private readonly header = new Uint8Array(SNAPSHOT_HEADER_SIZE)
  private headerBytes = 0
  private readonly records: RecordDecoder
  private readonly hash: Digest
  private stage = 0 // index into ORDER
  private config: MachineConfig | undefined
  private vcpus = 0
  private lastPage = -1
  private endOffset = -1
  private reported = 0

  constructor(
    readonly file: string,
    private readonly handlers: SnapshotHandlers,
    private readonly options: SnapshotDecoderOptions = {},
  ) {
    this.records = new RecordDecoder(file, SNAPSHOT_HEADER_SIZE)
    this.hash = options.sha256?.() ?? new Sha256()
  }

  /** Whether the END record has arrived (and checked). */
  get complete(): boolean {
    return this.endOffset >= 0
  }

  /**
   * Where the next bytes of the snapshot may be read into (see RecordDecoder.readBuffer): the
   * rest of the header, then the space after the record being read. Pushing a view of it from
   * its start decodes the bytes where they are.
   */
  readBuffer(): Uint8Array {
    return this.headerBytes < SNAPSHOT_HEADER_SIZE ? this.header.subarray(this.headerBytes) : this.records.readBuffer()
  }

  /** The next bytes of the snapshot, in order; whole records go to the handlers at once. */
  push(chunk: Uint8Array): void {
    let rest = chunk
    if (this.headerBytes < SNAPSHOT_HEADER_SIZE) {
      const n = Math.min(SNAPSHOT_HEADER_SIZE - this.headerBytes, rest.length)
      this.header.set(rest.subarray(0, n), this.headerBytes)
      this.headerBytes += n
      rest = rest.subarray(n)
      if (this.headerBytes < SNAPSHOT_HEADER_SIZE) return
      this.checkHeader()
    }
    if (rest.length === 0) return
    if (this.complete) this.fail(this.endOffset, `${rest.length + this.records.pending} bytes after the END record`)
    for (const record of this.records.push(rest)) this.handle(record)
    if (this.complete && this.records.pending > 0) this.fail(this.records.offset, `${this.records.pending} bytes after the END record`)
  }

  /** The input has ended: a snapshot without its END record is truncated. */
  finish(): void {
    if (this.headerBytes < SNAPSHOT_HEADER_SIZE) {
      this.fail(this.headerBytes, `truncated: the ${SNAPSHOT_HEADER_SIZE}-byte snapshot header is incomplete (file is ${this.headerBytes} bytes)`)
    }
    if (!this.complete) {
      const pending = this.records.pending
      this.fail(this.records.offset, `truncated: the snapshot ends ${pending > 0 ? `inside a record (${pending} bytes of it present)` : 'without its END record'}`)
    }
  }

  private fail(offset: number, problem: string): never {
    throw new FileFormatError(this.file, offset, problem)
  }

  private checkHeader(): void {
    const bytes = this.header
    const magic = new TextDecoder().decode(bytes.subarray(0, 8))
    if (magic !== SNAPSHOT_MAGIC) this.fail(0, `not a tagvm snapshot: magic ${JSON.stringify(magic)}, expected ${JSON.stringify(SNAPSHOT_MAGIC)}`)
    const view = new DataView(bytes.buffer)
    if (view.getUint32(12, true) !== crc32Of(bytes.subarray(0, 12))) this.fail(12, 'snapshot header checksum mismatch: corrupted')
    const version = view.getUint32(8, true)
    if (version !== SNAPSHOT_VERSION) {
      const by = version < SNAPSHOT_VERSION ? 'an older' : 'a newer'
      this.fail(8, `snapshot format version ${version} (written by ${by} tagvm); this tagvm reads version ${SNAPSHOT_VERSION}`)
    }
    this.hash.update(bytes)
  }

  /** Hashes a record's framing (type, length, CRC) as it stood in the file. */
  private hashRecord(record: RawRecord): void {
    const frame = record.frame
    hashFraming(this.hash, frame.subarray(0, 8), frame.subarray(frame.length - 4))
  }

  private enter(record: RawRecord, stage: Stage): void {
    const index = ORDER.indexOf(stage)
    if (index < this.stage) this.fail(record.offset, `${RECORD_NAMES[record.type]} record after the ${ORDER[this.stage]} section`)
    this.stage = index
  }

  private handle(record: RawRecord): void {
    if (this.complete) this.fail(record.offset, `${RECORD_NAMES[record.type]} record after the END record`)
    if (this.options.onProgress && record.offset - this.reported >= 1 << 20) {
      this.reported = record.offset
      this.options.onProgress(record.offset)
    }
    const config = this.config
    if (!config && record.type !== RecordType.CONFIG) this.fail(record.offset, `${RECORD_NAMES[record.type]} record before the CONFIG record`)
    if (record.type === RecordType.END) {
      if (record.payload.length !== 32) this.fail(record.offset, `END record holds ${record.payload.length} bytes, expected a 32-byte SHA-256`)
      const digest = this.hash.digest()
      if (!digest.every((b, i) => b === record.payload[i])) this.fail(record.offset, 'whole-file SHA-256 mismatch: corrupted')
      if (this.vcpus !== config!.cpus) this.fail(record.offset, `snapshot has ${this.vcpus} VCPU records for ${config!.cpus} vCPUs`)
      this.endOffset = record.offset
      return
    }
    this.hashRecord(record)
    switch (record.type) {
      case RecordType.CONFIG:
        if (config) this.fail(record.offset, 'a second CONFIG record')
        this.config = checkMachineConfig(decodeJson(record, this.file), this.file, record.offset)
        this.stage = 1
        this.handlers.config?.(this.config, record.offset)
        break
      case RecordType.VCPU: {
        this.enter(record, 'vcpus')
        const v = decodeVcpu(record, this.file)
        if (v.index !== this.vcpus) this.fail(record.offset, `VCPU record for vCPU ${v.index} where vCPU ${this.vcpus} was expected`)
        this.vcpus++
        this.handlers.vcpu?.(v, record.offset)
        break
      }
      case RecordType.DEVICE:
        this.enter(record, 'devices')
        this.handlers.device?.(decodeDevice(record, this.file), record.offset)
        break
      case RecordType.PAGES: {
        this.enter(record, 'pages')
        const batch = decodePages(record, this.file)
        const first = batch.gpas[0]!
        if (first <= this.lastPage) this.fail(record.offset, `PAGES record: page 0x${first.toString(16)} is not above the previous page 0x${this.lastPage.toString(16)}`)
        checkBatchFits(batch, config!, this.file, record.offset)
        this.lastPage = batch.gpas[batch.count - 1]!
        this.handlers.pages?.(batch, record.offset)
        break
      }
      default:
        this.fail(record.offset, `${RECORD_NAMES[record.type]} record does not belong in a snapshot`)
    }
  }
}

/** Reads a whole snapshot held in memory (see SnapshotDecoder for what is checked). */
export function decodeSnapshot(bytes: Uint8Array, file: string, options: SnapshotOptions & { readonly onProgress?: (done: number, total: number) => void } = {}): Snapshot {
  let config: MachineConfig | undefined
  const vcpus: VcpuState[] = []
  const devices: DeviceSnapshot[] = []
  const pages: PageRecord[] = []
  const onProgress = options.onProgress
  const decoder = new SnapshotDecoder(
    file,
    { config: (c) => (config = c), vcpu: (v) => vcpus.push(v), device: (d) => devices.push(d), pages: (batch) => pages.push(...batchPages(batch)) },
    { ...(options.sha256 ? { sha256: options.sha256 } : {}), ...(onProgress ? { onProgress: (offset: number) => onProgress(offset, bytes.length) } : {}) },
  )
  decoder.push(bytes)
  decoder.finish()
  onProgress?.(bytes.length, bytes.length)
  return { config: config!, vcpus, devices, pages }
}

/** Whether bytes (at least the first 8 of a file) start like a tagvm snapshot. */
export function isSnapshot(head: Uint8Array): boolean {
  return head.length >= SNAPSHOT_MAGIC.length && new TextDecoder().decode(head.subarray(0, SNAPSHOT_MAGIC.length)) === SNAPSHOT_MAGIC
}
