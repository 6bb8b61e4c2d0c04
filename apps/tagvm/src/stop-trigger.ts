/** Something that delivers signals: `process`, or an EventEmitter in tests. */
export interface SignalSource {
  on(signal: 'SIGUSR1' | 'SIGUSR2' | 'SIGINT' | 'SIGTERM', listener: () => void): unknown
  off(signal: 'SIGUSR1' | 'SIGUSR2' | 'SIGINT' | 'SIGTERM', listener: () => void): unknown
}

/**
 * When `tagvm snapshot` / `migrate send` / `tags` act on a running guest: after N guest
 * instructions, or when a signal (SIGUSR1) arrives. The run loop asks `sliceBudget` how many
 * instructions to give the next `vcpu.run()`, so an instruction count is hit exactly, and
 * checks `fired` between slices, so a signal takes effect at the next slice boundary. Node
 * delivers signals on the event loop, so a loop that wants them must yield between slices
 * (e.g. `await new Promise(setImmediate)`); a fully synchronous run never sees one.
 */
export class StopTrigger {
  private signalled = false
  private readonly listener = (): void => {
    this.signalled = true
  }
  private readonly source: SignalSource | undefined

  constructor(
    private readonly options: { readonly afterInsns?: number; readonly signal?: 'SIGUSR1' | 'SIGUSR2'; readonly signals?: SignalSource } = {},
  ) {
    const after = options.afterInsns
    if (after !== undefined && (!Number.isSafeInteger(after) || after < 1)) throw new RangeError(`afterInsns must be a positive integer, got ${after}`)
    if (after === undefined || options.signal !== undefined) {
      this.source = options.signals ?? process
      this.source.on(options.signal ?? 'SIGUSR1', this.listener)
    }
  }

  /** Instructions the next slice may run, given `executed` so far and the loop's usual slice. */
  sliceBudget(executed: number, slice: number): number {
    if (!Number.isSafeInteger(slice) || slice < 1) throw new RangeError(`slice must be a positive integer, got ${slice}`)
    const after = this.options.afterInsns
    return after === undefined ? slice : Math.max(0, Math.min(slice, after - executed))
  }

  fired(executed: number): boolean {
    return this.signalled || (this.options.afterInsns !== undefined && executed >= this.options.afterInsns)
  }

  /** Removes the signal handler (the signal's default action returns). */
  dispose(): void {
    this.source?.off(this.options.signal ?? 'SIGUSR1', this.listener)
  }
}
