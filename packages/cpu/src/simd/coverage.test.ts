import { readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { describe, expect, it } from 'vitest'
import { expandForms } from '../../../../guests/simd/gen-forms.js'
import { FP_HANDLERS } from '../fp/handlers.js'
import { SIMD_EXECUTE, SIMD_MEMORY } from './execute.js'
import { loadForms } from './replay-harness.js'

// simd-fp.decode is split between two handler tables: floating point (src/fp: F*, SCVTF,
// UCVTF, URECPE, URSQRTE) and everything else (here). Every row has exactly one handler,
// and every row handled here is a form of the QEMU-recorded replay of guests/simd.
const table = readFileSync(fileURLToPath(new URL('../../../a64/src/tables/simd-fp.decode', import.meta.url)), 'utf8')
const rows = table
  .split('\n')
  .map((text, i) => ({ name: /^([A-Z][A-Za-z0-9_]*)\s/.exec(text)?.[1], line: i + 1 }))
  .filter((r): r is { name: string; line: number } => r.name !== undefined)
const mineNames = new Set([...Object.keys(SIMD_EXECUTE), ...Object.keys(SIMD_MEMORY)])
const fpNames = new Set(Object.keys(FP_HANDLERS))

describe('coverage of simd-fp.decode', () => {
  const mine = rows.filter((r) => mineNames.has(r.name))

  it('finds the table', () => {
    expect(rows.length).toBeGreaterThan(1000)
    expect(mine.length).toBeGreaterThan(600)
  })
  it('every row has exactly one handler: FP or integer/permute/crypto/load-store', () => {
    expect(rows.filter((r) => !mineNames.has(r.name) && !fpNames.has(r.name)).map((r) => `${r.name} (line ${r.line})`)).toEqual([])
    expect([...mineNames].filter((n) => fpNames.has(n))).toEqual([])
  })
  it('guests/simd/forms.json is what forms/*.ts generate (rerun gen-forms.ts after editing them)', () => {
    expect(loadForms()).toEqual(expandForms())
  })
  it('every row handled here is a form of the QEMU-recorded replay', () => {
    const recordedLines = new Set(loadForms().map((f) => f.line))
    expect(mine.filter((r) => !recordedLines.has(r.line)).map((r) => `${r.name} (line ${r.line})`)).toEqual([])
  })
})
