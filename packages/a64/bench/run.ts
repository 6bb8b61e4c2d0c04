// Decode and disassembly rates on the instruction mix of a real arm64 object
// (bench/mix.words, from bench/mix.c via scripts/gen-bench-mix.ts) and on the valid words
// of the LLVM corpus. Prints figures; never fails on time.
import { readFileSync } from 'node:fs'
import { join, dirname } from 'node:path'
import { fileURLToPath } from 'node:url'
import { decodeWord, disassemble } from '../src/index.js'
import { INVALID, readCorpus } from '../scripts/corpus-lib.js'

const root = join(dirname(fileURLToPath(import.meta.url)), '..')
const mix = new Uint32Array(
  readFileSync(join(root, 'bench/mix.words'), 'utf8').trim().split('\n').map((h) => parseInt(h, 16)),
)
const corpusValid = new Uint32Array(
  readCorpus(join(root, 'corpus/llvm14.txt.gz')).filter((e) => e.text !== INVALID).map((e) => e.word),
)

function rate(label: string, words: Uint32Array, minMs: number, fn: (w: number) => unknown): void {
  let sink = 0
  // Warm up so the JIT has compiled the hot paths before timing.
  for (let i = 0; i < 3; i++) for (const w of words) if (fn(w)) sink++
  // CPU time of this process, not wall time: the machine is shared, and the target is a
  // rate on one core.
  let n = 0
  const start = process.cpuUsage()
  const wallStart = performance.now()
  let cpuMs = 0
  while (cpuMs < minMs) {
    for (let i = 0; i < words.length; i++) if (fn(words[i] as number)) sink++
    n += words.length
    const used = process.cpuUsage(start)
    cpuMs = (used.user + used.system) / 1000
  }
  const wallMs = performance.now() - wallStart
  const perSecond = (n / cpuMs) * 1000
  console.log(
    `${label.padEnd(40)} ${(perSecond / 1e6).toFixed(2).padStart(7)} M/s per CPU-second  (${n} in ${cpuMs.toFixed(0)} ms CPU, ${wallMs.toFixed(0)} ms wall)${sink < 0 ? '!' : ''}`,
  )
}

console.log(`mix: ${mix.length} words from bench/mix.c; corpus: ${corpusValid.length} valid words`)
rate('decode, compiled-C mix', mix, 1500, (w) => decodeWord(w))
rate('decode, all valid corpus words', corpusValid, 1500, (w) => decodeWord(w))
rate('disassemble, compiled-C mix', mix, 1500, (w) => disassemble(w))
rate('disassemble, all valid corpus words', corpusValid, 1500, (w) => disassemble(w))
