// Vector and scalar by-element forms.
import { type FormSpec, many, rows } from './types.js'

export const forms: FormSpec[] = [
  ...rows('MUL_ve', 'MLA_ve', 'MLS_ve'),
  ...many(384, 'SQDMULH_ve', 'SQRDMULH_ve', 'SQRDMLAH_ve', 'SQRDMLSH_ve'),
  ...rows('SMLAL_ve', 'UMLAL_ve', 'SMLSL_ve', 'UMLSL_ve', 'SMULL_ve', 'UMULL_ve'),
  ...many(384, 'SQDMLAL_ve', 'SQDMLSL_ve', 'SQDMULL_ve'),
  ...rows('SDOT_ve', 'UDOT_ve'),
  ...many(384, 'SQDMULH_se', 'SQRDMULH_se', 'SQRDMLAH_se', 'SQRDMLSH_se', 'SQDMLAL_se', 'SQDMLSL_se', 'SQDMULL_se'),
]
