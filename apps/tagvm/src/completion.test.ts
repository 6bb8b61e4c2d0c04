import { afterAll, describe, expect, test } from 'vitest'
import { spawnSync } from 'node:child_process'
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { bashCompletion, zshCompletion } from './completion.js'

// The scripts run in the real shells: bash always (it is on every system tagvm supports), zsh
// where it is installed. A directory with a few files stands for the user's working directory.
const cwd = mkdtempSync(join(tmpdir(), 'tagvm-completion-'))
afterAll(() => rmSync(cwd, { recursive: true, force: true }))
for (const name of ['guest.elf', 'guest.snap', 'notes.txt']) writeFileSync(join(cwd, name), '')
mkdirSync(join(cwd, 'guests'))

const shellQuote = (word: string): string => `'${word.replace(/'/g, `'\\''`)}'`

function shell(program: string, args: readonly string[], script: string): string {
  const result = spawnSync(program, [...args, '-c', script], { cwd, encoding: 'utf8' })
  expect(result.stderr).toBe('')
  expect(result.status).toBe(0)
  return result.stdout
}

/** What bash offers for the command line (the word being completed is the last one, '' after a space). */
function bashOffers(line: string): string[] {
  const words = line.split(' ')
  const script = `${bashCompletion()}\nCOMP_WORDS=(${words.map(shellQuote).join(' ')}); COMP_CWORD=${words.length - 1}; _tagvm; printf '%s\\n' "\${COMPREPLY[@]}"`
  return shell('bash', ['--norc', '--noprofile'], script).split('\n').filter(Boolean).sort()
}

describe('bash', () => {
  test('the script registers itself for tagvm', () => {
    expect(shell('bash', ['--norc', '--noprofile'], `source <(cat <<'SCRIPT'\n${bashCompletion()}SCRIPT\n)\ncomplete -p tagvm`)).toBe('complete -F _tagvm tagvm\n')
  })
  test.each([
    ['tagvm ', ['completion', 'disasm', 'guests', 'help', 'migrate', 'restore', 'run', 'snapshot', 'tags']],
    ['tagvm r', ['restore', 'run']],
    ['tagvm --v', ['--version']],
    ['tagvm migrate ', ['receive', 'send']],
    ['tagvm help mi', ['migrate']],
    ['tagvm completion ', ['bash', 'zsh']],
    ['tagvm run --mte ', ['off', 'on']],
    ['tagvm run --guest mte', ['mte-demo']],
    ['tagvm run --backing s', ['shmem']],
    ['tagvm run --memory ', []],
    ['tagvm run -sm', ['-smp']],
    ['tagvm run --ba', ['--backing', '--base']],
    ['tagvm run -kernel gu', ['guest.elf', 'guest.snap', 'guests']],
    ['tagvm restore g', ['guest.elf', 'guest.snap', 'guests']],
    ['tagvm restore --', ['--help', '--jit', '--max-insns', '--no-jit', '--prealloc', '--quiet', '--smp-mode', '--trace']],
    ['tagvm migrate receive --', ['--help', '--jit', '--listen', '--max-insns', '--no-jit', '--prealloc', '--quiet', '--smp-mode', '--trace']],
    ['tagvm migrate send --t', ['--to', '--trace']],
    ['tagvm migrate send guest.elf --to n', ['notes.txt']],
    ['tagvm tags --h', ['--help', '--html']],
    ['tagvm guests ', []],
  ])('%j', (line, expected) => {
    expect(bashOffers(line)).toEqual([...expected].sort())
  })
})

const zsh = spawnSync('zsh', ['--version']).status === 0
// CI installs zsh (scripts/ci-setup/40-debian-tools.sh): there a missing zsh fails, never skips.
if (!zsh && process.env.CI) throw new Error('zsh is missing: scripts/ci-setup/40-debian-tools.sh installs it')

describe.runIf(zsh)('zsh', () => {
  // compadd and _files exist only inside zsh's completion system; stand-ins print what the
  // script offers (zsh itself then matches the word under the cursor against it).
  const stubs = "compadd() { [[ $1 == -- ]] && shift; print -rl -- \"$@\" }\n_files() { print -r -- '(files)' }\n"
  function zshOffers(line: string): string[] {
    const words = line.split(' ')
    const script = `${stubs}${zshCompletion()}\nwords=(${words.map(shellQuote).join(' ')}); CURRENT=${words.length}; _tagvm`
    return shell('zsh', ['-f'], script).split('\n').filter(Boolean).sort()
  }
  test('sourced after compinit, or autoloaded from $fpath, it completes tagvm', () => {
    const sourced = `autoload -Uz compinit && compinit -u -D\nsource <(cat <<'SCRIPT'\n${zshCompletion()}SCRIPT\n)\nprint -r -- $_comps[tagvm]`
    expect(shell('zsh', ['-f'], sourced)).toBe('_tagvm\n')
    const fpathDir = join(cwd, 'zfunc')
    mkdirSync(fpathDir, { recursive: true })
    writeFileSync(join(fpathDir, '_tagvm'), zshCompletion())
    expect(shell('zsh', ['-f'], `fpath=(${fpathDir} $fpath)\nautoload -Uz compinit && compinit -u -D\nprint -r -- $_comps[tagvm]`)).toBe('_tagvm\n')
  })
  test.each([
    ['tagvm ', ['completion', 'disasm', 'guests', 'help', 'migrate', 'restore', 'run', 'snapshot', 'tags']],
    ['tagvm -', ['--help', '--version']],
    ['tagvm migrate ', ['receive', 'send']],
    ['tagvm completion ', ['bash', 'zsh']],
    ['tagvm run --mte ', ['off', 'on']],
    ['tagvm snapshot --guest ', ['hello', 'mte-demo', 'tag-workload']],
    ['tagvm run --cpus ', []],
    ['tagvm run -initrd ', ['(files)']],
    ['tagvm restore ', ['(files)']],
    ['tagvm migrate receive -', ['--help', '--jit', '--listen', '--max-insns', '--no-jit', '--prealloc', '--quiet', '--smp-mode', '--trace']],
  ])('%j', (line, expected) => {
    expect(zshOffers(line)).toEqual([...expected].sort())
  })
})
