import { HcrBit } from '@tagvm/cpu'
import { ErrnoError, PAGE_SIZE } from '@tagvm/tag-memory'
import type { AbortOutcome } from './fault.js'
import { enoexec } from './errors.js'
import { completeMmio, mmioData, mmioWriteData, type MmioAccess } from './mmio.js'
import type { GuestCpu, GuestCpuExit } from './guest-cpu.js'
import { MTE_SYSREGS, ONE_REG_SYSREGS, Sysreg as SysReg, isIdRegister, isMteSetWayOp, isSetWayOp } from './sysregs.js'
import {
  CoreOffset,
  REG_PSCI_VERSION,
  coreRegId,
  decodeRegId,
  sysregIdFromKey,
} from './one-reg.js'
import {
  KVM_ARM_PSCI_0_1,
  KVM_ARM_PSCI_0_2,
  KVM_ARM_PSCI_1_0,
  KVM_ARM_PSCI_1_1,
  PsciReturn,
  handleSmcccCall,
  mpidrForVcpu,
  type PsciVcpu,
} from './psci.js'
import type { Vm } from './vm.js'
import { debugExitArch, decodeGuestDebug, softwareStepExitArch, translateGuestVa, type DebugExitArch, type GuestDebug, type GuestTranslation } from './guest-debug.js'
import { vmVgic } from './vgic/vgic.js'
import { attachLockstepMonitor } from './smp/lockstep-monitor.js'
import { performTlbi, tlbMaintenanceShared, tlbiOperation } from './smp/tlb-broadcast.js'
import { InstructionClock } from './timer/clock.js'
import { TIMER_PHYSICAL, TIMER_VIRTUAL, existingVmTimers, vmTimers, type VcpuTimers } from './timer/timer.js'
import { TIMER_REG_IDS, getTimerReg, isTimerReg, setTimerReg } from './timer/one-reg.js'

/** KVM_ARM_VCPU_INIT feature bits (features[0]). */
export const KVM_ARM_VCPU_POWER_OFF = 0
export const KVM_ARM_VCPU_EL1_32BIT = 1
export const KVM_ARM_VCPU_PSCI_0_2 = 2
export const KVM_ARM_VCPU_PMU_V3 = 3
export const KVM_ARM_VCPU_SVE = 4
/** The only target: KVM_ARM_TARGET_GENERIC_V8 (what KVM_ARM_PREFERRED_TARGET returns). */
export const KVM_ARM_TARGET_GENERIC_V8 = 5
/** KVM_MP_STATE values used on arm64. */
export const KVM_MP_STATE_RUNNABLE = 0
export const KVM_MP_STATE_STOPPED = 5
/** Largest vCPU count / id + 1 (KVM_MAX_VCPUS with a GICv3). */
export const KVM_MAX_VCPUS = 512

/** kvm_run.memory_fault.flags: the fault was on a page missing for the VMM (as the KVM Userfault series proposes it). */
export const KVM_MEMORY_EXIT_FLAG_USERFAULT = 1 << 4

/** What `Vcpu.run()` hands back to the VMM (struct kvm_run's exit_reason and union). */
export type VcpuExit =
  /**
   * KVM_EXIT_MMIO: `data` holds the bytes written, or must be filled with the bytes read
   * before the next `run()` (it is a view of this vCPU's run buffer).
   */
  | { readonly kind: 'mmio'; readonly addr: number; readonly size: number; readonly write: boolean; readonly data: Uint8Array }
  /** KVM_EXIT_SYSTEM_EVENT (PSCI SYSTEM_OFF / SYSTEM_RESET / SYSTEM_RESET2). */
  | { readonly kind: 'system-event'; readonly type: number; readonly flags: bigint }
  /**
   * KVM_EXIT_INTR: the run's instruction budget is spent, or the vCPU is powered off or
   * blocked in WFI and would sleep in KVM_RUN, or a trapped WFE yielded to the other vCPUs
   * (a real KVM_RUN returns this way when a signal arrives).
   */
  | { readonly kind: 'intr' }
  /** KVM_EXIT_ARM_NISV (KVM_CAP_ARM_NISV_TO_USER). */
  | { readonly kind: 'arm-nisv'; readonly esrIss: number; readonly faultIpa: number }
  /** KVM_EXIT_DEBUG (KVM_SET_GUEST_DEBUG): a breakpoint, watchpoint, BRK or single step (guest-debug.ts). */
  | { readonly kind: 'debug'; readonly arch: DebugExitArch }
  /**
   * KVM_EXIT_MEMORY_FAULT with KVM_MEMORY_EXIT_FLAG_USERFAULT: the guest touched a page its
   * memslot marks missing (KVM_MEM_USERFAULT). Real KVM returns it with KVM_RUN failing with
   * EFAULT; the guest retries the access on the next run.
   */
  | { readonly kind: 'memory-fault'; readonly gpa: number; readonly size: number; readonly flags: number }

export interface VcpuInit {
  readonly target: number
  /** Bit mask of KVM_ARM_VCPU_* feature numbers. */
  readonly features: number
}

