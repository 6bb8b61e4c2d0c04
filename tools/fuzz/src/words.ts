/**
 * Random A64 words, biased towards what exercises the machine: loads and stores through
 * registers that hold pointers, MTE instructions, exclusives and atomics, system registers
 * and system instructions, branches that stay near the code, exception generators. The
 * decoder (@tagvm/a64) classifies each candidate, so the generator can avoid exactly the
 * instructions a scenario must not contain and nothing more.
 */
import { decode } from '@tagvm/a64'
import { Sys, sysKey } from './encode.js'
import type { Rng } from './rng.js'

export interface WordPolicy {
  /**
   * Differential scenarios: avoid the few instructions whose outcome the architecture lets
   * a host event change (see `avoidReason`).
   */
  readonly strict: boolean
  /**
   * The scenario moves the vCPU to another VM: avoid the counter and timer registers, which
   * KVM_GET_ONE_REG does not expose here (FINDINGS.md F1), unless the run asks to see them.
   */
  readonly avoidTimers: boolean
  /**
   * Avoid AT S1E*: PAR_EL1.ATTR shows whether the host has the page mapped at stage 2
   * (FINDINGS.md F3), unless the run asks to see it.
   */
  readonly avoidAt: boolean
  /** Registers that hold pointers into guest memory at the start. */
  readonly pointerRegs: readonly number[]
}

/** Stage-1 translation controls: writing them makes TLB contents guest-visible. */
const TRANSLATION_REGS = new Set<number>([Sys.SCTLR_EL1, Sys.TCR_EL1, Sys.TTBR0_EL1, Sys.TTBR1_EL1, Sys.MAIR_EL1])
/** The generic timer and counters (CNTPCT, CNTVCT, CNTP_*, CNTV_*): op0=3 op1=3 CRn=14, CRm 0 op2 1-2, CRm 2-3. */
function isTimerReg(key: number): boolean {
  if (key >>> 7 !== ((3 << 7) | (3 << 4) | 14)) return false
  const crm = (key >>> 3) & 15
  const op2 = key & 7
  return (crm === 0 && (op2 === 1 || op2 === 2 || op2 === 5 || op2 === 6)) || crm === 2 || crm === 3
}

/**
 * Why a word must not appear under `policy`, or null. In strict scenarios:
 * - store-exclusives: the local monitor may be cleared by any exception return, so every
 *   host event between two runs may legitimately turn a success into a failure;
 * - writes to SCTLR/TCR/TTBRx/MAIR: once the guest can rewrite its tables or switch them,
 *   whether a stale TLB entry is used becomes visible, and a host event flushes the TLB.
 */
export function avoidReason(word: number, policy: WordPolicy): string | null {
  const insn = decode(word >>> 0)
  switch (insn.name) {
    case 'STXR':
    case 'STLXR':
    case 'STXP':
    case 'STLXP':
      return policy.strict ? 'store-exclusive' : null
    case 'MSR_r':
      if (policy.strict && TRANSLATION_REGS.has(insn.sysreg)) return 'translation register write'
      if (policy.avoidTimers && isTimerReg(insn.sysreg)) return 'timer register'
      return null
    case 'MRS':
      if (policy.avoidTimers && isTimerReg(insn.sysreg)) return 'timer register'
      return null
    case 'SYS':
      // AT S1E1R/W, S1E0R/W, S1E1RP/WP: op1 0, CRn 7, CRm 8 or 9.
      if (policy.avoidAt && insn.op1 === 0 && insn.crn === 7 && (insn.crm === 8 || insn.crm === 9)) return 'address translation'
      return null
    default:
      return null
  }
}

/** Interesting system registers for MRS/MSR (the rest are drawn at random). */
const SYSREGS: readonly number[] = [
  Sys.SCTLR_EL1, Sys.TCR_EL1, Sys.TTBR0_EL1, Sys.MAIR_EL1, Sys.GCR_EL1, Sys.RGSR_EL1, Sys.TFSR_EL1,
  Sys.TFSRE0_EL1, Sys.ESR_EL1, Sys.FAR_EL1, Sys.ELR_EL1, Sys.SPSR_EL1, Sys.SP_EL0, Sys.PAR_EL1,
  Sys.TPIDR_EL0, Sys.TPIDRRO_EL0, Sys.TPIDR_EL1, Sys.CONTEXTIDR_EL1, Sys.NZCV, Sys.DAIF, Sys.CURRENTEL,
  Sys.SPSEL, Sys.PAN, Sys.UAO, Sys.TCO, Sys.SSBS, Sys.CNTVCT_EL0, Sys.CNTPCT_EL0, Sys.CNTFRQ_EL0,
  Sys.CNTV_CTL_EL0, Sys.CNTV_CVAL_EL0, Sys.CNTV_TVAL_EL0, Sys.CNTKCTL_EL1, Sys.ID_AA64PFR1_EL1,
  Sys.ID_AA64MMFR0_EL1, Sys.GMID_EL1, Sys.MIDR_EL1, Sys.MPIDR_EL1, Sys.CTR_EL0, Sys.DCZID_EL0,
  Sys.CPACR_EL1, Sys.MDSCR_EL1, Sys.AMAIR_EL1, Sys.VBAR_EL1,
]

