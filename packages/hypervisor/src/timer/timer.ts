// The EL1 virtual and physical generic timers of each vCPU, as KVM emulates them
// (arch/arm64/kvm/arch_timer.c): one context per timer (CTL, CVAL; the counter offset is the
// VM's), should_fire, the output line wired to PPI 27 / PPI 30 of the vGIC as a level
// interrupt, and the earliest deadline of a sleeping vCPU.
//
// Counter values and CVAL are 64-bit: kept as 32-bit halves (counter - offset wraps modulo
// 2^64 exactly, as in hardware); the host counter itself is a whole number below 2^53.
import { SysReg } from '@tagvm/cpu'
import { ErrnoError } from '@tagvm/tag-memory'
import { IRQ_OWNER_PTIMER, IRQ_OWNER_VTIMER } from '../vgic/irq.js'
import { vmVgic, type VgicVm } from '../vgic/vgic.js'
import { HostClock, type GuestClock, type HostClockBase } from './clock.js'

export const TIMER_VIRTUAL = 0
export const TIMER_PHYSICAL = 1
export type TimerIndex = typeof TIMER_VIRTUAL | typeof TIMER_PHYSICAL

/** PPIs KVM wires the timers to (default_vtimer_irq, default_ptimer_irq); level-sensitive. */
export const CNTV_PPI = 27
export const CNTP_PPI = 30

/** The system registers VcpuTimers.read/write serve (keys as @tagvm/cpu numbers them). */
export const TIMER_SYSREGS = {
  CNTFRQ_EL0: SysReg.CNTFRQ_EL0,
  CNTPCT_EL0: SysReg.CNTPCT_EL0,
  CNTVCT_EL0: SysReg.CNTVCT_EL0,
  CNTP_TVAL_EL0: SysReg.CNTP_TVAL_EL0,
  CNTP_CTL_EL0: SysReg.CNTP_CTL_EL0,
  CNTP_CVAL_EL0: SysReg.CNTP_CVAL_EL0,
  CNTV_TVAL_EL0: SysReg.CNTV_TVAL_EL0,
  CNTV_CTL_EL0: SysReg.CNTV_CTL_EL0,
  CNTV_CVAL_EL0: SysReg.CNTV_CVAL_EL0,
} as const

/** CNT{V,P}_CTL_EL0 bits. */
export const CNT_CTL_ENABLE = 1 << 0
export const CNT_CTL_IMASK = 1 << 1
export const CNT_CTL_ISTATUS = 1 << 2

const TWO32 = 2 ** 32

/** Per timer in VcpuTimers.state: CTL (ENABLE | IMASK), CVAL lo/hi, output level. */
const CTL = 0
const CVAL_LO = 1
const CVAL_HI = 2
const LEVEL = 3
const STRIDE = 4

/** Unsigned 64-bit compare of two hi/lo pairs. */
function cmp64(aHi: number, aLo: number, bHi: number, bLo: number): number {
  if (aHi !== bHi) return aHi < bHi ? -1 : 1
  return aLo === bLo ? 0 : aLo < bLo ? -1 : 1
}

/** A VM's counters for another thread's copy of the VM (VmTimers.shareCounters). */
export interface VmCounterShare {
  readonly clock: HostClockBase
  /** VmTimers.offsets. */
  readonly offsets: readonly number[]
}

/** Counter values kept by VmTimers.holdCounters: virtual lo, hi, physical lo, hi. */
export interface HeldCounters {
  readonly counts: readonly number[]
}

/** VM-wide timer state (kvm->arch.timer_data): the clock and the two counter offsets. */
export class VmTimers {
  readonly vm: VgicVm
  readonly clock: GuestClock
  /**
   * Counter offsets as lo/hi pairs: [virtual lo, virtual hi, physical lo, physical hi].
   * CNTVCT = host counter - virtual offset (CNTVOFF); CNTPCT = host counter - physical offset.
   */
  readonly offsets = new Uint32Array(4)
  private readonly perVcpu: VcpuTimers[] = []
  /** The last counter() result. */
  countLo = 0
  countHi = 0

