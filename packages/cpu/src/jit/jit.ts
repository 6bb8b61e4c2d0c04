// The compiled tier's runtime for one CPU: its state page in the WebAssembly.Memory (the
// Cpu's registers live there), the fast data TLB and its fill, translation of hot regions
// and the hand-over with the interpreter's run loop.
//
// Coherence. A translation belongs to the CodePage (one physical page of decoded code) it
// was made from, so everything that drops decoded code (a store into the page, another
// vCPU's or the VMM's write seen at the next sync, IC IVAU/IALLUIS) drops it too. The fast
// TLB never holds a write key for a frame this CPU holds code from (the store leaves for
// the interpreter, which invalidates), and is emptied whenever something could make an
// entry stale: any MMU TLB invalidation or flush and any TLBI, even of a page the MMU's TLB
// no longer holds (TLBI, stage-2 changes, SCTLR/TCR/MAIR/HCR/VTCR writes),
// a TTBR or VTTBR write (ASID/VMID change: the fast TLB is not tagged), an EL, PAN or MTE
// setting change (permissions and "is this page tag-checked now" are baked into entries),
// and a frame becoming code. Translations themselves depend on none of these. Uniform-tag
// entries (no check: the key holds the pointer's tag) are also emptied by any write of their
// frame's tags; tag-summary.ts says how.

import { ACCESS_READ, ACCESS_WRITE, TLB_DEVICE, TranslationResult } from '@tagvm/mmu'
import { growWasmMemory, type WasmMemory } from '@tagvm/tag-memory'
import type { CodePage } from '../code-cache.js'
import type { Cpu } from '../cpu.js'
import { PS, REG_SLOTS, nzcvWord, setNzcvWord } from '../state.js'
import { SLOT, STORED_SYSREGS } from '../sysreg-table.js'
import { VRegs } from '../simd/vregs.js'
import { isbHandler, sysFlags, sysregLookup, type SysregLookup } from './sysreg-wasm.js'
import { ChainRegions, watchMmu } from './mmu-watch.js'
import { chainDispatcher, regionModule } from './region-module.js'
import { compile } from '../handlers.js'
import { addgTable, crcTable } from './emit-more.js'
import {
  CRC_TABLE_BYTES, EXIT_BRANCH, EXIT_STOP, EXIT_THROWN, HASH_BLOCK, HASH_ENTRIES, HASH_ENTRY_BYTES, HASH_GEN, HASH_KEY, HASH_SLOT, HELPER_REGS_ONLY, HELPER_SYS, STATE_BYTES, ST_VREGS,
  ST_CHAIN, ST_CHAIN_GEN, ST_HASH, ST_TAGS_STORED, ST_SP_BANK, ST_SYSREGS, ST_SYS_OK, ST_HOPS, ST_STRICT_ALIGN, ST_ADDG, ST_CRC, ST_IRG_FLAGS, ST_MTE_ON, ST_RGSR, ST_RGSR_DIRTY, ST_LEFT, ST_NZCV, ST_PAGE_VA, ST_PC, ST_STOP, ST_TLB, ST_X, TLB_ENTRIES, TLB_ENTRY_BYTES,
} from './layout.js'
import { CHECKED, CHECKED_NO_WRITE, UNIFORM, UNIFORM_MASK_HI, uniformChoice, watchTagSummaries } from './tag-summary.js'
import { EntryFrames, emptyRanges, writeEntry } from './fast-tlb.js'
import { TlbFills } from './tlb-fills.js'
import { formRegion, isSupported, isUnconditionalBranch, type Region } from './region.js'
import { newJitStats, type JitStats } from './stats.js'
export type { JitStats }
import { decode } from '@tagvm/a64'
import { SCTLR } from '../constants.js'

/** The largest `threshold`: entries are counted in a byte. */
export const MAX_THRESHOLD = 255

/** The compiled tier's options (`new Cpu({ memory, jit: { threshold } })`). */
export interface JitOptions {
  /**
   * Entries into an address (in single-instruction dispatch) before its region is translated;
   * 1 translates at once, at most 255. Default 64: a translation costs a few milliseconds of
   * CPU (hundreds of thousands of interpreted instructions), so only code that keeps running
   * should pay it.
   */
  threshold?: number
}

