// One virtual A64 CPU at EL0/EL1 under a hypervisor: its state (typed arrays), the run
// loop, and the API the hypervisor drives it with. The loop fetches through the code cache
// (code-cache.ts), data accesses go through the data path (data-path.ts), system
// registers are descriptor rows (sysreg-table.ts), and everything that belongs to EL2 ends
// `run()` with a reusable exit record (exceptions.ts). Guest exceptions unwind out of an
// instruction by throwing TRAP after the architectural state change has been made.

import { Mmu } from '@tagvm/mmu'
import { CPTR_TFP, HCR } from './constants.js'
import { CodeCache } from './code-cache.js'
import { DataPath } from './data-path.js'
import { CpuDebug, type CpuDebugConfig } from './debug.js'
import { TRAP, enterEl1, exceptionReturn, fpAccess, hvc, setFar, smc, takeException, trapSysToEl2, waitFor } from './exceptions.js'
import { checkReg, checkU64, toKey } from './arg-checks.js'
import { ExitRecords, type CpuExit } from './exits.js'
import { EXIT_BRANCH, EXIT_STOP, Jit, type JitOptions } from './jit/jit.js'
import type { CpuMemory } from './memory.js'
import { FpRegs } from './fp-regs.js'
import { MteUnit } from './mte.js'
import { loadSp, restorePstate, saveSp, setSpSel } from './pstate.js'
import { PS, PS_SIZE, REG_SLOTS, REG_SP, packSpsr } from './state.js'
import { SysReg, sysIss, sysregName } from './sysreg-encoding.js'
import { SysRegTable, hostRead, hostWrite, resetStored } from './sysreg-access.js'
import { DEBUG_REG_WORDS } from './sysreg-debug.js'
import type { SysregDevice } from './sysreg-gic.js'
import { TIMER_SYSREG_ROWS } from './sysreg-timer.js'
import { SLOT, STORED_SYSREGS, type StoredSysRegName, type SysRegDesc } from './sysreg-table.js'
import { ExceptionClass as EC, syndrome } from './syndrome.js'
import { CpuKick } from './kick.js'
import { storeAsDoubles } from './field-shapes.js'

export type { CpuMemory, FrameData } from './memory.js'

export interface CpuOptions {
  memory: CpuMemory
  /** The vCPU's MMU; one is made over `memory` if absent. */
  mmu?: Mmu
  /** Run hot straight-line code as generated block functions (default true); off, each instruction is dispatched alone (same results). */
  blocks?: boolean
  /** The compiled tier (default off): hot code in WebAssembly; `memory` must be a PhysicalMemory made with `wasmMemory` (same results). */
  jit?: boolean | JitOptions
}

export class Cpu {
  readonly memory: CpuMemory
  readonly mmu: Mmu

  // ---- architectural state (typed arrays) ----
  /** General registers and SP as lo/hi pairs; see state.ts for slots 31..33 (in the wasm memory with the jit). */
  readonly x: Int32Array
  /** PSTATE fields, indexed by PS. */
  readonly p = new Int32Array(PS_SIZE)
  /** Stored system registers, lo/hi pairs indexed by SLOT (in the wasm memory with the jit). */
  readonly sys: Int32Array
  /** Banked stack pointers: SP_EL0 (0,1) and SP_EL1 (2,3); the current one lives in x (in the wasm memory with the jit). */
  readonly spBank: Int32Array
  /** V0-V31 (layout in fp-regs.ts); FPCR/FPSR are in `sys`. */
  readonly fpRegs: FpRegs
  /** PC halves (uint32 numbers). */
  pcLo = 0
  pcHi = 0
  // EL2 inputs.
  hcrLo = 0
  hcrHi = 0
  mdcr = 0
  cptr = 0
  cntvoff = 0
  /** Interrupt lines from an interrupt controller: bit 0 IRQ, bit 1 FIQ (beside HCR_EL2.VI/VF). */
  irqLines = 0
  /** The GIC CPU interface behind the ICC_*_EL1 rows (null: they are UNDEFINED). */
  gic: SysregDevice | null = null
  /** The generic timers behind the CNT* rows once attached (null: the CPU's own counter). */
  timers: SysregDevice | null = null
  /** Breakpoint and watchpoint registers (sysreg-debug.ts), lo/hi pairs. */
  readonly debugRegs = new Int32Array(DEBUG_REG_WORDS)

