// One virtual A64 CPU at EL0/EL1 under a hypervisor. The hot loop fetches through a
// per-physical-page cache of compiled instruction closures, data accesses go through the
// MMU's TLB straight to host frame views, and everything that belongs to EL2 ends `run()`
// with a reusable exit record. Guest exceptions unwind out of an instruction by throwing
// the TRAP sentinel after the architectural state change has been made.

import {
  ACCESS_FETCH, ACCESS_READ, ACCESS_WRITE, Mmu, TLB_DEVICE, TLB_TAGGED, TranslationResult, permissionBit, type AccessKind,
  type DescriptorMemory, type Tlb,
} from '@tagvm/mmu'
import type { FrameTags } from '@tagvm/tag-memory'
import { ExitRecords, type CpuExit } from './exits.js'
import { DC_GVA, DC_GZVA, DFSC_TAG_CHECK, MteUnit, tagMaintenanceTrap } from './mte.js'
import { ROLE_END, ROLE_STORE, blockRole, compile, type Handler } from './exec.js'
import { PS, PS_SIZE, REG_SLOTS, REG_SP, packSpsr } from './state.js'
import { DEFAULT_ID_REGISTERS, SLOT, SLOT_BY_KEY, STORED_SYSREGS, SysReg, sysregName, type StoredSysRegName } from './sysregs.js'
import { ExceptionClass as EC, syndrome } from './syndrome.js'

/** The host frame view a TLB entry leads to (PhysicalMemory.frameData's shape). */
export interface FrameData {
  readonly bytes: Uint8Array
  readonly view: DataView
  readonly offset: number
}

/** What the CPU needs from host physical memory; `PhysicalMemory` satisfies it. */
export interface CpuMemory extends DescriptorMemory {
  frameData(pfn: number): FrameData
  /** Ask for one notification of the next write to this frame made through the memory API. */
  watchFrame?(pfn: number): void
  onWatchedFrameWrite?(listener: (pfn: number) => void): unknown
  /** The frame's packed allocation tags (MTE); without it every tag reads 0 and writes are dropped. */
  frameTags?(pfn: number, allocate: boolean): FrameTags | null
}

export interface CpuOptions {
  memory: CpuMemory
  /** The vCPU's MMU; one is made over `memory` if absent. */
  mmu?: Mmu
  /**
   * Run hot straight-line code as generated block functions (default true). Off, every
   * instruction is dispatched on its own; both give the same architectural results.
   */
  blocks?: boolean
}

/** Decoded code of one 4 KiB physical page. */
interface CodePage {
  readonly handlers: (Handler | undefined)[]
  /** Block functions by entry index, and how many instructions each runs. */
  readonly blocks: (Handler | undefined)[]
  readonly blockLen: Uint8Array
  /** Executions of each entry point in single-step dispatch (saturating). */
  readonly hits: Uint8Array
}

function newCodePage(): CodePage {
  return {
    handlers: new Array<Handler | undefined>(PAGE / 4).fill(undefined),
    blocks: new Array<Handler | undefined>(PAGE / 4).fill(undefined),
    blockLen: new Uint8Array(PAGE / 4),
    hits: new Uint8Array(PAGE / 4),
  }
}

/** Entry executions before a block is built there. */
const HOT = 8
const MAX_BLOCK = 48

/** Thrown (never escapes `run`) to unwind an instruction that took an exception or exited. */
class Trap {}
export const TRAP = new Trap()

// Access info bits (one constant per instruction, computed when it is compiled). Bits
// 24:14 are the ESR ISS fields of a single-register access (ISV, SAS, SSE, SRT, SF, AR).
export const ACC_ISV = 1 << 24
export const ACC_UNPRIV = 1 << 25
/** Must be naturally aligned whatever SCTLR.A says (exclusives, atomics, acquire/release). */
export const ACC_ALIGNED = 1 << 26
/** Not tag-checked (MTE: SP-relative immediate, literal, STGP data...). */
export const ACC_UNCHECKED = 1 << 27
/** Cache maintenance / DC ZVA: report CM (maintenance only) and WnR = 1. */
export const ACC_CM = 1 << 28

/** ISS bits of a single-register access for an emulatable MMIO syndrome. */
export function accessIss(size: number, srt: number, signExtend: boolean, sixtyFour: boolean, acqRel: boolean): number {
  const sas = size === 1 ? 0 : size === 2 ? 1 : size === 4 ? 2 : 3
  return ACC_ISV | (sas << 22) | (signExtend ? 1 << 21 : 0) | (srt << 16) | (sixtyFour ? 1 << 15 : 0) | (acqRel ? 1 << 14 : 0)
}

const PAGE = 4096
const TWO32 = 4294967296
/** Placeholder tag view of a host slot whose tags are not known yet (tagBase -1). */
const NO_TAGS = new Uint8Array(0)

/** HCR_EL2 bits the CPU acts on (low word unless noted). */
const HCR = {
  FMO: 1 << 3,
  IMO: 1 << 4,
  VF: 1 << 6,
  VI: 1 << 7,
  TWI: 1 << 13,
  TWE: 1 << 14,
  TID1: 1 << 16,
  TID2: 1 << 17,
  TID3: 1 << 18,
  TSC: 1 << 19,
  TACR: 1 << 21,
  TSW: 1 << 22,
  TPC: 1 << 23,
  TPU: 1 << 24,
  TTLB: 1 << 25,
  TVM: 1 << 26,
  TDZ: 1 << 28,
  HCD: 1 << 29,
  TRVM: 1 << 30,
  /** High word: ATA is bit 56, TID5 bit 58. */
  HI_ATA: 1 << 24,
  HI_TID5: 1 << 26,
}

export class Cpu {
  readonly memory: CpuMemory
  readonly mmu: Mmu

  // ---- architectural state (typed arrays) ----
  /** General registers and SP as lo/hi pairs; see state.ts for slots 31..33. */
  readonly x = new Int32Array(REG_SLOTS * 2)
  /** PSTATE fields, indexed by PS. */
  readonly p = new Int32Array(PS_SIZE)
  /** Stored system registers, lo/hi pairs indexed by SLOT. */
  readonly sys = new Int32Array(STORED_SYSREGS.length * 2)
  /** Banked stack pointers: SP_EL0 (0,1) and SP_EL1 (2,3); the current one lives in x. */
  readonly spBank = new Int32Array(4)
  /** PC halves (uint32 numbers). */
  pcLo = 0
  pcHi = 0

  // EL2 inputs.
  hcrLo = 0
  hcrHi = 0
  mdcr = 0
  cptr = 0
  cntvoff = 0

  /** Instructions retired before the current run. */
  private instret = 0
  /** Budget left in the current run (read by counter registers mid-run). */
  left = 0
  private runBudget = 0

  // ---- memory fast path ----
  /** @internal */ readonly tlb: Tlb
  private readonly tlbFlags: Int32Array
  private readonly tlbSlot: Int32Array
  private readonly tlbPaPage: Float64Array
  private readonly tr = new TranslationResult()
  /** @internal MTE state and tag checks. */
  readonly mte: MteUnit = new MteUnit(this)
  /** TLB_TAGGED while accesses at the current EL may be tag-checked, else 0 (MTE fast-path filter). */
  private tagCheckMask = 0
  /** @internal TLB entry of the last translateData. */
  lastTlbIndex = 0
  /** @internal MTE: each host slot's packed allocation tags and their offset (-1: not known yet). */
  readonly tagBytes: Uint8Array[] = []
  readonly tagBase: number[] = []
  /** Permission bits for ordinary data reads/writes and fetches at the current EL/PAN. */
  private permR = 0
  private permW = 0
  private permX = 0
  /** Host slots of the first and last page of the last probeAccess. */
  private probeSlot1 = 0
  private probeSlot2 = 0
  private readonly slotView: DataView[] = []
  private readonly slotBytes: Uint8Array[] = []
  private readonly slotBase: number[] = []
  /** @internal PA page of each host slot. */
  readonly slotPaPage: number[] = []
  private slotCode = new Uint8Array(256)
  private readonly slotByPage = new Map<number, number>()
  /** Second half of a 64-bit load. */
  rdHi = 0
  private storeLo = 0
  private storeHi = 0

  // ---- decoded-code cache ----
  private readonly codeByPage = new Map<number, CodePage>()
  private fetchPage: CodePage = newCodePage()
  private fetchCode: (Handler | undefined)[] = this.fetchPage.handlers
  private readonly useBlocks: boolean
  /** While a block runs: the PC just past its last instruction (0 otherwise). */
  blockEnd = 0
  private fetchView: DataView = new DataView(new ArrayBuffer(8))
  private fetchBase = 0
  /** Page of the current fetch (low word, with bits 1:0 clear); 1 = none, refetch. */
  fetchLo = 1
  private fetchHi = 0

  // ---- exclusive monitor ----
  private exclusiveValid = false
  private exclusivePa = 0
  private exclusiveSize = 0

  // ---- exits ----
  readonly exits = new ExitRecords()
  private pendingExit: CpuExit | null = null
  /** A data-abort exit waiting for completeMmio(). */
  private mmioPending = false
  private mmioIsWrite = false
  private mmioSrt = 0
  private mmioSize = 0
  private mmioSignExtend = false
  private mmioSixtyFour = false

  constructor(options: CpuOptions) {
    this.memory = options.memory
    this.mmu = options.mmu ?? new Mmu(options.memory)
    this.useBlocks = options.blocks ?? true
    this.tlb = this.mmu.tlb
    this.tlbFlags = this.tlb.flags
    this.tlbSlot = this.tlb.hostSlot
    this.tlbPaPage = this.tlb.paPage
    this.memory.onWatchedFrameWrite?.((pfn) => this.invalidateCodePage(pfn * PAGE))
    this.reset()
  }

  // =====================================================================================
  // Running

  /**
   * Runs up to `budget` instructions. Returns the budget exit when they are spent, or the
   * first exit to EL2. Guest exceptions to EL1 are taken inside and do not end the run.
   */
  run(budget: number): CpuExit {
    if (!Number.isInteger(budget) || budget < 0) throw new RangeError(`budget must be a non-negative integer, got ${budget}`)
    // Running again without completeMmio() retries the access (the hypervisor mapped the
    // page instead of emulating it).
    this.mmioPending = false
    this.runBudget = budget
    this.left = budget
    const exit = this.loop()
    this.instret += budget - this.left
    this.runBudget = 0
    this.left = 0
    return exit
  }