const SUPPORTED_FEATURES = (1 << KVM_ARM_VCPU_POWER_OFF) | (1 << KVM_ARM_VCPU_PSCI_0_2)
const U64 = (1n << 64n) - 1n
/** Instructions per `run()` unless the caller says otherwise. */
export const DEFAULT_RUN_BUDGET = 50_000_000
const SLICE = 1 << 22
/** Exits in a row without a retired instruction before run() gives the VMM control back. */
const MAX_STALLED_EXITS = 10_000

/** HCR_EL2 as KVM sets it for a guest (HCR_GUEST_FLAGS in arch/arm64/include/asm/kvm_arm.h). */
const HCR_GUEST = (['VM', 'SWIO', 'FMO', 'IMO', 'AMO', 'FB', 'BSU_IS', 'TWI', 'TID3', 'TSC', 'TSW', 'RW', 'FWB'] as const).reduce(
  (hcr, bit) => hcr | hcrBit(bit),
  0n,
)

function hcrBit(name: keyof typeof HcrBit): bigint {
  return 1n << BigInt(HcrBit[name])
}

/** KVM's reset value of SCTLR_EL1 and its pattern for UNKNOWN reset values. */
const SCTLR_EL1_RESET = 0x00c5_0078n
const KVM_UNKNOWN_RESET = 0x1de7_ec7e_dbad_c0den
/** PSTATE after KVM_ARM_VCPU_INIT: EL1h with D, A, I, F masked. */
const PSTATE_RESET = 0x3c5

const MTE_REG_KEYS = new Set<number>(MTE_SYSREGS)
/** ID_AA64PFR0_EL1.GIC [27:24]: 1 = the GICv3 system-register interface (with a vGICv3). */
const PFR0_GIC_MASK = 0xfn << 24n
/** ID_AA64PFR0_EL1.CSV2 [59:56] and CSV3 [63:60]: KVM reports 1 on hosts unaffected by Spectre-v2 / Meltdown. */
const PFR0_CSV2_CSV3 = (1n << 56n) | (1n << 60n)
/** Instructions per slice while a timer is armed on the host clock: how late an interrupt may be seen. */
const HOST_CLOCK_TIMER_SLICE = 1 << 16
/** ID_AA64PFR1_EL1.MTE [11:8] and MTE_frac [43:40]. */
const PFR1_MTE_MASK = (0xfn << 8n) | (0xfn << 40n)

const CORE_SIZE = CoreOffset.FPCR + 4

/**
 * One vCPU: a `Cpu` running the guest at EL1/EL0 with this VM's stage 2, and KVM's
 * handling of everything that exits to EL2.
 */
export class Vcpu implements PsciVcpu {
  readonly vm: Vm
  readonly id: number
  readonly cpu: GuestCpu
  readonly mpidr: bigint
  /** kvm_run.immediate_exit: when set, `run()` fails with EINTR without running. */
  immediateExit = false
  private initialised = false
  private features = 0
  private powerOff = false
  private hasRun = false
  private psciVersion = KVM_ARM_PSCI_1_1
  /** AArch32 banked SPSRs (spsr[1..4] of struct kvm_regs): kept, never used by AArch64. */
  private readonly spsr32 = [0n, 0n, 0n, 0n]
  /** kvm_run.mmio.data: the bytes of the last MMIO exit. */
  private readonly runBuffer = mmioData()
  /** The MMIO access of the last exit, until the next KVM_RUN completes it (vcpu->mmio_needed). */
  private pendingMmio: MmioAccess | null = null
  private readonly tlbHook
  /** The ONE_REG system registers this CPU implements. */
  private readonly oneRegSysregs: readonly number[]
  /** KVM_GUESTDBG_SINGLESTEP is set: each run() retires one instruction and exits. */
  private singleStep = false
  /** Blocked in WFI (kvm_vcpu_block): KVM_RUN returns at once until an interrupt or a timer wakes it. */
  private waiting = false
  /** The vGIC and timers are attached (the first KVM_RUN did it). */
  private devicesAttached = false
  private timers: VcpuTimers | null = null
  /** HCR_EL2.TWE is set: WFE traps (loadWfxTraps). */
  private wfeTrapped = false

  /** @internal use Vm.createVcpu */
  constructor(vm: Vm, id: number) {
    this.vm = vm
    this.id = id
    this.mpidr = mpidrForVcpu(id)
    this.cpu = vm.hypervisor.cpuFactory(vm.hypervisor.memory)
    this.oneRegSysregs = ONE_REG_SYSREGS.filter((key) => this.cpuHas(key))
    // A stage-2 change must also drop the CPU's current fetch page.
    this.tlbHook = {
      flushVmid: (vmid: number) => {
        this.cpu.mmu.flushVmid(vmid)
        this.cpu.refetch()
      },
    }
    vm.attachTlb(this.tlbHook)
    this.configureEl2()
  }

  get stopped(): boolean {
    return this.powerOff
  }

  /** KVM_GET_MP_STATE. */
  get mpState(): number {
    return this.powerOff ? KVM_MP_STATE_STOPPED : KVM_MP_STATE_RUNNABLE
  }

