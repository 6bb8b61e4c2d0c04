import {
  BUCKET_BITS,
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
 * The bucket index (dynarmic-style): for each value of the BUCKET_BITS of a word, the rows
 * whose fixed bits allow it, in priority order. Rows of bucket b are
 * BUCKET_ROWS[BUCKET_START[b] .. BUCKET_START[b + 1]). Built once at load by enumerating,
 * for each row, only the buckets it belongs to.
 */
const { start: BUCKET_START, rows: BUCKET_ROWS } = buildBuckets()

function buildBuckets(): { start: Uint32Array; rows: Uint16Array } {
  const k = BUCKET_BITS.length
  const count = 1 << k
  const idxMask = new Int32Array(ROW_COUNT)
  const idxValue = new Int32Array(ROW_COUNT)
  for (let r = 0; r < ROW_COUNT; r++) {
    let m = 0
    let v = 0
    BUCKET_BITS.forEach((bit, i) => {
      const at = k - 1 - i
      m |= (((ROW_MASK[r] as number) >>> bit) & 1) << at
      v |= (((ROW_VALUE[r] as number) >>> bit) & 1) << at
    })
    idxMask[r] = m
    idxValue[r] = v
  }
  const forEachBucket = (r: number, visit: (b: number) => void): void => {
    const free = ~(idxMask[r] as number) & (count - 1)
    for (let sub = free; ; sub = (sub - 1) & free) {
      visit((idxValue[r] as number) | sub)
      if (sub === 0) break
    }
  }
  const start = new Uint32Array(count + 1)
  for (let r = 0; r < ROW_COUNT; r++) forEachBucket(r, (b) => (start[b + 1] = (start[b + 1] as number) + 1))
  for (let b = 0; b < count; b++) start[b + 1] = (start[b + 1] as number) + (start[b] as number)
  const rows = new Uint16Array(start[count] as number)
  const fill = start.slice(0, count)
  for (let r = 0; r < ROW_COUNT; r++) {
    forEachBucket(r, (b) => {
      const at = fill[b] as number
      rows[at] = r
      fill[b] = at + 1
    })
  }
  return { start, rows }
}

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
