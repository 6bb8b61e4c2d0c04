// MRS, MSR and SYS against the descriptor rows (sysreg-table.ts, sysop-table.ts): one
// table per CPU, the access checks in architectural order (EL0 rules, "is it implemented",
// EL2 traps, the row's own check), and the accessors the hypervisor uses (no traps; ID
// registers writable). A trapped access leaves through the CPU's exception / exit paths.

import { MDCR } from './constants.js'
import type { Cpu } from './cpu.js'
import { PS } from './state.js'
import { keyOp0, keyOp1 } from './sysreg-encoding.js'
import { SYSOP_ROWS } from './sysop-table.js'
import { SYSREG_ROWS, SLOT, isStored, type SysRegDesc, type TrapRule } from './sysreg-table.js'

/** The system registers and instructions of one CPU, by key. */
export class SysRegTable {
  private readonly byKey = new Map<number, SysRegDesc>()

  constructor() {
    for (const row of SYSREG_ROWS) this.byKey.set(row.key, row)
    for (const row of SYSOP_ROWS) this.byKey.set(row.key, row)
  }

  get(key: number): SysRegDesc | undefined {
    return this.byKey.get(key)
  }

  /** Adds rows, or replaces rows with the same key (registers a hypervisor emulates). */
  define(rows: readonly SysRegDesc[]): void {
    for (const row of rows) {
      if (!Number.isInteger(row.key) || row.key < 0 || row.key > 0xffff) throw new RangeError(`${row.name}: key ${row.key} is not a 16-bit encoding`)
      if (isStored(row) && SLOT[row.name as keyof typeof SLOT] === undefined) {
        throw new RangeError(`${row.name}: a row defined from outside needs its own read function (the CPU has no slot for it)`)
      }
      this.byKey.set(row.key, row)
    }
  }
}

function trapped(cpu: Cpu, rules: readonly TrapRule[], isRead: boolean): boolean {
  for (const rule of rules) {
    if (rule.on !== undefined && (rule.on === 'read') !== isRead) continue
    const bits = rule.hcr !== undefined ? cpu.hcrLo & rule.hcr : rule.hcrHi !== undefined ? cpu.hcrHi & rule.hcrHi : cpu.mdcr & (rule.mdcr ?? 0)
    if (rule.whenClear ? bits === 0 : bits !== 0) return true
  }
  return false
}

/**
 * The checks an MRS (isRead), MSR or SYS makes before it runs, in the architecture's
 * order: EL0 rules (UNDEFINED, or a trap to EL1), UNDEFINED when the CPU does not implement
 * the register now, traps to EL2 (HCR_EL2, MDCR_EL2), then the row's own check (FP access).
 * Returns the row when the access may proceed; never returns otherwise.
 */
export function checkAccess(cpu: Cpu, row: SysRegDesc | undefined, key: number, rt: number, isRead: boolean): SysRegDesc {
  const el0 = cpu.p[PS.EL] === 0
  if (row === undefined) {
    // No such register. Debug encodings are trapped by MDCR_EL2.TDA even so.
    if (!el0 || keyOp1(key) === 3) {
      if (keyOp0(key) === 2 && (cpu.mdcr & MDCR.TDA) !== 0) cpu.trapSysToEl2(key, rt, isRead)
    }
    return cpu.undefined()
  }
  if (el0) {
    const rule = row.el0
    if (rule === undefined || (rule === 'read' && !isRead)) return cpu.undefined()
    if (typeof rule === 'object') {
      const allowed = 'sctlr' in rule ? (cpu.sys[2 * SLOT.SCTLR_EL1]! & rule.sctlr) !== 0 : (cpu.sys[2 * SLOT.CNTKCTL_EL1]! & rule.cntkctl) !== 0
      if (!allowed) cpu.trapSysToEl1(key, rt, isRead)
    }
  }
  if (row.visible !== undefined && !row.visible(cpu)) return cpu.undefined()
  if (row.traps !== undefined && trapped(cpu, row.traps, isRead)) cpu.trapSysToEl2(key, rt, isRead)
  row.check?.(cpu, isRead)
  return row
}

/** MRS after checkAccess: the value in cpu.sysLo / cpu.sysHi. */
export function guestRead(cpu: Cpu, row: SysRegDesc): void {
  if (row.read === null || (row.read !== undefined && !row.read(cpu))) cpu.undefined()
  if (row.read === undefined) readStored(cpu, row)
}

/** MSR or SYS after checkAccess. */
export function guestWrite(cpu: Cpu, row: SysRegDesc, lo: number, hi: number): void {
  if (row.write === null || (row.write !== undefined && !row.write(cpu, lo, hi))) cpu.undefined()
  if (row.write === undefined) writeStored(cpu, row, lo, hi)
}

function readStored(cpu: Cpu, row: SysRegDesc): void {
  const s = 2 * SLOT[row.name as keyof typeof SLOT]
  cpu.sysLo = cpu.sys[s]! >>> 0
  cpu.sysHi = cpu.sys[s + 1]! >>> 0
}

function writeStored(cpu: Cpu, row: SysRegDesc, lo: number, hi: number): void {
  const s = 2 * SLOT[row.name as keyof typeof SLOT]
  cpu.sys[s] = lo
  cpu.sys[s + 1] = hi
  row.changed?.(cpu)
}

/** The hypervisor's read (no traps): false when the CPU does not implement the register now. */
export function hostRead(cpu: Cpu, row: SysRegDesc | undefined): boolean {
  if (row === undefined || row.read === null || (row.visible !== undefined && !row.visible(cpu))) return false
  if (row.read === undefined) {
    readStored(cpu, row)
    return true
  }
  return row.read(cpu)
}

/**
 * The hypervisor's write (no traps): the guest's write where it has one, else the stored
 * value (ID registers are set this way). False when there is nothing to write.
 */
export function hostWrite(cpu: Cpu, row: SysRegDesc | undefined, lo: number, hi: number): boolean {
  if (row === undefined) return false
  const visible = row.visible === undefined || row.visible(cpu)
  if (typeof row.write === 'function' && visible && row.write(cpu, lo, hi)) return true
  if (!isStored(row)) return false
  writeStored(cpu, row, lo, hi)
  return true
}

/** Reset values of the stored registers into cpu.sys (then their `changed` hooks). */
export function resetStored(cpu: Cpu): void {
  for (const row of SYSREG_ROWS) {
    if (!isStored(row)) continue
    const s = 2 * SLOT[row.name as keyof typeof SLOT]
    cpu.sys[s] = row.reset?.[1] ?? 0
    cpu.sys[s + 1] = row.reset?.[0] ?? 0
  }
}