  /** KVM_SET_MP_STATE: RUNNABLE or STOPPED (EINVAL otherwise). */
  setMpState(state: number): void {
    this.checkVm()
    if (state !== KVM_MP_STATE_RUNNABLE && state !== KVM_MP_STATE_STOPPED) throw new ErrnoError('EINVAL', `mp_state ${state} is not supported`)
    this.powerOff = state === KVM_MP_STATE_STOPPED
  }

  get isInitialised(): boolean {
    return this.initialised
  }

  private hcr(): bigint {
    // Several vCPUs: TLB maintenance traps, to reach every vCPU's TLB (smp/tlb-broadcast.ts).
    const guest = tlbMaintenanceShared(this.vm) ? HCR_GUEST | hcrBit('TTLB') : HCR_GUEST
    // MTE: ATA lets the guest use tags; without the capability TID5 hides GMID_EL1.
    if (this.vm.mteEnabled) return guest | hcrBit('ATA')
    return this.vm.hypervisor.hostSupportsMte ? guest | hcrBit('TID5') : guest
  }

  /**
   * kvm_arch_vcpu_load: KVM traps WFE (HCR_EL2.TWE) only while the physical CPU has other
   * tasks to run, so a vCPU spinning in WFE yields to them, and leaves WFE untrapped for a
   * vCPU alone on its CPU. Here every vCPU of the VM shares one host thread: WFE traps when
   * the VM has more than one.
   */
  private loadWfxTraps(): void {
    const trap = this.vm.vcpus.length > 1
    if (trap === this.wfeTrapped) return
    this.wfeTrapped = trap
    this.cpu.setHcrEl2(trap ? this.hcr() | hcrBit('TWE') : this.hcr())
  }

  /** Stage 2, HCR_EL2 and the hardware ID registers (what the host CPU implements). */
  private configureEl2(): void {
    const cpu = this.cpu
    const vm = this.vm
    cpu.setVtcrEl2(vm.stage2.vtcr)
    cpu.setVttbrEl2((BigInt(vm.vmid) << 48n) | BigInt(vm.stage2.rootPa))
    cpu.setHcrEl2(this.hcr())
    this.wfeTrapped = false
    cpu.setSysreg(SysReg.ID_AA64PFR0_EL1, cpu.getSysreg(SysReg.ID_AA64PFR0_EL1) | PFR0_CSV2_CSV3)
    const pfr1 = cpu.getSysreg(SysReg.ID_AA64PFR1_EL1)
    cpu.setSysreg(SysReg.ID_AA64PFR1_EL1, (pfr1 & ~(0xfn << 8n)) | (BigInt(vm.hypervisor.hostMteLevel) << 8n))
    cpu.setSysreg(SysReg.MPIDR_EL1, this.mpidr)
  }

  /**
   * KVM_ARM_VCPU_INIT: reset the vCPU with the given features. EINVAL for another target,
   * unknown or unsupported features, and EL1_32BIT (AArch64-only model; with MTE, Linux
   * refuses it too).
   */
  init(init: VcpuInit): void {
    this.checkVm()
    if (init.target !== KVM_ARM_TARGET_GENERIC_V8) throw new ErrnoError('EINVAL', `target ${init.target} is not KVM_ARM_TARGET_GENERIC_V8`)
    if (!Number.isInteger(init.features) || init.features < 0) throw new RangeError('features must be a bit mask')
    if (init.features & (1 << KVM_ARM_VCPU_EL1_32BIT)) {
      throw new ErrnoError('EINVAL', this.vm.mteEnabled ? 'MTE guests are AArch64 only' : 'AArch32 EL1 is not supported')
    }
    if (init.features & ~SUPPORTED_FEATURES) throw new ErrnoError('EINVAL', `unsupported vCPU features 0x${init.features.toString(16)}`)
    // A second KVM_ARM_VCPU_INIT resets the vCPU, but only with the features it was first given.
    if (this.initialised && init.features !== this.features) throw new ErrnoError('EINVAL', 'vCPU features cannot change after the first KVM_ARM_VCPU_INIT')
    this.features = init.features
    this.psciVersion = init.features & (1 << KVM_ARM_VCPU_PSCI_0_2) ? KVM_ARM_PSCI_1_1 : KVM_ARM_PSCI_0_1
    this.reset()
    this.powerOff = (init.features & (1 << KVM_ARM_VCPU_POWER_OFF)) !== 0
    this.initialised = true
  }

  /** kvm_reset_vcpu: architectural reset with KVM's values. */
  private reset(): void {
    const cpu = this.cpu
    cpu.reset()
    this.configureEl2()
    cpu.pstate = PSTATE_RESET
    cpu.setSysreg(SysReg.SCTLR_EL1, SCTLR_EL1_RESET)
    if (this.vm.mteEnabled) for (const key of MTE_REG_KEYS) cpu.setSysreg(key, KVM_UNKNOWN_RESET)
    this.spsr32.fill(0n)
    this.pendingMmio = null
    this.waiting = false
    existingVmTimers(this.vm)?.vcpu(this.index).reset()
  }

