#!/usr/bin/env node
import { runCliAsync } from './commands/migrate.js'
import { VERSION } from './version.js'

// runCliAsync is runCli plus `migrate`, which needs sockets.
void runCliAsync(process.argv.slice(2), { stdout: process.stdout, stderr: process.stderr }, VERSION).then((status) => {
  process.exitCode = status
})
