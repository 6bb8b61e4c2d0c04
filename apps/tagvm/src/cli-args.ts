import { BACKINGS, MAX_CPUS, type Backing } from '@tagvm/machine'

/** Exit statuses of `tagvm` (also in the README). */
export const EXIT_OK = 0
/** The guest could not run, or a file was bad (message on standard error). */
export const EXIT_FAILURE = 1
/** The command line was wrong. */
export const EXIT_USAGE = 2
/** tagvm stopped the guest: the instruction limit was reached. */
export const EXIT_LIMIT = 3
/** A bug in tagvm. */
export const EXIT_INTERNAL = 4

const KiB = 1024
const MiB = 1024 * KiB
const GiB = 1024 * MiB
export const MIN_MEMORY = 2 * MiB
/** RAM starts at 1 GiB and QEMU's virt keeps low RAM below 256 GiB. */
export const MAX_MEMORY = 255 * GiB
export const DEFAULT_MEMORY = 128 * MiB

/** Parses a memory size: a number with an optional K/M/G/T suffix (binary); a bare number is MiB, as QEMU's -m. */
export function parseSize(text: string): number {
  const m = /^(\d+(?:\.\d+)?)([KMGT]?)(i?B)?$/i.exec(text.trim())
  if (!m) throw new CliError(`'${text}' is not a size (examples: 256M, 1G, 512)`)
  const unit = { '': MiB, K: KiB, M: MiB, G: GiB, T: 1024 * GiB }[m[2]!.toUpperCase() as '' | 'K' | 'M' | 'G' | 'T']
  const bytes = Number(m[1]) * unit
  if (!Number.isSafeInteger(bytes)) throw new CliError(`'${text}' is not a whole number of bytes`)
  return bytes
}

/** Parses a count with an optional decimal suffix: 5000, 200k, 30M, 2G. */
export function parseCount(text: string): number {
  const m = /^(\d+)([kKmMgG]?)$/.exec(text.replace(/_/g, ''))
  if (!m) throw new CliError(`'${text}' is not a count (examples: 1000000, 200k, 30M)`)
  const n = Number(m[1]) * { '': 1, k: 1e3, m: 1e6, g: 1e9 }[m[2]!.toLowerCase() as '' | 'k' | 'm' | 'g']
  if (!Number.isSafeInteger(n)) throw new CliError(`'${text}' is too large`)
  return n
}

/** Parses an address: 0x-prefixed hex or decimal. */
export function parseAddress(text: string): number {
  const n = /^0x[0-9a-f]+$/i.test(text) ? parseInt(text.slice(2), 16) : /^\d+$/.test(text) ? Number(text) : NaN
  if (!Number.isSafeInteger(n)) throw new CliError(`'${text}' is not an address (examples: 0x40080000, 1073741824)`)
  return n
}

/** A wrong command line; the CLI prints the message and exits with EXIT_USAGE. */
export class CliError extends Error {
  override readonly name = 'CliError'
}

/** Where a migration stream goes: a Unix socket path, or an inherited file descriptor (`fd:N`, a pipe). */
export type Endpoint = { readonly kind: 'unix'; readonly path: string } | { readonly kind: 'fd'; readonly fd: number }

export function parseEndpoint(text: string): Endpoint {
  const fd = /^fd:(\d+)$/.exec(text)
  if (fd) {
    const n = Number(fd[1])
    if (n < 3) throw new CliError(`'${text}': fd 0, 1 and 2 are tagvm's own standard streams`)
    return { kind: 'fd', fd: n }
  }
  if (text === '' || text.startsWith('fd:')) throw new CliError(`'${text}' is not a socket path or fd:N`)
  return { kind: 'unix', path: text }
}

// --- option tables ------------------------------------------------------------------------

type OptionKind = 'flag' | 'value'
interface OptionSpec {
  readonly name: string
  readonly kind: OptionKind
  readonly arg?: string
  readonly help: string
}