  /** Instructions retired before the current run. */
  private instret = 0
  /** Budget left in the current run (read by counter registers mid-run). */
  left = 0
  private runBudget = 0
  /** While a block runs: the PC just past its last instruction (0 otherwise). */
  blockEnd = 0
  /** A word another thread moves to end this CPU's run at the next block (kick.ts). */
  readonly kick = new CpuKick()

  // ---- the CPU's parts ----
  /** @internal Loads, stores, translation, host frames, exclusives. */
  readonly data: DataPath
  /** @internal Decoded code per physical page, fetch, blocks. */
  readonly code: CodeCache
  /** @internal MTE state and tag checks. */
  readonly mte: MteUnit
  /** The compiled tier, or null (option `jit`). */
  readonly jit: Jit | null
  /** @internal The hypervisor's guest debugging (debug.ts); null while it is off. */
  debug: CpuDebug | null = null
  /** @internal System register and system instruction rows. */
  readonly sysregs = new SysRegTable()

  // ---- exits ----
  readonly exits = new ExitRecords()
  /** @internal The exit the current instruction raised (read by the run loop). */
  pendingExit: CpuExit | null = null
  /** @internal A system register read's value (lo/hi) between a row's read and its user. */
  sysLo = 0
  sysHi = 0

  constructor(options: CpuOptions) {
    this.memory = options.memory
    this.mmu = options.mmu ?? new Mmu(options.memory)
    const jit = options.jit ?? false
    this.jit = jit === false ? null : new Jit(this, jit === true ? {} : jit)
    this.x = this.jit?.registers ?? new Int32Array(REG_SLOTS * 2)
    this.sys = this.jit?.sysRegisters ?? new Int32Array(STORED_SYSREGS.length * 2)
    this.spBank = this.jit?.spBank ?? new Int32Array(4)
    this.fpRegs = new FpRegs(this.x, this.p, this.sys, 2 * SLOT.FPCR, 2 * SLOT.FPSR, this.jit?.vregs)
    this.data = new DataPath(this)
    this.code = new CodeCache(this, options.blocks ?? true)
    this.mte = new MteUnit(this, this.data.frames)
    this.reset()
    storeAsDoubles(this, ['pcLo', 'pcHi', 'instret', 'left', 'blockEnd', 'sysLo', 'sysHi'])
  }

  // =====================================================================================
  // Running

  /**
   * Runs up to `budget` instructions. Returns the budget exit when they are spent, or the
   * first exit to EL2. Guest exceptions to EL1 are taken inside and do not end the run.
   */
  run(budget: number): CpuExit {
    if (!Number.isInteger(budget) || budget < 0) throw new RangeError(`budget must be a non-negative integer, got ${budget}`)
    this.runBudget = budget
    this.left = budget
    // Entering the guest is a context synchronisation: code written meanwhile (by the VMM,
    // another vCPU) is seen.
    this.code.sync()
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
    const code = this.code
    const countHits = code.useBlocks || this.jit !== null
    const hot = code.hot
    const jit = this.jit
    // After a translation left for the interpreter, the next instruction is interpreted.
    let interpretNext = false
    const kick = this.kick
    for (;;) {
      try {
        while (this.left > 0) {
          if (kick.words !== null && kick.moved(kick.words)) break
          let pcLo = this.pcLo
          if ((pcLo & 0xfffff003) !== code.fetchLo || this.pcHi !== code.fetchHi) {
            code.enterPage()
            pcLo = this.pcLo // an interrupt taken there moves PC
          }
          const i = (pcLo & 0xfff) >>> 2
          const page = code.fetchPage
          if (page.jit !== null && !interpretNext) {
            const entry = page.jit[i]
            if (entry !== undefined) {
              const exit = jit!.enter(entry)
              if (exit !== EXIT_BRANCH) {
                if (exit === EXIT_STOP) code.refetch()
                else interpretNext = true
              }
              continue
            }
          }
          interpretNext = false
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
          if (h === undefined) h = code.compileAt(i)
          this.left--
          if (h() === 0) {
            const next = (pcLo + 4) >>> 0
            this.pcLo = next
            if (next === 0) this.pcHi = (this.pcHi + 1) >>> 0
          }
          if (countHits && page.hits[i]! < 255 && ++page.hits[i]! === hot) code.hotEntry(page, i)
        }
        return this.exits.budget
      } catch (e) {
        this.blockEnd = 0
        interpretNext = false
        if (e !== TRAP) throw e
        const exit = this.pendingExit
        if (exit !== null) {
          this.pendingExit = null
          return exit
        }
      }
    }
  }

