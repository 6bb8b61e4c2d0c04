import { BACKINGS, CLOCKS, MAX_CPUS, type Backing, type ClockKind } from '@tagvm/machine'
import { BUNDLED_GUESTS, bundledGuestPath } from './guests.js'
import { parseGdbEndpoint, type GdbEndpoint } from './gdb/endpoint.js'

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

/** Where a migration stream goes: a Unix socket path, TCP (`tcp:HOST:PORT`, as QEMU's -incoming), or an inherited file descriptor (`fd:N`, a pipe). */
export type Endpoint =
  | { readonly kind: 'unix'; readonly path: string }
  | { readonly kind: 'fd'; readonly fd: number }
  | { readonly kind: 'tcp'; readonly host: string; readonly port: number }

export function parseEndpoint(text: string): Endpoint {
  if (text.startsWith('tcp:')) {
    // tcp:HOST:PORT, an IPv6 host in brackets; port 0 (listening) takes any free port.
    const tcp = /^tcp:(\[[0-9A-Fa-f:.]+\]|[^:[\]]+):(\d{1,5})$/.exec(text)
    const port = tcp ? Number(tcp[2]) : NaN
    if (!tcp || port > 65535) throw new CliError(`'${text}' is not tcp:HOST:PORT (a port 0..65535; an IPv6 host in brackets)`)
    return { kind: 'tcp', host: tcp[1]!.replace(/^\[(.*)\]$/, '$1'), port }
  }
  const fd = /^fd:(\d+)$/.exec(text)
  if (fd) {
    const n = Number(fd[1])
    if (n < 3) throw new CliError(`'${text}': fd 0, 1 and 2 are tagvm's own standard streams`)
    return { kind: 'fd', fd: n }
  }
  if (text === '' || text.startsWith('fd:')) throw new CliError(`'${text}' is not a socket path or fd:N`)
  return { kind: 'unix', path: text }
}

function parseGdbOption(text: string): GdbEndpoint {
  try {
    return parseGdbEndpoint(text)
  } catch (error) {
    throw new CliError((error as Error).message)
  }
}

// --- option tables ------------------------------------------------------------------------
// Each command is one row of COMMANDS with its own option table; parsing, `--help`, the global
// help, shell completion and the tests that check help against parsing all read these tables,
// so an option is added in one place.

type OptionKind = 'flag' | 'value'

/** One option of a command: `--NAME [ARG]`, and QEMU's spelling of it when it has one. */
export interface OptionSpec {
  readonly name: string
  readonly kind: OptionKind
  /** What the value is, as help shows it: SIZE, N, FILE; `a|b|c` lists the choices (completion offers them). */
  readonly arg?: string
  readonly help: string
  /** QEMU's spelling, accepted as an alias (`-m` for --memory), for command lines written for qemu-system-aarch64. */
  readonly qemu?: string
  /** Only QEMU's spelling exists (`-kernel`, `-nographic`): there is no `--NAME`. */
  readonly qemuOnly?: boolean
}

/** How an option is written on the command line: `--memory` and `-m`. */
export function optionSpellings(option: OptionSpec): string[] {
  return [...(option.qemuOnly ? [] : [`--${option.name}`]), ...(option.qemu ? [option.qemu] : [])]
}

