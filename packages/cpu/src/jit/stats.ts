// The compiled tier's counters (cpu.jit.stats): what the benches print.

import { storeAsDoubles } from '../field-shapes.js'

/** Counters for the bench's profile. */
export interface JitStats {
  regions: number
  /** WebAssembly modules compiled (a batch of regions each). */
  modules: number
  /** Queued entries not translated: they had not run again by the time their batch was made. */
  dropped: number
  /** Queued entries not translated: inside a block of a region of the same batch. */
  covered: number
  /** Hot entries not queued: the instruction before them was queued and falls through to them. */
  continued: number
  translatedInstructions: number
  codeBytes: number
  /** Host milliseconds generating and compiling translations. */
  compileMs: number
  /** Translations entered, from the run loop or (`chained`) straight from another translation. */
  entries: number
  /** Of `entries`: translations entered through the chain table, not from the run loop. */
  chained: number
  /** Instructions retired in translations. */
  retired: number
  /** Exits by cause (EXIT_BRANCH, EXIT_BUDGET, EXIT_SLOW, EXIT_STOP, EXIT_THROWN). */
  exits: [number, number, number, number, number]
  tlbFills: number
  /** Of tlbFills: uniform-tag entries made (tag-summary.ts: the key holds the pointer's tag, no check). */
  uniformFills: number
  tlbFlushes: number
  /** Of compileMs: forming regions, emitting the module, V8's compile, instantiation. */
  phaseMs: [number, number, number, number]
}

/** All counters at zero. */
export function newJitStats(): JitStats {
  const stats: JitStats = {
    regions: 0, modules: 0, dropped: 0, covered: 0, continued: 0, translatedInstructions: 0, codeBytes: 0, compileMs: 0, entries: 0, chained: 0, retired: 0,
    exits: [0, 0, 0, 0, 0], tlbFills: 0, uniformFills: 0, tlbFlushes: 0, phaseMs: [0, 0, 0, 0],
  }
  storeAsDoubles(stats, ['retired', 'compileMs'])
  return stats
}