const RUN_OPTIONS: OptionSpec[] = [
  { name: 'mte', kind: 'value', arg: 'on|off', help: 'MTE for the guest (default on)' },
  { name: 'memory', kind: 'value', arg: 'SIZE', help: 'guest RAM at 0x40000000 (default 128M; K/M/G suffixes)' },
  { name: 'cpus', kind: 'value', arg: 'N', help: `number of vCPUs, 1..${MAX_CPUS} (default 1)` },
  { name: 'backing', kind: 'value', arg: 'anon|shmem|file', help: 'host memory behind guest RAM (default anon)' },
  { name: 'max-insns', kind: 'value', arg: 'N', help: 'stop the guest after N instructions (exit status 3)' },
  { name: 'trace', kind: 'flag', help: 'print each executed instruction (vCPU, pc, word, disassembly) on standard error' },
  { name: 'base', kind: 'value', arg: 'ADDR', help: 'load address for a raw binary (default 0x40000000)' },
  { name: 'initrd', kind: 'value', arg: 'FILE', help: 'initial RAM disk for a Linux Image' },
  { name: 'append', kind: 'value', arg: 'ARGS', help: 'kernel command line (DTB /chosen/bootargs)' },
]
const AFTER: OptionSpec = { name: 'after-insns', kind: 'value', arg: 'N', help: 'act after N guest instructions (snapshot without it: on SIGUSR1)' }
const LIMIT_OPTIONS = RUN_OPTIONS.filter((o) => o.name === 'max-insns' || o.name === 'trace')
const PROGRESS: OptionSpec = { name: 'quiet', kind: 'flag', help: 'no progress output' }

export interface CommandSpec {
  readonly name: string
  readonly usage: string
  readonly summary: string
  readonly positionals: readonly string[]
  readonly options: readonly OptionSpec[]
}

export const COMMANDS: readonly CommandSpec[] = [
  { name: 'run', usage: 'tagvm run IMAGE [options]', summary: 'run a guest image (ELF, Linux arm64 Image, or raw with --base) on the MTE machine', positionals: ['IMAGE'], options: RUN_OPTIONS },
  { name: 'disasm', usage: 'tagvm disasm FILE [--base ADDR]', summary: 'disassemble an ELF (sections, symbols) or a raw A64 binary', positionals: ['FILE'], options: [{ name: 'base', kind: 'value', arg: 'ADDR', help: 'address of a raw file\'s first byte (default 0)' }] },
  { name: 'snapshot', usage: 'tagvm snapshot IMAGE OUT [options]', summary: 'run a guest and save it (registers, memory, tags, devices) to OUT', positionals: ['IMAGE', 'OUT'], options: [...RUN_OPTIONS, AFTER, PROGRESS] },
  { name: 'restore', usage: 'tagvm restore SNAPSHOT [options]', summary: 'continue a saved guest', positionals: ['SNAPSHOT'], options: [...LIMIT_OPTIONS, PROGRESS] },
  {
    name: 'migrate',
    usage: 'tagvm migrate send IMAGE|SNAPSHOT --to SOCKET [options]\n  tagvm migrate receive --listen SOCKET [options]',
    summary: 'live-migrate a running guest to another tagvm process (Unix socket path, or fd:N for a pipe)',
    positionals: ['ROLE', 'SOURCE?'],
    options: [
      ...RUN_OPTIONS,
      AFTER,
      PROGRESS,
      { name: 'to', kind: 'value', arg: 'SOCKET', help: 'send: where the destination listens' },
      { name: 'listen', kind: 'value', arg: 'SOCKET', help: 'receive: where to wait for the source' },
      { name: 'max-rounds', kind: 'value', arg: 'N', help: 'send: pre-copy rounds before stopping the guest (default 8)' },
    ],
  },
  {
    name: 'tags',
    usage: 'tagvm tags IMAGE|SNAPSHOT [options]',
    summary: 'show the tag map of guest memory (terminal heat map, or an HTML page)',
    positionals: ['INPUT'],
    options: [
      ...RUN_OPTIONS,
      AFTER,
      { name: 'html', kind: 'value', arg: 'OUT', help: 'write an HTML page instead of the terminal map' },
      { name: 'width', kind: 'value', arg: 'COLS', help: 'width of the terminal map in columns, at least 21 (default: terminal width)' },
    ],
  },
]

