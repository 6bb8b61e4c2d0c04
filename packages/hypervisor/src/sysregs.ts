/**
 * System registers by encoding (op0, op1, CRn, CRm, op2 packed as in MRS/MSR bits 20:5),
 * the ones KVM exposes through ONE_REG or handles on a trap. Encodings from the Arm ARM.
 */
export function sysregKey(op0: number, op1: number, crn: number, crm: number, op2: number): number {
  return (op0 << 14) | (op1 << 11) | (crn << 7) | (crm << 3) | op2
}

const k = sysregKey

export const Sysreg = {
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
  CLIDR_EL1: k(3, 1, 0, 0, 1),
  GMID_EL1: k(3, 1, 0, 0, 4),
  AIDR_EL1: k(3, 1, 0, 0, 7),
  CSSELR_EL1: k(3, 2, 0, 0, 0),
  CTR_EL0: k(3, 3, 0, 0, 1),
  DCZID_EL0: k(3, 3, 0, 0, 7),
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
  CONTEXTIDR_EL1: k(3, 0, 13, 0, 1),
  TPIDR_EL1: k(3, 0, 13, 0, 4),
  CNTKCTL_EL1: k(3, 0, 14, 1, 0),
  FPCR: k(3, 3, 4, 4, 0),
  FPSR: k(3, 3, 4, 4, 1),
  TPIDR_EL0: k(3, 3, 13, 0, 2),
  TPIDRRO_EL0: k(3, 3, 13, 0, 3),
  MDCCINT_EL1: k(2, 0, 0, 2, 0),
  MDSCR_EL1: k(2, 0, 0, 2, 2),
  OSLSR_EL1: k(2, 0, 1, 1, 4),
  OSDLR_EL1: k(2, 0, 1, 3, 4),
  DBGPRCR_EL1: k(2, 0, 1, 4, 4),
} as const

/** The MTE registers of kvm-mte.md §3 that are saved per vCPU (GMID_EL1 is not). */
export const MTE_SYSREGS: readonly number[] = [Sysreg.RGSR_EL1, Sysreg.GCR_EL1, Sysreg.TFSR_EL1, Sysreg.TFSRE0_EL1]

/**
 * Registers KVM lists as ONE_REG system registers (sys_reg_descs entries with a user
 * accessor), minus the MTE ones (listed only with the capability). ELR/SPSR/FPCR/FPSR are
 * core registers in KVM; CCSIDR is demuxed; the timer registers have their own ids.
 */
export const ONE_REG_SYSREGS: readonly number[] = Object.entries(Sysreg)
  .filter(([name]) => !['SPSR_EL1', 'ELR_EL1', 'FPCR', 'FPSR', 'GMID_EL1'].includes(name))
  .map(([, key]) => key)
  .filter((key) => !MTE_SYSREGS.includes(key))
  .sort((a, b) => a - b)

/** op0 = 3, op1 = 0, CRn = 0, CRm = 1..7: the feature ID space HCR_EL2.TID3 traps. */
export function isIdRegister(key: number): boolean {
  return key >>> 7 === 0x180 && ((key >>> 3) & 0xf) !== 0
}

/** DC ISW/CSW/CISW (op2 2) and the MTE IGSW/IGDSW/CGSW/CGDSW/CIGSW/CIGDSW (op2 4, 6). */
export function isSetWayOp(key: number): boolean {
  const op2 = key & 7
  return key >>> 11 === 0b1_000 && ((key >>> 7) & 0xf) === 7 && [6, 10, 14].includes((key >>> 3) & 0xf) && (op2 === 2 || op2 === 4 || op2 === 6)
}

export function isMteSetWayOp(key: number): boolean {
  return isSetWayOp(key) && (key & 7) !== 2
}
