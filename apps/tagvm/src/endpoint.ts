import { createReadStream, createWriteStream, statSync } from 'node:fs'
import { Socket, connect, createServer, type OnReadOpts, type Server, type SocketConstructorOpts } from 'node:net'
import { dirname } from 'node:path'
import type { Readable, Writable } from 'node:stream'
import type { Channel } from '@tagvm/machine'
import type { Endpoint } from './cli-args.js'
import { describeErrno } from './files/errno.js'

/** An endpoint tagvm could not open: names it, what failed (connect, listen) and the errno. */
export class EndpointError extends Error {
  override readonly name = 'EndpointError'
  constructor(
    readonly endpoint: string,
    readonly action: 'connect' | 'listen',
    readonly code: string,
    options?: { readonly cause?: unknown },
  ) {
    super(`${endpoint}: cannot ${action}: ${describeErrno(code, action === 'listen' ? 'write' : 'read')}`, options)
  }
}

function errnoOf(error: unknown): string {
  return (error as NodeJS.ErrnoException | undefined)?.code ?? 'EIO'
}

/** Calls `listener` once: with the error that ended the stream, or with none for an orderly end. */
function endOnce(listener: (error?: Error) => void): (error?: Error) => void {
  let done = false
  return (error) => {
    if (done) return
    done = true
    listener(error)
  }
}

/** Resolves once `output` has handed on everything written (or cannot any more). */
function endWritable(output: Writable): Promise<void> {
  if (output.destroyed || output.writableFinished) return Promise.resolve()
  return new Promise((resolve) => {
    output.once('error', () => resolve())
    output.once('close', () => resolve())
    output.end(() => resolve())
  })
}

/** What a socket reads into until its reader chooses (Channel.readInto): one buffer, reused. */
const OWN_READ_BUFFER = 64 * 1024

/**
 * A socket's reads as Node's `onread` makes them: each goes into memory chosen just before it
 * (the socket's own buffer, or where the channel's reader wants the bytes), never a new buffer
 * per read. A migration destination otherwise gets each 64 KiB read in a fresh ArrayBuffer,
 * which costs an allocation, a copy into the stream decoder and garbage collections (V8 counts
 * the buffers as external memory).
 */
class SocketReads {
  private readonly own = new Uint8Array(OWN_READ_BUFFER)
  /** The reader's choice of memory for the next read, once it has one. */
  next: (() => Uint8Array) | undefined
  readonly listeners: ((bytes: Uint8Array) => void)[] = []
  readonly onread: OnReadOpts = {
    buffer: () => this.next?.() ?? this.own,
    callback: (bytes, buffer) => {
      const chunk = buffer.subarray(0, bytes)
      for (const listener of this.listeners) listener(chunk)
      return true
    },
  }
}

/**
 * An accepted connection (its server made with pauseOnConnect, so nothing has been read yet)
 * as a socket that reads through `reads`. Node offers `onread` only to sockets it creates for
 * connect() or around a handle, so the accepted socket's handle moves to a new Socket; without
 * a handle (a Node that no longer has the field) the accepted socket is used as it is.
 */
function adoptAccepted(accepted: Socket, reads: SocketReads): Socket | undefined {
  const handle = (accepted as unknown as { _handle?: object | null })._handle
  if (!handle) return undefined
  return new Socket({ handle, readable: true, writable: true, onread: reads.onread } as SocketConstructorOpts).pause()
}

/**
 * A server's connection as a channel (reads through `onread` when it can, see adoptAccepted).
 * @internal exported for the endpoint tests (the fallback without a handle).
 */
export function acceptedChannel(accepted: Socket): Channel {
  const reads = new SocketReads()
  const socket = adoptAccepted(accepted, reads)
  return socket ? streamChannel(socket, socket, reads) : streamChannel(accepted, accepted)
}

/**
 * A channel over a readable and a writable side (the two halves of one socket, or two pipes).
 * `close` ends the writable side once its data is handed on, then releases both, so neither
 * process waits for the other to hang up. With `reads`, the readable side is a socket reading
 * through them (SocketReads), and the channel offers readInto.
 */