export function helpText(version: string): string {
  const lines = [`tagvm ${version}: an Arm64 machine with the Memory Tagging Extension, under a KVM model`, '', 'Usage:']
  const width = Math.max(...COMMANDS.map((c) => c.usage.split('\n')[0]!.length))
  for (const c of COMMANDS) {
    const [first, ...more] = c.usage.split('\n')
    lines.push(`  ${first!.padEnd(width)}  ${c.summary}`, ...more)
  }
  const seen = new Set<string>()
  lines.push('', 'Options (each command takes those listed in `tagvm COMMAND --help`):')
  for (const c of COMMANDS) {
    for (const o of c.options) {
      if (seen.has(o.name)) continue
      seen.add(o.name)
      lines.push(`  ${`--${o.name}${o.arg ? ` ${o.arg}` : ''}`.padEnd(26)}${o.help}`)
    }
  }
  lines.push(
    `  ${'-h, --help'.padEnd(26)}show this help`,
    `  ${'-V, --version'.padEnd(26)}print the version`,
    '',
    'The guest console is standard output, byte for byte; tagvm\'s own messages go to standard error.',
    `Exit status: ${EXIT_OK} guest powered off (PSCI SYSTEM_OFF), ${EXIT_FAILURE} the guest or a file could not be used, ${EXIT_USAGE} bad command line, ${EXIT_LIMIT} instruction limit reached, ${EXIT_INTERNAL} internal error.`,
    '',
  )
  return lines.join('\n')
}

export function commandHelp(name: string): string {
  const c = COMMANDS.find((x) => x.name === name)
  if (!c) throw new CliError(`unknown command '${name}' (try 'tagvm --help')`)
  const lines = [`Usage: ${c.usage}`, '', c.summary, '']
  for (const o of c.options) lines.push(`  ${`--${o.name}${o.arg ? ` ${o.arg}` : ''}`.padEnd(26)}${o.help}`)
  return `${lines.join('\n')}\n`
}

// --- parsed forms ---------------------------------------------------------------------------

export interface MachineOptions {
  readonly mte: boolean
  readonly memory: number
  readonly cpus: number
  readonly backing: Backing
  readonly maxInsns: number | undefined
  readonly trace: boolean
  readonly base: number | undefined
  readonly initrd: string | undefined
  readonly append: string | undefined
}

export type Command =
  | { readonly name: 'run'; readonly image: string; readonly machine: MachineOptions }
  | { readonly name: 'disasm'; readonly file: string; readonly base: number | undefined }
  | { readonly name: 'snapshot'; readonly image: string; readonly out: string; readonly machine: MachineOptions; readonly afterInsns: number | undefined; readonly quiet: boolean }
  | { readonly name: 'restore'; readonly snapshot: string; readonly maxInsns: number | undefined; readonly trace: boolean; readonly quiet: boolean }
  | { readonly name: 'migrate-send'; readonly source: string; readonly to: string; readonly machine: MachineOptions; readonly afterInsns: number | undefined; readonly maxRounds: number; readonly quiet: boolean }
  | { readonly name: 'migrate-receive'; readonly listen: string; readonly maxInsns: number | undefined; readonly trace: boolean; readonly quiet: boolean }
  | { readonly name: 'tags'; readonly input: string; readonly machine: MachineOptions; readonly afterInsns: number | undefined; readonly html: string | undefined; readonly width: number | undefined }

export type ParsedCommand =
  | { readonly kind: 'help'; readonly command?: string }
  | { readonly kind: 'version' }
  | { readonly kind: 'command'; readonly command: Command }
  | { readonly kind: 'error'; readonly message: string }