/** SYS operations: TLBI, AT, DC (including the MTE tag forms), IC. Encoded as op1, CRn, CRm, op2. */
const SYS_OPS: readonly (readonly [number, number, number, number])[] = [
  [0, 8, 7, 0], [0, 8, 3, 0], [0, 8, 7, 1], [0, 8, 7, 2], [0, 8, 7, 3], [0, 8, 3, 1], // TLBI
  [0, 7, 8, 0], [0, 7, 8, 1], [0, 7, 8, 2], [0, 7, 8, 3], [0, 7, 9, 0], [0, 7, 9, 1], // AT
  [3, 7, 4, 1], [3, 7, 4, 3], [3, 7, 4, 4], // DC ZVA, GVA, GZVA
  [3, 7, 10, 1], [3, 7, 11, 1], [3, 7, 14, 1], [0, 7, 6, 1], [0, 7, 6, 2], [0, 7, 6, 3], [0, 7, 6, 4], // DC by VA, set/way
  [3, 7, 10, 3], [3, 7, 10, 4], [3, 7, 10, 5], [0, 7, 6, 5], [0, 7, 10, 4], [0, 7, 14, 4], // DC *G* forms
  [0, 7, 5, 0], [3, 7, 5, 1], [0, 7, 1, 0], // IC
]

/** A register number, usually one of the pointer registers (for a base address). */
function baseReg(rng: Rng, policy: WordPolicy): number {
  if (policy.pointerRegs.length > 0 && rng.chance(0.75)) return rng.pick(policy.pointerRegs)
  return rng.chance(0.1) ? 31 : rng.int(31)
}

function withRn(word: number, rn: number): number {
  return ((word & ~(31 << 5)) | (rn << 5)) >>> 0
}

type Generator = (rng: Rng, policy: WordPolicy) => number

const loadStore: Generator = (rng, policy) => {
  // op0 x1x0 with bit 26 clear (no FP/SIMD): the whole integer load/store space.
  const w = ((rng.u32() & ~((1 << 26) | (1 << 25))) | (1 << 27)) >>> 0
  return withRn(w, baseReg(rng, policy))
}

const mte: Generator = (rng, policy) => {
  const rn = baseReg(rng, policy)
  const rt = rng.int(32)
  const rm = rng.int(32)
  switch (rng.int(7)) {
    case 0: {
      // STG/STZG/ST2G/STZ2G/LDG/STZGM/STGM/LDGM: 11011001 opc 1 imm9 op2 Rn Rt
      const imm9 = rng.chance(0.7) ? rng.range(-4, 4) & 0x1ff : rng.int(512)
      return (0xd9200000 | (rng.int(4) << 22) | (imm9 << 12) | (rng.int(4) << 10) | (rn << 5) | rt) >>> 0
    }
    case 1: // IRG / GMI / SUBP / SUBPS
      return (rng.pick([0x9ac01000, 0x9ac01400, 0x9ac00000, 0xbac00000]) | (rm << 16) | (rn << 5) | (rng.chance(0.5) ? rn : rt)) >>> 0
    case 2: // ADDG / SUBG
      return (rng.pick([0x91800000, 0xd1800000]) | (rng.int(64) << 16) | (rng.int(16) << 10) | (rn << 5) | (rng.chance(0.5) ? rn : rt)) >>> 0
    case 3: {
      // STGP (post, offset, pre)
      const simm7 = rng.chance(0.7) ? rng.range(-4, 4) & 0x7f : rng.int(128)
      return (rng.pick([0x68800000, 0x69000000, 0x69800000]) | (simm7 << 15) | (rng.int(32) << 10) | (rn << 5) | rt) >>> 0
    }
    case 4: // DC GVA / DC GZVA / DC ZVA
      return (rng.pick([0xd50b7460, 0xd50b7480, 0xd50b7420]) | rn) >>> 0
    case 5: // MSR TCO, #imm; MRS/MSR TCO
      return rng.chance(0.5) ? (0xd503409f | (rng.int(2) << 8)) >>> 0 : (rng.chance(0.5) ? 0xd53b42e0 : 0xd51b42e0) | rt
    default: // tag-checked loads and stores through a pointer register
      return loadStore(rng, policy)
  }
}

