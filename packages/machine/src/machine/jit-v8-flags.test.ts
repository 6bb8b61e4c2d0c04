// JIT_V8_FLAGS are flags this Node's V8 knows: node refuses an unknown one at start-up, and
// setFlagsFromString ignores it silently, so a renamed flag would otherwise go unseen.
import { spawnSync } from 'node:child_process'
import { expect, test } from 'vitest'
import { JIT_V8_FLAGS } from './jit-v8-flags.js'

test('node starts with JIT_V8_FLAGS on its command line (V8 knows every flag)', () => {
  const run = spawnSync(process.execPath, [...JIT_V8_FLAGS.split(' '), '-e', 'process.exit(0)'], { encoding: 'utf8' })
  expect(run.stderr).toBe('')
  expect(run.status).toBe(0)
})

test('a flag V8 does not know is refused the same way (the check above can fail)', () => {
  const run = spawnSync(process.execPath, ['--wasm-tiering-budget-nonexistent=1', '-e', 'process.exit(0)'], { encoding: 'utf8' })
  expect(run.status).not.toBe(0)
  expect(run.stderr).toMatch(/bad option/)
})
