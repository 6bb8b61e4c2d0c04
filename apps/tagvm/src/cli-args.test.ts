import { describe, expect, test } from 'vitest'
import { COMMANDS, commandHelp, commandsNamed, helpText, optionSpellings, parseAddress, parseCommand, parseCount, parseSize, type Command } from './cli-args.js'
import { bundledGuestPath } from './guests.js'

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
    expect(command(['run', 'g.elf', '--mte', 'off', '--memory=256M', '--cpus', '2', '--backing', 'shmem', '--clock', 'instructions', '--max-insns', '30M', '--trace'])).toEqual({
      name: 'run',
      image: 'g.elf',
      machine: { mte: false, memory: 256 << 20, cpus: 2, backing: 'shmem', clock: 'instructions', smpMode: 'lockstep', maxInsns: 30_000_000, trace: true, raw: false, base: undefined, initrd: undefined, append: undefined, jit: false },
      quiet: false,
    })
    expect(command(['run', 'g.elf', '--cpus', '4', '--smp-mode', 'threads'])).toMatchObject({ machine: { cpus: 4, smpMode: 'threads', clock: 'host' } })
    expect(command(['restore', 's.snap', '--smp-mode', 'threads'])).toMatchObject({ name: 'restore', smpMode: 'threads' })
    expect(command(['migrate', 'receive', '--listen', 'fd:3'])).toMatchObject({ name: 'migrate-receive', smpMode: 'lockstep', prealloc: undefined })
    expect(command(['migrate', 'receive', '--listen', 'fd:3', '--prealloc', '640M'])).toMatchObject({ name: 'migrate-receive', prealloc: 640 << 20 })
    expect(command(['restore', 's.snap'])).toMatchObject({ name: 'restore', prealloc: false })
    expect(command(['restore', 's.snap', '--prealloc'])).toMatchObject({ name: 'restore', prealloc: true })
    expect(command(['run', 'g.bin', '--raw', '--quiet'])).toMatchObject({ quiet: true, machine: { raw: true } })
    expect(command(['run', 'g.elf', '--jit'])).toMatchObject({ machine: { jit: true, smpMode: 'lockstep' } })
    expect(command(['run', 'g.elf', '--no-jit'])).toMatchObject({ machine: { jit: false } })
    expect(command(['run', 'Image', '--initrd', 'i.cpio', '--append', 'console=ttyAMA0 rdinit=/init'])).toMatchObject({ machine: { initrd: 'i.cpio', append: 'console=ttyAMA0 rdinit=/init', mte: true, memory: 128 << 20, cpus: 1, backing: 'anon', clock: 'host' } })
  })
  test('snapshot, restore, migrate, tags, disasm', () => {
    expect(command(['snapshot', 'w.elf', 'w.snap', '--after-insns', '5M', '--quiet'])).toMatchObject({ name: 'snapshot', image: 'w.elf', out: 'w.snap', afterInsns: 5_000_000, quiet: true })
    expect(command(['restore', 'w.snap', '--max-insns', '1G'])).toEqual({ name: 'restore', snapshot: 'w.snap', maxInsns: 1e9, trace: false, jit: false, smpMode: 'lockstep', prealloc: false, quiet: false })
    expect(command(['restore', 'w.snap', '--jit'])).toMatchObject({ name: 'restore', jit: true })
    expect(command(['migrate', 'send', 'w.elf', '--to', '/tmp/m.sock', '--max-rounds', '3'])).toMatchObject({ name: 'migrate-send', source: 'w.elf', to: '/tmp/m.sock', maxRounds: 3 })
    expect(command(['migrate', 'receive', '--listen', 'fd:3'])).toEqual({ name: 'migrate-receive', listen: 'fd:3', maxInsns: undefined, trace: false, jit: false, smpMode: 'lockstep', prealloc: undefined, quiet: false })
    expect(command(['migrate', 'receive', '--listen', 'fd:3', '--jit'])).toMatchObject({ jit: true })
    expect(command(['migrate', 'send', 'w.elf', '--to', '/tmp/m.sock', '--jit'])).toMatchObject({ machine: { jit: true } })
    expect(command(['tags', 'w.elf', '--jit'])).toMatchObject({ machine: { jit: true } })
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
    [['run', 'a', '--clock', 'tsc'], "--clock: expected host, instructions, got 'tsc'"],
    [['run', 'a', '--smp-mode', 'turns'], "--smp-mode: expected lockstep, threads, got 'turns'"],
    [['run', 'a', '--smp-mode', 'threads', '--clock', 'instructions'], '--smp-mode threads runs every vCPU on the host clock'],
    [['run', 'a', '--smp-mode', 'threads', '--trace'], '--trace steps the vCPUs in turns'],
    [['run', 'a', '--smp-mode', 'threads', '--jit'], '--jit runs lockstep vCPUs only for now'],
    [['run', 'a', '--smp-mode', 'threads', '--gdb', 'tcp::1234'], '--gdb steps the vCPUs in turns on one thread; --smp-mode threads'],
    [['restore', 's', '--smp-mode', 'threads', '--trace'], '--trace steps the vCPUs in turns'],
    [['migrate', 'receive', '--listen', 'fd:3', '--prealloc', 'lots'], "--prealloc: 'lots' is not a size"],
    [['migrate', 'receive', '--listen', 'fd:3', '--prealloc', '0'], '--prealloc: 0 is not a guest RAM size (above 0, at most 255G)'],
    [['migrate', 'receive', '--listen', 'fd:3', '--prealloc', '300G'], '--prealloc: 300G is not a guest RAM size'],
    [['migrate', 'receive', '--listen', 'fd:3', '--prealloc'], '--prealloc'],
    [['migrate', 'receive', '--listen', 'fd:3', '--prealloc', '1G', '--jit'], '--prealloc backs the host memory of the interpreter; --jit keeps guest RAM in WebAssembly memory'],
    [['restore', 's', '--prealloc', '--smp-mode', 'threads'], '--prealloc backs the host memory of lockstep vCPUs; --smp-mode threads'],
    [['restore', 's', '--prealloc=yes'], '--prealloc'],
    [['run', 'a', '--jit', '--no-jit'], '--jit and --no-jit contradict each other'],
    [['restore', 's', '--no-jit', '--jit'], '--jit and --no-jit contradict each other'],
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
    [['run', 'a', '-m', '1G', '--memory', '2G'], 'run: --memory given twice'],
    [['run', 'a', '-kernel', 'b'], "run: unexpected argument 'a': the image is already given by -kernel b"],
    [['run', '-kernel', 'b', '--guest', 'hello'], 'give the image once'],
    [['run', '--guest', 'doom'], "--guest: tagvm has no guest 'doom' (it has hello, mte-demo, tag-workload)"],
    [['run', 'a', '--kernel', 'b'], "run: unknown option '--kernel'"],
    [['run', 'a', '-smp', 'two'], "--cpus: 'two' is not a count"],
    [['run', 'a', '-s'], "run: QEMU's -s is not taken: tagvm's spelling is --gdb tcp::1234"],
    [['run', 'a', '-M', 'virt'], "run: QEMU's -M is not taken: the machine is always QEMU's virt (virt-10.0); MTE is --mte on|off"],
    [['run', 'a', '-cpu', 'max'], "QEMU's -cpu is not taken"],
    [['restore', 's', '-m', '1G'], "restore: unknown option '-m'"],
    [['migrate', 'receive', '--listen', 's', '--to', 'x'], 'migrate receive: --to does not apply (the machine comes from the source)'],
    [['migrate', 'send', 'w.elf', '--to', 's', '--listen', 'x'], 'migrate send: --listen does not apply (it belongs to migrate receive)'],
    [['completion'], 'completion: missing bash|zsh'],
    [['completion', 'fish'], "completion: expected bash or zsh, got 'fish'"],
    [['guests', 'x'], "guests: unexpected argument 'x'"],
  ])('%j is refused: %s', (argv, message) => {
    expect(error(argv as string[])).toContain(message)
  })
})

