// Printers for floating point and Advanced SIMD (src/tables/simd-fp.decode), in LLVM 14's
// syntax. Most instructions share a handful of operand shapes, so printers are made by
// small factories and registered by name lists; the mnemonic is the row name up to '_'.
import type { PrinterTable } from '../printer-types.js'
import { cond, wr, xr, xsp } from '../print-helpers.js'

/** The fields simd-fp rows define (each printer reads only the ones its rows have). */
interface F {
  readonly name: string
  readonly rd: number
  readonly rn: number
  readonly rm: number
  readonly ra: number
  readonly rt: number
  readonly rt2: number
  readonly q: number
  readonly esz: number
  readonly desz: number
  readonly idx: number
  readonly idx2: number
  readonly imm: number
  readonly imm8: number
  readonly cmode: number
  readonly rot: number
  readonly len: number
  readonly sz: number
  readonly sf: number
  readonly shift: number
  readonly fbits: number
  readonly fimm: number
  readonly immLo: number
  readonly immHi: number
  readonly cond: number
  readonly nzcv: number
  readonly nregs: number
  readonly option: number
  readonly s: number
  readonly amount: number
}
type P = (i: F) => string

const ARRANGEMENTS = ['8b', '16b', '4h', '8h', '2s', '4s', '1d', '2d'] as const
const LANE = 'bhsdq'

/** Arrangement specifier for element size `esz` (log2 bytes) and Q. */
export function arrangement(esz: number, q: number): string {
  if (esz === 4) return '1q'
  return ARRANGEMENTS[esz * 2 + q] as string
}
const vec = (r: number, esz: number, q: number): string => `v${r}.${arrangement(esz, q)}`
/** Scalar SIMD&FP register: b0, h0, s0, d0, q0. */
const sc = (r: number, esz: number): string => `${LANE[esz]}${r}`
const lane = (r: number, esz: number, index: number): string => `v${r}.${LANE[esz]}[${index}]`
const gpr = (sf: number, r: number): string => (sf ? xr(r) : wr(r))
const suffix2 = (i: F): string => (i.q ? '2' : '')

function mnemonicOf(name: string): string {
  const cut = name.indexOf('_')
  return (cut < 0 ? name : name.slice(0, cut)).toLowerCase()
}

const table: Record<string, P> = {}
/** Registers `make(mnemonic)` for every name in the space-separated list. */
function reg(names: string, make: (mn: string) => P): void {
  for (const name of names.trim().split(/\s+/)) {
    if (table[name]) throw new Error(`two simd-fp printers for ${name}`)
    table[name] = make(mnemonicOf(name))
  }
}

// ---------------------------------------------------------------- vector, same arrangement
const v3: (mn: string) => P = (mn) => (i) => `${mn} ${vec(i.rd, i.esz, i.q)}, ${vec(i.rn, i.esz, i.q)}, ${vec(i.rm, i.esz, i.q)}`
/** Three vectors of one fixed arrangement (crypto, EXT). */
const v3fixed = (mn: string, esz: number, q: number): P => (i) =>
  `${mn} ${vec(i.rd, esz, q)}, ${vec(i.rn, esz, q)}, ${vec(i.rm, esz, q)}`