/** A translation entry point: the region function's slot in the CPU's chain table and the block to start at. */
export interface JitEntry {
  readonly slot: number
  readonly block: number
}

/** A hot entry waiting for its batch: the page's entry array when queued (replaced if the page is dropped). */
interface QueuedEntry {
  page: CodePage
  entries: (JitEntry | undefined)[]
  i: number
}

/** Hot entries translated together in one module (V8's cost per module is mostly fixed). */
const BATCH = 32

interface WasmTable {
  readonly length: number
  grow(delta: number): number
  set(index: number, value: unknown): void
}
interface WasmApi {
  Module: new (bytes: Uint8Array) => object
  Instance: new (module: object, imports: object) => { readonly exports: Record<string, unknown> }
  Table: new (descriptor: { element: 'anyfunc'; initial: number }) => WasmTable
}
const Wasm = (globalThis as unknown as { WebAssembly: WasmApi }).WebAssembly

/** Largest wasm memory (4 GiB of 64 KiB pages): the import's maximum. */
const MAX_PAGES = 65536
const PAGE_SIZE = 4096

/** Whether a memory can host the tier (PhysicalMemory made with `wasmMemory`). */
function wasmMemoryOf(memory: object): { wasm: WasmMemory; wasmOffset: (pfn: number, tags?: boolean) => number } | null {
  const m = memory as { wasmMemory?: WasmMemory | null; wasmOffset?: (pfn: number, tags?: boolean) => number }
  if (m.wasmMemory == null || typeof m.wasmOffset !== 'function') return null
  return { wasm: m.wasmMemory, wasmOffset: m.wasmOffset.bind(memory) }
}

export class Jit {
  /** The Cpu's general registers (i64 slots as lo/hi int32 pairs), inside the wasm memory. */
  readonly registers: Int32Array
  /** The Cpu's stored system registers (its `sys`), inside the wasm memory: translations read and write the plain ones (sysreg-wasm.ts). */
  readonly sysRegisters: Int32Array
  /** The Cpu's banked stack pointers (its `spBank`), inside the wasm memory (MRS/MSR SP_EL0 in wasm). */
  readonly spBank: Int32Array
  /** The Cpu's SIMD&FP registers, inside the wasm memory (FP/SIMD loads, stores and moves in wasm). */
  readonly vregs: VRegs
  readonly threshold: number
  readonly stats: JitStats = newJitStats()
  private readonly wasm: WasmMemory
  private readonly wasmOffset: (pfn: number, tags?: boolean) => number
  /** The memory's tag summaries, for uniform-tag entries (tag-summary.ts), or null. */
  private readonly summaries: ReturnType<typeof watchTagSummaries>
  /** Offset of this CPU's state page in the wasm memory. */
  private readonly base: number
  private s32: Int32Array
  /** The fast TLB may hold stale entries: emptied before the next translation runs. */
  private tlbStale = true
  /** The fast TLB entries filled since it was last emptied (what flushTlb rewrites). */
  private readonly tlbFills: TlbFills
  /** The frame of each fast TLB entry (for the drop after tag stores). */
  private readonly entryFrames = new EntryFrames()
  private readonly tr = new TranslationResult()
  private readonly fillImport: (lo: number, hi: number, isWrite: number) => number
  /** GCR_EL1.Exclude | ATAen << 16 | MTE level >= 1 << 17 that ST_ADDG was computed for (-1: never). */
  private addgKey = -1
  /** The debug state the fast TLB was filled under. */
  private debugSeen: unknown = null
  private readonly queue: QueuedEntry[] = []
  /** Page offsets (instruction indices) queued, or skipped as their continuation (see translate), since the last batch. */
  private readonly queuedAt = new Map<(JitEntry | undefined)[], Set<number>>()
  /** What a system instruction's handler threw inside a translation (see sysCall). */
  private thrown: { error: unknown } | null = null
  /** Queued entries that make a module (1: translate at once). */
  private readonly batch: number
  /** Every region function of this CPU, by slot (JitEntry.slot); a dropped page's slots are emptied. */
  private readonly table: WasmTable
  /** The next free slot of `table` (slots are not reused: a slot costs 8 bytes). */
  private nextSlot = 0
  /** The dispatcher (region-module.ts chainDispatcher): the one wasm function the run loop calls. */
  private readonly dispatch: (slot: number, block: number) => number
  /**
   * The chain table's records may be wrong (a page's translations dropped, an MMU change: TLB
   * maintenance, TTBR, SCTLR/TCR/MAIR/HCR/VTCR): a new generation at the next entry. The
   * records hold the EL too (ST_CHAIN_GEN is generation << 2 | EL), so exception entry and
   * return, which empty the fast TLB, do not cost them.
   */
  /** ST_STRICT_ALIGN as last set: -1 misaligned accesses leave, 0 they may proceed (no Device page in the fast TLB). */
  private strictAlign = -1
  /** Pages whose translations were dropped so far: a handler run in a translation (sysCall) that dropped one leaves after its instruction. */
  private drops = 0
  private chainStale = true
  private chainGen = 1
  /** The VA regions the chain table holds records in (a TLBI by VA elsewhere keeps them). */
  private readonly chainRegions = new ChainRegions()
  /** How translations may do MRS/MSR in wasm, from the CPU's rows. */
  private readonly sysregs: SysregLookup