const IMAGE_OPTIONS: OptionSpec[] = [
  { name: 'guest', kind: 'value', arg: 'NAME', help: `a guest that comes with tagvm, instead of IMAGE: ${BUNDLED_GUESTS.map((g) => g.name).join(', ')} ('tagvm guests')` },
  { name: 'kernel', kind: 'value', arg: 'FILE', qemu: '-kernel', qemuOnly: true, help: 'the image, as QEMU takes it (instead of IMAGE)' },
  { name: 'raw', kind: 'flag', help: 'IMAGE is raw A64 code, loaded at --base and started at its first byte (also with --base, or a .bin name)' },
]
/** The compiled tier: every command that builds a machine takes both spellings. */
const JIT_OPTIONS: OptionSpec[] = [
  { name: 'jit', kind: 'flag', help: 'translate hot guest code to WebAssembly (the compiled tier; lockstep vCPUs, RAM up to 3652M); the guest sees no difference' },
  { name: 'no-jit', kind: 'flag', help: 'run every instruction in the interpreter (default)' },
]
const RUN_OPTIONS: OptionSpec[] = [
  ...IMAGE_OPTIONS,
  { name: 'mte', kind: 'value', arg: 'on|off', help: 'MTE for the guest (default on)' },
  { name: 'memory', kind: 'value', arg: 'SIZE', qemu: '-m', help: 'guest RAM at 0x40000000 (default 128M; K/M/G suffixes, a bare number is MiB)' },
  { name: 'cpus', kind: 'value', arg: 'N', qemu: '-smp', help: `number of vCPUs, 1..${MAX_CPUS} (default 1)` },
  { name: 'backing', kind: 'value', arg: 'anon|shmem|file', help: 'host memory behind guest RAM (default anon)' },
  { name: 'smp-mode', kind: 'value', arg: 'lockstep|threads', help: 'vCPUs take turns on one thread (repeatable; default), or each runs on its own thread (host clock; Linux boots with its vGIC, timers and TLBI broadcast shared; snapshots and migration stop every vCPU at an instruction boundary)' },
  { name: 'clock', kind: 'value', arg: 'host|instructions', help: 'guest time: host time, or one tick per instruction with idle skipped (repeatable; default host)' },
  { name: 'max-insns', kind: 'value', arg: 'N', help: 'stop the guest after N instructions (exit status 3)' },
  { name: 'trace', kind: 'flag', help: 'print each executed instruction (vCPU, pc, word, disassembly) on standard error' },
  { name: 'base', kind: 'value', arg: 'ADDR', help: 'load address for raw code (default 0x40000000)' },
  { name: 'initrd', kind: 'value', arg: 'FILE', qemu: '-initrd', help: 'initial RAM disk for a Linux Image' },
  { name: 'append', kind: 'value', arg: 'ARGS', qemu: '-append', help: 'kernel command line (DTB /chosen/bootargs)' },
  { name: 'nographic', kind: 'flag', qemu: '-nographic', qemuOnly: true, help: 'accepted as QEMU takes it; changes nothing (the console is always standard input and output)' },
  { name: 'no-reboot', kind: 'flag', qemu: '-no-reboot', qemuOnly: true, help: 'accepted as QEMU takes it; changes nothing (a guest reset always ends the run)' },
  ...JIT_OPTIONS,
]
const GDB_OPTIONS: OptionSpec[] = [
  { name: 'gdb', kind: 'value', arg: 'tcp::PORT|unix:PATH', help: 'serve a GDB remote stub (GDB, LLDB; memory tags too) on that socket' },
  { name: 'gdb-wait', kind: 'flag', help: 'with --gdb: stop before the first instruction until a debugger resumes it' },
]
const AFTER: OptionSpec = { name: 'after-insns', kind: 'value', arg: 'N', help: 'act after N guest instructions (snapshot without it: on SIGUSR1)' }
const LIMIT_OPTIONS = RUN_OPTIONS.filter((o) => o.name === 'max-insns' || o.name === 'trace' || o.name === 'smp-mode' || JIT_OPTIONS.includes(o))
/**
 * Every command that runs a guest takes it, with one meaning: progress and status lines go,
 * errors and why the guest stopped stay (`run` prints nothing else, so it changes nothing there).
 */
const QUIET: OptionSpec = { name: 'quiet', kind: 'flag', help: 'no progress or status lines on standard error; errors, and why the guest stopped, are still said' }

/** QEMU options tagvm does not take, and why: people who come from QEMU get a reason, not "unknown option". */
const QEMU_NOT_TAKEN = new Map<string, string>([
  ['-s', "tagvm's spelling is --gdb tcp::1234"],
  ['-S', "tagvm's spelling is --gdb-wait (with --gdb)"],
  ['-gdb', "tagvm's spelling is --gdb tcp::PORT or --gdb unix:PATH"],
  ['-M', "the machine is always QEMU's virt (virt-10.0); MTE is --mte on|off"],
  ['-machine', "the machine is always QEMU's virt (virt-10.0); MTE is --mte on|off"],
  ['-cpu', "the CPU is fixed: Armv8.5-A with MTE (the bundled guests' output is checked against QEMU's -cpu max)"],
  ['-bios', 'tagvm boots the image directly, without firmware'],
  ['-dtb', "tagvm makes the virt machine's device tree itself"],
])

