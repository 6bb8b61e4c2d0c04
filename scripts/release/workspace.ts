// The publishable packages of this repository, as the release scripts see them.
import { readdirSync, readFileSync, existsSync } from 'node:fs'
import { join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'

export const REPO_ROOT = resolve(fileURLToPath(new URL('../..', import.meta.url)))

export interface WorkspacePackage {
  /** npm name, e.g. `@tagvm/cpu`. */
  readonly name: string
  readonly version: string
  /** Absolute directory. */
  readonly dir: string
  /** Directory relative to the repository, e.g. `packages/cpu`. */
  readonly relativeDir: string
  readonly private: boolean
  /** Names of the workspace packages it depends on at run time. */
  readonly workspaceDependencies: readonly string[]
}

interface Manifest {
  name: string
  version: string
  private?: boolean
  dependencies?: Record<string, string>
  peerDependencies?: Record<string, string>
}

/** The `<dir>/*` globs of pnpm-workspace.yaml (the only form this repository uses). */
function workspaceGroups(): string[] {
  const yaml = readFileSync(join(REPO_ROOT, 'pnpm-workspace.yaml'), 'utf8')
  const section = /^packages:\n((?:\s+-.*\n?)+)/m.exec(yaml)?.[1] ?? ''
  return [...section.matchAll(/^\s+-\s*['"]?([^'"\s]+)\/\*['"]?\s*$/gm)].map((m) => m[1] as string)
}

/** Every package of the pnpm workspace (pnpm-workspace.yaml), sorted by directory. */
export function workspacePackages(): WorkspacePackage[] {
  const found: { dir: string; relativeDir: string; manifest: Manifest }[] = []
  const groups = workspaceGroups()
  if (groups.length === 0) throw new Error('pnpm-workspace.yaml lists no <dir>/* package globs')
  for (const group of groups) {
    const groupDir = join(REPO_ROOT, group)
    if (!existsSync(groupDir)) continue
    for (const entry of readdirSync(groupDir, { withFileTypes: true })) {
      const dir = join(groupDir, entry.name)
      if (!entry.isDirectory() || !existsSync(join(dir, 'package.json'))) continue
      found.push({ dir, relativeDir: `${group}/${entry.name}`, manifest: JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as Manifest })
    }
  }
  const names = new Set(found.map((p) => p.manifest.name))
  return found
    .map(({ dir, relativeDir, manifest }) => ({
      name: manifest.name,
      version: manifest.version,
      dir,
      relativeDir,
      private: manifest.private === true,
      workspaceDependencies: Object.keys({ ...manifest.dependencies, ...manifest.peerDependencies }).filter((d) => names.has(d)),
    }))
    .sort((a, b) => a.relativeDir.localeCompare(b.relativeDir))
}

/** The packages a release publishes: every workspace package that is not private. */
export function publishedPackages(): WorkspacePackage[] {
  return workspacePackages().filter((p) => !p.private)
}

/** `name` and every workspace package it needs at run time, directly or not. */
export function dependencyClosure(name: string, all: readonly WorkspacePackage[]): string[] {
  const byName = new Map(all.map((p) => [p.name, p]))
  const seen = new Set<string>()
  const visit = (n: string): void => {
    if (seen.has(n)) return
    const pkg = byName.get(n)
    if (!pkg) throw new Error(`${n} is not a workspace package`)
    seen.add(n)
    pkg.workspaceDependencies.forEach(visit)
  }
  visit(name)
  return [...seen].sort()
}

/** The pnpm version the repository pins (`packageManager`). */
export function pinnedPnpm(): string {
  const root = JSON.parse(readFileSync(join(REPO_ROOT, 'package.json'), 'utf8')) as { packageManager: string }
  const version = root.packageManager.split('@')[1]
  if (!version) throw new Error(`packageManager "${root.packageManager}" names no version`)
  return version
}
