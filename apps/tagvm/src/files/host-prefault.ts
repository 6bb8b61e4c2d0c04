import { MessageChannel, Worker, receiveMessageOnPort, type MessagePort } from 'node:worker_threads'
import type { IncomingGuest, Machine } from '@tagvm/machine'
import { HOST_ARENA_SIZE, hugePageFriendly, prefaultedHostBytes, sharedHostArenas, type HostArenaSupply } from '@tagvm/vmm-api'

/** Budgets are counted in these: the 2 MiB blocks host arenas are made of (hugePageFriendly). */
const BLOCK = 2 * 1024 * 1024
const ARENA_BLOCKS = HOST_ARENA_SIZE / BLOCK
/**
 * Arenas the worker backs at most ahead of what the memory has taken: a slow stream (a
 * migration over a slow link) or one that breaks off leaves at most this much backed and unused.
 */
const LEAD_ARENAS = 2
const PAGE = 4096

/** Words of the state both threads share (an Int32Array on a SharedArrayBuffer); the worker's source names them the same. */
const Word = {
  /** Blocks to back in all, by the worker and by the memory's own fresh arenas together. */
  Budget: 0,
  /** Blocks claimed so far: by the worker before it backs an arena, by `madeFresh`. */
  Claimed: 1,
  /** Blocks the worker has backed and sent. */
  Sent: 2,
  /** Blocks the memory has taken from what the worker sent. */
  Taken: 3,
  /** 1 once the worker is to stop. */
  Stop: 4,
  /** Bumped (and notified) whenever the main thread changes anything the worker waits for. */
  Wake: 5,
} as const
const WORDS = 6

/**
 * The worker: claims a whole arena of the budget, allocates the arena (no other thread
 * can see it until it is sent), writes each 4 KiB page once so the OS backs it, and sends it to
 * the main thread, keeping no reference. With `shared` (useSharedHostArenas) the arena is a
 * SharedArrayBuffer, which the main thread's V8 does not count as external memory (an
 * ArrayBuffer, transferred, starts a garbage collection there per arena taken). Plain
 * JavaScript, evaluated as the worker's script, so it runs the same from the sources and from
 * the build.
 */
const WORKER_SOURCE = `
const { workerData } = require('node:worker_threads')
const { state: buffer, port, block, arenaBlocks, lead, page, shared } = workerData
const s = new Int32Array(buffer)
const [BUDGET, CLAIMED, SENT, TAKEN, STOP, WAKE] = [0, 1, 2, 3, 4, 5]
for (;;) {
  const wake = Atomics.load(s, WAKE)
  if (Atomics.load(s, STOP)) break
  const claimed = Atomics.load(s, CLAIMED)
  const budget = Atomics.load(s, BUDGET)
  // Whole arenas only: the memory asks for whole ones, so a smaller rest of the budget would be
  // backed for nothing (the memory makes its last arena itself, touching only what it fills).
  if (budget - claimed < arenaBlocks || Atomics.load(s, SENT) - Atomics.load(s, TAKEN) >= lead * arenaBlocks) {
    Atomics.wait(s, WAKE, wake)
    continue
  }
  const blocks = arenaBlocks
  if (Atomics.compareExchange(s, CLAIMED, claimed, claimed + blocks) !== claimed) continue
  // A whole number of 2 MiB blocks less a page, as every host arena (hugePageFriendly).
  let arena = new Uint8Array(shared ? new SharedArrayBuffer(blocks * block - page) : new ArrayBuffer(blocks * block - page))
  let stopped = false
  for (let at = 0; at < arena.length && !stopped; at += block) {
    const end = Math.min(arena.length, at + block)
    for (let p = at; p < end; p += page) arena[p] = 0
    stopped = Atomics.load(s, STOP) !== 0
  }
  if (stopped) break
  if (shared) port.postMessage(arena.buffer)
  else port.postMessage(arena.buffer, [arena.buffer])
  arena = null
  Atomics.add(s, SENT, blocks)
  Atomics.notify(s, SENT)
}
port.close()
`

/**
 * Host memory a snapshot of `fileBytes` fills, at most: host arenas for the pages it can hold
 * (each page 4 KiB of data, 8 of address and, if tagged, 256 of tags in the file; 4 KiB of data
 * and 256 of tags in memory, 30 chunks and their tags to each 64 MiB arena).
 */
export function hostBytesForSnapshot(fileBytes: number): number {
  return Math.floor((fileBytes / (PAGE + 8 + 256)) * PAGE * (32 / 30))
}