  /** This vCPU's index in the VM (vGIC and timer state are indexed by it). */
  get index(): number {
    return this.vm.vcpus.indexOf(this)
  }

  /**
   * Blocked in WFI: the host-counter tick of its earliest timer deadline (Infinity without
   * one; 0 when an interrupt is already pending), until an interrupt or that deadline wakes
   * it; undefined when not blocked. A tagvm
   * extension: KVM sleeps in KVM_RUN instead, and the VMM's other threads go on.
   */
  get waitDeadline(): number | undefined {
    if (!this.waiting) return undefined
    // A wake-up that came since it blocked (KVM_IRQ_LINE from a VMM device, an SGI, a timer
    // now due) wakes it now.
    if (this.hasWakeup()) return 0
    // A timer that fires but did not wake it (its PPI held back in the GIC) is no deadline.
    return this.timers ? this.timers.earliestDeadline(true) : Infinity
  }

  /**
   * The first KVM_RUN (kvm_arch_vcpu_run_pid_change): the vGIC maps its frames (its errors are
   * KVM_RUN's), this vCPU's CPU interface and timers are attached to the CPU, and the timers
   * take their PPIs.
   */
  private attachDevices(): void {
    const cpu = this.cpu
    const i = this.index
    const vgic = vmVgic(this.vm)
    if (vgic) {
      vgic.mapResources()
      const cif = vgic.cpuInterface(i)
      cif.onSignal = (signal) => cpu.setInterruptLines(signal)
      cpu.attachGic(cif)
      cpu.setInterruptLines(vgic.signals[i] as number)
    }
    attachLockstepMonitor(this.vm, cpu)
    const timers = vmTimers(this.vm).vcpu(i)
    timers.enable()
    cpu.attachTimers(timers)
    this.timers = timers
    this.devicesAttached = true
  }

  /**
   * Whether something would wake a WFI: an interrupt line, or (without the in-kernel vGIC) a
   * timer whose condition holds. With the vGIC a timer's output is its PPI, which sync()
   * raises, and it wakes the vCPU only once the GIC signals it (kvm_arch_vcpu_runnable: a
   * deliverable vGIC interrupt): a PPI disabled, masked by priority or active holds it back.
   * Counting the timer itself completed every WFI at once while its PPI was held back: the
   * vCPU spun at full speed through a guest's idle loop.
   */
  private hasWakeup(): boolean {
    const t = this.timers
    if (t) t.sync()
    if (this.cpu.pendingInterrupts() !== 0) return true
    if (t === null || vmVgic(this.vm)?.initialized === true) return false
    return t.shouldFire(TIMER_VIRTUAL) || t.shouldFire(TIMER_PHYSICAL)
  }

  /** The instructions of the next slice: up to `left`, ending at the next timer deadline. */
  private sliceLength(left: number): number {
    const slice = Math.min(left, SLICE)
    const t = this.timers
    if (!t) return slice
    const deadline = t.earliestDeadline()
    if (deadline === Infinity) return slice
    const clock = t.vm.clock
    const ticks = deadline - clock.now()
    // A timer that already fires has raised its line; it needs no slice boundary.
    if (ticks <= 0) return slice
    if (clock instanceof InstructionClock) return Math.max(1, Math.min(slice, Math.ceil(ticks / clock.ticksPerInstruction)))
    return Math.min(slice, HOST_CLOCK_TIMER_SLICE)
  }

  // ---- run loop ----------------------------------------------------------------------

  /**
   * KVM_RUN: runs the guest until something needs the VMM, or `budget` instructions.
   * Throws ErrnoError: ENOEXEC before init, EINTR with immediateExit, EFAULT when guest
   * memory cannot be mapped (e.g. cannot hold tags), ENOSYS for an MMIO access without
   * syndrome. After an error the vCPU is where it was and `run()` may be called again.
   */
  run(budget = DEFAULT_RUN_BUDGET): VcpuExit {
    this.checkVm()
    if (!this.initialised) throw enoexec('KVM_RUN before KVM_ARM_VCPU_INIT')
    if (!Number.isSafeInteger(budget) || budget < 0) throw new RangeError(`budget must be a non-negative integer, got ${budget}`)
    // As kvm_arch_vcpu_ioctl_run: an answered MMIO access completes before immediate_exit is seen.
    const start = this.cpu.retired
    this.completeMmio()
    if (this.immediateExit) throw new ErrnoError('EINTR', 'immediate_exit is set')
    if (this.powerOff) return INTR
    if (!this.devicesAttached) this.attachDevices()
    this.hasRun = true
    this.loadWfxTraps()
    if (this.waiting) {
      if (!this.hasWakeup()) return INTR
      this.waiting = false
    }
    if (this.singleStep) return this.runStep(start, budget)
    // The completed access is a step of this run: run(n) retires at most n instructions.
    let left = budget - (this.cpu.retired - start)
    let stalls = 0
    const timers = this.timers as VcpuTimers
    const clock = timers.vm.clock
    while (left > 0) {
      const before = this.cpu.retired
      clock.enter(this.cpu)
      let exit
      try {
        exit = this.cpu.run(this.sliceLength(left))
      } finally {
        clock.leave()
      }
      // Time has passed: a timer whose deadline came raises its PPI before the exit is handled.
      timers.sync()
      const result = this.handleExit(exit)
      // Counted after the exit is handled: an instruction KVM emulates (advancePc) or ends
      // with an exception it injects is a step of the guest, as one the CPU runs is.
      const retired = Math.max(0, this.cpu.retired - before)
      left -= retired
      // Exits that retire nothing (a fault fixed, then retried) do not use the budget, but
      // a guest stuck re-faulting must not hang the VMM.
      stalls = retired === 0 ? stalls + 1 : 0
      if (result) return result
      // Another thread kicked this vCPU (Cpu.kick): KVM_EXIT_INTR, as a signal ends KVM_RUN.
      if (this.cpu.kick?.kicked === true) return INTR
      if (stalls > MAX_STALLED_EXITS) return INTR
    }
    return INTR
  }

