/**
 * The A64 interpreter for EL0/EL1 with MTE tag checking: runs guest code through the MMU
 * and exits to its hypervisor on stage-2 and MMIO aborts, HVC/SMC and trapped instructions.
 *
 * @module \@tagvm/cpu
 */
export { Cpu, sysIss, type CpuMemory, type CpuOptions, type FrameData } from './cpu.js'
export type {
  BudgetExit, CpuExit, CpuExitKind, DataAbortExit, FpTrapExit, HvcExit, InstructionAbortExit, SmcExit, SysregTrapExit,
  WfxExit,
} from './exits.js'
export { DEFAULT_ID_REGISTERS, STORED_SYSREGS, SysReg, sysregKey, sysregName, type StoredSysRegName } from './sysregs.js'
export { ExceptionClass, syndrome } from './syndrome.js'