export interface CommandSpec {
  /** The words that name it: `run`, `migrate send`. */
  readonly name: string
  readonly usage: string
  readonly summary: string
  readonly positionals: readonly string[]
  readonly options: readonly OptionSpec[]
  /** Options of a sibling command refused with a reason rather than as unknown. */
  readonly refuses?: { readonly options: readonly OptionSpec[]; readonly because: string }
}

const SEND_OPTIONS: OptionSpec[] = [
  ...RUN_OPTIONS,
  AFTER,
  QUIET,
  { name: 'to', kind: 'value', arg: 'SOCKET', help: 'where the destination listens (a Unix socket path, tcp:HOST:PORT, or fd:N)' },
  { name: 'max-rounds', kind: 'value', arg: 'N', help: 'pre-copy rounds before stopping the guest (default 8; with --postcopy 1, and 0 is allowed)' },
  { name: 'postcopy', kind: 'flag', help: 'after the pre-copy rounds, run the guest on the destination at once and send the rest as it needs it' },
]
const RECEIVE_OPTIONS: OptionSpec[] = [
  { name: 'listen', kind: 'value', arg: 'SOCKET', help: 'where to wait for the source (a Unix socket path, tcp:HOST:PORT with port 0 for any free port, or fd:N)' },
  { name: 'prealloc', kind: 'value', arg: 'SIZE', help: "back host memory for SIZE of guest RAM and its tags before waiting for the source (as QEMU's -mem-prealloc), so the first touch of each page is paid before the stream starts; RAM beyond SIZE is backed as it arrives (default: all of it as it arrives)" },
  ...LIMIT_OPTIONS,
  QUIET,
]
const RESTORE_PREALLOC: OptionSpec = { name: 'prealloc', kind: 'flag', help: "back host memory for all of the guest's RAM and tags before its pages are read (as QEMU's -mem-prealloc; default: as they are read)" }

export const COMMANDS: readonly CommandSpec[] = [
  { name: 'run', usage: 'tagvm run IMAGE [options]', summary: 'run a guest image (ELF, Linux arm64 Image, or raw code) on the MTE machine', positionals: ['IMAGE'], options: [...RUN_OPTIONS, ...GDB_OPTIONS, QUIET] },
  { name: 'disasm', usage: 'tagvm disasm FILE [--base ADDR]', summary: 'disassemble an ELF (sections, symbols) or a raw A64 binary', positionals: ['FILE'], options: [{ name: 'base', kind: 'value', arg: 'ADDR', help: 'address of a raw file\'s first byte (default 0)' }] },
  { name: 'snapshot', usage: 'tagvm snapshot IMAGE OUT [options]', summary: 'run a guest and save it (registers, memory, tags, devices) to OUT', positionals: ['IMAGE', 'OUT'], options: [...RUN_OPTIONS, AFTER, QUIET] },
  { name: 'restore', usage: 'tagvm restore SNAPSHOT [options]', summary: 'continue a saved guest', positionals: ['SNAPSHOT'], options: [...LIMIT_OPTIONS, RESTORE_PREALLOC, QUIET] },
  {
    name: 'migrate send',
    usage: 'tagvm migrate send IMAGE|SNAPSHOT --to SOCKET [options]',
    summary: 'live-migrate a running guest to a tagvm process that waits in migrate receive',
    positionals: ['IMAGE|SNAPSHOT'],
    options: SEND_OPTIONS,
    refuses: { options: RECEIVE_OPTIONS.filter((o) => !SEND_OPTIONS.includes(o)), because: 'it belongs to migrate receive' },
  },
  {
    name: 'migrate receive',
    usage: 'tagvm migrate receive --listen SOCKET [options]',
    summary: 'wait for a migrated guest (Unix socket path, tcp:HOST:PORT, or fd:N for a pipe), then run it',
    positionals: [],
    options: RECEIVE_OPTIONS,
    refuses: { options: SEND_OPTIONS.filter((o) => !RECEIVE_OPTIONS.includes(o)), because: 'the machine comes from the source' },
  },
  {
    name: 'tags',
    usage: 'tagvm tags IMAGE|SNAPSHOT [options]',
    summary: 'show the tag map of guest memory (terminal heat map, or an HTML page)',
    positionals: ['IMAGE|SNAPSHOT'],
    options: [
      ...RUN_OPTIONS,
      AFTER,
      { name: 'html', kind: 'value', arg: 'OUT', help: 'write an HTML page instead of the terminal map' },
      { name: 'width', kind: 'value', arg: 'COLS', help: 'width of the terminal map in columns, at least 21 (default: terminal width)' },
      QUIET,
    ],
  },
  { name: 'guests', usage: 'tagvm guests', summary: 'list the guests that come with tagvm (run one with --guest NAME)', positionals: [], options: [] },
  { name: 'completion', usage: 'tagvm completion bash|zsh', summary: 'print a shell completion script (see tagvm completion --help)', positionals: ['bash|zsh'], options: [] },
]