  /**
   * KVM_SET_GUEST_DEBUG (guest-debug.ts): EINVAL for control bits KVM does not know, or
   * when this vCPU's CPU model cannot be debugged.
   */
  setGuestDebug(dbg: GuestDebug): void {
    this.checkVm()
    const decoded = decodeGuestDebug(dbg)
    if (this.cpu.setDebug === undefined) throw new ErrnoError('EINVAL', 'this CPU model has no guest debug support')
    this.cpu.setDebug(decoded.cpu)
    this.singleStep = decoded.singleStep
  }

  /** KVM_TRANSLATE (a tagvm extension on arm64, see guest-debug.ts): the guest's stage-1 view of `va`. */
  translate(va: bigint): GuestTranslation {
    this.checkVm()
    return translateGuestVa(this.cpu, va)
  }

  /**
   * A run with KVM_GUESTDBG_SINGLESTEP: one instruction (or one exception taken), then
   * KVM_EXIT_DEBUG with a software-step ESR. Exits handled inside (a stage-2 fault fixed)
   * retry the instruction; exits for the VMM go to it first, and the step ends on the run
   * that completes them.
   */
  private runStep(start: number, budget: number): VcpuExit {
    // An MMIO access completed at the start of this run was the step.
    if (this.cpu.retired !== start) return { kind: 'debug', arch: softwareStepExitArch() }
    if (budget === 0) return INTR
    const pc = this.cpu.pc
    for (let tries = 0; tries <= MAX_STALLED_EXITS; tries++) {
      const exit = this.cpu.run(1)
      const result = exit.kind === 'budget' ? undefined : this.handleExit(exit)
      if (result) return result
      if (exit.kind === 'budget' || this.cpu.retired !== start || this.cpu.pc !== pc) return { kind: 'debug', arch: softwareStepExitArch() }
    }
    return INTR
  }

  /** Finishes an MMIO access the VMM has answered (kvm_handle_mmio_return). */
  private completeMmio(): void {
    const pending = this.pendingMmio
    if (!pending) return
    this.pendingMmio = null
    completeMmio(this.cpu, pending, this.runBuffer)
  }

  /** Returns an exit for the VMM, or undefined to keep running. */
  private handleExit(exit: GuestCpuExit): VcpuExit | undefined {
    const cpu = this.cpu
    switch (exit.kind) {
      case 'budget':
        return undefined
      case 'data-abort':
      case 'instruction-abort':
        return this.handleAbort(exit)
      case 'hvc':
        return this.smccc()
      case 'smc':
        // Trapped by HCR_EL2.TSC: KVM steps over it, then treats it as an SMCCC call
        // (a non-zero immediate is reserved and gets NOT_SUPPORTED).
        cpu.advancePc()
        if (exit.imm16 !== 0) {
          cpu.setX(0, U64)
          return undefined
        }
        return this.smccc()
      case 'sysreg-trap':
        this.handleSysregTrap(exit.key, exit.rt, exit.isRead)
        return undefined
      case 'wfx':
        // kvm_handle_wfx: the instruction completes. A trapped WFE yields the host thread
        // (kvm_vcpu_on_spin): KVM_RUN returns, so the VMM runs the other vCPUs, one of which
        // holds what this one spins for. A WFI with nothing to wake it blocks the vCPU.
        cpu.advancePc()
        if (exit.isWfe) return INTR
        if (this.hasWakeup()) return undefined
        this.waiting = true
        return INTR
      case 'fp-trap':
        cpu.injectUndefined()
        return undefined
      case 'debug':
        return { kind: 'debug', arch: debugExitArch(exit.esr, exit.farHi, exit.farLo) }
    }
  }

