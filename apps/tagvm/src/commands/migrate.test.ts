import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import type { Duplex } from 'node:stream'
import { afterAll, expect, test } from 'vitest'
import { Machine, receiveMachine, sendMachine, type MachineConfig, type MachineHostOptions } from '@tagvm/machine'
import { localChannelPair } from '../endpoint.js'

const guests = fileURLToPath(new URL('../../../../guests/', import.meta.url))
const elf = (name: string): string => `${guests}${name}/${name}.elf`
const recorded = (name: string): string => readFileSync(`${guests}${name}/qemu.out`, 'latin1')
const dir = mkdtempSync(join(tmpdir(), 'tagvm-migrate-'))
afterAll(() => rmSync(dir, { recursive: true, force: true }))
const CONFIG: MachineConfig = { ramBase: 0x4000_0000, ramSize: 128 << 20, cpus: 1, mte: true, backing: 'anon' }

function machineWithConsole(config: MachineConfig, host: MachineHostOptions = {}): { machine: Machine; output: () => string } {
  const chunks: Buffer[] = []
  const machine = Machine.create(config, { console: (b) => chunks.push(Buffer.from(b)) }, host)
  return { machine, output: () => Buffer.concat(chunks).toString('latin1') }
}

// The compiled tier is a host option: a guest migrates between machines with and without it.
const TIERS: [string, MachineHostOptions, MachineHostOptions][] = [
  ['', {}, {}],
  [' (interpreter to compiled tier)', {}, { jit: { threshold: 1 } }],
  [' (compiled tier to interpreter)', { jit: { threshold: 1 } }, {}],
]
test.each(TIERS)('a tagging guest migrated mid-run prints exactly what an unmigrated run prints%s', async (_, from, to) => {
  const name = 'mte-basic'
  const src = machineWithConsole(CONFIG, from)
  src.machine.boot(readFileSync(elf(name)), elf(name))
  // Into the part where it tags objects; pre-copy rounds run 3000 instructions of the guest each.
  expect(src.machine.run(125_000)).toEqual({ kind: 'budget' })
  const [a, b] = await localChannelPair(join(dir, `basic${Object.keys(to).length}${Object.keys(from).length}.sock`))
  let dst: { machine: Machine; output: () => string } | undefined
  const received = receiveMachine(b, (config) => (dst = machineWithConsole(config, to)).machine)
  const result = await sendMachine(src.machine, a, { maxRounds: 5, insnsPerRound: 3000 })
  const machine = await received
  expect(result.kind).toBe('migrated')
  if (result.kind !== 'migrated') return
  expect(result.rounds).toBeGreaterThanOrEqual(3)
  expect(machine.run()).toEqual({ kind: 'power-off' })
  expect(src.output() + dst!.output()).toBe(recorded(name))
})

test('migration of a guest whose tags change between rounds keeps every tag (mte-demo)', async () => {
  const name = 'mte-demo'
  const src = machineWithConsole(CONFIG)
  src.machine.boot(readFileSync(elf(name)), elf(name))
  expect(src.machine.run(104_000)).toEqual({ kind: 'budget' })
  const [a, b] = await localChannelPair(join(dir, 'demo.sock'))
  let dst: { machine: Machine; output: () => string } | undefined
  const received = receiveMachine(b, (config) => (dst = machineWithConsole(config)).machine)
  const result = await sendMachine(src.machine, a, { maxRounds: 8, insnsPerRound: 1000 })
  const machine = await received
  expect(result.kind).toBe('migrated')
  expect(machine.run()).toEqual({ kind: 'power-off' })
  expect(src.output() + dst!.output()).toBe(recorded(name))
})

test('a migration cut off halfway leaves the source running, and nothing is lost', async () => {
  const name = 'mte-basic'
  const src = machineWithConsole(CONFIG)
  src.machine.boot(readFileSync(elf(name)), elf(name))
  expect(src.machine.run(125_000)).toEqual({ kind: 'budget' })
  const [a, b] = await localChannelPair(join(dir, 'cut.sock'))
  // The destination dies after the first 20 KiB.
  let seen = 0
  b.onData((chunk) => {
    seen += chunk.length
    if (seen > 20_000) b.close()
  })
  const result = await sendMachine(src.machine, a, { maxRounds: 5, insnsPerRound: 3000 })
  expect(result.kind).toBe('failed')
  expect(src.machine.run()).toEqual({ kind: 'power-off' })
  expect(src.output()).toBe(recorded(name))
})

test('a destination that cannot take the guest answers ACK false; the source keeps it', async () => {
  const name = 'hello'
  const src = machineWithConsole({ ...CONFIG, ramSize: 8 << 20 })
  src.machine.boot(readFileSync(elf(name)), elf(name))
  const [a, b] = await localChannelPair(join(dir, 'refuse.sock'))
  // The destination cannot build the machine the CONFIG record describes.
  const received = receiveMachine(b, () => {
    throw new RangeError('no room for this guest')
  }).then(
    () => undefined,
    (error: Error) => error,
  )
  const result = await sendMachine(src.machine, a, { maxRounds: 3, insnsPerRound: 1000 })
  expect((await received)?.message).toMatch(/no room/)
  expect(result).toMatchObject({ kind: 'failed' })
  expect(src.machine.run()).toEqual({ kind: 'power-off' })
  expect(src.output()).toBe(recorded(name))
})

