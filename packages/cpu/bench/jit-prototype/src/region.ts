// The front end both translators share: decode a region of guest code (the basic blocks
// reachable from an entry by direct branches inside one 4 KiB page), find which registers
// it reads and writes, and which flag setter each flag reader sees.

import { decode, type Instruction } from '@tagvm/a64'

/** Register numbers in the front end: 0..30 = X0..X30, ZR = XZR (reads 0), SP = the stack pointer. */
export const ZR = 31
export const SP = 32

/** What the translators implement: exactly the instructions of the three kernels. */
const SUPPORTED = new Set<Instruction['name']>([
  'ADD_i', 'SUB_i', 'SUBS_i', 'ADD_r', 'SUB_r', 'SUBS_r', 'AND_i', 'ORR_r', 'ORN_r', 'EOR_r', 'MOVZ', 'MOVN', 'MADD',
  'CCMP_r', 'CRC32C', 'IRG', 'ADDG', 'STG', 'LDR_post', 'STR_post', 'LDR_reg', 'STR_reg', 'STR_ui', 'LDR_ui', 'LDUR',
  'STUR', 'LDP', 'STP', 'B', 'B_cond', 'CBZ', 'CBNZ', 'RET',
])

export interface Insn {
  pc: number
  word: number
  d: Instruction
}

/** How a block ends. The branch instruction itself is the block's last Insn and is counted. */
export type Terminator =
  /** Runs on into `next` (the next block starts there, or the page/length limit is reached). */
  | { kind: 'fall'; next: number }
  | { kind: 'jump'; target: number }
  /** B.cond / CBZ / CBNZ: taken to `target`, else `next`. */
  | { kind: 'cond'; target: number; next: number }
  /** RET / BR: to the address in `reg`. */
  | { kind: 'indirect'; reg: number }
  /** An instruction the translators do not implement is at `pc`: leave for the interpreter. */
  | { kind: 'unsupported'; pc: number }

export interface Block {
  start: number
  insns: Insn[]
  term: Terminator
  /** For each flag reader (B.cond, CCMP) at insns[k]: the index of the setter in this block, or -1. */
  setterOf: Map<number, number>
}

export interface Region {
  entry: number
  /** Blocks in address order. */
  blocks: Block[]
  blockAt: Map<number, number>
  /**
   * Whether branches between the region's blocks (and a block's branch to itself) stay
   * inside the translation. False for block-at-a-time translation: every branch leaves.
   */
  internalBranches: boolean
  /** Registers read / written anywhere in the region (0..30, SP). */
  reads: Set<number>
  writes: Set<number>
  instructions: number
}

export interface RegionOptions {
  /** 1: every basic block is its own translation. */
  maxBlocks: number
  maxInstructions: number
}

export function isSupported(d: Instruction): boolean {
  return SUPPORTED.has(d.name)
}

function branchTargets(insn: Insn): { taken?: number; fall: boolean; indirect?: number } {
  const d = insn.d
  switch (d.name) {
    case 'B':
      return { taken: insn.pc + d.imm, fall: false }
    case 'B_cond':
    case 'CBZ':
    case 'CBNZ':
      return { taken: insn.pc + d.imm, fall: true }
    case 'RET':
      return { fall: false, indirect: d.rn }
    default:
      return { fall: true }
  }
}

const isBranch = (d: Instruction): boolean => d.name === 'B' || d.name === 'B_cond' || d.name === 'CBZ' || d.name === 'CBNZ' || d.name === 'RET'

/** Sets flags (all four) as a function of its operands. */
export const setsFlags = (d: Instruction): boolean => d.name === 'SUBS_i' || d.name === 'SUBS_r' || d.name === 'CCMP_r'
/** Reads flags. */
export const readsFlags = (d: Instruction): boolean => d.name === 'B_cond' || d.name === 'CCMP_r'

/**
 * Decodes the region from `entry`. `read(pc)` returns the instruction word at a guest
 * address of the entry's page.
 */
