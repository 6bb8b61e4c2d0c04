// Decoded code of one CPU: instruction closures cached per 4 KiB physical page, the fetch
// translation of the page being executed, and the block tier (hot straight-line runs
// turned into one generated function each).
//
// Coherence with every writer: decoding from a frame marks it in the memory's per-frame
// flags (markCode), and any write to a marked frame -- another CPU's store that it reports,
// IC IVAU naming it, the VMM's or the host kernel's writes through the memory -- bumps the
// frame's code generation and the shared code write epoch (IC IALLUIS bumps the flush
// epoch). This CPU compares the epochs with what it last saw whenever it enters a page
// (which includes every context synchronisation: ISB, exception entry and return all drop
// the fetch page) and at the start of each run, and then drops each page whose frame
// generation moved. A store by this CPU into a frame it holds code from drops that code at
// once (the block it runs in ends there).

import { storeAsDoubles } from './field-shapes.js'
import { ACCESS_FETCH } from '@tagvm/mmu'
import { HCR, PAGE_OFFSET_MASK, PAGE_SIZE, TWO32 } from './constants.js'
import type { Cpu } from './cpu.js'
import { setFar, stage2InstructionAbort, takeVirtualInterrupt } from './exceptions.js'
import { ROLE_END, ROLE_STORE, blockRole, compile, type Handler } from './handlers.js'
import { HostFrame } from './host-frames.js'
import type { JitEntry } from './jit/jit.js'
import { PS } from './state.js'
import { ExceptionClass as EC } from './syndrome.js'

const INSTRUCTIONS_PER_PAGE = PAGE_SIZE / 4
/** Entry executions before a block is built there. */
export const HOT = 8
/**
 * The block tier counts an entry's executions within windows of this many retired
 * instructions: a block is built only for code that runs HOT times in one window (a loop),
 * not for code that trickles (an idle kernel's tick and scheduler paths, run a few times a
 * second). A block is a function of its own, and V8 runs it in its bytecode interpreter
 * until it has been called some thousands of times; before that it is slower than the
 * optimised single-instruction dispatcher, and its compile costs tens of microseconds.
 */
export const HOT_WINDOW = 16_384
/** blockLen of an entry where no block can be built (a lone instruction): not tried again. */
const NO_BLOCK = 1
/** Longest block, in instructions. */
const MAX_BLOCK = 48

/** Decoded code of one 4 KiB physical page. */
export class CodePage {
  /** The frame's code generation when this page was decoded. */
  generation = 0
  readonly handlers: (Handler | undefined)[] = new Array<Handler | undefined>(INSTRUCTIONS_PER_PAGE).fill(undefined)
  /** Block functions by entry index, and how many instructions each runs. */
  readonly blocks: (Handler | undefined)[] = new Array<Handler | undefined>(INSTRUCTIONS_PER_PAGE).fill(undefined)
  readonly blockLen = new Uint8Array(INSTRUCTIONS_PER_PAGE)
  /** Executions of each entry point in single-step dispatch (saturating). */
  readonly hits = new Uint8Array(INSTRUCTIONS_PER_PAGE)
  /** Compiled-tier entry points by instruction index (null until the page has one). */
  jit: (JitEntry | undefined)[] | null = null
  /** The HOT_WINDOW in which `hits` were counted (the block tier's, see CodeCache.enterPage). */
  hitsWindow = -1

  constructor(readonly frame: HostFrame) {}
}

/** A page no code runs from, so the first fetch always enters a real one. */
const NO_PAGE = new CodePage(new HostFrame(new DataView(new ArrayBuffer(0)), new Uint8Array(0), 0, -PAGE_SIZE))

export class CodeCache {
  private readonly pages = new Map<number, CodePage>()
  /** The memory's [code write epoch, code flush epoch] (shared by every CPU). */
  private readonly epochs: Int32Array
  /** The epochs when this CPU last brought its pages up to date. */
  private seenWrites: number
  private seenFlushes: number
  /** The page being executed. */
  fetchPage: CodePage = NO_PAGE
  /** VA of the page being executed (low word, with bits 1:0 clear, and high word); 1 = none, refetch. */
  fetchLo = 1
  fetchHi = 0
  /** Entries into an instruction (single-step dispatch) before it becomes a block or a translation. */
  readonly hot: number

  constructor(
    private readonly cpu: Cpu,
    readonly useBlocks: boolean,
  ) {
    this.hot = cpu.jit?.threshold ?? HOT
    this.epochs = cpu.memory.codeEpochs
    this.seenWrites = this.epochs[0]!
    this.seenFlushes = this.epochs[1]!
    storeAsDoubles(this, ['fetchHi'])
  }

