// Argument checks of the CPU's hypervisor-facing API (register numbers, uint64 values,
// system register keys or names): a bad argument is a RangeError naming it.

import { SysReg } from './sysreg-encoding.js'

/** A system register's 16-bit key from its key or Arm name. */
export function toKey(reg: number | string): number {
  if (typeof reg === 'number') {
    if (!Number.isInteger(reg) || reg < 0 || reg > 0xffff) throw new RangeError(`system register key ${reg} is not a 16-bit encoding`)
    return reg
  }
  const key = (SysReg as Record<string, number>)[reg]
  if (key === undefined) throw new RangeError(`unknown system register ${reg}`)
  return key
}

/** Throws unless n is an integer in 0..max. */
export function checkReg(n: number, max: number): void {
  if (!Number.isInteger(n) || n < 0 || n > max) throw new RangeError(`register number ${n} is not in 0..${max}`)
}

/** Returns v after checking it is a uint64. */
export function checkU64(v: bigint): bigint {
  if (typeof v !== 'bigint' || v < 0n || v > 0xffffffffffffffffn) throw new RangeError(`value ${String(v)} is not a uint64`)
  return v
}
