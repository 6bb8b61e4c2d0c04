// Region formation: the basic blocks reachable from an entry by direct branches inside one
// 4 KiB page, what registers they use, and for each flag reader the setter before it in
// its block. An instruction the translator does not implement ends its block there; the
// translation leaves for the interpreter at it.

import { INSTRUCTION_FLAGS, InstructionFlag, decode, type Instruction } from '@tagvm/a64'
import { hasSemantics } from '../handlers.js'
import { REG_DISCARD, REG_SP, REG_ZR } from '../state.js'

export interface Insn {
  /** Byte offset in the page. */
  off: number
  d: Instruction
}

export type Terminator =
  | { kind: 'fall'; next: number }
  | { kind: 'jump'; target: number }
  | { kind: 'cond'; target: number; next: number }
  | { kind: 'indirect' }
  | { kind: 'unsupported'; off: number }

/** Targets are byte offsets from the page start (may lie outside 0..4095: another page). */
export interface Block {
  start: number
  insns: Insn[]
  term: Terminator
  /** For each flag reader at insns[k]: the index of the last setter before it in this block, or -1. */
  setterOf: Map<number, number>
}

export interface Region {
  blocks: Block[]
  /** Block index by page offset. */
  blockAt: Map<number, number>
  /** Register slots (0..30, 32 = SP) used anywhere. */
  regs: number[]
  /** Slots written anywhere. */
  writes: number[]
  instructions: number
  /** Page offsets of the instructions translated as calls of the interpreter's handler (filled by the emitter). */
  helpers: number[]
}

const PAGE = 4096

/** Reads Xn or XZR. */
const rz = (n: number): number => n
/** Reads or writes Xn or SP. */
const rs = (n: number): number => (n === 31 ? REG_SP : n)
/** Writes Xn or discards. */
const wz = (n: number): number => (n === 31 ? REG_DISCARD : n)

/** Whether the translator implements this instruction (as the interpreter would run it). */
export function isSupported(d: Instruction): boolean {
  switch (d.name) {
    // The hints below NOP (HINT, PACSP, AUTSP, BTI...) are those the interpreter runs as NOPs
    // (the ID registers report neither PAuth nor BTI; without caches DSB/DMB order nothing):
    // Linux's function prologues and epilogues.
    case 'ADD_i': case 'ADDS_i': case 'SUB_i': case 'SUBS_i':
    case 'ADD_r': case 'ADDS_r': case 'SUB_r': case 'SUBS_r':
    case 'ADD_x': case 'ADDS_x': case 'SUB_x': case 'SUBS_x':
    case 'AND_i': case 'ORR_i': case 'EOR_i': case 'ANDS_i':
    case 'AND_r': case 'BIC_r': case 'ORR_r': case 'ORN_r': case 'EOR_r': case 'EON_r': case 'ANDS_r': case 'BICS_r':
    case 'MOVZ': case 'MOVN': case 'MOVK': case 'ADR': case 'ADRP':
    case 'SBFM': case 'UBFM': case 'BFM': case 'EXTR':
    case 'LSLV': case 'LSRV': case 'ASRV': case 'RORV':
    case 'MADD': case 'MSUB': case 'SMADDL': case 'SMSUBL': case 'UMADDL': case 'UMSUBL': case 'UMULH': case 'SMULH':
    case 'UDIV': case 'SDIV': case 'CLZ': case 'CRC32': case 'CRC32C':
    case 'CSEL': case 'CSINC': case 'CSINV': case 'CSNEG':
    case 'CCMP_r': case 'CCMN_r': case 'CCMP_i': case 'CCMN_i':
    case 'NOP': case 'HINT': case 'YIELD': case 'PACSP': case 'AUTSP': case 'XPACLRI': case 'PAC1716': case 'AUT1716': case 'BTI': case 'CSDB':
    case 'DSB': case 'DMB':
    case 'B': case 'BL': case 'B_cond': case 'CBZ': case 'CBNZ': case 'TBZ': case 'TBNZ': case 'BR': case 'BLR': case 'RET':
    case 'LDR_ui': case 'STR_ui': case 'LDRS_ui': case 'LDUR': case 'STUR': case 'LDURS':
    case 'LDR_reg': case 'STR_reg': case 'LDRS_reg':
      return true
    case 'LDR_post': case 'STR_post': case 'LDRS_post': case 'LDR_pre': case 'STR_pre': case 'LDRS_pre':
      // Writeback into the transfer register is CONSTRAINED UNPREDICTABLE: the interpreter's choice.
      return d.rn === 31 || d.rt !== d.rn
    case 'ADDG': case 'SUBG':
    case 'IRG': case 'GMI': case 'SUBP': case 'RBIT': case 'REV16': case 'REV32': case 'REV': case 'CLS':
      return true
    case 'STG': case 'STZG': case 'ST2G': case 'STZ2G':
      // mode 0 is STZGM/LDG/STGM/LDGM (other names); writeback and Rt = Rn is fine (Rt read first).
      return true
    case 'LDP': case 'STP': case 'LDPSW':
      if (d.name !== 'STP' && d.rt === d.rt2) return false
      return d.mode === 0 || d.mode === 2 || d.rn === 31 || (d.rt !== d.rn && d.rt2 !== d.rn)
    default:
      return isSysSupported(d)
  }
}