/** The commands a first word names: `migrate` names both `migrate send` and `migrate receive`. */
export function commandsNamed(word: string): CommandSpec[] {
  return COMMANDS.filter((c) => c.name === word || c.name.startsWith(`${word} `))
}

const HELP_OPTIONS: readonly [string, string][] = [
  ['-h, --help', "show this help ('tagvm COMMAND --help' shows that command's)"],
  ['-V, --version', 'print the version and the QEMU machine tagvm follows'],
]

function optionColumn(option: OptionSpec): string {
  return optionSpellings(option)
    .map((s) => (option.arg ? `${s} ${option.arg}` : s))
    .join(', ')
}

function optionLines(rows: readonly [string, string][], width = Math.max(...rows.map(([flags]) => flags.length)) + 2): string[] {
  return rows.map(([flags, help]) => `  ${flags.padEnd(width)}${help}`)
}

export function helpText(version: string): string {
  const lines = [`tagvm ${version}: an Arm64 machine with the Memory Tagging Extension, under a KVM model`, '', 'Usage:']
  const width = Math.max(...COMMANDS.map((c) => c.usage.length)) + 2
  for (const c of COMMANDS) lines.push(`  ${c.usage.padEnd(width)}${c.summary}`)
  // Options grouped by the commands that take them, so each line says where it works.
  const groups = new Map<OptionSpec, string[]>()
  for (const c of COMMANDS) for (const o of c.options) groups.set(o, [...(groups.get(o) ?? []), c.name])
  const byCommands = new Map<string, OptionSpec[]>()
  for (const [o, names] of groups) byCommands.set(names.join(', '), [...(byCommands.get(names.join(', ')) ?? []), o])
  const optionWidth = Math.max(...[...groups.keys()].map((o) => optionColumn(o).length)) + 2
  for (const [names, options] of byCommands) lines.push('', `Options of ${names}:`, ...optionLines(options.map((o) => [optionColumn(o), o.help]), optionWidth))
  lines.push(
    '',
    'Everywhere:',
    ...optionLines([...HELP_OPTIONS], optionWidth),
    '',
    'QEMU spellings are aliases: -kernel FILE (IMAGE), -m SIZE (--memory), -smp N (--cpus), -initrd FILE, -append ARGS;',
    '-nographic and -no-reboot are accepted and change nothing. Not taken: -s, -S and -gdb (use --gdb and --gdb-wait), -M, -cpu, -bios, -dtb.',
    '',
    "The guest console is standard output, byte for byte; tagvm's own messages go to standard error.",
    `Exit status: ${EXIT_OK} guest powered off (PSCI SYSTEM_OFF), ${EXIT_FAILURE} the guest or a file could not be used, ${EXIT_USAGE} bad command line, ${EXIT_LIMIT} instruction limit reached, ${EXIT_INTERNAL} internal error.`,
    '',
  )
  return lines.join('\n')
}

const COMPLETION_HELP = [
  '',
  'bash: add to ~/.bashrc:   source <(tagvm completion bash)',
  'zsh:  add to ~/.zshrc, after compinit:   source <(tagvm completion zsh)',
  '      or save it as _tagvm in a directory of $fpath:   tagvm completion zsh > ~/.zfunc/_tagvm',
]

