/** The commands `tagvm` knows, with one line of help each. */
export const COMMANDS: ReadonlyArray<{ readonly name: string; readonly usage: string; readonly summary: string }> = [
  { name: 'run', usage: 'tagvm run IMAGE [options]', summary: 'run a guest image on the MTE machine' },
  { name: 'disasm', usage: 'tagvm disasm FILE', summary: 'disassemble an ELF or raw A64 binary' },
  { name: 'snapshot', usage: 'tagvm snapshot IMAGE OUT', summary: 'run a guest and save it (registers, memory, tags)' },
  { name: 'restore', usage: 'tagvm restore SNAPSHOT', summary: 'continue a saved guest' },
  { name: 'migrate', usage: 'tagvm migrate ...', summary: 'live-migrate a running guest to another tagvm process' },
  { name: 'tags', usage: 'tagvm tags IMAGE|SNAPSHOT', summary: 'show the tag map of guest memory' },
]

export function helpText(version: string): string {
  const width = Math.max(...COMMANDS.map((c) => c.usage.length))
  const lines = COMMANDS.map((c) => `  ${c.usage.padEnd(width)}  ${c.summary}`)
  return [
    `tagvm ${version}: an Arm64 machine with the Memory Tagging Extension, under a KVM model`,
    '',
    'Usage:',
    ...lines,
    '',
    'Options:',
    '  -h, --help     show this help',
    '  -V, --version  print the version',
    '',
  ].join('\n')
}

export type ParsedCommand =
  | { readonly kind: 'help' }
  | { readonly kind: 'version' }
  | { readonly kind: 'command'; readonly name: string; readonly args: readonly string[] }
  | { readonly kind: 'error'; readonly message: string }

export function parseCommand(argv: readonly string[]): ParsedCommand {
  const [first, ...rest] = argv
  if (first === undefined || first === '-h' || first === '--help' || first === 'help') return { kind: 'help' }
  if (first === '-V' || first === '--version') return { kind: 'version' }
  if (!COMMANDS.some((c) => c.name === first)) {
    return { kind: 'error', message: `unknown command '${first}' (try 'tagvm --help')` }
  }
  return { kind: 'command', name: first, args: rest }
}
