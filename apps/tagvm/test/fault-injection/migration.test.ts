// Migrations that go wrong: the sender or the receiver killed at many points of the stream,
// garbage on the receiving socket and pipes, garbage answers to the sender. The side that
// keeps running ends with exactly an uninterrupted run's output; the side that fails says so
// in one line with exit status 1. Also: a successful sender exits while the destination runs
// on, progress lines on a pipe, and a socket path in a missing directory.
import { writeFileSync } from 'node:fs'
import { connect, createServer, type Socket } from 'node:net'
import { join } from 'node:path'
import type { Readable, Writable } from 'node:stream'
import { MigrationSender, PageBatch, RecordType, ackRecord, concatBytes, encodePagesRecord, encodeRecord, type MachineConfig } from '@tagvm/machine'
import { describe, expect, test } from 'vitest'
import { relay, type Relay } from './relay.js'
import { elf, expectCleanFailure, recorded, start, tagvm, tempDir, waitFor, type Outcome, type Running } from './harness.js'

const dir = tempDir('mig')
const DEMO = recorded('mte-demo')
/** The source runs mte-demo this far, then migrates it with no pre-copy run (round 0 and the last one). */
const SEND = ['--after-insns', '112000', '--max-rounds', '1', '--quiet']
let sockets = 0
const socketPath = (): string => join(dir, `s${sockets++}.sock`)

const listening = (path: string): string => `tagvm: waiting for a migration on ${path}\n`

/**
 * A destination listening on a fresh socket, ready for a source: it says so on standard error
 * once it listens (the socket file alone appears a moment before that). `done` leaves that
 * line out of its standard error.
 */
async function receiver(): Promise<{ running: Running; path: string; done: Promise<Outcome> }> {
  const path = socketPath()
  const running = start(['migrate', 'receive', '--listen', path])
  await waitFor(() => running.stderr().startsWith(listening(path)), `the destination to listen on ${path}`)
  const done = running.done.then((o) => ({ ...o, stderr: o.stderr.slice(listening(path).length).replace('tagvm: migration complete; the guest continues here\n', '') }))
  return { running, path, done }
}

/** A relay to `to` (the destination's replies still reach the source after the cut). */
const relayTo = (to: string, at: number, cut: () => void): Promise<Relay> => relay(socketPath(), to, at, cut, 'replies-flow')

let streamLength = 0

describe('a sender or receiver killed part-way', () => {
  test('an uninterrupted migration through the relay (the reference for the cases below)', async () => {
    const destination = await receiver()
    const through = await relayTo(destination.path, Number.POSITIVE_INFINITY, () => {})
    const sent = await tagvm(['migrate', 'send', elf('mte-demo'), '--to', through.path, ...SEND])
    const received = await destination.done
    through.server.close()
    expect([sent.status, received.status, sent.stderr + received.stderr]).toEqual([0, 0, ''])
    expect(sent.stdout + received.stdout).toBe(DEMO)
    streamLength = through.passed()
    expect(streamLength).toBeGreaterThan(10_000)
  })

  const points = [0.0001, 0.05, 0.35, 0.7, 0.999]

  for (const point of points) {
    test(`the receiver is killed after ${point * 100}% of the stream: the source runs the guest on, nothing lost`, async () => {
      const destination = await receiver()
      const through = await relayTo(destination.path, Math.max(1, Math.floor(streamLength * point)), () => destination.running.child.kill('SIGKILL'))
      const sent = await tagvm(['migrate', 'send', elf('mte-demo'), '--to', through.path, ...SEND])
      const received = await destination.done
      through.server.close()
      expect(received.signal).toBe('SIGKILL')
      expect(received.stdout).toBe('')
      expect(sent.status).toBe(0)
      expect(sent.stderr).toMatch(/^tagvm: migration failed: [^\n]*; the guest keeps running here\n$/)
      expect(sent.stdout).toBe(DEMO)
    })

    test(`the sender is killed after ${point * 100}% of the stream: the destination refuses the part it got in one line`, async () => {
      const destination = await receiver()
      const sender: { running?: Running } = {}
      const through = await relayTo(destination.path, Math.max(1, Math.floor(streamLength * point)), () => sender.running!.child.kill('SIGKILL'))
      sender.running = start(['migrate', 'send', elf('mte-demo'), '--to', through.path, ...SEND])
      const sent = await sender.running.done
      const received = await destination.done
      through.server.close()
      expect(sent.signal).toBe('SIGKILL')
      expectCleanFailure(received, 1, /^tagvm: migration failed: .*(migration incomplete|connection closed)/)
    })
  }
})

/** The stream a source would send for a tiny machine: HELLO, CONFIG, one page, the rest. */
function wholeStream(): Uint8Array {
  const s = new MigrationSender()
  const config: MachineConfig = { ramBase: 0x4000_0000, ramSize: 4 << 20, cpus: 1, mte: true, backing: 'anon' }
  return concatBytes([s.hello(), s.config(config), s.page({ gpa: 0x4000_0000, data: new Uint8Array(4096).fill(1), tags: null }), s.endRound(), s.vcpu({ index: 0, regs: [] }), s.end()])
}

/** A batch of one zero page. */
function onePage(gpa: number): PageBatch {
  const batch = new PageBatch(1)
  batch.add(gpa, null, null)
  return batch
}

