/**
 * The A64 interpreter for EL0/EL1 with MTE tag checking: runs guest code through the MMU
 * and exits to its hypervisor on stage-2 and MMIO aborts, HVC/SMC and trapped instructions.
 *
 * @module \@tagvm/cpu
 */
export { Cpu, type CpuMemory, type CpuOptions, type FrameData } from './cpu.js'
export type { JitOptions, JitStats } from './jit/jit.js'
export type {
  BudgetExit, CpuExit, CpuExitKind, DataAbortExit, FpTrapExit, HvcExit, InstructionAbortExit, SmcExit, SysregTrapExit,
  WfxExit,
} from './exits.js'
export { HcrBit } from './constants.js'
export { SysOp, SysReg, sysIss, sysregKey, sysregName, type SysRegName } from './sysreg-encoding.js'
export {
  STORED_SYSREGS, SYSREG_ROWS, type El0Rule, type StoredSysRegName, type SysRegDesc, type SysRegRead, type SysRegWrite,
  type TrapRule,
} from './sysreg-table.js'
export { ExceptionClass, syndrome } from './syndrome.js'
export {
  DebugExceptionClass, type CpuDebugConfig, type DebugBreakpoint, type DebugExit, type DebugWatchpoint,
} from './debug.js'
export { IccReg, type SysregDevice } from './sysreg-gic.js'
export { DEBUG_BREAKPOINT_KEYS, DEBUG_BREAKPOINTS, DEBUG_WATCHPOINTS, ID_AA64DFR0_VALUE } from './sysreg-debug.js'
export { SMP_LOCK_WORDS, SmpLock, attachSmpMonitor, smpMonitorOf } from './smp-monitor.js'
export { CpuKick } from './kick.js'
