// `pnpm fuzz` end to end: a finding becomes a replayable file, and the watchdog reports a
// case that never ends with its seed. (Spawns the CLI, so it is the slowest test here.)
import { spawnSync } from 'node:child_process'
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { afterAll, expect, test } from 'vitest'
import type { FindingFile } from './cases.js'

const packageDir = fileURLToPath(new URL('..', import.meta.url))
const dir = mkdtempSync(join(tmpdir(), 'tagvm-fuzz-'))
afterAll(() => rmSync(dir, { recursive: true, force: true }))

function fuzz(...args: string[]): { status: number | null; out: string } {
  const r = spawnSync(process.execPath, ['--conditions=source', '--import', 'tsx', 'src/cli.ts', ...args], { cwd: packageDir, encoding: 'utf8', timeout: 300_000 })
  return { status: r.status, out: `${r.stdout}${r.stderr}` }
}

test('an observable perturbation is written as a finding that replays (exit 1 both times)', () => {
  const findings = join(dir, 'inject')
  const run = fuzz('--seed', 'cli0', '--insns', '1', '--jobs', '1', '--strict', '--case-insns', '4000', '--inject-zero-tags', '--max-findings', '1', '--no-minimize', '--findings', findings)
  expect(run.status, run.out).toBe(1)
  expect(run.out).toMatch(/FINDING case 0: differential: the perturbed run differs: tags/)
  const files = readdirSync(findings)
  expect(files).toEqual(['cli0-0-differential.json'])
  const file = JSON.parse(readFileSync(join(findings, files[0] as string), 'utf8')) as FindingFile
  expect(file.caseSeed).toBe('cli0:0')
  expect(file.replay).toBe(`pnpm fuzz --replay ${join(findings, 'cli0-0-differential.json')}`)
  const replay = fuzz('--replay', join(findings, files[0] as string))
  expect(replay.status, replay.out).toBe(1)
  expect(replay.out).toMatch(/differential: the perturbed run differs: tags/)
}, 600_000)

test('the watchdog kills a case that does not end and reports it once, with its seed', () => {
  const findings = join(dir, 'hang')
  const run = fuzz('--seed', 'h', '--insns', '1', '--jobs', '1', '--inject-hang', '--case-timeout', '0.5', '--max-findings', '1', '--findings', findings)
  expect(run.status, run.out).toBe(1)
  expect(run.out.match(/FINDING case 0: hang/g)).toHaveLength(1)
  const file = JSON.parse(readFileSync(join(findings, 'h-0-hang.json'), 'utf8')) as FindingFile
  expect(file.caseSeed).toBe('h:0')
  expect(file.scenario.seed).toBe('h:0')
}, 300_000)

test('a bad command line exits 2 with a one-line message', () => {
  const run = fuzz('--insns', 'lots')
  expect(run.status).toBe(2)
  expect(run.out.trim()).toBe('fuzz: --insns needs a non-negative number, got "lots"')
})
