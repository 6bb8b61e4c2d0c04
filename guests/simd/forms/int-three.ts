// Integer AdvSIMD with two or three register operands: three same, three-register
// extension, three different, and their scalar forms.
import { type FormSpec, many, rows } from './types.js'

export const forms: FormSpec[] = [
  ...rows('SHADD_v', 'UHADD_v', 'SRHADD_v', 'URHADD_v', 'SHSUB_v', 'UHSUB_v'),
  ...rows('SQADD_v', 'UQADD_v', 'SQSUB_v', 'UQSUB_v'),
  ...rows('CMGT_v', 'CMHI_v', 'CMGE_v', 'CMHS_v', 'CMTST_v', 'CMEQ_v'),
  ...rows('SSHL_v', 'USHL_v', 'SQSHL_v', 'UQSHL_v', 'SRSHL_v', 'URSHL_v', 'SQRSHL_v', 'UQRSHL_v'),
  ...rows('SMAX_v', 'UMAX_v', 'SMIN_v', 'UMIN_v', 'SABD_v', 'UABD_v', 'SABA_v', 'UABA_v'),
  ...rows('ADD_v', 'SUB_v', 'MLA_v', 'MLS_v', 'MUL_v', 'PMUL_v'),
  // Doubling multiplies saturate only for the most negative value squared: more cases.
  ...many(384, 'SQDMULH_v', 'SQRDMULH_v', 'SQRDMLAH_v', 'SQRDMLSH_v'),
  ...rows('SMAXP_v', 'UMAXP_v', 'SMINP_v', 'UMINP_v', 'ADDP_v'),
  ...rows('AND_v', 'BIC_v', 'ORR_v', 'ORN_v', 'EOR_v', 'BSL_v', 'BIT_v', 'BIF_v'),
  ...rows('SDOT_v', 'UDOT_v'),
  ...rows('SADDL_v', 'UADDL_v', 'SSUBL_v', 'USUBL_v', 'SADDW_v', 'UADDW_v', 'SSUBW_v', 'USUBW_v'),
  ...rows('ADDHN_v', 'RADDHN_v', 'SUBHN_v', 'RSUBHN_v'),
  ...rows('SABAL_v', 'UABAL_v', 'SABDL_v', 'UABDL_v'),
  ...rows('SMLAL_v', 'UMLAL_v', 'SMLSL_v', 'UMLSL_v', 'SMULL_v', 'UMULL_v'),
  ...many(384, 'SQDMLAL_v', 'SQDMLSL_v', 'SQDMULL_v'),
  ...rows('PMULL_v'),
  // Scalar three same / three different.
  ...rows('SQADD_s', 'UQADD_s', 'SQSUB_s', 'UQSUB_s'),
  ...rows('CMGT_s', 'CMHI_s', 'CMGE_s', 'CMHS_s', 'CMTST_s', 'CMEQ_s', 'ADD_s', 'SUB_s'),
  ...rows('SSHL_s', 'USHL_s', 'SQSHL_s', 'UQSHL_s', 'SRSHL_s', 'URSHL_s', 'SQRSHL_s', 'UQRSHL_s'),
  ...many(384, 'SQDMULH_s', 'SQRDMULH_s', 'SQRDMLAH_s', 'SQRDMLSH_s'),
  ...many(384, 'SQDMLAL_s', 'SQDMLSL_s', 'SQDMULL_s'),
]
