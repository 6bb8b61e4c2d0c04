// System registers as descriptor rows, in the shape of Linux's arch/arm64/kvm/sys_regs.c:
// each row gives the encoding, who may access it from EL0, the HCR_EL2 / MDCR_EL2 bits that
// trap it to EL2, whether this CPU shows it at all, its storage and reset value, and its
// read/write behaviour. MRS/MSR/SYS look the row up once, when the instruction is compiled
// (sysreg-access.ts runs the checks in architectural order). The system instructions
// (op0 = 1: DC, IC, AT, TLBI) are rows too, in sysop-table.ts.
//
// Adding a register = adding a row here (or, for a register the hypervisor emulates, a row
// given to Cpu.defineSysregs).

import { CNTKCTL, HCR, MDCR, SCTLR, TWO32 } from './constants.js'
import type { Cpu } from './cpu.js'
import { PS } from './state.js'
import { FPCR_RULES, FPSR_RULES } from './sysreg-fp.js'
import { DEBUG_SYSREG_ROWS, ID_AA64DFR0_VALUE } from './sysreg-debug.js'
import { GIC_SYSREG_ROWS } from './sysreg-gic.js'
import { ISAR0_HI_RNDR, rngSysregRows } from './sysreg-rng.js'
import { SysReg, keyCrm, keyOp0, keyOp1, keyCrn, sysregKey, type SysRegName } from './sysreg-encoding.js'

/** Who may access a register from EL0 (only op1 = 3 encodings can be EL0-accessible at all). */
export type El0Rule =
  /** Reads and writes. */
  | 'rw'
  /** Reads only: a write from EL0 is UNDEFINED. */
  | 'read'
  /** Allowed when this SCTLR_EL1 (low word) bit is set, else trapped to EL1 (EC 0x18). */
  | { readonly sctlr: number }
  /** Allowed when any of these CNTKCTL_EL1 bits is set, else trapped to EL1. */
  | { readonly cntkctl: number }

/** A trap to EL2 (EC 0x18) when a control bit is set. */
export interface TrapRule {
  /** HCR_EL2 low word bits; any one set traps. */
  readonly hcr?: number
  /** HCR_EL2 high word bits. */
  readonly hcrHi?: number
  /** MDCR_EL2 bits. */
  readonly mdcr?: number
  /** Only reads or only writes (TRVM / TVM); both when absent. */
  readonly on?: 'read' | 'write'
  /** Trap when the bit is clear instead (HCR_EL2.ATA = 0 traps the MTE registers). */
  readonly whenClear?: true
}

/** Reads the register into cpu.sysLo / cpu.sysHi; false = UNDEFINED in this state. */
export type SysRegRead = (cpu: Cpu) => boolean
/** Writes the register (a system instruction: performs it with Xt); false = UNDEFINED. */
export type SysRegWrite = (cpu: Cpu, lo: number, hi: number) => boolean

/**
 * One system register (or system instruction) row: encoding, access rules, traps,
 * storage and behaviour, as one `sys_reg_desc` in Linux's sys_regs.c.
 */
export interface SysRegDesc {
  /** Arm's name, for messages. */
  readonly name: string
  /** op0:op1:CRn:CRm:op2 (see sysreg-encoding.ts). */
  readonly key: number
  /** EL0 access; absent: UNDEFINED at EL0. */
  readonly el0?: El0Rule
  readonly traps?: readonly TrapRule[]
  /** Whether this CPU implements the register now (else UNDEFINED), e.g. FEAT_MTE2 registers. */
  readonly visible?: (cpu: Cpu) => boolean
  /** More checks after the traps (FP registers take the FP access trap), may raise an exception. */
  readonly check?: (cpu: Cpu, isRead: boolean) => void
  /** Guest read; absent: the stored value; null: not readable (UNDEFINED). */
  readonly read?: SysRegRead | null
  /** Guest write; absent: store the value; null: read-only (UNDEFINED). */
  readonly write?: SysRegWrite | null
  /** Reset value [hi, lo] of a stored register (default 0). */
  readonly reset?: readonly [number, number]
  /** Runs after the stored value changed (guest MSR or hypervisor write): forward it to the MMU, ... */
  readonly changed?: (cpu: Cpu) => void
}

/** A row keeps its value in cpu.sys when it has no read function of its own. */
export function isStored(row: SysRegDesc): boolean {
  return row.read === undefined
}

// ---- rules used by many rows ----

