/** Host page / frame size. tagvm models a 4 KiB-page host. */
export const PAGE_SIZE = 4096
export const PAGE_SHIFT = 12
/** One allocation tag covers a 16-byte granule. */
export const GRANULE_SIZE = 16
export const GRANULE_SHIFT = 4
/** Granules (and so tags) per 4 KiB page. */
export const GRANULES_PER_PAGE = PAGE_SIZE / GRANULE_SIZE
/** Bytes of packed tag storage per page: two 4-bit tags per byte, 1/32 of the page. */
export const TAG_BYTES_PER_PAGE = GRANULES_PER_PAGE / 2
/** Largest allocation tag value. */
export const MAX_TAG = 0xf