/** Splits argv into positionals and options by a command's option table. */
function splitArgs(spec: CommandSpec, args: readonly string[]): { positionals: string[]; values: Map<string, string | true> } {
  const positionals: string[] = []
  const values = new Map<string, string | true>()
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!
    if (arg === '--') {
      positionals.push(...args.slice(i + 1))
      break
    }
    if (!arg.startsWith('--') || arg === '--') {
      if (arg.startsWith('-') && arg !== '-') throw new CliError(`${spec.name}: unknown option '${arg}' (try 'tagvm ${spec.name} --help')`)
      positionals.push(arg)
      continue
    }
    const eq = arg.indexOf('=')
    const name = arg.slice(2, eq < 0 ? undefined : eq)
    const option = spec.options.find((o) => o.name === name)
    if (!option) throw new CliError(`${spec.name}: unknown option '--${name}' (try 'tagvm ${spec.name} --help')`)
    if (values.has(name)) throw new CliError(`${spec.name}: --${name} given twice`)
    if (option.kind === 'flag') {
      if (eq >= 0) throw new CliError(`${spec.name}: --${name} takes no value`)
      values.set(name, true)
    } else {
      const value = eq >= 0 ? arg.slice(eq + 1) : args[++i]
      if (value === undefined) throw new CliError(`${spec.name}: --${name} needs a value (${option.arg})`)
      values.set(name, value)
    }
  }
  return { positionals, values }
}

function positionalsExactly(command: string, got: string[], names: string[]): string[] {
  if (got.length < names.length) throw new CliError(`${command}: missing ${names.slice(got.length).join(' ')} (try 'tagvm ${command} --help')`)
  if (got.length > names.length) throw new CliError(`${command}: unexpected argument '${got[names.length]}'`)
  return got
}

function optionValue(values: Map<string, string | true>, name: string): string | undefined {
  const v = values.get(name)
  return typeof v === 'string' ? v : undefined
}

function withContext<T>(option: string, parse: () => T): T {
  try {
    return parse()
  } catch (e) {
    if (e instanceof CliError) throw new CliError(`--${option}: ${e.message}`)
    throw e
  }
}

function machineOptions(values: Map<string, string | true>): MachineOptions {
  const mteText = optionValue(values, 'mte') ?? 'on'
  if (mteText !== 'on' && mteText !== 'off') throw new CliError(`--mte: expected on or off, got '${mteText}'`)
  const memoryText = optionValue(values, 'memory')
  const memory = memoryText === undefined ? DEFAULT_MEMORY : withContext('memory', () => parseSize(memoryText))
  if (memory < MIN_MEMORY || memory > MAX_MEMORY) throw new CliError(`--memory: ${memoryText} is outside 2M..255G`)
  if (memory % 4096 !== 0) throw new CliError(`--memory: ${memoryText} is not a whole number of 4 KiB pages`)
  const cpusText = optionValue(values, 'cpus')
  const cpus = cpusText === undefined ? 1 : withContext('cpus', () => parseCount(cpusText))
  if (cpus < 1 || cpus > MAX_CPUS) throw new CliError(`--cpus: ${cpusText} is outside 1..${MAX_CPUS}`)
  const backing = (optionValue(values, 'backing') ?? 'anon') as Backing
  if (!BACKINGS.includes(backing)) throw new CliError(`--backing: expected ${BACKINGS.join(', ')}, got '${backing}'`)
  const maxText = optionValue(values, 'max-insns')
  const maxInsns = maxText === undefined ? undefined : withContext('max-insns', () => parseCount(maxText))
  if (maxInsns === 0) throw new CliError('--max-insns: must be at least 1')
  const baseText = optionValue(values, 'base')
  const base = baseText === undefined ? undefined : withContext('base', () => parseAddress(baseText))
  return { mte: mteText === 'on', memory, cpus, backing, maxInsns, trace: values.get('trace') === true, base, initrd: optionValue(values, 'initrd'), append: optionValue(values, 'append') }
}

function countOption(values: Map<string, string | true>, name: string): number | undefined {
  const text = optionValue(values, name)
  if (text === undefined) return undefined
  const n = withContext(name, () => parseCount(text))
  if (n === 0) throw new CliError(`--${name}: must be at least 1`)
  return n
}

