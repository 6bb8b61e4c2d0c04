/**
 * Messages between the page (main thread) and the machine's Web Worker. The worker owns the
 * machine; the page draws. Guest memory and its tags are shared (SharedArrayBuffer), so the
 * tag map never waits for the worker: only control, console bytes and CPU state are messages.
 */
import type { LiveTagSource, MachineConfig } from '@tagvm/machine'

/** What the worker is doing. */
export type RunState = 'empty' | 'running' | 'paused' | 'stopped'

/** Page → worker. */
export type Command =
  /** Boots an image (ELF, Linux Image) on a fresh machine and runs it. */
  | { readonly type: 'boot'; readonly name: string; readonly bytes: Uint8Array; readonly paused?: boolean }
  /** Restores a snapshot file onto a fresh machine, paused. */
  | { readonly type: 'restore'; readonly name: string; readonly bytes: Uint8Array }
  | { readonly type: 'continue' }
  | { readonly type: 'pause' }
  /** Runs exactly `count` instructions, then pauses. */
  | { readonly type: 'step'; readonly count: number }
  /** Bytes typed at the console, for the PL011's receive FIFO (held until the guest makes room). */
  | { readonly type: 'input'; readonly bytes: Uint8Array }
  /** Saves the machine (paused first) in the CLI's snapshot format. */
  | { readonly type: 'snapshot' }

/** One line of the disassembly around the PC. */
export interface DisasmLine {
  readonly address: string
  readonly word: string
  readonly text: string
  /** The symbol at or before the address, as `name+0x10` (ELF guests). */
  readonly symbol?: string
  readonly current: boolean
}

/** One register as shown: a name and its value in hex. */
export interface RegisterValue {
  readonly name: string
  readonly value: string
  /** Changed since the previous stop. */
  readonly changed: boolean
}

/** The vCPU at a stop: what the debugger panel shows. */
export interface CpuView {
  readonly pc: string
  /** `EL1h`, `nZcv`, DAIF, TCO. */
  readonly pstate: string
  readonly registers: readonly RegisterValue[]
  readonly system: readonly RegisterValue[]
  readonly disassembly: readonly DisasmLine[]
}

/** Worker → page. */
export type Report =
  /** A new machine, in `state` with `retired` instructions behind it: the page attaches to its shared tags. */
  | { readonly type: 'machine'; readonly name: string; readonly config: MachineConfig; readonly tags: LiveTagSource; readonly state: RunState; readonly retired: number }
  | { readonly type: 'console'; readonly bytes: Uint8Array }
  | {
      readonly type: 'status'
      readonly state: RunState
      /** Instructions retired since the machine was made (or restored). */
      readonly retired: number
      /** Guest instructions per second over the last interval while running. */
      readonly ips: number
      /** Milliseconds spent inside the machine's run loop since it was made (or restored): retired / runMs is the worker's guest speed. */
      readonly runMs: number
      /** Why the guest stopped, once it has (`power-off`, or an error's message). */
      readonly stop?: string
      /** Bytes typed but not yet taken by the guest's UART. */
      readonly inputWaiting: number
    }
  | { readonly type: 'cpu'; readonly cpu: CpuView }
  | { readonly type: 'snapshot'; readonly name: string; readonly bytes: Uint8Array }
  /** A command failed; nothing changed (a bad file leaves the current machine as it was). */
  | { readonly type: 'error'; readonly message: string }
  /** tagvm's own notes about the guest (as the CLI prints on standard error). */
  | { readonly type: 'note'; readonly text: string }