const isBranch = (d: Instruction): boolean => {
  switch (d.name) {
    case 'B': case 'BL': case 'B_cond': case 'CBZ': case 'CBNZ': case 'TBZ': case 'TBNZ': case 'BR': case 'BLR': case 'RET':
      return true
    default:
      return false
  }
}

/** Whether execution never goes on to the next instruction after this one (B, BL, BR, BLR, RET). */
export const isUnconditionalBranch = (d: Instruction): boolean => isBranch(d) && !targets({ off: 0, d }).fall

/**
 * ADCS/SBCS leave NZCV itself, not operands a reader could compare (see emit-sys.ts); so do the
 * instructions run by their handler that may write NZCV (MSR NZCV, the FP compares, FJCVTZS): a
 * later reader in the block must read NZCV, not compare an earlier setter's operands. (A handler
 * that leaves NZCV alone leaves those operands valid: sysCall does not touch them.)
 */
const setsLiteralFlags = (d: Instruction): boolean => {
  switch (d.name) {
    case 'ADCS': case 'SBCS': case 'MSR_r':
    case 'FCMP_f': case 'FCMP_fz': case 'FCMPE_f': case 'FCMPE_fz': case 'FCCMP_f': case 'FCCMPE_f': case 'FJCVTZS':
      return true
    default:
      return false
  }
}

export const setsFlags = (d: Instruction): boolean =>
  /^(ADDS|SUBS|ANDS|BICS)_/.test(d.name) || d.name.startsWith('CCMP') || d.name.startsWith('CCMN') || setsLiteralFlags(d)

export const readsFlags = (d: Instruction): boolean =>
  d.name === 'B_cond' || d.name.startsWith('CS') || d.name.startsWith('CCMP') || d.name.startsWith('CCMN') || /^(ADC|SBC)S?$/.test(d.name)

/**
 * Forms the region at page offset `entry`; `word(off)` reads the page's instruction words.
 * `stopAt(off)`: the region must not include that instruction (a hypervisor breakpoint:
 * the interpreter runs it through the breakpoint wrapper), as if it were unsupported.
 * `translated(off)`: an entry of an earlier translation starts there; the region ends its
 * block before it and branches to it by leaving (no page's code is translated twice, so a
 * side exit's resume point or a second entry into a page costs one small region).
 * `executed(off)`: whether the code at a branch target has run (the interpreter's hit
 * counts); a target that has not is left by an exit instead of translated (cold paths, error
 * handling: most of a kernel page's reachable code never runs, and every translated
 * instruction costs compile time).
 */
