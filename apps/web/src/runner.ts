/**
 * The machine's side of the page: owns one Machine (host memory shared with the page), runs it
 * in time slices so commands and keystrokes get in between, and reports console bytes, status
 * and the vCPU at each stop. The Web Worker (worker.ts) only wires this to postMessage; tests
 * drive it directly.
 */
import {
  LiveTagPublisher,
  Machine,
  SnapshotEncoder,
  VIRT_RAM_BASE,
  concatBytes,
  restoreSnapshot,
  writeMachineSnapshot,
  type MachineConfig,
  type StopReason,
} from '@tagvm/machine'
import { readCpuView, Symbols } from './cpu-view.js'
import type { Command, CpuView, Report, RunState } from './protocol.js'

/** The CLI's default machine (`tagvm run` without options): 128 MiB at 0x4000_0000, one vCPU, MTE on. */
export const DEFAULT_CONFIG: MachineConfig = { ramBase: VIRT_RAM_BASE, ramSize: 128 << 20, cpus: 1, mte: true, backing: 'anon' }

/** Instructions per machine.run() call, and while typed bytes wait for FIFO room (as the CLI's console). */
const RUN_SLICE = 200_000
const BUSY_SLICE = 4_000

export interface RunnerOptions {
  /** Sends a report to the page (postMessage); `transfer` lists buffers it may move. */
  readonly post: (report: Report, transfer?: Transferable[]) => void
  /** Calls `task` soon, after pending messages (a zero-delay macrotask). */
  readonly schedule: (task: () => void) => void
  /** Milliseconds of guest time between looks at the message queue (default 25). */
  readonly sliceMs?: number
  /** Milliseconds between refreshes of the tag map's page table (default 100). */
  readonly tagRefreshMs?: number
  readonly now?: () => number
}

/** Ends of a run, as the status line says them. */
function describeStop(stop: Exclude<StopReason, { kind: 'budget' }>): string {
  switch (stop.kind) {
    case 'power-off':
      return 'the guest powered off (PSCI SYSTEM_OFF)'
    case 'reset':
      return 'the guest asked for a reset (PSCI SYSTEM_RESET)'
    case 'error':
      return `the guest cannot continue: ${stop.message}`
  }
}

const errorText = (error: unknown): string => (error instanceof Error ? error.message : String(error))

export class MachineRunner {
  private machine: Machine | undefined
  private publisher: LiveTagPublisher | undefined
  private symbols = new Symbols([])
  private name = ''
  private state: RunState = 'empty'
  private stop: string | undefined
  private readonly input: number[] = []
  private consoleChunks: Uint8Array[] = []
  private lastCpu: CpuView | undefined
  private scheduled = false
  private lastRefresh = 0
  private statusAt = 0
  private statusRetired = 0
  private ips = 0
  private runMs = 0
  private readonly sliceMs: number
  private readonly tagRefreshMs: number
  private readonly now: () => number

  constructor(private readonly options: RunnerOptions) {
    this.sliceMs = options.sliceMs ?? 25
    this.tagRefreshMs = options.tagRefreshMs ?? 100
    this.now = options.now ?? (() => performance.now())
  }

  /** The machine being run (tests and the bench look at it). */
  get current(): Machine | undefined {
    return this.machine
  }

  get runState(): RunState {
    return this.state
  }

  /** Carries out one command; a failure is reported and changes nothing. */
  handle(command: Command): void {
    try {
      this.dispatch(command)
    } catch (error) {
      this.options.post({ type: 'error', message: errorText(error) })
    }
  }

  private dispatch(command: Command): void {
    switch (command.type) {
      case 'boot':
        return this.boot(command.name, command.bytes, command.paused === true)
      case 'restore':
        return this.restore(command.name, command.bytes)
      case 'continue':
        return this.continue()
      case 'pause':
        return this.pause()
      case 'step':
        return this.step(command.count)
      case 'input':
        for (const byte of command.bytes) this.input.push(byte)
        if (this.state === 'running') this.feedInput(this.machine!)
        return this.sendStatus()
      case 'snapshot':
        return this.snapshot()
    }
  }

  private makeMachine(config: MachineConfig): Machine {
    return Machine.create(
      config,
      {
        console: (bytes) => this.consoleChunks.push(bytes),
        message: (text) => this.options.post({ type: 'note', text }),
      },
      { sharedMemory: true },
    )
  }

  /** Makes the new machine current and tells the page (which attaches to its tags). */
  private adopt(machine: Machine, name: string, symbols: Symbols, state: RunState): void {
    this.machine = machine
    this.publisher = new LiveTagPublisher(machine)
    this.lastRefresh = this.now()
    this.symbols = symbols
    this.name = name
    this.stop = undefined
    this.input.length = 0
    this.lastCpu = undefined
    this.statusAt = this.now()
    this.statusRetired = machine.retired
    this.ips = 0
    this.runMs = 0
    this.state = state
    this.options.post({ type: 'machine', name, config: machine.config, tags: this.publisher.source, state, retired: machine.retired })
    if (state === 'running') this.run()
    else this.stopped()
  }

