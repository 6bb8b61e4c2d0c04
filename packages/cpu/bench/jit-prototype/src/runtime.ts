// What the translated code runs inside: guest state in the wasm memory, the fast data TLB
// and its fill helper, IRG's helper, the translation cache and the dispatch loop, and the
// hand-over to the interpreter (today's Cpu) for anything a translation leaves: an
// instruction it does not implement, a fault, a tag check that does not pass, or the end of
// the budget inside a block. The hand-over is where the exact-state contract is tested: a
// translation stops *before* the instruction it cannot finish, with every register, NZCV,
// PC and the retired count as the interpreter would have them there.

import type { CpuExit } from '../../../src/index.js'
import { ACCESS_FETCH, ACCESS_READ, ACCESS_WRITE, TranslationResult, permissionBit } from '@tagvm/mmu'
import { CC_LITERAL, nzcvOf } from './flags.js'
import {
  CRC_TABLES, PAGE, PC_CACHE, PC_CACHE_ENTRIES, PC_CACHE_ENTRY_BYTES, RAM_BASE, RAM_SIZE, STATE, TAG_BYTES_PER_PAGE, ST_EXIT_SITE, ST_GCR,
  ST_LEFT, ST_NZCV, ST_CC_OP, ST_CC_A, ST_CC_B, ST_PC, ST_RGSR, ST_SP, ST_X, TLB, TLB_ENTRIES, TLB_ENTRY_BYTES, TLB_HOST, TLB_READ_KEY, TLB_TAGS,
  TLB_WRITE_KEY, WASM_RAM, TLB_CHECK_MASK, TLB_CHECK_READ_KEY, TLB_CHECK_WRITE_KEY,
} from './layout.js'
import type { Machine } from './machine.js'
import { chooseTag, crc32cTables, lfsrStep4 } from './mte-ops.js'
import { formRegion, type Region } from './region.js'
import type { WasmTable } from './wasm-api.js'

/** Exit codes of a translation. */
export const EXIT_BRANCH = 0
export const EXIT_BUDGET = 1
export const EXIT_SLOW = 2
/** Only the wasm dispatcher: no translation for the PC in its cache. */
export const EXIT_MISS = 3

export interface Translation {
  /** Runs from block `entry` of the region until it leaves; returns an EXIT_* code. */
  run(entry: number): number
  region: Region
  /** Targets last seen at each exit site (the `links` dispatch). */
  links: (Target | undefined)[]
  /** The wasm function, for the table dispatch. */
  wasmFunction?: (entry: number) => number
  /** Bytes of generated code (JS source or wasm binary). */
  codeBytes: number
  /** CPU ms spent generating it, and compiling (+ instantiating) it. */
  codegenMs: number
  compileMs: number
}

export interface Target {
  t: Translation
  block: number
  pcLo: number
}

/** CPU milliseconds since t0 (process-wide: includes the engine's compiler threads). */
export function cpuMsSince(t0: NodeJS.CpuUsage): number {
  const u = process.cpuUsage(t0)
  return (u.user + u.system) / 1000
}

export interface Backend {
  readonly name: string
  compile(region: Region, rt: TierRuntime): Translation
}

export type Dispatch = 'map' | 'links' | 'table'

export interface TierOptions {
  /** Basic blocks per translation: 1 = block at a time; large = the whole page's reachable code. */
  maxBlocks: number
  dispatch: Dispatch
  /** Checked accesses compare the pointer's tag as part of the TLB key (wasm only; see layout.ts). */
  tagKeys: boolean
}

export interface TierStats {
  regions: number
  translatedInstructions: number
  /** CPU ms generating code (region formation, JS source or wasm bytes). */
  codegenMs: number
  /** CPU ms in `new Function` / WebAssembly.Module + Instance. */
  compileMs: number
  codeBytes: number
  interpretedSteps: number
  slowExits: number
  budgetExits: number
  tlbFills: number
  helperCalls: number
  /** Translations entered from the JS dispatch loop. */
  dispatches: number
}

/** The WebAssembly dispatcher the 'table' mode installs (built by wasm-backend.ts). */
export interface TableDispatcher {
  table: WasmTable
  dispatch: () => number
}

export class TierRuntime {
  readonly machine: Machine
  readonly buffer: SharedArrayBuffer
  readonly s32: Int32Array
  readonly u8: Uint8Array
  readonly dv: DataView
  readonly crc: Int32Array
  readonly checks: boolean
  readonly options: TierOptions
  readonly stats: TierStats = {
    regions: 0, translatedInstructions: 0, codegenMs: 0, compileMs: 0, codeBytes: 0, interpretedSteps: 0, slowExits: 0,
    budgetExits: 0, tlbFills: 0, helperCalls: 0, dispatches: 0,
  }
  /** Physical pages holding translated code: their writes never get a fast TLB entry. */
  readonly codePages = new Set<number>()
  /** Helpers the generated code calls (bound, so JS and wasm imports can take them as they are). */
  readonly fill: (lo: number, hi: number, isWrite: number) => number
  readonly irg: (excludeReg: number) => number
  readonly addgTag: (tag: number, offset: number) => number
  tableDispatcher: TableDispatcher | null = null
  private tableNext = 0