  /** Runs one instruction (or takes one exception). */
  step(): CpuExit {
    return this.run(1)
  }

  private loop(): CpuExit {
    for (;;) {
      try {
        while (this.left > 0) {
          let pcLo = this.pcLo
          if ((pcLo & 0xfffff003) !== this.fetchLo || this.pcHi !== this.fetchHi) {
            this.enterPage()
            pcLo = this.pcLo // an interrupt taken there moves PC
          }
          const i = (pcLo & 0xfff) >>> 2
          const page = this.fetchPage
          const block = page.blocks[i]
          if (block !== undefined) {
            const n = page.blockLen[i]!
            if (this.left >= n) {
              this.left -= n
              this.blockEnd = pcLo + 4 * n
              block()
              this.blockEnd = 0
              continue
            }
          }
          let h = page.handlers[i]
          if (h === undefined) h = this.compileAt(i)
          this.left--
          if (h() === 0) {
            const next = (pcLo + 4) >>> 0
            this.pcLo = next
            if (next === 0) this.pcHi = (this.pcHi + 1) >>> 0
          }
          if (this.useBlocks && page.hits[i]! < 255 && ++page.hits[i]! === HOT) this.buildBlock(page, i)
        }
        return this.exits.budget
      } catch (e) {
        this.blockEnd = 0
        if (e !== TRAP) throw e
        const exit = this.pendingExit
        if (exit !== null) {
          this.pendingExit = null
          return exit
        }
      }
    }
  }

  private compileAt(i: number): Handler {
    const word = this.fetchView.getUint32(this.fetchBase + i * 4, true)
    const h = compile(this, word)
    this.fetchCode[i] = h
    return h
  }

  /**
   * Builds the block that starts at instruction i of the current fetch page: straight-line
   * instructions up to the first one that may change PC or the translation regime, within
   * the page. The generated function calls each instruction's closure from its own call
   * site, so the JIT sees one target per site and can inline it.
   */
  private buildBlock(page: CodePage, i: number): void {
    const handlers: Handler[] = []
    const checks: boolean[] = []
    let j = i
    while (j < PAGE / 4 && handlers.length < MAX_BLOCK) {
      const word = this.fetchView.getUint32(this.fetchBase + j * 4, true)
      let h = page.handlers[j]
      if (h === undefined) h = page.handlers[j] = compile(this, word)
      const role = blockRole(word)
      handlers.push(h)
      checks.push(role === ROLE_STORE)
      j++
      if (role === ROLE_END) break
    }
    if (handlers.length < 2) return
    const n = handlers.length
    const names = handlers.map((_, k) => `h${k}`)
    let body = 'const pc0 = cpu.pcLo\n'
    for (let k = 0; k < n; k++) {
      if (k > 0) body += `cpu.pcLo = pc0 + ${4 * k}\n`
      if (k === n - 1) {
        body += `if (h${k}() === 0) { const next = pc0 + ${4 * n}; if (next >= 4294967296) { cpu.pcLo = 0; cpu.pcHi = (cpu.pcHi + 1) >>> 0 } else cpu.pcLo = next }\n`
      } else {
        body += `h${k}()\n`
        // A store that hit this page's code (or anything that drops the fetch page) ends
        // the block so the next instruction is fetched afresh.
        if (checks[k]) body += `if (cpu.fetchLo === 1) { cpu.pcLo = pc0 + ${4 * (k + 1)}; cpu.left += ${n - k - 1}; return 0 }\n`
      }
    }
    body += 'return 0'
    const factory = new Function('cpu', ...names, `return function block() {\n${body}\n}`) as (cpu: Cpu, ...h: Handler[]) => Handler
    page.blocks[i] = factory(this, ...handlers)
    page.blockLen[i] = n
  }

  /** Instructions retired so far (including the current run). */
  get retired(): number {
    return this.instret + (this.runBudget - this.left)
  }

  // =====================================================================================
  // Fetch

  private enterPage(): void {
    const p = this.p
    // Virtual IRQ/FIQ lines (HCR_EL2.VI/VF, routed by IMO/FMO) are taken at an instruction
    // boundary here. Every path that can unmask or raise one (MSR DAIF*, ERET, exception
    // entry, setHcrEl2) drops the fetch page, so the check costs the hot loop nothing.
    if ((this.hcrLo & (HCR.VI | HCR.VF)) !== 0) this.takeVirtualInterrupt()
    // An exception taken on fetch counts as a step, so a guest stuck in a fault loop still
    // spends its budget.
    if (p[PS.IL] !== 0) {
      this.left--
      this.exception(EC.ILLEGAL_STATE, 0, this.pcLo, this.pcHi)
    }
    const lo = this.pcLo
    const hi = this.pcHi
    if ((lo & 3) !== 0) {
      this.left--
      this.setFar(hi, lo)
      this.exception(EC.PC_ALIGN, 0, lo, hi)
    }
    let i = this.mmu.lookupFetch(hi, lo)
    if (i < 0 || (this.tlbFlags[i]! & this.permX) === 0) {
      const el = p[PS.EL] as 0 | 1
      if (!this.mmu.translate(hi, lo, ACCESS_FETCH, el, false, this.tr)) {
        this.left--
        this.fetchFault(hi, lo)
      }
      i = this.tr.tlbIndex
    }
    const paPage = this.tlbPaPage[i]!
    let s = this.tlbSlot[i]!
    if (s < 0) s = this.tlbSlot[i] = this.slotFor(paPage, hi, lo, ACCESS_FETCH)
    let page = this.codeByPage.get(paPage)
    if (page === undefined) {
      page = newCodePage()
      this.codeByPage.set(paPage, page)
      this.slotCode[s] = 1
      this.memory.watchFrame?.(paPage / PAGE)
    }
    this.fetchPage = page
    this.fetchCode = page.handlers
    this.fetchView = this.slotView[s]!
    this.fetchBase = this.slotBase[s]!
    this.fetchLo = lo & 0xfffff000
    this.fetchHi = hi
  }

  private fetchFault(hi: number, lo: number): never {
    const tr = this.tr
    if (tr.stage === 2) {
      const x = this.exits.instructionAbort
      x.esr = syndrome(EC.IABT_LOWER, true, tr.iss & ~(1 << 6))
      x.farHi = hi
      x.farLo = lo
      x.hpfar = tr.hpfar
      x.ipa = tr.faultIpa
      x.s1ptw = tr.s1ptw
      return this.exitTo(x)
    }
    this.setFar(hi, lo)
    return this.exception(this.p[PS.EL] === 0 ? EC.IABT_LOWER : EC.IABT_CURRENT, tr.fsc, lo, hi)
  }

  /** Drops the current fetch page so the next instruction re-translates its PC. */
  refetch(): void {
    this.fetchLo = 1
  }

  /** Drops decoded instructions of the 4 KiB physical page at `paPage`. */
  invalidateCodePage(paPage: number): void {
    const page = this.codeByPage.get(paPage)
    if (page === undefined) return
    page.handlers.fill(undefined)
    page.blocks.fill(undefined)
    page.blockLen.fill(0)
    page.hits.fill(0)
    this.codeByPage.delete(paPage)
    const s = this.slotByPage.get(paPage)
    if (s !== undefined) this.slotCode[s] = 0
    if (page === this.fetchPage) this.fetchLo = 1
  }

  /** Drops decoded instructions for physical range [pa, pa+length) (e.g. after loading an image). */
  invalidateCode(pa: number, length: number): void {
    if (!(pa >= 0 && length >= 0)) throw new RangeError(`bad range ${pa}+${length}`)
    for (let page = Math.floor(pa / PAGE) * PAGE; page < pa + length; page += PAGE) this.invalidateCodePage(page)
  }

  private slotFor(paPage: number, hi: number, lo: number, access: AccessKind): number {
    let s = this.slotByPage.get(paPage)
    if (s !== undefined) return s
    let frame: FrameData
    try {
      frame = this.memory.frameData(paPage / PAGE)
    } catch {
      // Stage 2 led outside host memory: a synchronous external abort (DFSC/IFSC 0x10).
      this.setFar(hi, lo)
      const cur = this.p[PS.EL] === 1
      if (access === ACCESS_FETCH) {
        this.left--
        return this.exception(cur ? EC.IABT_CURRENT : EC.IABT_LOWER, 0x10, lo, hi)
      }
      return this.exception(cur ? EC.DABT_CURRENT : EC.DABT_LOWER, 0x10 | (access === ACCESS_WRITE ? 1 << 6 : 0), this.pcLo, this.pcHi)
    }
    s = this.slotView.length
    this.slotView.push(frame.view)
    this.slotBytes.push(frame.bytes)
    this.slotBase.push(frame.offset)
    this.slotPaPage.push(paPage)
    this.tagBytes.push(NO_TAGS)
    this.tagBase.push(-1)
    if (s >= this.slotCode.length) {
      const grown = new Uint8Array(this.slotCode.length * 2)
      grown.set(this.slotCode)
      this.slotCode = grown
    }
    this.slotByPage.set(paPage, s)
    return s
  }

  // =====================================================================================
  // Data access. Fast path: TLB hit with permission, naturally aligned, inside one page.
  // MTE (issue 7) adds `if ((flags & TLB_TAGGED) !== 0 && this.tagChecks)` at the marked
  // spots; untagged pages and unchecked accesses never reach it.

  rd8(hi: number, lo: number, info: number): number {
    if ((info & ACC_UNPRIV) === 0) {
      const i = this.mmu.lookupData(hi, lo)
      if (i >= 0 && (this.tlbFlags[i]! & this.permR) !== 0) {
        const s = this.tlbSlot[i]!
        if ((this.tlbFlags[i]! & this.tagCheckMask) !== 0) this.tagCheckFast(hi, lo, 1, info, false, s)
        if (s >= 0) return this.slotBytes[s]![this.slotBase[s]! + (lo & 0xfff)]!
      }
    }
    return this.readSlow(hi, lo, 1, info)
  }