  constructor(private readonly cpu: Cpu, options: JitOptions = {}) {
    const place = wasmMemoryOf(cpu.memory)
    if (place === null) {
      throw new RangeError('the compiled tier (jit) needs a PhysicalMemory made with the wasmMemory option (a shared WebAssembly.Memory)')
    }
    this.wasm = place.wasm
    this.wasmOffset = place.wasmOffset
    const threshold = options.threshold ?? 64
    // The run loop counts entries in a byte per instruction (saturating at 255): a larger
    // threshold would never translate anything.
    if (!(Number.isInteger(threshold) && threshold >= 1 && threshold <= MAX_THRESHOLD)) {
      throw new RangeError(`jit threshold must be an integer in 1..${MAX_THRESHOLD}, got ${threshold}`)
    }
    this.threshold = threshold
    // Threshold 1 translates at once, with no profile yet: one region a module, every block
    // reachable in the page.
    this.batch = threshold === 1 ? 1 : BATCH
    this.base = growWasmMemory(this.wasm, STATE_BYTES)
    this.s32 = new Int32Array(this.wasm.buffer)
    this.tlbFills = new TlbFills(this.base, this.s32)
    this.registers = new Int32Array(this.wasm.buffer, this.base + ST_X, REG_SLOTS * 2)
    this.sysRegisters = new Int32Array(this.wasm.buffer, this.base + ST_SYSREGS, STORED_SYSREGS.length * 2)
    this.spBank = new Int32Array(this.wasm.buffer, this.base + ST_SP_BANK, 4)
    this.vregs = new VRegs(this.wasm.buffer, this.base + ST_VREGS)
    this.sysregs = sysregLookup(cpu)
    this.fillImport = (lo, hi, isWrite) => this.fill(lo, hi, isWrite)
    this.summaries = watchTagSummaries(cpu.memory, this.s32, this.base + ST_TLB, this.wasmOffset, () => this.flushTlb())
    this.s32[(this.base + ST_STRICT_ALIGN) >> 2] = this.strictAlign
    this.s32.set(crcTable(0xedb8_8320), (this.base + ST_CRC) >> 2)
    this.s32.set(crcTable(0x82f6_3b78), (this.base + ST_CRC + CRC_TABLE_BYTES) >> 2)
    watchMmu(cpu.mmu, {
      fastTlb: () => this.invalidateTlb(),
      stale: () => {
        this.invalidateTlb()
        this.chainStale = true
      },
      tlbiByVa: (hi, lo) => {
        this.invalidateTlb()
        if (this.chainRegions.holds(hi, lo)) this.chainStale = true
      },
    })
    this.table = new Wasm.Table({ element: 'anyfunc', initial: 1024 })
    // Generation 0 is never current: the table's zeroed records (VA 0) match nothing.
    this.s32[(this.base + ST_CHAIN_GEN) >> 2] = this.chainGen << 2
    const dispatcher = new Wasm.Instance(new Wasm.Module(chainDispatcher(this.base, MAX_PAGES)), { env: { mem: this.wasm, table: this.table } })
    this.dispatch = dispatcher.exports['run'] as (slot: number, block: number) => number
  }

