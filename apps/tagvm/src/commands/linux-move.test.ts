// A running Debian 6.1 MTE guest (guests/linux's kit, tagvm.run=heap) moved mid-run: the
// tagged-heap program fills a PROT_MTE heap (every granule a known tag and known data), waits
// for a console line, sleeps 20 ms (only a timer interrupt ends it), then re-checks every tag
// and byte. One boot, on the instruction clock, by the `tagvm snapshot --jit` binary (the
// compiled tier; SIGUSR1 once the heap waits, so the snapshot is taken from translations);
// then the snapshot goes on three ways, each in the compiled tier on both sides: `tagvm
// restore --jit` with the terminal as its console, pre-copy migration over a Unix socket and
// post-copy migration over TCP loopback while the heap is being checked and rewritten. Every
// way must end in the heap's verdict "intact" and a clean power-off, with no oops, WARN or RCU
// stall. The fourth test (a migration cut half-way) goes on in the interpreter: the tier's
// snapshot continued without it.
// The kit is built by guests/linux/build-kit.sh (scripts/ci-setup/50-linux-kit.sh in CI);
// without it the tests are skipped locally, with how to build it, and fail in CI.
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { Machine, receiveMigration, sendMachine, type Channel, type MachineConfig, type MachineHostOptions } from '@tagvm/machine'
import { afterAll, beforeAll, describe, expect, test } from 'vitest'
import { linuxKit } from '../../../../guests/linux/kit.js'
import { parseEndpoint, type Endpoint } from '../cli-args.js'
import type { CliIo, ConsoleInput } from '../cli-io.js'
import { runCli } from '../cli-main.js'
import { connectEndpoint, listenEndpoint } from '../endpoint.js'
import { restoreMachine } from '../files/snapshot-file.js'

const { dir: kit, built } = linuxKit('linux-move.test.ts')

const HEAP_MIB = 4
const PASSES = 2
const APPEND = `console=ttyAMA0 rdinit=/init tagvm.run=heap tagvm.heap=${HEAP_MIB} tagvm.passes=${PASSES} tagvm.churn=1 tagvm.heapwait=1`
const WAITING = 'heap: waiting for a line on standard input before checking'
const VERDICT = `heap intact: ${PASSES} passes, ${HEAP_MIB} MiB, every tag and byte as written`
const BROKEN = /Oops|WARNING:|BUG:|rcu_.*stall|MISMATCH|TAG CHECK FAULT|Kernel panic|went wrong/
/** The heap is checked this far into its first pass before a migration starts. */
const CHECKING = 'heap: line received, slept 20 ms, checking'

const dir = mkdtempSync(join(tmpdir(), 'tagvm-linux-move-'))
afterAll(() => rmSync(dir, { recursive: true, force: true }))
const snapshotFile = join(dir, 'heap-waiting.snap')
let bootConsole = ''

/** What the guest printed after the move: the heap's lines through to the power-off. */
function expectVerdict(text: string): void {
  expect(text).toContain(CHECKING)
  for (let pass = 1; pass <= PASSES; pass++) expect(text).toContain(`heap: pass ${pass}: ${(HEAP_MIB << 20) / 16} granules, every tag and byte as written`)
  expect(text).toContain(VERDICT)
  expect(text).toContain('=== tagvm-kit: end heap status=0 ===')
  expect(text).not.toMatch(BROKEN)
}

/** A terminal that types `text` once the command reads it. */
function typing(text: string): ConsoleInput {
  let listener: ((chunk: Uint8Array | string) => void) | undefined
  return {
    isTTY: true,
    on: (_event, l) => {
      listener = l
      setImmediate(() => listener?.(text))
    },
    off: () => (listener = undefined),
    resume: () => {},
    pause: () => {},
  }
}

/** The compiled tier, on the migrations' sources and destinations. */
const JIT: MachineHostOptions = { jit: true }

/** The snapshot restored (on `host`) as a migration source, its console collected, the heap's line typed and the check under way. */
function checkingSource(host: MachineHostOptions): { machine: Machine; console: { text: string } } {
  const console = { text: '' }
  const machine = restoreMachine(snapshotFile, (config: MachineConfig) => Machine.create(config, { console: (b) => (console.text += Buffer.from(b).toString('latin1')) }, host))
  expect(machine.uart.receive('\n')).toBe(1)
  while (!console.text.includes(CHECKING)) expect(machine.run(2_000_000)).toEqual({ kind: 'budget' })
  return { machine, console }
}

/** Both ends of a connection on `endpoint` (a Unix socket path or TCP, port 0 for any): [source, destination]. */
async function connection(endpoint: Endpoint): Promise<[Channel, Channel]> {
  let listening!: (at: Endpoint) => void
  const at = new Promise<Endpoint>((resolve) => (listening = resolve))
  const accepted = listenEndpoint(endpoint, listening)
  const source = await connectEndpoint(await at)
  return [source, await accepted]
}

/**
 * Migrates the checking guest over `endpoint` to a destination in this process, which runs it
 * to its end. Post-copy sends no pre-copy round and pushes at 4 MiB/s, so the destination
 * must pull what it touches first.
 */