/** `tagvm COMMAND --help`; `migrate` shows both of its commands. */
export function commandHelp(name: string): string {
  const specs = commandsNamed(name)
  if (specs.length === 0) throw new CliError(`unknown command '${name}' (try 'tagvm --help')`)
  const blocks = specs.map((c) => {
    const rows: [string, string][] = [...c.options.map((o): [string, string] => [optionColumn(o), o.help]), ['-h, --help', 'show this help']]
    return [`Usage: ${c.usage}`, '', c.summary, '', ...optionLines(rows), ...(c.name === 'completion' ? COMPLETION_HELP : [])].join('\n')
  })
  return `${blocks.join('\n\n')}\n`
}

// --- parsed forms ---------------------------------------------------------------------------

/** How the vCPUs run (--smp-mode). */
export type SmpMode = 'lockstep' | 'threads'
export const SMP_MODES: readonly SmpMode[] = ['lockstep', 'threads']

export interface MachineOptions {
  readonly mte: boolean
  readonly memory: number
  readonly cpus: number
  readonly backing: Backing
  readonly clock: ClockKind
  /** --smp-mode: vCPUs in turns on one thread, or one thread each. */
  readonly smpMode: SmpMode
  readonly maxInsns: number | undefined
  readonly trace: boolean
  /** --raw: the image is raw code. */
  readonly raw: boolean
  readonly base: number | undefined
  readonly initrd: string | undefined
  readonly append: string | undefined
  /** --jit: the compiled tier (lockstep vCPUs only). */
  readonly jit: boolean
}

/** The shells `tagvm completion` writes a script for. */
export const COMPLETION_SHELLS = ['bash', 'zsh'] as const
export type CompletionShell = (typeof COMPLETION_SHELLS)[number]

export type Command =
  | { readonly name: 'run'; readonly image: string; readonly machine: MachineOptions; readonly quiet: boolean; readonly gdb?: { readonly endpoint: GdbEndpoint; readonly wait: boolean } }
  | { readonly name: 'disasm'; readonly file: string; readonly base: number | undefined }
  | { readonly name: 'snapshot'; readonly image: string; readonly out: string; readonly machine: MachineOptions; readonly afterInsns: number | undefined; readonly quiet: boolean }
  | { readonly name: 'restore'; readonly snapshot: string; readonly maxInsns: number | undefined; readonly trace: boolean; readonly jit: boolean; readonly smpMode: SmpMode; readonly prealloc: boolean; readonly quiet: boolean }
  | { readonly name: 'migrate-send'; readonly source: string; readonly to: string; readonly machine: MachineOptions; readonly afterInsns: number | undefined; readonly maxRounds: number; readonly postcopy: boolean; readonly quiet: boolean }
  | { readonly name: 'migrate-receive'; readonly listen: string; readonly maxInsns: number | undefined; readonly trace: boolean; readonly jit: boolean; readonly smpMode: SmpMode; readonly prealloc: number | undefined; readonly quiet: boolean }
  | { readonly name: 'tags'; readonly input: string; readonly machine: MachineOptions; readonly afterInsns: number | undefined; readonly html: string | undefined; readonly width: number | undefined; readonly quiet: boolean }
  | { readonly name: 'guests' }
  | { readonly name: 'completion'; readonly shell: CompletionShell }

export type ParsedCommand =
  | { readonly kind: 'help'; readonly command?: string }
  | { readonly kind: 'version' }
  | { readonly kind: 'command'; readonly command: Command }
  | { readonly kind: 'error'; readonly message: string }

type OptionValues = Map<string, string | true>

/** The option an argument names in a command's table, or a CliError saying why it is not one. */
function lookupOption(spec: CommandSpec, arg: string): { option: OptionSpec; spelling: string; inline: string | undefined } {
  const eq = arg.startsWith('--') ? arg.indexOf('=') : -1
  const spelling = eq < 0 ? arg : arg.slice(0, eq)
  const inline = eq < 0 ? undefined : arg.slice(eq + 1)
  const option = spec.options.find((o) => optionSpellings(o).includes(spelling))
  if (option) return { option, spelling, inline }
  const help = `(try 'tagvm ${spec.name} --help')`
  if (spec.refuses?.options.some((o) => optionSpellings(o).includes(spelling))) throw new CliError(`${spec.name}: ${spelling} does not apply (${spec.refuses.because})`)
  const qemuReason = QEMU_NOT_TAKEN.get(spelling)
  if (qemuReason) throw new CliError(`${spec.name}: QEMU's ${spelling} is not taken: ${qemuReason}`)
  throw new CliError(`${spec.name}: unknown option '${spelling}' ${help}`)
}