  /**
   * The run loop must look before the next translation runs (a refetch: exception entry or
   * return, ISB, interrupts unmasked or raised, a page dropped): a translation in progress
   * does not go on to another through the chain table.
   */
  breakChain(): void {
    this.s32[(this.base + ST_CHAIN) >> 2] = 0
  }

  /** A page's translations were dropped (code-cache.ts): their slots are emptied and no chain record may lead to them. */
  dropPage(entries: readonly (JitEntry | undefined)[]): void {
    this.drops++
    let last = -1
    for (const e of entries) {
      if (e !== undefined && e.slot !== last) {
        last = e.slot
        this.table.set(e.slot, null)
      }
    }
    this.chainStale = true
    this.breakChain()
  }

  /** Makes translations leave at their next block start (e.g. an interrupt became pending); cleared by the run loop. */
  requestStop(): void {
    Atomics.store(this.state(), (this.base + ST_STOP) >> 2, 1)
  }

  /** The fast TLB must not be trusted any more (see the file comment for who calls this). */
  invalidateTlb(): void {
    this.tlbStale = true
    this.breakChain()
  }

  private state(): Int32Array {
    // The memory grows (RAM chunks, tag slabs): a view made earlier does not see the new
    // length, but every offset used here is in this CPU's state page, which it covers.
    return this.s32
  }

  private flushTlb(): void {
    // Only the entries filled since the last flush (a Linux boot flushes ~61k times): tlb-fills.ts.
    this.tlbFills.empty(this.s32)
    emptyRanges(this.s32, this.base)
    this.tlbStale = false
    this.stats.tlbFlushes++
  }

  /**
   * The fast TLB's miss path, called from translations: the MMU's TLB or a walk (no fault
   * is raised: a failing translation leaves the access to the interpreter), then the entry.
   * 1 when the access may proceed, 0 when the translation must leave before it.
   */
  private fill(lo: number, hi: number, isWrite: number): number {
    this.stats.tlbFills++
    lo >>>= 0
    hi >>>= 0
    const cpu = this.cpu
    const data = cpu.data
    const mmu = cpu.mmu
    const t = mmu.tlb
    const bit = isWrite !== 0 ? data.permW : data.permR
    let i = mmu.lookupData(hi, lo)
    if (i < 0 || (t.flags[i]! & bit) === 0) {
      const el = cpu.p[PS.EL] as 0 | 1
      const pan = el === 1 && cpu.p[PS.PAN] !== 0
      // A walk may evict a translation of the MMU's TLB that a loop's range still stands for.
      emptyRanges(this.s32, this.base)
      if (!mmu.translate(hi, lo, isWrite !== 0 ? ACCESS_WRITE : ACCESS_READ, el, pan, this.tr)) return 0
      i = this.tr.tlbIndex
    }
    // Device attributes (stage 1 off makes all data Device) only matter for alignment, which
    // the fast path requires anyway: MMIO never gets here, it is a stage-2 fault.
    const flags = t.flags[i]!
    // Misaligned accesses proceed in the fast path now: a Device page (where they fault) stays out.
    if (this.strictAlign === 0 && (flags & TLB_DEVICE) !== 0) return 0
    let slot = t.hostSlot[i]!
    if (slot < 0) {
      slot = data.frames.slotFor(t.paPage[i]!)
      if (slot < 0) return 0
      t.hostSlot[i] = slot
    }
    const frame = data.frameList[slot]!
    const host = this.wasmOffset(frame.pfn)
    if (host < 0) return 0
    const checked = (flags & data.tagCheckMask) !== 0
    const tags = checked ? (this.wasmOffset(frame.pfn, true) - ((lo >>> 12) << 8)) | 0 : -1 // the tag base: layout.ts TLB_TAGS
    // TBI for this half of the address space: the top byte is not part of the key (but the
    // pointer's tag is, in a uniform-tag entry).
    const tcrHi = cpu.sys[2 * SLOT.TCR_EL1 + 1]!
    const tbi = (hi & 0x0080_0000) !== 0 ? (tcrHi >>> 6) & 1 : (tcrHi >>> 5) & 1
    const choice = checked && tbi !== 0 && this.summaries !== null ? uniformChoice(this.summaries, frame.pfn, hi) : CHECKED
    const readable = (flags & data.permR) !== 0
    const writable = (flags & data.permW) !== 0 && frame.code === 0 && choice !== CHECKED_NO_WRITE
    const maskHi = choice === UNIFORM ? UNIFORM_MASK_HI : tbi !== 0 ? 0x00ff_ffff : -1
    const keyLo = lo & 0xffff_f000
    const keyHi = hi & maskHi
    if (choice === UNIFORM) this.stats.uniformFills++
    const index = (lo >>> 12) & (TLB_ENTRIES - 1)
    writeEntry(this.s32, (this.base + ST_TLB + index * TLB_ENTRY_BYTES) >> 2, readable, writable, keyLo, keyHi, maskHi, host, choice === UNIFORM ? -1 : tags)
    this.tlbFills.note(index)
    this.entryFrames.note(index, frame.pfn)
    return (isWrite !== 0 ? writable : readable) ? 1 : 0
  }

