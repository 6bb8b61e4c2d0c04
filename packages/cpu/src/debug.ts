// Debugging of the guest by the hypervisor (KVM_SET_GUEST_DEBUG), not the guest's own debug
// registers: breakpoints, watchpoints, BRK to the VMM and tag check faults reported before
// they are taken. Everything here costs nothing while debugging is off:
// - a breakpoint is a handler: the code cache compiles the instruction at a watched page
//   offset into a wrapper that compares PC and exits (setting breakpoints drops this CPU's
//   decoded code, blocks and any tier keyed on the code cache's pages with it);
// - single-step is the hypervisor running a budget of one;
// - watchpoints send every data access to the data path's slow path (permission bits 0
//   in DataPath.modeChanged), where `watch` compares addresses;
// - BRK and synchronous tag check faults look at `cpu.debug` only on their own slow paths.

import type { Cpu } from './cpu.js'
import { exitTo } from './exceptions.js'
import type { Handler } from './handlers.js'
import { ExceptionClass as EC, syndrome } from './syndrome.js'

/** ESR exception classes of debug exits (arch/arm64/include/asm/esr.h: ESR_ELx_EC_*_LOW). */
export const DebugExceptionClass = {
  BREAKPOINT: 0x30,
  SOFTWARE_STEP: 0x32,
  WATCHPOINT: 0x34,
  BRK64: EC.BRK64,
} as const

/** FSC of a debug exception (IFSC/DFSC 0x22: debug event). */
const FSC_DEBUG = 0x22
const ISS_WNR = 1 << 6

/** A hardware breakpoint: an unlinked address match on a whole A64 instruction. */
export interface DebugBreakpoint {
  readonly addressHi: number
  readonly addressLo: number
}

/** A hardware watchpoint on [address, address + length) for loads, stores or both. */
export interface DebugWatchpoint {
  readonly addressHi: number
  readonly addressLo: number
  readonly length: number
  readonly onRead: boolean
  readonly onWrite: boolean
}

/** What the hypervisor asks of the CPU (its decoding of struct kvm_guest_debug). */
export interface CpuDebugConfig {
  /** BRK instructions exit to the hypervisor instead of trapping to EL1 (KVM_GUESTDBG_USE_SW_BP). */
  readonly brkExits: boolean
  /** Synchronous tag check faults exit before they are taken (a tagvm extension). */
  readonly tagFaultExits: boolean
  readonly breakpoints: readonly DebugBreakpoint[]
  readonly watchpoints: readonly DebugWatchpoint[]
}

/** KVM_EXIT_DEBUG as the CPU reports it: the ESR (ESR_EL2 of the debug exception) and FAR. */
export interface DebugExit {
  readonly kind: 'debug'
  esr: number
  farHi: number
  farLo: number
}

/** The debug state of one CPU while the hypervisor debugs it (`cpu.debug`, null otherwise). */
export class CpuDebug {
  readonly exit: DebugExit = { kind: 'debug', esr: 0, farHi: 0, farLo: 0 }
  /** Page offsets (bits 11:0) that some breakpoint has: the instructions to compile as wrappers. */
  private readonly breakOffsets = new Set<number>()
  private readonly breakLo: Uint32Array
  private readonly breakHi: Uint32Array
  private readonly watches: readonly DebugWatchpoint[]
  /** A tag check fault just reported at this PC is taken when the guest runs it again. */
  private reportedFault = false
  private reportedPcLo = 0
  private reportedPcHi = 0

  constructor(
    private readonly cpu: Cpu,
    readonly config: CpuDebugConfig,
    previous: CpuDebug | null = null,
  ) {
    // A tag fault reported before the hypervisor changed breakpoints is still to be taken.
    if (previous !== null) {
      this.reportedFault = previous.reportedFault
      this.reportedPcLo = previous.reportedPcLo
      this.reportedPcHi = previous.reportedPcHi
    }
    this.breakLo = Uint32Array.from(config.breakpoints, (b) => b.addressLo & ~3)
    this.breakHi = Uint32Array.from(config.breakpoints, (b) => b.addressHi)
    for (const b of config.breakpoints) this.breakOffsets.add(b.addressLo & 0xffc)
    this.watches = config.watchpoints
  }

  get watching(): boolean {
    return this.watches.length > 0
  }

  /**
   * Whether some breakpoint's address has this page offset: the instruction there must run
   * through `handlerAt`'s wrapper (a compiled tier ends its region before it, or calls it).
   */
  hasBreakpointAt(offset: number): boolean {
    return this.breakOffsets.has(offset)
  }

  /** The handler to install for the instruction at page offset `offset`: `h`, or a breakpoint wrapper. */
  handlerAt(offset: number, h: Handler): Handler {
    if (!this.hasBreakpointAt(offset)) return h
    const cpu = this.cpu
    const los = this.breakLo
    const his = this.breakHi
    return () => {
      const lo = cpu.pcLo
      const hi = cpu.pcHi
      for (let k = 0; k < los.length; k++) {
        if (los[k] === lo && his[k] === hi) this.stop(syndrome(DebugExceptionClass.BREAKPOINT, true, FSC_DEBUG), 0, 0)
      }
      return h()
    }
  }

  /** BRK #imm16 with KVM_GUESTDBG_USE_SW_BP: an exit with EC 0x3c (else the guest takes it). */
  brk(imm16: number): void {
    if (!this.config.brkExits) return
    this.stop(syndrome(DebugExceptionClass.BRK64, true, imm16 & 0xffff), 0, 0)
  }

  /** A data access of `size` bytes at [hi:lo] on the slow path: exits on a watchpoint hit (before the access). */
  watch(hi: number, lo: number, size: number, isWrite: boolean): void {
    const ws = this.watches
    // Compare untagged addresses (bits 55:0), as a watchpoint with TBI does.
    const vaHi = hi & 0x00ffffff
    for (let k = 0; k < ws.length; k++) {
      const w = ws[k]!
      if (!(isWrite ? w.onWrite : w.onRead) || (w.addressHi & 0x00ffffff) !== vaHi) continue
      const start = w.addressLo >>> 0
      const first = lo >>> 0
      if (first < start + w.length && start < first + size) {
        this.stop(syndrome(DebugExceptionClass.WATCHPOINT, true, FSC_DEBUG | (isWrite ? ISS_WNR : 0)), hi, lo)
      }
    }
  }

  /**
   * A synchronous tag check fault about to be taken: with tag fault exits, the first time
   * it happens at this PC the CPU exits instead (ESR the data abort's, FAR the address) and
   * the instruction is not performed; when the guest runs it again, the fault is taken.
   */
  tagFault(esr: number, hi: number, lo: number): void {
    if (!this.config.tagFaultExits) return
    const cpu = this.cpu
    if (this.reportedFault && this.reportedPcLo === cpu.pcLo && this.reportedPcHi === cpu.pcHi) {
      this.reportedFault = false
      return
    }
    this.reportedFault = true
    this.reportedPcLo = cpu.pcLo
    this.reportedPcHi = cpu.pcHi
    this.stop(esr, hi, lo)
  }

  private stop(esr: number, hi: number, lo: number): never {
    const x = this.exit
    x.esr = esr
    x.farHi = hi >>> 0
    x.farLo = lo >>> 0
    return exitTo(this.cpu, x)
  }
}
