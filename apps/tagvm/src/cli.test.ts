import { expect, test } from 'vitest'
import { execFileSync, spawnSync } from 'node:child_process'
import { fileURLToPath } from 'node:url'

const cli = fileURLToPath(new URL('../dist/cli.js', import.meta.url))

// The built binary is what users run; apps/tagvm/turbo.json builds it before its tests.
test('the built CLI prints help and fails cleanly on bad commands', () => {
  expect(execFileSync(process.execPath, [cli, '--help'], { encoding: 'utf8' })).toContain('tagvm run IMAGE')
  const bad = spawnSync(process.execPath, [cli, 'frobnicate'], { encoding: 'utf8' })
  expect(bad.status).toBe(2)
  expect(bad.stderr).toContain("unknown command 'frobnicate'")
  expect(bad.stdout).toBe('')
})
