import type { DeviceState } from '@tagvm/devices'
import type { MachineConfig } from '../config.js'
import { FileFormatError } from '../errors.js'
import { BATCH_DATA, BATCH_TAGS, PAGE_SIZE, TAG_BYTES_PER_PAGE, type PageBatchView } from '../memory/page.js'
import { crc32 } from './crc32.js'

/**
 * The record framing shared by snapshot files and migration streams, so the same page records
 * carry both. Each record is
 *   u32 type | u32 payload length | payload | u32 CRC-32 of (type, length, payload)
 * little-endian, and can be decoded as bytes arrive (a pipe or socket delivers any split).
 */
export const RecordType = {
  /** Machine configuration, JSON. */
  CONFIG: 1,
  /** Format version 1's single page (no longer written or read; the number stays taken). */
  PAGE: 2,
  /** One vCPU's registers as ONE_REG (id, value) pairs. */
  VCPU: 3,
  /** One device's saveState() JSON with its name. */
  DEVICE: 4,
  /** Migration: end of a pre-copy round (u32 round, u32 pages sent in it). */
  ROUND_END: 5,
  /** Snapshot: SHA-256 of the header and of every record's framing (type, length, CRC) before this one. Migration: source is done. */
  END: 6,
  /** Migration: the destination has everything and runs the guest (or refuses, with a reason). */
  ACK: 7,
  /** Migration: stream start (protocol version). */
  HELLO: 8,
  /**
   * Guest pages, ascending: u32 count, u32 0, count x u64 (gpa | flags in the low 12 bits:
   * 1 data, 2 tags), then 4096 data bytes per page with data, then 256 tag bytes (0..15) per
   * page with tags. A page with neither is zero with zero tags.
   */
  PAGES: 9,
  /**
   * Migration, source to destination: post-copy starts; the pages still to come, as u32 flags
   * (1: last such record), u32 pages in all runs (in the last record), u32 run count, then
   * (u32 first page, u32 pages) per run, pages counted from the start of RAM.
   */
  POSTCOPY: 10,
  /** Migration, destination to source: pages the guest needs now (u32 count, u32 0, count x u64 gpa). */
  REQUEST: 11,
} as const
/** One of the RecordType numbers. */
export type RecordTypeValue = (typeof RecordType)[keyof typeof RecordType]
const KNOWN = new Set<number>(Object.values(RecordType))
/** Record type number to its name, for messages. */
export const RECORD_NAMES: Record<number, string> = Object.fromEntries(Object.entries(RecordType).map(([k, v]) => [v, k]))

/** Largest payload accepted: a PAGES record of MAX_BATCH_PAGES pages; JSON sections stay far below. */
export const MAX_PAYLOAD = 16 * 1024 * 1024
/** Most pages in one PAGES record. */
export const MAX_BATCH_PAGES = 2048
const FRAME_OVERHEAD = 12
/** Bytes readBuffer offers while the next record's length is unknown. */
const IN_PLACE_READ = 64 * 1024

/** A record as framed in a file or stream, its checksum already checked. */
export interface RawRecord {
  readonly type: RecordTypeValue
  /** A view of the bytes pushed, valid until the next push: copy what must outlive it. */
  readonly payload: Uint8Array
  /** The whole record as it stood in the stream (header, payload, CRC), a view like `payload`. */
  readonly frame: Uint8Array
  /** Offset of the record's first byte in the file or stream. */
  readonly offset: number
}