export function formRegion(read: (pc: number) => number, entry: number, options: RegionOptions): Region {
  const page = entry & ~0xfff
  const inPage = (pc: number): boolean => (pc & ~0xfff) === page
  const decoded = new Map<number, Insn>()
  const insnAt = (pc: number): Insn => {
    let insn = decoded.get(pc)
    if (insn === undefined) {
      const word = read(pc)
      insn = { pc, word, d: decode(word) }
      decoded.set(pc, insn)
    }
    return insn
  }

  // 1. Leaders: the entry and every in-page branch target reachable from it.
  const leaders = new Set<number>([entry])
  const queue = [entry]
  let scanned = 0
  while (queue.length > 0) {
    const start = queue.shift()!
    for (let pc = start; inPage(pc) && scanned < options.maxInstructions; pc += 4) {
      const insn = insnAt(pc)
      if (!isSupported(insn.d)) break
      scanned++
      if (!isBranch(insn.d)) continue
      const t = branchTargets(insn)
      const follow = (to: number): void => {
        if (inPage(to) && !leaders.has(to) && leaders.size < options.maxBlocks) {
          leaders.add(to)
          queue.push(to)
        }
      }
      if (t.taken !== undefined) follow(t.taken)
      if (t.fall) follow(pc + 4)
      break
    }
  }

  // 2. Blocks: from each leader to its branch, the next leader, an unsupported instruction or the page end.
  const blocks: Block[] = []
  for (const start of [...leaders].sort((a, b) => a - b)) {
    const insns: Insn[] = []
    let term: Terminator | undefined
    let pc = start
    for (;;) {
      if (!inPage(pc)) {
        term = { kind: 'fall', next: pc }
        break
      }
      if (pc !== start && leaders.has(pc)) {
        term = { kind: 'fall', next: pc }
        break
      }
      const insn = insnAt(pc)
      if (!isSupported(insn.d)) {
        term = { kind: 'unsupported', pc }
        break
      }
      insns.push(insn)
      if (isBranch(insn.d)) {
        const t = branchTargets(insn)
        if (t.indirect !== undefined) term = { kind: 'indirect', reg: t.indirect }
        else if (t.fall) term = { kind: 'cond', target: t.taken!, next: pc + 4 }
        else term = { kind: 'jump', target: t.taken! }
        break
      }
      pc += 4
    }
    const setterOf = new Map<number, number>()
    let last = -1
    for (const [k, insn] of insns.entries()) {
      if (readsFlags(insn.d)) setterOf.set(k, last)
      if (setsFlags(insn.d)) last = k
    }
    blocks.push({ start, insns, term, setterOf })
  }
  const blockAt = new Map(blocks.map((b, i) => [b.start, i]))
  const reads = new Set<number>()
  const writes = new Set<number>()
  let instructions = 0
  for (const b of blocks) {
    instructions += b.insns.length
    for (const insn of b.insns) {
      const rw = registersOf(insn.d)
      for (const r of rw.reads) if (r !== ZR) reads.add(r)
      for (const r of rw.writes) if (r !== ZR) writes.add(r)
    }
  }
  return { entry, blocks, blockAt, internalBranches: options.maxBlocks > 1, reads, writes, instructions }
}

/** Register field as read or written: 31 is SP for `sp` fields, else XZR. */
const r = (n: number, sp = false): number => (n === 31 ? (sp ? SP : ZR) : n)

/** Registers an instruction reads and writes (front-end numbering). */
export function registersOf(d: Instruction): { reads: number[]; writes: number[] } {
  switch (d.name) {
    case 'ADD_i':
    case 'SUB_i':
      return { reads: [r(d.rn, true)], writes: [r(d.rd, true)] }
    case 'SUBS_i':
      return { reads: [r(d.rn, true)], writes: [r(d.rd)] }
    case 'ADD_r':
    case 'SUB_r':
    case 'SUBS_r':
    case 'ORR_r':
    case 'ORN_r':
    case 'EOR_r':
      return { reads: [r(d.rn), r(d.rm)], writes: [r(d.rd)] }
    case 'AND_i':
      return { reads: [r(d.rn)], writes: [r(d.rd, true)] }
    case 'MOVZ':
    case 'MOVN':
      return { reads: [], writes: [r(d.rd)] }
    case 'MADD':
      return { reads: [r(d.rn), r(d.rm), r(d.ra)], writes: [r(d.rd)] }
    case 'CCMP_r':
      return { reads: [r(d.rn), r(d.rm)], writes: [] }
    case 'CRC32C':
      return { reads: [r(d.rn), r(d.rm)], writes: [r(d.rd)] }
    case 'IRG':
      return { reads: [r(d.rn, true), r(d.rm)], writes: [r(d.rd, true)] }
    case 'ADDG':
      return { reads: [r(d.rn, true)], writes: [r(d.rd, true)] }
    case 'STG':
      return { reads: [r(d.rn, true), r(d.rt, true)], writes: d.mode === 1 || d.mode === 3 ? [r(d.rn, true)] : [] }
    case 'LDR_post':
      return { reads: [r(d.rn, true)], writes: [r(d.rt), r(d.rn, true)] }
    case 'STR_post':
      return { reads: [r(d.rn, true), r(d.rt)], writes: [r(d.rn, true)] }
    case 'LDR_reg':
      return { reads: [r(d.rn, true), r(d.rm)], writes: [r(d.rt)] }
    case 'STR_reg':
      return { reads: [r(d.rn, true), r(d.rm), r(d.rt)], writes: [] }
    case 'LDR_ui':
    case 'LDUR':
      return { reads: [r(d.rn, true)], writes: [r(d.rt)] }
    case 'STR_ui':
    case 'STUR':
      return { reads: [r(d.rn, true), r(d.rt)], writes: [] }
    case 'LDP':
      return { reads: [r(d.rn, true)], writes: d.mode === 1 || d.mode === 3 ? [r(d.rt), r(d.rt2), r(d.rn, true)] : [r(d.rt), r(d.rt2)] }
    case 'STP':
      return { reads: [r(d.rn, true), r(d.rt), r(d.rt2)], writes: d.mode === 1 || d.mode === 3 ? [r(d.rn, true)] : [] }
    case 'CBZ':
    case 'CBNZ':
      return { reads: [r(d.rt)], writes: [] }
    case 'RET':
      return { reads: [r(d.rn)], writes: [] }
    default:
      return { reads: [], writes: [] }
  }
}
