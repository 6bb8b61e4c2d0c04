// `tagvm completion bash|zsh`: shell completion scripts made from the command tables in
// cli-args.ts, so they offer exactly what the parser takes. Both scripts have the same shape:
// the command word (and migrate's role), then the value of the option before the cursor
// (choices such as on|off, the bundled guests' names, files), then the command's options after
// a dash, else its positional argument (files, or the words it takes).
import { COMMANDS, optionSpellings, type CommandSpec, type OptionSpec } from './cli-args.js'
import { BUNDLED_GUESTS } from './guests.js'

/** What completes a value or a positional argument. */
type Completion = { readonly kind: 'files' } | { readonly kind: 'words'; readonly words: readonly string[] } | { readonly kind: 'nothing' }

const FILE_ARGUMENTS = new Set(['FILE', 'OUT', 'SOCKET', 'IMAGE', 'SNAPSHOT', 'IMAGE|SNAPSHOT'])

/** `on|off` and `anon|shmem|file` are choices; SIZE, N or ADDR are not. */
function completionOf(text: string, option?: OptionSpec): Completion {
  if (option?.name === 'guest') return { kind: 'words', words: BUNDLED_GUESTS.map((g) => g.name) }
  if (FILE_ARGUMENTS.has(text)) return { kind: 'files' }
  if (/^[a-z]+(\|[a-z]+)+$/.test(text)) return { kind: 'words', words: text.split('|') }
  return { kind: 'nothing' }
}

interface CommandCompletion {
  /** The command's words after `tagvm`: `run`, `migrate send`. */
  readonly name: string
  readonly options: readonly string[]
  readonly values: readonly (readonly [string, Completion])[]
  readonly positional: Completion
}

function commandCompletion(spec: CommandSpec): CommandCompletion {
  const values = spec.options.filter((o) => o.kind === 'value').flatMap((o) => optionSpellings(o).map((s) => [s, completionOf(o.arg ?? '', o)] as const))
  return {
    name: spec.name,
    options: [...spec.options.flatMap(optionSpellings), '--help'],
    values,
    positional: spec.positionals[0] === undefined ? { kind: 'nothing' } : completionOf(spec.positionals[0]),
  }
}

const firstWords = (): string[] => [...new Set(COMMANDS.map((c) => c.name.split(' ')[0]!))]
/** Commands of two words: `migrate` → `send receive`. */
const roles = (): [string, string[]][] => {
  const groups = new Map<string, string[]>()
  for (const c of COMMANDS) {
    const [first, second] = c.name.split(' ')
    if (second !== undefined) groups.set(first!, [...(groups.get(first!) ?? []), second])
  }
  return [...groups]
}