  constructor(vm: VgicVm, options: { clock?: GuestClock } = {}) {
    this.vm = vm
    this.clock = options.clock ?? new HostClock()
    // The virtual counter starts at zero when the VM gets its timers (KVM sets CNTVOFF to the
    // host counter as vCPUs are created); the physical counter is the host's.
    this.setCounter(TIMER_VIRTUAL, 0, 0)
  }

  /** The timers of vCPU index `v` (created on first use). */
  vcpu(v: number): VcpuTimers {
    if (!Number.isInteger(v) || v < 0 || v >= this.vm.vcpus.length) throw new RangeError(`no vCPU index ${v}`)
    let timers = this.perVcpu[v]
    if (!timers) this.perVcpu[v] = timers = new VcpuTimers(this, v)
    return timers
  }

  /** Reads the virtual or physical counter into countLo/countHi. */
  counter(timer: TimerIndex): void {
    const host = this.clock.now()
    const hostHi = Math.floor(host / TWO32)
    const hostLo = host - hostHi * TWO32
    const offLo = this.offsets[2 * timer] as number
    const offHi = this.offsets[2 * timer + 1] as number
    this.countLo = (hostLo - offLo) >>> 0
    this.countHi = (hostHi - offHi - (hostLo < offLo ? 1 : 0)) >>> 0
  }

  /**
   * Makes the counter read `hi:lo` now (KVM_REG_ARM_TIMER_CNT / PTIMER_CNT): the offset becomes
   * host counter - value, for every vCPU of the VM. Restoring a saved count this way keeps the
   * guest's time going forward on a new host or clock.
   */
  setCounter(timer: TimerIndex, lo: number, hi: number): void {
    const host = this.clock.now()
    const hostHi = Math.floor(host / TWO32)
    const hostLo = host - hostHi * TWO32
    this.offsets[2 * timer] = (hostLo - lo) >>> 0
    this.offsets[2 * timer + 1] = (hostHi - hi - (hostLo < (lo >>> 0) ? 1 : 0)) >>> 0
    for (const timers of this.perVcpu) timers?.sync()
  }

  /**
   * The counters as they read now, to be taken up again by `resumeCounters`: time in between
   * is hidden from the guest, as QEMU stops the guest's virtual time while the VM is stopped
   * (its default, without kvm-no-adjvtime).
   */
  holdCounters(): HeldCounters {
    const held: number[] = []
    for (const timer of [0, 1] as const) {
      this.counter(timer)
      held.push(this.countLo, this.countHi)
    }
    return { counts: held }
  }

  /** Makes both counters read again what they read at `holdCounters` (the offsets move on by the time since). */
  resumeCounters(held: HeldCounters): void {
    for (const timer of [0, 1] as const) this.setCounter(timer, held.counts[2 * timer] as number, held.counts[2 * timer + 1] as number)
  }

  /**
   * The VM's counters as another thread's copy of this VM adopts them (`adoptCounters`): the
   * clock's base and the offsets, so that the copy reads the same CNTVCT/CNTPCT at every instant.
   * Handing over a counter value instead would leave the copy behind by whatever time passed
   * between reading the value and reading the time it was read at (a busy host or cold code
   * makes that milliseconds). Undefined when the clock cannot be shared (instruction counts,
   * or a host clock on a time source of its own).
   */
  shareCounters(): VmCounterShare | undefined {
    const base = this.clock instanceof HostClock ? this.clock.base : undefined
    return base && { clock: base, offsets: Array.from(this.offsets) }
  }

