// The integer AdvSIMD, permute, crypto and SIMD&FP load/store semantics, as the CPU's
// instruction handlers use them. See README.md.
export { VRegs, VREGS_BYTES, V_COUNT, zeroAbove } from './vregs.js'
export {
  FPSR_QC,
  SIMD_EXECUTE,
  SIMD_MEMORY,
  type MemoryForm,
  type SimdExecuteName,
  type SimdMemoryName,
  type SimdState,
} from './execute.js'
export { loadReplicate, multipleBytes, transferLane, transferMultiple, transferRegister } from './ldst.js'