  rd16(hi: number, lo: number, info: number): number {
    if ((lo & 1) === 0 && (info & ACC_UNPRIV) === 0) {
      const i = this.mmu.lookupData(hi, lo)
      if (i >= 0 && (this.tlbFlags[i]! & this.permR) !== 0) {
        const s = this.tlbSlot[i]!
        if ((this.tlbFlags[i]! & this.tagCheckMask) !== 0) this.tagCheckFast(hi, lo, 2, info, false, s)
        if (s >= 0) return this.slotView[s]!.getUint16(this.slotBase[s]! + (lo & 0xfff), true)
      }
    }
    return this.readSlow(hi, lo, 2, info)
  }

  rd32(hi: number, lo: number, info: number): number {
    if ((lo & 3) === 0 && (info & ACC_UNPRIV) === 0) {
      const i = this.mmu.lookupData(hi, lo)
      if (i >= 0 && (this.tlbFlags[i]! & this.permR) !== 0) {
        const s = this.tlbSlot[i]!
        if ((this.tlbFlags[i]! & this.tagCheckMask) !== 0) this.tagCheckFast(hi, lo, 4, info, false, s)
        if (s >= 0) return this.slotView[s]!.getUint32(this.slotBase[s]! + (lo & 0xfff), true)
      }
    }
    return this.readSlow(hi, lo, 4, info)
  }

  /** 64-bit load: returns the low half, the high half is left in `rdHi`. */
  rd64(hi: number, lo: number, info: number): number {
    if ((lo & 7) === 0 && (info & ACC_UNPRIV) === 0) {
      const i = this.mmu.lookupData(hi, lo)
      if (i >= 0 && (this.tlbFlags[i]! & this.permR) !== 0) {
        const s = this.tlbSlot[i]!
        if ((this.tlbFlags[i]! & this.tagCheckMask) !== 0) this.tagCheckFast(hi, lo, 8, info, false, s)
        if (s >= 0) {
          const v = this.slotView[s]!
          const o = this.slotBase[s]! + (lo & 0xfff)
          this.rdHi = v.getUint32(o + 4, true)
          return v.getUint32(o, true)
        }
      }
    }
    return this.readSlow(hi, lo, 8, info)
  }

  wr8(hi: number, lo: number, value: number, info: number): void {
    if ((info & ACC_UNPRIV) === 0) {
      const i = this.mmu.lookupData(hi, lo)
      if (i >= 0 && (this.tlbFlags[i]! & this.permW) !== 0) {
        const s = this.tlbSlot[i]!
        if ((this.tlbFlags[i]! & this.tagCheckMask) !== 0) this.tagCheckFast(hi, lo, 1, info, true, s)
        if (s >= 0) {
          this.slotBytes[s]![this.slotBase[s]! + (lo & 0xfff)] = value
          if (this.slotCode[s] !== 0) this.invalidateCodePage(this.slotPaPage[s]!)
          return
        }
      }
    }
    this.storeLo = value & 0xff
    this.storeHi = 0
    this.writeSlow(hi, lo, 1, info)
  }

  wr16(hi: number, lo: number, value: number, info: number): void {
    if ((lo & 1) === 0 && (info & ACC_UNPRIV) === 0) {
      const i = this.mmu.lookupData(hi, lo)
      if (i >= 0 && (this.tlbFlags[i]! & this.permW) !== 0) {
        const s = this.tlbSlot[i]!
        if ((this.tlbFlags[i]! & this.tagCheckMask) !== 0) this.tagCheckFast(hi, lo, 2, info, true, s)
        if (s >= 0) {
          this.slotView[s]!.setUint16(this.slotBase[s]! + (lo & 0xfff), value, true)
          if (this.slotCode[s] !== 0) this.invalidateCodePage(this.slotPaPage[s]!)
          return
        }
      }
    }
    this.storeLo = value & 0xffff
    this.storeHi = 0
    this.writeSlow(hi, lo, 2, info)
  }

  wr32(hi: number, lo: number, value: number, info: number): void {
    if ((lo & 3) === 0 && (info & ACC_UNPRIV) === 0) {
      const i = this.mmu.lookupData(hi, lo)
      if (i >= 0 && (this.tlbFlags[i]! & this.permW) !== 0) {
        const s = this.tlbSlot[i]!
        if ((this.tlbFlags[i]! & this.tagCheckMask) !== 0) this.tagCheckFast(hi, lo, 4, info, true, s)
        if (s >= 0) {
          this.slotView[s]!.setUint32(this.slotBase[s]! + (lo & 0xfff), value, true)
          if (this.slotCode[s] !== 0) this.invalidateCodePage(this.slotPaPage[s]!)
          return
        }
      }
    }
    this.storeLo = value >>> 0
    this.storeHi = 0
    this.writeSlow(hi, lo, 4, info)
  }

  wr64(hi: number, lo: number, vLo: number, vHi: number, info: number): void {
    if ((lo & 7) === 0 && (info & ACC_UNPRIV) === 0) {
      const i = this.mmu.lookupData(hi, lo)
      if (i >= 0 && (this.tlbFlags[i]! & this.permW) !== 0) {
        const s = this.tlbSlot[i]!
        if ((this.tlbFlags[i]! & this.tagCheckMask) !== 0) this.tagCheckFast(hi, lo, 8, info, true, s)
        if (s >= 0) {
          const v = this.slotView[s]!
          const o = this.slotBase[s]! + (lo & 0xfff)
          v.setUint32(o, vLo, true)
          v.setUint32(o + 4, vHi, true)
          if (this.slotCode[s] !== 0) this.invalidateCodePage(this.slotPaPage[s]!)
          return
        }
      }
    }
    this.storeLo = vLo >>> 0
    this.storeHi = vHi >>> 0
    this.writeSlow(hi, lo, 8, info)
  }

  /**
   * MTE check of a fast-path access on a Tagged page while checking is on: the pointer's
   * tag equal to its granule's allocation tag passes whatever the mode; anything else goes
   * to the full check, which knows about unchecked accesses, TBI, TCMA and granule spans.
   * (s < 0: no host slot yet; the slow path that follows checks.)
   */
  private tagCheckFast(hi: number, lo: number, size: number, info: number, isWrite: boolean, s: number): void {
    if (s < 0) return
    const base = this.tagBase[s]!
    if (base >= 0) {
      const g = (lo & 0xfff) >>> 4
      const byte = this.tagBytes[s]![base + (g >>> 1)]!
      if (((g & 1 ? byte >>> 4 : byte) & 15) === ((hi >>> 24) & 15)) return
    }
    this.mte.check(hi, lo, size, info, isWrite, s)
  }

  private alignmentStrict(info: number): boolean {
    // SCTLR_EL1.A (bit 1) applies at EL0 and EL1.
    return (info & ACC_ALIGNED) !== 0 || (this.sys[2 * SLOT.SCTLR_EL1]! & 2) !== 0
  }

  private readSlow(hi: number, lo: number, size: number, info: number): number {
    if ((lo & (size - 1)) !== 0 && this.alignmentStrict(info)) this.alignmentFault(hi, lo, false, info)
    const off = lo & 0xfff
    if (off + size <= PAGE) {
      const s = this.translateData(hi, lo, ACCESS_READ, info, size)
      this.tagCheckSlow(hi, lo, size, info, false, s, true)
      const v = this.slotView[s]!
      const o = this.slotBase[s]! + off
      switch (size) {
        case 1:
          return v.getUint8(o)
        case 2:
          return v.getUint16(o, true)
        case 4:
          return v.getUint32(o, true)
        default:
          this.rdHi = v.getUint32(o + 4, true)
          return v.getUint32(o, true)
      }
    }
    // Crosses a page: translate both pages before reading anything.
    const firstLen = PAGE - off
    this.probeAccess(hi, lo, size, size, info, false)
    const s1 = this.probeSlot1
    const s2 = this.probeSlot2
    let rLo = 0
    let rHi = 0
    for (let b = 0; b < size; b++) {
      const byte = b < firstLen ? this.slotBytes[s1]![this.slotBase[s1]! + off + b]! : this.slotBytes[s2]![this.slotBase[s2]! + b - firstLen]!
      if (b < 4) rLo |= byte << (8 * b)
      else rHi |= byte << (8 * (b - 4))
    }
    this.rdHi = rHi >>> 0
    return rLo >>> 0
  }

  private writeSlow(hi: number, lo: number, size: number, info: number): void {
    if ((lo & (size - 1)) !== 0 && this.alignmentStrict(info)) this.alignmentFault(hi, lo, true, info)
    const off = lo & 0xfff
    const vLo = this.storeLo
    const vHi = this.storeHi
    if (off + size <= PAGE) {
      const s = this.translateData(hi, lo, ACCESS_WRITE, info, size)
      this.tagCheckSlow(hi, lo, size, info, true, s, true)
      const v = this.slotView[s]!
      const o = this.slotBase[s]! + off
      switch (size) {
        case 1:
          v.setUint8(o, vLo)
          break
        case 2:
          v.setUint16(o, vLo, true)
          break
        case 4:
          v.setUint32(o, vLo, true)
          break
        default:
          v.setUint32(o, vLo, true)
          v.setUint32(o + 4, vHi, true)
      }
      if (this.slotCode[s] !== 0) this.invalidateCodePage(this.slotPaPage[s]!)
      return
    }
    const firstLen = PAGE - off
    this.probeAccess(hi, lo, size, size, info, true)
    const s1 = this.probeSlot1
    const s2 = this.probeSlot2
    for (let b = 0; b < size; b++) {
      const byte = (b < 4 ? vLo >>> (8 * b) : vHi >>> (8 * (b - 4))) & 0xff
      if (b < firstLen) this.slotBytes[s1]![this.slotBase[s1]! + off + b] = byte
      else this.slotBytes[s2]![this.slotBase[s2]! + b - firstLen] = byte
    }
    if (this.slotCode[s1] !== 0) this.invalidateCodePage(this.slotPaPage[s1]!)
    if (this.slotCode[s2] !== 0) this.invalidateCodePage(this.slotPaPage[s2]!)
  }