  private handleAbort(exit: Extract<GuestCpuExit, { kind: 'data-abort' | 'instruction-abort' }>): VcpuExit | undefined {
    const cpu = this.cpu
    const outcome: AbortOutcome = this.vm.handleGuestAbort(exit)
    const far = (BigInt(exit.farHi >>> 0) << 32n) | BigInt(exit.farLo >>> 0)
    switch (outcome.kind) {
      case 'resume':
        return undefined
      case 'mmio': {
        if (this.kernelMmio(outcome)) return undefined
        // The VMM fills `data` for a read before the next KVM_RUN, which completes the access.
        if (outcome.write) mmioWriteData(cpu, outcome, this.runBuffer)
        else this.runBuffer.bytes.fill(0)
        this.pendingMmio = outcome
        return { kind: 'mmio', addr: outcome.ipa, size: outcome.size, write: outcome.write, data: this.runBuffer.bytes.subarray(0, outcome.size) }
      }
      case 'arm-nisv':
        return { kind: 'arm-nisv', esrIss: outcome.esrIss, faultIpa: outcome.faultIpa }
      case 'userfault':
        return { kind: 'memory-fault', gpa: outcome.gpa, size: PAGE_SIZE, flags: KVM_MEMORY_EXIT_FLAG_USERFAULT }
      case 'skip-instruction':
        cpu.advancePc()
        return undefined
      case 'inject-pabt':
        cpu.injectAbort(false, far)
        return undefined
      case 'inject-dabt':
      case 'inject-size-fault':
      case 'inject-serror':
        // The CPU model injects a synchronous external abort; KVM would report an address
        // size fault / an SError for the last two.
        cpu.injectAbort(exit.kind === 'data-abort', far)
        return undefined
    }
  }

  /**
   * KVM's io bus: an access to the vGIC's distributor or this VM's redistributors is
   * emulated in the kernel and completes without an exit. False: not a kernel device.
   */
  private kernelMmio(access: MmioAccess): boolean {
    const vgic = vmVgic(this.vm)
    if (!vgic?.ready) return false
    const data = this.runBuffer
    const i = this.index
    if (access.write) {
      mmioWriteData(this.cpu, access, data)
      if (!vgic.mmioWrite(i, access.ipa, access.size, data.view.getUint32(0, true), data.view.getUint32(4, true))) return false
    } else {
      if (!vgic.mmioRead(i, access.ipa, access.size)) return false
      data.view.setUint32(0, vgic.dataLo, true)
      data.view.setUint32(4, vgic.dataHi, true)
    }
    completeMmio(this.cpu, access, data)
    return true
  }

  private smccc(): VcpuExit | undefined {
    const cpu = this.cpu
    const args = [cpu.getX(0), cpu.getX(1), cpu.getX(2), cpu.getX(3)] as const
    // vCPUs on other threads (smp/): their power state is shared, CPU_ON goes through it.
    const peers = this.vm.psciPeers
    const vcpus = this.vm.vcpus
    const result = handleSmcccCall(args, peers ? peers.vcpus : vcpus, this.psciVersion)
    switch (result.kind) {
      case 'return':
        cpu.setX(0, result.x0)
        return undefined
      case 'suspend':
        cpu.setX(0, 0n)
        return undefined
      case 'cpu-off':
        this.powerOff = true
        peers?.cpuOff(this.id)
        return INTR
      case 'cpu-on': {
        if (peers) {
          peers.cpuOn(result.target, result.entry, result.contextId)
          cpu.setX(0, BigInt(PsciReturn.SUCCESS))
          return undefined
        }
        const target = vcpus[result.target] as Vcpu
        target.startAt(result.entry, result.contextId)
        cpu.setX(0, BigInt(PsciReturn.SUCCESS))
        return undefined
      }
      case 'system-event':
        for (const vcpu of vcpus) vcpu.powerOff = true
        // Should the VMM resume the vCPU anyway, PSCI reports INTERNAL_FAILURE.
        cpu.setX(0, BigInt(PsciReturn.INTERNAL_FAILURE) & U64)
        return { kind: 'system-event', type: result.type, flags: result.flags }
    }
  }

  /** PSCI CPU_ON from a vCPU on another thread (smp/): as startAt. */
  psciCpuOn(entry: bigint, contextId: bigint): void {
    this.startAt(entry, contextId)
  }

  /** PSCI CPU_ON on this vCPU: reset, PC = entry, X0 = context id, runnable. */
  private startAt(entry: bigint, contextId: bigint): void {
    this.reset()
    this.waiting = false
    this.cpu.pc = entry
    this.cpu.setX(0, contextId)
    this.powerOff = false
  }

  /** EL2 traps KVM handles in the kernel (sys_regs.c). */
  private handleSysregTrap(key: number, rt: number, isRead: boolean): void {
    const cpu = this.cpu
    const tlbi = tlbiOperation(key)
    if (tlbi !== undefined) {
      performTlbi(this.vm, cpu, tlbi, cpu.xHi(rt), cpu.xLo(rt))
      cpu.advancePc()
      return
    }
    if (isIdRegister(key)) {
      if (!isRead) {
        cpu.injectUndefined()
        return
      }
      cpu.setX(rt, this.guestIdRegister(key))
      cpu.advancePc()
      return
    }
    if (isSetWayOp(key)) {
      // KVM turns set/way maintenance into a full flush (nothing to do in this model); the
      // MTE forms UNDEF unless the VM has MTE.
      if (isMteSetWayOp(key) && !this.vm.mteEnabled) cpu.injectUndefined()
      else cpu.advancePc()
      return
    }
    // MTE registers with HCR_EL2.ATA = 0, GMID_EL1 under TID5, MTE set/way ops without
    // MTE, and anything KVM does not emulate: UNDEF, as kvm_inject_undefined.
    cpu.injectUndefined()
  }

