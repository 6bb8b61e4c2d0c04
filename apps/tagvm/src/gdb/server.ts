// `tagvm run --gdb tcp::PORT | unix:PATH [--gdb-wait]`: a GDB remote stub on a socket. The
// guest runs free (or waits, with --gdb-wait) until a debugger connects, which stops it; one
// debugger at a time; a debugger that detaches, is killed or hangs up leaves the guest
// running and the socket open for the next one. The run ends when the guest does.

import { createServer, type Server, type Socket } from 'node:net'
import { lstatSync, unlinkSync } from 'node:fs'
import type { Machine, StopReason } from '@tagvm/machine'
import { RspDecoder, encodePacket } from './rsp.js'
import { GdbStub } from './stub.js'
import { DebugTarget, type RunOutcome } from './target.js'
import { describeGdbEndpoint, type GdbEndpoint } from './endpoint.js'

/** Instructions per free-running turn between socket checks. */
const FREE_SLICE = 1 << 20

export interface GdbServerOptions {
  readonly endpoint: GdbEndpoint
  /** Stop before the first instruction until a debugger connects and resumes (QEMU's -S). */
  readonly wait: boolean
  /** Notes for standard error. */
  readonly message: (text: string) => void
  /** Called once the socket listens (with the TCP port actually bound). */
  readonly listening?: (port: number | undefined) => void
}

/** Runs the machine under a GDB stub until the guest ends; resolves with how it ended. */
export function runWithGdb(machine: Machine, options: GdbServerOptions): Promise<StopReason> {
  const target = new DebugTarget(machine)
  return new Promise((resolve, reject) => {
    let session: { socket: Socket; stub: GdbStub } | undefined
    let ended: StopReason | undefined
    let freeRunning = !options.wait
    let freeScheduled = false
    let where = describeGdbEndpoint(options.endpoint)

    const server: Server = createServer((socket) => {
      if (ended !== undefined || session !== undefined) {
        socket.end()
        return
      }
      attach(socket)
    })

    const finish = (reason: StopReason): void => {
      if (ended !== undefined) return
      ended = reason
      freeRunning = false
      session?.socket.end()
      server.close()
      if (options.endpoint.kind === 'unix') tryUnlink(options.endpoint.path)
      resolve(reason)
    }

    const outcomeToStop = (o: Exclude<RunOutcome, { kind: 'debug' }>): StopReason =>
      o.kind === 'exited' ? { kind: o.how } : { kind: 'error', message: o.message }

    // The guest without a debugger: whole slices through the machine's own loop.
    const freeRun = (): void => {
      freeScheduled = false
      if (!freeRunning || session !== undefined || ended !== undefined) return
      let stop: StopReason
      try {
        stop = machine.run(FREE_SLICE)
      } catch (error) {
        reject(error as Error)
        return
      }
      if (stop.kind !== 'budget') {
        finish(stop)
        return
      }
      scheduleFree()
    }
    const scheduleFree = (): void => {
      if (freeScheduled) return
      freeScheduled = true
      setImmediate(freeRun)
    }

    const attach = (socket: Socket): void => {
      socket.setNoDelay?.(true)
      const decoder = new RspDecoder()
      const stub = new GdbStub(target, {
        send: (payload) => socket.write(encodePacket(payload)),
        ended: (outcome) => {
          // The stop reply (W/X) goes out first; then the run ends.
          setImmediate(() => finish(outcomeToStop(outcome)))
        },
      })
      session = { socket, stub }
      options.message(`debugger connected on ${where}; the guest is stopped`)
      let pumping = false
      const pump = (): void => {
        pumping = false
        if (session?.stub !== stub || !stub.isRunning) return
        let reply: string | null
        try {
          reply = stub.runSlice()
        } catch (error) {
          reject(error as Error)
          return
        }
        if (reply !== null) socket.write(encodePacket(reply))
        else schedulePump()
      }
      const schedulePump = (): void => {
        if (pumping) return
        pumping = true
        setImmediate(pump)
      }
      socket.on('data', (chunk: Buffer) => {
        for (const event of decoder.feed(new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.byteLength))) {
          switch (event.kind) {
            case 'packet': {
              if (!stub.noAck) socket.write('+')
              const reply = stub.handle(event.payload)
              if (reply !== null) socket.write(encodePacket(reply))
              if (stub.isRunning) schedulePump()
              break
            }
            case 'bad-checksum':
              if (!stub.noAck) socket.write('-')
              break
            case 'interrupt':
              stub.interrupt()
              break
            default:
              break
          }
        }
      })
      const gone = (): void => {
        if (session?.stub !== stub) return
        session = undefined
        stub.detach()
        if (ended !== undefined) return
        options.message('debugger gone; the guest runs on')
        freeRunning = true
        scheduleFree()
      }
      socket.on('close', gone)
      socket.on('error', gone)
    }

    server.on('error', (error) => reject(error))
    const onListening = (): void => {
      const address = server.address()
      const port = typeof address === 'object' && address !== null ? address.port : undefined
      where = describeGdbEndpoint(options.endpoint.kind === 'tcp' ? { ...options.endpoint, port: port ?? options.endpoint.port } : options.endpoint)
      options.message(`gdb stub listening on ${where}${options.wait ? ' (waiting for a debugger before the first instruction)' : ''}`)
      options.listening?.(port)
      if (freeRunning) scheduleFree()
    }
    if (options.endpoint.kind === 'tcp') server.listen(options.endpoint.port, options.endpoint.host, onListening)
    else {
      tryUnlink(options.endpoint.path)
      server.listen(options.endpoint.path, onListening)
    }
  })
}

/** Removes a stale socket at `path` (never any other kind of file). */
function tryUnlink(path: string): void {
  try {
    if (lstatSync(path).isSocket()) unlinkSync(path)
  } catch {
    // not there: nothing to remove
  }
}
