// What the tag-check emitters (emit-tags.ts, emit-groups.ts) read off a region's instructions:
// plain loads' and stores' operands, which instructions are register arithmetic or branches, and
// the region's loops. Analysis only: nothing here emits code.

import type { Instruction } from '@tagvm/a64'
import type { Block } from './region.js'
import type { Emitter } from './emit.js'

/** Instructions a cached loop may hold besides loads, stores and register arithmetic. */
const LOOP_SAFE = /^(B|B_cond|CBZ|CBNZ|TBZ|TBNZ|CCMP_[ri]|CCMN_[ri])$/
/** Plain loads (a loaded value's registers are followed by the loop cache and the groups). */
export const LOADS = /^(LDR_(ui|post|pre|reg)|LDRS_(ui|post|pre|reg)|LDUR|LDURS|LDP|LDPSW)$/

/** A block a cached loop may hold. */
export const loopSafe = (b: Block): boolean =>
  (b.term.kind === 'jump' || b.term.kind === 'cond' || b.term.kind === 'fall') &&
  b.insns.every(({ d }) => memoryOperand(d) !== null || REGISTER_OFFSET.test(d.name) || ALU.test(d.name) || LOOP_SAFE.test(d.name))

const spanCache = new WeakMap<Emitter, { merged: [number, number][]; depth: number[] }>()

function spansOf(em: Emitter): { merged: [number, number][]; depth: number[] } {
  let cached = spanCache.get(em)
  if (cached !== undefined) return cached
  const { blocks, blockAt } = em.region
  const spans: [number, number][] = []
  blocks.forEach((b, i) => {
    const t = b.term
    const j = t.kind === 'jump' || t.kind === 'cond' ? blockAt.get(t.target) : undefined
    if (j === undefined || j > i) return
    for (let x = j; x <= i; x++) if (!loopSafe(blocks[x]!)) return
    spans.push([j, i])
  })
  // Each block's innermost span: the fewest blocks of a back edge's span holding it.
  const depth = blocks.map((_, x) => Math.min(Infinity, ...spans.filter(([lo, hi]) => lo <= x && x <= hi).map(([lo, hi]) => hi - lo + 1)))
  spans.sort((x, y) => x[0] - y[0])
  const merged: [number, number][] = []
  for (const [lo, hi] of spans) {
    const last = merged[merged.length - 1]
    if (last !== undefined && lo <= last[1]) last[1] = Math.max(last[1], hi)
    else merged.push([lo, hi])
  }
  cached = { merged, depth }
  spanCache.set(em, cached)
  return cached
}

/** The cached loops' first and last block indices (see emit-tags.ts regionLoops): back edges' spans, overlapping ones merged. */
export function loopSpans(em: Emitter): [number, number][] {
  return spansOf(em).merged
}

/**
 * The blocks in the innermost back edge's span that holds block i (Infinity: none): a loop
 * nested in another (bench-alloc-nomte's object loops inside its step loop, merged into one
 * by loopSpans) runs more often than the blocks around it.
 */
export function innermostSpan(em: Emitter, i: number): number {
  return spansOf(em).depth[i]!
}

/** Branches (and the conditional compares): no effect on tags or groups. */
export const BRANCH = /^(B|BL|B_cond|CBZ|CBNZ|TBZ|TBNZ|BR|BLR|RET|CCMP_[ri]|CCMN_[ri])$/
/** Loads and stores with a register offset. */
export const REGISTER_OFFSET = /^(LDR|LDRS|STR)_reg$/

/** Whether instruction d unverifies every group (see Group). */
export const forgetsAll = (d: Instruction): boolean => memoryOperand(d) === null && !REGISTER_OFFSET.test(d.name) && !ALU.test(d.name) && !BRANCH.test(d.name)

/** The register-only instructions (between a shared check's leader and its follower, in a group's or a cached loop's way). */
export const ALU = /^(ADDS?|SUBS?|ANDS?|ORR|EOR|BICS?|ORN|EON)_[a-z]+$|^(ADCS?|SBCS?|ADRP?|ASRV|LSLV|LSRV|RORV|BFM|SBFM|UBFM|EXTR|CL[SZ]|RBIT|REV(16|32)?|CSEL|CSINC|CSINV|CSNEG|MOV[KNZ]|MADD|MSUB|[SU]MADDL|[SU]MSUBL|[SU]MULH|[SU]DIV|CRC32C?|NOP)$/

/** A plain load or store's base register, offset from it, bytes, and whether it writes the base back. */
export function memoryOperand(d: Instruction): { rn: number; off: number; span: number; writeback: boolean } | null {
  switch (d.name) {
    case 'LDR_ui': case 'STR_ui': case 'LDRS_ui': case 'LDUR': case 'STUR': case 'LDURS':
      return { rn: d.rn, off: d.imm, span: 1 << d.size, writeback: false }
    case 'LDR_post': case 'STR_post': case 'LDRS_post':
      return { rn: d.rn, off: 0, span: 1 << d.size, writeback: true }
    case 'LDR_pre': case 'STR_pre': case 'LDRS_pre':
      return { rn: d.rn, off: d.imm, span: 1 << d.size, writeback: true }
    case 'LDP': case 'STP': case 'LDPSW': {
      const elem = d.name === 'LDPSW' ? 4 : d.sf ? 8 : 4
      return { rn: d.rn, off: d.mode === 1 ? 0 : d.imm, span: 2 * elem, writeback: d.mode === 1 || d.mode === 3 }
    }
    default:
      return null
  }
}

/** Whether a plain access is a store. */
export const isStore = (d: Instruction): boolean => /^(STR|STUR|STP)/.test(d.name)