  private boot(name: string, bytes: Uint8Array, paused: boolean): void {
    const machine = this.makeMachine(DEFAULT_CONFIG)
    machine.boot(bytes, name) // a bad image throws here, before anything is replaced
    this.adopt(machine, name, Symbols.of(bytes, name), paused ? 'paused' : 'running')
  }

  private restore(name: string, bytes: Uint8Array): void {
    const machine = restoreSnapshot(bytes, name, (config) => this.makeMachine(config))
    this.adopt(machine, name, new Symbols([]), 'paused')
  }

  private continue(): void {
    if (this.state !== 'paused') return
    this.state = 'running'
    this.statusAt = this.now()
    this.statusRetired = this.machine!.retired
    this.run()
  }

  private pause(): void {
    if (this.state !== 'running') return
    this.state = 'paused'
    this.stopped()
  }

  private step(count: number): void {
    if (!(Number.isInteger(count) && count >= 1)) throw new RangeError(`step count must be a positive integer, got ${count}`)
    if (this.state === 'running') this.state = 'paused'
    if (this.state !== 'paused') throw new Error(this.state === 'empty' ? 'no guest to step: run or load one first' : 'the guest has stopped; it cannot step')
    const machine = this.machine!
    this.feedInput(machine)
    const stop = this.timedRun(machine, count)
    if (stop.kind !== 'budget') this.finish(stop)
    else this.stopped()
  }

  private snapshot(): void {
    const machine = this.machine
    if (!machine || this.state === 'empty') throw new Error('no guest to save: run or load one first')
    if (this.state === 'stopped') throw new Error(`nothing to save: ${this.stop ?? 'the guest has stopped'}`)
    if (this.state === 'running') this.pause()
    const chunks: Uint8Array[] = []
    const encoder = new SnapshotEncoder((chunk) => chunks.push(chunk))
    writeMachineSnapshot(machine, encoder)
    const bytes = concatBytes(chunks)
    const base = this.name.replace(/\.[^.]*$/, '') || 'guest'
    this.options.post({ type: 'snapshot', name: `${base}-${machine.retired}.snap`, bytes }, [bytes.buffer])
  }

  private feedInput(machine: Machine): void {
    if (this.input.length > 0) this.input.splice(0, machine.uart.receive(Uint8Array.from(this.input)))
  }

  private run(): void {
    if (this.scheduled) return
    this.scheduled = true
    this.options.schedule(this.tick)
  }

  /** One time slice of guest execution, then a turn for messages. */
  private readonly tick = (): void => {
    this.scheduled = false
    const machine = this.machine
    if (this.state !== 'running' || !machine) return
    const end = this.now() + this.sliceMs
    let stop: StopReason = { kind: 'budget' }
    do {
      this.feedInput(machine)
      stop = this.timedRun(machine, this.input.length > 0 ? BUSY_SLICE : RUN_SLICE)
    } while (stop.kind === 'budget' && this.now() < end)
    if (stop.kind !== 'budget') return this.finish(stop)
    this.flushConsole()
    const now = this.now()
    if (now - this.lastRefresh >= this.tagRefreshMs) {
      this.publisher!.refresh()
      this.lastRefresh = now
    }
    if (now - this.statusAt >= 250) this.sendStatus()
    this.run()
  }

  /** machine.run, with its time added to `runMs`. */
  private timedRun(machine: Machine, budget: number): StopReason {
    const start = this.now()
    try {
      return machine.run(budget)
    } finally {
      this.runMs += this.now() - start
    }
  }

  private finish(stop: Exclude<StopReason, { kind: 'budget' }>): void {
    this.state = 'stopped'
    this.stop = describeStop(stop)
    this.stopped()
  }

  /** The guest is not running (paused or ended): everything the page shows is brought up to date. */
  private stopped(): void {
    this.flushConsole()
    this.publisher?.refresh()
    this.lastRefresh = this.now()
    // The vCPU first: when the page hears the new state, what it shows of the vCPU is current.
    if (this.machine) {
      this.lastCpu = readCpuView(this.machine, this.symbols, this.lastCpu)
      this.options.post({ type: 'cpu', cpu: this.lastCpu })
    }
    this.sendStatus()
  }

  private flushConsole(): void {
    this.machine?.flushConsole()
    if (this.consoleChunks.length === 0) return
    const bytes = concatBytes(this.consoleChunks)
    this.consoleChunks = []
    this.options.post({ type: 'console', bytes }, [bytes.buffer])
  }

  private sendStatus(): void {
    const now = this.now()
    const retired = this.machine?.retired ?? 0
    if (this.state === 'running' && now > this.statusAt) this.ips = ((retired - this.statusRetired) * 1000) / (now - this.statusAt)
    if (this.state !== 'running') this.ips = 0
    this.statusAt = now
    this.statusRetired = retired
    this.options.post({
      type: 'status',
      state: this.state,
      retired,
      ips: this.ips,
      runMs: this.runMs,
      inputWaiting: this.input.length,
      ...(this.stop ? { stop: this.stop } : {}),
    })
  }
}
