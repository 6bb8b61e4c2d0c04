// `pnpm version-packages`: turns the pending changesets into versions and CHANGELOGs.
// Packages never released (0.0.0) get one entry from their initial-release changeset: other
// changesets are folded into it first, and their CHANGELOG starts at that release
// (scripts/release/changesets.ts).
import { execFileSync } from 'node:child_process'
import { writeFileSync } from 'node:fs'
import { join, relative } from 'node:path'
import { firstReleaseChangelog, firstReleasePackages, foldIntoInitialReleases, initialReleaseFile, readChangeset } from './changesets.js'
import { REPO_ROOT, workspacePackages } from './workspace.js'

const changesetDir = join(REPO_ROOT, '.changeset')
const before = workspacePackages()
const folded = foldIntoInitialReleases(changesetDir, before)
for (const file of folded.deleted) console.log(`folded into the first release: ${relative(REPO_ROOT, file)} (deleted)`)
for (const file of folded.rewritten) console.log(`folded into the first release: ${relative(REPO_ROOT, file)} (kept for released packages)`)
const firstReleases = new Map(
  firstReleasePackages(changesetDir, before).map((p) => [p.name, readChangeset(initialReleaseFile(changesetDir, p)).summary]),
)

execFileSync(join(REPO_ROOT, 'node_modules', '.bin', 'changeset'), ['version'], { cwd: REPO_ROOT, stdio: 'inherit' })

for (const pkg of workspacePackages()) {
  const summary = firstReleases.get(pkg.name)
  if (summary !== undefined) writeFileSync(join(pkg.dir, 'CHANGELOG.md'), firstReleaseChangelog(pkg.name, pkg.version, summary))
  console.log(`${pkg.name} ${pkg.version}${summary !== undefined ? ' (first release)' : ''}`)
}
