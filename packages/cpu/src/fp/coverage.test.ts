// Every FP row of the decoder (simd-fp.decode) has a handler and at least one differential
// form whose instruction word decodes through that row, so a new decoder row cannot go
// untested by QEMU.
import { describe, expect, it } from 'vitest'
import { INSTRUCTION_NAMES, decode } from '@tagvm/a64'
import { ROW_COUNT, ROW_EXTRACT, ROW_ID, ROW_MASK, ROW_SOURCE, ROW_VALUE } from '../../../a64/src/generated/decoder.js'
import { FP_HANDLERS } from './handlers.js'
import { loadGuests } from './replay.js'

/** The FP instructions: FP scalar and FP vector rows (loads/stores, integer SIMD and crypto are not FP). */
function isFpName(name: string): boolean {
  return /^(F|SCVTF|UCVTF|URECPE|URSQRTE)/.test(name)
}

const fpRows: number[] = []
for (let r = 0; r < ROW_COUNT; r++) {
  if (!(ROW_SOURCE[r] as string).includes('simd-fp.decode')) continue
  const name = INSTRUCTION_NAMES[ROW_ID[r] as number] as string
  if (isFpName(name)) fpRows.push(r)
}

describe('FP coverage', () => {
  it('finds the FP rows', () => {
    expect(fpRows.length).toBeGreaterThan(400)
  })
  it('has a handler for every FP instruction name', () => {
    const missing = [...new Set(fpRows.map((r) => INSTRUCTION_NAMES[ROW_ID[r] as number] as string))].filter(
      (n) => !(n in FP_HANDLERS),
    )
    expect(missing).toEqual([])
    const extra = Object.keys(FP_HANDLERS).filter((n) => !isFpName(n))
    expect(extra).toEqual([])
  })
  it('has a recorded differential form for every FP row', () => {
    const words = loadGuests()
      .filter((g) => g.manifest.guest.startsWith('fp-'))
      .flatMap((g) => g.manifest.forms.map((f) => f.word))
    const uncovered: string[] = []
    for (const r of fpRows) {
      const mask = ROW_MASK[r] as number
      const value = ROW_VALUE[r] as number
      const name = INSTRUCTION_NAMES[ROW_ID[r] as number]
      const hit = words.some((w) => (w & mask) === value && decode(w).name === name && ROW_EXTRACT[r]?.(w) !== null)
      if (!hit) uncovered.push(`${name} (${ROW_SOURCE[r]})`)
    }
    expect(uncovered).toEqual([])
  })
})