const withFourth = (first: P, fourth: P): P => (i) => `${first(i)}, ${fourth(i)}`
const v2fixed = (mn: string, esz: number): P => (i) => `${mn} ${vec(i.rd, esz, 1)}, ${vec(i.rn, esz, 1)}`
reg(
  `SHADD_v UHADD_v SQADD_v UQADD_v SRHADD_v URHADD_v SHSUB_v UHSUB_v SQSUB_v UQSUB_v CMGT_v CMHI_v CMGE_v CMHS_v
   SSHL_v USHL_v SQSHL_v UQSHL_v SRSHL_v URSHL_v SQRSHL_v UQRSHL_v SMAX_v UMAX_v SMIN_v UMIN_v SABD_v UABD_v
   SABA_v UABA_v ADD_v SUB_v CMTST_v CMEQ_v MLA_v MLS_v SMAXP_v UMAXP_v SMINP_v UMINP_v SQDMULH_v SQRDMULH_v
   MUL_v PMUL_v ADDP_v AND_v BIC_v ORN_v EOR_v BSL_v BIT_v BIF_v
   FMAXNM_v FMLA_v FADD_v FMULX_v FCMEQ_v FMAX_v FRECPS_v FMINNM_v FMLS_v FSUB_v FMIN_v FRSQRTS_v FMAXNMP_v
   FADDP_v FMUL_v FCMGE_v FACGE_v FMAXP_v FDIV_v FMINNMP_v FABD_v FCMGT_v FACGT_v FMINP_v
   SQRDMLAH_v SQRDMLSH_v UZP1_v TRN1_v ZIP1_v UZP2_v TRN2_v ZIP2_v`,
  v3,
)
// ORR with both sources the same register is LLVM's `mov`.
table.ORR_v = (i) =>
  i.rn === i.rm ? `mov ${vec(i.rd, 0, i.q)}, ${vec(i.rn, 0, i.q)}` : v3('orr')(i)
reg('FCMLA_v', (mn) => (i) => `${v3(mn)(i)}, #${i.rot * 90}`)
reg('FCADD_v', (mn) => (i) => `${v3(mn)(i)}, #${i.rot ? 270 : 90}`)
// FMLAL and friends: single-precision accumulators, half-precision sources.
reg('FMLAL_v FMLSL_v FMLAL2_v FMLSL2_v', (mn) => (i) =>
  `${mn} ${vec(i.rd, 2, i.q)}, v${i.rn}.${i.q ? '4h' : '2h'}, v${i.rm}.${i.q ? '4h' : '2h'}`)
reg('SDOT_v UDOT_v', (mn) => (i) => `${mn} ${vec(i.rd, 2, i.q)}, ${vec(i.rn, 0, i.q)}, ${vec(i.rm, 0, i.q)}`)

// ---------------------------------------------------------------- vector, different widths
/** Long: destination elements twice the source's, `2` suffix for the upper half (Q=1). */
reg(
  `SADDL_v UADDL_v SSUBL_v USUBL_v SABAL_v UABAL_v SABDL_v UABDL_v SMLAL_v UMLAL_v SMLSL_v UMLSL_v
   SMULL_v UMULL_v SQDMLAL_v SQDMLSL_v SQDMULL_v PMULL_v`,
  (mn) => (i) => `${mn}${suffix2(i)} ${vec(i.rd, i.esz + 1, 1)}, ${vec(i.rn, i.esz, i.q)}, ${vec(i.rm, i.esz, i.q)}`,
)
reg('SADDW_v UADDW_v SSUBW_v USUBW_v', (mn) => (i) =>
  `${mn}${suffix2(i)} ${vec(i.rd, i.esz + 1, 1)}, ${vec(i.rn, i.esz + 1, 1)}, ${vec(i.rm, i.esz, i.q)}`)
reg('ADDHN_v RADDHN_v SUBHN_v RSUBHN_v', (mn) => (i) =>
  `${mn}${suffix2(i)} ${vec(i.rd, i.esz, i.q)}, ${vec(i.rn, i.esz + 1, 1)}, ${vec(i.rm, i.esz + 1, 1)}`)

