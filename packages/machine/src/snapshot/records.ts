import type { DeviceState } from '@tagvm/devices'
import type { MachineConfig } from '../config.js'
import { FileFormatError } from '../errors.js'
import { PAGE_SIZE, TAG_BYTES_PER_PAGE, isZero, type PageRecord } from '../memory/page.js'
import { crc32c } from './crc32c.js'

/**
 * The record framing shared by snapshot files and migration streams, so the same page records
 * carry both. Each record is
 *   u32 type | u32 payload length | payload | u32 CRC-32C of (type, length, payload)
 * little-endian, and can be decoded as bytes arrive (a pipe or socket delivers any split).
 */
export const RecordType = {
  /** Machine configuration, JSON. */
  CONFIG: 1,
  /** One 4 KiB guest page: u64 gpa, u32 flags, [4096 data bytes], [256 tag bytes]. */
  PAGE: 2,
  /** One vCPU's registers as ONE_REG (id, value) pairs. */
  VCPU: 3,
  /** One device's saveState() JSON with its name. */
  DEVICE: 4,
  /** Migration: end of a pre-copy round (u32 round, u32 pages sent in it). */
  ROUND_END: 5,
  /** Snapshot: SHA-256 of every byte before this record. Migration: source is done. */
  END: 6,
  /** Migration: the destination has everything and runs the guest (or refuses, with a reason). */
  ACK: 7,
  /** Migration: stream start (protocol version). */
  HELLO: 8,
} as const
/** One of the RecordType numbers. */
export type RecordTypeValue = (typeof RecordType)[keyof typeof RecordType]
const KNOWN = new Set<number>(Object.values(RecordType))
/** Record type number to its name, for messages. */
export const RECORD_NAMES: Record<number, string> = Object.fromEntries(Object.entries(RecordType).map(([k, v]) => [v, k]))

/** Largest payload accepted: a page record is 4108 + 256 bytes; JSON sections stay far below. */
export const MAX_PAYLOAD = 16 * 1024 * 1024
const FRAME_OVERHEAD = 12

/** A record as framed in a file or stream, its checksum already checked. */
export interface RawRecord {
  readonly type: RecordTypeValue
  readonly payload: Uint8Array
  /** Offset of the record's first byte in the file or stream. */
  readonly offset: number
}

/** One framed record: type, length, payload and CRC-32C. */
export function encodeRecord(type: RecordTypeValue, payload: Uint8Array): Uint8Array {
  if (payload.length > MAX_PAYLOAD) throw new RangeError(`record payload of ${payload.length} bytes exceeds ${MAX_PAYLOAD}`)
  const out = new Uint8Array(payload.length + FRAME_OVERHEAD)
  const view = new DataView(out.buffer)
  view.setUint32(0, type, true)
  view.setUint32(4, payload.length, true)
  out.set(payload, 8)
  view.setUint32(8 + payload.length, crc32c(out.subarray(0, 8 + payload.length)), true)
  return out
}

/**
 * Incremental decoder: `push` bytes as they come, get whole records back. Errors name the
 * source and the offset of the bad record.
 */
export class RecordDecoder {
  // Received bytes live in buffer[start, end); a record is copied out once it is whole, so a
  // stream split into tiny chunks still costs O(bytes).
  private buffer = new Uint8Array(64 * 1024)
  private start = 0
  private end = 0
  /** Stream offset of buffer[start]. */
  private base: number

  constructor(
    readonly source: string,
    startOffset = 0,
  ) {
    this.base = startOffset
  }

  /** Bytes received but not yet part of a whole record. */
  get pending(): number {
    return this.end - this.start
  }

  /** Stream offset of the first byte not yet decoded. */
  get offset(): number {
    return this.base
  }

