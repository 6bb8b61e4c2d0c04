import { readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { describe, expect, it } from 'vitest'
import { SIMD_EXECUTE, SIMD_MEMORY } from './execute.js'
import { expandForms } from '../../../../guests/simd/gen-forms.js'
import { loadForms } from './replay-harness.js'

// Every row of simd-fp.decode that is not floating point has a handler here and a form in
// the QEMU-recorded replay; floating-point rows are src/fp's (FMOV (vector, immediate) is
// only a bit pattern, so it lives with the other modified immediates).
const table = readFileSync(fileURLToPath(new URL('../../../a64/src/tables/simd-fp.decode', import.meta.url)), 'utf8')
const rows = table
  .split('\n')
  .map((text, i) => ({ name: /^([A-Z][A-Za-z0-9_]*)\s/.exec(text)?.[1], line: i + 1 }))
  .filter((r): r is { name: string; line: number } => r.name !== undefined)
const isFloatingPoint = (name: string): boolean => (name.startsWith('F') && name !== 'FMOV_vi') || /^[SU]CVTF_/.test(name)

describe('coverage of simd-fp.decode', () => {
  const mine = rows.filter((r) => !isFloatingPoint(r.name))
  const handled = new Set([...Object.keys(SIMD_EXECUTE), ...Object.keys(SIMD_MEMORY)])
  const recordedLines = new Set(loadForms().map((f) => f.line))

  it('finds the table', () => {
    expect(rows.length).toBeGreaterThan(1000)
    expect(mine.length).toBeGreaterThan(600)
  })
  it('every non-FP row has a handler', () => {
    expect(mine.filter((r) => !handled.has(r.name)).map((r) => `${r.name} (line ${r.line})`)).toEqual([])
  })
  it('no FP row is handled here', () => {
    expect(rows.filter((r) => isFloatingPoint(r.name) && handled.has(r.name)).map((r) => r.name)).toEqual([])
  })
  it('guests/simd/forms.json is what forms/*.ts generate (rerun gen-forms.ts after editing them)', () => {
    expect(loadForms()).toEqual(expandForms())
  })
  it('every non-FP row is a form of the QEMU-recorded replay', () => {
    expect(mine.filter((r) => !recordedLines.has(r.line)).map((r) => `${r.name} (line ${r.line})`)).toEqual([])
  })
})
