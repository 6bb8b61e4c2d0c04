// Prints the per-class disagreement report against the committed corpus.
// Usage: tsx scripts/agreement-report.ts [limit] [--filter=substring]
import { join, dirname } from 'node:path'
import { fileURLToPath } from 'node:url'
import { loadPatterns } from './gen-decoder.js'
import { compareWithCorpus, formatReport, readKnownDifferences } from './agreement.js'

const root = join(dirname(fileURLToPath(import.meta.url)), '..')
const limitArg = process.argv.find((a) => /^\d+$/.test(a))
const filter = process.argv.find((a) => a.startsWith('--filter='))?.slice(9)
const result = compareWithCorpus(join(root, 'corpus/llvm14.txt.gz'), readKnownDifferences(join(root, 'test/known-differences.txt')))
// --base: only words our base.decode rows decode, or that LLVM prints without FP/SIMD registers.
const baseOnly = process.argv.includes('--base')
const simdText = /(^f|\b[vbhsdq][0-9]+\b|\{)/
const baseNames = new Set(loadPatterns(join(root, 'src/tables')).filter((p) => p.file.includes('/base')).map((p) => p.name))
const keep = (d: { name: string; llvm: string; ours: string }): boolean =>
  (!filter || d.name.includes(filter) || d.llvm.includes(filter) || d.ours.includes(filter)) &&
  (!baseOnly || baseNames.has(d.name) || (d.name === 'UNDEFINED' && !simdText.test(d.llvm)))
console.log(
  formatReport(
    { ...result, validityMismatches: result.validityMismatches.filter(keep), textMismatches: result.textMismatches.filter(keep) },
    limitArg ? Number(limitArg) : 40,
  ),
)
