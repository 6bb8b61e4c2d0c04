// System register encodings and the storage layout of the ones the CPU keeps as plain
// values. A key is op0:op1:CRn:CRm:op2 in 16 bits, exactly bits [20:5] of MRS/MSR, so the
// interpreter turns an instruction word into a key with one shift and mask.

/** The 16-bit sysreg key for op0, op1, CRn, CRm, op2. */
export function sysregKey(op0: number, op1: number, crn: number, crm: number, op2: number): number {
  return (op0 << 14) | (op1 << 11) | (crn << 7) | (crm << 3) | op2
}

const k = sysregKey

/** Sysreg keys the CPU implements or traps by name. */
export const SysReg = {
  // Identification (EL1, read-only; values chosen by the hypervisor)
  MIDR_EL1: k(3, 0, 0, 0, 0),
  MPIDR_EL1: k(3, 0, 0, 0, 5),
  REVIDR_EL1: k(3, 0, 0, 0, 6),
  ID_AA64PFR0_EL1: k(3, 0, 0, 4, 0),
  ID_AA64PFR1_EL1: k(3, 0, 0, 4, 1),
  ID_AA64ZFR0_EL1: k(3, 0, 0, 4, 4),
  ID_AA64SMFR0_EL1: k(3, 0, 0, 4, 5),
  ID_AA64DFR0_EL1: k(3, 0, 0, 5, 0),
  ID_AA64DFR1_EL1: k(3, 0, 0, 5, 1),
  ID_AA64AFR0_EL1: k(3, 0, 0, 5, 4),
  ID_AA64AFR1_EL1: k(3, 0, 0, 5, 5),
  ID_AA64ISAR0_EL1: k(3, 0, 0, 6, 0),
  ID_AA64ISAR1_EL1: k(3, 0, 0, 6, 1),
  ID_AA64ISAR2_EL1: k(3, 0, 0, 6, 2),
  ID_AA64MMFR0_EL1: k(3, 0, 0, 7, 0),
  ID_AA64MMFR1_EL1: k(3, 0, 0, 7, 1),
  ID_AA64MMFR2_EL1: k(3, 0, 0, 7, 2),
  CCSIDR_EL1: k(3, 1, 0, 0, 0),
  CLIDR_EL1: k(3, 1, 0, 0, 1),
  GMID_EL1: k(3, 1, 0, 0, 4),
  AIDR_EL1: k(3, 1, 0, 0, 7),
  CSSELR_EL1: k(3, 2, 0, 0, 0),
  CTR_EL0: k(3, 3, 0, 0, 1),
  DCZID_EL0: k(3, 3, 0, 0, 7),
  // EL1 control
  SCTLR_EL1: k(3, 0, 1, 0, 0),
  ACTLR_EL1: k(3, 0, 1, 0, 1),
  CPACR_EL1: k(3, 0, 1, 0, 2),
  RGSR_EL1: k(3, 0, 1, 0, 5),
  GCR_EL1: k(3, 0, 1, 0, 6),
  TTBR0_EL1: k(3, 0, 2, 0, 0),
  TTBR1_EL1: k(3, 0, 2, 0, 1),
  TCR_EL1: k(3, 0, 2, 0, 2),
  SPSR_EL1: k(3, 0, 4, 0, 0),
  ELR_EL1: k(3, 0, 4, 0, 1),
  SP_EL0: k(3, 0, 4, 1, 0),
  SPSEL: k(3, 0, 4, 2, 0),
  CURRENTEL: k(3, 0, 4, 2, 2),
  PAN: k(3, 0, 4, 2, 3),
  UAO: k(3, 0, 4, 2, 4),
  AFSR0_EL1: k(3, 0, 5, 1, 0),
  AFSR1_EL1: k(3, 0, 5, 1, 1),
  ESR_EL1: k(3, 0, 5, 2, 0),
  TFSR_EL1: k(3, 0, 5, 6, 0),
  TFSRE0_EL1: k(3, 0, 5, 6, 1),
  FAR_EL1: k(3, 0, 6, 0, 0),
  PAR_EL1: k(3, 0, 7, 4, 0),
  MAIR_EL1: k(3, 0, 10, 2, 0),
  AMAIR_EL1: k(3, 0, 10, 3, 0),
  VBAR_EL1: k(3, 0, 12, 0, 0),
  ISR_EL1: k(3, 0, 12, 1, 0),
  CONTEXTIDR_EL1: k(3, 0, 13, 0, 1),
  TPIDR_EL1: k(3, 0, 13, 0, 4),
  CNTKCTL_EL1: k(3, 0, 14, 1, 0),
  // EL0-visible
  NZCV: k(3, 3, 4, 2, 0),
  DAIF: k(3, 3, 4, 2, 1),
  DIT: k(3, 3, 4, 2, 5),
  SSBS: k(3, 3, 4, 2, 6),
  TCO: k(3, 3, 4, 2, 7),
  FPCR: k(3, 3, 4, 4, 0),
  FPSR: k(3, 3, 4, 4, 1),
  TPIDR_EL0: k(3, 3, 13, 0, 2),
  TPIDRRO_EL0: k(3, 3, 13, 0, 3),
  CNTFRQ_EL0: k(3, 3, 14, 0, 0),
  CNTPCT_EL0: k(3, 3, 14, 0, 1),
  CNTVCT_EL0: k(3, 3, 14, 0, 2),
  CNTP_TVAL_EL0: k(3, 3, 14, 2, 0),
  CNTP_CTL_EL0: k(3, 3, 14, 2, 1),
  CNTP_CVAL_EL0: k(3, 3, 14, 2, 2),
  CNTV_TVAL_EL0: k(3, 3, 14, 3, 0),
  CNTV_CTL_EL0: k(3, 3, 14, 3, 1),
  CNTV_CVAL_EL0: k(3, 3, 14, 3, 2),
  // Debug (op0 = 2) that kernels touch at boot
  MDCCINT_EL1: k(2, 0, 0, 2, 0),
  MDSCR_EL1: k(2, 0, 0, 2, 2),
  OSLAR_EL1: k(2, 0, 1, 0, 4),
  OSLSR_EL1: k(2, 0, 1, 1, 4),
  OSDLR_EL1: k(2, 0, 1, 3, 4),
  DBGPRCR_EL1: k(2, 0, 1, 4, 4),
} as const

