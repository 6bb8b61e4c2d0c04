// Packs every published package as a release would (`pnpm pack`, whose prepack builds it),
// then checks each tarball the way a new user meets it, in a scratch directory outside the
// repository and with the npm registry unreachable:
//   - the manifest has no `source` condition, no `workspace:` range, and the tarball holds the
//     build, README and LICENSE but no sources or source maps;
//   - publint (strict) and @arethetypeswrong/cli report nothing;
//   - the package installs alone from its tarball plus its @tagvm dependencies' tarballs;
//   - its README's first ```ts block (the example the package's own test runs) runs against
//     the installed build;
//   - `import` and `require` both load it and export the same names, `require` also with
//     require(esm) switched off (Node 20 before 20.19), and errors made by the CJS copy pass
//     the ESM copy's brand checks;
//   - @tagvm/a64 bundled from the tarball leaves the disassembler out of a decode-only program;
//   - a package with a `bin` (the `tagvm` command) is ESM only (so attw checks the ESM
//     resolutions, and `require` is not asked of it), ships its bin, and installs and runs as
//     app-check.ts describes: `npm i -g` and `npx` from a registry that serves only these
//     tarballs, the MTE demo byte for byte as QEMU printed it.
//
// Usage: tsx scripts/release/pack-check.ts [--keep] [--out DIR]
//   --out DIR  put tarballs and installs in DIR (default: a new directory under the OS temp dir)
//   --keep     keep the scratch directory (it is removed after a passing run otherwise)
import { execFile } from 'node:child_process'
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, relative, resolve } from 'node:path'
import { gunzipSync } from 'node:zlib'
import { build } from 'esbuild'
import { readmeExample } from '../readme-example.js'
import { checkAppInstall, type ServedTarball } from './app-check.js'
import { initialReleaseProblems } from './changesets.js'
import { REPO_ROOT, dependencyClosure, pinnedPnpm, publishedPackages, workspacePackages, type WorkspacePackage } from './workspace.js'

const TOOLS = join(REPO_ROOT, 'node_modules', '.bin')
// npm must never reach a registry: every package comes from a local tarball.
const NO_REGISTRY = ['--offline', '--registry=http://127.0.0.1:9/', '--no-audit', '--no-fund', '--ignore-scripts', '--loglevel=error']

interface Run {
  readonly code: number
  readonly stdout: string
  readonly stderr: string
}

function run(command: string, args: readonly string[], cwd: string, env: NodeJS.ProcessEnv = {}): Promise<Run> {
  return new Promise((done) => {
    execFile(command, args, { cwd, env: { ...process.env, ...env }, maxBuffer: 64 * 1024 * 1024 }, (error, stdout, stderr) => {
      const code = error ? (typeof error.code === 'number' ? error.code : 1) : 0
      done({ code, stdout, stderr })
    })
  })
}

async function mustRun(what: string, command: string, args: readonly string[], cwd: string, env?: NodeJS.ProcessEnv): Promise<string> {
  const result = await run(command, args, cwd, env)
  if (result.code !== 0) throw new Error(`${what} failed (exit ${result.code}):\n${result.stdout}${result.stderr}`)
  return result.stdout
}

/** Runs `task` on every item, at most `limit` at once, in order of completion. */
async function eachLimited<T>(items: readonly T[], limit: number, task: (item: T) => Promise<void>): Promise<void> {
  const queue = [...items]
  const workers = Array.from({ length: Math.min(limit, queue.length) }, async () => {
    for (let item = queue.shift(); item !== undefined; item = queue.shift()) await task(item)
  })
  await Promise.all(workers)
}

/** File names and sizes inside a .tgz (npm tarballs are plain ustar). */
function tarballEntries(file: string): { path: string; size: number }[] {
  const tar = gunzipSync(readFileSync(file))
  const entries: { path: string; size: number }[] = []
  for (let at = 0; at + 512 <= tar.length; ) {
    const header = tar.subarray(at, at + 512)
    if (header.every((b) => b === 0)) break
    const field = (start: number, length: number): string => header.subarray(start, start + length).toString('utf8').replace(/\0.*$/s, '')
    const name = field(0, 100)
    const prefix = field(345, 155)
    const size = parseInt(field(124, 12).trim() || '0', 8)
    entries.push({ path: prefix ? `${prefix}/${name}` : name, size })
    at += 512 + Math.ceil(size / 512) * 512
  }
  return entries
}

function packedManifest(file: string): Record<string, unknown> {
  const tar = gunzipSync(readFileSync(file))
  for (let at = 0; at + 512 <= tar.length; ) {
    const name = tar.subarray(at, at + 100).toString('utf8').replace(/\0.*$/s, '')
    const size = parseInt(tar.subarray(at + 124, at + 136).toString('utf8').replace(/\0.*$/s, '').trim() || '0', 8)
    if (name === 'package/package.json') return JSON.parse(tar.subarray(at + 512, at + 512 + size).toString('utf8')) as Record<string, unknown>
    at += 512 + Math.ceil(size / 512) * 512
  }
  throw new Error(`${file} has no package/package.json`)
}

