// Compares decode/disassemble with llvm-mc on fresh random words (not the committed corpus),
// to look for disagreements the corpus does not contain. Needs llvm-mc.
// Usage: tsx scripts/random-check.ts [seed] [count]
import { llvmDisassemble } from './gen-corpus.js'
import { decodeWord } from '../src/decode.js'
import { printInstruction } from '../src/disassemble.js'
import { INVALID } from './corpus-lib.js'

let state = Number(process.argv[2] ?? Date.now()) >>> 0
const count = Number(process.argv[3] ?? 1_000_000)
const next = (): number => {
  state = (state + 0x6d2b79f5) >>> 0
  let t = state
  t = Math.imul(t ^ (t >>> 15), t | 1)
  t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
  return (t ^ (t >>> 14)) >>> 0
}
const words = Array.from({ length: count }, next)
const llvm = llvmDisassemble(words)
const classes = new Map<string, string[]>()
for (const w of words) {
  const insn = decodeWord(w)
  const ours = insn.id === 0 ? INVALID : printInstruction(insn, w)
  const theirs = llvm.get(w) ?? INVALID
  if (ours === theirs) continue
  const key = `${insn.name} / llvm ${theirs.split(' ')[0]}`
  const list = classes.get(key) ?? []
  list.push(`${w.toString(16).padStart(8, '0')}  ours: ${ours}  |  llvm: ${theirs}`)
  classes.set(key, list)
}
const bad = [...classes.values()].reduce((n, l) => n + l.length, 0)
console.log(`${count} random words, ${bad} disagreements`)
for (const [key, list] of [...classes].sort((a, b) => b[1].length - a[1].length).slice(0, 30)) {
  console.log(`${String(list.length).padStart(7)}  ${key}`)
  for (const e of list.slice(0, 3)) console.log(`           ${e}`)
}
