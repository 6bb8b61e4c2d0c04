// LD1–LD4/ST1–ST4 (multiple structures, single lane), LD1R–LD4R, plain and post-index.
import type { FormSpec } from './types.js'

const memory = (...names: string[]): FormSpec[] => names.map((row) => ({ row, memory: true, xmode: 'small' as const }))

export const forms: FormSpec[] = [
  ...memory('LD1_m', 'LD1_mp', 'ST1_m', 'ST1_mp', 'LD2_m', 'LD2_mp', 'ST2_m', 'ST2_mp'),
  ...memory('LD3_m', 'LD3_mp', 'ST3_m', 'ST3_mp', 'LD4_m', 'LD4_mp', 'ST4_m', 'ST4_mp'),
  ...memory('LD1_l', 'LD1_lp', 'ST1_l', 'ST1_lp', 'LD2_l', 'LD2_lp', 'ST2_l', 'ST2_lp'),
  ...memory('LD3_l', 'LD3_lp', 'ST3_l', 'ST3_lp', 'LD4_l', 'LD4_lp', 'ST4_l', 'ST4_lp'),
  ...memory('LD1R', 'LD1R_p', 'LD2R', 'LD2R_p', 'LD3R', 'LD3R_p', 'LD4R', 'LD4R_p'),
]
