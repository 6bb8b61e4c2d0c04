// Shifts by immediate, vector and scalar (the immediate is part of each row's random bits).
import { type FormSpec, rows } from './types.js'

export const forms: FormSpec[] = [
  ...rows('SSHR_vi', 'USHR_vi', 'SRSHR_vi', 'URSHR_vi', 'SSRA_vi', 'USRA_vi', 'SRSRA_vi', 'URSRA_vi'),
  ...rows('SHL_vi', 'SQSHL_vi', 'UQSHL_vi', 'SQSHLU_vi', 'SRI_vi', 'SLI_vi'),
  ...rows('SHRN_vi', 'RSHRN_vi', 'SQSHRN_vi', 'SQRSHRN_vi', 'UQSHRN_vi', 'UQRSHRN_vi', 'SQSHRUN_vi', 'SQRSHRUN_vi'),
  ...rows('SSHLL_vi', 'USHLL_vi'),
  ...rows('SSHR_si', 'USHR_si', 'SRSHR_si', 'URSHR_si', 'SSRA_si', 'USRA_si', 'SRSRA_si', 'URSRA_si'),
  ...rows('SHL_si', 'SQSHL_si', 'UQSHL_si', 'SQSHLU_si', 'SRI_si', 'SLI_si'),
  ...rows('SQSHRN_si', 'SQRSHRN_si', 'UQSHRN_si', 'UQRSHRN_si', 'SQSHRUN_si', 'SQRSHRUN_si'),
]
