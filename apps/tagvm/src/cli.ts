#!/usr/bin/env node
import { hugePageEnvironment, hugePageHost, runAgainIn, watchFirstRun } from './huge-pages.js'

// restore and migrate receive run once more with glibc madvising its heap (2 MiB pages for
// guest RAM, see huge-pages.ts) when THP is "madvise"; the first run only waits for the second,
// so it loads nothing else (the machine is imported only by the run that uses it).
const argv = process.argv.slice(2)
const hugePages = hugePageEnvironment(argv, process.env, hugePageHost())
if (hugePages) void runAgainIn(hugePages)
else {
  watchFirstRun(process.env)
  // A reader that stops reading the console (`tagvm run ... | head`) ends the run quietly, as SIGPIPE would.
  process.stdout.on('error', (error: NodeJS.ErrnoException) => {
    if (error.code !== 'EPIPE') throw error
    process.exit(0)
  })
  const [{ runCli }, { VERSION }, { useSharedHostArenas }] = await Promise.all([import('./cli-main.js'), import('./version.js'), import('@tagvm/vmm-api')])
  // One machine for the process's life: its host arenas need not go back before it ends, and on
  // SharedArrayBuffers they start no garbage collection per 64 MiB (a restore's or an incoming
  // migration's main-thread time; see useSharedHostArenas).
  useSharedHostArenas(true)
  process.exitCode = await runCli(argv, { stdout: process.stdout, stderr: process.stderr, stdin: process.stdin }, VERSION)
}