describe('QEMU spellings', () => {
  test('-m, -smp, -kernel, -initrd and -append are aliases of the tagvm options', () => {
    const qemuStyle = command(['run', '-kernel', 'Image', '-m', '512', '-smp', '4', '-initrd', 'rootfs.cpio', '-append', 'console=ttyAMA0', '-nographic', '-no-reboot'])
    const tagvmStyle = command(['run', 'Image', '--memory', '512M', '--cpus', '4', '--initrd', 'rootfs.cpio', '--append', 'console=ttyAMA0'])
    expect(qemuStyle).toEqual(tagvmStyle)
    expect(qemuStyle).toMatchObject({ image: 'Image', machine: { memory: 512 << 20, cpus: 4, initrd: 'rootfs.cpio', append: 'console=ttyAMA0' } })
    // The image by -kernel also where a command takes more positionals.
    expect(command(['snapshot', '-kernel', 'w.elf', 'w.snap', '-m', '1G'])).toMatchObject({ name: 'snapshot', image: 'w.elf', out: 'w.snap', machine: { memory: 1 << 30 } })
  })
  test('help names each alias next to its option and says which QEMU options are not taken', () => {
    const text = helpText('1.2.3')
    for (const row of ['--memory SIZE, -m SIZE', '--cpus N, -smp N', '-kernel FILE', '--initrd FILE, -initrd FILE', '--append ARGS, -append ARGS', '-nographic', '-no-reboot']) {
      expect(text).toContain(row)
      expect(commandHelp('run')).toContain(row)
    }
    expect(text).toContain('QEMU spellings are aliases: -kernel FILE (IMAGE), -m SIZE (--memory), -smp N (--cpus), -initrd FILE, -append ARGS')
    expect(text).toMatch(/-nographic and -no-reboot are accepted and change nothing/)
  })
})

