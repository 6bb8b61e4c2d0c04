import { describe, expect, it } from 'vitest'
import { commandHelp, parseCommand } from '../cli-args.js'
import { describeGdbEndpoint, parseGdbEndpoint } from './endpoint.js'

describe('--gdb endpoints', () => {
  it("takes QEMU's forms", () => {
    expect(parseGdbEndpoint('tcp::1234')).toEqual({ kind: 'tcp', host: '127.0.0.1', port: 1234 })
    expect(parseGdbEndpoint('tcp:0.0.0.0:0')).toEqual({ kind: 'tcp', host: '0.0.0.0', port: 0 })
    expect(parseGdbEndpoint('unix:/tmp/g.sock')).toEqual({ kind: 'unix', path: '/tmp/g.sock' })
    expect(describeGdbEndpoint({ kind: 'tcp', host: '127.0.0.1', port: 9 })).toBe('tcp:127.0.0.1:9')
    for (const bad of ['1234', 'tcp:1234', 'tcp::70000', 'unix:', 'udp::1']) expect(() => parseGdbEndpoint(bad)).toThrow(RangeError)
  })

  it('tagvm run --gdb [--gdb-wait] on the command line', () => {
    const parsed = parseCommand(['run', 'x.elf', '--gdb', 'tcp::1234', '--gdb-wait'])
    expect(parsed).toMatchObject({ kind: 'command', command: { name: 'run', gdb: { endpoint: { kind: 'tcp', port: 1234 }, wait: true } } })
    expect(parseCommand(['run', 'x.elf'])).not.toHaveProperty('command.gdb')
    expect(parseCommand(['run', 'x.elf', '--gdb-wait'])).toEqual({ kind: 'error', message: '--gdb-wait needs --gdb' })
    expect(parseCommand(['run', 'x.elf', '--gdb', 'nowhere'])).toMatchObject({ kind: 'error', message: expect.stringMatching(/^--gdb: 'nowhere' is not tcp::PORT/) })
    expect(parseCommand(['run', 'x.elf', '--gdb', 'tcp::1', '--trace'])).toMatchObject({ kind: 'error', message: expect.stringMatching(/^--gdb does not combine/) })
    expect(commandHelp('run')).toContain('--gdb tcp::PORT|unix:PATH')
  })
})
