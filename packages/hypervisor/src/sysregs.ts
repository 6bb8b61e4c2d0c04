import { DEBUG_BREAKPOINT_KEYS, SysReg } from '@tagvm/cpu'

/** System register keys (op0:op1:CRn:CRm:op2, MRS/MSR bits 20:5), as `@tagvm/cpu` numbers them. */
export const Sysreg = SysReg

/** The MTE registers of kvm-mte.md §3 that are saved per vCPU (GMID_EL1 is not). */
export const MTE_SYSREGS: readonly number[] = [Sysreg.RGSR_EL1, Sysreg.GCR_EL1, Sysreg.TFSR_EL1, Sysreg.TFSRE0_EL1]

/**
 * Registers KVM lists as ONE_REG system registers (sys_reg_descs entries with a user
 * accessor), without the MTE ones (listed only with the capability). ELR/SPSR/FPCR/FPSR are
 * core registers in KVM; CCSIDR is demuxed; GMID is not saved; the timers have their own ids.
 */
const ONE_REG_SYSREG_NAMES = [
  'MIDR_EL1', 'MPIDR_EL1', 'REVIDR_EL1', 'ID_AA64PFR0_EL1', 'ID_AA64PFR1_EL1', 'ID_AA64ZFR0_EL1',
  'ID_AA64SMFR0_EL1', 'ID_AA64DFR0_EL1', 'ID_AA64DFR1_EL1', 'ID_AA64AFR0_EL1', 'ID_AA64AFR1_EL1',
  'ID_AA64ISAR0_EL1', 'ID_AA64ISAR1_EL1', 'ID_AA64ISAR2_EL1', 'ID_AA64MMFR0_EL1',
  'ID_AA64MMFR1_EL1', 'ID_AA64MMFR2_EL1', 'CLIDR_EL1', 'AIDR_EL1', 'CSSELR_EL1', 'CTR_EL0',
  'DCZID_EL0', 'SCTLR_EL1', 'ACTLR_EL1', 'CPACR_EL1', 'TTBR0_EL1', 'TTBR1_EL1', 'TCR_EL1',
  'AFSR0_EL1', 'AFSR1_EL1', 'ESR_EL1', 'FAR_EL1', 'PAR_EL1', 'MAIR_EL1', 'AMAIR_EL1', 'VBAR_EL1',
  'CONTEXTIDR_EL1', 'TPIDR_EL1', 'CNTKCTL_EL1', 'TPIDR_EL0', 'TPIDRRO_EL0', 'MDCCINT_EL1',
  'MDSCR_EL1', 'OSLSR_EL1', 'OSDLR_EL1', 'DBGPRCR_EL1',
] as const satisfies readonly (keyof typeof SysReg)[]

/** ...and the breakpoint/watchpoint registers the CPU implements (KVM lists DBG{B,W}{V,C}Rn_EL1 with the rest). */
export const ONE_REG_SYSREGS: readonly number[] = [...ONE_REG_SYSREG_NAMES.map((name) => SysReg[name]), ...DEBUG_BREAKPOINT_KEYS].sort((a, b) => a - b)

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
