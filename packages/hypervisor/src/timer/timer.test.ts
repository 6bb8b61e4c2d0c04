// The clocks and the generic-timer model on their own (no vGIC): counters, CTL/CVAL/TVAL
// semantics, deadlines, and the ONE_REG view.
import { describe, expect, test } from 'vitest'
import { fakeVm } from '../vgic/test-support.js'
import { HostClock, InstructionClock } from './clock.js'
import {
  KVM_REG_ARM_PTIMER_CNT,
  KVM_REG_ARM_PTIMER_CTL,
  KVM_REG_ARM_PTIMER_CVAL,
  KVM_REG_ARM_TIMER_CNT,
  KVM_REG_ARM_TIMER_CTL,
  KVM_REG_ARM_TIMER_CVAL,
  TIMER_REG_IDS,
  getTimerReg,
  isTimerReg,
  setTimerReg,
} from './one-reg.js'
import { TIMER_PHYSICAL, TIMER_SYSREGS as R, TIMER_VIRTUAL, VmTimers, type VcpuTimers } from './timer.js'

/** A CPU stand-in whose retired count the test moves. */
function cpu(): { retired: number } {
  return { retired: 0 }
}

function read(t: VcpuTimers, key: number): bigint {
  if (!t.read(key)) throw new Error(`read of 0x${key.toString(16)} is UNDEFINED`)
  return (BigInt(t.valueHi) << 32n) | BigInt(t.valueLo)
}

function write(t: VcpuTimers, key: number, value: bigint): void {
  if (!t.write(key, Number(value & 0xffff_ffffn), Number((value >> 32n) & 0xffff_ffffn))) throw new Error('UNDEFINED')
}

/** Timers of a one-vCPU VM on an instruction clock driven by `source`. */
function setup(vcpus = 1) {
  const clock = new InstructionClock()
  const source = cpu()
  clock.enter(source)
  const vmTimers = new VmTimers(fakeVm(vcpus), { clock })
  return { clock, source, vmTimers, t: vmTimers.vcpu(0) }
}

describe('clocks', () => {
  test('the instruction clock counts what the running vCPU retires, across vCPUs, and only forward', () => {
    const clock = new InstructionClock({ ticksPerInstruction: 4 })
    const a = cpu()
    const b = cpu()
    clock.enter(a)
    a.retired = 10
    expect(clock.now()).toBe(40)
    clock.leave()
    a.retired = 1000 // retired while not entered: not counted
    clock.enter(b)
    b.retired = 5
    expect(clock.now()).toBe(60)
    clock.enter(a) // switching vCPUs commits the first
    a.retired = 1001
    expect(clock.now()).toBe(64)
    clock.leave()
    clock.advance(2)
    expect(clock.now()).toBe(72)
    expect(clock.idle(100)).toBe(0)
    expect(clock.now()).toBe(100)
    expect(clock.idle(50)).toBe(0)
    expect(clock.now()).toBe(100)
    expect(clock.idle(Infinity)).toBe(Infinity)
  })

  test('host time: ticks at the counter frequency from when the clock was made, never backwards', () => {
    let ms = 1000
    const clock = new HostClock({ frequency: 62_500_000, now: () => ms })
    expect(clock.now()).toBe(0)
    ms += 2
    expect(clock.now()).toBe(125_000)
    ms -= 1 // a host clock that steps back is not seen
    expect(clock.now()).toBe(125_000)
    expect(clock.idle(125_000 + 62_500)).toBe(1) // 1 ms of real time to wait
    expect(clock.idle(0)).toBe(0)
    expect(clock.idle(Infinity)).toBe(Infinity)
    expect(() => new HostClock({ frequency: 0 })).toThrow(RangeError)
    expect(new HostClock().frequency).toBe(1_000_000_000)
  })
})

