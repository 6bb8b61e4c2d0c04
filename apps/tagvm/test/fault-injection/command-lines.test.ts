// No command line ends in exit status 4 (tagvm's own bug): random command lines over every
// command, option and kind of input file (good, damaged, empty, a directory, missing) end in
// 0..3 with, on failure, a message and no stack trace.
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import fc from 'fast-check'
import { beforeAll, expect, test } from 'vitest'
import { elf, tagvmInProcess, tempDir } from './harness.js'

const dir = tempDir('argv')
const file = (name: string): string => join(dir, name)

beforeAll(async () => {
  const made = await tagvmInProcess(['snapshot', elf('hello'), file('good.snap'), '--after-insns', '2000', '--quiet'])
  expect(made.status).toBe(0)
  const good = readFileSync(file('good.snap'))
  writeFileSync(file('cut.snap'), good.subarray(0, good.length - 100))
  writeFileSync(file('magic-only.snap'), 'TAGVMSNP')
  writeFileSync(file('nop.bin'), Uint8Array.of(0x1f, 0x20, 0x03, 0xd5))
  writeFileSync(file('garbage.bin'), Uint8Array.from({ length: 4096 }, (_, i) => (i * 131 + 7) & 0xff))
  writeFileSync(file('cut.elf'), readFileSync(elf('hello')).subarray(0, 200))
  writeFileSync(file('empty'), '')
  mkdirSync(file('a-dir'))
})

// Inputs of every kind. Endpoints never name this process's own descriptors (the runs are in
// process), and no valid socket path to listen on (a receiver would wait for a source).
const inputs = (): string[] => [elf('hello'), elf('mte-basic'), file('good.snap'), file('cut.snap'), file('magic-only.snap'), file('nop.bin'), file('garbage.bin'), file('cut.elf'), file('empty'), file('a-dir'), '/nonexistent/file', '']
const outputs = (): string[] => [file('out.snap'), file('out.html'), '/nonexistent/dir/out', file('a-dir'), file('good.snap')]
const OPTIONS: [string, string[]][] = [
  ['--mte', ['on', 'off', 'maybe']],
  ['--memory', ['16M', '2M', '64M', '255G', '1T', '0', 'lots']],
  ['--cpus', ['1', '2', '8', '9', '0', 'x']],
  ['--backing', ['anon', 'shmem', 'file', 'tape']],
  ['--max-insns', ['3000', '1', '0', '2k', '-5']],
  ['--after-insns', ['1500', '0', 'soon']],
  ['--base', ['0x40080000', '0x40000000', '0x3', 'zz', '0']],
  ['--append', ['console=ttyAMA0']],
  ['--width', ['30', '5', 'x']],
  ['--max-rounds', ['1', '0', 'x']],
  ['--to', ['/nonexistent/dir/m.sock', 'fd:1', 'fd:999', 'fd:', '']],
  ['--listen', ['/nonexistent/dir/m.sock', 'fd:0', 'fd:999', 'fd:x']],
]
const RUN = ['--mte', '--memory', '--cpus', '--backing', '--max-insns', '--base', '--append', '--initrd', '--trace']
/** Each command with its positionals and the options it takes (so most lines get past parsing). */
const SHAPES: [string[], ('in' | 'out')[], string[]][] = [
  [['run'], ['in'], RUN],
  [['disasm'], ['in'], ['--base']],
  [['snapshot'], ['in', 'out'], [...RUN, '--after-insns', '--quiet']],
  [['restore'], ['in'], ['--max-insns', '--trace', '--quiet']],
  [['migrate', 'send'], ['in'], [...RUN, '--after-insns', '--quiet', '--to', '--max-rounds']],
  [['migrate', 'receive'], [], ['--listen', '--max-insns', '--trace', '--quiet']],
  [['tags'], ['in'], [...RUN, '--after-insns', '--html', '--width']],
]
const VALUES = new Map<string, string[]>([...OPTIONS, ['--initrd', inputs()], ['--html', outputs()]])

const option = (name: string): fc.Arbitrary<string[]> => {
  const values = VALUES.get(name)
  return values ? fc.constantFrom(...values).map((v) => [name, v]) : fc.constant([name])
}
const wellFormed = fc.constantFrom(...SHAPES).chain(([words, positionals, options]) =>
  fc
    .tuple(
      fc.tuple(...positionals.map((kind) => fc.constantFrom(...(kind === 'in' ? inputs() : outputs())))),
      fc.uniqueArray(fc.constantFrom(...options), { maxLength: 5 }).chain((names) => fc.tuple(...names.map(option))),
    )
    .map(([given, opts]) => [...words, ...given, ...opts.flat()]),
)
const anything = fc
  .tuple(fc.constantFrom('run', 'disasm', 'snapshot', 'restore', 'migrate', 'tags', 'help', 'bogus', '', '--help', '-V'), fc.array(fc.oneof(fc.constantFrom(...inputs(), ...outputs(), 'send', 'receive', '--quiet', '--frobnicate', '--help'), fc.constantFrom(...OPTIONS.map(([n]) => n))), { maxLength: 5 }))
  .map(([command, rest]) => [command, ...rest])
const argv = fc.oneof({ arbitrary: wellFormed, weight: 4 }, { arbitrary: anything, weight: 1 }).map((args) => {
  // Every guest that runs is bounded, so a command line cannot run for long.
  if (!args.includes('--max-insns')) args.push('--max-insns', '50000')
  return args
})

test('random command lines end in 0, 1, 2 or 3, never 4, and a failure is a message without a stack (property)', async () => {
  const statuses = new Set<number>()
  await fc.assert(
    fc.asyncProperty(argv, async (args) => {
      const outcome = await tagvmInProcess(args)
      statuses.add(outcome.status!)
      // --trace lines come first on standard error; tagvm's own say why it stopped.
      const last = outcome.stderr.trimEnd().split('\n').pop() ?? ''
      const clean = !/internal error|\n\s+at /.test(outcome.stderr) && (outcome.status === 0 || last.startsWith('tagvm: '))
      expect({ args, status: outcome.status, clean }).toEqual({ args, status: expect.toBeOneOf([0, 1, 2, 3]), clean: true })
    }),
    { numRuns: 250, seed: 4_2021 },
  )
  // The property saw every way a command ends, not just usage errors.
  expect([...statuses].sort()).toEqual([0, 1, 2, 3])
})