function buildCommand(spec: CommandSpec, args: readonly string[]): Command {
  const { positionals, values } = splitArgs(spec, args)
  const quiet = values.get('quiet') === true
  switch (spec.name) {
    case 'run': {
      const [image] = positionalsExactly('run', positionals, ['IMAGE'])
      return { name: 'run', image: image!, machine: machineOptions(values) }
    }
    case 'disasm': {
      const [file] = positionalsExactly('disasm', positionals, ['FILE'])
      const baseText = optionValue(values, 'base')
      return { name: 'disasm', file: file!, base: baseText === undefined ? undefined : withContext('base', () => parseAddress(baseText)) }
    }
    case 'snapshot': {
      const [image, out] = positionalsExactly('snapshot', positionals, ['IMAGE', 'OUT'])
      return { name: 'snapshot', image: image!, out: out!, machine: machineOptions(values), afterInsns: countOption(values, 'after-insns'), quiet }
    }
    case 'restore': {
      const [snapshot] = positionalsExactly('restore', positionals, ['SNAPSHOT'])
      return { name: 'restore', snapshot: snapshot!, maxInsns: countOption(values, 'max-insns'), trace: values.get('trace') === true, quiet }
    }
    case 'migrate': {
      const role = positionals[0]
      if (role === 'send') {
        const [, source] = positionalsExactly('migrate send', positionals, ['send', 'IMAGE|SNAPSHOT'])
        const to = optionValue(values, 'to')
        if (to === undefined) throw new CliError('migrate send: --to SOCKET is required')
        withContext('to', () => parseEndpoint(to))
        if (values.has('listen')) throw new CliError('migrate send: --listen belongs to migrate receive')
        return { name: 'migrate-send', source: source!, to, machine: machineOptions(values), afterInsns: countOption(values, 'after-insns'), maxRounds: countOption(values, 'max-rounds') ?? 8, quiet }
      }
      if (role === 'receive') {
        positionalsExactly('migrate receive', positionals, ['receive'])
        const listen = optionValue(values, 'listen')
        if (listen === undefined) throw new CliError('migrate receive: --listen SOCKET is required')
        withContext('listen', () => parseEndpoint(listen))
        for (const o of ['to', 'after-insns', 'max-rounds', 'mte', 'memory', 'cpus', 'base', 'initrd', 'append']) {
          if (values.has(o)) throw new CliError(`migrate receive: --${o} does not apply (the machine comes from the source)`)
        }
        return { name: 'migrate-receive', listen, maxInsns: countOption(values, 'max-insns'), trace: values.get('trace') === true, quiet }
      }
      throw new CliError(`migrate: expected 'send' or 'receive', got ${role === undefined ? 'nothing' : `'${role}'`}`)
    }
    case 'tags': {
      const [input] = positionalsExactly('tags', positionals, ['IMAGE|SNAPSHOT'])
      const width = countOption(values, 'width')
      if (width !== undefined && width < 21) throw new CliError('--width: at least 21 columns')
      return { name: 'tags', input: input!, machine: machineOptions(values), afterInsns: countOption(values, 'after-insns'), html: optionValue(values, 'html'), width }
    }
  }
  throw new CliError(`unknown command '${spec.name}'`)
}

export function parseCommand(argv: readonly string[]): ParsedCommand {
  const [first, ...rest] = argv
  if (first === undefined || first === '-h' || first === '--help') return { kind: 'help' }
  if (first === 'help') return rest[0] === undefined ? { kind: 'help' } : COMMANDS.some((c) => c.name === rest[0]) ? { kind: 'help', command: rest[0] } : { kind: 'error', message: `unknown command '${rest[0]}' (try 'tagvm --help')` }
  if (first === '-V' || first === '--version') return { kind: 'version' }
  const spec = COMMANDS.find((c) => c.name === first)
  if (!spec) return { kind: 'error', message: `unknown command '${first}' (try 'tagvm --help')` }
  if (rest.includes('-h') || rest.includes('--help')) return { kind: 'help', command: first }
  try {
    return { kind: 'command', command: buildCommand(spec, rest) }
  } catch (e) {
    if (e instanceof CliError) return { kind: 'error', message: e.message }
    throw e
  }
}