  private append(chunk: Uint8Array): void {
    if (this.end + chunk.length > this.buffer.length) {
      const live = this.end - this.start
      const target = live + chunk.length > this.buffer.length ? new Uint8Array(Math.max(this.buffer.length * 2, live + chunk.length)) : this.buffer
      target.set(this.buffer.subarray(this.start, this.end), 0)
      this.buffer = target
      this.start = 0
      this.end = live
    }
    this.buffer.set(chunk, this.end)
    this.end += chunk.length
  }

  /** Takes the next bytes; returns the records they complete (errors name the offset of a bad one). */
  push(chunk: Uint8Array): RawRecord[] {
    const records: RawRecord[] = []
    if (this.start === this.end) {
      // Nothing buffered: decode straight from the chunk and keep only its incomplete tail.
      const used = this.parse(chunk, 0, chunk.length, records)
      if (used < chunk.length) this.append(chunk.subarray(used))
      return records
    }
    this.append(chunk)
    this.start = this.parse(this.buffer, this.start, this.end, records)
    if (this.start === this.end) this.start = this.end = 0
    return records
  }

  /** Decodes whole records from bytes[from, to); returns where the first incomplete one starts. */
  private parse(bytes: Uint8Array, from: number, to: number, records: RawRecord[]): number {
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength)
    let at = from
    while (to - at >= 8) {
      const type = view.getUint32(at, true)
      const length = view.getUint32(at + 4, true)
      const offset = this.base
      if (!KNOWN.has(type)) throw new FileFormatError(this.source, offset, `unknown record type ${type} (corrupted?)`)
      if (length > MAX_PAYLOAD) throw new FileFormatError(this.source, offset + 4, `${RECORD_NAMES[type]} record length ${length} exceeds ${MAX_PAYLOAD} (corrupted?)`)
      if (to - at < length + FRAME_OVERHEAD) break
      const crc = view.getUint32(at + 8 + length, true)
      const actual = crc32c(bytes.subarray(at, at + 8 + length))
      if (crc !== actual) {
        throw new FileFormatError(
          this.source,
          offset,
          `${RECORD_NAMES[type]} record checksum mismatch (stored 0x${crc.toString(16).padStart(8, '0')}, computed 0x${actual.toString(16).padStart(8, '0')}): corrupted`,
        )
      }
      // A copy as a plain Uint8Array (Buffer's slice would be a view into the caller's bytes).
      records.push({ type: type as RecordTypeValue, payload: new Uint8Array(bytes.subarray(at + 8, at + 8 + length)), offset })
      at += length + FRAME_OVERHEAD
      this.base += length + FRAME_OVERHEAD
    }
    return at
  }
}

// --- payload codecs shared by snapshot and migration ----------------------------------------

/** Page flags: the page holds allocation tags; its data is all zero (not stored). */
export const PAGE_TAGGED = 1
export const PAGE_ZERO = 2

/** Checks a page and returns its payload size and whether its data is stored. */
function pageLayout(page: PageRecord): { size: number; data: Uint8Array | null } {
  if (!Number.isSafeInteger(page.gpa) || page.gpa < 0 || page.gpa % PAGE_SIZE !== 0) throw new RangeError(`page address ${page.gpa} is not page-aligned`)
  if (page.data && page.data.length !== PAGE_SIZE) throw new RangeError(`page data must be ${PAGE_SIZE} bytes, got ${page.data.length}`)
  if (page.tags) {
    if (page.tags.length !== TAG_BYTES_PER_PAGE) throw new RangeError(`page tags must be ${TAG_BYTES_PER_PAGE} bytes, got ${page.tags.length}`)
    for (let i = 0; i < page.tags.length; i++) if (page.tags[i]! > 15) throw new RangeError(`allocation tag ${page.tags[i]} is not 4-bit`)
  }
  const data = page.data && !isZero(page.data) ? page.data : null
  return { size: 12 + (data ? PAGE_SIZE : 0) + (page.tags ? TAG_BYTES_PER_PAGE : 0), data }
}

