#!/usr/bin/env node
// `pnpm tagvm ...`: runs the CLI's build, after bringing it up to date. When nothing the build
// reads or writes changed since the last time this script saw it up to date (the stamp of
// scripts/build-stamp.mjs), it runs the CLI at once; otherwise turbo builds what changed (a
// cache hit when the sources are back to a state built before) and the stamp is renewed. Build
// chatter goes to stderr so that the guest's console on stdout stays byte for byte what the
// guest wrote.
import { spawnSync } from 'node:child_process'
import { existsSync, readFileSync } from 'node:fs'
import { delimiter, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { buildFingerprint, isFresh, writeStamp } from './build-stamp.mjs'

const root = fileURLToPath(new URL('..', import.meta.url))
const APP = '@tagvm/tagvm'
const stamp = process.env.TAGVM_BUILD_STAMP ?? join(root, 'node_modules', '.cache', 'tagvm', 'cli-build.json')

/** turbo needs pnpm on PATH (it is, under `pnpm tagvm`); run directly, e.g. `node scripts/tagvm.mjs`, it goes through npx. */
function turboCommand() {
  const args = ['run', 'build', `--filter=${APP}...`, '--output-logs=errors-only']
  const pnpmOnPath = (process.env.PATH ?? '').split(delimiter).some((dir) => dir && existsSync(join(dir, 'pnpm')))
  if (pnpmOnPath) return [join(root, 'node_modules', '.bin', 'turbo'), args]
  const pinned = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')).packageManager.split('@')[1]
  return ['npx', ['--yes', `pnpm@${pinned}`, 'exec', 'turbo', ...args]]
}

const before = buildFingerprint(root, APP)
if (!isFresh(stamp, before)) {
  const [command, args] = turboCommand()
  const turbo = spawnSync(command, args, { cwd: root, stdio: ['ignore', 2, 2] })
  if (turbo.status !== 0) {
    process.stderr.write(`tagvm: building the CLI failed (see above${turbo.error ? `; ${turbo.error.message}` : ''})\n`)
    process.exit(turbo.status ?? 1)
  }
  const after = buildFingerprint(root, APP)
  // A source saved while turbo ran may not be in this build: leave the stamp stale then.
  if (after.inputs === before.inputs) writeStamp(stamp, after)
}
// pnpm runs scripts in the repository root; relative paths on the command line are the
// user's, so the CLI runs where pnpm was started (INIT_CWD).
const cli = spawnSync(process.execPath, [join(root, 'apps', 'tagvm', 'dist', 'cli.js'), ...process.argv.slice(2)], {
  cwd: process.env.INIT_CWD ?? process.cwd(),
  stdio: 'inherit',
})
process.exit(cli.status ?? (cli.signal ? 128 : 1))
