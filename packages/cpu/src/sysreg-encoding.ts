// System register and system instruction encodings. A key is op0:op1:CRn:CRm:op2 in 16
// bits, exactly bits [20:5] of MRS/MSR/SYS, so the interpreter turns an instruction word
// into a key with one shift and mask. A leaf module: names and numbers only.

/** The 16-bit key for op0, op1, CRn, CRm, op2. */
export function sysregKey(op0: number, op1: number, crn: number, crm: number, op2: number): number {
  return (op0 << 14) | (op1 << 11) | (crn << 7) | (crm << 3) | op2
}

export const keyOp0 = (key: number): number => key >>> 14
export const keyOp1 = (key: number): number => (key >>> 11) & 7
export const keyCrn = (key: number): number => (key >>> 7) & 15
export const keyCrm = (key: number): number => (key >>> 3) & 15
export const keyOp2 = (key: number): number => key & 7

const k = sysregKey

/** System registers (op0 = 2, 3) the CPU implements, traps or names. */
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

/** The name of a system register in SysReg. */
export type SysRegName = keyof typeof SysReg

/** System instructions (op0 = 1: SYS, the DC / IC / AT / TLBI aliases) by name. */
export const SysOp = {
  IC_IALLUIS: k(1, 0, 7, 1, 0),
  IC_IALLU: k(1, 0, 7, 5, 0),
  IC_IVAU: k(1, 3, 7, 5, 1),
  DC_IVAC: k(1, 0, 7, 6, 1),
  DC_ISW: k(1, 0, 7, 6, 2),
  DC_CSW: k(1, 0, 7, 10, 2),
  DC_CISW: k(1, 0, 7, 14, 2),
  DC_ZVA: k(1, 3, 7, 4, 1),
  DC_CVAC: k(1, 3, 7, 10, 1),
  DC_CVAU: k(1, 3, 7, 11, 1),
  DC_CIVAC: k(1, 3, 7, 14, 1),
  // MTE: set tags (and zero) a DCZID_EL0 block.
  DC_GVA: k(1, 3, 7, 4, 3),
  DC_GZVA: k(1, 3, 7, 4, 4),
  AT_S1E1R: k(1, 0, 7, 8, 0),
  AT_S1E1W: k(1, 0, 7, 8, 1),
  AT_S1E0R: k(1, 0, 7, 8, 2),
  AT_S1E0W: k(1, 0, 7, 8, 3),
} as const

/** Name of a key, for messages: a SysReg/SysOp name or the generic S<op0>_<op1>_C<n>_C<m>_<op2>. */
export function sysregName(key: number): string {
  for (const [name, value] of Object.entries(SysReg)) if (value === key) return name
  for (const [name, value] of Object.entries(SysOp)) if (value === key) return name
  return `S${keyOp0(key)}_${keyOp1(key)}_C${keyCrn(key)}_C${keyCrm(key)}_${keyOp2(key)}`
}

/** ISS of EC 0x18: Op0 21:20, Op2 19:17, Op1 16:14, CRn 13:10, Rt 9:5, CRm 4:1, Dir 0. */
export function sysIss(key: number, rt: number, isRead: boolean): number {
  return (
    (keyOp0(key) << 20) | (keyOp2(key) << 17) | (keyOp1(key) << 14) | (keyCrn(key) << 10) | (rt << 5) | (keyCrm(key) << 1) |
    (isRead ? 1 : 0)
  )
}

/** The key an MSR (immediate) reports in a trap syndrome: op0 = 0, CRn = 4, CRm = 0. */
export function msrImmediateKey(op1: number, op2: number): number {
  return k(0, op1, 4, 0, op2)
}