async function migrate(endpoint: Endpoint, postcopy: boolean): Promise<{ source: string; destination: string; result: Awaited<ReturnType<typeof sendMachine>> }> {
  const { machine, console: sourceConsole } = checkingSource(JIT)
  const [sourceEnd, destinationEnd] = await connection(endpoint)
  const sending = sendMachine(machine, sourceEnd, postcopy ? { maxRounds: 0, postcopy, postcopyBandwidth: 4 << 20 } : { maxRounds: 8, insnsPerRound: 3_000_000 })
  const destination = { text: '' }
  const incoming = await receiveMigration(destinationEnd, (config) => Machine.create(config, { console: (b) => (destination.text += Buffer.from(b).toString('latin1')) }, JIT))
  expect(incoming.postcopy).toBe(postcopy)
  const stop = await incoming.run()
  await incoming.complete
  expect(stop).toEqual({ kind: 'power-off' })
  expect(incoming.machine.memory.missingPages).toBe(0)
  return { source: sourceConsole.text, destination: destination.text, result: await sending }
}

describe.runIf(built)('a running Linux MTE guest with a tagged heap, moved mid-run', () => {
  beforeAll(async () => {
    const { spawn } = await import('node:child_process')
    const appDir = fileURLToPath(new URL('../../', import.meta.url))
    const args = ['snapshot', `${kit}Image`, snapshotFile, '--initrd', `${kit}initramfs.cpio.gz`, '--append', APPEND, '--memory', '256M', '--clock', 'instructions', '--jit']
    const child = spawn(process.execPath, ['--conditions=source', '--import', 'tsx', 'src/cli.ts', ...args], { cwd: appDir })
    let stderr = ''
    let signalled = false
    child.stderr.setEncoding('latin1').on('data', (t: string) => (stderr += t))
    child.stdout.setEncoding('latin1').on('data', (t: string) => {
      bootConsole += t
      if (!signalled && bootConsole.includes(WAITING)) {
        signalled = true
        child.kill('SIGUSR1')
      }
    })
    const status = await new Promise<number | null>((resolve) => child.on('close', resolve))
    expect(stderr).toMatch(/saved the guest on SIGUSR1 after \d+ instructions/)
    expect(status).toBe(0)
    expect(bootConsole).not.toMatch(BROKEN)
  }, 40 * 60_000)

  // Saved and restored with the compiled tier (--jit): the snapshot goes on in translations.
  test('tagvm restore --jit: the terminal reaches the waiting heap program, its sleep ends, every tag and byte is intact, poweroff ends with status 0', { timeout: 20 * 60_000 }, async () => {
    const out: Buffer[] = []
    let stderr = ''
    const io: CliIo = {
      stdout: { write: (t: string | Uint8Array) => out.push(Buffer.from(t)) },
      stderr: { write: (t: string) => (stderr += t) },
      stdin: typing('\n'),
    }
    const status = await runCli(['restore', snapshotFile, '--quiet', '--jit'], io, 'test')
    const text = Buffer.concat(out).toString('latin1')
    expect(stderr).toBe('')
    expect(status).toBe(0)
    expect(text).not.toContain(WAITING) // printed before the snapshot, not again
    expectVerdict(text)
    expect(text).toContain('reboot: Power down')
  })

  test('pre-copy over a Unix socket while the heap is checked and rewritten: the destination reaches the verdict', { timeout: 20 * 60_000 }, async () => {
    const moved = await migrate(parseEndpoint(join(dir, 'pre.sock')), false)
    expect(moved.result).toMatchObject({ kind: 'migrated' })
    if (moved.result.kind === 'migrated') expect(moved.result.rounds).toBeGreaterThan(1)
    expect(moved.source).not.toContain(VERDICT)
    expectVerdict(moved.source + moved.destination)
  })

  test('post-copy over TCP loopback while the heap is checked and rewritten: pages pulled with their tags, the destination reaches the verdict', { timeout: 20 * 60_000 }, async () => {
    const moved = await migrate(parseEndpoint('tcp:127.0.0.1:0'), true)
    expect(moved.result).toMatchObject({ kind: 'migrated' })
    if (moved.result.kind === 'migrated') expect(moved.result.requestedPages).toBeGreaterThan(0)
    expect(moved.source).not.toContain(VERDICT)
    expectVerdict(moved.source + moved.destination)
  })

  // The source here is the interpreter (the tier's snapshot continued without it).
  test('the destination drops the connection half-way through pre-copy: the source keeps the guest, which reaches the verdict; the destination says where the stream stopped', { timeout: 20 * 60_000 }, async () => {
    const { machine, console: sourceConsole } = checkingSource({})
    const [sourceEnd, destinationEnd] = await connection(parseEndpoint(join(dir, 'cut.sock')))
    // The destination reads 8 MiB of the stream (the guest's memory is several times that), then its end closes.
    let received = 0
    const dropping: Channel = {
      ...destinationEnd,
      onData: (listener) =>
        destinationEnd.onData((bytes) => {
          if (received >= 8 << 20) return
          received += bytes.length
          listener(bytes)
          if (received >= 8 << 20) void destinationEnd.close()
        }),
    }
    const arriving = receiveMigration(dropping, (config) => Machine.create(config, { console: () => {} }))
    const arrived = arriving.then(
      () => 'the guest arrived',
      (error: unknown) => (error instanceof Error ? error.message : String(error)),
    )
    const sent = await sendMachine(machine, sourceEnd, { maxRounds: 8, insnsPerRound: 3_000_000 })
    expect(sent.kind).toBe('failed')
    expect(await arrived).toMatch(/stream|connection|closed/)
    // Nothing lost at the source: the guest runs on there to its verdict.
    const stop = machine.run(4_000_000_000)
    expect(stop).toEqual({ kind: 'power-off' })
    expectVerdict(sourceConsole.text)
  })
})
