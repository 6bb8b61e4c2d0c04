/**
 * Encoders for the few A64 instructions the structured guest snippets need. Each is checked
 * against @tagvm/a64's disassembler (held to llvm-mc) in encode.test.ts.
 */

/** System register keys as MRS/MSR encode them in bits 20:5: op0:op1:CRn:CRm:op2. */
export function sysKey(op0: number, op1: number, crn: number, crm: number, op2: number): number {
  return (op0 << 14) | (op1 << 11) | (crn << 7) | (crm << 3) | op2
}

export const Sys = {
  SCTLR_EL1: sysKey(3, 0, 1, 0, 0),
  CPACR_EL1: sysKey(3, 0, 1, 0, 2),
  RGSR_EL1: sysKey(3, 0, 1, 0, 5),
  GCR_EL1: sysKey(3, 0, 1, 0, 6),
  TTBR0_EL1: sysKey(3, 0, 2, 0, 0),
  TTBR1_EL1: sysKey(3, 0, 2, 0, 1),
  TCR_EL1: sysKey(3, 0, 2, 0, 2),
  SPSR_EL1: sysKey(3, 0, 4, 0, 0),
  ELR_EL1: sysKey(3, 0, 4, 0, 1),
  SP_EL0: sysKey(3, 0, 4, 1, 0),
  ESR_EL1: sysKey(3, 0, 5, 2, 0),
  TFSR_EL1: sysKey(3, 0, 5, 6, 0),
  TFSRE0_EL1: sysKey(3, 0, 5, 6, 1),
  FAR_EL1: sysKey(3, 0, 6, 0, 0),
  PAR_EL1: sysKey(3, 0, 7, 4, 0),
  MAIR_EL1: sysKey(3, 0, 10, 2, 0),
  AMAIR_EL1: sysKey(3, 0, 10, 3, 0),
  VBAR_EL1: sysKey(3, 0, 12, 0, 0),
  CONTEXTIDR_EL1: sysKey(3, 0, 13, 0, 1),
  TPIDR_EL1: sysKey(3, 0, 13, 0, 4),
  CNTKCTL_EL1: sysKey(3, 0, 14, 1, 0),
  TPIDR_EL0: sysKey(3, 3, 13, 0, 2),
  TPIDRRO_EL0: sysKey(3, 3, 13, 0, 3),
  CNTFRQ_EL0: sysKey(3, 3, 14, 0, 0),
  CNTPCT_EL0: sysKey(3, 3, 14, 0, 1),
  CNTVCT_EL0: sysKey(3, 3, 14, 0, 2),
  CNTP_TVAL_EL0: sysKey(3, 3, 14, 2, 0),
  CNTP_CTL_EL0: sysKey(3, 3, 14, 2, 1),
  CNTP_CVAL_EL0: sysKey(3, 3, 14, 2, 2),
  CNTV_TVAL_EL0: sysKey(3, 3, 14, 3, 0),
  CNTV_CTL_EL0: sysKey(3, 3, 14, 3, 1),
  CNTV_CVAL_EL0: sysKey(3, 3, 14, 3, 2),
  NZCV: sysKey(3, 3, 4, 2, 0),
  DAIF: sysKey(3, 3, 4, 2, 1),
  CURRENTEL: sysKey(3, 0, 4, 2, 2),
  SPSEL: sysKey(3, 0, 4, 2, 0),
  PAN: sysKey(3, 0, 4, 2, 3),
  UAO: sysKey(3, 0, 4, 2, 4),
  TCO: sysKey(3, 3, 4, 2, 7),
  SSBS: sysKey(3, 3, 4, 2, 6),
  MDSCR_EL1: sysKey(2, 0, 0, 2, 2),
  ID_AA64PFR1_EL1: sysKey(3, 0, 0, 4, 1),
  ID_AA64MMFR0_EL1: sysKey(3, 0, 0, 7, 0),
  GMID_EL1: sysKey(3, 1, 0, 0, 4),
  MIDR_EL1: sysKey(3, 0, 0, 0, 0),
  MPIDR_EL1: sysKey(3, 0, 0, 0, 5),
  CTR_EL0: sysKey(3, 3, 0, 0, 1),
  DCZID_EL0: sysKey(3, 3, 0, 0, 7),
} as const

const XZR = 31

function reg(r: number): number {
  if (!Number.isInteger(r) || r < 0 || r > 31) throw new RangeError(`register ${r} is not 0..31`)
  return r
}

/** MOVZ Xd, #imm16, LSL #shift. */
export function movz(rd: number, imm16: number, shift: 0 | 16 | 32 | 48 = 0): number {
  return (0xd2800000 | ((shift / 16) << 21) | ((imm16 & 0xffff) << 5) | reg(rd)) >>> 0
}

/** MOVK Xd, #imm16, LSL #shift. */
export function movk(rd: number, imm16: number, shift: 0 | 16 | 32 | 48 = 0): number {
  return (0xf2800000 | ((shift / 16) << 21) | ((imm16 & 0xffff) << 5) | reg(rd)) >>> 0
}

