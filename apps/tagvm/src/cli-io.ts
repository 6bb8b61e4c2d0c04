import { EXIT_FAILURE } from './cli-args.js'

/** The host terminal side of the guest console; `process.stdin` satisfies it. */
export interface ConsoleInput {
  readonly isTTY?: boolean
  setRawMode?(raw: boolean): unknown
  on(event: 'data', listener: (chunk: Uint8Array | string) => void): unknown
  off(event: 'data', listener: (chunk: Uint8Array | string) => void): unknown
  resume(): unknown
  pause(): unknown
}

/** What the CLI talks to; tests pass their own. */
export interface CliIo {
  readonly stdout: { write(text: string | Uint8Array): unknown; readonly isTTY?: boolean; readonly columns?: number }
  readonly stderr: { write(text: string): unknown; readonly isTTY?: boolean; readonly columns?: number }
  /** The terminal, when there is one: `tagvm run` then feeds keystrokes to the guest's UART. */
  readonly stdin?: ConsoleInput
}

/** A failure a command reports in one line (`tagvm: MESSAGE`) and exits with `status`. */
export class CommandFailure extends Error {
  override readonly name = 'CommandFailure'
  constructor(
    message: string,
    readonly status = EXIT_FAILURE,
  ) {
    super(message)
  }
}