  /** After an IRG in wasm: RGSR_EL1 as the interpreter's IRG leaves it (bits 63:32 zero). */
  private syncRgsr(): void {
    const s = this.s32
    const b = this.base >> 2
    if (s[b + ST_RGSR_DIRTY / 4] === 0) return
    s[b + ST_RGSR_DIRTY / 4] = 0
    this.cpu.sys[2 * SLOT.RGSR_EL1] = s[b + ST_RGSR / 4]!
    this.cpu.sys[2 * SLOT.RGSR_EL1 + 1] = 0
  }

  private setAddgTable(key: number): void {
    this.addgKey = key
    new Uint8Array(this.wasm.buffer, this.base + ST_ADDG, 256).set(addgTable(key & 0xffff, (key & (1 << 16)) !== 0))
    this.s32[(this.base + ST_MTE_ON) >> 2] = (key >>> 17) & 1
    this.s32[(this.base + ST_IRG_FLAGS) >> 2] = ((key >>> 16) & 1) | ((key >>> 18) & 1) << 1
  }

  /**
   * Entry i of the fetch page became hot (its hit count reached the threshold): queue its
   * region for translation and start counting its hits again. The queue is translated as one
   * module when it holds BATCH entries, or at once when a queued entry becomes hot a second
   * time (code that keeps running waits one more threshold at most). False when the first
   * instruction is not one the tier implements (the block tier may take it).
   */
  translate(page: CodePage, i: number): boolean {
    const frame = page.frame
    const debug = this.cpu.debug
    if (!isSupported(decode(frame.view.getUint32(frame.base + 4 * i, true))) || debug?.hasBreakpointAt(4 * i) === true) return false
    const entries = (page.jit ??= new Array<JitEntry | undefined>(PAGE_SIZE / 4).fill(undefined))
    const queue = this.queue
    for (let q = 0; q < queue.length; q++) {
      if (queue[q]!.entries === entries && queue[q]!.i === i) {
        this.flush(queue[q])
        return true
      }
    }
    // Straight-line code reaches the threshold one instruction after another: the one after a
    // queued (or so skipped) instruction that falls through to it is in that entry's region,
    // and a queue slot spent on it would only make the batch, and so the module, smaller.
    let marks = this.queuedAt.get(entries)
    if (marks === undefined) this.queuedAt.set(entries, (marks = new Set()))
    marks.add(i)
    if (i > 0 && marks.has(i - 1) && !isUnconditionalBranch(decode(frame.view.getUint32(frame.base + 4 * (i - 1), true)))) {
      // Counted again from 1: not 0, which would read as "never ran" to region formation.
      page.hits[i] = 1
      this.stats.continued++
      return true
    }
    queue.push({ page, entries, i })
    page.hits[i] = 0
    if (queue.length >= this.batch) this.flush()
    return true
  }

