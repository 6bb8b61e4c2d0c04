import { expect, test } from 'vitest'
import { execFileSync, spawnSync } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'

const cli = fileURLToPath(new URL('../dist/cli.js', import.meta.url))
const appDir = fileURLToPath(new URL('../', import.meta.url))
const guests = fileURLToPath(new URL('../../../guests/', import.meta.url))
const elf = (name: string): string => `${guests}${name}/${name}.elf`
const recorded = (name: string): Buffer => readFileSync(`${guests}${name}/qemu.out`)

// The built binary is what users run; apps/tagvm/turbo.json builds it before its tests.
test('the built CLI prints help and fails cleanly on bad commands', () => {
  expect(execFileSync(process.execPath, [cli, '--help'], { encoding: 'utf8' })).toContain('tagvm run IMAGE')
  const bad = spawnSync(process.execPath, [cli, 'frobnicate'], { encoding: 'utf8' })
  expect(bad.status).toBe(2)
  expect(bad.stderr).toContain("unknown command 'frobnicate'")
  expect(bad.stdout).toBe('')
})

test('the CLI (from source) runs the MTE demo: stdout is the console byte for byte, stderr empty, status 0', () => {
  const result = spawnSync(process.execPath, ['--conditions=source', '--import', 'tsx', 'src/cli.ts', 'run', elf('mte-demo')], { cwd: appDir, encoding: 'latin1' })
  expect(result.stderr).toBe('')
  expect(result.stdout).toBe(recorded('mte-demo').toString('latin1'))
  expect(result.status).toBe(0)
})