const exclusiveOrAtomic: Generator = (rng, policy) => {
  const rn = baseReg(rng, policy)
  if (rng.chance(0.5)) {
    // load/store exclusive, acquire/release, CAS/CASP: size 001000 o2 L o1 Rs o0 Rt2 Rn Rt
    return withRn(((rng.u32() & 0xc0ffffff) | 0x08000000) >>> 0, rn)
  }
  // LSE atomics: size 111000 A R 1 Rs o3 opc 00 Rn Rt
  return withRn(((rng.u32() & 0xc0dff3ff) | 0x38200000) >>> 0, rn)
}

const system: Generator = (rng) => {
  const rt = rng.int(32)
  switch (rng.int(5)) {
    case 0:
    case 1: {
      const key = rng.chance(0.8) ? rng.pick(SYSREGS) : sysKey(2 + rng.int(2), rng.int(8), rng.int(16), rng.int(16), rng.int(8))
      return ((rng.chance(0.6) ? 0xd5200000 : 0xd5000000) | (key << 5) | rt) >>> 0
    }
    case 2: {
      const [op1, crn, crm, op2] = rng.pick(SYS_OPS)
      return (0xd5080000 | (op1 << 16) | (crn << 12) | (crm << 8) | (op2 << 5) | rt) >>> 0
    }
    case 3: // MSR (immediate): SPSel, DAIFSet/Clr, PAN, UAO, SSBS, TCO, and random
      return rng.chance(0.8)
        ? (rng.pick([0xd50040bf, 0xd50340df, 0xd50340ff, 0xd500409f, 0xd500407f, 0xd503403f, 0xd503409f]) | (rng.int(16) << 8)) >>> 0
        : (0xd500401f | (rng.int(8) << 16) | (rng.int(16) << 8) | (rng.int(8) << 5)) >>> 0
    default: // hints and barriers: NOP, YIELD, WFE, WFI, SEV, SEVL, CLREX, DSB, DMB, ISB, SB
      return rng.pick([0xd503201f, 0xd503203f, 0xd503205f, 0xd503207f, 0xd503209f, 0xd50320bf, 0xd503305f, 0xd5033f9f, 0xd5033bbf, 0xd5033fdf, 0xd50330ff])
  }
}

const branch: Generator = (rng, policy) => {
  const near = (bits: number): number => {
    const words = rng.chance(0.9) ? rng.range(-48, 48) : rng.int(1 << bits) - (1 << (bits - 1))
    return words & ((1 << bits) - 1)
  }
  switch (rng.int(8)) {
    case 0:
      return ((rng.chance(0.7) ? 0x14000000 : 0x94000000) | near(26)) >>> 0 // B / BL
    case 1:
    case 2:
      return (0x54000000 | (near(19) << 5) | rng.int(16)) >>> 0 // B.cond
    case 3:
      return ((rng.u32() & 0x80000000) | 0x34000000 | (rng.int(2) << 24) | (near(19) << 5) | rng.int(32)) >>> 0 // CBZ/CBNZ
    case 4:
      return ((rng.u32() & 0x80f80000) | 0x36000000 | (rng.int(2) << 24) | (near(14) << 5) | rng.int(32)) >>> 0 // TBZ/TBNZ
    case 5: // BR / BLR / RET with a register, usually X30 or a pointer register
      return (rng.pick([0xd61f0000, 0xd63f0000, 0xd65f0000]) | ((rng.chance(0.5) ? 30 : baseReg(rng, policy)) << 5)) >>> 0
    case 6: // exception generation and return: SVC, HVC, SMC, BRK, HLT, UDF, ERET
      return (rng.pick([0xd4000001, 0xd4000002, 0xd4000003, 0xd4200000, 0xd4400000]) | (rng.chance(0.7) ? 0 : rng.int(1 << 16) << 5)) >>> 0
    default:
      return rng.chance(0.5) ? 0xd69f03e0 : rng.int(1 << 16) // ERET or UDF #imm
  }
}

const dataProcessing: Generator = (rng) => {
  // op0 100x (immediate) or x101 (register), never the FP/SIMD space.
  const w = rng.u32()
  return rng.chance(0.5) ? ((w & ~(0x7 << 26)) | (0x4 << 26)) >>> 0 : ((w & ~(0x7 << 25)) | (0x5 << 25)) >>> 0
}

const anything: Generator = (rng) => rng.u32()

const CLASSES: readonly (readonly [number, Generator])[] = [
  [30, loadStore],
  [14, mte],
  [8, exclusiveOrAtomic],
  [10, system],
  [10, branch],
  [24, dataProcessing],
  [4, anything],
]

/** One random word allowed by `policy`. */
export function randomWord(rng: Rng, policy: WordPolicy): number {
  for (;;) {
    const word = rng.weighted(CLASSES)(rng, policy) >>> 0
    if (avoidReason(word, policy) === null) return word
  }
}