  /**
   * Translates the queued regions into one module and records an entry at every block start
   * of them not yet translated. A region stops before code already translated or planned by
   * an earlier region of the batch; a queued entry whose page was dropped since (its `jit`
   * array replaced) is forgotten. The translations hold nothing VA-derived: a page may be
   * entered at any VA that maps it (ST_PAGE_VA).
   */
  private flush(trigger?: QueuedEntry): void {
    const start = performance.now()
    const items = this.queue.splice(0)
    this.queuedAt.clear()
    const debug = this.cpu.debug
    const stopAt = debug === null ? undefined : (off: number): boolean => debug.hasBreakpointAt(off)
    const planned = new Map<(JitEntry | undefined)[], Set<number>>()
    // Every instruction of the regions planned so far, by page: a queued entry inside one's block
    // would make a region of the block's tail that nothing enters (see translate). Skipped.
    const covered = new Map<(JitEntry | undefined)[], Set<number>>()
    const regions: Region[] = []
    const owners: QueuedEntry[] = []
    for (const q of items) {
      const { page, entries, i } = q
      if (page.jit !== entries || entries[i] !== undefined) continue
      // Code that has not run again since it was queued (a burst that ended: start-up code, a
      // loop of a few hundred rounds run once) is not worth its compile: forgotten, it must
      // reach the threshold again to be queued again.
      if (this.batch > 1 && page.hits[i] === 0 && q !== trigger) {
        this.stats.dropped++
        continue
      }
      let plan = planned.get(entries)
      if (plan === undefined) planned.set(entries, (plan = new Set()))
      if (plan.has(4 * i)) continue
      let inside = covered.get(entries)
      if (inside === undefined) covered.set(entries, (inside = new Set()))
      if (inside.has(4 * i)) {
        this.stats.covered++
        continue
      }
      const frame = page.frame
      const hits = page.hits
      const region = formRegion(
        (off) => frame.view.getUint32(frame.base + off, true), 4 * i, stopAt,
        (off) => entries[off >>> 2] !== undefined || plan.has(off),
        this.batch === 1 ? undefined : (off) => hits[off >>> 2] !== 0,
      )
      if (region.blocks[region.blockAt.get(4 * i)!]!.insns.length === 0) continue
      for (const b of region.blocks) {
        if (b.insns.length > 0) plan.add(b.start)
        for (const insn of b.insns) inside.add(insn.off)
      }
      regions.push(region)
      owners.push(q)
    }
    if (regions.length === 0) return
    const t1 = performance.now()
    const slot = this.nextSlot
    this.nextSlot += regions.length
    if (this.nextSlot > this.table.length) this.table.grow(Math.max(this.nextSlot - this.table.length, this.table.length))
    const { bytes, helperRegion } = regionModule(regions, this.base, MAX_PAGES, this.sysregs)
    const t2 = performance.now()
    // Instructions the regions run through the interpreter's handlers (registers in the state page).
    const helperOffsets = regions[0]!.helpers
    const handlers = helperOffsets.map((off, h) => {
      const frame = owners[helperRegion[h]!]!.page.frame
      const word = frame.view.getUint32(frame.base + off, true)
      return decode(word).name === 'ISB' ? isbHandler(this.cpu) : compile(this.cpu, word)
    })
    const helper = (h: number): number => {
      if ((h & HELPER_SYS) !== 0) return this.sysCall(handlers[h & ~(HELPER_SYS | HELPER_REGS_ONLY)]!, (h & HELPER_REGS_ONLY) !== 0)
      // The handler reads and writes RGSR_EL1 in the Cpu (IRG with an Xm exclusion).
      this.syncRgsr()
      const r = handlers[h]!()
      this.s32[(this.base + ST_RGSR) >> 2] = this.cpu.sys[2 * SLOT.RGSR_EL1]!
      return r
    }
    const module = new Wasm.Module(bytes)
    const t3 = performance.now()
    const { exports } = new Wasm.Instance(module, { env: { mem: this.wasm, fill: this.fillImport, helper } })
    for (let r = 0; r < regions.length; r++) this.table.set(slot + r, exports[`r${r}`])
    const t4 = performance.now()
    this.stats.phaseMs[0] += t1 - start
    this.stats.phaseMs[1] += t2 - t1
    this.stats.phaseMs[2] += t3 - t2
    this.stats.phaseMs[3] += t4 - t3
    regions.forEach((region, r) => {
      const entries = owners[r]!.entries
      region.blocks.forEach((b, block) => {
        if (b.insns.length > 0 && entries[b.start >>> 2] === undefined) entries[b.start >>> 2] = { slot: slot + r, block }
      })
      this.stats.regions++
      this.stats.translatedInstructions += region.instructions
    })
    this.stats.modules++
    this.stats.codeBytes += bytes.length
    this.stats.compileMs += performance.now() - start
  }

