// Shared by the fault-injection suite: run tagvm as a user would (a process: its exit status,
// its standard error), and check that a failure is clean: the expected status, one line on
// standard error, no stack trace, never exit status 4.
import { spawn, type ChildProcess, type StdioOptions } from 'node:child_process'
import { chmodSync, mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { afterAll, expect } from 'vitest'
import { runCli } from '../../src/cli-main.js'

/** The built CLI (apps/tagvm/turbo.json builds it before the tests); TAGVM_CLI runs another build, e.g. main's. */
export const CLI = process.env.TAGVM_CLI ?? fileURLToPath(new URL('../../dist/cli.js', import.meta.url))
export const guests = fileURLToPath(new URL('../../../../guests/', import.meta.url))
export const elf = (name: string): string => `${guests}${name}/${name}.elf`
export const recorded = (name: string): string => readFileSync(`${guests}${name}/qemu.out`, 'latin1')

export interface Outcome {
  readonly status: number | null
  readonly signal: NodeJS.Signals | null
  readonly stdout: string
  readonly stderr: string
}

export interface Running {
  readonly child: ChildProcess
  /** Standard output so far. */
  stdout(): string
  stderr(): string
  readonly done: Promise<Outcome>
}

/** Starts `tagvm ARGS`; extra pipes (fd 3, 4) when `stdio` asks for them. */
export function start(args: readonly string[], options: { readonly stdio?: StdioOptions; readonly uid?: number; readonly gid?: number } = {}): Running {
  const child = spawn(process.execPath, [CLI, ...args], {
    stdio: options.stdio ?? ['ignore', 'pipe', 'pipe'],
    ...(options.uid !== undefined ? { uid: options.uid, gid: options.gid ?? options.uid } : {}),
  })
  let stdout = ''
  let stderr = ''
  child.stdout!.setEncoding('latin1').on('data', (t: string) => (stdout += t))
  child.stderr!.setEncoding('latin1').on('data', (t: string) => (stderr += t))
  const done = new Promise<Outcome>((resolve) => child.on('close', (status, signal) => resolve({ status, signal, stdout, stderr })))
  return { child, stdout: () => stdout, stderr: () => stderr, done }
}

export function tagvm(args: readonly string[], options: { readonly uid?: number } = {}): Promise<Outcome> {
  return start(args, options).done
}

/** `tagvm ARGS` in this process, through the same dispatcher (fast, for loops over many files). */
export async function tagvmInProcess(args: readonly string[]): Promise<Outcome> {
  let stdout = ''
  let stderr = ''
  const status = await runCli(
    args,
    {
      stdout: { write: (t: string | Uint8Array) => (stdout += typeof t === 'string' ? t : Buffer.from(t).toString('latin1')) },
      stderr: { write: (t: string) => (stderr += t) },
    },
    'test',
  )
  return { status, signal: null, stdout, stderr }
}

/**
 * A clean failure: exit `status`, exactly one line on standard error matching `message`, no
 * stack trace, and (unless given) nothing on standard output.
 */
export function expectCleanFailure(outcome: Outcome, status: number, message: RegExp, stdout = ''): void {
  expect(outcome.stderr).not.toMatch(/internal error|\n\s+at /)
  expect({ status: outcome.status, stderr: outcome.stderr }).toMatchObject({ status, stderr: expect.stringMatching(/^tagvm: [^\n]*\n$/) })
  expect(outcome.stderr).toMatch(message)
  expect(outcome.stdout).toBe(stdout)
}

/** A fresh directory, removed after the file's tests; readable by the unprivileged user below. */
export function tempDir(prefix: string): string {
  const dir = mkdtempSync(join(tmpdir(), `tagvm-fi-${prefix}-`))
  chmodSync(dir, 0o755)
  afterAll(() => rmSync(dir, { recursive: true, force: true }))
  return dir
}

/** An unprivileged user for checks that root would pass (a directory root can write anyway). */
export const UNPRIVILEGED = process.getuid?.() === 0 ? 65534 : undefined

export function waitFor(condition: () => boolean, what: string): Promise<void> {
  return new Promise((resolve, reject) => {
    let tries = 0
    const poll = (): void => {
      if (condition()) resolve()
      else if (++tries > 6000) reject(new Error(`gave up waiting for ${what}`))
      else setTimeout(poll, 20)
    }
    poll()
  })
}
