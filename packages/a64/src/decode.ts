import {
  BUCKET_ROWS,
  BUCKET_START,
  ROW_COUNT,
  ROW_EXTRACT,
  ROW_MASK,
  ROW_VALUE,
  UNDEFINED_INSTRUCTION,
  bucketOf,
  type Instruction,
} from './generated/decoder.js'
import { toInstructionWord } from './word.js'

export { UNDEFINED_INSTRUCTION }

/**
 * Decodes a 32-bit A64 instruction word. Total: every word in [0, 2^32) gives an
 * instruction, UNDEFINED (id 0) for unallocated encodings. Throws RangeError for anything
 * that is not such a word.
 */
export function decode(word: number): Instruction {
  return decodeWord(toInstructionWord(word))
}

/** decode() without the argument check, for callers that already hold a valid word. */
export function decodeWord(word: number): Instruction {
  const w = word | 0
  const b = bucketOf(w)
  const end = BUCKET_START[b + 1] as number
  for (let i = BUCKET_START[b] as number; i < end; i++) {
    const r = BUCKET_ROWS[i] as number
    if ((w & (ROW_MASK[r] as number)) === ROW_VALUE[r]) {
      const insn = (ROW_EXTRACT[r] as (w: number) => Instruction | null)(w)
      if (insn !== null) return insn
    }
  }
  return UNDEFINED_INSTRUCTION
}

/** Reference decoder: the same rows tried in priority order without the bucket index. */
export function decodeLinear(word: number): Instruction {
  const w = word | 0
  for (let r = 0; r < ROW_COUNT; r++) {
    if ((w & (ROW_MASK[r] as number)) === ROW_VALUE[r]) {
      const insn = (ROW_EXTRACT[r] as (w: number) => Instruction | null)(w)
      if (insn !== null) return insn
    }
  }
  return UNDEFINED_INSTRUCTION
}

/** Index of the row that decodes `word` (-1 when no row matches); for reports and tests. */
export function matchingRow(word: number): number {
  const w = word | 0
  const b = bucketOf(w)
  const end = BUCKET_START[b + 1] as number
  for (let i = BUCKET_START[b] as number; i < end; i++) {
    const r = BUCKET_ROWS[i] as number
    if ((w & (ROW_MASK[r] as number)) === ROW_VALUE[r] && (ROW_EXTRACT[r] as (w: number) => Instruction | null)(w) !== null) return r
  }
  return -1
}