  /**
   * A system instruction's handler called from a translation (emit-sys.ts sysCall), with the
   * Cpu's PC, count and NZCV as the interpreter has them there (from the state page). 0: the
   * translation goes on; 1: it leaves after the instruction (the handler asked for a refetch:
   * unmasked interrupts, context changes, code written or translations dropped; or the fast TLB or the ADDG table is
   * stale now, or a stop was requested); 2: the handler threw (an exception taken, an exit to
   * the VMM), kept for `enter` to rethrow. `regsOnly`: an FP/SIMD instruction that reads and
   * writes only registers (V, X, FPSR, NZCV), which can change nothing the checks below look at.
   */
  private sysCall(handler: () => number, regsOnly: boolean): number {
    const cpu = this.cpu
    const s = this.s32
    const b = this.base >> 2
    const p = cpu.p
    cpu.left = s[b + ST_LEFT / 4]!
    cpu.pcLo = s[b + ST_PC / 4]! >>> 0
    cpu.pcHi = s[b + ST_PC / 4 + 1]! >>> 0
    setNzcvWord(p, s[b + ST_NZCV / 4]!)
    this.syncRgsr()
    const drops = this.drops
    try {
      handler()
    } catch (e) {
      this.thrown = { error: e }
      return 2
    }
    s[b + ST_NZCV / 4] = nzcvWord(p)
    if (regsOnly) return 0
    s[b + ST_RGSR / 4] = cpu.sys[2 * SLOT.RGSR_EL1]!
    const code = cpu.code
    // SCTLR_EL1.A or M changed (MSR): ST_STRICT_ALIGN is set again at the next entry.
    if (this.alignmentMode() !== this.strictAlign) return 1
    // A page's translations dropped (a store or IC IVAU into code, maybe the running
    // translation's own page, which need not be the run loop's fetch page after a chain).
    if (code.fetchLo === 1 || this.tlbStale || this.drops !== drops || this.addgKeyNow() !== this.addgKey || s[b + ST_STOP / 4] !== 0 || cpu.debug !== this.debugSeen) return 1
    // The handler may have changed what the wasm paths depend on (SPSel, SCTLR_EL1.DZE, the
    // interrupt lines), or written code another CPU holds (ISB in wasm then leaves: ST_CHAIN).
    s[b + ST_SYS_OK / 4] = sysFlags(this.cpu)
    if (!code.synced()) this.breakChain()
    return 0
  }

  /**
   * -1 when a misaligned data access must fault or be decided by the interpreter: SCTLR_EL1.A
   * set, or stage 1 off (every data access Device). Else 0: translations do misaligned accesses
   * that stay in their page (and, on a tag-checked page, in one granule) themselves.
   */
  private alignmentMode(): number {
    const sctlr = this.cpu.sys[2 * SLOT.SCTLR_EL1]!
    return (sctlr & SCTLR.A) !== 0 || (sctlr & 1) === 0 ? -1 : 0
  }

  /** GCR_EL1.Exclude, ATAen, the MTE level and RRND: what ST_ADDG and ST_IRG_FLAGS were made for. */
  private addgKeyNow(): number {
    const cpu = this.cpu
    const gcr = cpu.sys[2 * SLOT.GCR_EL1]!
    return (gcr & 0xffff) | (cpu.mte.ataEnabled(cpu.p[PS.EL]!) ? 1 << 16 : 0) | (cpu.mteLevel() >= 1 ? 1 << 17 : 0) | (gcr & (1 << 16)) << 2
  }