/** One framed record: type, length, payload and CRC-32. */
export function encodeRecord(type: RecordTypeValue, payload: Uint8Array): Uint8Array {
  if (payload.length > MAX_PAYLOAD) throw new RangeError(`record payload of ${payload.length} bytes exceeds ${MAX_PAYLOAD}`)
  const out = new Uint8Array(payload.length + FRAME_OVERHEAD)
  const view = new DataView(out.buffer)
  view.setUint32(0, type, true)
  view.setUint32(4, payload.length, true)
  out.set(payload, 8)
  view.setUint32(8 + payload.length, crc32(out.subarray(0, 8 + payload.length)), true)
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
  /**
   * A second buffer, for a push that hands out a record from one and keeps a tail in the other
   * (allocated on first need: most decoders, the replies a source reads, never need it).
   */
  private spare = new Uint8Array(0)
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

  /**
   * Where the next bytes of the stream may be read into, for a channel that reads into memory
   * its reader gives it: the free space after the bytes buffered, as much as completes the
   * record being received (so a large record arrives in one place and is decoded there, never
   * copied), or up to 64 KiB when the next record's header has not arrived. `push` of a view
   * of it starting at its first byte takes the bytes where they are. Call it after the records
   * of the last push have been handled: it may move what is buffered.
   */
  readBuffer(): Uint8Array {
    if (this.start === this.end) this.start = this.end = 0
    const live = this.end - this.start
    const want = live < 8 ? IN_PLACE_READ : Math.max(1, this.wanted())
    if (this.end + want > this.buffer.length) {
      // Too little room after the record's start: move what has arrived of it to the front
      // (at most one read's worth: reads stop at a record's end once its length is known).
      const target = live + want > this.buffer.length ? new Uint8Array(Math.max(this.buffer.length * 2, live + want)) : this.buffer
      if (target === this.buffer) target.copyWithin(0, this.start, this.end)
      else target.set(this.buffer.subarray(this.start, this.end), 0)
      this.buffer = target
      this.start = 0
      this.end = live
    }
    return this.buffer.subarray(this.end, this.end + want)
  }

  /** Takes the next bytes; returns the records they complete (errors name the offset of a bad one). */
  push(chunk: Uint8Array): RawRecord[] {
    const records: RawRecord[] = []
    if (chunk.buffer === this.buffer.buffer && chunk.byteOffset === this.buffer.byteOffset + this.end && this.end + chunk.length <= this.buffer.length) {
      // Read into readBuffer()'s space: the bytes are already where they belong.
      this.end += chunk.length
      this.start = this.parse(this.buffer, this.start, this.end, records)
      return records
    }
    if (this.start === this.end) {
      // Nothing buffered: decode straight from the chunk and keep only its incomplete tail.
      const used = this.parse(chunk, 0, chunk.length, records)
      if (used < chunk.length) this.append(chunk.subarray(used))
      return records
    }
    // A record is incomplete: take from the chunk only what completes it (the chunk's rest is
    // decoded in place), so a stream read in pieces larger than a record, but not aligned to
    // records, is not copied a second time whole.
    let used = 0
    while (this.start < this.end) {
      const want = this.wanted()
      if (chunk.length - used < want) {
        this.append(chunk.subarray(used))
        return records
      }
      this.append(chunk.subarray(used, used + want))
      used += want
      this.start = this.parse(this.buffer, this.start, this.end, records)
    }
    this.start = this.end = 0
    if (used === chunk.length) return records
    // The buffered record is decoded; `records` may hold views of the buffer, so it is not
    // written again until the next push.
    const rest = chunk.subarray(used)
    const done = this.parse(rest, 0, rest.length, records)
    if (done < rest.length) {
      // The buffer holds the record handed out above: the tail goes into the other one.
      const spare = this.spare
      this.spare = this.buffer
      this.buffer = spare
      this.append(rest.subarray(done))
    }
    return records
  }

  /** Bytes still needed to complete the buffered record (its header first, then the rest). */
  private wanted(): number {
    const live = this.end - this.start
    if (live < 8) return 8 - live
    const length = new DataView(this.buffer.buffer, this.buffer.byteOffset + this.start, 8).getUint32(4, true)
    // A bad length is reported by parse once the header is whole; ask for the header only.
    if (length > MAX_PAYLOAD) return 0
    return length + FRAME_OVERHEAD - live
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
      const actual = crc32(bytes.subarray(at, at + 8 + length))
      if (crc !== actual) {
        throw new FileFormatError(
          this.source,
          offset,
          `${RECORD_NAMES[type]} record checksum mismatch (stored 0x${crc.toString(16).padStart(8, '0')}, computed 0x${actual.toString(16).padStart(8, '0')}): corrupted`,
        )
      }
      // A view, valid until the next push (every reader handles a record before that).
      records.push({ type: type as RecordTypeValue, payload: bytes.subarray(at + 8, at + 8 + length), frame: bytes.subarray(at, at + length + FRAME_OVERHEAD), offset })
      at += length + FRAME_OVERHEAD
      this.base += length + FRAME_OVERHEAD
    }
    return at
  }
}