test('tagvm migrate receive / send: two processes over a Unix socket', async () => {
  const { spawn } = await import('node:child_process')
  const appDir = fileURLToPath(new URL('../../', import.meta.url))
  const path = join(dir, 'cli.sock')
  const tagvm = (args: string[]) => {
    const child = spawn(process.execPath, ['--conditions=source', '--import', 'tsx', 'src/cli.ts', ...args], { cwd: appDir })
    let stdout = ''
    let stderr = ''
    child.stdout.setEncoding('latin1').on('data', (t: string) => (stdout += t))
    child.stderr.setEncoding('latin1').on('data', (t: string) => (stderr += t))
    return new Promise<{ status: number | null; stdout: string; stderr: string }>((resolve) => child.on('close', (status) => resolve({ status, stdout, stderr })))
  }
  // The destination runs the guest with the compiled tier.
  const destination = tagvm(['migrate', 'receive', '--listen', path, '--jit'])
  // Wait until the destination listens (its socket file exists).
  for (let i = 0; i < 1200 && !existsSync(path); i++) await new Promise((r) => setTimeout(r, 100))
  const source = await tagvm(['migrate', 'send', elf('mte-demo'), '--to', path, '--after-insns', '112000', '--max-rounds', '1', '--quiet'])
  const received = await destination
  expect(source.status).toBe(0)
  expect(received.status).toBe(0)
  expect(source.stdout.length).toBeGreaterThan(0)
  expect(source.stdout + received.stdout).toBe(recorded('mte-demo'))
})

test('tagvm migrate over inherited pipes (fd:3, ACK on fd:4), relayed by the parent', async () => {
  const { spawn } = await import('node:child_process')
  const appDir = fileURLToPath(new URL('../../', import.meta.url))
  const start = (args: string[]) =>
    spawn(process.execPath, ['--conditions=source', '--import', 'tsx', 'src/cli.ts', ...args], { cwd: appDir, stdio: ['ignore', 'pipe', 'pipe', 'pipe', 'pipe'] })
  const destination = start(['migrate', 'receive', '--listen', 'fd:3', '--quiet'])
  const source = start(['migrate', 'send', elf('mte-demo'), '--to', 'fd:3', '--after-insns', '112000', '--max-rounds', '1', '--quiet'])
  // The 'pipe' entries are socket pairs, readable and writable both ways.
  const relay = (from: unknown, to: unknown): void => void (from as Duplex).pipe(to as Duplex)
  relay(source.stdio[3], destination.stdio[3])
  relay(destination.stdio[4], source.stdio[4])
  const collect = (child: typeof source) => {
    let stdout = ''
    let stderr = ''
    child.stdout!.setEncoding('latin1').on('data', (t: string) => (stdout += t))
    child.stderr!.setEncoding('latin1').on('data', (t: string) => (stderr += t))
    return new Promise<{ status: number | null; stdout: string; stderr: string }>((resolve) => child.on('exit', (status) => setTimeout(() => resolve({ status, stdout, stderr }), 50)))
  }
  const [sent, received] = await Promise.all([collect(source), collect(destination)])
  expect(sent).toMatchObject({ status: 0, stderr: '' })
  expect(received).toMatchObject({ status: 0, stderr: '' })
  expect(sent.stdout + received.stdout).toBe(recorded('mte-demo'))
})

/**
 * A CliIo for runCli whose output can be read while the command still runs (cli() in
 * cli.test-support.ts gives it only at the end): stdout as latin1, one character per byte.
 */
function capture() {
  const out: Buffer[] = []
  let err = ''
  return {
    io: { stdout: { write: (t: string | Uint8Array) => out.push(Buffer.from(t)) }, stderr: { write: (t: string) => (err += t) } },
    stdout: () => Buffer.concat(out).toString('latin1'),
    stderr: () => err,
  }
}

test('migrate send SNAPSHOT: a saved guest is restored at the source and migrated on', async () => {
  const { runCli } = await import('../cli-main.js')
  const snap = join(dir, 'demo-for-migration.snap')
  const first = capture()
  expect(await runCli(['snapshot', elf('mte-demo'), snap, '--after-insns', '110000', '--quiet'], first.io, 'test')).toBe(0)
  const path = join(dir, 'from-snapshot.sock')
  const dst = capture()
  const src = capture()
  const received = runCli(['migrate', 'receive', '--listen', path, '--quiet'], dst.io, 'test')
  for (let i = 0; i < 100 && !existsSync(path); i++) await new Promise((r) => setTimeout(r, 20))
  const sent = await runCli(['migrate', 'send', snap, '--to', path, '--after-insns', '3000', '--max-rounds', '1', '--quiet'], src.io, 'test')
  expect([sent, await received]).toEqual([0, 0])
  expect(src.stderr() + dst.stderr()).toBe('')
  expect(src.stdout().length).toBeGreaterThan(0)
  expect(first.stdout() + src.stdout() + dst.stdout()).toBe(recorded('mte-demo'))
})

