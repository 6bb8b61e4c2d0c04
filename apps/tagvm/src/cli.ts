#!/usr/bin/env node
import { runCli } from './cli-main.js'
import { VERSION } from './version.js'

// A reader that stops reading the console (`tagvm run ... | head`) ends the run quietly, as SIGPIPE would.
process.stdout.on('error', (error: NodeJS.ErrnoException) => {
  if (error.code !== 'EPIPE') throw error
  process.exit(0)
})
void runCli(process.argv.slice(2), { stdout: process.stdout, stderr: process.stderr, stdin: process.stdin }, VERSION).then((status) => {
  process.exitCode = status
})
