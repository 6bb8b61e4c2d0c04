import { hexAddr } from '../errors.js'

/**
 * Where loaders put guest images: guest-physical RAM. Loaders only call `write`, so they do not
 * depend on the machine; the machine's implementation writes into its memslot's host mapping.
 */
export interface LoadTarget {
  /** First guest-physical address of RAM. */
  readonly ramBase: number
  /** RAM size in bytes. */
  readonly ramSize: number
  /** Copies `bytes` to guest-physical `gpa`; the range lies inside RAM (loaders check first). */
  write(gpa: number, bytes: Uint8Array): void
}

/** Whether [gpa, gpa+size) lies within the target's RAM. */
export function inRam(target: LoadTarget, gpa: number, size: number): boolean {
  return gpa >= target.ramBase && size >= 0 && gpa + size <= target.ramBase + target.ramSize
}

export function ramRange(target: LoadTarget): string {
  return `RAM [${hexAddr(target.ramBase)}, ${hexAddr(target.ramBase + target.ramSize)})`
}

/**
 * A LoadTarget over a plain byte array: for tests, for `tagvm tags IMAGE` and anything that
 * wants an image's memory without a machine. Pages never written stay unallocated.
 */
export class SparseRam implements LoadTarget {
  static readonly PAGE = 4096
  private readonly pages = new Map<number, Uint8Array>()

  constructor(
    readonly ramBase: number,
    readonly ramSize: number,
  ) {
    if (!Number.isSafeInteger(ramBase) || ramBase < 0 || ramBase % SparseRam.PAGE !== 0) {
      throw new RangeError(`ramBase must be a page-aligned non-negative integer, got ${ramBase}`)
    }
    if (!Number.isSafeInteger(ramSize) || ramSize <= 0 || ramSize % SparseRam.PAGE !== 0) {
      throw new RangeError(`ramSize must be a positive multiple of ${SparseRam.PAGE}, got ${ramSize}`)
    }
  }

  write(gpa: number, bytes: Uint8Array): void {
    if (!inRam(this, gpa, bytes.length)) {
      throw new RangeError(`write of ${bytes.length} bytes at ${hexAddr(gpa)} is outside ${ramRange(this)}`)
    }
    let done = 0
    while (done < bytes.length) {
      const addr = gpa + done
      const index = Math.floor((addr - this.ramBase) / SparseRam.PAGE)
      const within = (addr - this.ramBase) % SparseRam.PAGE
      const count = Math.min(SparseRam.PAGE - within, bytes.length - done)
      let page = this.pages.get(index)
      if (!page) {
        page = new Uint8Array(SparseRam.PAGE)
        this.pages.set(index, page)
      }
      page.set(bytes.subarray(done, done + count), within)
      done += count
    }
  }

  /** The bytes at [gpa, gpa + size); pages never written read as zero. */
  read(gpa: number, size: number): Uint8Array {
    if (!inRam(this, gpa, size)) {
      throw new RangeError(`read of ${size} bytes at ${hexAddr(gpa)} is outside ${ramRange(this)}`)
    }
    const out = new Uint8Array(size)
    let done = 0
    while (done < size) {
      const addr = gpa + done
      const index = Math.floor((addr - this.ramBase) / SparseRam.PAGE)
      const within = (addr - this.ramBase) % SparseRam.PAGE
      const count = Math.min(SparseRam.PAGE - within, size - done)
      const page = this.pages.get(index)
      if (page) out.set(page.subarray(within, within + count), done)
      done += count
    }
    return out
  }

  /** Guest-physical addresses of the pages written so far, ascending. */
  touchedPages(): number[] {
    return [...this.pages.keys()].sort((a, b) => a - b).map((i) => this.ramBase + i * SparseRam.PAGE)
  }
}