/** Whether the packed manifest offers a CommonJS build (a `require` condition); the app is ESM only. */
function hasCommonJs(manifest: Record<string, unknown>): boolean {
  return JSON.stringify(manifest.exports ?? {}).includes('"require"')
}

/** The executables a packed manifest installs (`bin`), as paths inside the package. */
function binFiles(manifest: Record<string, unknown>): string[] {
  const bin = manifest.bin
  if (bin === undefined) return []
  return (typeof bin === 'string' ? [bin] : Object.values(bin as Record<string, string>)).map((p) => p.replace(/^\.\//, ''))
}

function checkContents(pkg: WorkspacePackage, tarball: string): string[] {
  const problems: string[] = []
  const paths = tarballEntries(tarball).map((e) => e.path.replace(/^package\//, ''))
  const packed = packedManifest(tarball)
  const cjs = hasCommonJs(packed) ? ['dist/index.cjs', 'dist/index.d.cts'] : []
  for (const required of ['package.json', 'README.md', 'LICENSE', 'dist/index.js', 'dist/index.d.ts', ...cjs, ...binFiles(packed)]) {
    if (!paths.includes(required)) problems.push(`missing ${required}`)
  }
  for (const path of paths) {
    if (path.endsWith('.map')) problems.push(`ships a source map: ${path}`)
    if (path.startsWith('src/') || /\.test\.[cm]?[jt]s$/.test(path)) problems.push(`ships a source or test file: ${path}`)
  }
  const manifest = JSON.stringify(packed)
  if (manifest.includes('"source"') || manifest.includes('./src/')) problems.push('packed package.json still points at sources (the `source` condition)')
  if (manifest.includes('workspace:')) problems.push('packed package.json has a workspace: range')
  const license = readFileSync(join(pkg.dir, 'LICENSE'), 'utf8')
  if (license !== readFileSync(join(REPO_ROOT, 'LICENSE'), 'utf8')) problems.push(`${pkg.relativeDir}/LICENSE differs from the repository's LICENSE`)
  return problems
}

/** The names a module exports, through `import` and through `require`, from `cwd`'s node_modules. */
async function exportedNames(name: string, cwd: string): Promise<{ esm: string[]; cjs: string[]; cjsWithoutRequireEsm: string[]; resolvedCjs: string }> {
  const esm = await mustRun(`import('${name}')`, process.execPath, ['--input-type=module', '-e', `const m = await import(${JSON.stringify(name)}); console.log(JSON.stringify(Object.keys(m).sort()))`], cwd)
  const cjsScript = `const m = require(${JSON.stringify(name)}); console.log(JSON.stringify({ names: Object.keys(m).sort(), file: require.resolve(${JSON.stringify(name)}) }))`
  const cjs = JSON.parse(await mustRun(`require('${name}')`, process.execPath, ['-e', cjsScript], cwd)) as { names: string[]; file: string }
  const old = JSON.parse(
    await mustRun(`require('${name}') without require(esm)`, process.execPath, ['--no-experimental-require-module', '-e', cjsScript], cwd),
  ) as { names: string[] }
  return { esm: JSON.parse(esm) as string[], cjs: cjs.names, cjsWithoutRequireEsm: old.names, resolvedCjs: cjs.file }
}

// Errors made by one format's copy must pass the other format's brand checks.
const CROSS_FORMAT_BRAND_CHECK = `
const cjs = require('@tagvm/tag-memory')
import('@tagvm/tag-memory').then((esm) => {
  const fromCjs = new cjs.ErrnoError('EINVAL', 'made by the CJS copy')
  const fromEsm = new esm.ErrnoError('EFAULT', 'made by the ESM copy')
  if (fromCjs instanceof esm.ErrnoError) throw new Error('expected two copies of ErrnoError')
  if (!esm.isErrnoError(fromCjs) || !cjs.isErrnoError(fromEsm)) throw new Error('isErrnoError missed an error from the other copy')
  console.log('ok')
})
`

async function checkA64TreeShaking(installDir: string): Promise<string> {
  const size = async (names: string): Promise<number> => {
    const result = await build({
      stdin: { contents: `import { ${names} } from '@tagvm/a64'\nglobalThis.keep = [${names}]\n`, resolveDir: installDir, loader: 'js' },
      bundle: true,
      minify: true,
      format: 'esm',
      platform: 'neutral',
      write: false,
      logLevel: 'silent',
    })
    return result.outputFiles[0]?.contents.length ?? 0
  }
  const decodeOnly = await size('decode')
  const both = await size('decode, disassemble')
  if (!(decodeOnly > 0 && decodeOnly < both * 0.85)) {
    throw new Error(`@tagvm/a64 from its tarball: decode-only bundle ${decodeOnly} B is not clearly smaller than decode + disassemble ${both} B`)
  }
  return `a64 bundles from the tarball: decode ${decodeOnly} B, decode + disassemble ${both} B`
}

interface Outcome {
  readonly pkg: WorkspacePackage
  tarball?: string
  tarballBytes?: number
  unpackedBytes?: number
  readonly notes: string[]
  readonly problems: string[]
}

async function main(): Promise<void> {
  const args = process.argv.slice(2)
  const keep = args.includes('--keep')
  const outIndex = args.indexOf('--out')
  const scratch = outIndex >= 0 ? resolve(args[outIndex + 1] ?? '') : mkdtempSync(join(tmpdir(), 'tagvm-pack-check-'))
  if (!relative(REPO_ROOT, scratch).startsWith('..')) throw new Error(`the scratch directory ${scratch} must be outside the repository`)
  const tarballs = join(scratch, 'tarballs')
  rmSync(tarballs, { recursive: true, force: true })
  mkdirSync(tarballs, { recursive: true })
  const started = Date.now()
  const packages = publishedPackages()
  const pnpm = pinnedPnpm()
  console.log(`pack-check: ${packages.length} packages on Node ${process.version}, scratch ${scratch}`)
  // A package's first release must describe the package (scripts/release/changesets.ts).
  const changesetProblems = initialReleaseProblems(join(REPO_ROOT, '.changeset'), workspacePackages())
  if (changesetProblems.length) throw new Error(changesetProblems.join('\n'))

  const outcomes = new Map(packages.map((pkg) => [pkg.name, { pkg, notes: [], problems: [] } as Outcome]))
  const outcome = (name: string): Outcome => {
    const found = outcomes.get(name)
    if (!found) throw new Error(`no outcome for ${name}`)
    return found
  }

  // 1. Build every package once, dependencies first (turbo; each declaration build reads its
  //    dependencies' built declarations), then pack: each prepack's build is a cache hit.
  // Through `npx pnpm exec`: turbo needs pnpm on PATH.
  await mustRun('turbo build', 'npx', ['--yes', `pnpm@${pnpm}`, 'exec', 'turbo', 'run', 'build', '--concurrency=2', '--output-logs=errors-only', ...packages.map((p) => `--filter=${p.name}`)], REPO_ROOT)
  console.log(`built in ${((Date.now() - started) / 1000).toFixed(0)} s`)
  //    Pack (prepack builds each package), two at a time on this two-core machine.
  await eachLimited(packages, 2, async (pkg) => {
    const out = await mustRun(`pnpm pack ${pkg.name}`, 'npx', ['--yes', `pnpm@${pnpm}`, 'pack', '--pack-destination', tarballs], pkg.dir, { CI: 'true' })
    const file = out.trim().split('\n').reverse().find((line) => line.trim().endsWith('.tgz'))?.trim()
    if (!file) throw new Error(`pnpm pack ${pkg.name} printed no tarball name:\n${out}`)
    const o = outcome(pkg.name)
    o.tarball = resolve(pkg.dir, file)
    o.tarballBytes = statSync(o.tarball).size
    o.unpackedBytes = tarballEntries(o.tarball).reduce((sum, e) => sum + e.size, 0)
    o.problems.push(...checkContents(pkg, o.tarball))
  })
  console.log(`packed in ${((Date.now() - started) / 1000).toFixed(0)} s`)

  // 2. Lint each tarball, install it alone, and run its README example and module checks.
  await eachLimited(packages, 2, async (pkg) => {
    const o = outcome(pkg.name)
    const tarball = o.tarball as string
    const publint = await run(join(TOOLS, 'publint'), ['run', '--strict', tarball], scratch)
    if (publint.code !== 0 || !publint.stdout.includes('All good!')) o.problems.push(`publint:\n${publint.stdout}${publint.stderr}`)
    const manifest = packedManifest(tarball)
    const commonJs = hasCommonJs(manifest)
    // An ESM-only package is checked in the resolutions that can load it (attw's esm-only profile).
    const attw = await run(join(TOOLS, 'attw'), [tarball, '--format', 'json', ...(commonJs ? [] : ['--profile', 'esm-only'])], scratch)
    // The JSON lists every problem; the esm-only profile only ignores those of the CommonJS resolutions.
    const ignored = commonJs ? [] : ['node10', 'node16-cjs']
    const attwProblems = attw.stdout.trim().startsWith('{')
      ? ((JSON.parse(attw.stdout) as { analysis?: { problems?: { resolutionKind?: string }[] } }).analysis?.problems ?? []).filter((p) => !ignored.includes(p.resolutionKind ?? ''))
      : null
    if (attw.code !== 0 || attwProblems === null || attwProblems.length > 0) o.problems.push(`attw:\n${attw.stdout}${attw.stderr}`)

    const installDir = join(scratch, 'install', pkg.name.replace('/', '+'))
    rmSync(installDir, { recursive: true, force: true })
    mkdirSync(installDir, { recursive: true })
    writeFileSync(join(installDir, 'package.json'), JSON.stringify({ name: 'pack-check-consumer', private: true, type: 'module' }))
    const closure = dependencyClosure(pkg.name, packages)
    const closureTarballs = closure.map((n) => outcome(n).tarball as string)
    await mustRun(`npm install ${pkg.name}`, 'npm', ['install', ...NO_REGISTRY, ...closureTarballs], installDir)
    const installed = readdirSync(join(installDir, 'node_modules', '@tagvm')).map((n) => `@tagvm/${n}`).sort()
    if (JSON.stringify(installed) !== JSON.stringify(closure)) o.problems.push(`installed ${installed.join(', ')}; expected exactly ${closure.join(', ')}`)

    writeFileSync(join(installDir, 'readme-example.ts'), readmeExample(pkg.dir))
    const example = await run(join(TOOLS, 'tsx'), ['readme-example.ts'], installDir)
    if (example.code !== 0) o.problems.push(`README example failed against the installed package:\n${example.stdout}${example.stderr}`)

    if (commonJs) {
      const names = await exportedNames(pkg.name, installDir)
      if (names.esm.length === 0) o.problems.push('import() gives no exports')
      if (JSON.stringify(names.esm) !== JSON.stringify(names.cjs)) o.problems.push(`require() and import() export different names: ${names.cjs.join(',')} vs ${names.esm.join(',')}`)
      if (JSON.stringify(names.cjsWithoutRequireEsm) !== JSON.stringify(names.cjs)) o.problems.push('require() without require(esm) gives different exports')
      if (!names.resolvedCjs.endsWith('.cjs')) o.problems.push(`require() resolved to ${names.resolvedCjs}, not the CJS build`)
      o.notes.push(`${names.esm.length} exports via import and require`)
    } else {
      const esm = JSON.parse(await mustRun(`import('${pkg.name}')`, process.execPath, ['--input-type=module', '-e', `const m = await import(${JSON.stringify(pkg.name)}); console.log(JSON.stringify(Object.keys(m)))`], installDir)) as string[]
      if (esm.length === 0) o.problems.push('import() gives no exports')
      o.notes.push(`ESM only: ${esm.length} exports via import`)
    }

    if (pkg.name === '@tagvm/tag-memory') {
      const brand = await run(process.execPath, ['-e', CROSS_FORMAT_BRAND_CHECK], installDir)
      if (brand.stdout.trim() !== 'ok') o.problems.push(`ErrnoError brand across CJS and ESM copies:\n${brand.stdout}${brand.stderr}`)
    }
    if (pkg.name === '@tagvm/a64') {
      try {
        o.notes.push(await checkA64TreeShaking(installDir))
      } catch (error) {
        o.problems.push(String(error))
      }
    }
  })

  // 3. The command: installed globally and through npx from a registry of these tarballs only, then run.
  const served: ServedTarball[] = [...outcomes.values()].map((o) => ({ file: o.tarball as string, manifest: packedManifest(o.tarball as string) as ServedTarball['manifest'] }))
  for (const app of served.filter((t) => binFiles(t.manifest).length > 0)) {
    const o = outcome(app.manifest.name)
    const result = await checkAppInstall(app, served, scratch)
    o.notes.push(...result.notes)
    o.problems.push(...result.problems)
  }
  console.log(`installed and ran the command in ${((Date.now() - started) / 1000).toFixed(0)} s`)

  let failed = 0
  console.log('\npackage                 tarball   unpacked  result')
  for (const o of outcomes.values()) {
    const kb = (n: number | undefined): string => `${((n ?? 0) / 1000).toFixed(1)} kB`.padStart(9)
    console.log(`${o.pkg.name.padEnd(22)} ${kb(o.tarballBytes)} ${kb(o.unpackedBytes)}  ${o.problems.length ? 'FAIL' : 'ok'}  ${o.notes.join('; ')}`)
    for (const problem of o.problems) console.log(`    ${problem.replace(/\n/g, '\n    ')}`)
    if (o.problems.length) failed++
  }
  console.log(`\npack-check: ${packages.length - failed} passed, ${failed} failed in ${((Date.now() - started) / 1000).toFixed(0)} s`)
  if (failed) {
    console.log(`scratch directory kept: ${scratch}`)
    process.exitCode = 1
  } else if (!keep && outIndex < 0) {
    rmSync(scratch, { recursive: true, force: true })
  }
}

await main()
