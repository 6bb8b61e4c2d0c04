// Where everything lives. Guest physical RAM, its allocation tags and the compiled tier's
// own state (registers, fast TLB, tables) share one WebAssembly.Memory, so that code
// generated as WebAssembly reaches all of it with plain loads and stores; the JavaScript
// tier uses typed-array views of the same buffer.

/** Guest RAM: PA [RAM_BASE, RAM_BASE + RAM_SIZE), identity-mapped at stage 2 and stage 1. */
export const RAM_BASE = 0x4000_0000
export const RAM_SIZE = 16 << 20
export const PAGE = 4096
/** Allocation tag bytes per 4 KiB frame (one byte per 16-byte granule, as tag-memory stores them). */
export const TAG_BYTES_PER_PAGE = 256

// ---- the WebAssembly.Memory (byte offsets) ----
/** RAM byte PA is at wasm offset PA - RAM_BASE. */
export const WASM_RAM = 0
/**
 * PhysicalMemory's shared mode keeps frame pfn's tags at byte pfn * 256 of its tag buffer;
 * handing it the wasm buffer as that tag buffer puts RAM's tags here (see machine.ts).
 */
export const WASM_TAGS = (RAM_BASE / PAGE) * TAG_BYTES_PER_PAGE
/** The compiled tier's area, after RAM's tags. */
export const WASM_TIER = WASM_TAGS + (RAM_SIZE / PAGE) * TAG_BYTES_PER_PAGE

/** Guest state (registers as i64 / lo,hi int32 pairs). */
export const STATE = WASM_TIER
/** X0..X30 at 8*n, SP at 8*31. */
export const ST_X = 0
export const ST_SP = 8 * 31
/**
 * NZCV, held lazily between translations as the last setter left it: ST_CC_OP says how to
 * read it (flags.ts), from the operands ST_CC_A and ST_CC_B (i64) or the literal ST_NZCV
 * (bits 31:28). Materialized only when the interpreter takes over.
 */
export const ST_NZCV = 256
export const ST_CC_OP = 260
export const ST_CC_A = 288
export const ST_CC_B = 296
/** PC (i64). */
export const ST_PC = 264
/** Instructions the run may still retire (i32). */
export const ST_LEFT = 272
/** RGSR_EL1 and GCR_EL1 low words (IRG's inputs; written back after a run). */
export const ST_RGSR = 276
export const ST_GCR = 280
/** Which exit site of the translation left (for the link cache). */
export const ST_EXIT_SITE = 284
export const STATE_BYTES = 512

/**
 * Fast data TLB: direct-mapped by VA[19:12]. Entry (64 bytes): read key (i64), write key
 * (i64) = VA[55:12] << 12 of the page, or -1; host offset of the page in this memory
 * (i32); host offset of the page's 128 tag bytes (i32), or -1 when the page is not Tagged.
 * Then the checked-access keys (the "tag in the key" variant): a mask (i64) and read/write
 * keys (i64) such that `(va & mask) == key` means "this page, and the access passes its
 * tag check": for an untagged page the plain keys under the TBI mask; for a Tagged page
 * whose 256 granules share one tag T, the keys with T in bits 59:56 under a mask that
 * keeps them; for a Tagged page with mixed tags a key that never matches.
 */
export const TLB = STATE + STATE_BYTES
export const TLB_ENTRIES = 256
export const TLB_ENTRY_BYTES = 64
export const TLB_READ_KEY = 0
export const TLB_WRITE_KEY = 8
export const TLB_HOST = 16
export const TLB_TAGS = 20
export const TLB_CHECK_MASK = 24
export const TLB_CHECK_READ_KEY = 32
export const TLB_CHECK_WRITE_KEY = 40

/** CRC-32C slicing-by-8 tables: 8 x 256 int32. */
export const CRC_TABLES = TLB + TLB_ENTRIES * TLB_ENTRY_BYTES

/** The wasm dispatcher's PC cache: direct-mapped by PC[13:2]; entry {pcLo i32, pcHi i32, fn i32, block i32}. */
export const PC_CACHE = CRC_TABLES + 8 * 256 * 4
export const PC_CACHE_ENTRIES = 4096
export const PC_CACHE_ENTRY_BYTES = 16

export const WASM_END = PC_CACHE + PC_CACHE_ENTRIES * PC_CACHE_ENTRY_BYTES
export const WASM_PAGES = Math.ceil(WASM_END / 65536)