/** Host memory a migration stream fills when its source holds `pages` pages (see hostBytesForSnapshot). */
export function hostBytesForPages(pages: number): number {
  return Math.floor(pages * PAGE * (32 / 30))
}

/** Below this much guest memory to restore, a prefault thread's start-up costs more than it saves. */
export const PREFAULT_MIN_BYTES = 64 * 2 ** 20

/** What a prefaulter did, for reports and tests. */
export interface PrefaultFigures {
  /** Bytes of arenas the worker backed and the memory took. */
  readonly suppliedBytes: number
  /** Bytes of arenas the memory made itself because none was ready. */
  readonly freshBytes: number
  /** Bytes the worker backed that nothing took (dropped when it stopped). */
  readonly unusedBytes: number
}

/**
 * Backs host memory on a second thread while this one fills it: a restore or a migration
 * destination writes every guest page into fresh memory, and the OS backing each page on its
 * first touch costs more than the rest of their work. A worker thread allocates host arenas,
 * touches every page of them, and hands them over whole (transferred, never shared); the
 * memory (`supplyTo`) takes a ready one when it needs a new arena and makes a fresh one itself
 * when none is ready, so both cores back pages and the main thread never waits. Only `back`'s
 * budget is ever backed (what the stream will fill), at most LEAD_ARENAS ahead of what the
 * memory took; `stop` ends the worker and drops what was not taken, whatever state the
 * stream is in.
 */
export class HostPrefaulter implements HostArenaSupply {
  private readonly state = new Int32Array(new SharedArrayBuffer(WORDS * 4))
  private readonly port: MessagePort
  private readonly worker: Worker
  private readonly ready: Uint8Array[] = []
  private supplied = 0
  private fresh = 0
  private unused = 0
  private stopped_ = false
  private readonly memories: { supplyHostArenas(supply: HostArenaSupply | null): boolean }[] = []
  /** Resolves once the worker thread has ended (after `stop`, or if it failed). */
  readonly exited: Promise<void>
  private static live = 0

  /** Starts the worker, idle until `back` gives it a budget (starting early hides its start-up). */
  constructor() {
    const { port1, port2 } = new MessageChannel()
    this.port = port1
    this.worker = new Worker(WORKER_SOURCE, {
      eval: true,
      // Plain JavaScript that needs no loader: without the process's --import hooks (tsx when
      // run from the sources), it starts in tens of milliseconds instead of hundreds, before the
      // memory has made several arenas itself.
      execArgv: [],
      workerData: { state: this.state.buffer, port: port2, block: BLOCK, arenaBlocks: ARENA_BLOCKS, lead: LEAD_ARENAS, page: BLOCK - hugePageFriendly(BLOCK), shared: sharedHostArenas() },
      transferList: [port2],
    })
    // Neither keeps the process alive: stop() is what ends them, and an exit ends them too.
    this.worker.unref()
    this.port.unref()
    this.worker.on('error', () => this.stop())
    HostPrefaulter.live++
    this.exited = new Promise<void>((resolve) =>
      this.worker.once('exit', () => {
        HostPrefaulter.live--
        resolve()
      }),
    )
  }

  /** Whether `stop` was called (the worker may take a moment more to end: see `running`). */
  get stopped(): boolean {
    return this.stopped_
  }

  /** Prefault worker threads of this process that have not ended yet. */
  static get running(): number {
    return HostPrefaulter.live
  }

  /**
   * Waits (blocking this thread, at most `timeoutMs`) until the worker has backed an arena the
   * memory has not taken yet; whether it has. For tests that need the worker ahead of the copy.
   */
  awaitArena(timeoutMs: number): boolean {
    const until = performance.now() + timeoutMs
    for (;;) {
      const sent = Atomics.load(this.state, Word.Sent)
      if (sent > Atomics.load(this.state, Word.Taken)) return true
      const left = until - performance.now()
      if (this.stopped_ || left <= 0) return false
      Atomics.wait(this.state, Word.Sent, sent, left)
    }
  }

  /**
   * Takes the host arenas of `machine`'s memory from this prefaulter from now on, and backs
   * `bytes` less what is backed already (the memory's own arenas: a guest restored onto a machine
   * that has its memory needs nothing; and the --prealloc reserve, which it takes first). False, and nothing backed, when the memory takes no host arenas
   * (--jit, --smp-mode threads: memory of another kind, all there from the start).
   */
  supplyTo(machine: Machine, bytes: number): boolean {
    const memory = machine.kvm.kernel.memory
    if (this.stopped_ || !memory.supplyHostArenas(this)) return false
    this.memories.push(memory)
    // Less what is backed already: the memory's own arenas, and any --prealloc reserve it takes
    // first. No more: the worker backs whole arenas only, so what the estimate falls short (the
    // pieces a memory cuts leave rests in its arenas) the memory makes itself, touching only what
    // it fills; an arena of slack was backed whole and, with the worker behind under load, often
    // taken by nobody (64 MiB of first touches for nothing in a 512 MiB migration).
    const left = bytes - memory.hostArenaBytes - prefaultedHostBytes()
    this.back(Math.max(0, left))
    return true
  }

