// `pnpm version-packages`: turns the pending changesets into versions and CHANGELOGs.
// Packages never released (0.0.0) get one entry from their initial-release changeset: other
// changesets are folded into it first (scripts/release/changesets.ts).
import { execFileSync } from 'node:child_process'
import { join, relative } from 'node:path'
import { foldIntoInitialReleases } from './changesets.js'
import { REPO_ROOT, workspacePackages } from './workspace.js'

const changesetDir = join(REPO_ROOT, '.changeset')
const folded = foldIntoInitialReleases(changesetDir, workspacePackages())
for (const file of folded.deleted) console.log(`folded into the first release: ${relative(REPO_ROOT, file)} (deleted)`)
for (const file of folded.rewritten) console.log(`folded into the first release: ${relative(REPO_ROOT, file)} (kept for released packages)`)
execFileSync(join(REPO_ROOT, 'node_modules', '.bin', 'changeset'), ['version'], { cwd: REPO_ROOT, stdio: 'inherit' })
for (const pkg of workspacePackages()) console.log(`${pkg.name} ${pkg.version}`)
