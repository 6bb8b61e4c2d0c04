import type { Machine, StopReason } from '@tagvm/machine'
import { EXIT_OK } from '../cli-args.js'
import type { CliIo, ConsoleInput } from '../cli-io.js'
import { finish, runToEnd } from './common.js'

/** Instructions per slice between looks at the terminal: small enough to feel immediate. */
export const CONSOLE_SLICE = 200_000
/**
 * The slice while typed bytes wait for FIFO room: about one character time at 115200 baud
 * (87 µs) at tagvm's speed, so a guest reading with the FIFO off still sees a steady line.
 */
export const CONSOLE_BUSY_SLICE = 4_000

/** setTimeout's longest delay (2^31 - 1 ms); a guest asleep longer waits for a key. */
const MAX_TIMER_MS = 2 ** 31 - 1

const CTRL_A = 0x01
const QUIT_KEY = 0x78 // 'x', as in QEMU's -nographic: Ctrl-A x quits

export type InteractiveStop = StopReason | { readonly kind: 'quit' }

/**
 * Runs the guest with the terminal wired to its PL011: keystrokes go to the receive FIFO as
 * the guest makes room (the rest wait, nothing is dropped), and the event loop gets a turn
 * between slices so keystrokes arrive; while every vCPU waits in WFI the loop sleeps until the
 * guest's next timer or a key. Ctrl-A x quits; Ctrl-A Ctrl-A sends one Ctrl-A.
 */
export async function runInteractive(machine: Machine, input: ConsoleInput, maxInsns?: number): Promise<InteractiveStop> {
  const pending: number[] = []
  let escaped = false
  let quit = false
  /** Ends the wait of an idle guest early: a key was pressed. */
  let wake: (() => void) | undefined
  const onData = (chunk: Uint8Array | string): void => {
    wake?.()
    const bytes = typeof chunk === 'string' ? new TextEncoder().encode(chunk) : chunk
    for (const byte of bytes) {
      if (escaped) {
        escaped = false
        if (byte === QUIT_KEY) quit = true
        else if (byte === CTRL_A) pending.push(CTRL_A)
        else pending.push(CTRL_A, byte)
      } else if (byte === CTRL_A) {
        escaped = true
      } else {
        pending.push(byte)
      }
    }
  }
  input.setRawMode?.(true)
  input.on('data', onData)
  input.resume()
  try {
    let left = maxInsns ?? Number.POSITIVE_INFINITY
    for (;;) {
      if (pending.length > 0) pending.splice(0, machine.uart.receive(Uint8Array.from(pending)))
      if (quit) return { kind: 'quit' }
      const start = machine.retired
      const stop = machine.run(Math.min(pending.length > 0 ? CONSOLE_BUSY_SLICE : CONSOLE_SLICE, left), { idle: 'return' })
      left -= machine.retired - start
      if (stop.kind !== 'budget' || left <= 0) return stop
      if (stop.idleMs !== undefined) {
        // Every vCPU waits (WFI): sleep in the event loop until its next deadline or a key,
        // whichever comes first; an idle guest then costs one wake-up per guest timer. (Keys
        // that wait for FIFO room wait too: only the guest, once woken, makes room.)
        const ms = stop.idleMs
        await new Promise<void>((resolve) => {
          const timer = ms < MAX_TIMER_MS ? setTimeout(() => wake?.(), Math.ceil(ms)) : undefined
          wake = () => {
            wake = undefined
            clearTimeout(timer)
            resolve()
          }
        })
      } else {
        await new Promise<void>((resolve) => setImmediate(resolve))
      }
    }
  } finally {
    input.off('data', onData)
    input.setRawMode?.(false)
    input.pause()
  }
}

/**
 * Runs the guest to its end with the terminal as its console when standard input is one (and
 * without --trace, which stays line by line on stderr), else without input; the exit status
 * says how it ended. `tagvm run` and `tagvm restore` share it, so a restored shell answers.
 */
export async function runOnConsole(machine: Machine, io: CliIo, maxInsns: number | undefined, trace: boolean): Promise<number> {
  if (io.stdin?.isTTY !== true || trace) return runToEnd(machine, io, maxInsns)
  const stop = await runInteractive(machine, io.stdin, maxInsns)
  if (stop.kind === 'quit') {
    io.stderr.write(`\ntagvm: quit (Ctrl-A x) after ${machine.retired} instructions\n`)
    return EXIT_OK
  }
  return finish(stop, machine, io, maxInsns)
}