// --- payload codecs shared by snapshot and migration ----------------------------------------

const PAGES_HEADER = 8
const GPA_FLAGS_MASK = 0xfff

/**
 * A PAGES record for a batch, as the chunks to write in order (frame and page table, data,
 * tags, CRC): the batch's bytes are not copied, so they must stay as they are until the chunks
 * are written. The CRC-32 runs over the chunks in place.
 */
export function encodePagesRecord(batch: PageBatchView): Uint8Array[] {
  const { count, gpas, flags, data, tags } = batch
  if (!Number.isInteger(count) || count < 1 || count > MAX_BATCH_PAGES) throw new RangeError(`a PAGES record holds 1..${MAX_BATCH_PAGES} pages, got ${count}`)
  let dataPages = 0
  let tagPages = 0
  const head = new Uint8Array(8 + PAGES_HEADER + count * 8)
  const view = new DataView(head.buffer)
  let last = -1
  for (let i = 0; i < count; i++) {
    const gpa = gpas[i]!
    const f = flags[i]!
    if (!Number.isSafeInteger(gpa) || gpa < 0 || gpa % PAGE_SIZE !== 0) throw new RangeError(`page address ${gpa} is not page-aligned`)
    if (gpa <= last) throw new RangeError(`page 0x${gpa.toString(16)} is not above the page before it in the batch`)
    if (f & ~(BATCH_DATA | BATCH_TAGS)) throw new RangeError(`page 0x${gpa.toString(16)}: unknown flags ${f}`)
    last = gpa
    if (f & BATCH_DATA) dataPages++
    if (f & BATCH_TAGS) tagPages++
    view.setUint32(8 + PAGES_HEADER + i * 8, gpa % 0x1_0000_0000 | f, true)
    view.setUint32(8 + PAGES_HEADER + i * 8 + 4, Math.floor(gpa / 0x1_0000_0000), true)
  }
  if (data.length !== dataPages * PAGE_SIZE) throw new RangeError(`batch data is ${data.length} bytes for ${dataPages} pages with data`)
  if (tags.length !== tagPages * TAG_BYTES_PER_PAGE) throw new RangeError(`batch tags are ${tags.length} bytes for ${tagPages} tagged pages`)
  if (!tagsAreNibbles(tags)) throw new RangeError('an allocation tag is not 4-bit')
  const length = PAGES_HEADER + count * 8 + data.length + tags.length
  view.setUint32(0, RecordType.PAGES, true)
  view.setUint32(4, length, true)
  view.setUint32(8, count, true)
  const crc = new Uint8Array(4)
  new DataView(crc.buffer).setUint32(0, crc32(tags, crc32(data, crc32(head))), true)
  return [head, data, tags, crc]
}

/**
 * Whether every byte is at most 15: bytes up to a 4-byte boundary of the buffer, then four at
 * a time (a record's tags sit anywhere in the stream), then the rest.
 */