  /**
   * Drops decoded code that some writer has invalidated since this CPU last looked: all of
   * it after an IC IALLUIS, else the pages whose frame generation moved. Costs two loads
   * and two compares when nothing changed.
   */
  sync(): void {
    const epochs = this.epochs
    if (epochs[0] === this.seenWrites && epochs[1] === this.seenFlushes) return
    // Read the epochs before looking at the frames: a write that lands during the scan is
    // seen by the next sync.
    const flushes = epochs[1]!
    this.seenWrites = epochs[0]!
    if (flushes !== this.seenFlushes) {
      this.seenFlushes = flushes
      this.invalidateAll()
      return
    }
    const memory = this.cpu.memory
    for (const page of [...this.pages.values()]) {
      if (memory.codeGeneration(page.frame.pfn) !== page.generation) this.invalidatePage(page.frame.pa)
    }
  }

  /** Whether no writer has invalidated code since this CPU last looked (see sync). */
  synced(): boolean {
    return this.epochs[0] === this.seenWrites && this.epochs[1] === this.seenFlushes
  }

  /** Drops the fetch page so the next instruction re-translates its PC. */
  refetch(): void {
    this.fetchLo = 1
    // A chain of translations (jit) must come back to the run loop too.
    this.cpu.jit?.breakChain()
  }

  /**
   * Makes the page of PC the fetch page: takes a pending virtual interrupt, checks PSTATE.IL
   * and PC alignment, translates PC for execution (the EL1 abort or the EL2 exit on a
   * fault) and finds or makes the page's decoded code.
   */
  enterPage(): void {
    const cpu = this.cpu
    const p = cpu.p
    // Virtual IRQ/FIQ lines (HCR_EL2.VI/VF, routed by IMO/FMO, and the interrupt controller's
    // cpu.irqLines) are taken at an instruction boundary here. Every path that can unmask or
    // raise one (MSR DAIF*, ERET, exception entry, setHcrEl2, setInterruptLines) drops the
    // fetch page, so the check costs the hot loop nothing.
    if ((cpu.hcrLo & (HCR.VI | HCR.VF)) !== 0 || cpu.irqLines !== 0) takeVirtualInterrupt(cpu)
    // An exception taken on fetch counts as a step, so a guest stuck in a fault loop still
    // spends its budget.
    if (p[PS.IL] !== 0) {
      cpu.left--
      cpu.exception(EC.ILLEGAL_STATE, 0, cpu.pcLo, cpu.pcHi)
    }
    const lo = cpu.pcLo
    const hi = cpu.pcHi
    if ((lo & 3) !== 0) {
      cpu.left--
      setFar(cpu, hi, lo)
      cpu.exception(EC.PC_ALIGN, 0, lo, hi)
    }
    this.sync()
    const data = cpu.data
    const mmu = data.mmu
    let i = mmu.lookupFetch(hi, lo)
    if (i < 0 || (mmu.tlb.flags[i]! & data.permX) === 0) {
      const tr = data.tr
      if (!mmu.translate(hi, lo, ACCESS_FETCH, p[PS.EL] as 0 | 1, false, tr)) {
        cpu.left--
        if (tr.stage === 2) stage2InstructionAbort(cpu, tr, hi, lo)
        setFar(cpu, hi, lo)
        cpu.exception(p[PS.EL] === 0 ? EC.IABT_LOWER : EC.IABT_CURRENT, tr.fsc, lo, hi)
      }
      i = tr.tlbIndex
    }
    const paPage = mmu.tlb.paPage[i]!
    let s = mmu.tlb.hostSlot[i]!
    if (s < 0) s = mmu.tlb.hostSlot[i] = data.hostSlot(paPage, hi, lo, ACCESS_FETCH)
    let page = this.pages.get(paPage)
    if (page === undefined) {
      const frame = data.frameList[s]!
      page = new CodePage(frame)
      page.generation = cpu.memory.markCode(frame.pfn)
      this.pages.set(paPage, page)
      frame.code = 1
      // The compiled tier's fast TLB may hold a write key for the frame: it must go.
      cpu.jit?.invalidateTlb()
    }
    // The block tier counts hits per window of instructions: a page entered in a later
    // window starts its counts again (the compiled tier keeps its own counting).
    if (cpu.jit === null) {
      const window = Math.floor(cpu.retired / HOT_WINDOW)
      if (page.hitsWindow !== window) {
        if (page.hitsWindow !== -1) page.hits.fill(0)
        page.hitsWindow = window
      }
    }
    this.fetchPage = page
    this.fetchLo = lo & 0xfffff000
    this.fetchHi = hi
  }

  /** Decodes instruction i of the fetch page. */
  compileAt(i: number): Handler {
    const page = this.fetchPage
    // One 32-bit element: a fetch never sees another vCPU thread's code patch half done.
    let h = compile(this.cpu, page.frame.u32[(page.frame.base >>> 2) + i]!)
    if (this.cpu.debug !== null) h = this.cpu.debug.handlerAt(i * 4, h)
    page.handlers[i] = h
    return h
  }