  /**
   * Called before an access made of several host reads or writes (STP, ST2G, ...) of `span`
   * bytes in parts of `elemSize` bytes: when a later part could fault after an earlier one
   * was performed (the span crosses a page, or covers several granules while tag checks
   * may apply), checks the whole access first so that a fault changes nothing. Same page
   * and one granule (or no checking) costs two compares.
   */
  probeParts(hi: number, lo: number, span: number, elemSize: number, info: number, isWrite: boolean): void {
    if ((lo & 0xfff) + span <= PAGE) {
      if ((lo & 15) + span <= 16 || (this.tagCheckMask === 0 && (info & ACC_UNPRIV) === 0)) return
      if (this.granulesPass(hi, lo, span, info, isWrite)) return
    }
    this.probeAccess(hi, lo, span, elemSize, info, isWrite)
  }

  /**
   * probeParts' shortcut for several granules of one page: a TLB hit with the permission,
   * and the page untagged or every granule's tag equal to the pointer's (which passes in
   * any mode). False sends the access to the full probe.
   */
  private granulesPass(hi: number, lo: number, span: number, info: number, isWrite: boolean): boolean {
    if ((info & ACC_UNPRIV) !== 0) return false
    const i = this.mmu.lookupData(hi, lo)
    if (i < 0) return false
    const flags = this.tlbFlags[i]!
    if ((flags & (isWrite ? this.permW : this.permR)) === 0) return false
    if ((flags & this.tagCheckMask) === 0 || (info & ACC_UNCHECKED) !== 0) return true
    const s = this.tlbSlot[i]!
    if (s < 0) return false
    const base = this.tagBase[s]!
    if (base < 0) return false
    const bytes = this.tagBytes[s]!
    const tag = (hi >>> 24) & 15
    const off = lo & 0xfff
    for (let g = off >>> 4; g <= (off + span - 1) >>> 4; g++) {
      const byte = bytes[base + (g >>> 1)]!
      if (((g & 1 ? byte >>> 4 : byte) & 15) !== tag) return false
    }
    return true
  }

  /**
   * Checks an access of `span` bytes at [hi:lo] as one: translation and permission of every
   * page it touches, Device alignment for `elemSize`-byte parts, then the tag check of every
   * granule (QEMU's probe before a multi-part or page-crossing access). Leaves the host
   * slots of the first and last page in probeSlot1/probeSlot2 and the TLB filled.
   */
  probeAccess(hi: number, lo: number, span: number, elemSize: number, info: number, isWrite: boolean): void {
    const access = isWrite ? ACCESS_WRITE : ACCESS_READ
    const off = lo & 0xfff
    const s1 = this.translateData(hi, lo, access, info, elemSize)
    this.probeSlot1 = this.probeSlot2 = s1
    if (off + span <= PAGE) {
      this.tagCheckSlow(hi, lo, span, info, isWrite, s1, true)
      return
    }
    const firstLen = PAGE - off
    const tagged1 = this.tlbFlags[this.lastTlbIndex]! & TLB_TAGGED
    const nextLo = (lo + firstLen) >>> 0
    const nextHi = nextLo === 0 ? (hi + 1) >>> 0 : hi
    const s2 = this.translateData(nextHi, nextLo, access, info, elemSize)
    // translateData saw the (aligned) page start; a misaligned part reaching a Device page faults too.
    if ((lo & (elemSize - 1)) !== 0 && (this.tlbFlags[this.lastTlbIndex]! & TLB_DEVICE) !== 0) this.alignmentFault(hi, lo, isWrite, info)
    this.probeSlot2 = s2
    this.tagCheckCrossing(hi, lo, nextHi, nextLo, span, firstLen, info, isWrite, s1, tagged1, s2)
  }

  /**
   * Translates a data access (full checks), filling the TLB and the entry's host slot.
   * Raises the EL1 abort or the EL2 exit on failure. Returns the host slot.
   */
  translateData(hi: number, lo: number, access: AccessKind, info: number, size: number): number {
    const p = this.p
    const el = (info & ACC_UNPRIV) !== 0 && p[PS.UAO] === 0 ? 0 : (p[PS.EL] as 0 | 1)
    const pan = el === 1 && p[PS.PAN] !== 0
    const bit = permissionBit(el, access, pan)
    let i = this.mmu.lookupData(hi, lo)
    if (i < 0 || (this.tlbFlags[i]! & bit) === 0) {
      if (!this.mmu.translate(hi, lo, access, el, pan, this.tr)) this.dataFault(hi, lo, access, info, size)
      i = this.tr.tlbIndex
    }
    if (size > 1 && (lo & (size - 1)) !== 0 && (this.tlbFlags[i]! & TLB_DEVICE) !== 0) this.alignmentFault(hi, lo, access === ACCESS_WRITE, info)
    let s = this.tlbSlot[i]!
    if (s < 0) s = this.tlbSlot[i] = this.slotFor(this.tlbPaPage[i]!, hi, lo, access)
    this.lastTlbIndex = i
    return s
  }

  /**
   * MTE check of an access inside one page just translated by translateData (host slot s).
   * LDTR/STTR are checked as EL0 whatever the mask says.
   */
  tagCheckSlow(hi: number, lo: number, size: number, info: number, isWrite: boolean, s: number, firstByte: boolean): void {
    const flags = this.tlbFlags[this.lastTlbIndex]!
    if ((flags & TLB_TAGGED) !== 0 && ((flags & this.tagCheckMask) !== 0 || (info & ACC_UNPRIV) !== 0)) {
      this.mte.check(hi, lo, size, info, isWrite, s, firstByte)
    }
  }

  /** MTE check of a page-crossing access, after both pages translated. */
  private tagCheckCrossing(
    hi: number, lo: number, nextHi: number, nextLo: number, size: number, firstLen: number, info: number, isWrite: boolean,
    s1: number, tagged1: number, s2: number,
  ): void {
    if (this.tagCheckMask === 0 && (info & ACC_UNPRIV) === 0) return
    if (tagged1 !== 0) this.mte.check(hi, lo, firstLen, info, isWrite, s1, true)
    this.tagCheckSlow(nextHi, nextLo, size - firstLen, info, isWrite, s2, false)
  }

  /** Synchronous tag check fault: data abort to EL1, DFSC 0x11, FAR = the tagged address. */
  tagCheckFault(hi: number, lo: number, isWrite: boolean): never {
    this.setFar(hi, lo)
    return this.exception(this.p[PS.EL] === 0 ? EC.DABT_LOWER : EC.DABT_CURRENT, DFSC_TAG_CHECK | (isWrite ? 1 << 6 : 0), this.pcLo, this.pcHi)
  }

  /** Recomputes the MTE fast-path filter (after EL, TCO, SCTLR_EL1, HCR_EL2 or ID register changes). */
  mteChanged(): void {
    this.tagCheckMask = this.mte.checkMask()
  }

  /** The host view and offset of a translated data address, for block operations (DC ZVA). */
  hostView(slot: number): DataView {
    return this.slotView[slot]!
  }
  hostBase(slot: number): number {
    return this.slotBase[slot]!
  }
  noteHostWrite(slot: number): void {
    if (this.slotCode[slot] !== 0) this.invalidateCodePage(this.slotPaPage[slot]!)
  }

  private dataFault(hi: number, lo: number, access: AccessKind, info: number, size: number): never {
    const tr = this.tr
    const isWrite = access === ACCESS_WRITE || (info & ACC_CM) !== 0
    const cm = (info & ACC_CM) !== 0 && (info & ACC_ISV) === 0 && size === 0 ? 1 << 8 : 0
    if (tr.stage === 2) {
      const x = this.exits.dataAbort
      const isv = (info & ACC_ISV) !== 0 && !tr.s1ptw
      let iss = tr.fsc | (tr.s1ptw ? 1 << 7 : 0) | cm
      if (isWrite && !tr.s1ptw) iss |= 1 << 6
      if (isv) iss |= info & 0x1ffc000
      x.esr = syndrome(EC.DABT_LOWER, true, iss)
      x.farHi = hi
      x.farLo = lo
      x.hpfar = tr.hpfar
      x.ipa = tr.faultIpa
      x.isv = isv
      x.isWrite = isWrite
      x.size = size
      x.srt = (info >>> 16) & 31
      x.s1ptw = tr.s1ptw
      x.dataLo = 0
      x.dataHi = 0
      if (isv) {
        this.mmioPending = true
        this.mmioIsWrite = isWrite
        this.mmioSrt = x.srt
        this.mmioSize = size
        this.mmioSignExtend = (info & (1 << 21)) !== 0
        this.mmioSixtyFour = (info & (1 << 15)) !== 0
        if (isWrite) {
          x.dataLo = size === 8 ? this.storeLo : size === 4 ? this.storeLo >>> 0 : this.storeLo & (size === 2 ? 0xffff : 0xff)
          x.dataHi = size === 8 ? this.storeHi : 0
        }
      }
      return this.exitTo(x)
    }
    this.setFar(hi, lo)
    const iss = tr.fsc | (isWrite ? 1 << 6 : 0) | cm
    return this.exception(this.p[PS.EL] === 0 ? EC.DABT_LOWER : EC.DABT_CURRENT, iss, this.pcLo, this.pcHi)
  }

  alignmentFault(hi: number, lo: number, isWrite: boolean, _info: number): never {
    this.setFar(hi, lo)
    return this.exception(this.p[PS.EL] === 0 ? EC.DABT_LOWER : EC.DABT_CURRENT, 0x21 | (isWrite ? 1 << 6 : 0), this.pcLo, this.pcHi)
  }

  /** SP alignment check for an access based on SP (SCTLR_EL1.SA / SA0). */
  checkSpAlignment(): void {
    const x = this.x
    if ((x[2 * REG_SP]! & 15) === 0) return
    const sctlr = this.sys[2 * SLOT.SCTLR_EL1]!
    const bit = this.p[PS.EL] === 0 ? 1 << 4 : 1 << 3
    if ((sctlr & bit) !== 0) this.exception(EC.SP_ALIGN, 0, this.pcLo, this.pcHi)
  }