/**
 * Registers stored as plain 64-bit values (lo/hi pairs in an Int32Array), in slot order.
 * ID registers are here too: the hypervisor writes them through `setSysreg`.
 */
export const STORED_SYSREGS = [
  'MIDR_EL1', 'MPIDR_EL1', 'REVIDR_EL1',
  'ID_AA64PFR0_EL1', 'ID_AA64PFR1_EL1', 'ID_AA64ZFR0_EL1', 'ID_AA64SMFR0_EL1',
  'ID_AA64DFR0_EL1', 'ID_AA64DFR1_EL1', 'ID_AA64AFR0_EL1', 'ID_AA64AFR1_EL1',
  'ID_AA64ISAR0_EL1', 'ID_AA64ISAR1_EL1', 'ID_AA64ISAR2_EL1',
  'ID_AA64MMFR0_EL1', 'ID_AA64MMFR1_EL1', 'ID_AA64MMFR2_EL1',
  'CCSIDR_EL1', 'CLIDR_EL1', 'GMID_EL1', 'AIDR_EL1', 'CSSELR_EL1', 'CTR_EL0', 'DCZID_EL0',
  'SCTLR_EL1', 'ACTLR_EL1', 'CPACR_EL1', 'RGSR_EL1', 'GCR_EL1',
  'TTBR0_EL1', 'TTBR1_EL1', 'TCR_EL1',
  'SPSR_EL1', 'ELR_EL1',
  'AFSR0_EL1', 'AFSR1_EL1', 'ESR_EL1', 'TFSR_EL1', 'TFSRE0_EL1', 'FAR_EL1', 'PAR_EL1',
  'MAIR_EL1', 'AMAIR_EL1', 'VBAR_EL1', 'CONTEXTIDR_EL1', 'TPIDR_EL1', 'CNTKCTL_EL1',
  'FPCR', 'FPSR', 'TPIDR_EL0', 'TPIDRRO_EL0', 'CNTFRQ_EL0',
  'CNTP_CTL_EL0', 'CNTP_CVAL_EL0', 'CNTV_CTL_EL0', 'CNTV_CVAL_EL0',
  'MDCCINT_EL1', 'MDSCR_EL1', 'OSLSR_EL1', 'OSDLR_EL1', 'DBGPRCR_EL1',
] as const satisfies readonly (keyof typeof SysReg)[]

