// `pnpm tagvm` (scripts/tagvm.mjs) builds the CLI only when something its build reads or writes
// changed (scripts/build-stamp.mjs). The launcher runs here in a small copy of the workspace
// whose `turbo` is a script that writes the CLI and logs each build, so the test sees exactly
// when a build happens, without the real turbo and without looking at the clock.
import { afterAll, beforeAll, describe, expect, test } from 'vitest'
import { spawnSync } from 'node:child_process'
import { chmodSync, copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, utimesSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

const repo = fileURLToPath(new URL('../../../', import.meta.url))
const root = mkdtempSync(join(tmpdir(), 'tagvm-launcher-'))
const builds = join(root, 'builds.log')
const stamp = join(root, 'stamp.json')
afterAll(() => rmSync(root, { recursive: true, force: true }))

function write(path: string, text: string): void {
  mkdirSync(dirname(join(root, path)), { recursive: true })
  writeFileSync(join(root, path), text)
}
const manifest = (name: string, dependencies: Record<string, string> = {}): string => JSON.stringify({ name, version: '1.0.0', dependencies })

beforeAll(() => {
  for (const script of ['tagvm.mjs', 'build-stamp.mjs']) {
    mkdirSync(join(root, 'scripts'), { recursive: true })
    copyFileSync(join(repo, 'scripts', script), join(root, 'scripts', script))
  }
  write('package.json', JSON.stringify({ name: 'workspace', private: true, packageManager: 'pnpm@10.34.9' }))
  write('pnpm-workspace.yaml', "packages:\n  - 'apps/*'\n  - 'packages/*'\n")
  write('apps/tagvm/package.json', manifest('@tagvm/tagvm', { '@tagvm/machine': 'workspace:^' }))
  write('apps/tagvm/turbo.json', JSON.stringify({ tasks: { build: { inputs: ['src/**', '$TURBO_ROOT$/guests/hello/**'] } } }))
  write('apps/tagvm/src/cli.ts', 'cli')
  write('apps/tagvm/src/cli.test.ts', 'test')
  write('packages/machine/package.json', manifest('@tagvm/machine'))
  write('packages/machine/src/index.ts', 'machine')
  write('packages/unrelated/package.json', manifest('@tagvm/unrelated'))
  write('packages/unrelated/src/index.ts', 'unrelated')
  write('guests/hello/hello.elf', 'elf')
  // The stand-in for turbo: "builds" the CLI (a script printing its arguments and directory) and logs it.
  const cli = "console.log(JSON.stringify({ args: process.argv.slice(2), cwd: process.cwd() }))"
  write('node_modules/.bin/turbo', `#!/bin/sh\necho "$@" >> ${JSON.stringify(builds)}\nmkdir -p apps/tagvm/dist\nprintf '%s' ${JSON.stringify(cli)} > apps/tagvm/dist/cli.js\n`)
  chmodSync(join(root, 'node_modules/.bin/turbo'), 0o755)
  // pnpm on PATH is how the launcher knows turbo can run directly (as under `pnpm tagvm`).
  write('bin/pnpm', '#!/bin/sh\nexit 0\n')
  chmodSync(join(root, 'bin/pnpm'), 0o755)
})

/** Runs the launcher as `pnpm tagvm ARGS` would from `cwd`; returns what the CLI printed and how many builds there have been. */
function launch(args: readonly string[], cwd = root): { cli: { args: string[]; cwd: string }; builds: number } {
  const result = spawnSync(process.execPath, [join(root, 'scripts', 'tagvm.mjs'), ...args], {
    cwd: root,
    encoding: 'utf8',
    env: { ...process.env, PATH: `${join(root, 'bin')}:${process.env.PATH ?? ''}`, INIT_CWD: cwd, TAGVM_BUILD_STAMP: stamp },
  })
  expect(result.stderr).toBe('')
  expect(result.status).toBe(0)
  let count = 0
  try {
    count = readFileSync(builds, 'utf8').trim().split('\n').length
  } catch {
    // no build yet
  }
  return { cli: JSON.parse(result.stdout) as { args: string[]; cwd: string }, builds: count }
}

/** Rewrites a file with new content and a new modification time. */
function change(path: string, text: string): void {
  writeFileSync(join(root, path), text)
  const later = new Date(Date.now() + 5000)
  utimesSync(join(root, path), later, later)
}

describe('pnpm tagvm', () => {
  test('builds once, then runs without building while nothing changed', () => {
    const first = launch(['run', 'guest.elf'])
    expect(first).toEqual({ cli: { args: ['run', 'guest.elf'], cwd: root }, builds: 1 })
    expect(readFileSync(builds, 'utf8')).toBe('run build --filter=@tagvm/tagvm... --output-logs=errors-only\n')
    expect(launch(['--version']).builds).toBe(1)
    // The CLI runs where the user started pnpm (INIT_CWD), for relative paths.
    const elsewhere = join(root, 'apps')
    expect(launch(['--version'], elsewhere)).toEqual({ cli: { args: ['--version'], cwd: elsewhere }, builds: 1 })
  })
  test.each([
    ['a source of the app', 'apps/tagvm/src/cli.ts', true],
    ["a source of a dependency (machine)", 'packages/machine/src/index.ts', true],
    ['a manifest', 'packages/machine/package.json', true],
    ['a bundled guest (a $TURBO_ROOT$ input of the app)', 'guests/hello/hello.elf', true],
    ['a test file', 'apps/tagvm/src/cli.test.ts', false],
    ['a package the app does not depend on', 'packages/unrelated/src/index.ts', false],
  ])('after a change to %s: build %s', (_what, path, rebuilds) => {
    const before = launch([]).builds
    change(path, `${readFileSync(join(root, path), 'utf8')} `)
    expect(launch([]).builds).toBe(before + (rebuilds ? 1 : 0))
    expect(launch([]).builds).toBe(before + (rebuilds ? 1 : 0))
  })
  test('a new source file, a deleted build or a changed build output: build again', () => {
    let count = launch([]).builds
    write('packages/machine/src/extra.ts', 'more')
    expect(launch([]).builds).toBe(++count)
    rmSync(join(root, 'apps/tagvm/dist'), { recursive: true })
    expect(launch([]).builds).toBe(++count)
    change('apps/tagvm/dist/cli.js', `${readFileSync(join(root, 'apps/tagvm/dist/cli.js'), 'utf8')}\n// edited by hand\n`)
    expect(launch([]).builds).toBe(++count)
    expect(launch([]).builds).toBe(count)
  })
  test('a failed build is reported, its status kept, and the CLI not run', () => {
    write('node_modules/.bin/turbo', '#!/bin/sh\necho "turbo: build failed" >&2\nexit 3\n')
    change('apps/tagvm/src/cli.ts', 'broken')
    const result = spawnSync(process.execPath, [join(root, 'scripts', 'tagvm.mjs'), '--version'], {
      cwd: root,
      encoding: 'utf8',
      env: { ...process.env, PATH: `${join(root, 'bin')}:${process.env.PATH ?? ''}`, INIT_CWD: root, TAGVM_BUILD_STAMP: stamp },
    })
    expect(result).toMatchObject({ status: 3, stdout: '', stderr: 'turbo: build failed\ntagvm: building the CLI failed (see above)\n' })
  })
})
