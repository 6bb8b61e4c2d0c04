// The self-hosted debug registers a kernel touches (Linux's hw_breakpoint_reset, the OS
// lock, the claim tags), as KVM presents them to a guest: breakpoint and watchpoint value and
// control registers, as many as ID_AA64DFR0_EL1 advertises, kept per CPU and read back as
// written. They are storage only: this CPU raises no breakpoint or watchpoint exception (the
// VMM's own guest debugging is a separate mechanism). MDCR_EL2.TDA traps them all to EL2.
//
// No PMU rows: as KVM without KVM_ARM_VCPU_PMU_V3, ID_AA64DFR0_EL1.PMUVer is 0 and every PMU
// register is UNDEFINED (no row).

import { MDCR } from './constants.js'
import type { Cpu } from './cpu.js'
import { sysregKey } from './sysreg-encoding.js'
import type { SysRegDesc, TrapRule } from './sysreg-table.js'

/** Breakpoints (a Cortex-A57's, as QEMU's `max` has them). */
export const DEBUG_BREAKPOINTS = 6
/** Watchpoints (a Cortex-A57's). */
export const DEBUG_WATCHPOINTS = 4
/** Context-aware breakpoints (the last two). */
export const DEBUG_CONTEXT_BREAKPOINTS = 2

/**
 * ID_AA64DFR0_EL1: DebugVer = 6 (Armv8.0), PMUVer = 0 (no PMU, as KVM shows a guest without
 * a vPMU), BRPs = 6 - 1, WRPs = 4 - 1, CTX_CMPs = 2 - 1.
 */
export const ID_AA64DFR0_VALUE =
  6 | ((DEBUG_BREAKPOINTS - 1) << 12) | ((DEBUG_WATCHPOINTS - 1) << 20) | ((DEBUG_CONTEXT_BREAKPOINTS - 1) << 28)

/** Words in Cpu.debugRegs: lo/hi of BVR0..5, BCR0..5, WVR0..3, WCR0..3. */
export const DEBUG_REG_WORDS = 2 * 2 * (DEBUG_BREAKPOINTS + DEBUG_WATCHPOINTS)

const TDA: readonly TrapRule[] = [{ mdcr: MDCR.TDA }]

function stored(name: string, key: number, slot: number): SysRegDesc {
  return {
    name,
    key,
    traps: TDA,
    read: (cpu: Cpu) => {
      cpu.sysLo = cpu.debugRegs[2 * slot]! >>> 0
      cpu.sysHi = cpu.debugRegs[2 * slot + 1]! >>> 0
      return true
    },
    write: (cpu: Cpu, lo: number, hi: number) => {
      cpu.debugRegs[2 * slot] = lo
      cpu.debugRegs[2 * slot + 1] = hi
      return true
    },
  }
}

/** Reads as zero, ignores writes (KVM's trap_raz_wi). */
function razWi(name: string, key: number): SysRegDesc {
  return {
    name,
    key,
    traps: TDA,
    read: (cpu: Cpu) => {
      cpu.sysLo = 0
      cpu.sysHi = 0
      return true
    },
    write: () => true,
  }
}

function breakpointRows(): SysRegDesc[] {
  const rows: SysRegDesc[] = []
  // DBGBVR<n>_EL1 = 2,0,0,n,4; DBGBCR = op2 5; DBGWVR = op2 6; DBGWCR = op2 7.
  for (let n = 0; n < DEBUG_BREAKPOINTS; n++) {
    rows.push(stored(`DBGBVR${n}_EL1`, sysregKey(2, 0, 0, n, 4), n))
    rows.push(stored(`DBGBCR${n}_EL1`, sysregKey(2, 0, 0, n, 5), DEBUG_BREAKPOINTS + n))
  }
  for (let n = 0; n < DEBUG_WATCHPOINTS; n++) {
    rows.push(stored(`DBGWVR${n}_EL1`, sysregKey(2, 0, 0, n, 6), 2 * DEBUG_BREAKPOINTS + n))
    rows.push(stored(`DBGWCR${n}_EL1`, sysregKey(2, 0, 0, n, 7), 2 * DEBUG_BREAKPOINTS + DEBUG_WATCHPOINTS + n))
  }
  return rows
}

/** The breakpoint and watchpoint registers' keys, in the order KVM lists them (by key). */
export const DEBUG_BREAKPOINT_KEYS: readonly number[] = breakpointRows().map((r) => r.key).sort((a, b) => a - b)

/** Debug rows beyond the ones sysreg-table.ts stores (MDSCR, MDCCINT, the OS lock...). */
export const DEBUG_SYSREG_ROWS: readonly SysRegDesc[] = [
  ...breakpointRows(),
  razWi('MDRAR_EL1', sysregKey(2, 0, 1, 0, 0)),
  razWi('OSECCR_EL1', sysregKey(2, 0, 0, 6, 2)),
  razWi('DBGCLAIMSET_EL1', sysregKey(2, 0, 7, 8, 6)),
  razWi('DBGCLAIMCLR_EL1', sysregKey(2, 0, 7, 9, 6)),
  {
    // Non-secure and secure invasive and non-invasive debug implemented and enabled.
    name: 'DBGAUTHSTATUS_EL1',
    key: sysregKey(2, 0, 7, 14, 6),
    traps: TDA,
    read: (cpu: Cpu) => {
      cpu.sysLo = 0xff
      cpu.sysHi = 0
      return true
    },
    write: null,
  },
]
