#!/usr/bin/env node
// `pnpm tagvm ...`: brings the CLI's build up to date (a turbo cache hit when nothing
// changed), then runs it. Build chatter goes to stderr so that the guest's console on
// stdout stays byte for byte what the guest wrote.
import { spawnSync } from 'node:child_process'
import { fileURLToPath } from 'node:url'

const root = fileURLToPath(new URL('..', import.meta.url))
const turbo = spawnSync('pnpm', ['exec', 'turbo', 'run', 'build', '--filter=@tagvm/tagvm...', '--output-logs=errors-only'], {
  cwd: root,
  stdio: ['ignore', 2, 2],
})
if (turbo.status !== 0) {
  process.stderr.write('tagvm: building the CLI failed (see above)\n')
  process.exit(turbo.status ?? 1)
}
// pnpm runs scripts in the repository root; relative paths on the command line are the
// user's, so the CLI runs where pnpm was started (INIT_CWD).
const cli = spawnSync(process.execPath, [fileURLToPath(new URL('../apps/tagvm/dist/cli.js', import.meta.url)), ...process.argv.slice(2)], {
  cwd: process.env.INIT_CWD ?? process.cwd(),
  stdio: 'inherit',
})
process.exit(cli.status ?? (cli.signal ? 128 : 1))
