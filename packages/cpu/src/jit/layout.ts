// Where the compiled tier's state lives in the WebAssembly.Memory that also holds guest RAM
// and its tags (PhysicalMemory's `wasmMemory` option). Each CPU reserves one wasm page for
// its state by growing the memory; offsets below are relative to that page's start and are
// baked into the generated code as constants.

import { STORED_SYSREGS } from '../sysreg-table.js'
import { VREGS_BYTES } from '../simd/vregs.js'

/** X0..X30 (slots 0..30), the zero slot 31, SP (32) and the discard slot 33, as i64: the Cpu's `x` array. */
export const ST_X = 0
/** NZCV in bits 31:28 (i32), handed over at every entry and exit. */
export const ST_NZCV = 288
/** Instructions the run may still retire (i32). */
export const ST_LEFT = 292
/** Non-zero: translations leave at their next block start (exit STOP), e.g. for a pending interrupt. */
export const ST_STOP = 296
/** The PC a translation left at (i64). */
export const ST_PC = 304
/**
 * The VA of the page the translation is entered in (i64), set at every entry: translations
 * belong to a physical page, which may be mapped at several VAs (the kernel's identity map
 * and link address, one file page in several processes), so PC-derived values come from here.
 */
export const ST_PAGE_VA = 312
/**
 * Non-zero while a translation that ends in a branch may go straight on to the translation
 * the chain table holds for the target (region-module.ts chainDispatcher); set by the runtime
 * at each entry, cleared by anything the run loop must see first (a refetch: exception entry
 * and return, ISB, interrupt unmasking; a dropped page; a stale fast TLB).
 */
export const ST_CHAIN = 320
/** The chain table's generation << 2 | the EL (i32): a record counts only while its own matches. */
export const ST_CHAIN_GEN = 324
/** Translations entered through the chain table (i32, for the statistics; wraps). */
export const ST_HOPS = 328
/**
 * Non-zero (-1) while a misaligned access must leave for the interpreter (SCTLR_EL1.A set, or
 * stage 1 off: all data is Device); 0 while one may proceed in the fast path within its page
 * (the fast TLB then holds no Device page: the fill refuses them). Set by the runtime at each
 * entry and after a system instruction's handler (jit.ts alignmentMode).
 */
export const ST_STRICT_ALIGN = 332
/** Range-cache slots a region may have (emit-tags.ts loopCache): each cached access its own. */
export const RANGE_SLOTS = 8
/**
 * The range caches of the running region's loops (emit-tags.ts loopCache): an i64 start for
 * each slot (a VA with the pointer's top byte). In memory, not in wasm locals: a loop-carried
 * local made TurboFan allocate the MTE-off loop worse (tagcost17c: bench-sieve-nomte +20% host
 * instructions).
 */
export const ST_RANGE_START = 336
/**
 * The ranges' limits, an i64 for each start: an access of the slot at a uses the range when
 * rotr(a - start, log2 of its element size) < limit (unsigned): aligned, and beginning at most
 * (limit - 1) elements past the start. 0 (the empty cache): nothing does. The runtime empties
 * every slot with the fast TLB (fast-tlb.ts emptyRanges).
 */
export const ST_RANGE_LIMIT = ST_RANGE_START + 8 * RANGE_SLOTS
/** The host address (byte offset in the wasm memory) of each range's start, an i32 a slot. */
export const ST_RANGE_HOST = ST_RANGE_LIMIT + 8 * RANGE_SLOTS
/** Non-zero (an i32 a slot) while the slot's range is one of a tag-checked page: emptied on each entry into its loop. */
export const ST_RANGE_CHECKED = ST_RANGE_HOST + 4 * RANGE_SLOTS
/**
 * Non-zero once a translation stored tags (STG and kin in wasm) since the run loop last
 * entered one: the fast TLB's checked entries are dropped then, so that a page the guest has
 * just tagged as a whole gets a uniform-tag entry at its next fill (tag-summary.ts).
 */
