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
  if (bytes.byteOffset % 4 === 0 && bytes.length % 4 === 0) {
    const words = new Uint32Array(bytes.buffer, bytes.byteOffset, bytes.length >> 2)
    for (let i = 0; i < words.length; i++) if (words[i] !== 0) return false
    return true
  }
  for (let i = 0; i < bytes.length; i++) if (bytes[i] !== 0) return false
  return true
}

/** Guest bytes a page record carries (data unless all zero, tags when tagged). */
export function pageRecordBytes(page: PageRecord): number {
  return (page.data ? PAGE_SIZE : 0) + (page.tags ? TAG_BYTES_PER_PAGE : 0)
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
