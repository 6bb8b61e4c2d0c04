// Integer AdvSIMD two-register miscellaneous, across lanes and pairwise, vector and scalar.
import { type FormSpec, rows } from './types.js'

export const forms: FormSpec[] = [
  ...rows('REV64_v', 'REV32_v', 'REV16_v'),
  ...rows('SADDLP_v', 'UADDLP_v', 'SADALP_v', 'UADALP_v'),
  ...rows('SUQADD_v', 'USQADD_v', 'SQABS_v', 'SQNEG_v', 'ABS_v', 'NEG_v'),
  ...rows('CLS_v', 'CLZ_v', 'CNT_v', 'RBIT_v', 'NOT_v'),
  ...rows('CMGT_vz', 'CMGE_vz', 'CMEQ_vz', 'CMLE_vz', 'CMLT_vz'),
  ...rows('XTN_v', 'SQXTN_v', 'UQXTN_v', 'SQXTUN_v', 'SHLL_v'),
  ...rows('ADDV', 'SADDLV', 'UADDLV', 'SMAXV', 'UMAXV', 'SMINV', 'UMINV'),
  ...rows('SUQADD_s', 'USQADD_s', 'SQABS_s', 'SQNEG_s', 'ABS_s', 'NEG_s'),
  ...rows('CMGT_sz', 'CMGE_sz', 'CMEQ_sz', 'CMLE_sz', 'CMLT_sz'),
  ...rows('SQXTN_s', 'UQXTN_s', 'SQXTUN_s', 'ADDP_s'),
]