function streamChannel(input: Readable, output: Writable, reads?: SocketReads): Channel {
  return {
    write: (bytes) =>
      new Promise((resolve, reject) => {
        output.write(bytes, (err) => (err ? reject(err) : resolve()))
      }),
    // Corked writes leave as one writev: a page record's header, data and tags in one call.
    writev: (chunks) =>
      new Promise((resolve, reject) => {
        output.cork()
        chunks.forEach((chunk, i) => output.write(chunk, i === chunks.length - 1 ? (err) => (err ? reject(err) : resolve()) : undefined))
        output.uncork()
        if (chunks.length === 0) resolve()
      }),
    onData: reads
      ? (listener) => {
          // The socket reads from the first listener on (it was paused until then), as a
          // stream's 'data' events start, so nothing arrives before anyone listens.
          if (reads.listeners.push(listener) === 1) input.resume()
        }
      : (listener) => {
          input.on('data', (b: Buffer | string) => listener(typeof b === 'string' ? new TextEncoder().encode(b) : new Uint8Array(b.buffer, b.byteOffset, b.byteLength)))
          // An accepted socket kept as it is (see adoptAccepted) was paused on connect.
          if (input.readableFlowing === false) input.resume()
        },
    ...(reads ? { readInto: (next: () => Uint8Array) => void (reads.next = next) } : {}),
    onEnd: (listener) => {
      const once = endOnce(listener)
      input.on('error', (e) => once(e))
      output.on('error', (e) => once(e))
      input.on('end', () => once())
      input.on('close', () => once())
    },
    close: async () => {
      await endWritable(output)
      input.destroy()
      output.destroy()
    },
  }
}

/** The endpoint as the command line spells it, for messages. */
export function endpointText(endpoint: Endpoint): string {
  switch (endpoint.kind) {
    case 'fd':
      return `fd:${endpoint.fd}`
    case 'unix':
      return endpoint.path
    case 'tcp':
      return `tcp:${endpoint.host.includes(':') ? `[${endpoint.host}]` : endpoint.host}:${endpoint.port}`
  }
}

/** Source side: connects to the destination. A pipe (`fd:N`) carries the stream only; the ACK comes on fd N+1. */
export function connectEndpoint(endpoint: Endpoint): Promise<Channel> {
  if (endpoint.kind === 'fd') return Promise.resolve(fdChannel(endpoint.fd + 1, endpoint.fd))
  return new Promise((resolve, reject) => {
    const reads = new SocketReads()
    const socket: Socket = endpoint.kind === 'tcp' ? connect({ host: endpoint.host, port: endpoint.port, noDelay: true, onread: reads.onread }) : connect({ path: endpoint.path, onread: reads.onread })
    socket.pause()
    socket.once('connect', () => resolve(streamChannel(socket, socket, reads)))
    socket.once('error', (e) => reject(new EndpointError(endpointText(endpoint), 'connect', errnoOf(e), { cause: e })))
  })
}

/**
 * Destination side: waits for one source. With `fd:N` the stream arrives on fd N and the ACK
 * goes to fd N+1. `onListening` gets the endpoint actually listened on (a TCP port 0 becomes
 * the port the system chose).
 */
export function listenEndpoint(endpoint: Endpoint, onListening?: (at: Endpoint) => void): Promise<Channel> {
  if (endpoint.kind === 'fd') {
    onListening?.(endpoint)
    return Promise.resolve(fdChannel(endpoint.fd, endpoint.fd + 1))
  }
  if (endpoint.kind === 'tcp') {
    return new Promise((resolve, reject) => {
      const server: Server = createServer({ noDelay: true, pauseOnConnect: true }, (socket) => {
        server.close()
        resolve(acceptedChannel(socket))
      })
      server.once('error', (e) => reject(new EndpointError(endpointText(endpoint), 'listen', errnoOf(e), { cause: e })))
      server.listen({ host: endpoint.host, port: endpoint.port }, () => {
        const address = server.address()
        onListening?.({ ...endpoint, port: typeof address === 'object' && address ? address.port : endpoint.port })
      })
    })
  }
  // Node reports a socket path in a missing directory as EACCES; say what is really wrong.
  try {
    statSync(dirname(endpoint.path))
  } catch (e) {
    return Promise.reject(new EndpointError(endpoint.path, 'listen', errnoOf(e), { cause: e }))
  }
  return new Promise((resolve, reject) => {
    const server: Server = createServer({ pauseOnConnect: true }, (socket) => {
      server.close()
      resolve(acceptedChannel(socket))
    })
    server.once('error', (e) => reject(new EndpointError(endpoint.path, 'listen', errnoOf(e), { cause: e })))
    server.listen(endpoint.path, () => onListening?.(endpoint))
  })
}

function fdChannel(readFd: number, writeFd: number): Channel {
  return streamChannel(createReadStream('', { fd: readFd, autoClose: true }), createWriteStream('', { fd: writeFd, autoClose: true }))
}

/** Both ends of a migration over a Unix socket at `path`, in one process: [source, destination]. */
export async function localChannelPair(path: string): Promise<[Channel, Channel]> {
  let ready!: () => void
  const listening = new Promise<void>((resolve) => (ready = resolve))
  const accepted = listenEndpoint({ kind: 'unix', path }, ready)
  await listening
  const source = await connectEndpoint({ kind: 'unix', path })
  return [source, await accepted]
}