const TVM: readonly TrapRule[] = [{ hcr: HCR.TRVM, on: 'read' }, { hcr: HCR.TVM, on: 'write' }]
const TID1: readonly TrapRule[] = [{ hcr: HCR.TID1 }]
const TID2: readonly TrapRule[] = [{ hcr: HCR.TID2 }]
const TID3: readonly TrapRule[] = [{ hcr: HCR.TID3 }]
const TDA: readonly TrapRule[] = [{ mdcr: MDCR.TDA }]
const TDOSA: readonly TrapRule[] = [{ mdcr: MDCR.TDOSA }]
const ATA_CLEAR: readonly TrapRule[] = [{ hcrHi: HCR.HI_ATA, whenClear: true }]

const mte1 = (cpu: Cpu): boolean => cpu.mteLevel() !== 0
const mte2 = (cpu: Cpu): boolean => cpu.mteLevel() >= 2

type Named<N extends string> = SysRegDesc & { readonly name: N }

function row<N extends SysRegName>(name: N, rest: Omit<SysRegDesc, 'name' | 'key'> = {}): Named<N> {
  return { name, key: SysReg[name], ...rest }
}
/** An identification register: read-only to the guest, its value set by the hypervisor. */
function id<N extends SysRegName>(name: N, lo = 0, rest: Omit<SysRegDesc, 'name' | 'key'> = {}): Named<N> {
  return row(name, { write: null, reset: [0, lo], traps: TID3, ...rest })
}

/** Reads that set cpu.sysLo/sysHi. */
function value(cpu: Cpu, lo: number, hi = 0): boolean {
  cpu.sysLo = lo >>> 0
  cpu.sysHi = hi >>> 0
  return true
}

const forwardToMmu =
  (set: 'setSctlrEl1' | 'setTcrEl1' | 'setTtbr0El1' | 'setTtbr1El1' | 'setMairEl1', name: SysRegName) =>
  (cpu: Cpu): void => {
    const s = 2 * SLOT[name as StoredSysRegName]
    cpu.mmu[set](cpu.sys[s + 1]! >>> 0, cpu.sys[s]! >>> 0)
    if (set === 'setSctlrEl1') cpu.mteChanged()
    cpu.refetch()
  }

/** The counter (one tick per retired instruction), less CNTVOFF_EL2 for the virtual view. */
function counter(cpu: Cpu, virtual: boolean): number {
  return cpu.retired - (virtual ? cpu.cntvoff : 0)
}

/** CNT{P,V}_TVAL_EL0: a signed 32-bit view of CVAL - counter. */
function timerValue(cvalName: 'CNTP_CVAL_EL0' | 'CNTV_CVAL_EL0', virtual: boolean): Pick<SysRegDesc, 'read' | 'write'> {
  return {
    read: (cpu) => {
      const s = 2 * SLOT[cvalName]
      const cval = (cpu.sys[s + 1]! >>> 0) * TWO32 + (cpu.sys[s]! >>> 0)
      return value(cpu, cval - counter(cpu, virtual))
    },
    write: (cpu, lo) => {
      const cval = counter(cpu, virtual) + (lo | 0)
      const s = 2 * SLOT[cvalName]
      cpu.sys[s] = cval >>> 0
      cpu.sys[s + 1] = Math.floor(cval / TWO32) >>> 0
      return true
    },
  }
}

const p = (cpu: Cpu): Int32Array => cpu.p

