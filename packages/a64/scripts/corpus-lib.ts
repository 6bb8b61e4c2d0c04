// Reading and writing the committed LLVM corpus (corpus/llvm14.txt.gz).
// One line per word: 8 hex digits, a tab, then LLVM's text ("mnemonic operands", the tab
// after the mnemonic turned into a space) or the single word `invalid`.
import { gunzipSync, gzipSync } from 'node:zlib'
import { readFileSync, writeFileSync } from 'node:fs'

export const LLVM_MATTR =
  '+v8.5a,+mte,+lse,+rcpc,+crc,+fp-armv8,+neon,+fullfp16,+fp16fml,+dotprod,+rdm,+crypto,+aes,+sha2,+sha3,+sm4,+rand,+spe,+ras,+ssbs,+sb,+predres,+bti,+ccdp,+altnzcv,+fptoint,+flagm'

export const INVALID = 'invalid'

export interface CorpusEntry {
  readonly word: number
  /** LLVM's text, or INVALID. */
  readonly text: string
}

export function readCorpus(file: string): CorpusEntry[] {
  const text = gunzipSync(readFileSync(file)).toString('utf8')
  const out: CorpusEntry[] = []
  for (const line of text.split('\n')) {
    if (line === '') continue
    const tab = line.indexOf('\t')
    out.push({ word: parseInt(line.slice(0, tab), 16) >>> 0, text: line.slice(tab + 1) })
  }
  return out
}

export function writeCorpus(file: string, entries: readonly CorpusEntry[]): void {
  const text = entries.map((e) => `${e.word.toString(16).padStart(8, '0')}\t${e.text}\n`).join('')
  writeFileSync(file, gzipSync(Buffer.from(text, 'utf8'), { level: 9 }))
}

/** LLVM prints "\tmnemonic\toperands   // encoding: [...]"; keep "mnemonic operands". */
export function normaliseLlvmText(raw: string): string {
  const beforeComment = raw.split('//')[0] ?? ''
  return beforeComment.trim().replace('\t', ' ').replace(/\s+$/, '')
}