/** Loads a 64-bit constant: MOVZ then a MOVK for every other non-zero halfword. */
export function movImm64(rd: number, value: bigint): number[] {
  const v = BigInt.asUintN(64, value)
  const halves = [0, 1, 2, 3].map((i) => Number((v >> BigInt(16 * i)) & 0xffffn))
  const words = [movz(rd, halves[0] as number, 0)]
  for (let i = 1; i < 4; i++) if (halves[i] !== 0) words.push(movk(rd, halves[i] as number, (i * 16) as 16 | 32 | 48))
  return words
}

/** MSR <sysreg>, Xt. */
export function msr(key: number, rt: number): number {
  return (0xd5000000 | (key << 5) | reg(rt)) >>> 0
}

/** MRS Xt, <sysreg>. */
export function mrs(rt: number, key: number): number {
  return (0xd5200000 | (key << 5) | reg(rt)) >>> 0
}

/** STR Xt, [Xn, #imm] (unsigned offset, multiple of 8). */
export function strX(rt: number, rn: number, imm: number): number {
  if (imm % 8 !== 0 || imm < 0 || imm > 32760) throw new RangeError(`STR offset ${imm}`)
  return (0xf9000000 | ((imm / 8) << 10) | (reg(rn) << 5) | reg(rt)) >>> 0
}

/** LDR Xt, [Xn, #imm] (unsigned offset, multiple of 8). */
export function ldrX(rt: number, rn: number, imm: number): number {
  if (imm % 8 !== 0 || imm < 0 || imm > 32760) throw new RangeError(`LDR offset ${imm}`)
  return (0xf9400000 | ((imm / 8) << 10) | (reg(rn) << 5) | reg(rt)) >>> 0
}

/** ADD Xd, Xn, #imm12 {, LSL #12}. */
export function addImm(rd: number, rn: number, imm12: number, lsl12 = false): number {
  if (imm12 < 0 || imm12 > 0xfff) throw new RangeError(`ADD immediate ${imm12}`)
  return (0x91000000 | (lsl12 ? 1 << 22 : 0) | (imm12 << 10) | (reg(rn) << 5) | reg(rd)) >>> 0
}

/** SUB Xd, Xn, Xm. */
export function subReg(rd: number, rn: number, rm: number): number {
  return (0xcb000000 | (reg(rm) << 16) | (reg(rn) << 5) | reg(rd)) >>> 0
}

/** CMP Xn, #imm12 {, LSL #12} (SUBS XZR). */
export function cmpImm(rn: number, imm12: number, lsl12 = false): number {
  if (imm12 < 0 || imm12 > 0xfff) throw new RangeError(`CMP immediate ${imm12}`)
  return (0xf1000000 | (lsl12 ? 1 << 22 : 0) | (imm12 << 10) | (reg(rn) << 5) | XZR) >>> 0
}

/** ADD Xd, Xn, Xm, LSL #shift. */
export function addShifted(rd: number, rn: number, rm: number, shift: number): number {
  return (0x8b000000 | (reg(rm) << 16) | ((shift & 63) << 10) | (reg(rn) << 5) | reg(rd)) >>> 0
}

/** UBFX Xd, Xn, #lsb, #width. */
export function ubfx(rd: number, rn: number, lsb: number, width: number): number {
  const imms = lsb + width - 1
  if (lsb < 0 || width < 1 || imms > 63) throw new RangeError(`UBFX #${lsb}, #${width}`)
  return (0xd3400000 | (lsb << 16) | (imms << 10) | (reg(rn) << 5) | reg(rd)) >>> 0
}

export const Cond = { EQ: 0, NE: 1, HS: 2, LO: 3, MI: 4, PL: 5, HI: 8, LS: 9, GE: 10, LT: 11, GT: 12, LE: 13, AL: 14 } as const

/** B.cond to a byte offset from this instruction. */
export function bCond(cond: number, offset: number): number {
  if (offset % 4 !== 0 || Math.abs(offset) >= 1 << 20) throw new RangeError(`B.cond offset ${offset}`)
  return (0x54000000 | (((offset / 4) & 0x7ffff) << 5) | (cond & 15)) >>> 0
}

/** B to a byte offset from this instruction. */
export function b(offset: number): number {
  if (offset % 4 !== 0 || Math.abs(offset) >= 1 << 27) throw new RangeError(`B offset ${offset}`)
  return (0x14000000 | ((offset / 4) & 0x3ffffff)) >>> 0
}

export const ERET = 0xd69f03e0
export const NOP = 0xd503201f
export const ISB = 0xd5033fdf
export const DSB_SY = 0xd5033f9f
export const TLBI_VMALLE1 = 0xd508871f
export const IC_IALLU = 0xd508751f

export function hvc(imm16: number): number {
  return (0xd4000002 | ((imm16 & 0xffff) << 5)) >>> 0
}

export function svc(imm16: number): number {
  return (0xd4000001 | ((imm16 & 0xffff) << 5)) >>> 0
}