  /** Backs `bytes` of arenas in all (counting those the memory makes itself); never lowers it. */
  back(bytes: number): void {
    const blocks = Math.ceil(bytes / BLOCK)
    if (this.stopped_ || blocks <= Atomics.load(this.state, Word.Budget)) return
    Atomics.store(this.state, Word.Budget, blocks)
    this.wake()
  }

  take(min: number, max: number): Uint8Array | undefined {
    if (this.stopped_) return undefined
    for (let message = receiveMessageOnPort(this.port); message; message = receiveMessageOnPort(this.port)) this.ready.push(new Uint8Array(message.message as ArrayBuffer))
    const index = this.ready.findIndex((arena) => arena.length >= min && arena.length <= max)
    if (index < 0) return undefined
    const [arena] = this.ready.splice(index, 1) as [Uint8Array]
    this.supplied += arena.length
    Atomics.add(this.state, Word.Taken, Math.ceil(arena.length / BLOCK))
    this.wake()
    return arena
  }

  madeFresh(bytes: number): void {
    this.fresh += bytes
    Atomics.add(this.state, Word.Claimed, Math.ceil(bytes / BLOCK))
  }

  get figures(): PrefaultFigures {
    return { suppliedBytes: this.supplied, freshBytes: this.fresh, unusedBytes: this.unused }
  }

  /**
   * Ends the worker (at once, mid-arena if need be), detaches the memories, and drops every
   * arena not taken (garbage from here on). Call it when the stream has ended, well or not.
   */
  stop(): void {
    if (this.stopped_) return
    this.stopped_ = true
    for (const memory of this.memories) memory.supplyHostArenas(null)
    Atomics.store(this.state, Word.Stop, 1)
    this.wake()
    for (let message = receiveMessageOnPort(this.port); message; message = receiveMessageOnPort(this.port)) this.ready.push(new Uint8Array(message.message as ArrayBuffer))
    for (const arena of this.ready) this.unused += arena.length
    this.ready.length = 0
    this.port.close()
    void this.worker.terminate()
  }

  private wake(): void {
    Atomics.add(this.state, Word.Wake, 1)
    Atomics.notify(this.state, Word.Wake)
  }
}

/**
 * A migration destination's prefaulter (see HostPrefaulter), started when HELLO says the source
 * holds PREFAULT_MIN_BYTES or more, and backing what the stream will fill once the machine is
 * built. Pass `expect` as receiveMigration's expectPages and `supplyTo` around the machine
 * maker; call `stop` once the stream has ended, whole or not.
 */
export class IncomingPrefault {
  private prefaulter: HostPrefaulter | undefined
  private bytes = 0

  /** HELLO: the source holds `pages` pages. */
  expect(pages: number): void {
    this.bytes = hostBytesForPages(pages)
    if (this.bytes >= PREFAULT_MIN_BYTES) this.prefaulter ??= new HostPrefaulter()
  }

  /** CONFIG: the machine the pages go to (returned as it is). */
  supplyTo(machine: Machine): Machine {
    if (this.prefaulter && !this.prefaulter.supplyTo(machine, this.bytes)) this.stop()
    return machine
  }

  /** The prefaulter's figures, if there was one (once stopped: final). */
  get figures(): PrefaultFigures | undefined {
    return this.prefaulter?.figures
  }

  /**
   * The guest has arrived (receiveMigration returned): a pre-copy guest has every page, so the
   * worker ends now, before the guest runs (a guest run without a bound keeps this thread to
   * itself, so a callback on the stream's end would come only when the guest stops, with up to
   * LEAD_ARENAS of backed memory held all that time); a post-copy guest's pages are still
   * arriving, and the worker ends with its stream.
   */
  arrived(incoming: Pick<IncomingGuest, 'postcopy' | 'complete'>): void {
    if (!incoming.postcopy) this.stop()
    else void incoming.complete.then(() => this.stop(), () => this.stop())
  }

  /** Whether a worker was started and has not been told to stop. */
  get active(): boolean {
    return this.prefaulter !== undefined && !this.prefaulter.stopped
  }

  /** The stream has ended, whole or not. */
  stop(): void {
    this.prefaulter?.stop()
  }
}
