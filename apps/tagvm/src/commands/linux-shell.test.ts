// Debian's arm64 Linux at a busybox shell on a terminal, driven as a user drives it: `tagvm run
// Image --initrd ... --append '... tagvm.run=shell'` started on a pseudo-terminal (util-linux
// script(1), in Debian's essential bsdutils: no native module needed), commands typed one key
// stream at a time, the guest's echo and output read back, Ctrl-C interrupting a command in
// the guest (not tagvm), and `poweroff -f` (PSCI SYSTEM_OFF) ending tagvm with status 0.
// tagvm runs with --jit (the compiled tier), as a user wanting a quick shell would.
// The kit comes from guests/linux/build-kit.sh (scripts/ci-setup/50-linux-kit.sh in CI);
// without it, or without script(1), the test is skipped locally with why, and fails in CI.
import { spawn, spawnSync } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { describe, expect, test } from 'vitest'
import { linuxKit } from '../../../../guests/linux/kit.js'

const appDir = fileURLToPath(new URL('../../', import.meta.url))
const { image, initramfs, built } = linuxKit('linux-shell.test.ts', () =>
  spawnSync('script', ['--version']).status === 0 ? undefined : 'script(1) from util-linux is not installed (Debian: bsdutils)',
)

/** Quotes one word for the POSIX shell script(1) runs the command with. */
const shellWord = (word: string): string => `'${word.replace(/'/g, `'\\''`)}'`

/** A terminal session: what the terminal showed so far, what to wait for next, keys to type. */
class TerminalSession {
  private screen = ''
  private seen = 0
  private waiter: (() => void) | undefined
  readonly exited: Promise<number | null>

  constructor(private readonly child: ReturnType<typeof spawn>) {
    child.stdout!.setEncoding('latin1').on('data', (text: string) => {
      this.screen += text
      this.waiter?.()
    })
    child.stderr!.setEncoding('latin1').on('data', (text: string) => (this.screen += text))
    this.exited = new Promise((resolve) => child.on('close', (status) => resolve(status)))
  }

  /** Waits until the output after the last match contains `pattern`; returns that stretch of output. */
  async expect(pattern: RegExp, minutes: number): Promise<string> {
    const deadline = Date.now() + minutes * 60_000
    for (;;) {
      const rest = this.screen.slice(this.seen)
      const match = pattern.exec(rest)
      if (match) {
        this.seen += match.index + match[0].length
        return rest.slice(0, match.index + match[0].length)
      }
      if (Date.now() > deadline || this.child.exitCode !== null) {
        throw new Error(`no ${pattern} within ${minutes} min; the terminal showed:\n${this.screen.slice(-4000)}`)
      }
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, 1000)
        this.waiter = () => {
          clearTimeout(timer)
          resolve()
        }
      })
    }
  }

  /** Types `keys` as a terminal would send them (Enter is a carriage return). */
  type(keys: string): void {
    this.child.stdin!.write(keys)
  }

  get all(): string {
    return this.screen
  }
}

/** busybox ash's prompt as root in / (after it, ash may ask the terminal where the cursor is: ESC [6n). */
const PROMPT = new RegExp(String.raw`/ # (\x1b\[6n)?`)

describe.runIf(built)('a busybox shell on a terminal (Debian 6.1 arm64 on tagvm)', () => {
  test('typing works, Ctrl-C reaches the guest, poweroff -f ends tagvm with status 0', { timeout: 40 * 60_000 }, async () => {
    const append = 'console=ttyAMA0 rdinit=/init tagvm.run=shell'
    const tagvm = [process.execPath, '--conditions=source', '--import', 'tsx', 'src/cli.ts', 'run', image, '--initrd', initramfs, '--append', append, '--jit']
    // script -e: its status is tagvm's; -q: no banner. Its stdin (a pipe) is our keyboard.
    const child = spawn('script', ['-q', '-e', '-c', tagvm.map(shellWord).join(' '), '/dev/null'], { cwd: appDir, stdio: ['pipe', 'pipe', 'pipe'] })
    const terminal = new TerminalSession(child)
    try {
      await terminal.expect(/=== tagvm-kit: shell \(poweroff -f to stop\) ===/, 30)
      await terminal.expect(PROMPT, 5)

      // The guest echoes what is typed (tagvm put the terminal in raw mode: no local echo) and
      // runs it; arithmetic shows the shell, not the terminal, produced the answer. (The host
      // terminal's ONLCR, which Node's raw mode keeps, shows the guest's \r\n as \r\r\n.)
      terminal.type('echo typed-$((6*7))\r')
      const echo = await terminal.expect(PROMPT, 5)
      expect(echo.split('echo typed-$((6*7))').length).toBe(2) // echoed once, by the guest
      expect(echo).toMatch(/\ntyped-42\r+\n/)

      terminal.type('cat /proc/cpuinfo | grep mte\r')
      expect(await terminal.expect(PROMPT, 5)).toMatch(/\nFeatures\s*:[^\r\n]* mte( |\r)/)

      terminal.type('dmesg | grep -i -e oops -e warn; echo grep-status=$?\r')
      const dmesg = await terminal.expect(PROMPT, 5)
      // Nothing found: the only line between the command's echo and the prompt is grep's status.
      expect(dmesg.split(/\r*\n/).slice(1, -1)).toEqual(['grep-status=1'])

      // Ctrl-C (ETX) goes to the guest's tty, whose SIGINT stops the foreground command; tagvm runs on.
      // The command says when it runs in the foreground (a ^C typed before that would reach the
      // shell, not it, as on any slow machine).
      terminal.type("sh -c 'echo running; exec sleep 1000'; echo not-interrupted\r")
      await terminal.expect(/\nrunning\r*\n/, 5)
      terminal.type('\x03')
      await terminal.expect(/\^C/, 5)
      await terminal.expect(PROMPT, 5)
      terminal.type('echo still-here\r')
      const after = await terminal.expect(PROMPT, 5)
      expect(after).toMatch(/\nstill-here\r*\n/)
      expect(terminal.all).not.toMatch(/\nnot-interrupted/)

      terminal.type('poweroff -f\r')
      expect(await terminal.exited).toBe(0)
      expect(terminal.all).toMatch(/reboot: Power down/)
      expect(terminal.all).not.toMatch(/Oops|WARNING:|Internal error|tagvm: /)
    } finally {
      child.kill()
    }
  })
})