export function formRegion(
  word: (off: number) => number, entry: number, stopAt?: (off: number) => boolean, translated?: (off: number) => boolean,
  executed?: (off: number) => boolean,
): Region {
  const decoded = new Map<number, Insn>()
  const at = (off: number): Insn => {
    let insn = decoded.get(off)
    if (insn === undefined) {
      insn = { off, d: decode(word(off)) }
      decoded.set(off, insn)
    }
    return insn
  }
  const inPage = (off: number): boolean => off >= 0 && off < PAGE
  const leaders = new Set<number>([entry])
  const queue = [entry]
  while (queue.length > 0) {
    const start = queue.shift()!
    for (let off = start; inPage(off); off += 4) {
      if (off !== start && translated?.(off) === true) break
      const insn = at(off)
      if (!isSupported(insn.d) || stopAt?.(off) === true) break
      if (!isBranch(insn.d)) continue
      const t = targets(insn)
      for (const to of [t.taken, t.fall ? off + 4 : undefined]) {
        if (to !== undefined && inPage(to) && !leaders.has(to) && translated?.(to) !== true && executed?.(to) !== false) {
          leaders.add(to)
          queue.push(to)
        }
      }
      break
    }
  }
  const blocks: Block[] = []
  for (const start of [...leaders].sort((a, b) => a - b)) {
    const insns: Insn[] = []
    let term: Terminator
    let off = start
    for (;;) {
      if (!inPage(off) || (off !== start && (leaders.has(off) || translated?.(off) === true))) {
        term = { kind: 'fall', next: off }
        break
      }
      const insn = at(off)
      if (!isSupported(insn.d) || stopAt?.(off) === true) {
        term = { kind: 'unsupported', off }
        break
      }
      insns.push(insn)
      if (isBranch(insn.d)) {
        const t = targets(insn)
        if (t.taken === undefined) term = { kind: 'indirect' }
        else if (t.fall) term = { kind: 'cond', target: t.taken, next: off + 4 }
        else term = { kind: 'jump', target: t.taken }
        break
      }
      off += 4
    }
    const setterOf = new Map<number, number>()
    let last = -1
    insns.forEach((insn, k) => {
      if (readsFlags(insn.d)) setterOf.set(k, last)
      if (setsFlags(insn.d)) last = setsLiteralFlags(insn.d) ? -1 : k
    })
    blocks.push({ start, insns, term, setterOf })
  }
  const used = new Set<number>()
  const written = new Set<number>()
  let instructions = 0
  for (const b of blocks) {
    instructions += b.insns.length
    for (const insn of b.insns) {
      const rw = registersOf(insn.d)
      for (const r of rw.reads) used.add(r)
      for (const r of rw.writes) {
        used.add(r)
        written.add(r)
      }
    }
  }
  const real = (r: number): boolean => r !== REG_ZR && r !== REG_DISCARD
  return {
    blocks,
    blockAt: new Map(blocks.map((b, i) => [b.start, i])),
    regs: [...used].filter(real).sort((a, b) => a - b),
    writes: [...written].filter(real).sort((a, b) => a - b),
    instructions,
    helpers: [],
  }
}

function targets(insn: Insn): { taken?: number; fall: boolean } {
  const d = insn.d
  switch (d.name) {
    case 'B':
    case 'BL':
      return { taken: insn.off + d.imm, fall: false }
    case 'B_cond':
    case 'CBZ':
    case 'CBNZ':
    case 'TBZ':
    case 'TBNZ':
      return { taken: insn.off + d.imm, fall: true }
    default:
      return { fall: false }
  }
}