  /** Instructions retired so far (including the current run). */
  get retired(): number {
    return this.instret + (this.runBudget - this.left)
  }

  /** Drops the current fetch page so the next instruction re-translates its PC. */
  refetch(): void {
    this.code.refetch()
  }

  /**
   * Hypervisor debugging of this CPU (KVM_SET_GUEST_DEBUG's breakpoints, watchpoints, BRK
   * and tag-fault exits), or null to stop. This CPU's decoded code is dropped so that
   * breakpoints are compiled in (and out).
   */
  setDebug(config: CpuDebugConfig | null): void {
    this.debug = config === null ? null : new CpuDebug(this, config, this.debug)
    this.code.invalidateAll()
    this.code.refetch()
    this.data.modeChanged()
  }

  /** Drops decoded instructions for physical range [pa, pa+length) (e.g. after loading an image). */
  invalidateCode(pa: number, length: number): void {
    this.code.invalidateRange(pa, length)
  }

  // =====================================================================================
  // What instructions call (guest exceptions, exits, mode changes)

  /** @internal Takes a synchronous exception to EL1 with return address retLo/retHi. */
  exception(ec: number, iss: number, retLo: number, retHi: number): never {
    return takeException(this, ec, iss, retLo, retHi)
  }

  /** @internal UNDEFINED instruction at the current PC. */
  undefined(): never {
    return takeException(this, EC.UNKNOWN, 0, this.pcLo, this.pcHi)
  }

  /** @internal */
  svc(imm16: number): never {
    const next = (this.pcLo + 4) >>> 0
    return takeException(this, EC.SVC64, imm16, next, next === 0 ? (this.pcHi + 1) >>> 0 : this.pcHi)
  }

  /** @internal */
  brk(imm16: number): never {
    if (this.debug !== null) this.debug.brk(imm16)
    return takeException(this, EC.BRK64, imm16, this.pcLo, this.pcHi)
  }

  /** @internal */
  hvc(imm16: number): never {
    return hvc(this, imm16)
  }

  /** @internal */
  smc(imm16: number): never {
    return smc(this, imm16)
  }

  /** @internal WFI (isWfe false) or WFE. */
  wfx(isWfe: boolean): void {
    waitFor(this, isWfe)
  }

  /** @internal Whether FP/SIMD may run now: CPACR_EL1.FPEN and CPTR_EL2.TFP do not trap it. */
  fpEnabled(): boolean {
    const fpen = (this.sys[2 * SLOT.CPACR_EL1]! >>> 20) & 3
    return (fpen === 3 || (fpen === 1 && this.p[PS.EL] === 1)) && (this.cptr & CPTR_TFP) === 0
  }

  /** @internal An FP/SIMD instruction or register access while fpEnabled() is false: EC 0x07 to EL1 or EL2. */
  fpInstruction(): never {
    return fpAccess(this)
  }

  /** @internal ERET from EL1. */
  eret(): void {
    exceptionReturn(this)
  }

  /** @internal MSR/MRS/SYS trapped to EL1 (EC 0x18). */
  trapSysToEl1(key: number, rt: number, isRead: boolean): never {
    return takeException(this, EC.SYS64, sysIss(key, rt, isRead), this.pcLo, this.pcHi)
  }

  /** @internal MSR/MRS/SYS trapped to EL2 (EC 0x18). */
  trapSysToEl2(key: number, rt: number, isRead: boolean): never {
    return trapSysToEl2(this, key, rt, isRead)
  }

  /** @internal */
  setSpSel(v: number): void {
    setSpSel(this, v)
  }

  /** @internal Recomputes what depends on EL and PAN. */
  modeChanged(): void {
    this.data.modeChanged()
    this.code.refetch()
    this.mteChanged()
  }

  /** @internal Recomputes the MTE fast-path filter (after EL, TCO, SCTLR_EL1, HCR_EL2 or ID register changes). */
  mteChanged(): void {
    this.data.tagCheckMask = this.mte.checkMask()
    this.jit?.invalidateTlb()
  }

  /** ID_AA64PFR1_EL1.MTE: 0 none, 1 instructions only, 2 MTE2, 3 MTE3. */
  mteLevel(): number {
    return this.mte.level()
  }