/** Registers kept in cpu.sys (no read function of their own), in slot order. */
const STORED_ROWS = [
  // ---- identification ----
  // QEMU -cpu max reports MIDR 0x000f0510; kept so guests print the same.
  row('MIDR_EL1', { write: null, reset: [0, 0x000f0510] }),
  row('MPIDR_EL1', { write: null, reset: [0, 0x80000000] }),
  row('REVIDR_EL1', { write: null, traps: TID1 }),
  // EL0/EL1 AArch64 only (1), EL2/EL3 absent to the guest (0); FP and AdvSIMD with half
  // precision (1); GIC system registers absent (0); no SVE, RAS, AMU, DIT; CSV2/CSV3 0.
  id('ID_AA64PFR0_EL1', 0x00110011),
  // BT=0 (BTI hints execute as NOPs), SSBS=1 (PSTATE.SSBS), MTE=0 until the hypervisor says.
  id('ID_AA64PFR1_EL1', 0x00000010, { changed: (cpu) => cpu.mteChanged() }),
  id('ID_AA64ZFR0_EL1'),
  id('ID_AA64SMFR0_EL1'),
  id('ID_AA64DFR0_EL1', ID_AA64DFR0_VALUE), // Armv8.0 debug, 6 breakpoints, 4 watchpoints, no PMU (sysreg-debug.ts)
  id('ID_AA64DFR1_EL1'),
  id('ID_AA64AFR0_EL1'),
  id('ID_AA64AFR1_EL1'),
  // AES=2 (with PMULL 64-bit), SHA1=1, SHA2=2 (SHA512), CRC32=1, atomics (LSE)=2, RDM=1;
  // high word: SHA3=1, SM3=1, SM4=1, DP=1, FHM=1, RNDR=1 (sysreg-rng.ts). TS (FlagM), TLB absent.
  id('ID_AA64ISAR0_EL1', 0x10212120, { reset: [0x00011111 | ISAR0_HI_RNDR, 0x10212120] }),
  // JSCVT=1, FCMA=1, LRCPC=2 (LDAPR, LDAPUR/STLUR); high word: FRINTTS=1. PAuth fields 0:
  // PAC hint instructions are NOPs. SB/SPECRES, BF16, I8MM absent.
  id('ID_AA64ISAR1_EL1', 0x00211000, { reset: [0x00000001, 0x00211000] }),
  id('ID_AA64ISAR2_EL1'),
  // PARange 48 bits (5), ASIDBits 16 (2), 4 KiB granule only (TGran64=0xF); stage-2 granules follow stage 1.
  id('ID_AA64MMFR0_EL1', 0x0f000025),
  // PAN=1 (no PAN2 AT instructions), VMIDBits 16 (2); HAFDBS=0; VH=0; LO=0.
  id('ID_AA64MMFR1_EL1', 0x00100020),
  id('ID_AA64MMFR2_EL1', 0x00000010), // UAO=1
  // Cache geometry: a plausible 64-byte-line L1; minimum line 64 bytes (DminLine=IminLine=4).
  row('CCSIDR_EL1', { write: null, reset: [0, 0x700fe01a], traps: TID2 }),
  row('CLIDR_EL1', { write: null, reset: [0, 0x0a200023], traps: TID2 }),
  // LDGM/STGM cover 256 bytes (as QEMU max); HCR_EL2.TID5 traps it.
  row('GMID_EL1', { write: null, reset: [0, 6], visible: mte2, traps: [{ hcrHi: HCR.HI_TID5 }] }),
  row('AIDR_EL1', { write: null, traps: TID1 }),
  row('CSSELR_EL1', { traps: TID2 }),
  row('CTR_EL0', { write: null, reset: [0, 0x8444c004], el0: { sctlr: SCTLR.UCT }, traps: TID2 }),
  row('DCZID_EL0', { write: null, reset: [0, 4], el0: 'read' }), // DC ZVA zeroes 64 bytes

  // ---- EL1 control ----
  // Architectural reset value of SCTLR_EL1 as QEMU shows it at ELF entry.
  row('SCTLR_EL1', { reset: [0, 0x00c50838], traps: TVM, changed: forwardToMmu('setSctlrEl1', 'SCTLR_EL1') }),
  row('ACTLR_EL1', { traps: [{ hcr: HCR.TACR }] }),
  row('CPACR_EL1'),
  row('RGSR_EL1', { visible: mte2, traps: ATA_CLEAR }),
  row('GCR_EL1', { visible: mte2, traps: ATA_CLEAR }),
  row('TTBR0_EL1', { traps: TVM, changed: forwardToMmu('setTtbr0El1', 'TTBR0_EL1') }),
  row('TTBR1_EL1', { traps: TVM, changed: forwardToMmu('setTtbr1El1', 'TTBR1_EL1') }),
  row('TCR_EL1', { traps: TVM, changed: forwardToMmu('setTcrEl1', 'TCR_EL1') }),
  row('SPSR_EL1'),
  row('ELR_EL1'),
  row('AFSR0_EL1', { traps: TVM }),
  row('AFSR1_EL1', { traps: TVM }),
  row('ESR_EL1', { traps: TVM }),
  row('TFSR_EL1', { visible: mte2, traps: ATA_CLEAR }),
  row('TFSRE0_EL1', { visible: mte2, traps: ATA_CLEAR }),
  row('FAR_EL1', { traps: TVM }),
  row('PAR_EL1'),
  row('MAIR_EL1', { traps: TVM, changed: forwardToMmu('setMairEl1', 'MAIR_EL1') }),
  row('AMAIR_EL1', { traps: TVM }),
  row('VBAR_EL1'),
  row('CONTEXTIDR_EL1', { traps: TVM }),
  row('TPIDR_EL1'),
  row('CNTKCTL_EL1'),
  // FP access trap (CPACR_EL1.FPEN, CPTR_EL2.TFP) first; writes keep the implemented bits (sysreg-fp.ts).
  row('FPCR', FPCR_RULES),
  row('FPSR', FPSR_RULES),
  row('TPIDR_EL0', { el0: 'rw' }),
  row('TPIDRRO_EL0', { el0: 'read' }),
  // QEMU 10 virt: 1 GHz.
  row('CNTFRQ_EL0', { write: null, reset: [0, 1_000_000_000], el0: { cntkctl: CNTKCTL.EL0PCTEN | CNTKCTL.EL0VCTEN } }),
  row('CNTP_CTL_EL0', { el0: { cntkctl: CNTKCTL.EL0PTEN } }),
  row('CNTP_CVAL_EL0', { el0: { cntkctl: CNTKCTL.EL0PTEN } }),
  row('CNTV_CTL_EL0', { el0: { cntkctl: CNTKCTL.EL0VTEN } }),
  row('CNTV_CVAL_EL0', { el0: { cntkctl: CNTKCTL.EL0VTEN } }),
  row('MDCCINT_EL1', { traps: TDA }),
  row('MDSCR_EL1', { traps: TDA }),
  // OS lock: implemented (OSLM=0b10), not locked; OSLAR_EL1.OSLK sets bit 1.
  row('OSLSR_EL1', { write: null, reset: [0, 0x8], traps: TDOSA }),
  row('OSDLR_EL1', { traps: TDOSA }),
  row('DBGPRCR_EL1', { traps: TDOSA }),
]

