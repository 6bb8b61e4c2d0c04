// Generic timers wired to the vGIC, through @tagvm/vmm-api: fire, cancel, reprogram, TVAL,
// sleeping until the next deadline, ONE_REG save/restore across VMs and clocks, and the
// deterministic clock's repeatability. The guest's MRS/MSR go straight to the vCPU's timers
// (and its CPU interface) until the CPU routes them there.
import { describe, expect, test } from 'vitest'
import { gicMachine, guest } from './device-test-support.js'
import {
  CNTV_PPI,
  HostClock,
  ICC,
  InstructionClock,
  KVM_ARM_IRQ_TYPE_PPI,
  KVM_REG_ARM_PTIMER_CNT,
  KVM_REG_ARM_PTIMER_CTL,
  KVM_REG_ARM_PTIMER_CVAL,
  KVM_REG_ARM_TIMER_CNT,
  KVM_REG_ARM_TIMER_CTL,
  KVM_REG_ARM_TIMER_CVAL,
  SIGNAL_IRQ,
  TIMER_REG_IDS,
  TIMER_SYSREGS as R,
  createVmTimers,
  getTimerReg,
  kvmIrqNumber,
  setTimerReg,
  type GuestClock,
  type VcpuTimers,
} from './index.js'

const GICR_ISENABLER0 = 0x1_0100
const GICR_ISPENDR0 = 0x1_0200

function mrs(t: VcpuTimers, key: number): bigint {
  if (!t.read(key)) throw new Error(`MRS 0x${key.toString(16)} is UNDEFINED`)
  return (BigInt(t.valueHi) << 32n) | BigInt(t.valueLo)
}

function msr(t: VcpuTimers, key: number, value: bigint): void {
  if (!t.write(key, Number(value & 0xffff_ffffn), Number((value >> 32n) & 0xffff_ffffn))) throw new Error('UNDEFINED')
}

/** A one- or two-vCPU machine with a vGIC, timers on `clock`, the timers enabled (first KVM_RUN) and Linux's GIC setup with PPI 27 on. */
function timerMachine(clock: GuestClock, vcpus = 1) {
  const m = gicMachine(vcpus)
  const timers = createVmTimers(m.vmFd.vm, { clock })
  const g = m.vcpus.map((_, v) => guest(m, v))
  g[0]!.write(0x0800_0000, 2)
  for (const [v, cpu] of g.entries()) {
    cpu.openCpuInterface()
    cpu.write(cpu.redist(GICR_ISENABLER0), 1 << CNTV_PPI)
    timers.vcpu(v).enable()
  }
  return { ...m, timers, g, t: timers.vcpu(0) }
}