  /** Instruction i of the fetch page became hot: translate its region (jit), else build a block. */
  hotEntry(page: CodePage, i: number): void {
    const jit = this.cpu.jit
    if (jit !== null && (page.jit === null || page.jit[i] === undefined) && jit.translate(page, i)) return
    if (this.useBlocks && page.blockLen[i] !== NO_BLOCK) this.buildBlock(page, i)
  }

  /**
   * Builds the block that starts at instruction i of the fetch page: straight-line
   * instructions up to the first one that may change PC or the translation regime, within
   * the page. The generated function calls each instruction's closure from its own call
   * site, so the JIT sees one target per site and can inline it.
   */
  buildBlock(page: CodePage, i: number): void {
    const handlers: Handler[] = []
    const checks: boolean[] = []
    const frame = page.frame
    let j = i
    while (j < INSTRUCTIONS_PER_PAGE && handlers.length < MAX_BLOCK) {
      const word = frame.u32[(frame.base >>> 2) + j]!
      let h = page.handlers[j]
      if (h === undefined) {
        h = compile(this.cpu, word)
        if (this.cpu.debug !== null) h = this.cpu.debug.handlerAt(j * 4, h)
        page.handlers[j] = h
      }
      const role = blockRole(word)
      handlers.push(h)
      checks.push(role === ROLE_STORE)
      j++
      if (role === ROLE_END) break
    }
    if (handlers.length < 2) {
      page.blockLen[i] = NO_BLOCK
      return
    }
    const n = handlers.length
    const names = handlers.map((_, k) => `h${k}`)
    let body = 'const pc0 = cpu.pcLo\n'
    for (let k = 0; k < n; k++) {
      if (k > 0) body += `cpu.pcLo = pc0 + ${4 * k}\n`
      if (k === n - 1) {
        body += `if (h${k}() === 0) { const next = pc0 + ${4 * n}; if (next >= ${TWO32}) { cpu.pcLo = 0; cpu.pcHi = (cpu.pcHi + 1) >>> 0 } else cpu.pcLo = next }\n`
      } else {
        body += `h${k}()\n`
        // A store that hit this page's code (or anything that drops the fetch page) ends
        // the block so the next instruction is fetched afresh.
        if (checks[k]) body += `if (code.fetchLo === 1) { cpu.pcLo = pc0 + ${4 * (k + 1)}; cpu.left += ${n - k - 1}; return 0 }\n`
      }
    }
    body += 'return 0'
    const factory = new Function('cpu', 'code', ...names, `return function block() {\n${body}\n}`) as (
      cpu: Cpu, code: CodeCache, ...h: Handler[]
    ) => Handler
    page.blocks[i] = factory(this.cpu, this, ...handlers)
    page.blockLen[i] = n
  }

  /**
   * A store by this CPU hit a frame it holds code from: drop that code now, and tell every
   * other CPU through the memory (more than the architecture asks without IC IVAU, and
   * cheap: it happens once per decode of the page).
   */
  frameWritten(frame: HostFrame): void {
    this.invalidatePage(frame.pa)
    this.invalidateFrameEverywhere(frame.pfn)
  }

  /** IC IVAU (or a store): every CPU's decoded code of the frame goes. */
  invalidateFrameEverywhere(pfn: number): void {
    this.invalidatePage(pfn * PAGE_SIZE)
    const before = this.cpu.memory.invalidateCodeFrame(pfn)
    // Only this CPU moved the epoch: nothing else to look at.
    if (before === this.seenWrites) this.seenWrites = before + 1
  }

  /** IC IALLUIS: every CPU drops all its decoded code. */
  invalidateAllEverywhere(): void {
    this.invalidateAll()
    const before = this.epochs[1]!
    this.cpu.memory.invalidateAllCode()
    if (before === this.seenFlushes) this.seenFlushes = before + 1
  }

  /** Drops decoded instructions of the 4 KiB physical page at `paPage`. */
  invalidatePage(paPage: number): void {
    const page = this.pages.get(paPage)
    if (page === undefined) return
    page.handlers.fill(undefined)
    page.blocks.fill(undefined)
    page.blockLen.fill(0)
    page.hits.fill(0)
    if (page.jit !== null) this.cpu.jit?.dropPage(page.jit)
    page.jit = null
    this.pages.delete(paPage)
    page.frame.code = 0
    if (page === this.fetchPage) this.refetch()
  }

  /** Drops decoded instructions for physical range [pa, pa+length). */
  invalidateRange(pa: number, length: number): void {
    if (!(pa >= 0 && length >= 0)) throw new RangeError(`bad range ${pa}+${length}`)
    for (let page = Math.floor(pa / PAGE_SIZE) * PAGE_SIZE; page < pa + length; page += PAGE_SIZE) this.invalidatePage(page)
  }

  /** Drops every decoded page. */
  invalidateAll(): void {
    for (const paPage of [...this.pages.keys()]) this.invalidatePage(paPage)
  }

  /** The decoded page at a physical address (tests and diagnostics). */
  pageAt(paPage: number): CodePage | undefined {
    return this.pages.get(paPage & ~PAGE_OFFSET_MASK)
  }
}
