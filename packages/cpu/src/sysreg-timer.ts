// The generic timer registers as rows that forward to a timer model the hypervisor attaches
// (`Cpu.attachTimers`: its per-vCPU timers over the VM's clock). The CPU keeps the EL0 rules
// (CNTKCTL_EL1); the model answers the rest. A CPU without an attached model keeps its own
// rows in sysreg-table.ts (a counter of retired instructions, stored CTL/CVAL, no interrupt).

import { CNTKCTL } from './constants.js'
import type { Cpu } from './cpu.js'
import { deviceRead } from './sysreg-gic.js'
import { SysReg } from './sysreg-encoding.js'
import type { El0Rule, SysRegDesc } from './sysreg-table.js'

const TIMER_REGISTERS: readonly [keyof typeof SysReg, El0Rule][] = [
  ['CNTFRQ_EL0', { cntkctl: CNTKCTL.EL0PCTEN | CNTKCTL.EL0VCTEN }],
  ['CNTPCT_EL0', { cntkctl: CNTKCTL.EL0PCTEN }],
  ['CNTVCT_EL0', { cntkctl: CNTKCTL.EL0VCTEN }],
  ['CNTP_TVAL_EL0', { cntkctl: CNTKCTL.EL0PTEN }],
  ['CNTP_CTL_EL0', { cntkctl: CNTKCTL.EL0PTEN }],
  ['CNTP_CVAL_EL0', { cntkctl: CNTKCTL.EL0PTEN }],
  ['CNTV_TVAL_EL0', { cntkctl: CNTKCTL.EL0VTEN }],
  ['CNTV_CTL_EL0', { cntkctl: CNTKCTL.EL0VTEN }],
  ['CNTV_CVAL_EL0', { cntkctl: CNTKCTL.EL0VTEN }],
]

/** The rows `Cpu.attachTimers` puts in place of the CPU's own counter and timer rows. */
export const TIMER_SYSREG_ROWS: readonly SysRegDesc[] = TIMER_REGISTERS.map(([name, el0]) => {
  const key = SysReg[name]
  return {
    name,
    key,
    el0,
    read: (cpu: Cpu) => deviceRead(cpu, cpu.timers, key),
    write: (cpu: Cpu, lo: number, hi: number) => cpu.timers !== null && cpu.timers.write(key, lo, hi),
  }
})
