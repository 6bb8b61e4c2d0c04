import { describe, expect, test } from 'vitest'
import { COMMANDS, commandHelp, helpText, parseAddress, parseCommand, parseCount, parseSize, type Command } from './cli-args.js'

const command = (argv: string[]): Command => {
  const parsed = parseCommand(argv)
  if (parsed.kind !== 'command') throw new Error(`expected a command, got ${JSON.stringify(parsed)}`)
  return parsed.command
}
const error = (argv: string[]): string => {
  const parsed = parseCommand(argv)
  if (parsed.kind !== 'error') throw new Error(`expected an error, got ${JSON.stringify(parsed)}`)
  return parsed.message
}

test('help lists every command and every option', () => {
  const text = helpText('1.2.3')
  for (const c of COMMANDS) expect(text).toContain(`tagvm ${c.name}`)
  for (const o of ['--mte on|off', '--memory SIZE', '--cpus N', '--backing anon|shmem|file', '--max-insns N', '--trace', '--after-insns N', '--html OUT', '--to SOCKET', '--listen SOCKET', '--base ADDR', '--initrd FILE', '--append ARGS']) {
    expect(text).toContain(o)
  }
  expect(text).toContain('tagvm migrate receive --listen SOCKET')
  expect(text).toMatch(/Exit status: 0 .*2 bad command line, 3 instruction limit/)
  expect(commandHelp('run')).toContain('--backing anon|shmem|file')
  expect(parseCommand(['help', 'tags'])).toEqual({ kind: 'help', command: 'tags' })
  expect(parseCommand(['run', '--help'])).toEqual({ kind: 'help', command: 'run' })
  expect(parseCommand([])).toEqual({ kind: 'help' })
  expect(parseCommand(['-V'])).toEqual({ kind: 'version' })
})

describe('sizes, counts, addresses', () => {
  test.each([
    ['256M', 256 << 20],
    ['1G', 1 << 30],
    ['512', 512 << 20],
    ['64K', 65536],
    ['1.5G', 1.5 * 2 ** 30],
    ['2GiB', 2 ** 31],
  ])('size %s', (text, bytes) => expect(parseSize(text)).toBe(bytes))
  test('bad sizes', () => {
    for (const t of ['', 'M', '12X', '-1M', '1.0000001K']) expect(() => parseSize(t)).toThrow(/is not a/)
  })
  test('counts and addresses', () => {
    expect(parseCount('200k')).toBe(200_000)
    expect(parseCount('30M')).toBe(30_000_000)
    expect(parseCount('1_000')).toBe(1000)
    expect(() => parseCount('1.5')).toThrow(/not a count/)
    expect(parseAddress('0x40080000')).toBe(0x4008_0000)
    expect(parseAddress('4096')).toBe(4096)
    expect(() => parseAddress('0xg')).toThrow(/not an address/)
  })
})

describe('commands', () => {
  test('run with every option', () => {
    expect(command(['run', 'g.elf', '--mte', 'off', '--memory=256M', '--cpus', '2', '--backing', 'shmem', '--max-insns', '30M', '--trace'])).toEqual({
      name: 'run',
      image: 'g.elf',
      machine: { mte: false, memory: 256 << 20, cpus: 2, backing: 'shmem', maxInsns: 30_000_000, trace: true, base: undefined, initrd: undefined, append: undefined },
    })
    expect(command(['run', 'Image', '--initrd', 'i.cpio', '--append', 'console=ttyAMA0 rdinit=/init'])).toMatchObject({ machine: { initrd: 'i.cpio', append: 'console=ttyAMA0 rdinit=/init', mte: true, memory: 128 << 20, cpus: 1, backing: 'anon' } })
  })
  test('snapshot, restore, migrate, tags, disasm', () => {
    expect(command(['snapshot', 'w.elf', 'w.snap', '--after-insns', '5M', '--quiet'])).toMatchObject({ name: 'snapshot', image: 'w.elf', out: 'w.snap', afterInsns: 5_000_000, quiet: true })
    expect(command(['restore', 'w.snap', '--max-insns', '1G'])).toEqual({ name: 'restore', snapshot: 'w.snap', maxInsns: 1e9, trace: false, quiet: false })
    expect(command(['migrate', 'send', 'w.elf', '--to', '/tmp/m.sock', '--max-rounds', '3'])).toMatchObject({ name: 'migrate-send', source: 'w.elf', to: '/tmp/m.sock', maxRounds: 3 })
    expect(command(['migrate', 'receive', '--listen', 'fd:3'])).toEqual({ name: 'migrate-receive', listen: 'fd:3', maxInsns: undefined, trace: false, quiet: false })
    expect(command(['tags', 'w.snap', '--html', 'map.html'])).toMatchObject({ name: 'tags', input: 'w.snap', html: 'map.html', width: undefined })
    expect(command(['disasm', 'x.bin', '--base', '0x40000000'])).toEqual({ name: 'disasm', file: 'x.bin', base: 0x4000_0000 })
    expect(command(['disasm', '--', '-odd-name.elf'])).toEqual({ name: 'disasm', file: '-odd-name.elf', base: undefined })
  })
  test.each([
    [['frobnicate'], "unknown command 'frobnicate'"],
    [['run'], 'run: missing IMAGE'],
    [['run', 'a', 'b'], "run: unexpected argument 'b'"],
    [['run', 'a', '--mte', 'maybe'], "--mte: expected on or off, got 'maybe'"],
    [['run', 'a', '--memory', '1K'], '--memory: 1K is outside 2M..255G'],
    [['run', 'a', '--memory', '3001K'], 'not a whole number of 4 KiB pages'],
    [['run', 'a', '--memory', 'lots'], "--memory: 'lots' is not a size"],
    [['run', 'a', '--cpus', '9'], '--cpus: 9 is outside 1..8'],
    [['run', 'a', '--backing', 'hugetlb'], "--backing: expected anon, shmem, file, got 'hugetlb'"],
    [['run', 'a', '--max-insns', '0'], '--max-insns: must be at least 1'],
    [['run', 'a', '--max-insns'], 'run: --max-insns needs a value (N)'],
    [['run', 'a', '--trace=yes'], '--trace takes no value'],
    [['run', 'a', '--cpus', '1', '--cpus', '2'], '--cpus given twice'],
    [['run', 'a', '--html', 'x'], "run: unknown option '--html'"],
    [['run', 'a', '-x'], "run: unknown option '-x'"],
    [['restore', 's', '--memory', '1G'], "restore: unknown option '--memory'"],
    [['migrate'], "migrate: expected 'send' or 'receive', got nothing"],
    [['migrate', 'send', 'w.elf'], 'migrate send: --to SOCKET is required'],
    [['migrate', 'receive', '--listen', 's', '--memory', '1G'], 'migrate receive: --memory does not apply'],
    [['tags', 'x', '--width', '10'], '--width: at least 21 columns'],
    [['help', 'nope'], "unknown command 'nope'"],
  ])('%j is refused: %s', (argv, message) => {
    expect(error(argv as string[])).toContain(message)
  })
})
