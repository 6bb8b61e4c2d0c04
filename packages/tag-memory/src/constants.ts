/** Host page / frame size. tagvm models a 4 KiB-page host. */
export const PAGE_SIZE = 4096
export const PAGE_SHIFT = 12
/** One allocation tag covers a 16-byte granule. */
export const GRANULE_SIZE = 16
export const GRANULE_SHIFT = 4
/** Granules (and so tags) per 4 KiB page. */
export const GRANULES_PER_PAGE = PAGE_SIZE / GRANULE_SIZE
/**
 * Bytes of a page's tags in memory (PhysicalMemory's tag storage): one byte per granule, the tag
 * in the low nibble and the high nibble zero, 1/16 of the page. So a tag check is one byte load
 * and a compare (the compiled tier's check; see packages/cpu/src/jit/README.md), and the
 * one-tag-per-byte formats (KVM_ARM_MTE_COPY_TAGS, snapshots, the migration stream) are copies.
 */
export const TAG_STORAGE_BYTES_PER_PAGE = GRANULES_PER_PAGE
/**
 * Bytes of a page's tags packed two per byte (even granule in the low nibble), 1/32 of the
 * page: the 128-byte buffer swap keeps for a tagged page (Linux's mte_save_tags). Only that
 * format is packed (`packTagBytes` / `unpackTagBytes`).
 */
export const PACKED_TAG_BYTES_PER_PAGE = GRANULES_PER_PAGE / 2
/** Largest allocation tag value. */
export const MAX_TAG = 0xf
