// A fingerprint of what the `tagvm` CLI's build reads and writes, so `pnpm tagvm` can skip the
// build when nothing changed (scripts/tagvm.mjs). It lists path, size and modification time of
// every build input and output of @tagvm/tagvm and the workspace packages it depends on; it
// reads no file's content, so it costs a few milliseconds where asking turbo costs seconds.
//
// Inputs mirror turbo.json's build inputs: each package's src/ (test files excepted: they are
// no part of the build), package.json, tsconfig.json, tsup.config.ts and turbo.json, the
// `$TURBO_ROOT$/<dir>/**` inputs a package's turbo.json adds, and the root files every build
// reads. Outputs are each package's dist/. Any write to one of them changes its time or size.
import { createHash } from 'node:crypto'
import { existsSync, mkdirSync, readFileSync, readdirSync, statSync, writeFileSync } from 'node:fs'
import { dirname, join, relative } from 'node:path'

const PACKAGE_FILES = ['package.json', 'tsconfig.json', 'tsup.config.ts', 'turbo.json']
const ROOT_FILES = ['package.json', 'pnpm-lock.yaml', 'turbo.json', 'tsconfig.base.json', 'scripts/release/tsup-library.ts']
const TEST_FILE = /\.test\.[cm]?[jt]sx?$/

/** Every workspace package (pnpm-workspace.yaml's `<dir>/*` globs): name → directory and manifest. */
function workspacePackages(root) {
  const yaml = readFileSync(join(root, 'pnpm-workspace.yaml'), 'utf8')
  const groups = [...yaml.matchAll(/^\s+-\s*['"]?([^'"\s]+)\/\*['"]?\s*$/gm)].map((m) => m[1])
  const packages = new Map()
  for (const group of groups) {
    const groupDir = join(root, group)
    if (!existsSync(groupDir)) continue
    for (const entry of readdirSync(groupDir, { withFileTypes: true })) {
      const manifestPath = join(groupDir, entry.name, 'package.json')
      if (!entry.isDirectory() || !existsSync(manifestPath)) continue
      const manifest = JSON.parse(readFileSync(manifestPath, 'utf8'))
      packages.set(manifest.name, { dir: join(groupDir, entry.name), manifest })
    }
  }
  return packages
}

/** `name` and the workspace packages it depends on (any kind of dependency, as turbo's `name...` filter). */
function closure(packages, name) {
  const seen = new Set()
  const visit = (n) => {
    const pkg = packages.get(n)
    if (!pkg || seen.has(n)) return
    seen.add(n)
    for (const d of Object.keys({ ...pkg.manifest.dependencies, ...pkg.manifest.devDependencies })) visit(d)
  }
  visit(name)
  return [...seen].sort().map((n) => packages.get(n))
}

function listTree(dir, lines, root, skip = () => false) {
  if (!existsSync(dir)) return
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name)
    if (entry.isDirectory()) listTree(path, lines, root, skip)
    else if (!skip(entry.name)) listFile(path, lines, root)
  }
}

function listFile(path, lines, root) {
  if (!existsSync(path)) return void lines.push(`${relative(root, path)} missing`)
  const s = statSync(path)
  lines.push(`${relative(root, path)} ${s.size} ${s.mtimeMs}`)
}

/** Directories a package's turbo.json adds to its build inputs as `$TURBO_ROOT$/<dir>/**`. */
function extraInputDirs(pkgDir, root) {
  const turbo = join(pkgDir, 'turbo.json')
  if (!existsSync(turbo)) return []
  const inputs = JSON.parse(readFileSync(turbo, 'utf8')).tasks?.build?.inputs ?? []
  return inputs.filter((i) => i.startsWith('$TURBO_ROOT$/') && i.endsWith('/**')).map((i) => join(root, i.slice('$TURBO_ROOT$/'.length, -'/**'.length)))
}

const hash = (lines) => createHash('sha1').update(lines.sort().join('\n')).digest('hex')

/** Fingerprints of the build's inputs and of its outputs, for `name` and its workspace dependencies. */
export function buildFingerprint(root, name) {
  const inputs = []
  const outputs = []
  for (const file of ROOT_FILES) listFile(join(root, file), inputs, root)
  const packages = closure(workspacePackages(root), name)
  if (packages.length === 0) throw new Error(`${name} is not a workspace package`)
  for (const { dir } of packages) {
    for (const file of PACKAGE_FILES) if (existsSync(join(dir, file))) listFile(join(dir, file), inputs, root)
    listTree(join(dir, 'src'), inputs, root, (file) => TEST_FILE.test(file))
    for (const extra of extraInputDirs(dir, root)) listTree(extra, inputs, root)
    outputs.push(`${relative(root, dir)}/dist`)
    listTree(join(dir, 'dist'), outputs, root)
  }
  return { inputs: hash(inputs), outputs: hash(outputs) }
}

export function readStamp(file) {
  try {
    return JSON.parse(readFileSync(file, 'utf8'))
  } catch {
    return undefined
  }
}

export function writeStamp(file, fingerprint) {
  mkdirSync(dirname(file), { recursive: true })
  writeFileSync(file, JSON.stringify(fingerprint))
}

/** Whether the build recorded in the stamp file is still the build on disk. */
export function isFresh(file, fingerprint) {
  const stamp = readStamp(file)
  return stamp?.inputs === fingerprint.inputs && stamp?.outputs === fingerprint.outputs
}