const GARBAGE: [string, () => Uint8Array, RegExp][] = [
  ['random bytes', () => Uint8Array.from({ length: 5000 }, (_, i) => (i * 97 + 13) & 0xff), /at offset 0 .*unknown record type/],
  ['nothing at all', () => new Uint8Array(0), /stream ended in the hello stage: migration incomplete/],
  ['half a record', () => wholeStream().subarray(0, 30), /stream ended in the hello stage inside a record .*migration incomplete/],
  ['HELLO, then random bytes', () => concatBytes([new MigrationSender().hello(), Uint8Array.of(9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9)]), /unknown record type/],
  ['a page before the config', () => concatBytes([new MigrationSender().hello(), ...encodePagesRecord(onePage(0x4000_0000))]), /PAGES record in the config stage/],
  ['an ACK instead of a stream', () => ackRecord(true), /ACK record does not belong/],
  ['a record with a bad checksum', () => {
    const bytes = wholeStream().slice()
    bytes[40]! ^= 0x20
    return bytes
  }, /checksum mismatch/],
  ['a config the host cannot give', () => {
    const s = new MigrationSender()
    return concatBytes([s.hello(), encodeRecord(RecordType.CONFIG, new TextEncoder().encode(JSON.stringify({ ramBase: 0x4000_0000, ramSize: 2 ** 47, cpus: 1, mte: true, backing: 'anon' })))])
  }, /CONFIG record refused: \d+ bytes of RAM is more than this host can give/],
  ['a whole stream with bytes after END', () => concatBytes([wholeStream(), Uint8Array.of(1, 2, 3)]), /after END/],
]

describe('garbage on the receiving side: exit 1, one line, never 4', () => {
  for (const [name, bytes, message] of GARBAGE) {
    test(`on a Unix socket: ${name}`, async () => {
      const destination = await receiver()
      const socket = connect(destination.path)
      await new Promise<void>((resolve) => socket.once('connect', () => resolve()))
      socket.on('error', () => {})
      socket.end(bytes())
      expectCleanFailure(await destination.done, 1, message)
      socket.destroy()
    })
  }

  for (const [name, bytes, message] of GARBAGE.slice(0, 4)) {
    test(`on inherited pipes (fd:3 in, fd:4 back): ${name}`, async () => {
      const running = start(['migrate', 'receive', '--listen', 'fd:3', '--quiet'], { stdio: ['ignore', 'pipe', 'pipe', 'pipe', 'pipe'] })
      ;(running.child.stdio[4] as Readable).resume()
      ;(running.child.stdio[3] as Writable).end(bytes())
      expectCleanFailure(await running.done, 1, message)
    })
  }
})

describe('garbage answers to the sender: the guest stays at the source and finishes there', () => {
  const answers: [string, (socket: Socket) => void][] = [
    ['the connection is closed at once', (socket) => socket.destroy()],
    ['random bytes come back', (socket) => socket.write(Uint8Array.from({ length: 64 }, (_, i) => i * 7))],
    ['a refusal (ACK false)', (socket) => socket.on('data', () => socket.write(ackRecord(false, 'no room')))],
    ['another record instead of ACK', (socket) => socket.write(new MigrationSender().hello())],
  ]
  for (const [name, answer] of answers) {
    test(name, async () => {
      const path = socketPath()
      // The source closes as soon as it reads a refusal: a late write here may meet EPIPE.
      const server = createServer((socket) => {
        socket.on('error', () => {})
        answer(socket)
      })
      await new Promise<void>((resolve) => server.listen(path, () => resolve()))
      const sent = await tagvm(['migrate', 'send', elf('mte-demo'), '--to', path, ...SEND])
      server.close()
      expect(sent.status).toBe(0)
      expect(sent.stderr).toMatch(/^tagvm: migration failed: [^\n]*; the guest keeps running here\n$/)
      expect(sent.stdout).toBe(DEMO)
    })
  }
})

describe('the ends of a good migration', () => {
  test('the source exits once the destination has the guest, while the destination runs on', async () => {
    // Prints "A", then spins: the destination never stops by itself.
    const spin = join(dir, 'spin.bin')
    writeFileSync(spin, new Uint8Array(Uint32Array.of(0xd2a12001, 0x52800820, 0x39000020, 0x14000000).buffer))
    const destination = await receiver()
    const sent = await tagvm(['migrate', 'send', spin, '--base', '0x40080000', '--to', destination.path, '--max-rounds', '1', '--quiet'])
    expect(sent).toMatchObject({ status: 0, stderr: '', stdout: '' })
    await waitFor(() => destination.running.stdout() === 'A', 'the destination to run the guest')
    destination.running.child.kill('SIGKILL')
    expect((await destination.done).signal).toBe('SIGKILL')
  })

  test('progress on a pipe is measured against the memory that is sent: a line per 10%', async () => {
    const destination = await receiver()
    const sent = await tagvm(['migrate', 'send', elf('mte-demo'), '--to', destination.path, '--after-insns', '112000', '--max-rounds', '1'])
    await destination.done
    expect(sent.status).toBe(0)
    const percents = [...sent.stderr.matchAll(/^migrate: (\d+)% \(/gm)].map((m) => Number(m[1]))
    expect(percents).toEqual([10, 20, 30, 40, 50, 60, 70, 80, 90])
    expect(sent.stderr).toMatch(/^migrate: done, [\d.]+ MiB \(\d+ pages in 2 rounds, \d+ bytes sent\)$/m)
  })

  test('listening in a missing directory says ENOENT', async () => {
    expectCleanFailure(await tagvm(['migrate', 'receive', '--listen', '/nonexistent/dir/m.sock']), 1, /^tagvm: \/nonexistent\/dir\/m\.sock: cannot listen: ENOENT \(no such directory\)\n$/)
  })
})
