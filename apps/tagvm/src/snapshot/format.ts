import { createHash, type Hash } from 'node:crypto'
import type { DeviceState } from '@tagvm/devices'
import { checkMachineConfig, type MachineConfig } from '../config.js'
import { FileFormatError } from '../loaders/errors.js'
import { crc32c as crc32cOf } from './crc32c.js'
import {
  PAGE_SIZE,
  RECORD_NAMES,
  RecordDecoder,
  RecordType,
  decodeJson,
  decodePage,
  decodeVcpu,
  encodeJson,
  encodePageRecord,
  encodeRecord,
  encodeVcpu,
  type PageRecord,
  type RawRecord,
  type VcpuState,
} from './records.js'

/**
 * Snapshot file layout (version 1):
 *   "TAGVMSNP" | u32 version | u32 CRC-32C of the previous 12 bytes
 *   CONFIG, VCPU x cpus, DEVICE x n, PAGE x n (ascending addresses), END
 * with the record framing of records.ts (per-record CRC-32C) and END holding the SHA-256 of
 * every byte before it, so a snapshot is checked whole and section by section.
 */
export const SNAPSHOT_MAGIC = 'TAGVMSNP'
export const SNAPSHOT_VERSION = 1
export const SNAPSHOT_HEADER_SIZE = 16

export interface DeviceSnapshot {
  readonly name: string
  readonly state: DeviceState
}

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
  view.setUint32(12, crc32cOf(out.subarray(0, 12)), true)
  return out
}

type Stage = 'config' | 'vcpus' | 'devices' | 'pages' | 'ended'
const ORDER: Stage[] = ['config', 'vcpus', 'devices', 'pages', 'ended']

/**
 * Writes a snapshot as a sequence of chunks, in order: config, vCPUs, devices, pages, end.
 * Memory can be streamed page by page, so a snapshot never has to be held whole.
 */
export class SnapshotEncoder {
  private readonly hash: Hash = createHash('sha256')
  private stage: Stage = 'config'
  private config: MachineConfig | undefined
  private lastPage = -1
  private vcpuCount = 0
  bytesWritten = 0

  constructor(private readonly sink: (chunk: Uint8Array) => void) {
    this.emit(snapshotHeader())
  }

  private emit(chunk: Uint8Array): void {
    this.hash.update(chunk)
    this.bytesWritten += chunk.length
    this.sink(chunk)
  }

  private advance(to: Stage, what: string): void {
    if (ORDER.indexOf(to) < ORDER.indexOf(this.stage)) throw new RangeError(`snapshot: ${what} after ${this.stage}; the order is config, vcpus, devices, pages, end`)
    if (to !== 'config' && this.stage === 'config') throw new RangeError(`snapshot: ${what} before the machine config`)
    this.stage = to
  }

  writeConfig(config: MachineConfig): void {
    if (this.config) throw new RangeError('snapshot: config written twice')
    this.advance('config', 'config')
    this.config = checkMachineConfig(config, 'config', 0)
    this.emit(encodeRecord(RecordType.CONFIG, encodeJson(this.config)))
    this.stage = 'vcpus'
  }

  writeVcpu(state: VcpuState): void {
    this.advance('vcpus', 'a vCPU')
    if (state.index !== this.vcpuCount) throw new RangeError(`snapshot: vCPU ${state.index} written where vCPU ${this.vcpuCount} was expected`)
    this.vcpuCount++
    this.emit(encodeRecord(RecordType.VCPU, encodeVcpu(state)))
  }

  writeDevice(device: DeviceSnapshot): void {
    this.advance('devices', 'a device')
    this.emit(encodeRecord(RecordType.DEVICE, encodeJson(device)))
  }

  writePage(page: PageRecord): void {
    this.advance('pages', 'a page')
    const config = this.config!
    if (page.gpa <= this.lastPage) throw new RangeError(`snapshot: page 0x${page.gpa.toString(16)} is not above the previous page`)
    if (page.gpa < config.ramBase || page.gpa + PAGE_SIZE > config.ramBase + config.ramSize) throw new RangeError(`snapshot: page 0x${page.gpa.toString(16)} is outside RAM`)
    this.lastPage = page.gpa
    this.emit(encodePageRecord(page))
  }

  end(): void {
    if (this.stage === 'config') throw new RangeError('snapshot: end before the machine config')
    if (this.vcpuCount !== this.config!.cpus) throw new RangeError(`snapshot: ${this.vcpuCount} vCPUs written, the config has ${this.config!.cpus}`)
    this.advance('ended', 'end')
    const digest = new Uint8Array(this.hash.copy().digest())
    this.emit(encodeRecord(RecordType.END, digest))
  }
}

export function encodeSnapshot(snapshot: Snapshot): Uint8Array {
  const chunks: Uint8Array[] = []
  const enc = new SnapshotEncoder((c) => chunks.push(c))
  writeSnapshotTo(enc, snapshot)
  return Buffer.concat(chunks)
}

export function writeSnapshotTo(enc: SnapshotEncoder, snapshot: Snapshot): void {
  enc.writeConfig(snapshot.config)
  for (const v of snapshot.vcpus) enc.writeVcpu(v)
  for (const d of snapshot.devices) enc.writeDevice(d)
  for (const p of snapshot.pages) enc.writePage(p)
  enc.end()
}

/**
 * Reads a snapshot, checking the header, every record's checksum, the order of sections, the
 * config, every page against RAM, and the whole-file SHA-256. Errors name `file`, the offset
 * and the problem (truncated, corrupted, wrong version, ...).
 */