test('migrate receive --prealloc backs host memory before it listens; the guest runs on it and prints what it would have', async () => {
  const { runCli } = await import('../cli-main.js')
  const { prefaultedHostBytes, releasePrefaultedHostMemory } = await import('@tagvm/vmm-api')
  releasePrefaultedHostMemory()
  const path = join(dir, 'prealloc.sock')
  const dst = capture()
  const src = capture()
  // 16 MiB of RAM and its tags: 9 blocks of 2 MiB, backed before "waiting for a migration".
  const received = runCli(['migrate', 'receive', '--listen', path, '--prealloc', '16M'], dst.io, 'test')
  // Backing 18 MiB takes seconds on a loaded host: wait up to a minute for it.
  for (let i = 0; i < 3000 && !dst.stderr().includes('waiting for a migration'); i++) await new Promise((r) => setTimeout(r, 20))
  expect(dst.stderr()).toMatch(/^tagvm: backed 18 MiB of host memory for guest RAM and tags in \d+ ms \(--prealloc\)\ntagvm: waiting for a migration/)
  expect(prefaultedHostBytes()).toBe(18 << 20)
  const sent = await runCli(['migrate', 'send', elf('mte-demo'), '--to', path, '--after-insns', '104000', '--max-rounds', '1', '--quiet'], src.io, 'test')
  expect([sent, await received]).toEqual([0, 0])
  // The destination's machine (and the source's, in this same process) took blocks from it.
  expect(prefaultedHostBytes()).toBeLessThan(18 << 20)
  expect(src.stdout() + dst.stdout()).toBe(recorded('mte-demo'))
  releasePrefaultedHostMemory()
})

test('tcp:HOST:PORT endpoints: IPv4, a bracketed IPv6 host, port 0 for any free port; malformed ones refused', async () => {
  const { parseEndpoint } = await import('../cli-args.js')
  expect(parseEndpoint('tcp:127.0.0.1:4444')).toEqual({ kind: 'tcp', host: '127.0.0.1', port: 4444 })
  expect(parseEndpoint('tcp:[::1]:0')).toEqual({ kind: 'tcp', host: '::1', port: 0 })
  expect(parseEndpoint('tcp:localhost:65535')).toEqual({ kind: 'tcp', host: 'localhost', port: 65535 })
  for (const bad of ['tcp:', 'tcp:host', 'tcp:host:', 'tcp:host:65536', 'tcp::1:80', 'tcp:host:-1']) expect(() => parseEndpoint(bad)).toThrow(/is not tcp:HOST:PORT/)
})

for (const postcopy of [false, true]) {
  test(`tagvm migrate ${postcopy ? '--postcopy ' : ''}over TCP loopback: two processes, the destination on a port the system chose`, async () => {
    const { spawn } = await import('node:child_process')
    const appDir = fileURLToPath(new URL('../../', import.meta.url))
    const tagvm = (args: string[], onStderr?: (text: string) => void) => {
      const child = spawn(process.execPath, ['--conditions=source', '--import', 'tsx', 'src/cli.ts', ...args], { cwd: appDir })
      let stdout = ''
      let stderr = ''
      child.stdout.setEncoding('latin1').on('data', (t: string) => (stdout += t))
      child.stderr.setEncoding('latin1').on('data', (t: string) => {
        stderr += t
        onStderr?.(stderr)
      })
      return new Promise<{ status: number | null; stdout: string; stderr: string }>((resolve) => child.on('close', (status) => resolve({ status, stdout, stderr })))
    }
    let port!: (p: string) => void
    const listening = new Promise<string>((resolve) => (port = resolve))
    const destination = tagvm(['migrate', 'receive', '--listen', 'tcp:127.0.0.1:0'], (text) => {
      const m = /waiting for a migration on tcp:127\.0\.0\.1:(\d+)\n/.exec(text)
      if (m && m[1] !== '0') port(m[1]!)
    })
    const to = `tcp:127.0.0.1:${await listening}`
    const rounds = postcopy ? ['--postcopy', '--max-rounds', '0'] : ['--max-rounds', '1']
    const source = await tagvm(['migrate', 'send', elf('mte-demo'), '--to', to, '--after-insns', '104000', ...rounds])
    const received = await destination
    expect(source.status).toBe(0)
    expect(received.status).toBe(0)
    expect(source.stderr).toMatch(postcopy ? /the guest now runs on the destination \(\d+ pages in 0 pre-copy rounds and post-copy, \d+ pages asked for; downtime [\d.]+ ms\)/ : /the guest now runs on the destination \(\d+ pages in \d+ rounds; downtime [\d.]+ ms\)/)
    expect(received.stderr).toContain(postcopy ? 'post-copy migration: the guest continues here while its memory arrives' : 'migration complete; the guest continues here')
    expect(source.stdout + received.stdout).toBe(recorded('mte-demo'))
  })
}