  /** Takes another VM's counter offsets (`shareCounters`; this VM's clock must be on the same base). */
  adoptCounters(offsets: readonly number[]): void {
    if (offsets.length !== this.offsets.length || offsets.some((o) => !Number.isInteger(o) || o < 0 || o >= TWO32)) {
      throw new RangeError(`counter offsets must be ${this.offsets.length} 32-bit halves, got [${offsets.join(', ')}]`)
    }
    this.offsets.set(offsets)
    for (const timers of this.perVcpu) timers?.sync()
  }

  /** Re-evaluates every vCPU's timer outputs (time has passed). */
  sync(): void {
    for (const timers of this.perVcpu) timers?.sync()
  }

  /** The earliest host-counter tick at which any vCPU's timer fires, or Infinity. */
  earliestDeadline(): number {
    let earliest = Infinity
    for (let v = 0; v < this.vm.vcpus.length; v++) earliest = Math.min(earliest, this.vcpu(v).earliestDeadline())
    return earliest
  }
}

/**
 * The two EL1 timers of one vCPU. `read(key)`/`write(key, lo, hi)` serve MRS/MSR of CNTFRQ_EL0,
 * CNTPCT_EL0, CNTVCT_EL0 and CNT{P,V}_{CTL,CVAL,TVAL}_EL0 after the CPU's own access checks
 * (CNTKCTL_EL1 at EL0): false means UNDEFINED; a read leaves the value in valueLo/valueHi.
 */
export class VcpuTimers {
  readonly vm: VmTimers
  /** vCPU index in the VM. */
  readonly vcpu: number
  /** CTL, CVAL lo/hi and output level of the virtual (0..3) and physical (4..7) timer. */
  readonly state = new Uint32Array(2 * STRIDE)
  valueLo = 0
  valueHi = 0
  private enabled = false

  /** @internal use VmTimers.vcpu */
  constructor(vm: VmTimers, vcpu: number) {
    this.vm = vm
    this.vcpu = vcpu
  }

  // ---- the guest's view -------------------------------------------------------------------

  read(key: number): boolean {
    switch (key) {
      case SysReg.CNTFRQ_EL0:
        return this.result(this.vm.clock.frequency, 0)
      case SysReg.CNTVCT_EL0:
      case SysReg.CNTPCT_EL0:
        this.vm.counter(key === SysReg.CNTVCT_EL0 ? TIMER_VIRTUAL : TIMER_PHYSICAL)
        return this.result(this.vm.countLo, this.vm.countHi)
      case SysReg.CNTV_CTL_EL0:
        return this.result(this.ctl(TIMER_VIRTUAL), 0)
      case SysReg.CNTP_CTL_EL0:
        return this.result(this.ctl(TIMER_PHYSICAL), 0)
      case SysReg.CNTV_CVAL_EL0:
      case SysReg.CNTP_CVAL_EL0: {
        const timer = key === SysReg.CNTV_CVAL_EL0 ? TIMER_VIRTUAL : TIMER_PHYSICAL
        return this.result(this.cvalLo(timer), this.cvalHi(timer))
      }
      case SysReg.CNTV_TVAL_EL0:
      case SysReg.CNTP_TVAL_EL0: {
        // TVAL = CVAL - counter, low 32 bits (a signed count down; the upper half is RES0).
        const timer = key === SysReg.CNTV_TVAL_EL0 ? TIMER_VIRTUAL : TIMER_PHYSICAL
        this.vm.counter(timer)
        return this.result(((this.state[timer * STRIDE + CVAL_LO] as number) - this.vm.countLo) >>> 0, 0)
      }
      default:
        return false
    }
  }