  /**
   * Runs a translation from the run loop: hands over the budget and NZCV, runs, takes back
   * the budget, NZCV and PC. Returns the exit code (EXIT_*).
   */
  enter(entry: JitEntry): number {
    // Hypervisor debugging switched (watchpoints send every access to the slow path): the
    // fast TLB was filled without knowing.
    if (this.cpu.debug !== this.debugSeen) {
      this.debugSeen = this.cpu.debug
      this.tlbStale = true
    }
    const strict = this.alignmentMode()
    if (strict !== this.strictAlign) {
      this.strictAlign = strict
      this.s32[(this.base + ST_STRICT_ALIGN) >> 2] = strict
      // Filled while strict, the fast TLB may hold Device pages.
      if (strict === 0) this.tlbStale = true
    }
    if (this.tlbStale) this.flushTlb()
    if (this.s32[(this.base + ST_TAGS_STORED) >> 2] !== 0 && this.summaries !== null) this.entryFrames.dropMadeUniform(this.s32, this.base, this.tlbFills, this.summaries)
    const cpu = this.cpu
    // ADDG/SUBG's tags follow GCR_EL1.Exclude, ATAen and the MTE level.
    const addgKey = this.addgKeyNow()
    if (addgKey !== this.addgKey) this.setAddgTable(addgKey)
    const p = cpu.p
    const s = this.s32
    const b = this.base >> 2
    s[b + ST_LEFT / 4] = cpu.left
    s[b + ST_RGSR / 4] = cpu.sys[2 * SLOT.RGSR_EL1]!
    // The PC is in the entered page (the run loop found the entry through it).
    s[b + ST_PAGE_VA / 4] = cpu.pcLo & 0xffff_f000
    s[b + ST_PAGE_VA / 4 + 1] = cpu.pcHi | 0
    s[b + ST_NZCV / 4] = nzcvWord(p)
    s[b + ST_SYS_OK / 4] = sysFlags(this.cpu)
    // The run loop has just checked PC's fetch translation: record the entry for chains to it.
    if (this.chainStale) {
      this.chainStale = false
      this.chainGen = (this.chainGen + 1) & 0x3fff_ffff || 1
      this.chainRegions.reset(cpu.sys[2 * SLOT.TCR_EL1]!, cpu.sys[2 * SLOT.TCR_EL1 + 1]!)
    }
    this.chainRegions.record(cpu.pcHi, cpu.pcLo)
    // The EL does not change inside a chain (exception entry and return leave translations).
    s[b + ST_CHAIN_GEN / 4] = (this.chainGen << 2) | p[PS.EL]!
    const h = (this.base + ST_HASH + ((cpu.pcLo >>> 2) & (HASH_ENTRIES - 1)) * HASH_ENTRY_BYTES) >> 2
    s[h + HASH_KEY / 4] = cpu.pcLo | 0
    s[h + HASH_KEY / 4 + 1] = cpu.pcHi | 0
    s[h + HASH_SLOT / 4] = entry.slot
    s[h + HASH_BLOCK / 4] = entry.block
    s[h + HASH_GEN / 4] = s[b + ST_CHAIN_GEN / 4]!
    // No chains for a CPU watching a kick word (vCPU threads: only its run loop checks it), or
    // when code was written by another CPU or the VMM since this CPU last looked (the run loop
    // sees that at its next page entry, which a chain skips).
    s[b + ST_CHAIN / 4] = cpu.kick.words === null && cpu.code.synced() ? 1 : 0
    const left0 = cpu.left
    const code = this.dispatch(entry.slot, entry.block)
    const hops = s[b + ST_HOPS / 4]!
    s[b + ST_HOPS / 4] = 0
    this.stats.chained += hops
    this.stats.entries += 1 + hops
    this.stats.exits[code as 0 | 1 | 2 | 3 | 4]++
    if (code === EXIT_THROWN) {
      // A system instruction's handler threw with the Cpu's state as the interpreter's: the
      // run loop handles it as it would from the interpreter.
      this.stats.retired += left0 - cpu.left - 1
      this.syncRgsr()
      const thrown = this.thrown!
      this.thrown = null
      throw thrown.error
    }
    this.stats.retired += left0 - s[b + ST_LEFT / 4]!
    cpu.left = s[b + ST_LEFT / 4]!
    setNzcvWord(p, s[b + ST_NZCV / 4]!)
    cpu.pcLo = s[b + ST_PC / 4]! >>> 0
    cpu.pcHi = s[b + ST_PC / 4 + 1]! >>> 0
    this.syncRgsr()
    if (code === EXIT_STOP) Atomics.store(s, b + ST_STOP / 4, 0)
    return code
  }
}

export { EXIT_BRANCH, EXIT_STOP }
