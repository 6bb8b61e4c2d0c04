import { BATCH_DATA, BATCH_TAGS } from './page.js'

/**
 * What a restore or a migration destination has written to each page of RAM so far (one bit
 * for data, one for tags), so a page sent again as zero or untagged is cleared, and a page
 * never written is left alone.
 */
export class LoadedPages {
  private readonly data: Uint32Array
  private readonly tags: Uint32Array

  constructor(readonly pageCount: number) {
    this.data = new Uint32Array(Math.ceil(pageCount / 32))
    this.tags = new Uint32Array(Math.ceil(pageCount / 32))
  }

  /** Whether page `page` (index from the start of RAM) has its data in place. */
  hasData(page: number): boolean {
    return (this.data[page >>> 5]! & (1 << (page & 31))) !== 0
  }

  /** Whether page `page` has its tags in place. */
  hasTags(page: number): boolean {
    return (this.tags[page >>> 5]! & (1 << (page & 31))) !== 0
  }

  /** Pages [first, first + count) now hold what `flags` (BATCH_DATA, BATCH_TAGS) says. */
  mark(first: number, count: number, flags: number): void {
    for (let page = first; page < first + count; page++) {
      const bit = 1 << (page & 31)
      const word = page >>> 5
      this.data[word] = flags & BATCH_DATA ? this.data[word]! | bit : this.data[word]! & ~bit
      this.tags[word] = flags & BATCH_TAGS ? this.tags[word]! | bit : this.tags[word]! & ~bit
    }
  }
}
