/** Guest pages as the machine, snapshots and migration move them. */
export const PAGE_SIZE = 4096
/** Allocation tags of one page as KVM_ARM_MTE_COPY_TAGS gives them: one byte per 16-byte granule. */
export const TAG_BYTES_PER_PAGE = PAGE_SIZE / 16

/** One guest page as snapshots and migration carry it. */
export interface PageRecord {
  /** Guest-physical address, page-aligned. */
  readonly gpa: number
  /** The page's 4096 bytes, or null when all zero. */
  readonly data: Uint8Array | null
  /** 256 allocation tags (0..15, one per 16-byte granule, one per byte as KVM_ARM_MTE_COPY_TAGS gives them), or null when the page is not tagged. */
  readonly tags: Uint8Array | null
}

/** Whether every byte is zero; a word at a time when the view is 4-byte aligned (page buffers always are). */
export function isZero(bytes: Uint8Array): boolean {
  if (bytes.byteOffset % 4 === 0 && bytes.length % 4 === 0) return wordsZero(new Uint32Array(bytes.buffer, bytes.byteOffset, bytes.length >> 2), 0, bytes.length >> 2)
  for (let i = 0; i < bytes.length; i++) if (bytes[i] !== 0) return false
  return true
}

/** Whether `words[from, from + count)` are all zero (a page's check without a view of its own). */
export function wordsZero(words: Uint32Array, from: number, count: number): boolean {
  // Four words per step, OR-ed: one branch per 16 bytes.
  let i = from
  const end = from + count
  for (; i + 4 <= end; i += 4) if ((words[i]! | words[i + 1]! | words[i + 2]! | words[i + 3]!) !== 0) return false
  for (; i < end; i++) if (words[i] !== 0) return false
  return true
}

/** Guest bytes a page record carries (data unless all zero, tags when tagged). */
export function pageRecordBytes(page: PageRecord): number {
  return (page.data ? PAGE_SIZE : 0) + (page.tags ? TAG_BYTES_PER_PAGE : 0)
}

/** A page of a batch holds data (else its data is all zero). */
export const BATCH_DATA = 1
/** A page of a batch holds allocation tags (else every tag is 0). */
export const BATCH_TAGS = 2

/**
 * Pages that travel together (one PAGES record of a snapshot or migration stream), ascending:
 * their addresses, which carry data and tags, and those bytes packed in page order (`data`
 * holds the data of each page with BATCH_DATA, `tags` the 256 tags of each page with
 * BATCH_TAGS). A page with neither is a zero page with zero tags.
 */
export interface PageBatchView {
  readonly count: number
  /** Guest-physical addresses, [0, count). */
  readonly gpas: Float64Array
  /** BATCH_DATA | BATCH_TAGS per page, [0, count). */
  readonly flags: Uint8Array
  /** The data of the pages with BATCH_DATA, in order. */
  readonly data: Uint8Array
  /** The tags of the pages with BATCH_TAGS, in order (one per byte, 0..15). */
  readonly tags: Uint8Array
}

/** Guest bytes a batch carries: data of its data pages and tags of its tagged pages. */
export function batchGuestBytes(batch: PageBatchView): number {
  return batch.data.length + batch.tags.length
}

/**
 * A PageBatchView with buffers of its own, filled page by page and reused: nothing is
 * allocated per page or per batch. `data` and `tags` are views of the filled part.
 */
export class PageBatch implements PageBatchView {
  count = 0
  readonly gpas: Float64Array
  readonly flags: Uint8Array
  /** Buffers for `capacity` pages of data and tags. */
  readonly dataBuffer: Uint8Array
  readonly tagBuffer: Uint8Array
  dataPages = 0
  tagPages = 0

  constructor(readonly capacity: number) {
    if (!Number.isInteger(capacity) || capacity < 1) throw new RangeError(`batch capacity must be a positive integer, got ${capacity}`)
    this.gpas = new Float64Array(capacity)
    this.flags = new Uint8Array(capacity)
    this.dataBuffer = new Uint8Array(capacity * PAGE_SIZE)
    this.tagBuffer = new Uint8Array(capacity * TAG_BYTES_PER_PAGE)
  }

  get data(): Uint8Array {
    return this.dataBuffer.subarray(0, this.dataPages * PAGE_SIZE)
  }

  get tags(): Uint8Array {
    return this.tagBuffer.subarray(0, this.tagPages * TAG_BYTES_PER_PAGE)
  }

  get full(): boolean {
    return this.count === this.capacity
  }

  /** Empties the batch for reuse (its buffers are kept). */
  clear(): void {
    this.count = this.dataPages = this.tagPages = 0
  }

  /** Appends a page (its arrays are copied); `data`/`tags` null or all zero mean none. */
  add(gpa: number, data: Uint8Array | null, tags: Uint8Array | null): void {
    if (this.full) throw new RangeError(`batch of ${this.capacity} pages is full`)
    let flags = 0
    if (data && !isZero(data)) {
      this.dataBuffer.set(data, this.dataPages++ * PAGE_SIZE)
      flags |= BATCH_DATA
    }
    if (tags && !isZero(tags)) {
      this.tagBuffer.set(tags, this.tagPages++ * TAG_BYTES_PER_PAGE)
      flags |= BATCH_TAGS
    }
    this.gpas[this.count] = gpa
    this.flags[this.count++] = flags
  }
}

/** Each page of a batch as a PageRecord with its own copies of data and tags. */
export function batchPages(batch: PageBatchView): PageRecord[] {
  const pages: PageRecord[] = []
  let d = 0
  let t = 0
  for (let i = 0; i < batch.count; i++) {
    const flags = batch.flags[i]!
    const data = flags & BATCH_DATA ? batch.data.slice(d * PAGE_SIZE, ++d * PAGE_SIZE) : null
    const tags = flags & BATCH_TAGS ? batch.tags.slice(t * TAG_BYTES_PER_PAGE, ++t * TAG_BYTES_PER_PAGE) : null
    pages.push({ gpa: batch.gpas[i]!, data, tags })
  }
  return pages
}

/** Joins chunks into one array (Buffer.concat without Node). */
export function concatBytes(chunks: readonly Uint8Array[]): Uint8Array {
  let length = 0
  for (const c of chunks) length += c.length
  const out = new Uint8Array(length)
  let at = 0
  for (const c of chunks) {
    out.set(c, at)
    at += c.length
  }
  return out
}