/** Register slots an instruction reads and writes (31 = XZR read, 32 = SP, 33 = discarded write). */
export function registersOf(d: Instruction): { reads: number[]; writes: number[] } {
  switch (d.name) {
    case 'ADD_i': case 'SUB_i':
      return { reads: [rs(d.rn)], writes: [rs(d.rd)] }
    case 'ADDS_i': case 'SUBS_i':
      return { reads: [rs(d.rn)], writes: [wz(d.rd)] }
    case 'ADD_x': case 'SUB_x':
      return { reads: [rs(d.rn), rz(d.rm)], writes: [rs(d.rd)] }
    case 'ADDS_x': case 'SUBS_x':
      return { reads: [rs(d.rn), rz(d.rm)], writes: [wz(d.rd)] }
    case 'AND_i': case 'ORR_i': case 'EOR_i':
      return { reads: [rz(d.rn)], writes: [rs(d.rd)] }
    case 'ANDS_i':
      return { reads: [rz(d.rn)], writes: [wz(d.rd)] }
    case 'ADD_r': case 'ADDS_r': case 'SUB_r': case 'SUBS_r':
    case 'AND_r': case 'BIC_r': case 'ORR_r': case 'ORN_r': case 'EOR_r': case 'EON_r': case 'ANDS_r': case 'BICS_r':
    case 'LSLV': case 'LSRV': case 'ASRV': case 'RORV': case 'UMULH': case 'SMULH': case 'UDIV': case 'SDIV':
    case 'CSEL': case 'CSINC': case 'CSINV': case 'CSNEG': case 'EXTR': case 'CRC32': case 'CRC32C':
      return { reads: [rz(d.rn), rz(d.rm)], writes: [wz(d.rd)] }
    case 'MOVZ': case 'MOVN': case 'ADR': case 'ADRP':
      return { reads: [], writes: [wz(d.rd)] }
    case 'MOVK':
      return { reads: [rz(d.rd)], writes: [wz(d.rd)] }
    case 'BFM':
      return { reads: [rz(d.rn), rz(d.rd)], writes: [wz(d.rd)] }
    case 'SBFM': case 'UBFM': case 'CLZ':
      return { reads: [rz(d.rn)], writes: [wz(d.rd)] }
    case 'MADD': case 'MSUB': case 'SMADDL': case 'SMSUBL': case 'UMADDL': case 'UMSUBL':
      return { reads: [rz(d.rn), rz(d.rm), rz(d.ra)], writes: [wz(d.rd)] }
    case 'CCMP_r': case 'CCMN_r':
      return { reads: [rz(d.rn), rz(d.rm)], writes: [] }
    case 'CCMP_i': case 'CCMN_i':
      return { reads: [rz(d.rn)], writes: [] }
    case 'BL':
      return { reads: [], writes: [30] }
    case 'CBZ': case 'CBNZ': case 'TBZ': case 'TBNZ':
      return { reads: [rz(d.rt)], writes: [] }
    case 'BR': case 'RET':
      return { reads: [rz(d.rn)], writes: [] }
    case 'BLR':
      return { reads: [rz(d.rn)], writes: [30] }
    case 'LDR_ui': case 'LDRS_ui': case 'LDUR': case 'LDURS':
      return { reads: [rs(d.rn)], writes: [wz(d.rt)] }
    case 'STR_ui': case 'STUR':
      return { reads: [rs(d.rn), rz(d.rt)], writes: [] }
    case 'LDR_post': case 'LDRS_post': case 'LDR_pre': case 'LDRS_pre':
      return { reads: [rs(d.rn)], writes: [wz(d.rt), rs(d.rn)] }
    case 'STR_post': case 'STR_pre':
      return { reads: [rs(d.rn), rz(d.rt)], writes: [rs(d.rn)] }
    case 'LDR_reg': case 'LDRS_reg':
      return { reads: [rs(d.rn), rz(d.rm)], writes: [wz(d.rt)] }
    case 'STR_reg':
      return { reads: [rs(d.rn), rz(d.rm), rz(d.rt)], writes: [] }
    case 'ADDG': case 'SUBG':
      return { reads: [rs(d.rn)], writes: [rs(d.rd)] }
    case 'IRG':
      return { reads: [rs(d.rn), rz(d.rm)], writes: [rs(d.rd)] }
    case 'GMI':
      return { reads: [rs(d.rn), rz(d.rm)], writes: [wz(d.rd)] }
    case 'SUBP':
      return { reads: [rs(d.rn), rs(d.rm)], writes: [wz(d.rd)] }
    case 'RBIT': case 'REV16': case 'REV32': case 'REV': case 'CLS':
      return { reads: [rz(d.rn)], writes: [wz(d.rd)] }
    case 'STG': case 'STZG': case 'ST2G': case 'STZ2G':
      return { reads: [rs(d.rn), rs(d.rt)], writes: d.mode !== 2 ? [rs(d.rn)] : [] }
    case 'LDP': case 'LDPSW': {
      const wb = d.mode === 1 || d.mode === 3 ? [rs(d.rn)] : []
      return { reads: [rs(d.rn)], writes: [wz(d.rt), wz(d.rt2), ...wb] }
    }
    case 'STP': {
      const wb = d.mode === 1 || d.mode === 3 ? [rs(d.rn)] : []
      return { reads: [rs(d.rn), rz(d.rt), rz(d.rt2)], writes: wb }
    }
    default:
      return sysRegisters(d) ?? { reads: [], writes: [] }
  }
}

/** Whether emit-sys.ts translates this instruction (kept here, with the other analysis, so region.ts imports no emitter). */
export function isSysSupported(d: Instruction): boolean {
  switch (d.name) {
    case 'ADC': case 'ADCS': case 'SBC': case 'SBCS':
    case 'PRFM_ui': case 'PRFM_reg': case 'PRFUM': case 'PRFM_lit':
    case 'LDAR': case 'STLR':
    case 'MRS': case 'MSR_r': case 'MSR_i': case 'SYS': case 'ISB':
      return true
    default:
      return isAtomic(d) || isFpSimd(d)
  }
}