  // ---- exclusive monitor ----
  /** Marks the physical address of [hi:lo] as exclusive (after a successful load). */
  setExclusive(hi: number, lo: number, size: number): void {
    const s = this.translateData(hi, lo, ACCESS_READ, ACC_ALIGNED, size)
    this.exclusiveValid = true
    this.exclusivePa = this.slotPaPage[s]! + (lo & 0xfff)
    this.exclusiveSize = size
  }

  /** True when a store-exclusive to [hi:lo] may proceed (checks translation first). */
  checkExclusive(hi: number, lo: number, size: number): boolean {
    const s = this.translateData(hi, lo, ACCESS_WRITE, ACC_ALIGNED, size)
    const pa = this.slotPaPage[s]! + (lo & 0xfff)
    const ok = this.exclusiveValid && pa === this.exclusivePa && size === this.exclusiveSize
    this.exclusiveValid = false
    return ok
  }

  clearExclusive(): void {
    this.exclusiveValid = false
  }

  // =====================================================================================
  // Exceptions

  private setFar(hi: number, lo: number): void {
    this.sys[2 * SLOT.FAR_EL1] = lo
    this.sys[2 * SLOT.FAR_EL1 + 1] = hi
  }

  /** Takes a synchronous exception to EL1 with return address retLo/retHi. Throws TRAP. */
  exception(ec: number, iss: number, retLo: number, retHi: number): never {
    this.enterEl1(syndrome(ec, true, iss), retLo, retHi, 0)
    throw TRAP
  }

  /** UNDEFINED instruction at the current PC. */
  undefined(): never {
    return this.exception(EC.UNKNOWN, 0, this.pcLo, this.pcHi)
  }

  private takeVirtualInterrupt(): void {
    const hcr = this.hcrLo
    const daif = this.p[PS.DAIF]!
    let offset = 0
    if ((hcr & HCR.VI) !== 0 && (hcr & HCR.IMO) !== 0 && (daif & 2) === 0) offset = 0x80
    else if ((hcr & HCR.VF) !== 0 && (hcr & HCR.FMO) !== 0 && (daif & 1) === 0) offset = 0x100
    if (offset !== 0) this.enterEl1(0, this.pcLo, this.pcHi, offset)
  }

  /** An instruction inside a block did not fall through: give back the budget of the rest. */
  private leaveBlock(): void {
    if (this.blockEnd !== 0) {
      this.left += (this.blockEnd - this.pcLo - 4) / 4
      this.blockEnd = 0
    }
  }

  private enterEl1(esr: number, retLo: number, retHi: number, offset: number): void {
    this.leaveBlock()
    const p = this.p
    const sys = this.sys
    const spsr = packSpsr(p)
    const fromEl = p[PS.EL]!
    const vector = fromEl === 0 ? 0x400 : p[PS.SPSEL] !== 0 ? 0x200 : 0
    // Interrupts (offset != 0) leave ESR_EL1 alone.
    if (offset === 0) {
      sys[2 * SLOT.ESR_EL1] = esr
      sys[2 * SLOT.ESR_EL1 + 1] = 0
    }
    sys[2 * SLOT.SPSR_EL1] = spsr
    sys[2 * SLOT.SPSR_EL1 + 1] = 0
    sys[2 * SLOT.ELR_EL1] = retLo
    sys[2 * SLOT.ELR_EL1 + 1] = retHi
    this.saveSp()
    p[PS.EL] = 1
    p[PS.SPSEL] = 1
    this.loadSp()
    p[PS.DAIF] = 0xf
    const sctlrLo = sys[2 * SLOT.SCTLR_EL1]!
    const sctlrHi = sys[2 * SLOT.SCTLR_EL1 + 1]!
    if ((sctlrLo & (1 << 23)) === 0) p[PS.PAN] = 1 // SPAN = 0: set PAN on entry
    p[PS.UAO] = 0
    if (this.mteLevel() !== 0) p[PS.TCO] = 1
    p[PS.SSBS] = (sctlrHi >>> 12) & 1 // DSSBS, bit 44
    p[PS.IL] = 0
    p[PS.SS] = 0
    p[PS.BTYPE] = 0
    const vbarLo = sys[2 * SLOT.VBAR_EL1]! & ~0x7ff
    const target = (vbarLo >>> 0) + vector + offset
    this.pcLo = target >>> 0
    this.pcHi = sys[2 * SLOT.VBAR_EL1 + 1]! >>> 0
    this.exclusiveValid = false
    this.modeChanged()
  }

  /** ERET from EL1. */
  eret(): void {
    const sys = this.sys
    const spsr = sys[2 * SLOT.SPSR_EL1]! >>> 0
    const elrLo = sys[2 * SLOT.ELR_EL1]! >>> 0
    const elrHi = sys[2 * SLOT.ELR_EL1 + 1]! >>> 0
    const m = spsr & 0x1f
    const legal = m === 0 || m === 4 || m === 5
    this.saveSp()
    this.restorePstate(spsr, legal)
    this.loadSp()
    this.pcLo = elrLo
    this.pcHi = elrHi
    this.exclusiveValid = false
    this.modeChanged()
  }

  private restorePstate(spsr: number, legal: boolean): void {
    const p = this.p
    p[PS.N] = spsr >>> 31
    p[PS.Z] = (spsr >>> 30) & 1
    p[PS.C] = (spsr >>> 29) & 1
    p[PS.V] = (spsr >>> 28) & 1
    if (this.mteLevel() !== 0) p[PS.TCO] = (spsr >>> 25) & 1
    p[PS.UAO] = (spsr >>> 23) & 1
    p[PS.PAN] = (spsr >>> 22) & 1
    p[PS.SS] = 0
    p[PS.SSBS] = (spsr >>> 12) & 1
    p[PS.BTYPE] = 0
    p[PS.DAIF] = (spsr >>> 6) & 0xf
    if (legal) {
      p[PS.EL] = (spsr >>> 2) & 3
      p[PS.SPSEL] = spsr & 1
      p[PS.IL] = (spsr >>> 20) & 1
    } else {
      p[PS.IL] = 1
    }
  }

  private saveSp(): void {
    const b = this.p[PS.EL] !== 0 && this.p[PS.SPSEL] !== 0 ? 2 : 0
    this.spBank[b] = this.x[2 * REG_SP]!
    this.spBank[b + 1] = this.x[2 * REG_SP + 1]!
  }

  private loadSp(): void {
    const b = this.p[PS.EL] !== 0 && this.p[PS.SPSEL] !== 0 ? 2 : 0
    this.x[2 * REG_SP] = this.spBank[b]!
    this.x[2 * REG_SP + 1] = this.spBank[b + 1]!
  }

  /** Recomputes what depends on EL and PAN. */
  modeChanged(): void {
    const el = this.p[PS.EL] as 0 | 1
    const pan = el === 1 && this.p[PS.PAN] !== 0
    this.permR = permissionBit(el, ACCESS_READ, pan)
    this.permW = permissionBit(el, ACCESS_WRITE, pan)
    this.permX = permissionBit(el, ACCESS_FETCH, false)
    this.fetchLo = 1
    this.mteChanged()
  }

  /** ID_AA64PFR1_EL1.MTE: 0 none, 1 instructions only, 2 MTE2, 3 MTE3. */
  mteLevel(): number {
    return (this.sys[2 * SLOT.ID_AA64PFR1_EL1]! >>> 8) & 0xf
  }

  private exitTo(x: CpuExit): never {
    this.leaveBlock()
    this.pendingExit = x
    // The instruction did not complete: it does not count as retired.
    this.left++
    throw TRAP
  }

  // ---- exits raised by instructions ----
  hvc(imm16: number): never {
    if (this.p[PS.EL] === 0 || (this.hcrLo & HCR.HCD) !== 0) return this.undefined()
    const x = this.exits.hvc
    x.esr = syndrome(EC.HVC64, true, imm16)
    x.imm16 = imm16
    // HVC completes: the preferred return address is the next instruction.
    this.leaveBlock()
    this.advancePcRaw()
    this.pendingExit = x
    throw TRAP
  }

  smc(imm16: number): never {
    if (this.p[PS.EL] === 0) return this.undefined()
    if ((this.hcrLo & HCR.TSC) !== 0) {
      const x = this.exits.smc
      x.esr = syndrome(EC.SMC64, true, imm16)
      x.imm16 = imm16
      return this.exitTo(x)
    }
    return this.undefined() // no EL3
  }

  svc(imm16: number): never {
    const next = (this.pcLo + 4) >>> 0
    return this.exception(EC.SVC64, imm16, next, next === 0 ? (this.pcHi + 1) >>> 0 : this.pcHi)
  }

  brk(imm16: number): never {
    return this.exception(EC.BRK64, imm16, this.pcLo, this.pcHi)
  }

  /** WFI (isWfe false) or WFE: trap if configured, else complete at once (no interrupts yet). */
  wfx(isWfe: boolean): void {
    const p = this.p
    if (p[PS.EL] === 0) {
      // SCTLR_EL1.nTWI (16) / nTWE (18) = 0 traps EL0 WFI/WFE to EL1.
      const bit = isWfe ? 1 << 18 : 1 << 16
      if ((this.sys[2 * SLOT.SCTLR_EL1]! & bit) === 0) this.exception(EC.WFX, isWfe ? 1 : 0, this.pcLo, this.pcHi)
    }
    if ((this.hcrLo & (isWfe ? HCR.TWE : HCR.TWI)) !== 0) {
      const x = this.exits.wfx
      x.esr = syndrome(EC.WFX, true, isWfe ? 1 : 0)
      x.isWfe = isWfe
      this.exitTo(x)
    }
  }

  /** Reports an FP/SIMD instruction: EC 0x07 if CPACR_EL1.FPEN or CPTR_EL2.TFP traps it, else UNDEF. */
  fpInstruction(): never {
    const fpen = (this.sys[2 * SLOT.CPACR_EL1]! >>> 20) & 3
    if (fpen === 0 || fpen === 2 || (fpen === 1 && this.p[PS.EL] === 0)) {
      return this.exception(EC.FP_ACCESS, 0, this.pcLo, this.pcHi)
    }
    if ((this.cptr & (1 << 10)) !== 0) {
      const x = this.exits.fpTrap
      x.esr = syndrome(EC.FP_ACCESS, true, 0)
      return this.exitTo(x)
    }
    return this.undefined()
  }