function writePage(page: PageRecord, data: Uint8Array | null, out: Uint8Array, at: number): void {
  const view = new DataView(out.buffer, out.byteOffset, out.byteLength)
  view.setUint32(at, page.gpa % 0x1_0000_0000, true)
  view.setUint32(at + 4, Math.floor(page.gpa / 0x1_0000_0000), true)
  view.setUint32(at + 8, (page.tags ? PAGE_TAGGED : 0) | (data ? 0 : PAGE_ZERO), true)
  if (data) out.set(data, at + 12)
  if (page.tags) out.set(page.tags, at + 12 + (data ? PAGE_SIZE : 0))
}

/** A PAGE record's payload (the frame is encodeRecord's). */
export function encodePage(page: PageRecord): Uint8Array {
  const { size, data } = pageLayout(page)
  const out = new Uint8Array(size)
  writePage(page, data, out, 0)
  return out
}

/** A whole PAGE record (frame included) built in one buffer: the hot path of snapshot and migration. */
export function encodePageRecord(page: PageRecord): Uint8Array {
  const { size, data } = pageLayout(page)
  const out = new Uint8Array(size + FRAME_OVERHEAD)
  const view = new DataView(out.buffer)
  view.setUint32(0, RecordType.PAGE, true)
  view.setUint32(4, size, true)
  writePage(page, data, out, 8)
  view.setUint32(8 + size, crc32c(out.subarray(0, 8 + size)), true)
  return out
}

/** A PAGE record's payload, checked (flags, length, 4-bit tags). */
export function decodePage(record: RawRecord, source: string): PageRecord {
  const p = record.payload
  const bad = (problem: string): never => {
    throw new FileFormatError(source, record.offset, `PAGE record: ${problem}`)
  }
  if (p.length < 12) bad(`payload of ${p.length} bytes is shorter than its 12-byte header`)
  const view = new DataView(p.buffer, p.byteOffset, p.byteLength)
  const gpa = view.getUint32(4, true) * 0x1_0000_0000 + view.getUint32(0, true)
  const flags = view.getUint32(8, true)
  if (flags & ~(PAGE_TAGGED | PAGE_ZERO)) bad(`unknown flags 0x${flags.toString(16)}`)
  if (gpa % PAGE_SIZE !== 0) bad(`address 0x${gpa.toString(16)} is not page-aligned`)
  const hasData = (flags & PAGE_ZERO) === 0
  const tagged = (flags & PAGE_TAGGED) !== 0
  const expected = 12 + (hasData ? PAGE_SIZE : 0) + (tagged ? TAG_BYTES_PER_PAGE : 0)
  if (p.length !== expected) bad(`payload is ${p.length} bytes, expected ${expected} for flags 0x${flags.toString(16)}`)
  const tags = tagged ? p.slice(expected - TAG_BYTES_PER_PAGE) : null
  if (tags?.some((t) => t > 15)) bad('an allocation tag is above 15')
  return { gpa, data: hasData ? p.slice(12, 12 + PAGE_SIZE) : null, tags }
}

export function encodeJson(value: unknown): Uint8Array {
  return new TextEncoder().encode(JSON.stringify(value))
}

export function decodeJson(record: RawRecord, source: string): unknown {
  try {
    return JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(record.payload))
  } catch (e) {
    throw new FileFormatError(source, record.offset, `${RECORD_NAMES[record.type]} record is not valid JSON: ${(e as Error).message}`)
  }
}

/** ONE_REG register: the id (as KVM_GET_REG_LIST gives it) and the value; size is in the id. */
export interface OneReg {
  readonly id: bigint
  readonly value: bigint
}
/** A vCPU's registers as KVM_GET_REG_LIST lists them, with their values. */
export interface VcpuState {
  readonly index: number
  readonly regs: readonly OneReg[]
}

const KVM_REG_SIZE_SHIFT = 52n
/** The size in bytes a ONE_REG id encodes (bits 55:52). */
export function oneRegSize(id: bigint): number {
  return 1 << Number((id >> KVM_REG_SIZE_SHIFT) & 0xfn)
}

