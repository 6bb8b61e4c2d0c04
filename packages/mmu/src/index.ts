/**
 * VMSAv8-64 stage-1 and stage-2 translation with the Tagged/Device decision, an ASID/VMID
 * tagged TLB, and a builder for stage-2 tables.
 *
 * @module \@tagvm/mmu
 */
export * from './mair.js'
export * from './constants.js'
export type { DescriptorMemory } from './memory.js'
export {
  COMBINED_TAGGED,
  MAIR_DEVICE_NGNRNE,
  MAIR_NORMAL_TAGGED,
  MAIR_NORMAL_WB,
  combineAttributeBits,
  combineAttributes,
} from './attributes.js'
export { TranslationResult, faultStatusCode, recordFault } from './result.js'
export { Tlb } from './tlb.js'
export { Mmu, PA_BITS } from './mmu.js'
export { Stage2Builder } from './stage2-builder.js'
export type { Stage2Attrs, Stage2BuilderOptions, Stage2Mapping, Stage2Permissions } from './stage2-builder.js'