  private advancePcRaw(): void {
    const next = (this.pcLo + 4) >>> 0
    this.pcLo = next
    if (next === 0) this.pcHi = (this.pcHi + 1) >>> 0
  }

  // =====================================================================================
  // System registers

  /** Trap of MSR/MRS/SYS to EL2 (EC 0x18). */
  private sysTrapToEl2(key: number, rt: number, isRead: boolean): never {
    const x = this.exits.sysregTrap
    x.esr = syndrome(EC.SYS64, true, sysIss(key, rt, isRead))
    x.key = key
    x.rt = rt
    x.isRead = isRead
    return this.exitTo(x)
  }

  private sysTrapToEl1(key: number, rt: number, isRead: boolean): never {
    return this.exception(EC.SYS64, sysIss(key, rt, isRead), this.pcLo, this.pcHi)
  }

  /** Applies EL0 access rules and HCR_EL2/MDCR_EL2 traps for a register access or SYS op. */
  checkSysAccess(key: number, rt: number, isRead: boolean): void {
    const el = this.p[PS.EL]!
    const sctlr = this.sys[2 * SLOT.SCTLR_EL1]!
    const op0 = key >>> 14
    const op1 = (key >>> 11) & 7
    const crn = (key >>> 7) & 15
    if (el === 0) {
      // At EL0 only op1 = 3 encodings exist.
      if (op1 !== 3) this.undefined()
      const cntkctl = this.sys[2 * SLOT.CNTKCTL_EL1]!
      switch (key) {
        case SysReg.CTR_EL0:
          if ((sctlr & (1 << 15)) === 0) this.sysTrapToEl1(key, rt, isRead)
          break
        case SysReg.DAIF:
          if ((sctlr & (1 << 9)) === 0) this.sysTrapToEl1(key, rt, isRead)
          break
        case SysReg.CNTFRQ_EL0:
          if ((cntkctl & 3) === 0) this.sysTrapToEl1(key, rt, isRead)
          break
        case SysReg.CNTPCT_EL0:
          if ((cntkctl & 1) === 0) this.sysTrapToEl1(key, rt, isRead)
          break
        case SysReg.CNTVCT_EL0:
          if ((cntkctl & 2) === 0) this.sysTrapToEl1(key, rt, isRead)
          break
        case SysReg.CNTP_TVAL_EL0:
        case SysReg.CNTP_CTL_EL0:
        case SysReg.CNTP_CVAL_EL0:
          if ((cntkctl & (1 << 9)) === 0) this.sysTrapToEl1(key, rt, isRead)
          break
        case SysReg.CNTV_TVAL_EL0:
        case SysReg.CNTV_CTL_EL0:
        case SysReg.CNTV_CVAL_EL0:
          if ((cntkctl & (1 << 8)) === 0) this.sysTrapToEl1(key, rt, isRead)
          break
        case DC_ZVA:
        case DC_GVA:
        case DC_GZVA:
          if ((sctlr & (1 << 14)) === 0) this.sysTrapToEl1(key, rt, isRead)
          break
        case DC_CVAC:
        case DC_CVAU:
        case DC_CIVAC:
        case IC_IVAU:
          if ((sctlr & (1 << 26)) === 0) this.sysTrapToEl1(key, rt, isRead)
          break
        default:
      }
    }
    // EL2 traps (HCR_EL2 applies to EL1 and EL0 accesses).
    const hcr = this.hcrLo
    if (op0 === 3 && op1 === 0 && crn === 0 && ((key >>> 3) & 15) !== 0 && (hcr & HCR.TID3) !== 0) this.sysTrapToEl2(key, rt, isRead)
    if (op0 === 1) {
      // SYS operations.
      if (crn === 8 && (hcr & HCR.TTLB) !== 0) this.sysTrapToEl2(key, rt, isRead)
      const byTag = tagMaintenanceTrap(key) // MTE DC *G*: set/way ones under TSW, by-VA ones under TPC
      if ((key === DC_ISW || key === DC_CSW || key === DC_CISW || byTag === 'set-way') && (hcr & HCR.TSW) !== 0) this.sysTrapToEl2(key, rt, isRead)
      if ((key === DC_IVAC || key === DC_CVAC || key === DC_CIVAC || byTag === 'by-va') && (hcr & HCR.TPC) !== 0) this.sysTrapToEl2(key, rt, isRead)
      if ((key === IC_IVAU || key === IC_IALLU || key === IC_IALLUIS) && (hcr & HCR.TPU) !== 0) this.sysTrapToEl2(key, rt, isRead)
      if ((key === DC_ZVA || key === DC_GVA || key === DC_GZVA) && (hcr & HCR.TDZ) !== 0) this.sysTrapToEl2(key, rt, isRead)
      return
    }
    if (op0 === 2) {
      // Debug registers: MDCR_EL2.TDOSA for the OS lock group, TDA for the rest.
      const osGroup = key === SysReg.OSLAR_EL1 || key === SysReg.OSLSR_EL1 || key === SysReg.OSDLR_EL1 || key === SysReg.DBGPRCR_EL1
      if ((this.mdcr & (osGroup ? 1 << 10 : 1 << 9)) !== 0) this.sysTrapToEl2(key, rt, isRead)
      return
    }
    switch (key) {
      case SysReg.SCTLR_EL1:
      case SysReg.TTBR0_EL1:
      case SysReg.TTBR1_EL1:
      case SysReg.TCR_EL1:
      case SysReg.ESR_EL1:
      case SysReg.FAR_EL1:
      case SysReg.AFSR0_EL1:
      case SysReg.AFSR1_EL1:
      case SysReg.MAIR_EL1:
      case SysReg.AMAIR_EL1:
      case SysReg.CONTEXTIDR_EL1:
        if ((hcr & (isRead ? HCR.TRVM : HCR.TVM)) !== 0) this.sysTrapToEl2(key, rt, isRead)
        break
      case SysReg.REVIDR_EL1:
      case SysReg.AIDR_EL1:
        if ((hcr & HCR.TID1) !== 0) this.sysTrapToEl2(key, rt, isRead)
        break
      case SysReg.CTR_EL0:
      case SysReg.CCSIDR_EL1:
      case SysReg.CLIDR_EL1:
      case SysReg.CSSELR_EL1:
        if ((hcr & HCR.TID2) !== 0) this.sysTrapToEl2(key, rt, isRead)
        break
      case SysReg.ACTLR_EL1:
        if ((hcr & HCR.TACR) !== 0) this.sysTrapToEl2(key, rt, isRead)
        break
      case SysReg.GMID_EL1:
        if (this.mteLevel() >= 2 && (this.hcrHi & HCR.HI_TID5) !== 0) this.sysTrapToEl2(key, rt, isRead)
        break
      case SysReg.GCR_EL1:
      case SysReg.RGSR_EL1:
      case SysReg.TFSR_EL1:
      case SysReg.TFSRE0_EL1:
        if (this.mteLevel() >= 2 && (this.hcrHi & HCR.HI_ATA) === 0) this.sysTrapToEl2(key, rt, isRead)
        break
      case SysReg.FPCR:
      case SysReg.FPSR:
        this.fpInstruction()
        break
      default:
    }
  }

  /** Counter value (CNTPCT): one tick per retired instruction. Halves in the result pair. */
  private counter(): number {
    return this.retired
  }

  /**
   * Reads a system register as an MRS at the current EL would after access checks.
   * Returns false for an encoding that does not exist here (UNDEFINED).
   * The value is left in sysLo/sysHi.
   */
  sysLo = 0
  sysHi = 0
  readSysreg(key: number): boolean {
    const p = this.p
    let lo = 0
    let hi = 0
    switch (key) {
      case SysReg.NZCV:
        lo = (p[PS.N]! << 31) | (p[PS.Z]! << 30) | (p[PS.C]! << 29) | (p[PS.V]! << 28)
        break
      case SysReg.DAIF:
        lo = p[PS.DAIF]! << 6
        break
      case SysReg.CURRENTEL:
        lo = p[PS.EL]! << 2
        break
      case SysReg.SPSEL:
        lo = p[PS.SPSEL]!
        break
      case SysReg.PAN:
        lo = p[PS.PAN]! << 22
        break
      case SysReg.UAO:
        lo = p[PS.UAO]! << 23
        break
      case SysReg.SSBS:
        lo = p[PS.SSBS]! << 12
        break
      case SysReg.TCO:
        if (this.mteLevel() === 0) return false
        lo = p[PS.TCO]! << 25
        break
      case SysReg.SP_EL0:
        if (p[PS.EL] === 0 || p[PS.SPSEL] === 0) return false
        lo = this.spBank[0]!
        hi = this.spBank[1]!
        break
      case SysReg.ISR_EL1:
        break
      case SysReg.CNTPCT_EL0:
      case SysReg.CNTVCT_EL0: {
        const c = this.counter() - (key === SysReg.CNTVCT_EL0 ? this.cntvoff : 0)
        lo = c >>> 0
        hi = Math.floor(c / TWO32) >>> 0
        break
      }
      case SysReg.CNTP_TVAL_EL0:
      case SysReg.CNTV_TVAL_EL0: {
        const slot = key === SysReg.CNTP_TVAL_EL0 ? SLOT.CNTP_CVAL_EL0 : SLOT.CNTV_CVAL_EL0
        const now = this.counter() - (key === SysReg.CNTV_TVAL_EL0 ? this.cntvoff : 0)
        const cval = (this.sys[2 * slot + 1]! >>> 0) * TWO32 + (this.sys[2 * slot]! >>> 0)
        lo = (cval - now) >>> 0
        break
      }
      case SysReg.OSLAR_EL1:
        return false // write-only
      case SysReg.GCR_EL1:
      case SysReg.RGSR_EL1:
      case SysReg.TFSR_EL1:
      case SysReg.TFSRE0_EL1:
      case SysReg.GMID_EL1:
        if (this.mteLevel() < 2) return false
        return this.readStored(key)
      default:
        if (SLOT_BY_KEY[key]! >= 0) return this.readStored(key)
        // Unallocated ID space (op0=3, op1=0, CRn=0, CRm=1..7) reads as zero.
        if ((key & 0xff80) === 0xc000 && (key & 0x38) !== 0) break
        return false
    }
    this.sysLo = lo >>> 0
    this.sysHi = hi >>> 0
    return true
  }