describe('the virtual timer through the vGIC', () => {
  test('fires at CVAL as PPI 27 (level), the handler masks it, EOI ends it; reprogramming arms it again', () => {
    const clock = new InstructionClock()
    const { t, g, timers } = timerMachine(clock)
    const cpu = g[0]!
    msr(t, R.CNTV_CVAL_EL0, mrs(t, R.CNTVCT_EL0) + 1000n)
    msr(t, R.CNTV_CTL_EL0, 1n)
    clock.advance(999)
    timers.sync()
    expect(cpu.cif.signal).toBe(0)
    expect(mrs(t, R.CNTV_TVAL_EL0)).toBe(1n)
    clock.advance(1)
    timers.sync()
    expect(cpu.cif.signal).toBe(SIGNAL_IRQ)
    expect(mrs(t, R.CNTV_CTL_EL0)).toBe(5n) // ENABLE | ISTATUS
    expect(cpu.mrs(ICC.IAR1_EL1)).toBe(CNTV_PPI)
    // Linux's handler: mask, then EOI; the line is low so nothing comes back.
    msr(t, R.CNTV_CTL_EL0, 3n)
    cpu.msr(ICC.EOIR1_EL1, CNTV_PPI)
    expect(cpu.cif.signal).toBe(0)
    expect(cpu.read(cpu.redist(GICR_ISPENDR0))).toBe(0)
    // Next event in 500 ticks through TVAL (Linux's set_next_event), unmasked.
    msr(t, R.CNTV_TVAL_EL0, 500n)
    msr(t, R.CNTV_CTL_EL0, 1n)
    expect(cpu.cif.signal).toBe(0)
    clock.advance(500)
    timers.sync()
    expect(cpu.mrs(ICC.IAR1_EL1)).toBe(CNTV_PPI)
  })

  test('cancel: disabling or masking before the deadline keeps the line low; moving CVAL later drops a raised line', () => {
    const clock = new InstructionClock()
    const { t, g, timers } = timerMachine(clock)
    msr(t, R.CNTV_TVAL_EL0, 100n)
    msr(t, R.CNTV_CTL_EL0, 1n)
    msr(t, R.CNTV_CTL_EL0, 0n)
    clock.advance(200)
    timers.sync()
    expect(g[0]!.cif.signal).toBe(0)
    msr(t, R.CNTV_CTL_EL0, 1n) // already past CVAL: fires at once
    expect(g[0]!.cif.signal).toBe(SIGNAL_IRQ)
    msr(t, R.CNTV_CVAL_EL0, mrs(t, R.CNTVCT_EL0) + 50n)
    expect(g[0]!.cif.signal).toBe(0)
    expect(g[0]!.read(g[0]!.redist(GICR_ISPENDR0))).toBe(0)
  })

  test('once the timer owns PPI 27, KVM_IRQ_LINE cannot drive it (KVM ignores it); other PPIs still work', () => {
    const { vmFd, g } = timerMachine(new InstructionClock())
    vmFd.irqLine(kvmIrqNumber(KVM_ARM_IRQ_TYPE_PPI, 0, CNTV_PPI), 1)
    expect(g[0]!.cif.signal).toBe(0)
    g[0]!.write(g[0]!.redist(GICR_ISENABLER0), 1 << 25)
    vmFd.irqLine(kvmIrqNumber(KVM_ARM_IRQ_TYPE_PPI, 0, 25), 1)
    expect(g[0]!.mrs(ICC.IAR1_EL1)).toBe(25)
  })

  test('a sleeping machine jumps to the earliest deadline of any vCPU (instruction clock) and wakes that vCPU', () => {
    const clock = new InstructionClock()
    const { timers, g } = timerMachine(clock, 2)
    msr(timers.vcpu(0), R.CNTV_TVAL_EL0, 10_000n)
    msr(timers.vcpu(0), R.CNTV_CTL_EL0, 1n)
    msr(timers.vcpu(1), R.CNTV_TVAL_EL0, 3_000n)
    msr(timers.vcpu(1), R.CNTV_CTL_EL0, 1n)
    const before = clock.now()
    const deadline = timers.earliestDeadline()
    expect(deadline).toBe(before + 3_000)
    expect(clock.idle(deadline)).toBe(0)
    timers.sync()
    expect([g[0]!.cif.signal, g[1]!.cif.signal]).toEqual([0, SIGNAL_IRQ])
    expect(clock.now() - before).toBe(3_000)
  })

  test('on host time, idling tells the VMM how long to wait', () => {
    let ms = 0
    const clock = new HostClock({ now: () => ms })
    const { t, timers, g } = timerMachine(clock)
    msr(t, R.CNTV_TVAL_EL0, 2_500_000n) // 2.5 ms at 1 GHz
    msr(t, R.CNTV_CTL_EL0, 1n)
    expect(clock.idle(timers.earliestDeadline())).toBe(2.5)
    ms += 2.5
    timers.sync()
    expect(g[0]!.cif.signal).toBe(SIGNAL_IRQ)
  })
})

