// The first release of a package starts its CHANGELOG: one entry, from the package's
// `.changeset/initial-release-<dir>.md`, describing what the package is. Changesets written
// while a package was still unreleased (version 0.0.0) describe steps toward that first version,
// so `foldIntoInitialReleases` drops the package from them before `changeset version` runs; a
// changeset left with no package is deleted. Packages that have been released are untouched.
import { existsSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { basename, join } from 'node:path'
import type { WorkspacePackage } from './workspace.js'

export const UNRELEASED_VERSION = '0.0.0'

export interface Changeset {
  readonly file: string
  /** Package name → bump, in file order. */
  readonly releases: [string, string][]
  readonly summary: string
}

export function readChangeset(file: string): Changeset {
  const text = readFileSync(file, 'utf8')
  const match = /^---\n([\s\S]*?)\n?---\n?([\s\S]*)$/.exec(text)
  if (!match) throw new Error(`${file}: no --- front matter`)
  const releases: [string, string][] = []
  for (const line of (match[1] ?? '').split('\n')) {
    if (!line.trim()) continue
    const release = /^\s*["']?([^"':]+)["']?\s*:\s*(major|minor|patch|none)\s*$/.exec(line)
    if (!release?.[1] || !release[2]) throw new Error(`${file}: cannot read front matter line "${line}"`)
    releases.push([release[1], release[2]])
  }
  return { file, releases, summary: (match[2] ?? '').trim() }
}

export function writeChangeset(changeset: Changeset): void {
  const front = changeset.releases.map(([name, bump]) => `"${name}": ${bump}`).join('\n')
  writeFileSync(changeset.file, `---\n${front}\n---\n\n${changeset.summary}\n`)
}

/** Every pending changeset in `.changeset/` (not README.md). */
export function pendingChangesets(changesetDir: string): Changeset[] {
  return readdirSync(changesetDir)
    .filter((f) => f.endsWith('.md') && f !== 'README.md')
    .sort()
    .map((f) => readChangeset(join(changesetDir, f)))
}

export function initialReleaseFile(changesetDir: string, pkg: WorkspacePackage): string {
  return join(changesetDir, `initial-release-${basename(pkg.dir)}.md`)
}

/**
 * Unreleased packages whose first release starts from an initial-release changeset: every
 * published one, and private ones that have the file (the app, until it is published).
 * Private tools without one (tools/fuzz) version as changesets always did.
 */
export function firstReleasePackages(changesetDir: string, packages: readonly WorkspacePackage[]): WorkspacePackage[] {
  return packages.filter((p) => p.version === UNRELEASED_VERSION && (!p.private || existsSync(initialReleaseFile(changesetDir, p))))
}

/**
 * Problems that would make a first release describe history instead of the package: an
 * unreleased package without its initial-release changeset, or one that does not bump it.
 */
export function initialReleaseProblems(changesetDir: string, packages: readonly WorkspacePackage[]): string[] {
  const problems: string[] = []
  for (const pkg of firstReleasePackages(changesetDir, packages)) {
    const file = initialReleaseFile(changesetDir, pkg)
    if (!existsSync(file)) {
      problems.push(`${pkg.name} has never been released and has no ${file.slice(changesetDir.length + 1)}: write one describing the package`)
      continue
    }
    const changeset = readChangeset(file)
    if (!changeset.releases.some(([name, bump]) => name === pkg.name && bump === 'minor')) {
      problems.push(`${file}: must release "${pkg.name}": minor (0.0.0 → 0.1.0)`)
    }
    if (changeset.summary.length < 40) problems.push(`${file}: describe the package (what it is, its main API), not just "initial release"`)
  }
  return problems
}

export interface FoldResult {
  /** Changesets whose other packages stay. */
  readonly rewritten: string[]
  /** Changesets that concerned only unreleased packages. */
  readonly deleted: string[]
}

/** Drops unreleased packages from every changeset but their own initial-release one. */
export function foldIntoInitialReleases(changesetDir: string, packages: readonly WorkspacePackage[]): FoldResult {
  const problems = initialReleaseProblems(changesetDir, packages)
  if (problems.length) throw new Error(problems.join('\n'))
  const firstReleases = firstReleasePackages(changesetDir, packages)
  const unreleased = new Set(firstReleases.map((p) => p.name))
  const initialFiles = new Set(firstReleases.map((p) => initialReleaseFile(changesetDir, p)))
  const rewritten: string[] = []
  const deleted: string[] = []
  for (const changeset of pendingChangesets(changesetDir)) {
    if (initialFiles.has(changeset.file)) continue
    const kept = changeset.releases.filter(([name]) => !unreleased.has(name))
    if (kept.length === changeset.releases.length) continue
    if (kept.length === 0) {
      rmSync(changeset.file)
      deleted.push(changeset.file)
    } else {
      writeChangeset({ ...changeset, releases: kept })
      rewritten.push(changeset.file)
    }
  }
  return { rewritten, deleted }
}

/**
 * The CHANGELOG of a package's first release: the package and its description, without the
 * "Updated dependencies" lines changesets adds (every @tagvm dependency is new too).
 */
export function firstReleaseChangelog(name: string, version: string, summary: string): string {
  return `# ${name}\n\n## ${version}\n\n${summary.trim()}\n`
}
