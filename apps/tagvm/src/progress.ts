/** Where progress goes: standard error normally. */
export interface ProgressStream {
  write(text: string): unknown
  readonly isTTY?: boolean
  readonly columns?: number
}

const MiB = 1024 * 1024
const mib = (n: number): string => (n / MiB).toFixed(1)

/**
 * Progress of a transfer measured in bytes (snapshot, restore, migration). On a terminal it
 * redraws one bar in place; otherwise it prints a plain line at every 10% (and at the end),
 * so logs stay readable. Updates that would not change the output print nothing.
 */
export class ProgressReporter {
  private lastDrawn = -1
  private finished = false

  constructor(
    private readonly stream: ProgressStream,
    private readonly label: string,
    private total: number,
  ) {
    if (!Number.isFinite(total) || total < 0) throw new RangeError(`progress total must be a non-negative number, got ${total}`)
  }

  /** Changes the expected total (migration rounds grow it as pages are dirtied again). */
  setTotal(total: number): void {
    if (!Number.isFinite(total) || total < 0) throw new RangeError(`progress total must be a non-negative number, got ${total}`)
    this.total = total
  }

  update(done: number, note = ''): void {
    if (this.finished) throw new RangeError(`progress '${this.label}' updated after finish()`)
    const fraction = this.total === 0 ? 1 : Math.min(1, Math.max(0, done / this.total))
    if (this.stream.isTTY) {
      const percent = Math.floor(fraction * 1000) // redraw at every 0.1%
      if (percent === this.lastDrawn) return
      this.lastDrawn = percent
      this.stream.write(`\r${this.bar(fraction, done, note)}`)
    } else {
      const step = Math.floor(fraction * 10)
      if (step === this.lastDrawn || step === 10) return
      this.lastDrawn = step
      if (step === 0) return
      this.stream.write(`${this.label}: ${step * 10}% (${mib(done)} of ${mib(this.total)} MiB)${note ? ` ${note}` : ''}\n`)
    }
  }

  finish(done: number, note = ''): void {
    if (this.finished) return
    this.finished = true
    if (this.stream.isTTY) this.stream.write(`\r${this.bar(1, done, note)}\n`)
    else this.stream.write(`${this.label}: done, ${mib(done)} MiB${note ? ` ${note}` : ''}\n`)
  }

  private bar(fraction: number, done: number, note: string): string {
    const text = ` ${(fraction * 100).toFixed(1).padStart(5)}% ${mib(done)}/${mib(this.total)} MiB${note ? ` ${note}` : ''}`
    const columns = this.stream.columns ?? 80
    const width = Math.max(10, Math.min(50, columns - this.label.length - text.length - 4))
    const filled = Math.round(fraction * width)
    const line = `${this.label} [${'#'.repeat(filled)}${' '.repeat(width - filled)}]${text}`
    // pad so a shorter redraw erases the previous one
    return line.padEnd(Math.min(columns - 1, Math.max(line.length, 60)))
  }
}