export function decodeSnapshot(bytes: Uint8Array, file: string, options: { readonly onProgress?: (done: number, total: number) => void } = {}): Snapshot {
  const fail = (offset: number, problem: string): never => {
    throw new FileFormatError(file, offset, problem)
  }
  if (bytes.length < SNAPSHOT_HEADER_SIZE) fail(bytes.length, `truncated: the ${SNAPSHOT_HEADER_SIZE}-byte snapshot header is incomplete (file is ${bytes.length} bytes)`)
  const magic = new TextDecoder().decode(bytes.subarray(0, 8))
  if (magic !== SNAPSHOT_MAGIC) fail(0, `not a tagvm snapshot: magic ${JSON.stringify(magic)}, expected ${JSON.stringify(SNAPSHOT_MAGIC)}`)
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength)
  const headerCrc = crc32cOf(bytes.subarray(0, 12))
  if (view.getUint32(12, true) !== headerCrc) fail(12, 'snapshot header checksum mismatch: corrupted')
  const version = view.getUint32(8, true)
  if (version !== SNAPSHOT_VERSION) fail(8, `snapshot format version ${version}; this tagvm reads version ${SNAPSHOT_VERSION}`)

  const decoder = new RecordDecoder(file, SNAPSHOT_HEADER_SIZE)
  const records = decoder.push(bytes.subarray(SNAPSHOT_HEADER_SIZE))
  const last = records[records.length - 1]
  if (!last || last.type !== RecordType.END) {
    const at = SNAPSHOT_HEADER_SIZE + (bytes.length - SNAPSHOT_HEADER_SIZE - decoder.pending)
    fail(at, `truncated: the snapshot ends ${decoder.pending > 0 ? `inside a record (${decoder.pending} bytes of it present)` : 'without its END record'}`)
  }
  if (decoder.pending > 0) fail(bytes.length - decoder.pending, `${decoder.pending} bytes after the END record`)

  let config: MachineConfig | undefined
  const vcpus: VcpuState[] = []
  const devices: DeviceSnapshot[] = []
  const pages: PageRecord[] = []
  let stage = 0 // index into ORDER
  const enter = (record: RawRecord, stageName: Stage): void => {
    const index = ORDER.indexOf(stageName)
    if (index < stage) fail(record.offset, `${RECORD_NAMES[record.type]} record after the ${ORDER[stage]} section`)
    stage = index
  }
  let reported = 0
  for (const record of records) {
    if (options.onProgress && record.offset - reported >= 1 << 20) {
      reported = record.offset
      options.onProgress(reported, bytes.length)
    }
    if (!config && record.type !== RecordType.CONFIG) fail(record.offset, `${RECORD_NAMES[record.type]} record before the CONFIG record`)
    switch (record.type) {
      case RecordType.CONFIG:
        if (config) fail(record.offset, 'a second CONFIG record')
        config = checkMachineConfig(decodeJson(record, file), file, record.offset)
        stage = 1
        break
      case RecordType.VCPU: {
        enter(record, 'vcpus')
        const v = decodeVcpu(record, file)
        if (v.index !== vcpus.length) fail(record.offset, `VCPU record for vCPU ${v.index} where vCPU ${vcpus.length} was expected`)
        vcpus.push(v)
        break
      }
      case RecordType.DEVICE: {
        enter(record, 'devices')
        const d = decodeJson(record, file) as Partial<DeviceSnapshot> | null
        if (typeof d !== 'object' || d === null || typeof d.name !== 'string' || typeof d.state !== 'object' || d.state === null || typeof d.state.type !== 'string') {
          fail(record.offset, 'DEVICE record: expected {"name": string, "state": {"type": string, ...}}')
        }
        devices.push(d as DeviceSnapshot)
        break
      }
      case RecordType.PAGE: {
        enter(record, 'pages')
        const p = decodePage(record, file)
        const prev = pages[pages.length - 1]
        if (prev && p.gpa <= prev.gpa) fail(record.offset, `PAGE record 0x${p.gpa.toString(16)} is not above the previous page 0x${prev.gpa.toString(16)}`)
        if (p.gpa < config!.ramBase || p.gpa + PAGE_SIZE > config!.ramBase + config!.ramSize) fail(record.offset, `PAGE record 0x${p.gpa.toString(16)} is outside the snapshot's RAM`)
        if (p.tags && !config!.mte) fail(record.offset, `PAGE record 0x${p.gpa.toString(16)} carries tags but the machine has MTE off`)
        pages.push(p)
        break
      }
      case RecordType.END: {
        if (record !== last) fail(record.offset, 'END record before the end of the file')
        if (record.payload.length !== 32) fail(record.offset, `END record holds ${record.payload.length} bytes, expected a 32-byte SHA-256`)
        const digest = createHash('sha256').update(bytes.subarray(0, record.offset)).digest()
        if (!digest.equals(record.payload)) fail(record.offset, 'whole-file SHA-256 mismatch: corrupted')
        break
      }
      default:
        fail(record.offset, `${RECORD_NAMES[record.type]} record does not belong in a snapshot`)
    }
  }
  if (vcpus.length !== config!.cpus) fail(last!.offset, `snapshot has ${vcpus.length} VCPU records for ${config!.cpus} vCPUs`)
  options.onProgress?.(bytes.length, bytes.length)
  return { config: config!, vcpus, devices, pages }
}
