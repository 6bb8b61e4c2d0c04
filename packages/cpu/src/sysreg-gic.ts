// The GICv3 CPU interface system registers (ICC_*_EL1) as rows. The CPU does not model the
// interface itself: the hypervisor attaches one (`Cpu.attachGic`, its vGIC's CPU interface
// for this vCPU) and the rows forward MRS/MSR to it. Without one they are UNDEFINED, as on a
// CPU whose ID_AA64PFR0_EL1.GIC is 0. EL0 never reaches them (no `el0` rule).

import type { Cpu } from './cpu.js'
import { sysregKey as k } from './sysreg-encoding.js'
import type { SysRegDesc } from './sysreg-table.js'

/** ICC_*_EL1 keys (op0:op1:CRn:CRm:op2), the names without the ICC_ prefix. */
export const IccReg = {
  PMR_EL1: k(3, 0, 4, 6, 0),
  IAR0_EL1: k(3, 0, 12, 8, 0),
  EOIR0_EL1: k(3, 0, 12, 8, 1),
  HPPIR0_EL1: k(3, 0, 12, 8, 2),
  BPR0_EL1: k(3, 0, 12, 8, 3),
  AP0R0_EL1: k(3, 0, 12, 8, 4),
  AP0R1_EL1: k(3, 0, 12, 8, 5),
  AP0R2_EL1: k(3, 0, 12, 8, 6),
  AP0R3_EL1: k(3, 0, 12, 8, 7),
  AP1R0_EL1: k(3, 0, 12, 9, 0),
  AP1R1_EL1: k(3, 0, 12, 9, 1),
  AP1R2_EL1: k(3, 0, 12, 9, 2),
  AP1R3_EL1: k(3, 0, 12, 9, 3),
  DIR_EL1: k(3, 0, 12, 11, 1),
  RPR_EL1: k(3, 0, 12, 11, 3),
  SGI1R_EL1: k(3, 0, 12, 11, 5),
  ASGI1R_EL1: k(3, 0, 12, 11, 6),
  SGI0R_EL1: k(3, 0, 12, 11, 7),
  IAR1_EL1: k(3, 0, 12, 12, 0),
  EOIR1_EL1: k(3, 0, 12, 12, 1),
  HPPIR1_EL1: k(3, 0, 12, 12, 2),
  BPR1_EL1: k(3, 0, 12, 12, 3),
  CTLR_EL1: k(3, 0, 12, 12, 4),
  SRE_EL1: k(3, 0, 12, 12, 5),
  IGRPEN0_EL1: k(3, 0, 12, 12, 6),
  IGRPEN1_EL1: k(3, 0, 12, 12, 7),
} as const

/**
 * Registers a hypervisor emulates behind a group of rows (the vGIC's CPU interface, the
 * generic timers): `read` leaves the value in valueLo/valueHi; false from either means
 * UNDEFINED.
 */
export interface SysregDevice {
  /** MRS of register `key`: the value goes to valueLo/valueHi; false = UNDEFINED. */
  read(key: number): boolean
  /** MSR of register `key` with the value's 32-bit halves; false = UNDEFINED. */
  write(key: number, lo: number, hi: number): boolean
  readonly valueLo: number
  readonly valueHi: number
}

/** Forwards a read to `device`, leaving the value where the CPU's MRS takes it. */
export function deviceRead(cpu: Cpu, device: SysregDevice | null, key: number): boolean {
  if (device === null || !device.read(key)) return false
  cpu.sysLo = device.valueLo >>> 0
  cpu.sysHi = device.valueHi >>> 0
  return true
}

const hasGic = (cpu: Cpu): boolean => cpu.gic !== null

/** One row per ICC register, forwarding to the attached CPU interface. */
export const GIC_SYSREG_ROWS: readonly SysRegDesc[] = Object.entries(IccReg).map(([name, key]) => ({
  name: `ICC_${name}`,
  key,
  visible: hasGic,
  read: (cpu: Cpu) => deviceRead(cpu, cpu.gic, key),
  write: (cpu: Cpu, lo: number, hi: number) => cpu.gic !== null && cpu.gic.write(key, lo, hi),
}))
