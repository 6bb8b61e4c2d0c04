import { EventEmitter } from 'node:events'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { expect, test } from 'vitest'
import { Machine, VIRT_RAM_BASE } from '@tagvm/machine'
import type { ConsoleInput } from '../cli-io.js'
import { runCli } from '../cli-main.js'
import { runInteractive } from './console.js'

const ECHO = readFileSync(new URL('../../test/fixtures/uart-echo.bin', import.meta.url))

/** A stand-in terminal: what a test types arrives as 'data' events, as from process.stdin. */
class FakeTerminal extends EventEmitter implements ConsoleInput {
  isTTY = true
  raw: boolean[] = []
  setRawMode(raw: boolean): void {
    this.raw.push(raw)
  }
  resume(): void {}
  pause(): void {}
  type(text: string): void {
    setImmediate(() => this.emit('data', Buffer.from(text, 'latin1')))
  }
}

function echoMachine(): { machine: Machine; output: () => string } {
  const chunks: Uint8Array[] = []
  const machine = Machine.create(
    { ramBase: VIRT_RAM_BASE, ramSize: 16 * 1024 * 1024, cpus: 1, mte: true, backing: 'anon' },
    { console: (bytes) => chunks.push(bytes.slice()), message: () => {} },
  )
  machine.boot(ECHO, 'uart-echo.bin')
  return { machine, output: () => Buffer.concat(chunks).toString('latin1') }
}

test('keystrokes reach the guest through the PL011, in order, even beyond its 16-byte FIFO', async () => {
  const { machine, output } = echoMachine()
  const terminal = new FakeTerminal()
  // No 'q' before the end: the echo guest powers off when it reads one.
  const line = 'a brown fox jumps over the lazy dog, 0123456789 times, all in order\r'
  terminal.type(line)
  terminal.type('more after a pause\rq')
  const stop = await runInteractive(machine, terminal)
  expect(stop).toEqual({ kind: 'power-off' })
  expect(output()).toBe(`${line}more after a pause\r`)
  expect(terminal.raw).toEqual([true, false])
  expect(terminal.listenerCount('data')).toBe(0)
})

test('Ctrl-A x quits; Ctrl-A Ctrl-A sends one Ctrl-A to the guest', async () => {
  const { machine, output } = echoMachine()
  const terminal = new FakeTerminal()
  terminal.type('a\x01\x01b\x01x')
  const stop = await runInteractive(machine, terminal)
  expect(stop).toEqual({ kind: 'quit' })
  // The quit is seen as soon as it arrives, so the guest may not have echoed everything yet.
  expect('a\x01b'.startsWith(output())).toBe(true)
})

test('an instruction limit stops a guest that waits for input forever', async () => {
  const { machine } = echoMachine()
  const stop = await runInteractive(machine, new FakeTerminal(), 1_000_000)
  expect(stop).toEqual({ kind: 'budget' })
  expect(machine.retired).toBe(1_000_000)
})

test('a guest asleep in WFI with no timer waits in the event loop, and a key wakes that wait', async () => {
  // loop { wfi } on the host clock: nothing but input can happen, so the loop waits for a key.
  const machine = Machine.create({ ramBase: VIRT_RAM_BASE, ramSize: 16 * 1024 * 1024, cpus: 1, mte: false, backing: 'anon', clock: 'host' }, { console: () => {} })
  machine.boot(new Uint8Array(Uint32Array.from([0xd503207f, 0x17ffffff]).buffer), 'wfi.bin')
  const terminal = new FakeTerminal()
  const waiting = runInteractive(machine, terminal)
  // Typed once the loop is asleep (several event-loop turns later): only the key can end it.
  setTimeout(() => terminal.emit('data', Buffer.from('\x01x', 'latin1')), 200)
  expect(await waiting).toEqual({ kind: 'quit' })
  expect(machine.retired).toBe(1)
})

test('tagvm run on a terminal wires the keyboard to the guest; without one, stdin is left alone', async () => {
  const image = fileURLToPath(new URL('../../test/fixtures/uart-echo.bin', import.meta.url))
  const out: Uint8Array[] = []
  const err: string[] = []
  const io = (stdin: ConsoleInput) => ({
    stdout: { write: (b: string | Uint8Array) => out.push(typeof b === 'string' ? Buffer.from(b) : b.slice()) },
    stderr: { write: (s: string) => err.push(s) },
    stdin,
  })
  const terminal = new FakeTerminal()
  terminal.type('hello\rq')
  // The limit only matters if the keyboard were not wired: then the guest would wait forever.
  expect(await runCli(['run', image, '--memory', '16M', '--max-insns', '20000000'], io(terminal), 'test')).toBe(0)
  expect(Buffer.concat(out).toString('latin1')).toBe('hello\r')
  expect(terminal.raw).toEqual([true, false])

  // Not a terminal: the guest never gets input, so only the instruction limit stops it.
  const piped = new FakeTerminal()
  piped.isTTY = false
  piped.type('q')
  expect(await runCli(['run', image, '--memory', '16M', '--max-insns', '300000'], io(piped), 'test')).toBe(3)
  expect(piped.raw).toEqual([])
  expect(err.join('')).toContain('--max-insns')
})

test('tagvm restore on a terminal wires the keyboard to the restored guest, as tagvm run does', async () => {
  const image = fileURLToPath(new URL('../../test/fixtures/uart-echo.bin', import.meta.url))
  const dir = mkdtempSync(join(tmpdir(), 'tagvm-console-'))
  try {
    const file = join(dir, 'echo.snap')
    const quiet = { stdout: { write: () => {} }, stderr: { write: () => {} } }
    // Saved while the echo guest polls its UART for input.
    expect(await runCli(['snapshot', image, file, '--memory', '16M', '--after-insns', '20000', '--quiet'], quiet, 'test')).toBe(0)
    const out: Uint8Array[] = []
    const terminal = new FakeTerminal()
    terminal.type('back\rq')
    const io = { stdout: { write: (b: string | Uint8Array) => out.push(typeof b === 'string' ? Buffer.from(b) : b.slice()) }, stderr: { write: () => {} }, stdin: terminal }
    // Without the keyboard the restored guest would wait forever: the limit would stop it (status 3).
    expect(await runCli(['restore', file, '--quiet', '--max-insns', '20000000'], io, 'test')).toBe(0)
    expect(Buffer.concat(out).toString('latin1')).toBe('back\r')
    expect(terminal.raw).toEqual([true, false])
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
})