/** Splits argv into positionals and options by a command's option table. */
function splitArgs(spec: CommandSpec, args: readonly string[]): { positionals: string[]; values: OptionValues } {
  const positionals: string[] = []
  const values: OptionValues = new Map()
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!
    if (arg === '--') {
      positionals.push(...args.slice(i + 1))
      break
    }
    if (!arg.startsWith('-') || arg === '-') {
      positionals.push(arg)
      continue
    }
    const { option, spelling, inline } = lookupOption(spec, arg)
    if (values.has(option.name)) throw new CliError(`${spec.name}: ${spelling} given twice`)
    if (option.kind === 'flag') {
      if (inline !== undefined) throw new CliError(`${spec.name}: ${spelling} takes no value`)
      values.set(option.name, true)
    } else {
      const value = inline ?? args[++i]
      if (value === undefined) throw new CliError(`${spec.name}: ${spelling} needs a value (${option.arg})`)
      values.set(option.name, value)
    }
  }
  return { positionals, values }
}

function positionalsExactly(command: string, got: readonly string[], names: readonly string[]): string[] {
  if (got.length < names.length) throw new CliError(`${command}: missing ${names.slice(got.length).join(' ')} (try 'tagvm ${command} --help')`)
  if (got.length > names.length) throw new CliError(`${command}: unexpected argument '${got[names.length]}'`)
  return [...got]
}

