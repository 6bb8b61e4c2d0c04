// The timer registers KVM exposes through KVM_GET_ONE_REG / KVM_SET_ONE_REG
// (arch/arm64/include/uapi/asm/kvm.h, kvm_arm_timer_{get,set}_reg). Note the historical swap:
// KVM_REG_ARM_TIMER_CVAL carries CNTVCT_EL0's encoding and KVM_REG_ARM_TIMER_CNT carries
// CNTV_CVAL_EL0's, so the one-reg code must look these ids up before its system registers.
import { ErrnoError } from '@tagvm/tag-memory'
import { sysregId } from '../one-reg.js'
import { TIMER_PHYSICAL, TIMER_VIRTUAL, type TimerIndex, type VcpuTimers } from './timer.js'

export const KVM_REG_ARM_TIMER_CTL = sysregId(3, 3, 14, 3, 1)
export const KVM_REG_ARM_TIMER_CVAL = sysregId(3, 3, 14, 0, 2)
export const KVM_REG_ARM_TIMER_CNT = sysregId(3, 3, 14, 3, 2)
export const KVM_REG_ARM_PTIMER_CTL = sysregId(3, 3, 14, 2, 1)
export const KVM_REG_ARM_PTIMER_CVAL = sysregId(3, 3, 14, 2, 2)
export const KVM_REG_ARM_PTIMER_CNT = sysregId(3, 3, 14, 0, 1)

/** The timer ids in the order KVM_GET_REG_LIST gives them (timer_reg_list). */
export const TIMER_REG_IDS: readonly bigint[] = [
  KVM_REG_ARM_TIMER_CTL,
  KVM_REG_ARM_TIMER_CNT,
  KVM_REG_ARM_TIMER_CVAL,
  KVM_REG_ARM_PTIMER_CTL,
  KVM_REG_ARM_PTIMER_CNT,
  KVM_REG_ARM_PTIMER_CVAL,
]

export function isTimerReg(id: bigint): boolean {
  return TIMER_REG_IDS.includes(id)
}

const LO = 0xffff_ffffn

function timerOf(id: bigint): TimerIndex {
  return id === KVM_REG_ARM_TIMER_CTL || id === KVM_REG_ARM_TIMER_CNT || id === KVM_REG_ARM_TIMER_CVAL ? TIMER_VIRTUAL : TIMER_PHYSICAL
}

/** KVM_GET_ONE_REG of a timer register: CTL with ISTATUS, the counter now, CVAL. ENOENT for other ids. */
export function getTimerReg(timers: VcpuTimers, id: bigint): bigint {
  const timer = timerOf(id)
  switch (id) {
    case KVM_REG_ARM_TIMER_CTL:
    case KVM_REG_ARM_PTIMER_CTL:
      return BigInt(timers.ctl(timer))
    case KVM_REG_ARM_TIMER_CNT:
    case KVM_REG_ARM_PTIMER_CNT:
      timers.vm.counter(timer)
      return (BigInt(timers.vm.countHi) << 32n) | BigInt(timers.vm.countLo)
    case KVM_REG_ARM_TIMER_CVAL:
    case KVM_REG_ARM_PTIMER_CVAL:
      return (BigInt(timers.cvalHi(timer)) << 32n) | BigInt(timers.cvalLo(timer))
    default:
      throw new ErrnoError('ENOENT', `0x${id.toString(16)} is not a timer register`)
  }
}

/**
 * KVM_SET_ONE_REG of a timer register. Setting a counter (TIMER_CNT, PTIMER_CNT) moves the
 * VM-wide offset so the counter reads `value` now, on every vCPU: the physical one too, as KVM
 * does on hosts with FEAT_ECV. ENOENT for other ids, EINVAL for a value over 64 bits.
 */
export function setTimerReg(timers: VcpuTimers, id: bigint, value: bigint): void {
  if (!isTimerReg(id)) throw new ErrnoError('ENOENT', `0x${id.toString(16)} is not a timer register`)
  if (value < 0n || value >> 64n !== 0n) throw new ErrnoError('EINVAL', 'a timer register holds 64 bits')
  const timer = timerOf(id)
  const lo = Number(value & LO)
  const hi = Number(value >> 32n)
  switch (id) {
    case KVM_REG_ARM_TIMER_CTL:
    case KVM_REG_ARM_PTIMER_CTL:
      timers.setCtl(timer, lo)
      return
    case KVM_REG_ARM_TIMER_CNT:
    case KVM_REG_ARM_PTIMER_CNT:
      timers.vm.setCounter(timer, lo, hi)
      return
    default:
      timers.setCval(timer, lo, hi)
  }
}
