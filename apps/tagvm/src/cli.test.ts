import { expect, test } from 'vitest'
import { execFileSync, spawnSync } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
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

test('the built CLI finds its bundled guests from any directory, and says its version', () => {
  const elsewhere = mkdtempSync(join(tmpdir(), 'tagvm-elsewhere-'))
  try {
    const demo = spawnSync(process.execPath, [cli, 'run', '--guest', 'mte-demo'], { cwd: elsewhere, encoding: 'latin1' })
    expect(demo.stderr).toBe('')
    expect(demo.stdout).toBe(recorded('mte-demo').toString('latin1'))
    expect(demo.status).toBe(0)
    // dist/guests/, not the repository's guests/: the build copies them beside the code.
    expect(execFileSync(process.execPath, [cli, 'guests'], { cwd: elsewhere, encoding: 'utf8' })).toContain(`in ${appDir}dist/guests/`)
    const version = (JSON.parse(readFileSync(`${appDir}package.json`, 'utf8')) as { version: string }).version
    expect(execFileSync(process.execPath, [cli, '--version'], { cwd: elsewhere, encoding: 'utf8' })).toMatch(new RegExp(`^tagvm ${version.replace(/\./g, '\\.')}\nmachine: QEMU virt-10\\.0 compatible`))
  } finally {
    rmSync(elsewhere, { recursive: true, force: true })
  }
})

test('the CLI (from source) runs the MTE demo: stdout is the console byte for byte, stderr empty, status 0', () => {
  const result = spawnSync(process.execPath, ['--conditions=source', '--import', 'tsx', 'src/cli.ts', 'run', elf('mte-demo')], { cwd: appDir, encoding: 'latin1' })
  expect(result.stderr).toBe('')
  expect(result.stdout).toBe(recorded('mte-demo').toString('latin1'))
  expect(result.status).toBe(0)
})