/**
 * FP/SIMD instructions the interpreter has semantics for: run by their handler inside a
 * translation (emit-sys.ts sysCall), with the FP trap (CPACR_EL1.FPEN, CPTR_EL2.TFP), faults
 * and FPSR flags exactly as the interpreter takes them, instead of leaving the translation
 * for each (an FP loop used to leave at every FP instruction and ran slower translated than
 * interpreted). Their general-register operands are not in registersOf: nothing that reads
 * it may keep a value across them. emit-tags.ts treats them as neither plain accesses nor
 * register arithmetic (groups forgotten, no shared check, no loop cache), except the vector
 * forms its ALU pattern also matches (ADD_v, SUB_v, AND_v, BIC_v, ORR_v, ORN_v, EOR_v, ORR_vi,
 * BIC_vi, ADD_s, SUB_s), which read and write V registers only: no general register, tag or
 * check state, so its arguments hold across them as across integer arithmetic.
 */
export function isFpSimd(d: Instruction): boolean {
  return (INSTRUCTION_FLAGS[d.id]! & InstructionFlag.FP) !== 0 && hasSemantics(d.id)
}

/**
 * Exclusives, compare-and-swap and the LSE atomics: run by the interpreter's handler inside
 * a translation (emit-sys.ts sysCall), with its exclusive monitor, global-monitor lock and
 * faults, instead of leaving the translation for each (0.35 M exits in a Linux boot).
 */
export function isAtomic(d: Instruction): boolean {
  switch (d.name) {
    case 'LDXR': case 'LDAXR': case 'LDXP': case 'LDAXP': case 'STXR': case 'STLXR': case 'STXP': case 'STLXP':
    case 'CAS': case 'CASA': case 'CASL': case 'CASAL': case 'CASP': case 'CASPA': case 'CASPL': case 'CASPAL':
    case 'LDADD': case 'LDCLR': case 'LDEOR': case 'LDSET': case 'LDSMAX': case 'LDSMIN': case 'LDUMAX': case 'LDUMIN': case 'SWP':
    case 'CLREX':
      return true
    default:
      return false
  }
}

/** Registers an instruction of isSysSupported reads and writes (as registersOf). */
export function sysRegisters(d: Instruction): { reads: number[]; writes: number[] } | null {
  switch (d.name) {
    case 'ADC': case 'ADCS': case 'SBC': case 'SBCS':
      return { reads: [d.rn, d.rm], writes: [wz(d.rd)] }
    case 'LDAR':
      return { reads: [rs(d.rn)], writes: [wz(d.rt)] }
    case 'STLR':
      return { reads: [rs(d.rn), d.rt], writes: [] }
    case 'MRS':
      return { reads: [], writes: [wz(d.rt)] }
    case 'MSR_r': case 'SYS':
      return { reads: [d.rt], writes: [] }
    case 'LDXR': case 'LDAXR':
      return { reads: [rs(d.rn)], writes: [wz(d.rt)] }
    case 'LDXP': case 'LDAXP':
      return { reads: [rs(d.rn)], writes: [wz(d.rt), wz(d.rt2)] }
    case 'STXR': case 'STLXR':
      return { reads: [rs(d.rn), rz(d.rt)], writes: [wz(d.rs)] }
    case 'STXP': case 'STLXP':
      return { reads: [rs(d.rn), rz(d.rt), rz(d.rt2)], writes: [wz(d.rs)] }
    case 'CAS': case 'CASA': case 'CASL': case 'CASAL':
      return { reads: [rs(d.rn), rz(d.rs), rz(d.rt)], writes: [wz(d.rs)] }
    case 'CASP': case 'CASPA': case 'CASPL': case 'CASPAL':
      // Rs and Rt are even (odd ones are UNDEFINED: the handler raises it); the pairs are Rs, Rs+1 and Rt, Rt+1.
      return { reads: [rs(d.rn), rz(d.rs), rz(d.rs + 1), rz(d.rt), rz(d.rt + 1)], writes: [wz(d.rs), wz(d.rs + 1)] }
    case 'LDADD': case 'LDCLR': case 'LDEOR': case 'LDSET': case 'LDSMAX': case 'LDSMIN': case 'LDUMAX': case 'LDUMIN': case 'SWP':
      return { reads: [rs(d.rn), rz(d.rs)], writes: [wz(d.rt)] }
    default:
      return null
  }
}
