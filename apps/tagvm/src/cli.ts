#!/usr/bin/env node
import { helpText, parseCommand } from './cli-args.js'
import { VERSION } from './version.js'

function main(argv: readonly string[]): number {
  const parsed = parseCommand(argv)
  switch (parsed.kind) {
    case 'help':
      process.stdout.write(helpText(VERSION))
      return 0
    case 'version':
      process.stdout.write(`${VERSION}\n`)
      return 0
    case 'error':
      process.stderr.write(`tagvm: ${parsed.message}\n`)
      return 2
    case 'command':
      process.stderr.write(`tagvm: '${parsed.name}' is not available yet in this build\n`)
      return 1
  }
}

process.exitCode = main(process.argv.slice(2))