export const ST_TAGS_STORED = 1020

/**
 * The fast data TLB, direct-mapped by VA[21:12] (4 MiB of reach, so that buffers or slabs a
 * MiB apart do not evict each other): 32-byte entries of a read key and a write key (i64:
 * `va & mask` of the page, or -1 for "no access this way"), the key mask (i64: VA[63:12],
 * or VA[55:12] under TBI, or VA[59:12] for a uniform-tag entry, whose key holds the pointer's
 * tag: tag-summary.ts), the page's byte offset in the wasm memory (i32) and its tag
 * base (i32): the offset of the frame's 256 tag bytes (a byte per granule, a multiple of 256)
 * less VA[31:12] << 8, so that the tag of the granule of an address whose low word is c is
 * the byte at tag base + (c >>> 4) (wrapping in 32 bits); or -1 (odd: no tag base is) when
 * accesses to the page are not tag-checked now (untagged page, checks off at this EL,
 * PSTATE.TCO..., or a uniform-tag entry).
 */
export const ST_TLB = 1024
export const TLB_ENTRIES = 1024
export const TLB_ENTRY_BYTES = 32
export const TLB_READ_KEY = 0
export const TLB_WRITE_KEY = 8
export const TLB_MASK = 16
export const TLB_HOST = 24
export const TLB_TAGS = 28

/** Byte-at-a-time CRC tables (256 u32 each): CRC-32 (0xEDB88320), then CRC-32C (0x82F63B78). */
export const ST_CRC = ST_TLB + TLB_ENTRIES * TLB_ENTRY_BYTES
export const CRC_TABLE_BYTES = 1024

/**
 * ADDG/SUBG's tags: byte [tag * 16 + offset] is ChooseNonExcludedTag(tag, offset, GCR_EL1.Exclude),
 * or 0 where tag access is off (ATAen false); then an i32, non-zero when the MTE instructions
 * exist (ID_AA64PFR1_EL1.MTE >= 1; else they are UNDEFINED: the interpreter runs them).
 * Refreshed by the runtime at an entry when GCR, ATAen or the MTE level changed.
 */
export const ST_ADDG = ST_CRC + 2 * CRC_TABLE_BYTES
export const ST_MTE_ON = ST_ADDG + 256

/** IRG's state: bit 0 tag access on (ATAen at this EL), bit 1 GCR_EL1.RRND (i32; with ST_ADDG). */
export const ST_IRG_FLAGS = ST_MTE_ON + 4
/** RGSR_EL1's low word while translations run (i32), and non-zero once an IRG in wasm wrote it. */
export const ST_RGSR = ST_IRG_FLAGS + 4
export const ST_RGSR_DIRTY = ST_RGSR + 4

/**
 * The chain table: direct-mapped by VA[15:2] (16384 entries: with 4096 a Linux boot lost 0.2 M chains to collisions), 32-byte entries of the VA (i64), the table slot
 * of the region's function (i32), the block (i32) and the generation and EL (i32, as ST_CHAIN_GEN)
 * they were recorded in. The runtime records every translation the run loop enters (the run loop has just checked
 * that PC's fetch translation), and bumps the generation whenever such a record may be wrong:
 * a fetch translation may have changed (whatever makes the fast TLB stale) or a page's
 * translations were dropped.
 */
/**
 * Which system instructions translations may run in wasm now (SYS_* bits, i32): the state they
 * depend on (EL, SPSel, SCTLR_EL1.DZE, HCR_EL2.TDZ, DCZID_EL0, the interrupt lines) changes
 * only outside translations or through a handler, so the runtime sets this at each entry and
 * after every handler run in a translation (sysreg-wasm.ts sysFlags).
 */