  /** An ID register as the guest and the VMM see it: MTE fields hidden without the capability. */
  private guestIdRegister(key: number): bigint {
    // ID registers the CPU does not implement (AArch32 ones, newer ones) read as zero, as
    // KVM's ID_UNALLOCATED / hidden entries do.
    if (!this.cpuHas(key)) return 0n
    const value = this.cpu.getSysreg(key)
    if (key === SysReg.ID_AA64PFR0_EL1) return (value & ~PFR0_GIC_MASK) | (vmVgic(this.vm) ? 1n << 24n : 0n)
    if (key === SysReg.ID_AA64PFR1_EL1 && !this.vm.mteEnabled) return value & ~PFR1_MTE_MASK
    return value
  }

  // ---- ONE_REG ---------------------------------------------------------------------------

  private checkInitialised(): void {
    this.checkVm()
    if (!this.initialised) throw enoexec('vCPU is not initialised (KVM_ARM_VCPU_INIT)')
  }

  private cpuHas(key: number): boolean {
    return this.cpu.hasSysreg(key)
  }

  private sysregVisible(key: number): boolean {
    if (MTE_REG_KEYS.has(key)) return this.vm.mteEnabled
    return this.oneRegSysregs.includes(key)
  }

  /** KVM_GET_REG_LIST: core registers, the PSCI firmware register, then system registers. */
  regList(): bigint[] {
    this.checkInitialised()
    const ids: bigint[] = []
    for (let n = 0; n < 31; n++) ids.push(coreRegId(CoreOffset.X0 + 8 * n))
    for (const offset of [CoreOffset.SP, CoreOffset.PC, CoreOffset.PSTATE, CoreOffset.SP_EL1, CoreOffset.ELR_EL1]) ids.push(coreRegId(offset))
    for (let i = 0; i < 5; i++) ids.push(coreRegId(CoreOffset.SPSR + 8 * i))
    for (let n = 0; n < 32; n++) ids.push(coreRegId(CoreOffset.V0 + 16 * n, 16))
    ids.push(coreRegId(CoreOffset.FPSR, 4), coreRegId(CoreOffset.FPCR, 4))
    ids.push(REG_PSCI_VERSION)
    ids.push(...TIMER_REG_IDS)
    for (const key of this.oneRegSysregs) ids.push(sysregIdFromKey(key))
    if (this.vm.mteEnabled) for (const key of [...MTE_REG_KEYS].sort((a, b) => a - b)) ids.push(sysregIdFromKey(key))
    return ids
  }

  /** KVM_GET_ONE_REG. ENOENT for ids that do not exist for this vCPU, EINVAL for a bad size. */
  getOneReg(id: bigint): bigint {
    this.checkInitialised()
    // The timer ids first: two of them carry other registers' sysreg encodings.
    if (isTimerReg(id)) return getTimerReg(vmTimers(this.vm).vcpu(this.index), id)
    const reg = decodeRegId(id)
    if (!reg) throw new ErrnoError('ENOENT', `no register 0x${id.toString(16)}`)
    const cpu = this.cpu
    switch (reg.kind) {
      case 'core': {
        const offset = this.checkCore(reg.offset, reg.size)
        if (offset < CoreOffset.SP) return cpu.getX(offset / 8)
        if (offset === CoreOffset.SP) return cpu.getSpEl(0)
        if (offset === CoreOffset.PC) return cpu.pc
        if (offset === CoreOffset.PSTATE) return BigInt(cpu.pstate >>> 0)
        if (offset === CoreOffset.SP_EL1) return cpu.getSpEl(1)
        if (offset === CoreOffset.ELR_EL1) return cpu.getSysreg(SysReg.ELR_EL1)
        if (offset === CoreOffset.SPSR) return cpu.getSysreg(SysReg.SPSR_EL1)
        if (offset < CoreOffset.V0) return this.spsr32[(offset - CoreOffset.SPSR) / 8 - 1] as bigint
        if (offset < CoreOffset.FPSR) return cpu.getV((offset - CoreOffset.V0) / 16)
        return cpu.getSysreg(offset === CoreOffset.FPSR ? SysReg.FPSR : SysReg.FPCR)
      }
      case 'sysreg':
        if (!this.sysregVisible(reg.key)) throw new ErrnoError('ENOENT', `system register 0x${reg.key.toString(16)} is not visible`)
        return isIdRegister(reg.key) ? this.guestIdRegister(reg.key) : cpu.getSysreg(reg.key)
      case 'fw':
        if (id !== REG_PSCI_VERSION) throw new ErrnoError('ENOENT', `no firmware register ${reg.index}`)
        return BigInt(this.psciVersion)
    }
  }

