// The stub against the real debuggers from Debian (scripts/ci-setup/40-debian-tools.sh installs
// them): gdb-multiarch and lldb drive `tagvm run --gdb` on the MTE demo in batch mode, and
// their transcripts (and the guest's console) are compared with the committed ones. Set
// TAGVM_UPDATE_TRANSCRIPTS=1 to rewrite the expected files after a reviewed change.

import { spawn, spawnSync, type ChildProcess } from 'node:child_process'
import { existsSync, readFileSync, writeFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { describe, expect, it } from 'vitest'

const appDir = fileURLToPath(new URL('../..', import.meta.url))
const repoRoot = fileURLToPath(new URL('../../../..', import.meta.url))
const fixtures = fileURLToPath(new URL('./fixtures/', import.meta.url))
const demo = `${repoRoot}guests/mte-demo/mte-demo.elf`
const update = process.env.TAGVM_UPDATE_TRANSCRIPTS === '1'

interface Tagvm {
  readonly port: number
  readonly child: ChildProcess
  readonly stdout: () => string
  readonly exit: Promise<number | null>
}

/** `tagvm run IMAGE --gdb tcp::0 --gdb-wait`, resolved once it listens (with the port it got). */
function startTagvm(image: string): Promise<Tagvm> {
  const child = spawn(process.execPath, ['--conditions=source', '--import', 'tsx', 'src/cli.ts', 'run', image, '--gdb', 'tcp::0', '--gdb-wait'], { cwd: appDir })
  let out = ''
  let err = ''
  child.stdout.setEncoding('latin1').on('data', (s: string) => (out += s))
  const exit = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)))
  return new Promise((resolve, reject) => {
    child.stderr.setEncoding('latin1').on('data', (s: string) => {
      err += s
      const m = /listening on tcp:127\.0\.0\.1:(\d+)/.exec(err)
      if (m) resolve({ port: Number(m[1]), child, stdout: () => out, exit })
    })
    void exit.then(() => reject(new Error(`tagvm exited before listening:\n${err}`)))
  })
}

/** Runs a debugger to completion (its own process; tagvm keeps running beside it). */
function runDebugger(tool: string, args: string[]): string {
  const result = spawnSync(tool, args, { cwd: appDir, encoding: 'latin1', stdio: ['ignore', 'pipe', 'pipe'], timeout: 120_000 })
  if (result.error) throw new Error(`${tool} could not run (${result.error.message}); scripts/ci-setup/40-debian-tools.sh installs it`)
  return result.stdout + result.stderr
}

/** tagvm's exit status once the guest has run to its end; killed (null) if it does not within a minute. */
async function finished(tagvm: Tagvm): Promise<number | null> {
  const timer = setTimeout(() => tagvm.child.kill(), 60_000)
  try {
    return await tagvm.exit
  } finally {
    clearTimeout(timer)
  }
}

function normalise(text: string, port: number): string {
  return text
    .split('\n')
    // Debian's lldb-14 prints a Python traceback for its missing embedded interpreter.
    .filter((line) => !/^(Traceback| {2}File "<string>"|ModuleNotFoundError: No module named 'lldb)/.test(line))
    .join('\n')
    .replaceAll(repoRoot, '<repo>/')
    .replaceAll(`:${port}`, ':<port>')
}

function expectTranscript(name: string, actual: string): void {
  const file = `${fixtures}${name}`
  if (update || !existsSync(file)) {
    if (!update) throw new Error(`${file} is missing; run with TAGVM_UPDATE_TRANSCRIPTS=1 to record it`)
    writeFileSync(file, actual)
    return
  }
  expect(actual).toBe(readFileSync(file, 'latin1'))
}

describe('real debuggers on the MTE demo', { timeout: 180_000 }, () => {
  it('gdb-multiarch: breakpoints, steps, registers, a watchpoint, tag faults as SIGSEGV, memory-tag commands', async () => {
    const tagvm = await startTagvm(demo)
    const transcript = runDebugger('gdb-multiarch', [
      '-batch', '-nx', '-ex', `file ${demo}`, '-ex', `target remote tcp:127.0.0.1:${tagvm.port}`, '-x', `${fixtures}mte-demo.gdb`,
    ])
    expect(await finished(tagvm)).toBe(0)
    expectTranscript('mte-demo.gdb.expected', normalise(transcript, tagvm.port))
    // The tag the debugger wrote let the stale read through: 1 of 2 bugs caught.
    expectTranscript('mte-demo.gdb.console', tagvm.stdout())
  })

  it('lldb: gdb-remote, registers, a breakpoint, memory, memory region and memory tag read/write', async () => {
    const tagvm = await startTagvm(demo)
    const transcript = runDebugger('lldb', [
      '--batch', '--no-lldbinit', '-o', `target create ${demo}`, '-o', `gdb-remote 127.0.0.1:${tagvm.port}`,
      '-s', `${fixtures}mte-demo.lldb`, '-K', `${fixtures}mte-demo-crash.lldb`,
    ])
    expect(await finished(tagvm)).toBe(0)
    expectTranscript('mte-demo.lldb.expected', normalise(transcript, tagvm.port))
    // The tag LLDB wrote made the stale pointer valid again: the use-after-free read went through.
    expectTranscript('mte-demo.lldb.console', tagvm.stdout())
  })
})