/** A VCPU record's payload: index, count, then each register's id and value. */
export function encodeVcpu(state: VcpuState): Uint8Array {
  if (!Number.isInteger(state.index) || state.index < 0 || state.index > 0xffff_ffff) throw new RangeError(`bad vCPU index ${state.index}`)
  const size = state.regs.reduce((n, r) => n + 8 + oneRegSize(r.id), 8)
  const out = new Uint8Array(size)
  const view = new DataView(out.buffer)
  view.setUint32(0, state.index, true)
  view.setUint32(4, state.regs.length, true)
  let at = 8
  for (const r of state.regs) {
    const width = oneRegSize(r.id)
    if (width > 16) throw new RangeError(`ONE_REG id 0x${r.id.toString(16)} has size ${width}; tagvm saves registers up to 128 bits`)
    if (r.value < 0n || r.value >> BigInt(width * 8) !== 0n) throw new RangeError(`value of register 0x${r.id.toString(16)} does not fit in ${width} bytes`)
    view.setBigUint64(at, r.id, true)
    at += 8
    for (let i = 0; i < width; i++) out[at + i] = Number((r.value >> BigInt(8 * i)) & 0xffn)
    at += width
  }
  return out
}

/** A VCPU record's payload, checked. */
export function decodeVcpu(record: RawRecord, source: string): VcpuState {
  const p = record.payload
  const bad = (problem: string): never => {
    throw new FileFormatError(source, record.offset, `VCPU record: ${problem}`)
  }
  if (p.length < 8) bad('shorter than its 8-byte header')
  const view = new DataView(p.buffer, p.byteOffset, p.byteLength)
  const index = view.getUint32(0, true)
  const count = view.getUint32(4, true)
  const regs: OneReg[] = []
  let at = 8
  for (let n = 0; n < count; n++) {
    if (at + 8 > p.length) bad(`register ${n} of ${count} runs past the record`)
    const id = view.getBigUint64(at, true)
    const width = oneRegSize(id)
    if (width > 16) bad(`register id 0x${id.toString(16)} has size ${width}`)
    if (at + 8 + width > p.length) bad(`register ${n} of ${count} runs past the record`)
    let value = 0n
    for (let i = width - 1; i >= 0; i--) value = (value << 8n) | BigInt(p[at + 8 + i]!)
    regs.push({ id, value })
    at += 8 + width
  }
  if (at !== p.length) bad(`${p.length - at} bytes after the last register`)
  return { index, regs }
}

/** A device's saved state under its name on the machine. */
export interface DeviceSnapshot {
  readonly name: string
  readonly state: DeviceState
}

/** A DEVICE record's payload; its content (is there such a device, is the state right) is the machine's to judge. */
export function decodeDevice(record: RawRecord, source: string): DeviceSnapshot {
  const d = decodeJson(record, source) as { name?: unknown; state?: { type?: unknown } | null } | null
  if (typeof d !== 'object' || d === null || typeof d.name !== 'string' || typeof d.state !== 'object' || d.state === null || typeof d.state.type !== 'string') {
    throw new FileFormatError(source, record.offset, 'DEVICE record: expected {"name": string, "state": {"type": string, ...}}')
  }
  return d as DeviceSnapshot
}

/** A PAGE record checked against the machine it belongs to: inside its RAM, tags only with MTE on. */
export function checkPageFits(page: PageRecord, config: MachineConfig, source: string, offset: number): void {
  const at = `PAGE record 0x${page.gpa.toString(16)}`
  if (page.gpa < config.ramBase || page.gpa + PAGE_SIZE > config.ramBase + config.ramSize) throw new FileFormatError(source, offset, `${at} is outside the machine's RAM`)
  if (page.tags && !config.mte) throw new FileFormatError(source, offset, `${at} carries tags but the machine has MTE off`)
}
