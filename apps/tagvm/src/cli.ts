#!/usr/bin/env node
import { runCli } from './cli-main.js'
import { VERSION } from './version.js'

process.exitCode = runCli(process.argv.slice(2), { stdout: process.stdout, stderr: process.stderr }, VERSION)
