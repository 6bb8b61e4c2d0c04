import { expect, test } from 'vitest'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createServer, type Socket } from 'node:net'
import { AckReader, MigrationReceiver, MigrationSender, ackRecord, type Ack, type Channel, type MachineConfig } from '@tagvm/machine'
import { parseEndpoint } from './cli-args.js'
import { acceptedChannel, connectEndpoint, listenEndpoint } from './endpoint.js'

test('endpoint syntax', () => {
  expect(parseEndpoint('/tmp/m.sock')).toEqual({ kind: 'unix', path: '/tmp/m.sock' })
  expect(parseEndpoint('fd:5')).toEqual({ kind: 'fd', fd: 5 })
  expect(() => parseEndpoint('fd:1')).toThrow(/tagvm's own standard streams/)
  expect(() => parseEndpoint('fd:x')).toThrow(/not a socket path or fd:N/)
  expect(() => parseEndpoint('')).toThrow(/not a socket path/)
})

test('a whole migration over a Unix socket endpoint: stream one way, ACK back, then the source may stop', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'tagvm-ep-'))
  const endpoint = parseEndpoint(join(dir, 'm.sock'))
  const config: MachineConfig = { ramBase: 0x4000_0000, ramSize: 1 << 20, cpus: 1, mte: true, backing: 'anon' }
  const received: number[] = []
  let listening!: () => void
  const ready = new Promise<void>((r) => (listening = r))
  const destination = listenEndpoint(endpoint, listening).then(
    (channel) =>
      new Promise<void>((resolve, reject) => {
        const receiver = new MigrationReceiver('source', { pages: (b) => received.push(...b.gpas.subarray(0, b.count)) })
        channel.onData((bytes) => {
          try {
            receiver.push(bytes)
            if (receiver.complete) {
              void channel.write(ackRecord(true)).then(() => {
                channel.close()
                resolve()
              })
            }
          } catch (e) {
            reject(e)
          }
        })
      }),
  )
  await ready
  const source = await connectEndpoint(endpoint)
  const ack = new Promise<Ack>((resolve) => {
    const reader = new AckReader('destination')
    source.onData((b) => {
      const a = reader.push(b)
      if (a) resolve(a)
    })
  })
  const s = new MigrationSender()
  for (const chunk of [s.hello(), s.config(config), s.page({ gpa: 0x4000_0000, data: new Uint8Array(4096).fill(1), tags: new Uint8Array(256).fill(2) }), s.endRound(), s.vcpu({ index: 0, regs: [] }), s.end()]) {
    await source.write(chunk)
  }
  expect(await ack).toEqual({ ok: true })
  await destination
  source.close()
  expect(received).toEqual([0x4000_0000])
  rmSync(dir, { recursive: true })
})

test('a socket channel reads into the memory its reader gives (readInto), from the first read after; nothing is lost before', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'tagvm-ep-'))
  const endpoint = parseEndpoint(join(dir, 'into.sock'))
  let listening!: () => void
  const ready = new Promise<void>((r) => (listening = r))
  const accepted = listenEndpoint(endpoint, listening)
  await ready
  const source = await connectEndpoint(endpoint)
  const destination = await accepted
  expect(destination.readInto).toBeTypeOf('function')
  // 3 MiB of a pattern, written before anyone reads at the destination.
  const sent = Uint8Array.from({ length: 3 << 20 }, (_, i) => (i * 7 + (i >>> 12)) & 0xff)
  const written = source.write(sent)
  const memory = new Uint8Array(1 << 20)
  let at = 0
  const received = new Uint8Array(sent.length)
  let got = 0
  let inPlace = 0
  const done = new Promise<void>((resolve) => {
    destination.onData((chunk) => {
      if (chunk.buffer === memory.buffer) {
        // A view of what `next` gave, from its start.
        expect(chunk.byteOffset).toBe(memory.byteOffset + at)
        inPlace += chunk.length
        at = (at + chunk.length) % (memory.length - 65536)
      }
      received.set(chunk, got)
      got += chunk.length
      if (got === sent.length) resolve()
    })
    destination.readInto!(() => memory.subarray(at, at + 65536))
  })
  await written
  await done
  expect(Buffer.from(received).equals(Buffer.from(sent))).toBe(true)
  // Every read after the first went where it was told.
  expect(inPlace).toBeGreaterThan(sent.length - 65536 - 1)
  await source.close()
  await destination.close()
  rmSync(dir, { recursive: true })
})