/** Registers computed from other state: PSTATE fields, the counters, write-only ones. */
const COMPUTED_ROWS: readonly SysRegDesc[] = [
  row('NZCV', {
    el0: 'rw',
    read: (cpu) => value(cpu, (p(cpu)[PS.N]! << 31) | (p(cpu)[PS.Z]! << 30) | (p(cpu)[PS.C]! << 29) | (p(cpu)[PS.V]! << 28)),
    write: (cpu, lo) => {
      const ps = p(cpu)
      ps[PS.N] = lo >>> 31
      ps[PS.Z] = (lo >>> 30) & 1
      ps[PS.C] = (lo >>> 29) & 1
      ps[PS.V] = (lo >>> 28) & 1
      return true
    },
  }),
  row('DAIF', {
    el0: { sctlr: SCTLR.UMA },
    read: (cpu) => value(cpu, p(cpu)[PS.DAIF]! << 6),
    write: (cpu, lo) => {
      p(cpu)[PS.DAIF] = (lo >>> 6) & 0xf
      cpu.refetch() // may unmask a pending interrupt
      return true
    },
  }),
  row('CURRENTEL', { read: (cpu) => value(cpu, p(cpu)[PS.EL]! << 2), write: null }),
  row('SPSEL', {
    read: (cpu) => value(cpu, p(cpu)[PS.SPSEL]!),
    write: (cpu, lo) => {
      cpu.setSpSel(lo & 1)
      return true
    },
  }),
  row('PAN', {
    read: (cpu) => value(cpu, p(cpu)[PS.PAN]! << 22),
    write: (cpu, lo) => {
      p(cpu)[PS.PAN] = (lo >>> 22) & 1
      cpu.modeChanged()
      return true
    },
  }),
  row('UAO', {
    read: (cpu) => value(cpu, p(cpu)[PS.UAO]! << 23),
    write: (cpu, lo) => {
      p(cpu)[PS.UAO] = (lo >>> 23) & 1
      return true
    },
  }),
  row('SSBS', {
    el0: 'rw',
    read: (cpu) => value(cpu, p(cpu)[PS.SSBS]! << 12),
    write: (cpu, lo) => {
      p(cpu)[PS.SSBS] = (lo >>> 12) & 1
      return true
    },
  }),
  row('TCO', {
    el0: 'rw',
    visible: mte1,
    read: (cpu) => value(cpu, p(cpu)[PS.TCO]! << 25),
    write: (cpu, lo) => {
      p(cpu)[PS.TCO] = (lo >>> 25) & 1
      cpu.mteChanged()
      return true
    },
  }),
  row('SP_EL0', {
    // Only while SP_EL1 is the current stack pointer (SPSel = 1 at EL1).
    read: (cpu) => (p(cpu)[PS.EL] === 0 || p(cpu)[PS.SPSEL] === 0 ? false : value(cpu, cpu.spBank[0]!, cpu.spBank[1]!)),
    write: (cpu, lo, hi) => {
      if (p(cpu)[PS.EL] === 0 || p(cpu)[PS.SPSEL] === 0) return false
      cpu.spBank[0] = lo
      cpu.spBank[1] = hi
      return true
    },
  }),
  // I (bit 7) and F (bit 6): the interrupt lines, pending whether masked or not.
  row('ISR_EL1', { read: (cpu) => value(cpu, cpu.pendingInterrupts() << 6), write: null }),
  row('CNTPCT_EL0', {
    el0: { cntkctl: CNTKCTL.EL0PCTEN },
    read: (cpu) => {
      const c = counter(cpu, false)
      return value(cpu, c, Math.floor(c / TWO32))
    },
    write: null,
  }),
  row('CNTVCT_EL0', {
    el0: { cntkctl: CNTKCTL.EL0VCTEN },
    read: (cpu) => {
      const c = counter(cpu, true)
      return value(cpu, c, Math.floor(c / TWO32))
    },
    write: null,
  }),
  row('CNTP_TVAL_EL0', { el0: { cntkctl: CNTKCTL.EL0PTEN }, ...timerValue('CNTP_CVAL_EL0', false) }),
  row('CNTV_TVAL_EL0', { el0: { cntkctl: CNTKCTL.EL0VTEN }, ...timerValue('CNTV_CVAL_EL0', true) }),
  row('OSLAR_EL1', {
    traps: TDOSA,
    read: null,
    write: (cpu, lo) => {
      const s = 2 * SLOT.OSLSR_EL1
      cpu.sys[s] = (cpu.sys[s]! & ~2) | ((lo & 1) << 1)
      return true
    },
  }),
]