// ---------------------------------------------------------------- two-register misc
const v2: (mn: string) => P = (mn) => (i) => `${mn} ${vec(i.rd, i.esz, i.q)}, ${vec(i.rn, i.esz, i.q)}`
reg(
  `REV64_v REV16_v REV32_v SUQADD_v CLS_v CNT_v SQABS_v ABS_v USQADD_v CLZ_v SQNEG_v NEG_v RBIT_v
   FRINTN_v FRINTM_v FCVTNS_v FCVTMS_v FCVTAS_v SCVTF_v FRINT32Z_v FRINT64Z_v FABS_v FRINTP_v FRINTZ_v
   FCVTPS_v FCVTZS_v FRECPE_v FRINTA_v FRINTX_v FCVTNU_v FCVTMU_v FCVTAU_v UCVTF_v FRINT32X_v FRINT64X_v
   FNEG_v FRINTI_v FCVTPU_v FCVTZU_v FRSQRTE_v FSQRT_v URECPE_v URSQRTE_v`,
  v2,
)
table.NOT_v = (i) => v2('mvn')(i)
reg('CMGT_vz CMEQ_vz CMLT_vz CMGE_vz CMLE_vz', (mn) => (i) => `${v2(mn)(i)}, #0`)
reg('FCMGT_vz FCMEQ_vz FCMLT_vz FCMGE_vz FCMLE_vz', (mn) => (i) => `${v2(mn)(i)}, #0.0`)
reg('SADDLP_v UADDLP_v SADALP_v UADALP_v', (mn) => (i) => `${mn} ${vec(i.rd, i.esz + 1, i.q)}, ${vec(i.rn, i.esz, i.q)}`)
reg('XTN_v SQXTN_v SQXTUN_v UQXTN_v', (mn) => (i) => `${mn}${suffix2(i)} ${vec(i.rd, i.esz, i.q)}, ${vec(i.rn, i.esz + 1, 1)}`)
reg('SHLL_v', (mn) => (i) => `${mn}${suffix2(i)} ${vec(i.rd, i.esz + 1, 1)}, ${vec(i.rn, i.esz, i.q)}, #${8 << i.esz}`)
reg('FCVTN_v', (mn) => (i) => `${mn}${suffix2(i)} ${vec(i.rd, i.sz + 1, i.q)}, ${vec(i.rn, i.sz + 2, 1)}`)
reg('FCVTXN_v', (mn) => (i) => `${mn}${suffix2(i)} ${vec(i.rd, 2, i.q)}, ${vec(i.rn, 3, 1)}`)
reg('FCVTL_v', (mn) => (i) => `${mn}${suffix2(i)} ${vec(i.rd, i.sz + 2, 1)}, ${vec(i.rn, i.sz + 1, i.q)}`)

// ---------------------------------------------------------------- across lanes
reg('SMAXV UMAXV SMINV UMINV ADDV FMAXNMV FMAXV FMINNMV FMINV', (mn) => (i) => `${mn} ${sc(i.rd, i.esz)}, ${vec(i.rn, i.esz, i.q)}`)
reg('SADDLV UADDLV', (mn) => (i) => `${mn} ${sc(i.rd, i.esz + 1)}, ${vec(i.rn, i.esz, i.q)}`)

// ---------------------------------------------------------------- copy, permute, table
reg('DUP_ve', (mn) => (i) => `${mn} ${vec(i.rd, i.esz, i.q)}, ${lane(i.rn, i.esz, i.idx)}`)
reg('DUP_vg', (mn) => (i) => `${mn} ${vec(i.rd, i.esz, i.q)}, ${gpr(i.esz === 3 ? 1 : 0, i.rn)}`)
table.INS_g = (i) => `mov ${lane(i.rd, i.esz, i.idx)}, ${gpr(i.esz === 3 ? 1 : 0, i.rn)}`
table.INS_e = (i) => `mov ${lane(i.rd, i.esz, i.idx)}, ${lane(i.rn, i.esz, i.idx2)}`
table.DUP_se = (i) => `mov ${sc(i.rd, i.esz)}, ${lane(i.rn, i.esz, i.idx)}`
table.SMOV_w = (i) => `smov ${wr(i.rd)}, ${lane(i.rn, i.esz, i.idx)}`
table.SMOV_x = (i) => `smov ${xr(i.rd)}, ${lane(i.rn, i.esz, i.idx)}`
// LLVM prints UMOV of a 32- or 64-bit lane as `mov`.
table.UMOV_w = (i) => `${i.esz === 2 ? 'mov' : 'umov'} ${wr(i.rd)}, ${lane(i.rn, i.esz, i.idx)}`
table.UMOV_x = (i) => `mov ${xr(i.rd)}, ${lane(i.rn, i.esz, i.idx)}`
reg('EXT_v', (mn) => (i) => `${mn} ${vec(i.rd, 0, i.q)}, ${vec(i.rn, 0, i.q)}, ${vec(i.rm, 0, i.q)}, #${i.imm}`)
reg('TBL_v TBX_v', (mn) => (i) => `${mn} ${vec(i.rd, 0, i.q)}, ${list(i.rn, i.len + 1, '16b')}, ${vec(i.rm, 0, i.q)}`)