describe('one counter for copies of a VM on other threads', () => {
  test('a host clock on another clock\'s base reads the same ticks at the same instant', () => {
    const main = new HostClock()
    const base = main.base!
    const copy = new HostClock({ base })
    expect(copy.frequency).toBe(main.frequency)
    for (let i = 0; i < 1000; i++) {
      const before = main.now()
      const between = copy.now()
      expect(between).toBeGreaterThanOrEqual(before)
      expect(main.now()).toBeGreaterThanOrEqual(between)
    }
    // A thread whose performance.timeOrigin is 5 ms later than the main thread's (a browser
    // worker) counts from 5 ms earlier on its own performance.now().
    const later = { ...base, timeOrigin: base.timeOrigin - 5, origin: base.origin + 5 }
    const shifted = new HostClock({ base: later })
    const before = main.now()
    const between = shifted.now()
    expect(between).toBeGreaterThanOrEqual(before)
    expect(main.now()).toBeGreaterThanOrEqual(between)
    // A clock on a time source of its own has no base to share; a base brings its own source.
    expect(new HostClock({ now: () => 0 }).base).toBeUndefined()
    expect(() => new HostClock({ base, now: () => 0 })).toThrow(TypeError)
    expect(() => new HostClock({ base, frequency: 1000 })).toThrow(TypeError)
  })

  test('a VM copy that adopts the shared counters reads CNTVCT and CNTPCT in step, past 2^32', () => {
    const main = new VmTimers(fakeVm(2), { clock: new HostClock() })
    setTimerReg(main.vcpu(0), KVM_REG_ARM_TIMER_CNT, 0x1_ffff_ff00n)
    const share = main.shareCounters()!
    const copy = new VmTimers(fakeVm(2), { clock: new HostClock({ base: share.clock }) })
    copy.adoptCounters(share.offsets)
    for (const key of [R.CNTVCT_EL0, R.CNTPCT_EL0]) {
      const before = read(main.vcpu(0), key)
      const between = read(copy.vcpu(1), key)
      expect(between >= before && read(main.vcpu(1), key) >= between).toBe(true)
    }
    expect(read(copy.vcpu(1), R.CNTVCT_EL0)).toBeGreaterThanOrEqual(0x1_ffff_ff00n)
    expect(() => copy.adoptCounters([1, 2, 3])).toThrow(RangeError)
    expect(() => copy.adoptCounters([1, 2, 3, 2 ** 32])).toThrow(RangeError)
    // Instruction counts are the running thread's own: nothing to share.
    expect(setup().vmTimers.shareCounters()).toBeUndefined()
  })
})

describe('counters', () => {
  test('CNTVCT starts at 0 when the VM gets its timers; CNTPCT is the host counter; CNTFRQ is 1 GHz and read-only', () => {
    const { clock, source } = setup()
    source.retired = 500
    const t = new VmTimers(fakeVm(1), { clock }).vcpu(0)
    source.retired = 700
    expect(read(t, R.CNTVCT_EL0)).toBe(200n)
    expect(read(t, R.CNTPCT_EL0)).toBe(700n)
    expect(read(t, R.CNTFRQ_EL0)).toBe(1_000_000_000n)
    expect(t.write(R.CNTFRQ_EL0, 1, 0)).toBe(false)
    expect(t.write(R.CNTVCT_EL0, 1, 0)).toBe(false)
    expect(t.read(0xc000)).toBe(false)
  })

  test('setting the virtual counter moves the VM-wide offset: every vCPU sees it, and it keeps counting', () => {
    const { source, vmTimers } = setup(2)
    source.retired = 100
    setTimerReg(vmTimers.vcpu(0), KVM_REG_ARM_TIMER_CNT, 0x1_0000_0000n)
    source.retired = 150
    expect(read(vmTimers.vcpu(1), R.CNTVCT_EL0)).toBe(0x1_0000_0032n)
    expect(getTimerReg(vmTimers.vcpu(1), KVM_REG_ARM_TIMER_CNT)).toBe(0x1_0000_0032n)
    expect(read(vmTimers.vcpu(0), R.CNTPCT_EL0)).toBe(150n) // the physical counter is apart
  })

  test('a counter set below the host counter and one set far above both wrap exactly modulo 2^64', () => {
    const { source, t } = setup()
    source.retired = 1000
    setTimerReg(t, KVM_REG_ARM_PTIMER_CNT, 0xffff_ffff_ffff_fff0n)
    source.retired = 1020
    expect(getTimerReg(t, KVM_REG_ARM_PTIMER_CNT)).toBe(4n) // wrapped past 2^64
    setTimerReg(t, KVM_REG_ARM_TIMER_CNT, 3n)
    source.retired = 1025
    expect(read(t, R.CNTVCT_EL0)).toBe(8n)
  })
})