describe('save and restore with ONE_REG', () => {
  function saveTimers(t: VcpuTimers): Map<bigint, bigint> {
    return new Map(TIMER_REG_IDS.map((id) => [id, getTimerReg(t, id)]))
  }

  /** QEMU writes the counter before CVAL and CTL (kvm_arm_put_virtual_time, then the register list). */
  function restoreTimers(t: VcpuTimers, saved: Map<bigint, bigint>): void {
    for (const id of [KVM_REG_ARM_TIMER_CNT, KVM_REG_ARM_PTIMER_CNT, KVM_REG_ARM_TIMER_CVAL, KVM_REG_ARM_PTIMER_CVAL, KVM_REG_ARM_TIMER_CTL, KVM_REG_ARM_PTIMER_CTL]) {
      setTimerReg(t, id, saved.get(id) as bigint)
    }
  }

  for (const kind of ['instructions', 'host'] as const) {
    test(`a pending deadline survives a move to a new VM on a fresh ${kind} clock; time never goes back`, () => {
      let ns = 100_000_000_000 // the host's monotonic time, in nanoseconds
      const makeClock = (): GuestClock & { advance(n: number): void } =>
        kind === 'instructions'
          ? new InstructionClock()
          : Object.assign(new HostClock({ now: () => ns / 1e6 }), { advance: (n: number) => (ns += n) })
      const clockA = makeClock()
      const a = timerMachine(clockA)
      clockA.advance(5_000_000)
      msr(a.t, R.CNTV_TVAL_EL0, 1_000n)
      msr(a.t, R.CNTV_CTL_EL0, 1n)
      msr(a.t, R.CNTP_CVAL_EL0, mrs(a.t, R.CNTPCT_EL0) + 4_000n)
      msr(a.t, R.CNTP_CTL_EL0, 3n) // masked physical timer
      clockA.advance(400)
      const saved = saveTimers(a.t)
      expect(saved.get(KVM_REG_ARM_TIMER_CNT)).toBe(5_000_400n)
      expect(saved.get(KVM_REG_ARM_TIMER_CTL)).toBe(1n)
      expect(saved.get(KVM_REG_ARM_PTIMER_CTL)).toBe(3n)

      // The destination's clock starts at zero: far behind the source's.
      const clockB = makeClock()
      const b = timerMachine(clockB)
      restoreTimers(b.t, saved)
      expect(mrs(b.t, R.CNTVCT_EL0)).toBeGreaterThanOrEqual(5_000_400n)
      expect(mrs(b.t, R.CNTPCT_EL0)).toBeGreaterThanOrEqual(saved.get(KVM_REG_ARM_PTIMER_CNT) as bigint)
      expect(getTimerReg(b.t, KVM_REG_ARM_TIMER_CVAL)).toBe(saved.get(KVM_REG_ARM_TIMER_CVAL))
      expect(getTimerReg(b.t, KVM_REG_ARM_PTIMER_CVAL)).toBe(saved.get(KVM_REG_ARM_PTIMER_CVAL))
      expect(mrs(b.t, R.CNTV_TVAL_EL0)).toBe(600n)
      b.timers.sync()
      expect(b.g[0]!.cif.signal).toBe(0)
      clockB.advance(599)
      b.timers.sync()
      expect(b.g[0]!.cif.signal).toBe(0)
      clockB.advance(1)
      b.timers.sync()
      expect(b.g[0]!.cif.signal).toBe(SIGNAL_IRQ)
    })
  }

  test('TIMER_CNT set through vCPU 0 moves the virtual counter of every vCPU (one offset per VM)', () => {
    const clock = new InstructionClock()
    const m = timerMachine(clock, 2)
    setTimerReg(m.timers.vcpu(0), KVM_REG_ARM_TIMER_CNT, 0x1_0000_0000n)
    clock.advance(7)
    expect(mrs(m.timers.vcpu(1), R.CNTVCT_EL0)).toBe(0x1_0000_0007n)
  })
})

describe('the deterministic clock', () => {
  /** A scripted guest: instructions between timer programming, counter reads and interrupt handling. */
  function trace(): string[] {
    const clock = new InstructionClock()
    const { t, g, timers } = timerMachine(clock)
    const cpu = g[0]!
    const log: string[] = []
    for (let tick = 0; tick < 5; tick++) {
      msr(t, R.CNTV_TVAL_EL0, BigInt(1_000 + 37 * tick))
      msr(t, R.CNTV_CTL_EL0, 1n)
      for (let step = 0; cpu.cif.signal === 0; step++) {
        clock.advance(97 + (step % 5))
        timers.sync()
      }
      log.push(`irq ${cpu.mrs(ICC.IAR1_EL1)} at ${mrs(t, R.CNTVCT_EL0)} tval ${mrs(t, R.CNTV_TVAL_EL0) | 0n}`)
      msr(t, R.CNTV_CTL_EL0, 3n)
      cpu.msr(ICC.EOIR1_EL1, CNTV_PPI)
    }
    return log
  }

  test('the same instructions give the same timestamps and interrupts, run after run', () => {
    const first = trace()
    expect(trace()).toEqual(first)
    // And the first deadline lands where counting says: 11 slices of 97..101 instructions reach 1087.
    expect(first[0]).toBe('irq 27 at 1087 tval 4294967209')
  })
})