  /** @internal TLB maintenance from the guest, then drop the fetch page. */
  tlbi(op: number, hi: number, lo: number): void {
    this.mmu.tlbi(op, hi, lo)
    this.code.refetch()
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

  /** X<n> as uint32 halves without BigInt (n = 31 reads zero): the hypervisor's MMIO path. */
  xLo(n: number): number {
    checkReg(n, 31)
    return this.x[2 * n]! >>> 0
  }

  /** The high half of X<n> (see xLo). */
  xHi(n: number): number {
    checkReg(n, 31)
    return this.x[2 * n + 1]! >>> 0
  }

  /** Writes X<n> from uint32 halves (n = 31: XZR, the value is discarded). */
  setXHalves(n: number, lo: number, hi: number): void {
    checkReg(n, 31)
    if (n === 31) return
    this.x[2 * n] = lo
    this.x[2 * n + 1] = hi
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
    saveSp(this)
    const b = el === 0 ? 0 : 2
    return (BigInt(this.spBank[b + 1]! >>> 0) << 32n) | BigInt(this.spBank[b]! >>> 0)
  }

  setSpEl(el: 0 | 1, value: bigint): void {
    const v = checkU64(value)
    saveSp(this)
    const b = el === 0 ? 0 : 2
    this.spBank[b] = Number(v & 0xffffffffn)
    this.spBank[b + 1] = Number(v >> 32n)
    loadSp(this)
  }

  /** PSTATE in SPSR layout (M[3:0], DAIF, NZCV, PAN, UAO, TCO, SSBS, IL...). */
  get pstate(): number {
    return packSpsr(this.p)
  }

  set pstate(spsr: number) {
    if (!Number.isInteger(spsr) || spsr < 0 || spsr > 0xffffffff) throw new RangeError(`bad PSTATE ${spsr}`)
    const m = spsr & 0x1f
    if (m !== 0 && m !== 4 && m !== 5) throw new RangeError(`PSTATE mode ${m.toString(2)} is not EL0t, EL1t or EL1h`)
    saveSp(this)
    restorePstate(this, spsr, true)
    loadSp(this)
    this.modeChanged()
  }

  /** V<n> (0..31) as a 128-bit value (KVM ONE_REG fp_regs.vregs[n]). */
  getV(n: number): bigint {
    return this.fpRegs.get(n)
  }

  /** Sets V<n> (0..31) from a 128-bit value. */
  setV(n: number, value: bigint): void {
    this.fpRegs.set(n, value)
  }

  /** Whether this CPU implements the system register now (a getSysreg would not throw). */
  hasSysreg(reg: number | StoredSysRegName | keyof typeof SysReg): boolean {
    return hostRead(this, this.sysregs.get(toKey(reg)))
  }

  /** Reads a system register by key or name, without traps (KVM ONE_REG). */
  getSysreg(reg: number | StoredSysRegName | keyof typeof SysReg): bigint {
    const key = toKey(reg)
    if (!hostRead(this, this.sysregs.get(key))) throw new RangeError(`system register ${sysregName(key)} is not implemented`)
    return (BigInt(this.sysHi) << 32n) | BigInt(this.sysLo)
  }

  /** Writes a system register by key or name, without traps; ID registers included. */
  setSysreg(reg: number | StoredSysRegName | keyof typeof SysReg, value: bigint): void {
    const key = toKey(reg)
    const v = checkU64(value)
    if (!hostWrite(this, this.sysregs.get(key), Number(v & 0xffffffffn), Number(v >> 32n))) {
      throw new RangeError(`system register ${sysregName(key)} is not implemented`)
    }
  }

  /**
   * Adds system register rows (or replaces rows with the same key): registers the
   * hypervisor emulates itself (a GIC CPU interface, timers). Rows are looked up when code
   * is compiled, so decoded code is dropped.
   */
  defineSysregs(rows: readonly SysRegDesc[]): void {
    this.sysregs.define(rows)
    this.code.invalidateAll()
  }

  /** Attaches the GIC CPU interface the ICC_*_EL1 registers reach (null detaches it). */
  attachGic(device: SysregDevice | null): void {
    this.gic = device
    this.code.invalidateAll()
  }

  /** Attaches the generic timers: CNTPCT/CNTVCT and the EL1 timers are theirs from now on. */
  attachTimers(device: SysregDevice): void {
    this.timers = device
    this.defineSysregs(TIMER_SYSREG_ROWS)
  }

  /**
   * The interrupt controller's output to this CPU (bit 0 IRQ, bit 1 FIQ). A line that rises
   * is taken at the next instruction boundary where PSTATE lets it in: the fetch page is
   * dropped so the run loop looks (a change comes from an MSR, which ends a block, or from
   * outside a run), and nothing is checked per instruction otherwise.
   */
  setInterruptLines(lines: number): void {
    const v = lines & 3
    if (v === this.irqLines) return
    this.irqLines = v
    if (v !== 0) this.code.refetch()
  }

  /** @internal ISR_EL1's I (bit 1) and F (bit 0): the lines, and HCR_EL2.VI/VF where IMO/FMO route them. */
  pendingInterrupts(): number {
    const hcr = this.hcrLo
    const irq = (this.irqLines & 1) !== 0 || ((hcr & HCR.VI) !== 0 && (hcr & HCR.IMO) !== 0)
    const fiq = (this.irqLines & 2) !== 0 || ((hcr & HCR.VF) !== 0 && (hcr & HCR.FMO) !== 0)
    return (irq ? 2 : 0) | (fiq ? 1 : 0)
  }

  /** EL2 controls: the hypervisor's inputs. */
  setHcrEl2(value: bigint): void {
    const v = checkU64(value)
    this.hcrLo = Number(v & 0xffffffffn) | 0
    this.hcrHi = Number(v >> 32n) | 0
    this.mmu.setHcrEl2(this.hcrHi >>> 0, this.hcrLo >>> 0)
    this.code.refetch()
    this.mteChanged()
  }

  get hcrEl2(): bigint {
    return (BigInt(this.hcrHi >>> 0) << 32n) | BigInt(this.hcrLo >>> 0)
  }

  setVttbrEl2(value: bigint): void {
    const v = checkU64(value)
    this.mmu.setVttbrEl2(Number(v >> 32n), Number(v & 0xffffffffn))
    this.code.refetch()
  }

  setVtcrEl2(value: number): void {
    if (!Number.isInteger(value) || value < 0 || value > 0xffffffff) throw new RangeError(`bad VTCR_EL2 ${value}`)
    this.mmu.setVtcrEl2(value)
    this.code.refetch()
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
    const next = (this.pcLo + 4) >>> 0
    this.pcLo = next
    if (next === 0) this.pcHi = (this.pcHi + 1) >>> 0
    this.instret++
  }

  /**
   * Injects an UNDEFINED exception at the current PC into EL1 (kvm_inject_undefined). The
   * instruction that exited (a trapped system register access, say) ends in that exception:
   * it counts as one step in `retired`, as an UNDEFINED instruction the CPU takes itself does.
   */
  injectUndefined(): void {
    enterEl1(this, syndrome(EC.UNKNOWN, true, 0), this.pcLo, this.pcHi, 0)
    this.instret++
  }

  /**
   * Injects a synchronous external abort (data or instruction) at the current PC with FAR =
   * far. A data abort ends the instruction that made the access and counts as one step; an
   * instruction abort counts none (nothing was fetched to count).
   */
  injectAbort(isData: boolean, far: bigint): void {
    const v = checkU64(far)
    setFar(this, Number(v >> 32n), Number(v & 0xffffffffn))
    const lower = this.p[PS.EL] === 0
    const ec = isData ? (lower ? EC.DABT_LOWER : EC.DABT_CURRENT) : lower ? EC.IABT_LOWER : EC.IABT_CURRENT
    enterEl1(this, syndrome(ec, true, 0x10), this.pcLo, this.pcHi, 0)
    if (isData) this.instret++
  }

  /** Architectural reset into EL1h, as QEMU starts a bare-metal ELF. */
  reset(): void {
    this.x.fill(0)
    this.p.fill(0)
    this.spBank.fill(0)
    this.fpRegs.reset()
    this.debugRegs.fill(0)
    this.pcLo = this.pcHi = 0
    resetStored(this)
    this.p[PS.EL] = 1
    this.p[PS.SPSEL] = 1
    this.p[PS.DAIF] = 0xf
    this.data.clearExclusive()
    this.pendingExit = null
    this.mmu.setSctlrEl1(0, this.sys[2 * SLOT.SCTLR_EL1]! >>> 0)
    this.mmu.setTcrEl1(0, 0)
    this.mmu.setMairEl1(0, 0)
    this.mmu.setTtbr0El1(0, 0)
    this.mmu.setTtbr1El1(0, 0)
    this.mmu.flushAll()
    this.modeChanged()
  }
}