  write(key: number, lo: number, hi: number): boolean {
    switch (key) {
      case SysReg.CNTV_CTL_EL0:
        this.setCtl(TIMER_VIRTUAL, lo)
        return true
      case SysReg.CNTP_CTL_EL0:
        this.setCtl(TIMER_PHYSICAL, lo)
        return true
      case SysReg.CNTV_CVAL_EL0:
        this.setCval(TIMER_VIRTUAL, lo, hi)
        return true
      case SysReg.CNTP_CVAL_EL0:
        this.setCval(TIMER_PHYSICAL, lo, hi)
        return true
      case SysReg.CNTV_TVAL_EL0:
      case SysReg.CNTP_TVAL_EL0: {
        // CVAL = counter + sign-extended TVAL.
        const timer = key === SysReg.CNTV_TVAL_EL0 ? TIMER_VIRTUAL : TIMER_PHYSICAL
        this.vm.counter(timer)
        const sum = this.vm.countLo + (lo | 0)
        const carry = Math.floor(sum / TWO32)
        this.setCval(timer, sum >>> 0, (this.vm.countHi + carry) >>> 0)
        return true
      }
      default:
        // CNTFRQ_EL0 is writable only at the highest EL; the counters are read-only.
        return false
    }
  }

  private result(lo: number, hi: number): true {
    this.valueLo = lo >>> 0
    this.valueHi = hi >>> 0
    return true
  }

  // ---- the model ---------------------------------------------------------------------------

  /** CTL as read: ENABLE and IMASK as written, ISTATUS = the condition is met (also while disabled, as KVM reports it). */
  ctl(timer: TimerIndex): number {
    const ctl = this.state[timer * STRIDE + CTL] as number
    return this.conditionMet(timer) ? ctl | CNT_CTL_ISTATUS : ctl
  }

  setCtl(timer: TimerIndex, value: number): void {
    this.state[timer * STRIDE + CTL] = value & (CNT_CTL_ENABLE | CNT_CTL_IMASK)
    this.update(timer)
  }

  setCval(timer: TimerIndex, lo: number, hi: number): void {
    const at = timer * STRIDE
    this.state[at + CVAL_LO] = lo >>> 0
    this.state[at + CVAL_HI] = hi >>> 0
    this.update(timer)
  }

  cvalLo(timer: TimerIndex): number {
    return this.state[timer * STRIDE + CVAL_LO] as number
  }

  cvalHi(timer: TimerIndex): number {
    return this.state[timer * STRIDE + CVAL_HI] as number
  }

  /** The timer's output line (what the vGIC's PPI sees). */
  level(timer: TimerIndex): boolean {
    return this.state[timer * STRIDE + LEVEL] === 1
  }

  /** CVAL <= counter. */
  private conditionMet(timer: TimerIndex): boolean {
    const at = timer * STRIDE
    this.vm.counter(timer)
    return cmp64(this.state[at + CVAL_HI] as number, this.state[at + CVAL_LO] as number, this.vm.countHi, this.vm.countLo) <= 0
  }

  /** kvm_timer_irq_can_fire: enabled and not masked. */
  private canFire(timer: TimerIndex): boolean {
    return ((this.state[timer * STRIDE + CTL] as number) & (CNT_CTL_ENABLE | CNT_CTL_IMASK)) === CNT_CTL_ENABLE
  }

  /** kvm_timer_should_fire. */
  shouldFire(timer: TimerIndex): boolean {
    return this.canFire(timer) && this.conditionMet(timer)
  }

  /** kvm_timer_update_irq when the output changes: the level goes to the timer's PPI. */
  private update(timer: TimerIndex): void {
    const level = this.shouldFire(timer)
    const at = timer * STRIDE + LEVEL
    if ((this.state[at] === 1) === level) return
    this.state[at] = level ? 1 : 0
    if (this.enabled) this.inject(timer, level)
  }

  private inject(timer: TimerIndex, level: boolean): void {
    const vgic = vmVgic(this.vm.vm)
    if (!vgic?.initialized) return
    vgic.injectIrq(this.vcpu, timer === TIMER_VIRTUAL ? CNTV_PPI : CNTP_PPI, level, timer === TIMER_VIRTUAL ? IRQ_OWNER_VTIMER : IRQ_OWNER_PTIMER)
  }

