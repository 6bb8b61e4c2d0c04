// Compiles bench/mix.c for aarch64 (Armv8.5-A + MTE, LSE) with clang and writes the words of
// its .text to bench/mix.words (one hex word per line). Needs clang and llvm-objcopy; the
// benchmark itself only reads the committed output.
import { execFileSync } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, dirname } from 'node:path'
import { fileURLToPath } from 'node:url'

const root = join(dirname(fileURLToPath(import.meta.url)), '..')
const dir = mkdtempSync(join(tmpdir(), 'a64-mix-'))
try {
  const obj = join(dir, 'mix.o')
  const bin = join(dir, 'mix.bin')
  for (const opt of ['-O2', '-Os', '-O0']) {
    execFileSync('clang', ['--target=aarch64-linux-gnu', '-march=armv8.5-a+memtag', opt, '-ffreestanding', '-c', join(root, 'bench/mix.c'), '-o', `${obj}${opt}`])
  }
  const words: string[] = []
  for (const opt of ['-O2', '-Os', '-O0']) {
    execFileSync('llvm-objcopy', ['-O', 'binary', '--only-section=.text', `${obj}${opt}`, bin])
    const bytes = readFileSync(bin)
    for (let i = 0; i + 4 <= bytes.length; i += 4) words.push(bytes.readUInt32LE(i).toString(16).padStart(8, '0'))
  }
  writeFileSync(join(root, 'bench/mix.words'), words.join('\n') + '\n')
  console.log(`${words.length} words`)
} finally {
  rmSync(dir, { recursive: true, force: true })
}