  private readStored(key: number): boolean {
    const s = SLOT_BY_KEY[key]!
    this.sysLo = this.sys[2 * s]! >>> 0
    this.sysHi = this.sys[2 * s + 1]! >>> 0
    return true
  }

  /** Writes a system register as an MSR would (after access checks). False = UNDEFINED. */
  writeSysreg(key: number, lo: number, hi: number): boolean {
    const p = this.p
    switch (key) {
      case SysReg.NZCV:
        p[PS.N] = lo >>> 31
        p[PS.Z] = (lo >>> 30) & 1
        p[PS.C] = (lo >>> 29) & 1
        p[PS.V] = (lo >>> 28) & 1
        return true
      case SysReg.DAIF:
        p[PS.DAIF] = (lo >>> 6) & 0xf
        this.fetchLo = 1 // may unmask a pending interrupt
        return true
      case SysReg.SPSEL:
        this.setSpSel(lo & 1)
        return true
      case SysReg.PAN:
        p[PS.PAN] = (lo >>> 22) & 1
        this.modeChanged()
        return true
      case SysReg.UAO:
        p[PS.UAO] = (lo >>> 23) & 1
        return true
      case SysReg.SSBS:
        p[PS.SSBS] = (lo >>> 12) & 1
        return true
      case SysReg.TCO:
        if (this.mteLevel() === 0) return false
        p[PS.TCO] = (lo >>> 25) & 1
        this.mteChanged()
        return true
      case SysReg.SP_EL0:
        if (p[PS.EL] === 0 || p[PS.SPSEL] === 0) return false
        this.spBank[0] = lo
        this.spBank[1] = hi
        return true
      case SysReg.OSLAR_EL1: {
        const s = 2 * SLOT.OSLSR_EL1
        this.sys[s] = (this.sys[s]! & ~2) | ((lo & 1) << 1)
        return true
      }
      case SysReg.CNTP_TVAL_EL0:
      case SysReg.CNTV_TVAL_EL0: {
        const slot = key === SysReg.CNTP_TVAL_EL0 ? SLOT.CNTP_CVAL_EL0 : SLOT.CNTV_CVAL_EL0
        const now = this.counter() - (key === SysReg.CNTV_TVAL_EL0 ? this.cntvoff : 0)
        const cval = now + (lo | 0)
        this.sys[2 * slot] = cval >>> 0
        this.sys[2 * slot + 1] = Math.floor(cval / TWO32) >>> 0
        return true
      }
      case SysReg.GCR_EL1:
      case SysReg.RGSR_EL1:
      case SysReg.TFSR_EL1:
      case SysReg.TFSRE0_EL1:
        if (this.mteLevel() < 2) return false
        return this.writeStored(key, lo, hi)
      case SysReg.SCTLR_EL1:
      case SysReg.TCR_EL1:
      case SysReg.TTBR0_EL1:
      case SysReg.TTBR1_EL1:
      case SysReg.MAIR_EL1:
      case SysReg.ACTLR_EL1:
      case SysReg.CPACR_EL1:
      case SysReg.SPSR_EL1:
      case SysReg.ELR_EL1:
      case SysReg.AFSR0_EL1:
      case SysReg.AFSR1_EL1:
      case SysReg.ESR_EL1:
      case SysReg.FAR_EL1:
      case SysReg.PAR_EL1:
      case SysReg.AMAIR_EL1:
      case SysReg.VBAR_EL1:
      case SysReg.CONTEXTIDR_EL1:
      case SysReg.TPIDR_EL1:
      case SysReg.CNTKCTL_EL1:
      case SysReg.TPIDR_EL0:
      case SysReg.TPIDRRO_EL0:
      case SysReg.CSSELR_EL1:
      case SysReg.CNTP_CTL_EL0:
      case SysReg.CNTP_CVAL_EL0:
      case SysReg.CNTV_CTL_EL0:
      case SysReg.CNTV_CVAL_EL0:
      case SysReg.MDCCINT_EL1:
      case SysReg.MDSCR_EL1:
      case SysReg.OSDLR_EL1:
      case SysReg.DBGPRCR_EL1:
        if (key === SysReg.TPIDRRO_EL0 && p[PS.EL] === 0) return false
        return this.writeStored(key, lo, hi)
      default:
        return false
    }
  }

  private writeStored(key: number, lo: number, hi: number): boolean {
    const s = SLOT_BY_KEY[key]!
    this.sys[2 * s] = lo
    this.sys[2 * s + 1] = hi
    this.storedChanged(key)
    return true
  }

  /** Forwards translation-regime registers to the MMU. */
  private storedChanged(key: number): void {
    const s = SLOT_BY_KEY[key]!
    const lo = this.sys[2 * s]! >>> 0
    const hi = this.sys[2 * s + 1]! >>> 0
    switch (key) {
      case SysReg.SCTLR_EL1:
        this.mmu.setSctlrEl1(hi, lo)
        this.mteChanged()
        break
      case SysReg.ID_AA64PFR1_EL1:
        this.mteChanged()
        return
      case SysReg.TCR_EL1:
        this.mmu.setTcrEl1(hi, lo)
        break
      case SysReg.TTBR0_EL1:
        this.mmu.setTtbr0El1(hi, lo)
        break
      case SysReg.TTBR1_EL1:
        this.mmu.setTtbr1El1(hi, lo)
        break
      case SysReg.MAIR_EL1:
        this.mmu.setMairEl1(hi, lo)
        break
      default:
        return
    }
    this.fetchLo = 1
  }

  private setSpSel(v: number): void {
    this.saveSp()
    this.p[PS.SPSEL] = v
    this.loadSp()
  }

  /** MSR (immediate) to a PSTATE field. False = UNDEFINED. */
  msrImmediate(op1: number, op2: number, crm: number): boolean {
    const p = this.p
    const el = p[PS.EL]!
    if (op1 === 0 && el === 0) return false
    if (op1 === 0 && op2 === 5) this.setSpSel(crm & 1)
    else if (op1 === 3 && (op2 === 6 || op2 === 7)) {
      if (el === 0 && (this.sys[2 * SLOT.SCTLR_EL1]! & (1 << 9)) === 0) {
        this.sysTrapToEl1(sysregKey3(op1, op2), 31, false)
      }
      p[PS.DAIF] = op2 === 6 ? p[PS.DAIF]! | crm : p[PS.DAIF]! & ~crm
      if (op2 === 7) this.fetchLo = 1 // unmasking: let a pending interrupt in
    } else if (op1 === 0 && op2 === 4) {
      p[PS.PAN] = crm & 1
      this.modeChanged()
    } else if (op1 === 0 && op2 === 3) p[PS.UAO] = crm & 1
    else if (op1 === 3 && op2 === 1) p[PS.SSBS] = crm & 1
    else if (op1 === 3 && op2 === 4 && this.mteLevel() !== 0) {
      p[PS.TCO] = crm & 1
      this.mteChanged()
    } else return false
    return true
  }

  // =====================================================================================
  // Hypervisor API (BigInt only here, at the edge)

  /** Returns X0..X30 (n = 31 reads as zero). */
  getX(n: number): bigint {
    checkReg(n, 31)
    return (BigInt(this.x[2 * n + 1]! >>> 0) << 32n) | BigInt(this.x[2 * n]! >>> 0)
  }

  setX(n: number, value: bigint): void {
    checkReg(n, 31)
    const v = checkU64(value)
    if (n === 31) return
    this.x[2 * n] = Number(v & 0xffffffffn)
    this.x[2 * n + 1] = Number(v >> 32n)
  }

  get pc(): bigint {
    return (BigInt(this.pcHi) << 32n) | BigInt(this.pcLo)
  }

  set pc(value: bigint) {
    const v = checkU64(value)
    this.pcLo = Number(v & 0xffffffffn)
    this.pcHi = Number(v >> 32n)
  }

  /** The stack pointer currently selected. */
  get sp(): bigint {
    return (BigInt(this.x[2 * REG_SP + 1]! >>> 0) << 32n) | BigInt(this.x[2 * REG_SP]! >>> 0)
  }

  set sp(value: bigint) {
    const v = checkU64(value)
    this.x[2 * REG_SP] = Number(v & 0xffffffffn)
    this.x[2 * REG_SP + 1] = Number(v >> 32n)
  }

  /** SP_EL0 or SP_EL1, whichever is selected or not. */
  getSpEl(el: 0 | 1): bigint {
    this.saveSp()
    const b = el === 0 ? 0 : 2
    return (BigInt(this.spBank[b + 1]! >>> 0) << 32n) | BigInt(this.spBank[b]! >>> 0)
  }

  setSpEl(el: 0 | 1, value: bigint): void {
    const v = checkU64(value)
    this.saveSp()
    const b = el === 0 ? 0 : 2
    this.spBank[b] = Number(v & 0xffffffffn)
    this.spBank[b + 1] = Number(v >> 32n)
    this.loadSp()
  }

  /** PSTATE in SPSR layout (M[3:0], DAIF, NZCV, PAN, UAO, TCO, SSBS, IL...). */
  get pstate(): number {
    return packSpsr(this.p)
  }

  set pstate(spsr: number) {
    if (!Number.isInteger(spsr) || spsr < 0 || spsr > 0xffffffff) throw new RangeError(`bad PSTATE ${spsr}`)
    const m = spsr & 0x1f
    if (m !== 0 && m !== 4 && m !== 5) throw new RangeError(`PSTATE mode ${m.toString(2)} is not EL0t, EL1t or EL1h`)
    this.saveSp()
    this.restorePstate(spsr, true)
    this.loadSp()
    this.modeChanged()
  }

  /** Reads a system register by key or name, without traps (KVM ONE_REG). */
  getSysreg(reg: number | StoredSysRegName | keyof typeof SysReg): bigint {
    const key = toKey(reg)
    if (!this.readSysreg(key)) throw new RangeError(`system register ${sysregName(key)} is not implemented`)
    return (BigInt(this.sysHi) << 32n) | BigInt(this.sysLo)
  }