function list(first: number, count: number, suffix: string): string {
  let text = '{ '
  for (let k = 0; k < count; k++) text += `${k ? ', ' : ''}v${(first + k) & 31}.${suffix}`
  return `${text} }`
}

// ---------------------------------------------------------------- modified immediate
/** `#imm8` with the shift cmode selects, for MOVI/MVNI/ORR/BIC of 16- and 32-bit elements. */
function shiftedImm(i: F): { arr: string; imm: string } {
  const c = i.cmode
  if ((c & 8) === 0) return { arr: i.q ? '4s' : '2s', imm: `#${i.imm8}${c & 6 ? `, lsl #${(c & 6) * 4}` : ''}` }
  if ((c & 4) === 0) return { arr: i.q ? '8h' : '4h', imm: `#${i.imm8}${c & 2 ? ', lsl #8' : ''}` }
  if ((c & 2) === 0) return { arr: i.q ? '4s' : '2s', imm: `#${i.imm8}, msl #${c & 1 ? 16 : 8}` }
  return { arr: i.q ? '16b' : '8b', imm: `#${i.imm8}` }
}
reg('MOVI_v MVNI_v ORR_vi BIC_vi', (mn) => (i) => {
  const { arr, imm } = shiftedImm(i)
  return `${mn} v${i.rd}.${arr}, ${imm}`
})

/** A 64-bit immediate (two uint32 halves) as LLVM's "%#016llx" prints it: no 0x for zero. */
export function llvmHex64(hi: number, lo: number): string {
  if (hi === 0 && lo === 0) return '0000000000000000'
  const digits = hi === 0 ? (lo >>> 0).toString(16) : (hi >>> 0).toString(16) + (lo >>> 0).toString(16).padStart(8, '0')
  return `0x${digits.padStart(14, '0')}`
}
table.MOVI_d = (i) => `movi ${sc(i.rd, 3)}, #${llvmHex64(i.immHi, i.immLo)}`
table.MOVI_2d = (i) => `movi v${i.rd}.2d, #${llvmHex64(i.immHi, i.immLo)}`

/** LLVM prints FP immediates with "%.8f"; `fimm` is already VFPExpandImm(imm8). */
const fpImm = (value: number): string => `#${value.toFixed(8)}`
table.FMOV_vi = (i) => `fmov ${vec(i.rd, i.esz, i.q)}, ${fpImm(i.fimm)}`

// ---------------------------------------------------------------- shift by immediate
// `shift` is the decoded amount (right or left as the instruction is); `fbits` likewise.
reg(
  `SSHR_vi SSRA_vi SRSHR_vi SRSRA_vi USHR_vi USRA_vi URSHR_vi URSRA_vi SRI_vi
   SHL_vi SQSHL_vi SLI_vi SQSHLU_vi UQSHL_vi`,
  (mn) => (i) => `${v2(mn)(i)}, #${i.shift}`,
)
reg('SCVTF_vfx FCVTZS_vfx UCVTF_vfx FCVTZU_vfx', (mn) => (i) => `${v2(mn)(i)}, #${i.fbits}`)
reg('SHRN_vi RSHRN_vi SQSHRN_vi SQRSHRN_vi SQSHRUN_vi SQRSHRUN_vi UQSHRN_vi UQRSHRN_vi', (mn) => (i) =>
  `${mn}${suffix2(i)} ${vec(i.rd, i.esz, i.q)}, ${vec(i.rn, i.esz + 1, 1)}, #${i.shift}`)
reg('SSHLL_vi USHLL_vi', (mn) => (i) =>
  `${mn}${suffix2(i)} ${vec(i.rd, i.esz + 1, 1)}, ${vec(i.rn, i.esz, i.q)}, #${i.shift}`)
reg(
  'SSHR_si SSRA_si SRSHR_si SRSRA_si USHR_si USRA_si URSHR_si URSRA_si SRI_si SHL_si SQSHL_si SLI_si SQSHLU_si UQSHL_si',
  (mn) => (i) => `${mn} ${sc(i.rd, i.esz)}, ${sc(i.rn, i.esz)}, #${i.shift}`,
)
reg('SCVTF_sfx FCVTZS_sfx UCVTF_sfx FCVTZU_sfx', (mn) => (i) => `${mn} ${sc(i.rd, i.esz)}, ${sc(i.rn, i.esz)}, #${i.fbits}`)
reg('SQSHRN_si SQRSHRN_si SQSHRUN_si SQRSHRUN_si UQSHRN_si UQRSHRN_si', (mn) => (i) =>
  `${mn} ${sc(i.rd, i.esz)}, ${sc(i.rn, i.esz + 1)}, #${i.shift}`)

// ---------------------------------------------------------------- by element
reg('MUL_ve SQDMULH_ve SQRDMULH_ve MLA_ve MLS_ve SQRDMLAH_ve SQRDMLSH_ve FMLA_ve FMLS_ve FMUL_ve FMULX_ve', (mn) => (i) =>
  `${v2(mn)(i)}, ${lane(i.rm, i.esz, i.idx)}`)
reg('SMLAL_ve SQDMLAL_ve SMLSL_ve SQDMLSL_ve SMULL_ve SQDMULL_ve UMLAL_ve UMLSL_ve UMULL_ve', (mn) => (i) =>
  `${mn}${suffix2(i)} ${vec(i.rd, i.esz + 1, 1)}, ${vec(i.rn, i.esz, i.q)}, ${lane(i.rm, i.esz, i.idx)}`)
reg('SDOT_ve UDOT_ve', (mn) => (i) => `${mn} ${vec(i.rd, 2, i.q)}, ${vec(i.rn, 0, i.q)}, v${i.rm}.4b[${i.idx}]`)
reg('FMLAL_ve FMLSL_ve FMLAL2_ve FMLSL2_ve', (mn) => (i) =>
  `${mn} ${vec(i.rd, 2, i.q)}, v${i.rn}.${i.q ? '4h' : '2h'}, ${lane(i.rm, 1, i.idx)}`)
reg('FCMLA_ve', (mn) => (i) => `${v2(mn)(i)}, ${lane(i.rm, i.esz, i.idx)}, #${i.rot * 90}`)
reg('SQDMULH_se SQRDMULH_se SQRDMLAH_se SQRDMLSH_se FMLA_se FMLS_se FMUL_se FMULX_se', (mn) => (i) =>
  `${mn} ${sc(i.rd, i.esz)}, ${sc(i.rn, i.esz)}, ${lane(i.rm, i.esz, i.idx)}`)
reg('SQDMLAL_se SQDMLSL_se SQDMULL_se', (mn) => (i) =>
  `${mn} ${sc(i.rd, i.esz + 1)}, ${sc(i.rn, i.esz)}, ${lane(i.rm, i.esz, i.idx)}`)

// ---------------------------------------------------------------- scalar SIMD
const s3: (mn: string) => P = (mn) => (i) => `${mn} ${sc(i.rd, i.esz)}, ${sc(i.rn, i.esz)}, ${sc(i.rm, i.esz)}`
reg(
  `SQADD_s UQADD_s SQSUB_s UQSUB_s CMGT_s CMHI_s CMGE_s CMHS_s SSHL_s USHL_s SQSHL_s UQSHL_s SRSHL_s URSHL_s
   SQRSHL_s UQRSHL_s ADD_s SUB_s CMTST_s CMEQ_s SQDMULH_s SQRDMULH_s FMULX_s FCMEQ_s FRECPS_s FRSQRTS_s
   FCMGE_s FACGE_s FABD_s FCMGT_s FACGT_s SQRDMLAH_s SQRDMLSH_s`,
  s3,
)
reg('SQDMLAL_s SQDMLSL_s SQDMULL_s', (mn) => (i) => `${mn} ${sc(i.rd, i.esz + 1)}, ${sc(i.rn, i.esz)}, ${sc(i.rm, i.esz)}`)
const s2: (mn: string) => P = (mn) => (i) => `${mn} ${sc(i.rd, i.esz)}, ${sc(i.rn, i.esz)}`
reg(
  `SUQADD_s SQABS_s ABS_s USQADD_s SQNEG_s NEG_s FCVTNS_s FCVTMS_s FCVTAS_s SCVTF_s FCVTPS_s FCVTZS_s FRECPE_s
   FRECPX_s FCVTNU_s FCVTMU_s FCVTAU_s UCVTF_s FCVTPU_s FCVTZU_s FRSQRTE_s`,
  s2,
)
reg('CMGT_sz CMEQ_sz CMLT_sz CMGE_sz CMLE_sz', (mn) => (i) => `${s2(mn)(i)}, #0`)
reg('FCMGT_sz FCMEQ_sz FCMLT_sz FCMGE_sz FCMLE_sz', (mn) => (i) => `${s2(mn)(i)}, #0.0`)
reg('SQXTN_s SQXTUN_s UQXTN_s', (mn) => (i) => `${mn} ${sc(i.rd, i.esz)}, ${sc(i.rn, i.esz + 1)}`)
reg('FCVTXN_s', (mn) => (i) => `${mn} ${sc(i.rd, 2)}, ${sc(i.rn, 3)}`)
reg('ADDP_s FMAXNMP_s FADDP_s FMAXP_s FMINNMP_s FMINP_s', (mn) => (i) =>
  `${mn} ${sc(i.rd, i.esz)}, v${i.rn}.2${LANE[i.esz]}`)

// ---------------------------------------------------------------- cryptography
reg('AESE AESD AESMC AESIMC', (mn) => (i) => `${mn} ${vec(i.rd, 0, 1)}, ${vec(i.rn, 0, 1)}`)
reg('SHA1C SHA1P SHA1M', (mn) => (i) => `${mn} q${i.rd}, s${i.rn}, ${vec(i.rm, 2, 1)}`)
reg('SHA256H SHA256H2', (mn) => (i) => `${mn} q${i.rd}, q${i.rn}, ${vec(i.rm, 2, 1)}`)
reg('SHA512H SHA512H2', (mn) => (i) => `${mn} q${i.rd}, q${i.rn}, ${vec(i.rm, 3, 1)}`)
reg('SHA1SU0 SHA256SU1 SM3PARTW1 SM3PARTW2 SM4EKEY', (mn) => v3fixed(mn, 2, 1))
reg('SHA512SU1 RAX1', (mn) => v3fixed(mn, 3, 1))
reg('SHA1H', (mn) => (i) => `${mn} s${i.rd}, s${i.rn}`)
reg('SHA1SU1 SHA256SU0 SM4E', (mn) => v2fixed(mn, 2))
reg('SHA512SU0', (mn) => v2fixed(mn, 3))
reg('EOR3 BCAX', (mn) => withFourth(v3fixed(mn, 0, 1), (i) => vec(i.ra, 0, 1)))
reg('SM3SS1', (mn) => withFourth(v3fixed(mn, 2, 1), (i) => vec(i.ra, 2, 1)))
reg('XAR', (mn) => withFourth(v3fixed(mn, 3, 1), (i) => `#${i.imm}`))
reg('SM3TT1A SM3TT1B SM3TT2A SM3TT2B', (mn) => (i) => `${mn} ${vec(i.rd, 2, 1)}, ${vec(i.rn, 2, 1)}, ${lane(i.rm, 2, i.idx)}`)

// ---------------------------------------------------------------- scalar floating point
reg(
  `FMOV_f FABS_f FNEG_f FSQRT_f FRINTN_f FRINTP_f FRINTM_f FRINTZ_f FRINTA_f FRINTX_f FRINTI_f
   FRINT32Z_f FRINT32X_f FRINT64Z_f FRINT64X_f`,
  s2,
)
table.FCVT_f = (i) => `fcvt ${sc(i.rd, i.desz)}, ${sc(i.rn, i.esz)}`
reg('FCMP_f FCMPE_f', (mn) => (i) => `${mn} ${sc(i.rn, i.esz)}, ${sc(i.rm, i.esz)}`)
reg('FCMP_fz FCMPE_fz', (mn) => (i) => `${mn} ${sc(i.rn, i.esz)}, #0.0`)
table.FMOV_fi = (i) => `fmov ${sc(i.rd, i.esz)}, ${fpImm(i.fimm)}`
reg('FCCMP_f FCCMPE_f', (mn) => (i) => `${mn} ${sc(i.rn, i.esz)}, ${sc(i.rm, i.esz)}, #${i.nzcv}, ${cond(i.cond)}`)
reg('FMUL_f FDIV_f FADD_f FSUB_f FMAX_f FMIN_f FMAXNM_f FMINNM_f FNMUL_f', s3)
reg('FCSEL_f', (mn) => (i) => `${s3(mn)(i)}, ${cond(i.cond)}`)
reg('FMADD_f FMSUB_f FNMADD_f FNMSUB_f', (mn) => (i) => `${s3(mn)(i)}, ${sc(i.ra, i.esz)}`)

// ---------------------------------------------------------------- conversions
reg(
  'FCVTNS_g FCVTNU_g FCVTAS_g FCVTAU_g FCVTPS_g FCVTPU_g FCVTMS_g FCVTMU_g FCVTZS_g FCVTZU_g FMOV_gf',
  (mn) => (i) => `${mn} ${gpr(i.sf, i.rd)}, ${sc(i.rn, i.esz)}`,
)
reg('SCVTF_g UCVTF_g FMOV_fg', (mn) => (i) => `${mn} ${sc(i.rd, i.esz)}, ${gpr(i.sf, i.rn)}`)
table.FMOV_gd1 = (i) => `fmov ${xr(i.rd)}, v${i.rn}.d[1]`
table.FMOV_d1g = (i) => `fmov v${i.rd}.d[1], ${xr(i.rn)}`
table.FJCVTZS = (i) => `fjcvtzs ${wr(i.rd)}, ${sc(i.rn, 3)}`
reg('FCVTZS_gfx FCVTZU_gfx', (mn) => (i) => `${mn} ${gpr(i.sf, i.rd)}, ${sc(i.rn, i.esz)}, #${i.fbits}`)
reg('SCVTF_gfx UCVTF_gfx', (mn) => (i) => `${mn} ${sc(i.rd, i.esz)}, ${gpr(i.sf, i.rn)}, #${i.fbits}`)

// ---------------------------------------------------------------- loads and stores
table.LDR_fl = (i) => `ldr ${sc(i.rt, i.esz)}, #${i.imm}`
reg('STNP_f LDNP_f STP_f LDP_f', (mn) => (i) =>
  `${mn} ${sc(i.rt, i.esz)}, ${sc(i.rt2, i.esz)}, [${xsp(i.rn)}${i.imm ? `, #${i.imm}` : ''}]`)
reg('STP_fpost LDP_fpost', (mn) => (i) => `${mn} ${sc(i.rt, i.esz)}, ${sc(i.rt2, i.esz)}, [${xsp(i.rn)}], #${i.imm}`)
reg('STP_fpre LDP_fpre', (mn) => (i) => `${mn} ${sc(i.rt, i.esz)}, ${sc(i.rt2, i.esz)}, [${xsp(i.rn)}, #${i.imm}]!`)
reg('STUR_f LDUR_f STR_f LDR_f', (mn) => (i) => `${mn} ${sc(i.rt, i.esz)}, [${xsp(i.rn)}${i.imm ? `, #${i.imm}` : ''}]`)
reg('STR_fpost LDR_fpost', (mn) => (i) => `${mn} ${sc(i.rt, i.esz)}, [${xsp(i.rn)}], #${i.imm}`)
reg('STR_fpre LDR_fpre', (mn) => (i) => `${mn} ${sc(i.rt, i.esz)}, [${xsp(i.rn)}, #${i.imm}]!`)
const EXTEND_NAMES: Record<number, string> = { 2: 'uxtw', 3: 'lsl', 6: 'sxtw', 7: 'sxtx' }
reg('STR_fr LDR_fr', (mn) => (i) => {
  const index = i.option & 1 ? xr(i.rm) : wr(i.rm)
  const ext = EXTEND_NAMES[i.option] ?? '?'
  const amount = i.s ? ` #${i.amount}` : ''
  const tail = i.option === 3 && !i.s ? '' : `, ${ext}${amount}`
  return `${mn} ${sc(i.rt, i.esz)}, [${xsp(i.rn)}, ${index}${tail}]`
})
/** Post-index operand of structure loads/stores: Rm=31 means "by the bytes transferred". */
const postIndex = (rm: number, bytes: number): string => (rm === 31 ? `#${bytes}` : xr(rm))
reg('LD1_m LD2_m LD3_m LD4_m ST1_m ST2_m ST3_m ST4_m', (mn) => (i) =>
  `${mn} ${list(i.rt, i.nregs, arrangement(i.esz, i.q))}, [${xsp(i.rn)}]`)
reg('LD1_mp LD2_mp LD3_mp LD4_mp ST1_mp ST2_mp ST3_mp ST4_mp', (mn) => (i) =>
  `${mn} ${list(i.rt, i.nregs, arrangement(i.esz, i.q))}, [${xsp(i.rn)}], ${postIndex(i.rm, i.nregs * (i.q ? 16 : 8))}`)
const laneCount = (mn: string): number => Number(mn.slice(2, 3))
reg('LD1_l LD2_l LD3_l LD4_l ST1_l ST2_l ST3_l ST4_l', (mn) => (i) =>
  `${mn} ${list(i.rt, laneCount(mn), LANE[i.esz] as string)}[${i.idx}], [${xsp(i.rn)}]`)
reg('LD1_lp LD2_lp LD3_lp LD4_lp ST1_lp ST2_lp ST3_lp ST4_lp', (mn) => (i) =>
  `${mn} ${list(i.rt, laneCount(mn), LANE[i.esz] as string)}[${i.idx}], [${xsp(i.rn)}], ${postIndex(i.rm, laneCount(mn) << i.esz)}`)
reg('LD1R LD2R LD3R LD4R', (mn) => (i) => `${mn} ${list(i.rt, laneCount(mn), arrangement(i.esz, i.q))}, [${xsp(i.rn)}]`)
reg('LD1R_p LD2R_p LD3R_p LD4R_p', (mn) => (i) =>
  `${mn} ${list(i.rt, laneCount(mn), arrangement(i.esz, i.q))}, [${xsp(i.rn)}], ${postIndex(i.rm, laneCount(mn) << i.esz)}`)

/** Names this module prints (for the test that every simd-fp row has a printer). */
export const SIMD_FP_PRINTED: readonly string[] = Object.keys(table)

// The factories above are typed against F, the union of simd-fp fields; each row's decoded
// form has the subset its printer reads, which the printer test checks on every row.
export const printers = table as unknown as PrinterTable
