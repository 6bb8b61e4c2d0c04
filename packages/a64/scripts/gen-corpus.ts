// Builds corpus/llvm14.txt.gz: seeded random words plus sweeps over every table row (all
// src/tables/*.decode files), each with llvm-mc 14's text or "invalid".
// Needs /usr/bin/llvm-mc; tests only read the committed output.
import { spawnSync } from 'node:child_process'
import { join, dirname } from 'node:path'
import { fileURLToPath } from 'node:url'
import { mkdirSync } from 'node:fs'
import { loadPatterns } from './gen-decoder.js'
import { INVALID, LLVM_MATTR, normaliseLlvmText, writeCorpus, type CorpusEntry } from './corpus-lib.js'

const RANDOM_WORDS = 200_000
const SWEEP_TOTAL = 150_000
const MIN_PER_ROW = 64
const CHUNK = 40_000
const EXHAUSTIVE_FREE_BITS = 10

/** mulberry32: small, seedable, good enough to spread words over the encoding space. */
function rng(seed: number): () => number {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return (t ^ (t >>> 14)) >>> 0
  }
}

/**
 * Runs llvm-mc over one word per input line. The `// encoding:` comment cannot identify the
 * input (LLVM re-encodes, dropping don't-care bits), so words are matched by position:
 * stderr names the line of each invalid word, and stdout has one instruction line per
 * remaining word, in order.
 */
export function llvmDisassemble(words: readonly number[]): Map<number, string> {
  const result = new Map<number, string>()
  for (let start = 0; start < words.length; start += CHUNK) {
    const chunk = words.slice(start, start + CHUNK)
    const input = chunk
      .map((w) => [0, 8, 16, 24].map((s) => `0x${((w >>> s) & 0xff).toString(16).padStart(2, '0')}`).join(' '))
      .join('\n')
    const run = spawnSync('llvm-mc', ['--disassemble', '-triple=aarch64', `-mattr=${LLVM_MATTR}`], {
      input: input + '\n',
      maxBuffer: 1 << 30,
      encoding: 'utf8',
    })
    if (run.status !== 0 && run.stdout === '') throw new Error(`llvm-mc failed: ${run.stderr.slice(0, 500)}`)
    const invalidLines = new Set<number>()
    for (const m of run.stderr.matchAll(/^<stdin>:(\d+):\d+: warning: invalid instruction encoding$/gm)) invalidLines.add(Number(m[1]))
    const texts = run.stdout.split('\n').filter((l) => l.startsWith('\t') && l.trim() !== '.text')
    let next = 0
    chunk.forEach((word, i) => {
      if (invalidLines.has(i + 1)) return
      const line = texts[next++]
      if (line === undefined) throw new Error(`llvm-mc printed fewer instructions than expected at word ${word.toString(16)}`)
      result.set(word, normaliseLlvmText(line))
    })
    if (next !== texts.length) throw new Error(`llvm-mc printed ${texts.length} instructions for ${next} valid words`)
    process.stdout.write(`\r${Math.min(start + CHUNK, words.length)}/${words.length}`)
  }
  process.stdout.write('\n')
  return result
}

function popcount(x: number): number {
  let n = 0
  for (let v = x >>> 0; v; v &= v - 1) n++
  return n
}

/** Spreads the low bits of `v` over the set bits of `mask` (like x86 PDEP). */
function deposit(v: number, mask: number): number {
  let out = 0
  let bit = 0
  for (let b = 0; b < 32; b++) {
    if (((mask >>> b) & 1) === 0) continue
    if ((v >>> bit) & 1) out |= 1 << b
    bit++
  }
  return out >>> 0
}

function main(): void {
  const root = join(dirname(fileURLToPath(import.meta.url)), '..')
  const patterns = loadPatterns(join(root, 'src/tables'))
  const next = rng(0x7a67766d)
  const words = new Set<number>()
  for (let i = 0; i < RANDOM_WORDS; i++) words.add(next())
  const perRow = Math.max(MIN_PER_ROW, Math.ceil(SWEEP_TOTAL / patterns.length))
  for (const p of patterns) {
    const free = ~p.mask >>> 0
    const freeBits = 32 - popcount(p.mask)
    words.add(p.value)
    words.add((p.value | free) >>> 0)
    if (freeBits <= EXHAUSTIVE_FREE_BITS) {
      // Small rows: every value of the free bits.
      for (let v = 0; v < 1 << freeBits; v++) words.add((p.value | deposit(v, free)) >>> 0)
    } else {
      for (let i = 0; i < perRow; i++) words.add((p.value | (next() & free)) >>> 0)
    }
    // Neighbours: each fixed bit flipped, so the edges of every row are checked too.
    for (let b = 0; b < 32; b++) {
      if (((p.mask >>> b) & 1) === 0) continue
      words.add(((p.value ^ (1 << b)) | (next() & free)) >>> 0)
    }
  }
  const list = [...words].sort((a, b) => a - b)
  const texts = llvmDisassemble(list)
  const entries: CorpusEntry[] = list.map((word) => ({ word, text: texts.get(word) ?? INVALID }))
  mkdirSync(join(root, 'corpus'), { recursive: true })
  writeCorpus(join(root, 'corpus/llvm14.txt.gz'), entries)
  const valid = entries.filter((e) => e.text !== INVALID).length
  console.log(`${entries.length} words (${valid} valid) from ${patterns.length} rows, ${perRow} per row`)
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) main()
