// System instructions in wasm: which MRS/MSR a translation does there, the state word that says
// when (ST_SYS_OK), and ISB's handler for when it cannot. The MRS/MSR done in wasm are of
// registers that are plain storage, so that reading
// or writing one is a load or store of its slot in the state page (where the Cpu keeps its
// `sys` and `spBank` arrays with the tier), once the access checks the row would make are
// known to pass. Those checks depend only on the EL (and SPSel for SP_EL0), which the runtime
// hands over in ST_SYS_OK; anything with traps, a visibility rule, its own check, a read or
// write function or a `changed` hook (the MMU's registers, DAIF, the timers a machine defines)
// stays with its handler (emit-sys.ts sysCall). Linux reads SP_EL0 (`current`) ~1.4 M times
// and TPIDR_EL1 (per-CPU offsets) ~0.4 M times a boot.

import type { Cpu } from '../cpu.js'
import { SysOp } from '../sysreg-encoding.js'
import { SYSOP_ROWS } from '../sysop-table.js'
import { SLOT, SYSREG_ROWS, isStored, type SysRegDesc } from '../sysreg-table.js'
import { HCR, SCTLR } from '../constants.js'
import { PS } from '../state.js'
import { ST_SP_BANK, ST_SYSREGS, SYS_EL1, SYS_FP, SYS_ISB, SYS_SP_EL0, SYS_ZVA } from './layout.js'

/** Where a register a translation reads or writes in wasm lives, and the ST_SYS_OK bits the access needs. */
export interface SysregInWasm {
  /** Offset of its i64 in the state page. */
  readonly offset: number
  /** ST_SYS_OK bits that must all be set (0: allowed at every EL); else the handler runs. */
  readonly need: number
}

/** What a translation may do in wasm of the CPU's system instructions (from its rows, which a machine may replace: timers, GIC). */
export interface SysregLookup {
  /** How an MRS (isRead) or MSR of the register with this key may run in wasm; null: through its handler. */
  register(key: number, isRead: boolean): SysregInWasm | null
  /** Whether this SYS key is the CPU's own DC ZVA (zeroing in wasm when ST_SYS_OK has SYS_ZVA). */
  isDcZva(key: number): boolean
}

const SP_EL0_ROW = SYSREG_ROWS.find((r) => r.name === 'SP_EL0')!
const DC_ZVA_ROW = SYSOP_ROWS.find((r) => r.key === SysOp.DC_ZVA)!

/** The CPU's rows as they are when a region is translated. */
export function sysregLookup(cpu: Cpu): SysregLookup {
  return {
    register: (key, isRead) => inWasm(cpu.sysregs.get(key), isRead),
    isDcZva: (key) => key === SysOp.DC_ZVA && cpu.sysregs.get(key) === DC_ZVA_ROW,
  }
}

function inWasm(row: SysRegDesc | undefined, isRead: boolean): SysregInWasm | null {
  if (row === undefined) return null
  // SP_EL0 is readable and writable at EL1 while SP_EL1 is the current stack pointer.
  if (row === SP_EL0_ROW) return { offset: ST_SP_BANK, need: SYS_SP_EL0 }
  if (!isStored(row) || row.traps !== undefined || row.visible !== undefined || row.check !== undefined) return null
  if (!isRead && (row.write !== undefined || row.changed !== undefined)) return null
  const slot = SLOT[row.name as keyof typeof SLOT]
  if (slot === undefined) return null
  const el0 = row.el0 === 'rw' || (row.el0 === 'read' && isRead)
  return { offset: ST_SYSREGS + 8 * slot, need: el0 ? 0 : SYS_EL1 }
}

/**
 * ST_SYS_OK: which system instructions translations may run in wasm in the current state
 * (layout.ts SYS_*). The EL and everything else it reads change only outside translations or
 * in a handler (exception entry and return leave the translation; MSR SPSel, SCTLR_EL1 and
 * the GIC's registers go through sysCall), so the runtime sets it at each entry and after each handler.
 */
export function sysFlags(cpu: Cpu): number {
  const p = cpu.p
  const el1 = p[PS.EL] === 1
  let flags = 0
  if (el1) flags |= SYS_EL1
  if (el1 && p[PS.SPSEL] !== 0) flags |= SYS_SP_EL0
  // DC ZVA: EL0 needs SCTLR_EL1.DZE, HCR_EL2.TDZ traps it, and the wasm path zeroes 64 bytes (DCZID_EL0.BS = 4, DZP clear).
  if ((el1 || (cpu.sys[2 * SLOT.SCTLR_EL1]! & SCTLR.DZE) !== 0) && (cpu.hcrLo & HCR.TDZ) === 0 && (cpu.sys[2 * SLOT.DCZID_EL0]! & 0x1f) === 4) flags |= SYS_ZVA
  // ISB: as isbHandler, nothing for the refetch to do (code written since is ST_CHAIN's, tested in wasm).
  if (!refetchTakesSomething(cpu)) flags |= SYS_ISB
  // FP/SIMD in wasm (emit-fp.ts): CPACR_EL1.FPEN and CPTR_EL2.TFP change only through MSR (a handler) or between runs.
  if (cpu.fpEnabled()) flags |= SYS_FP
  return flags
}

/** Whether the run loop's page entry after a refetch has something to take: an interrupt line (virtual or physical) up, or PSTATE.IL set. */
function refetchTakesSomething(cpu: Cpu): boolean {
  return (cpu.hcrLo & (HCR.VI | HCR.VF)) !== 0 || cpu.irqLines !== 0 || cpu.p[PS.IL] !== 0
}

/**
 * ISB's handler inside a translation (through sysCall). The interpreter's ISB drops the fetch
 * page, and the run loop's page entry then takes a pending virtual or physical interrupt line,
 * raises an illegal-state exception, and brings decoded code up to date; the fetch translation
 * and the fast TLB are sysCall's own checks. When none of these has anything to do, the
 * translation goes on after the ISB; else it leaves there (the refetch), as from the
 * interpreter.
 */
export function isbHandler(cpu: Cpu): () => number {
  return () => {
    if (refetchTakesSomething(cpu) || !cpu.code.synced()) cpu.refetch()
    return 0
  }
}