export const ST_SYS_OK = ST_RGSR_DIRTY + 4
/** EL1: the EL1-only registers that need no more than that (sysreg-wasm.ts) may be read and written in wasm. */
export const SYS_EL1 = 1
/** EL1 with SPSel = 1: SP_EL0 is its banked value (MRS/MSR SP_EL0 in wasm). */
export const SYS_SP_EL0 = 2
/** DC ZVA is allowed (EL1, or SCTLR_EL1.DZE at EL0; HCR_EL2.TDZ clear) and zeroes 64 bytes. */
export const SYS_ZVA = 4
/** An ISB's refetch would do nothing (no interrupt line or HCR_EL2.VI/VF up, PSTATE.IL clear). */
export const SYS_ISB = 8
/** FP/SIMD instructions may run (CPACR_EL1.FPEN and CPTR_EL2.TFP do not trap them at this EL: Cpu.fpEnabled). */
export const SYS_FP = 16
/**
 * The Cpu's stored system registers (its `sys` array: lo/hi pairs by SLOT, so register `slot`
 * is the i64 at ST_SYSREGS + 8 * slot) and then its banked stack pointers (`spBank`: SP_EL0,
 * SP_EL1), which live here so that translations can read and write them.
 */
export const ST_SYSREGS = (ST_SYS_OK + 4 + 7) & ~7
export const ST_SP_BANK = ST_SYSREGS + STORED_SYSREGS.length * 8
export const ST_HASH = (ST_SP_BANK + 16 + 31) & ~31
export const HASH_ENTRIES = 16384
export const HASH_ENTRY_BYTES = 32
export const HASH_KEY = 0
export const HASH_SLOT = 8
export const HASH_BLOCK = 12
export const HASH_GEN = 16

/**
 * The SIMD&FP registers (the Cpu's `fpRegs.vregs`: V0-V31, 16 bytes each, little-endian, then
 * the SIMD library's scratch registers), which live here so that translations load, store and
 * move them in wasm (emit-fp.ts).
 */
export const ST_VREGS = ST_HASH + HASH_ENTRIES * HASH_ENTRY_BYTES
export const STATE_BYTES = ST_VREGS + VREGS_BYTES

/** Exit codes a translation returns. */
export const EXIT_BRANCH = 0
/** The budget does not cover the next block: the interpreter runs the rest. */
export const EXIT_BUDGET = 1
/** The instruction at PC needs the interpreter (fault, MMIO, TLB refusal, tag mismatch, unsupported). */
export const EXIT_SLOW = 2
/** ST_STOP was set, or a system instruction run in a translation needs the run loop to refetch (emit-sys.ts). */
export const EXIT_STOP = 3
/**
 * A system instruction's handler run in a translation raised an exception or an exit: the
 * Cpu's PC, NZCV and count are already the interpreter's there (the runtime rethrows it).
 */
export const EXIT_THROWN = 4
/** `helper` index bit: the instruction is a system instruction, run with the Cpu's state brought up to date (emit-sys.ts). */
export const HELPER_SYS = 1 << 30
/**
 * `helper` index bit with HELPER_SYS: an FP/SIMD instruction that only reads and writes
 * registers (V, X, FPSR, NZCV): the runtime skips the checks for state such an instruction
 * cannot change (jit.ts sysCall with `regsOnly`).
 */
export const HELPER_REGS_ONLY = 1 << 29

/** Lazy NZCV: how the (a, b) operands held by a translation give the flags. */
export const CC_LIT = 0
export const CC_SUB64 = 1
export const CC_SUB32 = 2
export const CC_ADD64 = 3
export const CC_ADD32 = 4
export const CC_LOGIC64 = 5
export const CC_LOGIC32 = 6

/** Function indices in a translation module: the fill and helper imports, then the flag helpers, then the regions. */
export const FN_FILL = 0
/** `helper(i)`: runs the interpreter's handler for the region's i-th helper instruction (registers in the state page). */
export const FN_HELPER = 1
export const FN_NZCV = 2
export const FN_COND = 3