  private readonly cache = new Map<number, Target | null>()
  private readonly tr = new TranslationResult()
  private readonly backend: Backend

  constructor(machine: Machine, backend: Backend, options: TierOptions) {
    if (machine.wasmMemory === null) throw new Error('the translated tiers need the wasm-backed machine')
    if (options.tagKeys && backend.name !== 'wasm') throw new Error('tag keys are implemented in the wasm translator only')
    this.machine = machine
    this.backend = backend
    this.options = options
    this.checks = machine.checks
    this.buffer = machine.wasmMemory.buffer as SharedArrayBuffer
    this.s32 = new Int32Array(this.buffer)
    this.u8 = new Uint8Array(this.buffer)
    this.dv = new DataView(this.buffer)
    this.crc = new Int32Array(this.buffer, CRC_TABLES, 8 * 256)
    this.crc.set(crc32cTables())
    this.flushTlb()
    this.fill = (lo, hi, isWrite) => this.fillTlb(lo, hi, isWrite)
    this.irg = (excludeReg) => this.irgTag(excludeReg)
    this.addgTag = (tag, offset) => {
      this.stats.helperCalls++
      return chooseTag(tag, offset, this.s32[(STATE + ST_GCR) >> 2]! & 0xffff)
    }
  }

  flushTlb(): void {
    for (let i = 0; i < TLB_ENTRIES; i++) {
      const e = (TLB + i * TLB_ENTRY_BYTES) >> 2
      this.s32.fill(-1, e, e + TLB_ENTRY_BYTES / 4)
    }
  }

  /**
   * The fast TLB's miss path: a full translation through the vCPU's MMU (stage 1 and 2),
   * then the entry: host page offset, tag bytes offset if Tagged, write key only if the
   * page is writable and holds no translated code. 0: leave the access to the interpreter
   * (fault, Device/MMIO, outside RAM, a write to a code page).
   */
  private fillTlb(lo: number, hi: number, isWrite: number): number {
    this.stats.tlbFills++
    const mmu = this.machine.cpu.mmu
    const tr = this.tr
    if (!mmu.translate(hi >>> 0, lo >>> 0, isWrite !== 0 ? ACCESS_WRITE : ACCESS_READ, 1, false, tr)) return 0
    if (tr.device) return 0
    const paPage = tr.pa - (tr.pa % PAGE)
    if (paPage < RAM_BASE || paPage >= RAM_BASE + RAM_SIZE) return 0
    const code = this.codePages.has(paPage)
    if (isWrite !== 0 && code) return 0
    let writable = isWrite !== 0
    if (!writable && !code && tr.tlbIndex >= 0) {
      writable = (mmu.tlb.flags[tr.tlbIndex]! & permissionBit(1, ACCESS_WRITE, false)) !== 0
    }
    let tags = -1
    if (tr.tagged) {
      const ft = this.machine.memory.frameTags(paPage / PAGE, true)!
      if (ft.tags.buffer !== this.buffer) throw new Error('tag storage is not in the wasm memory')
      tags = ft.tags.byteOffset + ft.offset
    }
    const e = (TLB + ((lo >>> 12) & (TLB_ENTRIES - 1)) * TLB_ENTRY_BYTES) >> 2
    const keyLo = lo & ~0xfff
    const keyHi = hi & 0x00ff_ffff // TBI: the top byte is not part of the address
    const s = this.s32
    s[e + TLB_READ_KEY / 4] = keyLo
    s[e + TLB_READ_KEY / 4 + 1] = keyHi
    s[e + TLB_WRITE_KEY / 4] = writable ? keyLo : -1
    s[e + TLB_WRITE_KEY / 4 + 1] = writable ? keyHi : -1
    s[e + TLB_HOST / 4] = WASM_RAM + paPage - RAM_BASE
    s[e + TLB_TAGS / 4] = tags
    // Checked-access keys: untagged pages pass whatever the pointer's tag; a Tagged page
    // passes in one compare only if all its granules carry one tag.
    let uniform = -1
    if (tags >= 0) {
      uniform = this.u8[tags]!
      for (let i = 1; i < TAG_BYTES_PER_PAGE; i++) {
        if (this.u8[tags + i] !== uniform) {
          uniform = -1
          break
        }
      }
    }
    if (tags < 0 || uniform >= 0) {
      const tagHi = tags < 0 ? 0 : uniform << 24
      s[e + TLB_CHECK_MASK / 4] = -4096
      s[e + TLB_CHECK_MASK / 4 + 1] = tags < 0 ? 0x00ff_ffff : 0x0fff_ffff
      s[e + TLB_CHECK_READ_KEY / 4] = keyLo
      s[e + TLB_CHECK_READ_KEY / 4 + 1] = keyHi | tagHi
      s[e + TLB_CHECK_WRITE_KEY / 4] = writable ? keyLo : -1
      s[e + TLB_CHECK_WRITE_KEY / 4 + 1] = writable ? keyHi | tagHi : -1
    } else {
      s[e + TLB_CHECK_MASK / 4] = 0
      s[e + TLB_CHECK_MASK / 4 + 1] = 0
      s.fill(-1, e + TLB_CHECK_READ_KEY / 4, e + TLB_CHECK_WRITE_KEY / 4 + 2)
    }
    return 1
  }

