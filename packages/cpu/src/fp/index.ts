// The FP module's surface: IEEE operations after the Arm ARM and the handler table the CPU
// dispatches FP instructions through (exec-fp.ts).
export {
  FPCR_AHP,
  FPCR_DN,
  FPCR_FZ,
  FPCR_FZ16,
  FPCR_RMODE_MASK,
  FPCR_RMODE_SHIFT,
  FPSR_DZC,
  FPSR_IDC,
  FPSR_IOC,
  FPSR_IXC,
  FPSR_OFC,
  FPSR_QC,
  FPSR_UFC,
  RA,
  RM,
  RN,
  RO,
  RP,
  RZ,
  fpStatus,
  roundingMode,
  type FpStatus,
} from './status.js'
export { DOUBLE, FORMAT_BY_ESZ, HALF, SINGLE, res, type Format } from './core.js'
export {
  fpAbd,
  fpAbs,
  fpAdd,
  fpDiv,
  fpMaxMin,
  fpMul,
  fpMulAdd,
  fpMulAddH,
  fpMulX,
  fpNeg,
  fpRSqrtStep,
  fpRecipStep,
  fpSqrt,
  fpSub,
} from './arith.js'
export { fixedToFp, fpConvert, fpRoundInt, fpRoundIntN, fpToFixed, fpToFixedJS } from './convert.js'
export { fpCompare, fpCompareEQ, fpCompareGE, fpCompareGT } from './compare.js'
export { fpRSqrtEstimate, fpRecipEstimate, fpRecpX, unsignedRSqrtEstimate, unsignedRecipEstimate } from './estimate.js'
export { FP_HANDLERS, conditionHolds, type FpContext, type FpInstructionName } from './handlers.js'
