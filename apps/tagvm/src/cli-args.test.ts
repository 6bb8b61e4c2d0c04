import { expect, test } from 'vitest'
import { helpText, parseCommand } from './cli-args.js'

test('help lists every command', () => {
  const text = helpText('1.2.3')
  for (const cmd of ['run', 'disasm', 'snapshot', 'restore', 'migrate', 'tags']) expect(text).toContain(`tagvm ${cmd}`)
})

test('parses commands and rejects unknown ones', () => {
  expect(parseCommand([])).toEqual({ kind: 'help' })
  expect(parseCommand(['--version'])).toEqual({ kind: 'version' })
  expect(parseCommand(['run', 'x.elf'])).toEqual({ kind: 'command', name: 'run', args: ['x.elf'] })
  expect(parseCommand(['frobnicate'])).toMatchObject({ kind: 'error' })
})