test('--guest NAME runs a guest that comes with tagvm', () => {
  const mteDemo = bundledGuestPath('mte-demo')
  expect(mteDemo).toMatch(/mte-demo\/mte-demo\.elf$/)
  expect(command(['run', '--guest', 'mte-demo'])).toMatchObject({ name: 'run', image: mteDemo })
  expect(command(['tags', '--guest', 'tag-workload', '--after-insns', '1M'])).toMatchObject({ name: 'tags', input: bundledGuestPath('tag-workload') })
  expect(bundledGuestPath('doom')).toBeUndefined()
})

// Help and parsing read the same tables; this checks that what help shows for each command is
// what that command takes, and that everything it refuses is refused with a reason.
describe('help says what each command takes', () => {
  const allSpellings = [...new Set(COMMANDS.flatMap((c) => c.options.flatMap(optionSpellings)))]
  const positionalsOf = (name: string): string[] => (name === 'completion' ? ['bash'] : name === 'snapshot' ? ['g.elf', 'g.snap'] : name === 'migrate receive' || name === 'guests' ? [] : ['g.elf'])
  const needed = (name: string): string[] => (name === 'migrate send' ? ['--to', 's'] : name === 'migrate receive' ? ['--listen', 's'] : [])
  const sample = (spelling: string, command: (typeof COMMANDS)[number]): string[] => {
    // The command's own option first: --prealloc takes a SIZE for migrate receive and nothing for restore.
    const option = [...command.options, ...COMMANDS.flatMap((c) => c.options)].find((o) => optionSpellings(o).includes(spelling))!
    // --gdb-wait only goes with --gdb.
    if (option.name === 'gdb-wait') return ['--gdb', 'tcp::1234', spelling]
    if (option.kind === 'flag') return [spelling]
    const value = { mte: 'on', backing: 'anon', memory: '64M', cpus: '2', width: '40', guest: 'hello', base: '0x40000000', to: 'fd:3', listen: 'fd:3', gdb: 'tcp::1234', clock: 'instructions', 'smp-mode': 'lockstep' }[option.name] ?? '7'
    return [spelling, value]
  }
  for (const spec of COMMANDS) {
    test(spec.name, () => {
      const help = commandHelp(spec.name)
      for (const spelling of allSpellings) {
        const advertised = spec.options.some((o) => optionSpellings(o).includes(spelling))
        expect(help.includes(`  ${spelling} `) || help.includes(`, ${spelling} `) || help.includes(`  ${spelling}\n`)).toBe(advertised)
        const argv = [...spec.name.split(' '), ...(spelling === '-kernel' || spelling === '--guest' ? positionalsOf(spec.name).slice(1) : positionalsOf(spec.name)), ...needed(spec.name), ...sample(spelling, spec)]
        // --to/--listen given twice when they are also the needed option: skip that pair.
        if (needed(spec.name).includes(spelling)) continue
        const parsed = parseCommand(argv)
        if (advertised) expect(parsed, argv.join(' ')).toMatchObject({ kind: 'command' })
        else expect(parsed, argv.join(' ')).toMatchObject({ kind: 'error', message: expect.stringMatching(/does not apply|unknown option/) })
      }
    })
  }
  test('every option the global help lists under "Options of ..." is taken by each command it names', () => {
    const blocks = [...helpText('1.2.3').matchAll(/^Options of (.+):\n((?: {2}.*\n)+)/gm)]
    expect(blocks.length).toBeGreaterThan(3)
    let checked = 0
    for (const [, names, rows] of blocks) {
      for (const row of rows!.trimEnd().split('\n')) {
        const spellings = row.trim().split(/\s{2,}/)[0]!.split(', ').map((s) => s.split(' ')[0]!)
        for (const name of names!.split(', ')) {
          for (const spelling of spellings) {
            const option = COMMANDS.find((c) => c.name === name)!.options.find((o) => optionSpellings(o).includes(spelling))
            expect(option, `${name} ${spelling}`).toBeDefined()
            checked++
          }
        }
      }
    }
    expect(helpText('1.2.3')).toMatch(/Options of run, snapshot, restore, migrate send, migrate receive, tags:\n(?: {2}.*\n)* {2}--quiet /)
    expect(checked).toBeGreaterThan(50)
  })
  test('migrate --help shows both roles', () => {
    expect(commandsNamed('migrate').map((c) => c.name)).toEqual(['migrate send', 'migrate receive'])
    expect(parseCommand(['migrate', '--help'])).toEqual({ kind: 'help', command: 'migrate' })
    expect(commandHelp('migrate')).toMatch(/Usage: tagvm migrate send[\s\S]*Usage: tagvm migrate receive/)
  })
})
