// Copies, permutes, table lookups and modified immediates.
import { type FormSpec, rows } from './types.js'

export const forms: FormSpec[] = [
  ...rows('DUP_ve', 'DUP_se', 'INS_e', 'UMOV_w', 'UMOV_x', 'SMOV_w', 'SMOV_x'),
  { row: 'DUP_vg', xmode: 'special' },
  { row: 'INS_g', xmode: 'special' },
  ...rows('UZP1_v', 'UZP2_v', 'TRN1_v', 'TRN2_v', 'ZIP1_v', 'ZIP2_v', 'EXT_v'),
  // Random index bytes are mostly out of range; the special-value table adds small ones.
  { row: 'TBL_v', cases: 384 },
  { row: 'TBX_v', cases: 384 },
  ...rows('MOVI_v', 'MVNI_v', 'ORR_vi', 'BIC_vi', 'MOVI_d', 'MOVI_2d'),
]
