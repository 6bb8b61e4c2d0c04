// Compares decode()/disassemble() with the committed LLVM corpus. Shared by the agreement
// test (test/agreement.test.ts) and the report script (scripts/agreement-report.ts).
import { readFileSync } from 'node:fs'
import { decodeWord, matchingRow } from '../src/decode.js'
import { ROW_SOURCE } from '../src/generated/decoder.js'
import { printInstruction } from '../src/disassemble.js'
import { INVALID, readCorpus } from './corpus-lib.js'

export interface Disagreement {
  readonly word: number
  readonly ours: string
  readonly llvm: string
  /** Our instruction name (UNDEFINED when we reject the word). */
  readonly name: string
  /** The table row that decoded the word ("file:line"), or "no row". */
  readonly row: string
}

export interface AgreementResult {
  readonly total: number
  readonly validityMismatches: Disagreement[]
  readonly textMismatches: Disagreement[]
  /** Listed words that now agree (the list must be trimmed). */
  readonly staleKnown: number[]
  /** Listed words that still differ. */
  readonly knownStillDifferent: number
}

/** test/known-differences.txt: `xxxxxxxx  reason` per line, `#` comments. */
export function readKnownDifferences(file: string): Map<number, string> {
  const known = new Map<number, string>()
  for (const raw of readFileSync(file, 'utf8').split('\n')) {
    const line = raw.replace(/#.*$/, '').trim()
    if (line === '') continue
    const m = /^([0-9a-f]{8})\s+(\S.*)$/.exec(line)
    if (!m) throw new Error(`known-differences: bad line "${raw}" (want: 8 hex digits, then a reason)`)
    known.set(parseInt(m[1] as string, 16) >>> 0, m[2] as string)
  }
  return known
}

export function compareWithCorpus(corpusFile: string, known: ReadonlyMap<number, string>): AgreementResult {
  const entries = readCorpus(corpusFile)
  const validityMismatches: Disagreement[] = []
  const textMismatches: Disagreement[] = []
  const staleKnown: number[] = []
  let knownStillDifferent = 0
  for (const { word, text } of entries) {
    const insn = decodeWord(word)
    const ours = insn.id === 0 ? INVALID : printInstruction(insn, word)
    const differs = ours !== text
    if (known.has(word)) {
      if (differs) knownStillDifferent++
      else staleKnown.push(word)
      continue
    }
    if (!differs) continue
    const r = matchingRow(word)
    const d = { word, ours, llvm: text, name: insn.name, row: r >= 0 ? (ROW_SOURCE[r] ?? '?') : 'no row' }
    if ((ours === INVALID) !== (text === INVALID)) validityMismatches.push(d)
    else textMismatches.push(d)
  }
  return { total: entries.length, validityMismatches, textMismatches, staleKnown, knownStillDifferent }
}

/** Groups disagreements by our table row and LLVM's mnemonic, largest groups first. */
export function classify(ds: readonly Disagreement[]): { key: string; count: number; examples: Disagreement[] }[] {
  const groups = new Map<string, Disagreement[]>()
  for (const d of ds) {
    const key = `${d.name} (${d.row}) / llvm ${d.llvm.split(' ')[0]}`
    let g = groups.get(key)
    if (!g) groups.set(key, (g = []))
    g.push(d)
  }
  return [...groups.entries()]
    .map(([key, g]) => ({ key, count: g.length, examples: g.slice(0, 3) }))
    .sort((a, b) => b.count - a.count)
}

export function formatReport(r: AgreementResult, limit = 40): string {
  const lines: string[] = []
  const pct = (n: number): string => ((100 * (r.total - n)) / r.total).toFixed(3)
  lines.push(`corpus words: ${r.total}`)
  lines.push(`valid/invalid disagreements: ${r.validityMismatches.length} (${pct(r.validityMismatches.length)}% agree)`)
  lines.push(`text disagreements: ${r.textMismatches.length} (${pct(r.validityMismatches.length + r.textMismatches.length)}% exact)`)
  lines.push(`known differences still listed: ${r.knownStillDifferent}, stale: ${r.staleKnown.length}`)
  for (const [title, ds] of [['validity', r.validityMismatches], ['text', r.textMismatches]] as const) {
    const classes = classify(ds)
    if (classes.length) lines.push(`-- ${title} disagreements by class (${classes.length} classes)`)
    for (const c of classes.slice(0, limit)) {
      lines.push(`${String(c.count).padStart(7)}  ${c.key}`)
      for (const e of c.examples) lines.push(`           ${e.word.toString(16).padStart(8, '0')}  ours: ${e.ours}  |  llvm: ${e.llvm}`)
    }
  }
  return lines.join('\n')
}