export function tagsAreNibbles(tags: Uint8Array): boolean {
  const head = (4 - (tags.byteOffset & 3)) & 3
  if (tags.length < head + 4) {
    for (let i = 0; i < tags.length; i++) if (tags[i]! > 15) return false
    return true
  }
  for (let i = 0; i < head; i++) if (tags[i]! > 15) return false
  const words = new Uint32Array(tags.buffer, tags.byteOffset + head, (tags.length - head) >>> 2)
  for (let w = 0; w < words.length; w++) if (words[w]! & 0xf0f0_f0f0) return false
  for (let i = head + words.length * 4; i < tags.length; i++) if (tags[i]! > 15) return false
  return true
}

/**
 * A PAGES record's payload, checked (count, flags, ascending page-aligned addresses, length,
 * 4-bit tags). The batch's data and tags are views of the record's payload.
 */
export function decodePages(record: RawRecord, source: string): PageBatchView {
  const p = record.payload
  const bad = (problem: string): never => {
    throw new FileFormatError(source, record.offset, `PAGES record: ${problem}`)
  }
  if (p.length < PAGES_HEADER) bad(`payload of ${p.length} bytes is shorter than its ${PAGES_HEADER}-byte header`)
  const view = new DataView(p.buffer, p.byteOffset, p.byteLength)
  const count = view.getUint32(0, true)
  if (count < 1 || count > MAX_BATCH_PAGES) bad(`holds ${count} pages; a record holds 1..${MAX_BATCH_PAGES}`)
  if (view.getUint32(4, true) !== 0) bad(`reserved field is 0x${view.getUint32(4, true).toString(16)}, expected 0`)
  if (p.length < PAGES_HEADER + count * 8) bad(`payload of ${p.length} bytes cannot hold the addresses of ${count} pages`)
  const gpas = new Float64Array(count)
  const flags = new Uint8Array(count)
  let dataPages = 0
  let tagPages = 0
  let last = -1
  for (let i = 0; i < count; i++) {
    const lo = view.getUint32(PAGES_HEADER + i * 8, true)
    const f = lo & GPA_FLAGS_MASK
    const gpa = view.getUint32(PAGES_HEADER + i * 8 + 4, true) * 0x1_0000_0000 + (lo - f)
    if (f & ~(BATCH_DATA | BATCH_TAGS)) bad(`page 0x${gpa.toString(16)} has unknown flags 0x${f.toString(16)}`)
    if (gpa <= last) bad(`page 0x${gpa.toString(16)} is not above the page before it (0x${last.toString(16)})`)
    last = gpa
    gpas[i] = gpa
    flags[i] = f
    if (f & BATCH_DATA) dataPages++
    if (f & BATCH_TAGS) tagPages++
  }
  const dataAt = PAGES_HEADER + count * 8
  const tagsAt = dataAt + dataPages * PAGE_SIZE
  const expected = tagsAt + tagPages * TAG_BYTES_PER_PAGE
  if (p.length !== expected) bad(`payload is ${p.length} bytes, expected ${expected} for ${count} pages (${dataPages} with data, ${tagPages} tagged)`)
  const tags = p.subarray(tagsAt, expected)
  if (!tagsAreNibbles(tags)) bad('an allocation tag is above 15')
  return { count, gpas, flags, data: p.subarray(dataAt, tagsAt), tags }
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

/** A PAGES record checked against the machine it belongs to: inside its RAM, tags only with MTE on. */
export function checkBatchFits(batch: PageBatchView, config: MachineConfig, source: string, offset: number): void {
  const first = batch.gpas[0]!
  const last = batch.gpas[batch.count - 1]!
  if (first < config.ramBase || last + PAGE_SIZE > config.ramBase + config.ramSize) {
    const outside = first < config.ramBase ? first : last
    throw new FileFormatError(source, offset, `PAGES record: page 0x${outside.toString(16)} is outside the machine's RAM`)
  }
  if (batch.tags.length > 0 && !config.mte) throw new FileFormatError(source, offset, `PAGES record: page 0x${batch.gpas[batch.flags.indexOf(BATCH_TAGS)]!.toString(16)} carries tags but the machine has MTE off`)
}