function optionValue(values: OptionValues, name: string): string | undefined {
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

/**
 * The guest image and the positionals after it. The image is the first positional, or (then
 * it is not among the positionals) QEMU's -kernel FILE, or --guest NAME: exactly one of them.
 */
function imageAndRest(command: string, positionals: readonly string[], values: OptionValues, imageName: string, restNames: readonly string[]): [string, ...string[]] {
  const kernel = optionValue(values, 'kernel')
  const guest = optionValue(values, 'guest')
  if (kernel !== undefined && guest !== undefined) throw new CliError(`${command}: give the image once: ${imageName}, -kernel FILE or --guest NAME`)
  let image = kernel
  if (guest !== undefined) {
    image = bundledGuestPath(guest)
    if (image === undefined) throw new CliError(`--guest: tagvm has no guest '${guest}' (it has ${BUNDLED_GUESTS.map((g) => g.name).join(', ')})`)
  }
  if (image === undefined) {
    const [first, ...rest] = positionalsExactly(command, positionals, [imageName, ...restNames])
    return [first!, ...rest]
  }
  if (positionals.length > restNames.length) throw new CliError(`${command}: unexpected argument '${positionals[0]}': the image is already given by ${kernel !== undefined ? `-kernel ${kernel}` : `--guest ${guest}`}`)
  return [image, ...positionalsExactly(command, positionals, restNames)]
}

/**
 * --prealloc reserves memory for the interpreter's host RAM (chunks the host allocates as
 * frames are first used); the compiled tier's WebAssembly memory and the threads' shared
 * memory are allocated another way, and would not take it.
 */
function preallocAllowed(values: OptionValues): void {
  if (jitOption(values)) throw new CliError('--prealloc backs the host memory of the interpreter; --jit keeps guest RAM in WebAssembly memory, which it cannot use: leave out one of them')
  if (optionValue(values, 'smp-mode') === 'threads') throw new CliError('--prealloc backs the host memory of lockstep vCPUs; --smp-mode threads shares guest RAM between threads in memory it cannot use: leave out one of them')
}

/** --smp-mode (default lockstep), refused with --trace or --jit on threads. */
function smpModeOption(values: OptionValues): SmpMode {
  const smpMode = (optionValue(values, 'smp-mode') ?? 'lockstep') as SmpMode
  if (!SMP_MODES.includes(smpMode)) throw new CliError(`--smp-mode: expected ${SMP_MODES.join(', ')}, got '${smpMode}'`)
  if (smpMode === 'threads' && values.get('trace') === true) throw new CliError('--trace steps the vCPUs in turns: use it without --smp-mode threads')
  if (smpMode === 'threads' && jitOption(values)) throw new CliError('--jit runs lockstep vCPUs only for now (vCPU threads cannot share its WebAssembly memory): leave out --smp-mode threads or --jit')
  return smpMode
}

/** --jit or --no-jit (the default), not both. */
function jitOption(values: OptionValues): boolean {
  if (values.has('jit') && values.has('no-jit')) throw new CliError('--jit and --no-jit contradict each other: give one')
  return values.get('jit') === true
}

function machineOptions(values: OptionValues): MachineOptions {
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
  const clock = (optionValue(values, 'clock') ?? 'host') as ClockKind
  if (!CLOCKS.includes(clock)) throw new CliError(`--clock: expected ${CLOCKS.join(', ')}, got '${clock}'`)
  const smpMode = smpModeOption(values)
  if (smpMode === 'threads' && clock === 'instructions') throw new CliError('--smp-mode threads runs every vCPU on the host clock: leave out --clock instructions')
  const jit = jitOption(values)
  return {
    mte: mteText === 'on',
    memory,
    cpus,
    backing,
    clock,
    smpMode,
    maxInsns,
    trace: values.get('trace') === true,
    raw: values.get('raw') === true,
    base,
    initrd: optionValue(values, 'initrd'),
    append: optionValue(values, 'append'),
    jit,
  }
}

function countOption(values: OptionValues, name: string): number | undefined {
  const text = optionValue(values, name)
  if (text === undefined) return undefined
  const n = withContext(name, () => parseCount(text))
  if (n === 0) throw new CliError(`--${name}: must be at least 1`)
  return n
}

/** --max-rounds: at least 1, or 0 with --postcopy (the destination starts the guest with no page sent first). */
function maxRounds(values: Map<string, string | true>): number {
  const postcopy = values.has('postcopy')
  const text = optionValue(values, 'max-rounds')
  if (text === undefined) return postcopy ? 1 : 8
  const n = withContext('max-rounds', () => parseCount(text))
  if (n === 0 && !postcopy) throw new CliError('--max-rounds: must be at least 1 (0 only with --postcopy)')
  return n
}

function buildCommand(spec: CommandSpec, args: readonly string[]): Command {
  const { positionals, values } = splitArgs(spec, args)
  const quiet = values.get('quiet') === true
  switch (spec.name) {
    case 'run': {
      const [image] = imageAndRest('run', positionals, values, 'IMAGE', [])
      const gdbText = optionValue(values, 'gdb')
      if (gdbText === undefined && values.has('gdb-wait')) throw new CliError('--gdb-wait needs --gdb')
      if (gdbText !== undefined && (values.has('max-insns') || values.has('trace'))) throw new CliError('--gdb does not combine with --max-insns or --trace (the debugger runs the guest)')
      // The stub reads and sets registers through the main thread's vCPUs, which vCPU threads
      // do not keep up to date: it would show (and resume from) stale state.
      if (gdbText !== undefined && optionValue(values, 'smp-mode') === 'threads') throw new CliError('--gdb steps the vCPUs in turns on one thread; --smp-mode threads keeps their state in the threads, where the stub cannot see it: leave out one of them')
      const gdb = gdbText === undefined ? {} : { gdb: { endpoint: withContext('gdb', () => parseGdbOption(gdbText)), wait: values.get('gdb-wait') === true } }
      return { name: 'run', image, machine: machineOptions(values), quiet, ...gdb }
    }
    case 'disasm': {
      const [file] = positionalsExactly('disasm', positionals, ['FILE'])
      const baseText = optionValue(values, 'base')
      return { name: 'disasm', file: file!, base: baseText === undefined ? undefined : withContext('base', () => parseAddress(baseText)) }
    }
    case 'snapshot': {
      const [image, out] = imageAndRest('snapshot', positionals, values, 'IMAGE', ['OUT'])
      return { name: 'snapshot', image, out: out!, machine: machineOptions(values), afterInsns: countOption(values, 'after-insns'), quiet }
    }
    case 'restore': {
      const [snapshot] = positionalsExactly('restore', positionals, ['SNAPSHOT'])
      const prealloc = values.get('prealloc') === true
      if (prealloc) preallocAllowed(values)
      return { name: 'restore', snapshot: snapshot!, maxInsns: countOption(values, 'max-insns'), trace: values.get('trace') === true, jit: jitOption(values), smpMode: smpModeOption(values), prealloc, quiet }
    }
    case 'migrate send': {
      const [source] = imageAndRest('migrate send', positionals, values, 'IMAGE|SNAPSHOT', [])
      const to = optionValue(values, 'to')
      if (to === undefined) throw new CliError('migrate send: --to SOCKET is required')
      withContext('to', () => parseEndpoint(to))
      return { name: 'migrate-send', source, to, machine: machineOptions(values), afterInsns: countOption(values, 'after-insns'), maxRounds: maxRounds(values), postcopy: values.has('postcopy'), quiet }
    }
    case 'migrate receive': {
      positionalsExactly('migrate receive', positionals, [])
      const listen = optionValue(values, 'listen')
      if (listen === undefined) throw new CliError('migrate receive: --listen SOCKET is required')
      withContext('listen', () => parseEndpoint(listen))
      const preallocText = optionValue(values, 'prealloc')
      let prealloc: number | undefined
      if (preallocText !== undefined) {
        prealloc = withContext('prealloc', () => parseSize(preallocText))
        if (prealloc <= 0 || prealloc > MAX_MEMORY) throw new CliError(`--prealloc: ${preallocText} is not a guest RAM size (above 0, at most ${MAX_MEMORY / GiB}G)`)
        preallocAllowed(values)
      }
      return { name: 'migrate-receive', listen, maxInsns: countOption(values, 'max-insns'), trace: values.get('trace') === true, jit: jitOption(values), smpMode: smpModeOption(values), prealloc, quiet }
    }
    case 'tags': {
      const [input] = imageAndRest('tags', positionals, values, 'IMAGE|SNAPSHOT', [])
      const width = countOption(values, 'width')
      if (width !== undefined && width < 21) throw new CliError('--width: at least 21 columns')
      return { name: 'tags', input, machine: machineOptions(values), afterInsns: countOption(values, 'after-insns'), html: optionValue(values, 'html'), width, quiet }
    }
    case 'guests':
      positionalsExactly('guests', positionals, [])
      return { name: 'guests' }
    case 'completion': {
      const [shell] = positionalsExactly('completion', positionals, ['bash|zsh'])
      if (!COMPLETION_SHELLS.includes(shell as CompletionShell)) throw new CliError(`completion: expected ${COMPLETION_SHELLS.join(' or ')}, got '${shell}'`)
      return { name: 'completion', shell: shell as CompletionShell }
    }
  }
  throw new CliError(`unknown command '${spec.name}'`)
}

export function parseCommand(argv: readonly string[]): ParsedCommand {
  const [first, ...rest] = argv
  if (first === undefined || first === '-h' || first === '--help') return { kind: 'help' }
  if (first === 'help') {
    const topic = rest.join(' ')
    if (topic === '') return { kind: 'help' }
    return commandsNamed(topic).length > 0 ? { kind: 'help', command: topic } : { kind: 'error', message: `unknown command '${topic}' (try 'tagvm --help')` }
  }
  if (first === '-V' || first === '--version') return { kind: 'version' }
  const group = commandsNamed(first)
  if (group.length === 0) return { kind: 'error', message: `unknown command '${first}' (try 'tagvm --help')` }
  // `migrate send`: a command of two words.
  const spec = group.find((c) => c.name === first) ?? group.find((c) => c.name === `${first} ${rest[0]}`)
  if (!spec) {
    if (rest.includes('-h') || rest.includes('--help')) return { kind: 'help', command: first }
    const roles = group.map((c) => `'${c.name.slice(first.length + 1)}'`).join(' or ')
    return { kind: 'error', message: `${first}: expected ${roles}, got ${rest[0] === undefined ? 'nothing' : `'${rest[0]}'`}` }
  }
  const args = spec.name === first ? rest : rest.slice(1)
  if (args.includes('-h') || args.includes('--help')) return { kind: 'help', command: spec.name }
  try {
    return { kind: 'command', command: buildCommand(spec, args) }
  } catch (e) {
    if (e instanceof CliError) return { kind: 'error', message: e.message }
    throw e
  }
}
