// Random FP instruction words with random registers and FPCR: every handler runs without a
// host exception, writes only 32-bit words into the register file, and never touches a V
// register other than the destination (or X registers for the general-register forms).
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { INSTRUCTION_NAMES, decode, type Instruction } from '@tagvm/a64'
import { ROW_COUNT, ROW_ID, ROW_MASK, ROW_VALUE } from '../../../a64/src/generated/decoder.js'
import { FP_HANDLERS, type FpContext } from './handlers.js'

type AnyHandler = (insn: Instruction, ctx: FpContext) => void
const table = FP_HANDLERS as Record<string, AnyHandler | undefined>
/** The decoder rows of FP instructions: words are drawn inside them. */
const fpRows: number[] = []
for (let r = 0; r < ROW_COUNT; r++) if ((INSTRUCTION_NAMES[ROW_ID[r] as number] as string) in FP_HANDLERS) fpRows.push(r)

describe('FP handlers under random words', () => {
  it('run every decodable FP word without a host exception', () => {
    let ran = 0
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 0xffffffff }),
        fc.nat({ max: fpRows.length - 1 }),
        fc.uint32Array({ minLength: 128, maxLength: 128 }),
        fc.uint32Array({ minLength: 64, maxLength: 64 }),
        fc.integer({ min: 0, max: 0xffffffff }),
        fc.integer({ min: 0, max: 15 }),
        (word, row, v, x, fpcr, nzcv) => {
          // A random word inside a random FP row (the fixed bits of the row, the rest random).
          const r = fpRows[row] as number
          const w = (((ROW_VALUE[r] as number) | (word & ~(ROW_MASK[r] as number))) >>> 0) as number
          const insn = decode(w)
          const h = table[insn.name]
          if (!h) return
          const before = v.slice()
          const xBefore = x.slice()
          const ctx: FpContext = { v, x, fp: { fpcr: fpcr & 0x07c80000, fpsr: 0 }, nzcv }
          h(insn, ctx)
          ran++
          const rd = 'rd' in insn ? (insn.rd as number) : -1
          for (let k = 0; k < 128; k++) {
            if (k >> 2 !== rd && v[k] !== before[k]) throw new Error(`${insn.name} changed V${k >> 2}`)
          }
          for (let k = 0; k < 64; k++) {
            if (k >> 1 !== rd && x[k] !== xBefore[k]) throw new Error(`${insn.name} changed X${k >> 1}`)
          }
          if ((ctx.fp.fpsr & ~0x9f) !== 0) throw new Error(`${insn.name} set FPSR ${ctx.fp.fpsr.toString(16)}`)
          if (!(ctx.nzcv >= 0 && ctx.nzcv < 16)) throw new Error(`${insn.name} left NZCV ${ctx.nzcv}`)
        },
      ),
      { numRuns: 25000 },
    )
    expect(ran).toBe(25000)
  })
})
