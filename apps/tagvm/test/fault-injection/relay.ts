// A socket relay between a migration's source and destination that breaks the stream at a
// chosen byte: used by the fault-injection tests and by scripts/linux-migration-faults.ts.
// (No vitest here: the script runs outside the test runner.)
import { connect, createServer, type Server, type Socket } from 'node:net'

/**
 * What happens once the cut point has gone to the destination: nothing more reaches it, and
 * `replies-flow` still passes its replies back to the source; `silent` passes nothing either
 * way (a stalled link); `close` closes both connections (a broken link).
 */
export type RelayCut = 'replies-flow' | 'silent' | 'close'

export interface Relay {
  readonly path: string
  readonly server: Server
  /** Bytes that have gone to the destination. */
  passed(): number
}

/** Listens on `path` and relays to `to`, calling `cut` once `at` bytes have gone to the destination. */
export function relay(path: string, to: string, at: number, cut: () => void, after: RelayCut): Promise<Relay> {
  let passed = 0
  let done = false
  const server = createServer((source: Socket) => {
    const destination = connect(to)
    const closeBoth = (): void => {
      source.destroy()
      destination.destroy()
    }
    source.on('data', (chunk: Buffer) => {
      if (done) return
      const part = chunk.subarray(0, Math.min(at - passed, chunk.length))
      destination.write(part)
      passed += part.length
      if (passed >= at) {
        done = true
        cut()
        if (after === 'close') closeBoth()
      }
    })
    destination.on('data', (chunk: Buffer) => {
      if (!done || after === 'replies-flow') source.write(chunk)
    })
    for (const end of [source, destination]) {
      end.on('close', closeBoth)
      end.on('error', closeBoth)
    }
  })
  return new Promise((resolve) => server.listen(path, () => resolve({ path, server, passed: () => passed })))
}