  /** IRG's tag (RGSR_EL1 and GCR_EL1 live in the state area while translations run). */
  private irgTag(excludeReg: number): number {
    this.stats.helperCalls++
    const s = this.s32
    const gcr = s[(STATE + ST_GCR) >> 2]!
    const exclude = (excludeReg | gcr) & 0xffff
    const rgsr = s[(STATE + ST_RGSR) >> 2]!
    let seed = (rgsr >>> 8) & 0xffff
    if ((gcr & (1 << 16)) !== 0 && seed === 0) seed = 1
    const step = lfsrStep4(seed)
    const tag = chooseTag(rgsr & 15, step & 15, exclude)
    s[(STATE + ST_RGSR) >> 2] = ((step >>> 4) << 8) | tag
    return tag
  }

  // ---- state hand-over (BigInt only here, at the edges) ----

  /** Copies the Cpu's registers, PC, NZCV, RGSR and GCR into the state area. */
  syncFromCpu(): void {
    const cpu = this.machine.cpu
    const s = this.s32
    for (let n = 0; n < 31; n++) this.put64(ST_X + 8 * n, cpu.getX(n))
    this.put64(ST_SP, cpu.sp)
    this.put64(ST_PC, cpu.pc)
    s[(STATE + ST_NZCV) >> 2] = cpu.pstate & 0xf000_0000
    s[(STATE + ST_CC_OP) >> 2] = CC_LITERAL
    s[(STATE + ST_RGSR) >> 2] = Number(cpu.getSysreg('RGSR_EL1') & 0xffff_ffffn)
    s[(STATE + ST_GCR) >> 2] = Number(cpu.getSysreg('GCR_EL1') & 0xffff_ffffn)
  }

  /** The reverse of syncFromCpu. */
  syncToCpu(): void {
    const cpu = this.machine.cpu
    const s = this.s32
    for (let n = 0; n < 31; n++) cpu.setX(n, this.get64(ST_X + 8 * n))
    cpu.sp = this.get64(ST_SP)
    cpu.pc = this.get64(ST_PC)
    const a = (STATE + ST_CC_A) >> 2
    const b = (STATE + ST_CC_B) >> 2
    const nzcv = nzcvOf(s[(STATE + ST_CC_OP) >> 2]!, s[a]!, s[a + 1]!, s[b]!, s[b + 1]!, s[(STATE + ST_NZCV) >> 2]!)
    cpu.pstate = ((cpu.pstate & 0x0fff_ffff) | nzcv) >>> 0
    cpu.setSysreg('RGSR_EL1', BigInt(s[(STATE + ST_RGSR) >> 2]! >>> 0))
  }

  private put64(off: number, v: bigint): void {
    this.s32[(STATE + off) >> 2] = Number(v & 0xffff_ffffn) | 0
    this.s32[((STATE + off) >> 2) + 1] = Number(v >> 32n) | 0
  }

  private get64(off: number): bigint {
    return (BigInt(this.s32[((STATE + off) >> 2) + 1]! >>> 0) << 32n) | BigInt(this.s32[(STATE + off) >> 2]! >>> 0)
  }

  // ---- translation cache ----

  /** Target for the PC, translating a region there on first sight (null: not translatable). */
  private lookup(pcLo: number, pcHi: number): Target | null {
    if (pcHi !== 0) return null
    let target = this.cache.get(pcLo)
    if (target === undefined) target = this.translateAt(pcLo)
    return target
  }

