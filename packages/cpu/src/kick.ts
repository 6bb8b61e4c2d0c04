// A kick from another thread: a word in shared memory that the CPU's run loop loads once per
// block (at most 255 instructions) while a run goes on; once the word is no longer the value
// it was given, the run ends at that instruction boundary (the budget exit, `kicked` set), as
// a signal ends KVM_RUN. vCPU threads give it their signal word (hypervisor smp/vcpu-thread.ts).
// The compiled tier is not reached: its stop flag is in its own per-thread wasm memory.

/** The kick word a CPU watches while it runs (`Cpu.kick`). */
export class CpuKick {
  /** The shared words, or null while nothing is watched. */
  words: Int32Array | null = null
  at = 0
  value = 0
  /** The run since the last `watch` ended early because the word moved. */
  kicked = false

  /** Watches `words[at]` for a change from `value` (from the next run on); `null` stops watching. */
  watch(words: Int32Array | null, at = 0, value = 0): void {
    this.kicked = false
    this.words = words
    this.at = at
    this.value = value
  }

  /** @internal The run loop's check (words non-null): whether the word moved; sets `kicked`. */
  moved(words: Int32Array): boolean {
    return (this.kicked = Atomics.load(words, this.at) !== this.value)
  }
}
