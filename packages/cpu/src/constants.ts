// Numbers shared by the CPU's modules, defined once. A leaf module: it imports nothing of
// the CPU, so any module (and a future code generator) can take a value from here without
// pulling in the Cpu class.

export { PAGE_SIZE } from '@tagvm/tag-memory'

/** 2^32: the carry out of a uint32 half, and the weight of a high half. */
export const TWO32 = 4294967296
/** Offset of an address inside its 4 KiB page (the only translation granule modelled). */
export const PAGE_OFFSET_MASK = 0xfff

/**
 * HCR_EL2 bit numbers (Arm ARM D19.2.48), for the hypervisor to build the 64-bit value
 * and for the CPU's masks below.
 */
export const HcrBit = {
  VM: 0, SWIO: 1, FMO: 3, IMO: 4, AMO: 5, VF: 6, VI: 7, FB: 9, BSU_IS: 10, TWI: 13, TWE: 14, TID1: 16, TID2: 17,
  TID3: 18, TSC: 19, TACR: 21, TSW: 22, TPC: 23, TPU: 24, TTLB: 25, TVM: 26, TGE: 27, TDZ: 28, HCD: 29, TRVM: 30,
  RW: 31, E2H: 34, FWB: 46, ATA: 56, TID5: 58,
} as const

/** HCR_EL2 bits as masks of the word that holds them (`HCR.X` low word, `HCR.HI_X` high word). */
export const HCR = {
  FMO: 1 << HcrBit.FMO,
  IMO: 1 << HcrBit.IMO,
  VF: 1 << HcrBit.VF,
  VI: 1 << HcrBit.VI,
  TWI: 1 << HcrBit.TWI,
  TWE: 1 << HcrBit.TWE,
  TID1: 1 << HcrBit.TID1,
  TID2: 1 << HcrBit.TID2,
  TID3: 1 << HcrBit.TID3,
  TSC: 1 << HcrBit.TSC,
  TACR: 1 << HcrBit.TACR,
  TSW: 1 << HcrBit.TSW,
  TPC: 1 << HcrBit.TPC,
  TPU: 1 << HcrBit.TPU,
  TTLB: 1 << HcrBit.TTLB,
  TVM: 1 << HcrBit.TVM,
  TGE: 1 << HcrBit.TGE,
  TDZ: 1 << HcrBit.TDZ,
  HCD: 1 << HcrBit.HCD,
  TRVM: 1 << HcrBit.TRVM,
  HI_E2H: 1 << (HcrBit.E2H - 32),
  HI_ATA: 1 << (HcrBit.ATA - 32),
  HI_TID5: 1 << (HcrBit.TID5 - 32),
} as const

/** MDCR_EL2 bits the CPU honours. */
export const MDCR = {
  /** Trap debug register accesses (op0 = 2) to EL2. */
  TDA: 1 << 9,
  /** Trap the OS lock / power-down registers (OSLAR, OSLSR, OSDLR, DBGPRCR) to EL2. */
  TDOSA: 1 << 10,
} as const

/** CPTR_EL2.TFP: trap FP/SIMD to EL2. */
export const CPTR_TFP = 1 << 10

/** SCTLR_EL1 bits of the low word. */
export const SCTLR = {
  /** Alignment checking. */
  A: 1 << 1,
  /** SP alignment check at EL1 / EL0. */
  SA: 1 << 3,
  SA0: 1 << 4,
  /** EL0 access to DAIF. */
  UMA: 1 << 9,
  /** EL0 DC ZVA (and the MTE DC G*ZVA). */
  DZE: 1 << 14,
  /** EL0 access to CTR_EL0. */
  UCT: 1 << 15,
  /** EL0 WFI / WFE do not trap when set. */
  NTWI: 1 << 16,
  NTWE: 1 << 18,
  /** PSTATE.PAN is left alone on exception entry when set. */
  SPAN: 1 << 23,
  /** EL0 cache maintenance by VA. */
  UCI: 1 << 26,
} as const
/** SCTLR_EL1.DSSBS (bit 44) in the high word: PSTATE.SSBS on exception entry. */
export const SCTLR_HI_DSSBS_SHIFT = 12

/** CNTKCTL_EL1 bits: EL0 access to the counter and the timers. */
export const CNTKCTL = {
  EL0PCTEN: 1 << 0,
  EL0VCTEN: 1 << 1,
  EL0VTEN: 1 << 8,
  EL0PTEN: 1 << 9,
} as const

// Access info: one number per load/store, computed when the instruction is compiled. Bits
// 24:14 are the ESR ISS fields of a single-register access (ISV, SAS, SSE, SRT, SF, AR), so
// a stage-2 abort copies them into its syndrome unchanged.
export const ACC_ISV = 1 << 24
/** LDTR/STTR: checked as an EL0 access (unless PSTATE.UAO). */
export const ACC_UNPRIV = 1 << 25
/** Must be naturally aligned whatever SCTLR.A says (exclusives, atomics, acquire/release). */
export const ACC_ALIGNED = 1 << 26
/** Not tag-checked (MTE: SP-relative immediate, literal, STGP data...). */
export const ACC_UNCHECKED = 1 << 27
/** Cache maintenance / DC ZVA: report CM (maintenance only) and WnR = 1. */
export const ACC_CM = 1 << 28
/** ISS bits a data abort may copy from the access info (ISV, SAS, SSE, SRT, SF, AR). */
export const ACC_ISS_MASK = 0x1ffc000

/** ISS bits of a single-register access for an emulatable MMIO syndrome. */
export function accessIss(size: number, srt: number, signExtend: boolean, sixtyFour: boolean, acqRel: boolean): number {
  const sas = size === 1 ? 0 : size === 2 ? 1 : size === 4 ? 2 : 3
  return ACC_ISV | (sas << 22) | (signExtend ? 1 << 21 : 0) | (srt << 16) | (sixtyFour ? 1 << 15 : 0) | (acqRel ? 1 << 14 : 0)
}

/** Data abort / instruction abort fault status codes the CPU raises itself. */
export const FSC = {
  /** Synchronous external abort (stage 2 led outside host memory). */
  EXTERNAL: 0x10,
  /** Synchronous tag check fault (MTE). */
  TAG_CHECK: 0x11,
  ALIGNMENT: 0x21,
} as const
/** ISS.WnR of a data abort. */
export const ISS_WNR = 1 << 6