  /** Writes a system register by key or name, without traps; ID registers included. */
  setSysreg(reg: number | StoredSysRegName | keyof typeof SysReg, value: bigint): void {
    const key = toKey(reg)
    const v = checkU64(value)
    const lo = Number(v & 0xffffffffn)
    const hi = Number(v >> 32n)
    if (this.writeSysreg(key, lo, hi)) return
    const s = SLOT_BY_KEY[key]!
    if (s < 0) throw new RangeError(`system register ${sysregName(key)} is not implemented`)
    this.sys[2 * s] = lo
    this.sys[2 * s + 1] = hi
    this.storedChanged(key)
  }

  /** EL2 controls: the hypervisor's inputs. */
  setHcrEl2(value: bigint): void {
    const v = checkU64(value)
    this.hcrLo = Number(v & 0xffffffffn) | 0
    this.hcrHi = Number(v >> 32n) | 0
    this.mmu.setHcrEl2(this.hcrHi >>> 0, this.hcrLo >>> 0)
    this.fetchLo = 1
    this.mteChanged()
  }

  get hcrEl2(): bigint {
    return (BigInt(this.hcrHi >>> 0) << 32n) | BigInt(this.hcrLo >>> 0)
  }

  setVttbrEl2(value: bigint): void {
    const v = checkU64(value)
    this.mmu.setVttbrEl2(Number(v >> 32n), Number(v & 0xffffffffn))
    this.fetchLo = 1
  }

  setVtcrEl2(value: number): void {
    if (!Number.isInteger(value) || value < 0 || value > 0xffffffff) throw new RangeError(`bad VTCR_EL2 ${value}`)
    this.mmu.setVtcrEl2(value)
    this.fetchLo = 1
  }

  /** MDCR_EL2 (TDA bit 9, TDOSA bit 10 are honoured). */
  setMdcrEl2(value: number): void {
    this.mdcr = value | 0
  }

  /** CPTR_EL2 (TFP bit 10 traps FP/SIMD to EL2). */
  setCptrEl2(value: number): void {
    this.cptr = value | 0
  }

  /** CNTVOFF_EL2 as a number of counter ticks. */
  setCntvoff(ticks: number): void {
    if (!Number.isSafeInteger(ticks)) throw new RangeError(`bad CNTVOFF ${ticks}`)
    this.cntvoff = ticks
  }

  /** Moves PC past the current instruction (after emulating a trapped one). */
  advancePc(): void {
    this.advancePcRaw()
    this.instret++
  }

  /**
   * Completes the MMIO access of the last data-abort exit with ISV set: a load gets
   * `dataLo`/`dataHi` (truncated to the access size, sign-extended as the instruction
   * says) in its register; PC moves past the instruction.
   */
  completeMmio(dataLo = 0, dataHi = 0): void {
    if (!this.mmioPending) throw new RangeError('no MMIO access is pending')
    this.mmioPending = false
    if (!this.mmioIsWrite && this.mmioSrt !== 31) {
      const size = this.mmioSize
      let lo = dataLo >>> 0
      let hi = dataHi >>> 0
      if (size < 8) {
        hi = 0
        if (size < 4) lo &= size === 1 ? 0xff : 0xffff
        if (this.mmioSignExtend) {
          const shift = 32 - size * 8
          lo = ((lo << shift) >> shift) >>> 0
          hi = lo >>> 31 ? 0xffffffff : 0
        }
        if (!this.mmioSixtyFour) hi = 0
      }
      this.x[2 * this.mmioSrt] = lo
      this.x[2 * this.mmioSrt + 1] = hi
    }
    this.advancePc()
  }

  /** Abandons a pending MMIO access (e.g. to inject an abort instead). */
  cancelMmio(): void {
    this.mmioPending = false
  }

  /** Injects an UNDEFINED exception at the current PC into EL1 (kvm_inject_undefined). */
  injectUndefined(): void {
    this.mmioPending = false
    this.enterEl1(syndrome(EC.UNKNOWN, true, 0), this.pcLo, this.pcHi, 0)
  }

  /** Injects a synchronous external abort (data or instruction) at the current PC with FAR = far. */
  injectAbort(isData: boolean, far: bigint): void {
    const v = checkU64(far)
    this.mmioPending = false
    this.setFar(Number(v >> 32n), Number(v & 0xffffffffn))
    const lower = this.p[PS.EL] === 0
    const ec = isData ? (lower ? EC.DABT_LOWER : EC.DABT_CURRENT) : lower ? EC.IABT_LOWER : EC.IABT_CURRENT
    this.enterEl1(syndrome(ec, true, 0x10), this.pcLo, this.pcHi, 0)
  }

  /** Architectural reset into EL1h, as QEMU starts a bare-metal ELF. */
  reset(): void {
    this.x.fill(0)
    this.p.fill(0)
    this.sys.fill(0)
    this.spBank.fill(0)
    this.pcLo = 0
    this.pcHi = 0
    for (const name of STORED_SYSREGS) {
      const v = DEFAULT_ID_REGISTERS[name]
      if (v) {
        this.sys[2 * SLOT[name]] = v[1]
        this.sys[2 * SLOT[name] + 1] = v[0]
      }
    }
    this.p[PS.EL] = 1
    this.p[PS.SPSEL] = 1
    this.p[PS.DAIF] = 0xf
    this.exclusiveValid = false
    this.mmioPending = false
    this.pendingExit = null
    this.mmu.setSctlrEl1(0, this.sys[2 * SLOT.SCTLR_EL1]! >>> 0)
    this.mmu.setTcrEl1(0, 0)
    this.mmu.setMairEl1(0, 0)
    this.mmu.setTtbr0El1(0, 0)
    this.mmu.setTtbr1El1(0, 0)
    this.mmu.flushAll()
    this.modeChanged()
  }

  /** TLB maintenance from the guest, then drop the fetch page. */
  tlbi(op: number, hi: number, lo: number): void {
    this.mmu.tlbi(op, hi, lo)
    this.fetchLo = 1
  }

  /** AT S1E{0,1}{R,W}: writes PAR_EL1 (IPA and attributes, or the fault). */
  addressTranslate(hi: number, lo: number, el: 0 | 1, isWrite: boolean): void {
    const tr = this.tr
    const pan = false
    const ok = this.mmu.walk(hi, lo, isWrite ? ACCESS_WRITE : ACCESS_READ, el, pan, tr)
    let parLo: number
    let parHi = 0
    if (ok || (tr.stage === 2 && !tr.s1ptw && tr.ipaValid)) {
      // AT S1E* reports the stage-1 output (an IPA), never stage 2's result.
      const ipa = ok ? tr.ipa : tr.faultIpa
      parLo = (ipa % TWO32 & 0xfffff000) >>> 0
      parHi = (Math.floor(ipa / TWO32) & 0xffff) | (ok ? (tr.attrs & 0xff) << 24 : 0)
      parLo |= 0x800 // RES1 bit 11
    } else if (tr.stage === 2) {
      // A stage-2 fault on the stage-1 walk goes to EL2.
      this.dataFault(hi, lo, isWrite ? ACCESS_WRITE : ACCESS_READ, ACC_CM, 0)
    } else {
      parLo = 1 | (tr.fsc << 1) | 0x800
    }
    this.sys[2 * SLOT.PAR_EL1] = parLo
    this.sys[2 * SLOT.PAR_EL1 + 1] = parHi
  }
}

// SYS operation keys (op0 = 1).
export const DC_IVAC = (1 << 14) | (0 << 11) | (7 << 7) | (6 << 3) | 1
export const DC_ISW = (1 << 14) | (0 << 11) | (7 << 7) | (6 << 3) | 2
export const DC_CSW = (1 << 14) | (0 << 11) | (7 << 7) | (10 << 3) | 2
export const DC_CISW = (1 << 14) | (0 << 11) | (7 << 7) | (14 << 3) | 2
export const DC_ZVA = (1 << 14) | (3 << 11) | (7 << 7) | (4 << 3) | 1
export const DC_CVAC = (1 << 14) | (3 << 11) | (7 << 7) | (10 << 3) | 1
export const DC_CVAU = (1 << 14) | (3 << 11) | (7 << 7) | (11 << 3) | 1
export const DC_CIVAC = (1 << 14) | (3 << 11) | (7 << 7) | (14 << 3) | 1
export const IC_IALLUIS = (1 << 14) | (0 << 11) | (7 << 7) | (1 << 3) | 0
export const IC_IALLU = (1 << 14) | (0 << 11) | (7 << 7) | (5 << 3) | 0
export const IC_IVAU = (1 << 14) | (3 << 11) | (7 << 7) | (5 << 3) | 1

/** ISS of EC 0x18: Op0 21:20, Op2 19:17, Op1 16:14, CRn 13:10, Rt 9:5, CRm 4:1, Dir 0. */
export function sysIss(key: number, rt: number, isRead: boolean): number {
  const op0 = key >>> 14
  const op1 = (key >>> 11) & 7
  const crn = (key >>> 7) & 15
  const crm = (key >>> 3) & 15
  const op2 = key & 7
  return (op0 << 20) | (op2 << 17) | (op1 << 14) | (crn << 10) | (rt << 5) | (crm << 1) | (isRead ? 1 : 0)
}

/** Key of the MSR-immediate encoding, reported as op0=0 in a trap syndrome. */
function sysregKey3(op1: number, op2: number): number {
  return (op1 << 11) | (4 << 7) | op2
}

function toKey(reg: number | string): number {
  if (typeof reg === 'number') {
    if (!Number.isInteger(reg) || reg < 0 || reg > 0xffff) throw new RangeError(`system register key ${reg} is not a 16-bit encoding`)
    return reg
  }
  const key = (SysReg as Record<string, number>)[reg]
  if (key === undefined) throw new RangeError(`unknown system register ${reg}`)
  return key
}

function checkReg(n: number, max: number): void {
  if (!Number.isInteger(n) || n < 0 || n > max) throw new RangeError(`register number ${n} is not in 0..${max}`)
}

function checkU64(v: bigint): bigint {
  if (typeof v !== 'bigint' || v < 0n || v > 0xffffffffffffffffn) throw new RangeError(`value ${String(v)} is not a uint64`)
  return v
}