describe('timer registers', () => {
  test('CTL keeps ENABLE and IMASK; ISTATUS says CVAL <= counter, even while disabled (as KVM reports it)', () => {
    const { source, t } = setup()
    write(t, R.CNTV_CTL_EL0, 0xffff_ffffn)
    expect(read(t, R.CNTV_CTL_EL0)).toBe(7n) // CVAL 0 <= counter: ISTATUS
    write(t, R.CNTV_CVAL_EL0, 100n)
    expect(read(t, R.CNTV_CTL_EL0)).toBe(3n)
    write(t, R.CNTV_CTL_EL0, 0n)
    source.retired = 100
    expect(read(t, R.CNTV_CTL_EL0)).toBe(4n)
  })

  test('TVAL counts down, signed: CVAL - counter in 32 bits; writing it sets CVAL = counter + sign-extended value', () => {
    const { source, t } = setup()
    source.retired = 1000
    write(t, R.CNTV_TVAL_EL0, 50n)
    expect(read(t, R.CNTV_CVAL_EL0)).toBe(1050n)
    source.retired = 1030
    expect(read(t, R.CNTV_TVAL_EL0)).toBe(20n)
    source.retired = 1060
    expect(read(t, R.CNTV_TVAL_EL0)).toBe(0xffff_fff6n) // -10, upper half RES0
    write(t, R.CNTV_TVAL_EL0, 0xffff_ff00n) // -256
    expect(read(t, R.CNTV_CVAL_EL0)).toBe(1060n - 256n)
    write(t, R.CNTP_TVAL_EL0, 0x8000_0000n) // most negative: counter - 2^31, below zero
    expect(read(t, R.CNTP_CVAL_EL0)).toBe((1n << 64n) + 1060n - (1n << 31n))
    write(t, R.CNTP_TVAL_EL0, 0x1_0000_0005n) // bits above 31 are ignored
    expect(read(t, R.CNTP_CVAL_EL0)).toBe(1065n)
  })

  test('a 64-bit CVAL beyond 2^53 is kept exactly and never fires', () => {
    const { source, t } = setup()
    write(t, R.CNTP_CVAL_EL0, 0xffff_ffff_ffff_fffen)
    write(t, R.CNTP_CTL_EL0, 1n)
    source.retired = 1_000_000
    expect(read(t, R.CNTP_CVAL_EL0)).toBe(0xffff_ffff_ffff_fffen)
    expect(t.shouldFire(TIMER_PHYSICAL)).toBe(false)
    expect(t.earliestDeadline()).toBeGreaterThan(2 ** 63)
  })

  test('should_fire needs ENABLE and not IMASK; the output level follows on each write and sync', () => {
    const { source, t } = setup()
    write(t, R.CNTV_CVAL_EL0, 10n)
    write(t, R.CNTV_CTL_EL0, 1n)
    expect(t.level(TIMER_VIRTUAL)).toBe(false)
    source.retired = 10
    expect(t.level(TIMER_VIRTUAL)).toBe(false) // nobody looked yet
    t.sync()
    expect(t.level(TIMER_VIRTUAL)).toBe(true)
    write(t, R.CNTV_CTL_EL0, 3n) // masked
    expect(t.level(TIMER_VIRTUAL)).toBe(false)
    write(t, R.CNTV_CTL_EL0, 1n)
    expect(t.level(TIMER_VIRTUAL)).toBe(true)
    write(t, R.CNTV_CVAL_EL0, 20n) // reprogrammed into the future
    expect(t.level(TIMER_VIRTUAL)).toBe(false)
    t.reset()
    expect(read(t, R.CNTV_CTL_EL0) & 3n).toBe(0n)
  })

  test('the earliest deadline is the first enabled, unmasked timer, in host-counter ticks', () => {
    const { source, vmTimers, t } = setup()
    source.retired = 100
    setTimerReg(t, KVM_REG_ARM_TIMER_CNT, 0n) // virtual = host - 100
    expect(t.earliestDeadline()).toBe(Infinity)
    write(t, R.CNTV_CVAL_EL0, 50n) // virtual 50 = host 150
    write(t, R.CNTV_CTL_EL0, 1n)
    write(t, R.CNTP_CVAL_EL0, 120n)
    write(t, R.CNTP_CTL_EL0, 1n)
    expect(t.earliestDeadline()).toBe(120)
    write(t, R.CNTP_CTL_EL0, 3n)
    expect(vmTimers.earliestDeadline()).toBe(150)
    source.retired = 200
    expect(t.earliestDeadline()).toBe(200) // already due: now
  })
})