test('an accepted socket without a handle (a Node that no longer has the private field) is used as it is: nothing lost, both ways', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'tagvm-ep-'))
  const path = join(dir, 'plain.sock')
  // The accepted socket as such a Node would give it: `_handle` reads as missing, and
  // everything else is the real socket (methods bound to it, so its internals still work).
  const withoutHandle = (socket: Socket): Socket =>
    new Proxy(socket, {
      get: (target, key) => {
        if (key === '_handle') return undefined
        const value: unknown = Reflect.get(target, key, target)
        return typeof value === 'function' ? (value as (...args: unknown[]) => unknown).bind(target) : value
      },
    })
  const accepted = new Promise<Channel>((resolve) => {
    const server = createServer({ pauseOnConnect: true }, (socket) => {
      server.close()
      resolve(acceptedChannel(withoutHandle(socket)))
    })
    server.listen(path, () => undefined)
  })
  await new Promise((r) => setTimeout(r, 20))
  const source = await connectEndpoint({ kind: 'unix', path })
  const destination = await accepted
  // Without a handle there is no onread, so no readInto either.
  expect(destination.readInto).toBeUndefined()
  const sent = Uint8Array.from({ length: 1 << 20 }, (_, i) => (i * 13 + (i >>> 9)) & 0xff)
  // Written before the destination listens (the accepted socket was paused on connect; the
  // write completes only once the destination reads, so it is awaited after).
  const written = source.write(sent)
  await new Promise((r) => setTimeout(r, 20))
  const received = new Uint8Array(sent.length)
  let got = 0
  await new Promise<void>((resolve) => {
    destination.onData((chunk) => {
      received.set(chunk, got)
      got += chunk.length
      if (got === sent.length) resolve()
    })
  })
  await written
  expect(Buffer.from(received).equals(Buffer.from(sent))).toBe(true)
  const back = new Promise<Uint8Array>((resolve) => source.onData((chunk) => resolve(chunk.slice())))
  await destination.write(Uint8Array.of(1, 2, 3))
  expect([...(await back)]).toEqual([1, 2, 3])
  const ended = new Promise<Error | undefined>((resolve) => source.onEnd(resolve))
  await destination.close()
  expect(await ended).toBeUndefined()
  await source.close()
  rmSync(dir, { recursive: true })
})

test('connecting to nothing names the socket', async () => {
  await expect(connectEndpoint({ kind: 'unix', path: '/nonexistent/dir/m.sock' })).rejects.toThrow(/\/nonexistent\/dir\/m\.sock: cannot connect: ENOENT/)
})

test('listening in a missing directory says ENOENT (Node itself reports EACCES)', async () => {
  await expect(listenEndpoint({ kind: 'unix', path: '/nonexistent/dir/m.sock' })).rejects.toThrow(/\/nonexistent\/dir\/m\.sock: cannot listen: ENOENT \(no such directory\)$/)
})

test('over inherited pipes (fd:3 in, fd:4 back) to a second process; a cut-off stream is reported there', async () => {
  const { spawn } = await import('node:child_process')
  const { fileURLToPath } = await import('node:url')
  const run = (cut: boolean): Promise<{ stdout: string; ack: Ack | undefined; code: number | null }> =>
    new Promise((resolve) => {
      const child = spawn(process.execPath, ['--conditions=source', '--import', 'tsx', fileURLToPath(new URL('./pipe-receiver.fixture.ts', import.meta.url))], {
        stdio: ['ignore', 'pipe', 'inherit', 'pipe', 'pipe'],
      })
      let stdout = ''
      let ack: Ack | undefined
      const reader = new AckReader('fd:4')
      child.stdout!.on('data', (b: Buffer) => (stdout += b.toString()))
      ;(child.stdio[4] as NodeJS.ReadableStream).on('data', (b: Buffer) => (ack ??= reader.push(b)))
      const s = new MigrationSender()
      const config: MachineConfig = { ramBase: 0x4000_0000, ramSize: 1 << 20, cpus: 1, mte: true, backing: 'anon' }
      const chunks = [s.hello(), s.config(config)]
      for (let i = 0; i < 100; i++) chunks.push(s.page({ gpa: 0x4000_0000 + i * 4096, data: new Uint8Array(4096).fill(i + 1), tags: null }))
      chunks.push(s.endRound(), s.vcpu({ index: 0, regs: [] }), s.end())
      const bytes = Buffer.concat(chunks)
      const pipe = child.stdio[3] as NodeJS.WritableStream
      pipe.end(cut ? bytes.subarray(0, bytes.length >> 1) : bytes)
      child.on('close', (code) => resolve({ stdout, ack, code }))
    })
  const whole = await run(false)
  expect(whole).toEqual({ stdout: 'received 100 pages\n', ack: { ok: true }, code: 0 })
  const cut = await run(true)
  expect(cut.ack).toBeUndefined()
  expect(cut.code).toBe(1)
  expect(cut.stdout).toMatch(/^refused: fd:3: at offset \d+ .*migration incomplete/)
})