/** Single-quoted for either shell. */
const q = (word: string): string => `'${word.replace(/'/g, `'\\''`)}'`

interface ShellSyntax {
  /** Offer these words for the word under the cursor. */
  words(words: readonly string[]): string
  readonly files: string
  /** The word index (the command is 1 in bash, 2 in zsh's 1-based `words`). */
  readonly index: string
  word(n: number): string
  readonly setOptions: (options: readonly string[]) => string
  readonly offerOptions: string
}

function script(shell: ShellSyntax, commands: readonly CommandCompletion[], at: (n: number) => string): string[] {
  const lines: string[] = []
  const completeWith = (c: Completion): string => (c.kind === 'files' ? shell.files : c.kind === 'words' ? shell.words(c.words) : ':')
  lines.push(`  if (( ${shell.index} == ${at(1)} )); then`)
  lines.push(`    if [[ $cur == -* ]]; then ${shell.words(['--help', '--version'])}; else ${shell.words([...firstWords(), 'help'])}; fi`)
  lines.push('    return', '  fi')
  lines.push('  case $command in')
  lines.push(`    help) (( ${shell.index} == ${at(2)} )) && ${shell.words(firstWords())}; return ;;`)
  for (const [first, seconds] of roles()) {
    lines.push(`    ${first})`)
    lines.push(`      if (( ${shell.index} == ${at(2)} )); then ${shell.words(seconds)}; return; fi`)
    lines.push(`      command="${first} ${shell.word(2)}" ;;`)
  }
  lines.push('  esac')
  // The value of the option just before the cursor.
  lines.push('  case "$command|$prev" in')
  for (const c of commands) {
    for (const [spelling, completion] of c.values) lines.push(`    ${q(`${c.name}|${spelling}`)}) ${completeWith(completion)}; return ;;`)
  }
  lines.push('  esac')
  lines.push('  case $command in')
  for (const c of commands) lines.push(`    ${q(c.name)}) ${shell.setOptions(c.options)}; positional=${q(c.positional.kind === 'words' ? c.positional.words.join(' ') : c.positional.kind)} ;;`)
  lines.push('    *) return ;;', '  esac')
  lines.push(`  if [[ $cur == -* ]]; then ${shell.offerOptions}; return; fi`)
  lines.push('  case $positional in', `    files) ${shell.files} ;;`, '    nothing) ;;', `    *) ${shell.words(['$positional'])} ;;`, '  esac')
  return lines
}

/** The bash completion script: `source <(tagvm completion bash)`. */
export function bashCompletion(): string {
  const commands = COMMANDS.map(commandCompletion)
  const shell: ShellSyntax = {
    words: (words) => `mapfile -t COMPREPLY < <(compgen -W "${words.join(' ')}" -- "$cur")`,
    files: '_tagvm_files',
    index: 'COMP_CWORD',
    word: (n) => `\${COMP_WORDS[${n}]}`,
    setOptions: (options) => `opts=${q(options.join(' '))}`,
    offerOptions: 'mapfile -t COMPREPLY < <(compgen -W "$opts" -- "$cur")',
  }
  return [
    "# bash completion for tagvm, printed by 'tagvm completion bash'.",
    '# Load it in ~/.bashrc with:  source <(tagvm completion bash)',
    '_tagvm_files() {',
    '  compopt -o filenames 2>/dev/null',
    '  mapfile -t COMPREPLY < <(compgen -f -- "$cur")',
    '}',
    '_tagvm() {',
    '  local cur=${COMP_WORDS[COMP_CWORD]} prev=${COMP_WORDS[COMP_CWORD-1]} command=${COMP_WORDS[1]} opts positional',
    '  COMPREPLY=()',
    ...script(shell, commands, (n) => String(n)),
    '}',
    'complete -F _tagvm tagvm',
    '',
  ].join('\n')
}

/** The zsh completion script: `source <(tagvm completion zsh)` after compinit, or saved as `_tagvm` in $fpath. */
export function zshCompletion(): string {
  const commands = COMMANDS.map(commandCompletion)
  const shell: ShellSyntax = {
    words: (words) => `compadd -- ${words.map((w) => (w.startsWith('$') ? `\${=${w.slice(1)}}` : w)).join(' ')}`,
    files: '_files',
    index: 'CURRENT',
    word: (n) => `\${words[${n + 1}]}`,
    setOptions: (options) => `opts=(${options.join(' ')})`,
    offerOptions: 'compadd -- $opts',
  }
  return [
    '#compdef tagvm',
    "# zsh completion for tagvm, printed by 'tagvm completion zsh'.",
    '# Load it in ~/.zshrc after compinit with:  source <(tagvm completion zsh)',
    '# or save it as _tagvm in a directory of $fpath.',
    '_tagvm() {',
    '  local cur=${words[CURRENT]} prev=${words[CURRENT-1]} command=${words[2]} positional',
    '  local -a opts',
    ...script(shell, commands, (n) => String(n + 1)),
    '}',
    // Autoloaded from $fpath the file is _tagvm's body: complete now; sourced, register it.
    'if [[ $funcstack[1] == _tagvm ]]; then',
    '  _tagvm "$@"',
    'elif (( $+functions[compdef] )); then',
    '  compdef _tagvm tagvm',
    'fi',
    '',
  ].join('\n')
}