export type StoredSysRegName = (typeof STORED_SYSREGS)[number]

/** Slot of each stored register: its value lives at [2*slot] (lo) and [2*slot+1] (hi). */
export const SLOT = Object.fromEntries(STORED_SYSREGS.map((name, i) => [name, i])) as Record<StoredSysRegName, number>

/** Key → slot for stored registers; -1 elsewhere. */
export const SLOT_BY_KEY = new Int16Array(1 << 16).fill(-1)
for (const [i, name] of STORED_SYSREGS.entries()) SLOT_BY_KEY[SysReg[name]] = i

/** Name of a key, for messages. */
export function sysregName(key: number): string {
  for (const [name, value] of Object.entries(SysReg)) if (value === key) return name
  const op0 = key >>> 14
  const op1 = (key >>> 11) & 7
  const crn = (key >>> 7) & 15
  const crm = (key >>> 3) & 15
  const op2 = key & 7
  return `S${op0}_${op1}_C${crn}_C${crm}_${op2}`
}

/**
 * What the ID registers say by default: the features this interpreter implements and no
 * others. Values as [hi, lo].
 */
export const DEFAULT_ID_REGISTERS: Partial<Record<StoredSysRegName, readonly [number, number]>> = {
  // QEMU -cpu max reports 0x000f0510; we keep it so guests print the same.
  MIDR_EL1: [0, 0x000f0510],
  MPIDR_EL1: [0, 0x80000000],
  // EL0/EL1 AArch64 only (1), EL2/EL3 absent to the guest (0); FP and AdvSIMD not
  // implemented (0xF); GIC system registers absent (0); no SVE, RAS, AMU, DIT; CSV2/CSV3 0.
  ID_AA64PFR0_EL1: [0, 0x00ff0011],
  // BT=0 (BTI hints execute as NOPs), SSBS=1 (PSTATE.SSBS), MTE=0 until tag checks run.
  ID_AA64PFR1_EL1: [0, 0x00000010],
  ID_AA64DFR0_EL1: [0, 0x00000006], // Armv8.0 debug architecture, no PMU
  // AES/SHA absent; CRC32=1; atomics (LSE)=2; others 0.
  ID_AA64ISAR0_EL1: [0, 0x00210000],
  // LRCPC=2 (LDAPR, LDAPUR/STLUR). PAuth fields (APA/API/GPA/GPI) 0: PAC hint instructions are NOPs.
  // SB/SPECRES absent.
  ID_AA64ISAR1_EL1: [0, 0x00200000],
  // PARange 48 bits (5), ASIDBits 16 (2), 4 KiB granule only (TGran4=0, TGran64=0xF,
  // TGran16=0), mixed-endian absent; stage-2 granule sizes follow stage 1 (fields 0).
  ID_AA64MMFR0_EL1: [0, 0x0f000025],
  // PAN=1 (no PAN2 AT instructions), VMIDBits 16 (2); HAFDBS=0; VH=0; LO=0.
  ID_AA64MMFR1_EL1: [0, 0x00100020],
  // UAO=1.
  ID_AA64MMFR2_EL1: [0, 0x00000010],
  // Cache geometry: a plausible 64-byte-line L1; minimum line 64 bytes (DminLine=IminLine=4).
  CTR_EL0: [0, 0x8444c004],
  CLIDR_EL1: [0, 0x0a200023],
  CCSIDR_EL1: [0, 0x700fe01a],
  // DC ZVA zeroes 4 << 4 = 64 bytes, as QEMU -cpu max.
  DCZID_EL0: [0, 4],
  GMID_EL1: [0, 6],
  // QEMU 10 virt: 1 GHz.
  CNTFRQ_EL0: [0, 1_000_000_000],
  // OS lock: implemented (OSLM=0b10), not locked.
  OSLSR_EL1: [0, 0x8],
  // Architectural reset value of SCTLR_EL1 as QEMU shows it at ELF entry.
  SCTLR_EL1: [0, 0x00c50838],
}
