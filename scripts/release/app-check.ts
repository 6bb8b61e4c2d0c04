// The part of pack-check that is about the `tagvm` command (a package with a `bin`): installed
// the way its README tells users to, from a registry, but a registry that serves only this
// release's tarballs (a local HTTP server in the scratch directory), so an install that needs
// anything else fails. Checks, from a directory outside the repository:
//   - `npm install -g @tagvm/tagvm` into a scratch prefix installs one copy of each @tagvm
//     package, and the app's JavaScript imports its @tagvm dependencies by name (declared,
//     not bundled: esbuild's module comments in dist/ name only the app's own src/ files);
//   - `tagvm --version` names the version; `tagvm run --guest mte-demo` (the guest found
//     beside the installed code) and `tagvm run guest.elf` (a relative path) print the MTE demo
//     byte for byte as QEMU did (guests/mte-demo/qemu.out); a text file is refused with exit 1;
//   - `npx @tagvm/tagvm run guest.elf` does the same through npx's own install.
import { execFile } from 'node:child_process'
import { createHash } from 'node:crypto'
import { copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { basename, join } from 'node:path'
import { REPO_ROOT } from './workspace.js'

/** A tarball the local registry serves, with the manifest packed in it. */
export interface ServedTarball {
  readonly file: string
  readonly manifest: { readonly name: string; readonly version: string; readonly [key: string]: unknown }
}

interface Run {
  readonly code: number
  readonly stdout: Buffer
  readonly stderr: string
}

/** The environment without npm settings (pnpm passes its own npm_config_* to scripts, which npm warns about or obeys). */
const CLEAN_ENV = Object.fromEntries(Object.entries(process.env).filter(([name]) => !/^npm_config_/i.test(name)))

function run(command: string, args: readonly string[], cwd: string, env: NodeJS.ProcessEnv = {}): Promise<Run> {
  return new Promise((done) => {
    execFile(command, args, { cwd, env: { ...CLEAN_ENV, ...env }, encoding: 'buffer', maxBuffer: 64 * 1024 * 1024 }, (error, stdout, stderr) => {
      done({ code: error ? (typeof error.code === 'number' ? error.code : 1) : 0, stdout, stderr: stderr.toString('utf8') })
    })
  })
}

/**
 * An npm registry for `tarballs` only: `GET /<name>` (scoped names come as `@scope%2fname`) is
 * the packument, `GET /-/<file>` the tarball; anything else is 404, as for a package that was
 * never published.
 */
async function localRegistry(tarballs: readonly ServedTarball[]): Promise<{ url: string; server: Server }> {
  const server = createServer((request, response) => {
    const path = decodeURIComponent((request.url ?? '/').split('?')[0]!)
    const served = tarballs.find((t) => path === `/-/${basename(t.file)}`)
    if (served) {
      response.writeHead(200, { 'content-type': 'application/octet-stream' }).end(readFileSync(served.file))
      return
    }
    const versions = tarballs.filter((t) => path === `/${t.manifest.name}`)
    if (versions.length === 0) {
      response.writeHead(404, { 'content-type': 'application/json' }).end('{"error":"not found"}')
      return
    }
    const url = `http://${request.headers.host}`
    const packument = {
      name: versions[0]!.manifest.name,
      'dist-tags': { latest: versions[versions.length - 1]!.manifest.version },
      versions: Object.fromEntries(
        versions.map(({ file, manifest }) => {
          const bytes = readFileSync(file)
          const dist = {
            tarball: `${url}/-/${basename(file)}`,
            integrity: `sha512-${createHash('sha512').update(bytes).digest('base64')}`,
            shasum: createHash('sha1').update(bytes).digest('hex'),
          }
          return [manifest.version, { ...manifest, _id: `${manifest.name}@${manifest.version}`, dist }]
        }),
      ),
    }
    response.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(packument))
  })
  await new Promise<void>((listening) => server.listen(0, '127.0.0.1', listening))
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/`, server }
}

/** Every package.json under a node_modules tree: name → the directories holding one. */
function installedCopies(nodeModules: string, found = new Map<string, string[]>()): Map<string, string[]> {
  if (!existsSync(nodeModules)) return found
  for (const entry of readdirSync(nodeModules, { withFileTypes: true })) {
    if (!entry.isDirectory() || entry.name.startsWith('.')) continue
    const dirs = entry.name.startsWith('@') ? readdirSync(join(nodeModules, entry.name)).map((n) => join(nodeModules, entry.name, n)) : [join(nodeModules, entry.name)]
    for (const dir of dirs) {
      const manifest = join(dir, 'package.json')
      if (!existsSync(manifest)) continue
      const { name } = JSON.parse(readFileSync(manifest, 'utf8')) as { name: string }
      found.set(name, [...(found.get(name) ?? []), dir])
      installedCopies(join(dir, 'node_modules'), found)
    }
  }
  return found
}

/** Problems with the app's built JavaScript: a bundled module from outside its src/, or an undeclared @tagvm import. */
function bundlingProblems(appDir: string, declared: readonly string[]): string[] {
  const problems: string[] = []
  const imported = new Set<string>()
  const dist = join(appDir, 'dist')
  for (const file of readdirSync(dist).filter((f) => f.endsWith('.js'))) {
    const text = readFileSync(join(dist, file), 'utf8')
    // Unminified esbuild output starts each bundled module with a `// <path>` comment.
    for (const [, path] of text.matchAll(/^\/\/ (\S+\.[cm]?[jt]s)$/gm)) if (!path!.startsWith('src/')) problems.push(`dist/${file} bundles ${path} (dependencies are declared, not bundled)`)
    for (const [, name] of text.matchAll(/from "(@tagvm\/[^"/]+)/g)) imported.add(name!)
  }
  for (const name of imported) if (!declared.includes(name)) problems.push(`dist/ imports ${name}, which package.json does not declare`)
  for (const name of declared.filter((d) => d.startsWith('@tagvm/'))) if (!imported.has(name)) problems.push(`${name} is declared but dist/ never imports it`)
  return problems
}

