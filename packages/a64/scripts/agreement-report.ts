// Prints the per-class disagreement report against the committed corpus.
// Usage: tsx scripts/agreement-report.ts [limit] [--filter=substring]
import { join, dirname } from 'node:path'
import { fileURLToPath } from 'node:url'
import { compareWithCorpus, formatReport, readKnownDifferences } from './agreement.js'

const root = join(dirname(fileURLToPath(import.meta.url)), '..')
const limitArg = process.argv.find((a) => /^\d+$/.test(a))
const filter = process.argv.find((a) => a.startsWith('--filter='))?.slice(9)
const result = compareWithCorpus(join(root, 'corpus/llvm14.txt.gz'), readKnownDifferences(join(root, 'test/known-differences.txt')))
const keep = (d: { name: string; llvm: string; ours: string }): boolean =>
  !filter || d.name.includes(filter) || d.llvm.includes(filter) || d.ours.includes(filter)
console.log(
  formatReport(
    { ...result, validityMismatches: result.validityMismatches.filter(keep), textMismatches: result.textMismatches.filter(keep) },
    limitArg ? Number(limitArg) : 40,
  ),
)
