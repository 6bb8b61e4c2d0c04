// `pnpm release [--dry-run]`: version → build and check → publish.
//   1. version: scripts/release/version.ts (changesets, first releases folded; see changesets.ts)
//   2. build and check: scripts/release/pack-check.ts packs every package (prepack builds it)
//      and checks each tarball installs and works on its own
//   3. publish: `pnpm -r publish` (publishConfig drops the in-repo `source` condition, workspace:^
//      becomes ^version), then `changeset tag`
// A real release needs a clean work tree on the release branch and commits the version bump
// before publishing. --dry-run does all of it in a scratch clone of HEAD (uncommitted changes
// are not included), with `pnpm publish --dry-run`, and leaves the repository untouched; the
// clone is kept so its CHANGELOGs and versions can be read.
import { execFileSync } from 'node:child_process'
import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { REPO_ROOT, pinnedPnpm } from './workspace.js'

const dryRun = process.argv.includes('--dry-run')
const pnpm = ['--yes', `pnpm@${pinnedPnpm()}`]

function step(title: string, root: string, command: string, args: readonly string[]): void {
  console.log(`\n=== ${title}: ${command} ${args.join(' ')}`)
  execFileSync(command, args, { cwd: root, stdio: 'inherit', env: { ...process.env, CI: 'true' } })
}

function output(root: string, command: string, args: readonly string[]): string {
  return execFileSync(command, args, { cwd: root, encoding: 'utf8' }).trim()
}

let root = REPO_ROOT
if (dryRun) {
  root = mkdtempSync(join(tmpdir(), 'tagvm-release-dry-run-'))
  step('scratch clone of HEAD', REPO_ROOT, 'git', ['clone', '--quiet', REPO_ROOT, root])
  step('checkout', root, 'git', ['checkout', '--quiet', output(REPO_ROOT, 'git', ['rev-parse', 'HEAD'])])
  step('install (offline, from the pnpm store)', root, 'npx', [...pnpm, 'install', '--frozen-lockfile', '--offline'])
} else if (output(root, 'git', ['status', '--porcelain'])) {
  throw new Error('pnpm release needs a clean work tree (commit or stash first); try pnpm release --dry-run')
}

const tsx = join(root, 'node_modules', '.bin', 'tsx')
step('version', root, tsx, ['scripts/release/version.ts'])
if (!dryRun) {
  step('commit the versions', root, 'git', ['add', '-A'])
  step('commit the versions', root, 'git', ['commit', '--quiet', '-m', 'Release: version packages'])
}
step('build, pack and check every tarball', root, tsx, ['scripts/release/pack-check.ts'])
step('publish', root, 'npx', [...pnpm, '-r', 'publish', '--access', 'public', ...(dryRun ? ['--dry-run', '--no-git-checks'] : [])])
if (dryRun) {
  console.log(`\ndry run done; the versioned scratch clone is ${root} (git -C ${root} diff --stat)`)
} else {
  step('tag', root, join(root, 'node_modules', '.bin', 'changeset'), ['tag'])
  console.log('\nreleased; push the commit and tags (git push --follow-tags)')
}