  /** KVM_SET_ONE_REG. Same errors as get, plus EINVAL for values KVM refuses; nothing changes on error. */
  setOneReg(id: bigint, value: bigint): void {
    this.checkInitialised()
    if (isTimerReg(id)) {
      setTimerReg(vmTimers(this.vm).vcpu(this.index), id, value)
      return
    }
    const reg = decodeRegId(id)
    if (!reg) throw new ErrnoError('ENOENT', `no register 0x${id.toString(16)}`)
    const size = reg.kind === 'core' ? reg.size : 8
    if (typeof value !== 'bigint' || value < 0n || value >> BigInt(size * 8) !== 0n) {
      throw new ErrnoError('EINVAL', `value does not fit the ${size}-byte register`)
    }
    const cpu = this.cpu
    switch (reg.kind) {
      case 'core': {
        const offset = this.checkCore(reg.offset, reg.size)
        if (offset < CoreOffset.SP) cpu.setX(offset / 8, value)
        else if (offset === CoreOffset.SP) cpu.setSpEl(0, value)
        else if (offset === CoreOffset.PC) cpu.pc = value
        else if (offset === CoreOffset.PSTATE) this.setPstate(value)
        else if (offset === CoreOffset.SP_EL1) cpu.setSpEl(1, value)
        else if (offset === CoreOffset.ELR_EL1) cpu.setSysreg(SysReg.ELR_EL1, value)
        else if (offset === CoreOffset.SPSR) cpu.setSysreg(SysReg.SPSR_EL1, value)
        else if (offset < CoreOffset.V0) this.spsr32[(offset - CoreOffset.SPSR) / 8 - 1] = value
        else if (offset < CoreOffset.FPSR) cpu.setV((offset - CoreOffset.V0) / 16, value)
        else cpu.setSysreg(offset === CoreOffset.FPSR ? SysReg.FPSR : SysReg.FPCR, value)
        return
      }
      case 'sysreg':
        if (!this.sysregVisible(reg.key)) throw new ErrnoError('ENOENT', `system register 0x${reg.key.toString(16)} is not visible`)
        if (isIdRegister(reg.key) || reg.key === SysReg.MIDR_EL1 || reg.key === SysReg.REVIDR_EL1) {
          // ID registers are fixed in this model: writing the value they hold is accepted.
          if (value !== (isIdRegister(reg.key) ? this.guestIdRegister(reg.key) : cpu.getSysreg(reg.key))) {
            throw new ErrnoError('EINVAL', 'ID registers cannot be changed')
          }
          return
        }
        cpu.setSysreg(reg.key, value)
        return
      case 'fw':
        this.setPsciVersion(id, value)
        return
    }
  }

  private setPstate(value: bigint): void {
    const mode = Number(value & 0x1fn)
    if (value >> 32n !== 0n || (mode !== 0 && mode !== 4 && mode !== 5)) {
      throw new ErrnoError('EINVAL', `PSTATE 0x${value.toString(16)} has a mode this vCPU cannot run`)
    }
    this.cpu.pstate = Number(value)
  }

  private setPsciVersion(id: bigint, value: bigint): void {
    if (id !== REG_PSCI_VERSION) throw new ErrnoError('ENOENT', 'no such firmware register')
    const wanted = Number(value)
    const allowed = this.psciVersion === KVM_ARM_PSCI_0_1 ? [KVM_ARM_PSCI_0_1] : [KVM_ARM_PSCI_0_2, KVM_ARM_PSCI_1_0, KVM_ARM_PSCI_1_1]
    if (!allowed.includes(wanted) || value > 0xffff_ffffn) throw new ErrnoError('EINVAL', `PSCI version 0x${value.toString(16)} is not available`)
    if (this.hasRun && wanted !== this.psciVersion) throw new ErrnoError('EBUSY', 'the VM has run; its PSCI version is fixed')
    this.psciVersion = wanted
  }

  /** validate_core_offset: ENOENT outside struct kvm_regs, EINVAL for a size or alignment that is not a register. */
  private checkCore(offset: number, size: number): number {
    if (offset + size > CORE_SIZE) throw new ErrnoError('ENOENT', `core register offset ${offset} is outside struct kvm_regs`)
    const isFp32 = offset === CoreOffset.FPSR || offset === CoreOffset.FPCR
    // fp_regs.vregs[n]: 128-bit registers at 16-byte offsets (core_reg_size_from_offset).
    const isVreg = offset >= CoreOffset.V0 && offset < CoreOffset.FPSR
    const expected = isFp32 ? 4 : isVreg ? 16 : 8
    if (size !== expected || offset % expected !== 0) {
      throw new ErrnoError('EINVAL', `core register offset ${offset} does not hold a ${size}-byte register`)
    }
    return offset
  }

  private checkVm(): void {
    if (this.vm.isDestroyed) throw new ErrnoError('EBADF', 'the VM was destroyed (its fd is closed)')
  }

  /** @internal Vm.destroy */
  detach(): void {
    this.vm.detachTlb(this.tlbHook)
  }
}

const INTR: VcpuExit = { kind: 'intr' }
