import { createReadStream, createWriteStream } from 'node:fs'
import { connect, createServer, type Server, type Socket } from 'node:net'
import { CliError } from '../cli-args.js'

/** Where a migration stream goes: a Unix socket path, or an inherited file descriptor (`fd:N`, a pipe). */
export type Endpoint = { readonly kind: 'unix'; readonly path: string } | { readonly kind: 'fd'; readonly fd: number }

export function parseEndpoint(text: string): Endpoint {
  const fd = /^fd:(\d+)$/.exec(text)
  if (fd) {
    const n = Number(fd[1])
    if (n < 3) throw new CliError(`'${text}': fd 0, 1 and 2 are tagvm's own standard streams`)
    return { kind: 'fd', fd: n }
  }
  if (text === '' || text.startsWith('fd:')) throw new CliError(`'${text}' is not a socket path or fd:N`)
  return { kind: 'unix', path: text }
}

/** A byte channel both ways, as migration needs (stream one way, ACK back). */
export interface Channel {
  write(bytes: Uint8Array): Promise<void>
  onData(listener: (bytes: Uint8Array) => void): void
  onEnd(listener: (error?: Error) => void): void
  close(): void
}

function socketChannel(socket: Socket, onClose?: () => void): Channel {
  return {
    write: (bytes) =>
      new Promise((resolve, reject) => {
        socket.write(bytes, (err) => (err ? reject(err) : resolve()))
      }),
    onData: (listener) => socket.on('data', (b: Buffer) => listener(new Uint8Array(b.buffer, b.byteOffset, b.byteLength))),
    onEnd: (listener) => {
      let done = false
      const once = (error?: Error): void => {
        if (!done) {
          done = true
          listener(error)
        }
      }
      socket.on('error', (e) => once(e))
      socket.on('close', () => once())
    },
    close: () => {
      socket.end()
      onClose?.()
    },
  }
}

/** Source side: connects to the destination. A pipe (`fd:N`) carries the stream only; the ACK comes on fd N+1. */
export function connectEndpoint(endpoint: Endpoint): Promise<Channel> {
  if (endpoint.kind === 'fd') return Promise.resolve(fdChannel(endpoint.fd + 1, endpoint.fd))
  return new Promise((resolve, reject) => {
    const socket = connect(endpoint.path)
    socket.once('connect', () => resolve(socketChannel(socket)))
    socket.once('error', (e) => reject(new Error(`${endpoint.path}: cannot connect: ${(e as NodeJS.ErrnoException).code ?? e.message}`)))
  })
}

/** Destination side: waits for one source. With `fd:N` the stream arrives on fd N and the ACK goes to fd N+1. */
export function listenEndpoint(endpoint: Endpoint, onListening?: () => void): Promise<Channel> {
  if (endpoint.kind === 'fd') {
    onListening?.()
    return Promise.resolve(fdChannel(endpoint.fd, endpoint.fd + 1))
  }
  return new Promise((resolve, reject) => {
    const server: Server = createServer((socket) => {
      server.close()
      resolve(socketChannel(socket))
    })
    server.once('error', (e) => reject(new Error(`${endpoint.path}: cannot listen: ${(e as NodeJS.ErrnoException).code ?? e.message}`)))
    server.listen(endpoint.path, () => onListening?.())
  })
}

function fdChannel(readFd: number, writeFd: number): Channel {
  const input = createReadStream('', { fd: readFd, autoClose: true })
  const output = createWriteStream('', { fd: writeFd, autoClose: true })
  return {
    write: (bytes) =>
      new Promise((resolve, reject) => {
        output.write(bytes, (err) => (err ? reject(err) : resolve()))
      }),
    onData: (listener) => input.on('data', (b) => listener(typeof b === 'string' ? new TextEncoder().encode(b) : new Uint8Array(b.buffer, b.byteOffset, b.byteLength))),
    onEnd: (listener) => {
      let done = false
      const once = (error?: Error): void => {
        if (!done) {
          done = true
          listener(error)
        }
      }
      input.on('error', (e) => once(e))
      input.on('end', () => once())
    },
    close: () => {
      output.end()
      input.destroy()
    },
  }
}