  private translateAt(pc: number): Target | null {
    const cpu = this.machine.cpu
    const tr = this.tr
    let target: Target | null = null
    if (cpu.mmu.translate(0, pc >>> 0, ACCESS_FETCH, 1, false, tr) && !tr.device) {
      const paPage = tr.pa - (tr.pa % PAGE)
      const vaPage = pc & ~0xfff
      const memory = this.machine.memory
      const c0 = process.cpuUsage()
      const region = formRegion((at) => memory.read32(paPage + (at - vaPage)), pc, {
        maxBlocks: this.options.maxBlocks,
        maxInstructions: 1024,
      })
      const used = process.cpuUsage(c0)
      this.stats.codegenMs += (used.user + used.system) / 1000
      if (region.blocks[0]!.insns.length > 0) {
        const t = this.backend.compile(region, this)
        this.stats.regions++
        this.stats.translatedInstructions += region.instructions
        this.stats.codeBytes += t.codeBytes
        this.stats.codegenMs += t.codegenMs
        this.stats.compileMs += t.compileMs
        this.codePages.add(paPage)
        for (const [i, b] of region.blocks.entries()) {
          if (b.insns.length === 0) continue
          const at: Target = { t, block: i, pcLo: b.start }
          if (b.start === pc) target = at
          if (!this.cache.has(b.start)) {
            this.cache.set(b.start, at)
            if (this.tableDispatcher !== null) this.installInTable(at)
          }
        }
      }
    }
    if (target === null) this.cache.set(pc, null)
    return target
  }

  /** Puts a translation's function in the shared table and its block entries in the wasm PC cache. */
  private installInTable(at: Target): void {
    const d = this.tableDispatcher!
    const fn = at.t.wasmFunction
    if (fn === undefined) throw new Error('the table dispatch needs wasm translations')
    let index = (at.t as Translation & { tableIndex?: number }).tableIndex
    if (index === undefined) {
      index = this.tableNext++
      if (index >= d.table.length) d.table.grow(Math.max(64, d.table.length))
      d.table.set(index, fn)
      ;(at.t as Translation & { tableIndex?: number }).tableIndex = index
    }
    const e = (PC_CACHE + ((at.pcLo >>> 2) & (PC_CACHE_ENTRIES - 1)) * PC_CACHE_ENTRY_BYTES) >> 2
    this.s32[e] = at.pcLo
    this.s32[e + 1] = 0
    this.s32[e + 2] = index
    this.s32[e + 3] = at.block
  }

  // ---- running ----

  /**
   * Runs up to `budget` instructions from the Cpu's state, like Cpu.run: translated code
   * where it can, the interpreter for the rest. Leaves the Cpu with the final state.
   */
  run(budget: number): { exit: CpuExit | null; retired: number } {
    this.syncFromCpu()
    const s = this.s32
    const leftAt = (STATE + ST_LEFT) >> 2
    const pcAt = (STATE + ST_PC) >> 2
    s[leftAt] = budget
    let exit: CpuExit | null = null
    let current: Target | null = null
    for (;;) {
      if (s[leftAt]! <= 0) break
      let code: number
      if (this.options.dispatch === 'table') {
        code = this.tableDispatcher!.dispatch()
        if (code === EXIT_MISS) {
          const target = this.lookup(s[pcAt]!, s[pcAt + 1]!)
          code = target === null ? EXIT_SLOW : target.t.run(target.block)
        }
      } else {
        let target: Target | null
        if (this.options.dispatch === 'links' && current !== null) {
          const site = s[(STATE + ST_EXIT_SITE) >> 2]!
          const pc = s[pcAt]!
          target = current.t.links[site] ?? null
          if (target === null || target.pcLo !== pc || s[pcAt + 1] !== 0) {
            target = this.lookup(pc, s[pcAt + 1]!)
            if (target !== null) current.t.links[site] = target
          }
        } else {
          target = this.lookup(s[pcAt]!, s[pcAt + 1]!)
        }
        current = target
        this.stats.dispatches++
        code = target === null ? EXIT_SLOW : target.t.run(target.block)
      }
      if (code === EXIT_BRANCH) continue
      current = null
      // The rest of the budget does not cover the next block, or an instruction needs the
      // interpreter: hand over with exact state.
      if (code === EXIT_BUDGET) this.stats.budgetExits++
      else this.stats.slowExits++
      const steps = code === EXIT_BUDGET ? s[leftAt]! : 1
      exit = this.interpret(steps)
      if (exit.kind !== 'budget') break
      exit = null
    }
    const retired = budget - s[leftAt]!
    this.syncToCpu()
    return { exit, retired }
  }

  private interpret(steps: number): CpuExit {
    const cpu = this.machine.cpu
    this.syncToCpu()
    const before = cpu.retired
    const exit = cpu.run(steps)
    const done = cpu.retired - before
    this.stats.interpretedSteps += done
    this.syncFromCpu()
    // The interpreter may have written tags (or mappings): the checked-access keys may be stale.
    if (this.options.tagKeys) this.flushTlb()
    const leftAt = (STATE + ST_LEFT) >> 2
    this.s32[leftAt] = this.s32[leftAt]! - done
    return exit
  }

  /** The ccOp a translation starts with: NZCV as given in the state area. */
  static readonly ENTRY_CC = CC_LITERAL
}