/**
 * The rest of the feature ID space (op0 = 3, op1 = 0, CRn = 0, CRm = 1..7): reserved ID
 * registers read as zero (and are trapped by HCR_EL2.TID3 like the others).
 */
function unallocatedIdRows(named: ReadonlySet<number>): SysRegDesc[] {
  const rows: SysRegDesc[] = []
  for (let crm = 1; crm <= 7; crm++) {
    for (let op2 = 0; op2 <= 7; op2++) {
      const key = sysregKey(3, 0, 0, crm, op2)
      if (named.has(key)) continue
      rows.push({ name: `S3_0_C0_C${crm}_${op2}`, key, traps: TID3, read: (cpu) => value(cpu, 0), write: null })
    }
  }
  return rows
}

const RNG_ROWS = rngSysregRows((cpu) => cpu.sys[2 * SLOT.MPIDR_EL1]!)
const REGISTERS: readonly SysRegDesc[] = [...STORED_ROWS, ...COMPUTED_ROWS, ...RNG_ROWS, ...DEBUG_SYSREG_ROWS, ...GIC_SYSREG_ROWS]
if (STORED_ROWS.some((r) => !isStored(r)) || REGISTERS.slice(STORED_ROWS.length).some(isStored)) {
  throw new Error('sysreg-table.ts: a stored row has a read function, or a computed row has none')
}

/** Every system register row of a CPU (op0 = 2, 3). */
export const SYSREG_ROWS: readonly SysRegDesc[] = [...REGISTERS, ...unallocatedIdRows(new Set(REGISTERS.map((r) => r.key)))]

/** Names of the registers kept in cpu.sys. */
export type StoredSysRegName = (typeof STORED_ROWS)[number]['name']
/** The registers kept in cpu.sys, in slot order. */
export const STORED_SYSREGS: readonly StoredSysRegName[] = STORED_ROWS.map((r) => r.name)

/** Slot of each stored register: its value lives at cpu.sys[2*slot] (lo) and [2*slot+1] (hi). */
export const SLOT = Object.fromEntries(STORED_SYSREGS.map((name, i) => [name, i])) as Readonly<Record<StoredSysRegName, number>>

/** Whether a key is in the debug space (op0 = 2), which MDCR_EL2.TDA traps even where no row exists. */
export function isDebugKey(key: number): boolean {
  return keyOp0(key) === 2
}

/** op0 = 3, op1 = 0, CRn = 0, CRm != 0: the feature ID space. */
export function isIdSpace(key: number): boolean {
  return keyOp0(key) === 3 && keyOp1(key) === 0 && keyCrn(key) === 0 && keyCrm(key) !== 0
}