/** Runs `tagvm ...` (an installed binary, or npx) in `cwd` and checks it prints the MTE demo as QEMU did. */
async function checkMteDemo(what: string, command: string, args: readonly string[], cwd: string, env: NodeJS.ProcessEnv, expected: Buffer): Promise<string[]> {
  const result = await run(command, args, cwd, env)
  if (result.code === 0 && result.stderr === '' && result.stdout.equals(expected)) return []
  return [`${what}: exit ${result.code}, stdout ${result.stdout.equals(expected) ? 'as QEMU' : `differs from guests/mte-demo/qemu.out (${result.stdout.length} bytes)`}, stderr:\n${result.stderr}`]
}

/**
 * Installs the app (`app`, with the rest of `tarballs` as its dependencies) as a user would and
 * runs it; returns notes and problems for pack-check's table.
 */
export async function checkAppInstall(app: ServedTarball, tarballs: readonly ServedTarball[], scratch: string): Promise<{ notes: string[]; problems: string[] }> {
  const notes: string[] = []
  const problems: string[] = []
  const root = join(scratch, 'app')
  rmSync(root, { recursive: true, force: true })
  const prefix = join(root, 'prefix')
  const elsewhere = join(root, 'elsewhere')
  mkdirSync(elsewhere, { recursive: true })
  const qemuOut = readFileSync(join(REPO_ROOT, 'guests', 'mte-demo', 'qemu.out'))
  copyFileSync(join(REPO_ROOT, 'guests', 'mte-demo', 'mte-demo.elf'), join(elsewhere, 'guest.elf'))
  writeFileSync(join(elsewhere, 'notes.txt'), 'not a guest\n')

  const { url, server } = await localRegistry(tarballs)
  try {
    // Only these npm settings (CLEAN_ENV drops any others): this registry, a scratch cache and prefix, no user config.
    const npmEnv: NodeJS.ProcessEnv = { npm_config_registry: url, npm_config_cache: join(root, 'npm-cache'), npm_config_prefix: prefix, npm_config_userconfig: join(root, 'npmrc'), npm_config_update_notifier: 'false' }
    writeFileSync(join(root, 'npmrc'), '')
    const install = await run('npm', ['install', '--global', '--no-audit', '--no-fund', '--loglevel=error', app.manifest.name], elsewhere, npmEnv)
    if (install.code !== 0) return { notes, problems: [`npm install -g ${app.manifest.name} from the local registry failed:\n${install.stdout.toString()}${install.stderr}`] }

    const copies = installedCopies(join(prefix, 'lib', 'node_modules'))
    const tagvmPackages = [...copies].filter(([name]) => name.startsWith('@tagvm/'))
    for (const [name, dirs] of tagvmPackages) if (dirs.length !== 1) problems.push(`global install has ${dirs.length} copies of ${name}: ${dirs.join(', ')}`)
    const appDir = copies.get(app.manifest.name)?.[0]
    if (!appDir) return { notes, problems: [...problems, `npm install -g put no ${app.manifest.name} under ${prefix}`] }
    problems.push(...bundlingProblems(appDir, Object.keys((app.manifest.dependencies as Record<string, string> | undefined) ?? {})))
    notes.push(`npm i -g: ${tagvmPackages.length} @tagvm packages, one copy each`)

    const tagvm = join(prefix, 'bin', 'tagvm')
    const version = await run(tagvm, ['--version'], elsewhere)
    const firstLine = version.stdout.toString('utf8').split('\n')[0]
    if (version.code !== 0 || firstLine !== `tagvm ${app.manifest.version}`) problems.push(`tagvm --version: exit ${version.code}, first line ${JSON.stringify(firstLine)}; expected "tagvm ${app.manifest.version}"`)
    problems.push(...(await checkMteDemo('tagvm run --guest mte-demo', tagvm, ['run', '--guest', 'mte-demo'], elsewhere, {}, qemuOut)))
    problems.push(...(await checkMteDemo('tagvm run guest.elf', tagvm, ['run', 'guest.elf'], elsewhere, {}, qemuOut)))
    const wrongKind = await run(tagvm, ['run', 'notes.txt'], elsewhere)
    if (wrongKind.code !== 1 || !wrongKind.stderr.includes('notes.txt: not a guest image: this is a text file')) problems.push(`tagvm run notes.txt: exit ${wrongKind.code}, stderr ${JSON.stringify(wrongKind.stderr)}`)
    const completion = await run('bash', ['--norc', '--noprofile', '-c', `source <("${tagvm}" completion bash) && complete -p tagvm`], elsewhere)
    if (completion.stdout.toString() !== 'complete -F _tagvm tagvm\n') problems.push(`tagvm completion bash does not register in bash: ${completion.stdout.toString()}${completion.stderr}`)
    notes.push('tagvm run from another directory prints the MTE demo as QEMU')

    // npx installs into its own cache, without the global prefix.
    const npxEnv = { ...npmEnv, npm_config_prefix: join(root, 'npx-prefix'), npm_config_yes: 'true' }
    problems.push(...(await checkMteDemo('npx @tagvm/tagvm run guest.elf', 'npx', [app.manifest.name, 'run', 'guest.elf'], elsewhere, npxEnv, qemuOut)))
    notes.push('npx too')
  } finally {
    server.close()
  }
  return { notes, problems }
}
