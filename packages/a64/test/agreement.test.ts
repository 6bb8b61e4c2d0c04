// Agreement with llvm-mc 14 on the committed corpus (corpus/llvm14.txt.gz, made by
// `pnpm corpus`). The counts in agreement-baseline.json may only go down: the test fails
// if any disagreement count or the known-differences list grows. Targets (issue 3): 0
// valid/invalid disagreements, >= 99.9% exact text.
import { describe, expect, test } from 'vitest'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { compareWithCorpus, formatReport, readKnownDifferences, type AgreementResult } from '../scripts/agreement.js'

const root = fileURLToPath(new URL('..', import.meta.url))

interface Baseline {
  readonly validityMismatches: number
  readonly textMismatches: number
  readonly knownDifferences: number
}

describe('agreement with llvm-mc 14', () => {
  const baseline = JSON.parse(readFileSync(join(root, 'test/agreement-baseline.json'), 'utf8')) as Baseline
  const known = readKnownDifferences(join(root, 'test/known-differences.txt'))
  let result: AgreementResult

  test('corpus is large enough', () => {
    result = compareWithCorpus(join(root, 'corpus/llvm14.txt.gz'), known)
    console.log(formatReport(result, 15))
    expect(result.total).toBeGreaterThanOrEqual(300_000)
  })

  test('valid/invalid disagreements do not grow', () => {
    expect(result.validityMismatches.length).toBeLessThanOrEqual(baseline.validityMismatches)
  })

  test('text disagreements do not grow', () => {
    expect(result.textMismatches.length).toBeLessThanOrEqual(baseline.textMismatches)
  })

  test('meets the issue targets: 100% valid/invalid agreement, >= 99.9% exact text', () => {
    expect(result.validityMismatches.length).toBe(0)
    const exact = (result.total - result.textMismatches.length - result.knownStillDifferent) / result.total
    expect(exact).toBeGreaterThanOrEqual(0.999)
  })

  test('the known-differences list does not grow and has no stale entries', () => {
    expect(known.size).toBeLessThanOrEqual(baseline.knownDifferences)
    expect(result.staleKnown.map((w) => w.toString(16))).toEqual([])
    for (const reason of known.values()) expect(reason.length).toBeGreaterThan(10)
  })
})