describe('ONE_REG ids', () => {
  test('KVM\'s ids, with TIMER_CVAL and TIMER_CNT encodings swapped as in Linux\'s uapi', () => {
    expect(KVM_REG_ARM_TIMER_CTL).toBe(0x6030_0000_0013_df19n)
    expect(KVM_REG_ARM_TIMER_CNT).toBe(0x6030_0000_0013_df1an)
    expect(KVM_REG_ARM_TIMER_CVAL).toBe(0x6030_0000_0013_df02n)
    expect(KVM_REG_ARM_PTIMER_CTL).toBe(0x6030_0000_0013_df11n)
    expect(KVM_REG_ARM_PTIMER_CVAL).toBe(0x6030_0000_0013_df12n)
    expect(KVM_REG_ARM_PTIMER_CNT).toBe(0x6030_0000_0013_df01n)
    expect(TIMER_REG_IDS).toHaveLength(6)
    expect(isTimerReg(0x6030_0000_0013_c000n)).toBe(false)
  })

  test('get/set CTL and CVAL of both timers; errors for other ids and oversized values', () => {
    const { source, t } = setup()
    setTimerReg(t, KVM_REG_ARM_TIMER_CVAL, 0x1234_5678_9abcn)
    setTimerReg(t, KVM_REG_ARM_TIMER_CTL, 1n)
    setTimerReg(t, KVM_REG_ARM_PTIMER_CVAL, 5n)
    setTimerReg(t, KVM_REG_ARM_PTIMER_CTL, 3n)
    source.retired = 10
    expect(getTimerReg(t, KVM_REG_ARM_TIMER_CVAL)).toBe(0x1234_5678_9abcn)
    expect(getTimerReg(t, KVM_REG_ARM_TIMER_CTL)).toBe(1n)
    expect(getTimerReg(t, KVM_REG_ARM_PTIMER_CTL)).toBe(7n)
    expect(read(t, R.CNTP_CVAL_EL0)).toBe(5n)
    expect(() => getTimerReg(t, 0x6030_0000_0013_c000n)).toThrow(/ENOENT/)
    expect(() => setTimerReg(t, KVM_REG_ARM_TIMER_CTL, 1n << 64n)).toThrow(/EINVAL/)
    expect(() => setTimerReg(t, 0x6030_0000_0013_c000n, 0n)).toThrow(/ENOENT/)
  })
})