  /** Re-evaluates both outputs: call when time may have reached a deadline. */
  sync(): void {
    this.update(TIMER_VIRTUAL)
    this.update(TIMER_PHYSICAL)
  }

  /**
   * kvm_timer_enable, on the vCPU's first KVM_RUN: with an in-kernel vGIC (it must be
   * initialized, else EBUSY) the timers take ownership of PPIs 27 and 30, so userspace can no
   * longer drive them, and the current output levels are sent.
   */
  enable(): void {
    if (this.enabled) return
    const vgic = vmVgic(this.vm.vm)
    if (vgic) {
      if (!vgic.initialized) throw new ErrnoError('EBUSY', 'the vGIC is not initialized')
      vgic.setOwner(this.vcpu, CNTV_PPI, IRQ_OWNER_VTIMER)
      vgic.setOwner(this.vcpu, CNTP_PPI, IRQ_OWNER_PTIMER)
    }
    this.enabled = true
    this.inject(TIMER_VIRTUAL, this.level(TIMER_VIRTUAL))
    this.inject(TIMER_PHYSICAL, this.level(TIMER_PHYSICAL))
    this.sync()
  }

  get isEnabled(): boolean {
    return this.enabled
  }

  /** kvm_timer_vcpu_reset (KVM_ARM_VCPU_INIT): both timers disabled and unmasked, outputs low. */
  reset(): void {
    for (const timer of [TIMER_VIRTUAL, TIMER_PHYSICAL] as const) this.setCtl(timer, 0)
  }

  /**
   * The host-counter tick at which the first enabled, unmasked timer fires (now if one already
   * does), or Infinity: what a vCPU blocked in WFI sleeps until (kvm_timer_earliest_exp).
   * `pendingOnly`: a timer that already fires is left out (its output is up already: nothing
   * more comes of it), so a vCPU whose fired timer the GIC holds back waits for the next one.
   */
  earliestDeadline(pendingOnly = false): number {
    let earliest = Infinity
    for (const timer of [TIMER_VIRTUAL, TIMER_PHYSICAL] as const) {
      if (!this.canFire(timer)) continue
      const at = timer * STRIDE
      this.vm.counter(timer)
      const now = this.vm.clock.now()
      const cvalHi = this.state[at + CVAL_HI] as number
      const cvalLo = this.state[at + CVAL_LO] as number
      if (cmp64(cvalHi, cvalLo, this.vm.countHi, this.vm.countLo) <= 0) {
        if (pendingOnly) continue
        return now
      }
      // The distance to CVAL, exact below 2^53 ticks (a 64-bit difference of the halves).
      const borrow = cvalLo < this.vm.countLo ? 1 : 0
      const delta = ((cvalHi - this.vm.countHi - borrow) >>> 0) * TWO32 + ((cvalLo - this.vm.countLo) >>> 0)
      earliest = Math.min(earliest, now + delta)
    }
    return earliest
  }
}

// ---- the VM's timers (kvm->arch.timer_data) --------------------------------------------------------

const vmTimerState = new WeakMap<VgicVm, VmTimers>()

/** Gives the VM its timers on `clock` (host time by default); EEXIST if it has them already. */
export function createVmTimers(vm: VgicVm, options: { clock?: GuestClock } = {}): VmTimers {
  if (vmTimerState.has(vm)) throw new ErrnoError('EEXIST', 'the VM already has its timers')
  const timers = new VmTimers(vm, options)
  vmTimerState.set(vm, timers)
  return timers
}

/** The VM's timers, made on host time the first time they are asked for. */
export function vmTimers(vm: VgicVm): VmTimers {
  return vmTimerState.get(vm) ?? createVmTimers(vm)
}

/** The VM's timers if it has them already (nothing is created). */
export function existingVmTimers(vm: VgicVm): VmTimers | undefined {
  return vmTimerState.get(vm)
}
