// Test and script helper (not exported): runs the QEMU-recorded differential FP/SIMD guests
// (guests/fpsimd/*) on this CPU, whole or for a prefix of their instructions.
//
// A guest prints one line per form. A prefix run stops after a budget of instructions and
// compares the lines printed so far with the first lines QEMU printed. (Running a chosen
// subset of forms by rewriting the guest's form table does not work: clang specialised the
// driver on the constant table by form index, and QEMU 10 itself faults when a later form
// is copied to the front; see guests/fpsimd/README.md.)

import { readFileSync } from 'node:fs'
import { GUESTS, runGuest } from './guest-runner.js'
import type { JitOptions } from './jit/jit.js'

/** The FP/SIMD differential guests under guests/fpsimd. */
export const FPSIMD_GUESTS = [
  'crypto', 'fp-scalar', 'fp-convert', 'fp-convert-simd', 'fp-vector', 'fp-vector-misc', 'fp-simd', 'fp-simd-scalar',
  'int-three', 'int-misc', 'int-shift', 'int-element', 'int-permute',
] as const

export interface FpsimdRun {
  /** The complete lines the guest printed on this CPU. */
  readonly output: string
  /** As many lines of QEMU 10's recording (all of them for a whole run). */
  readonly expected: string
  /** Form lines compared. */
  readonly forms: number
  readonly instructions: number
  readonly finished: boolean
  /** With the compiled tier: the share of the instructions retired in translations (else 0). */
  readonly translatedShare: number
}

/** Runs guests/fpsimd/<guest> whole, or for `budget` instructions; with `jit`, on the compiled tier. */
export function runFpsimdGuest(guest: string, budget?: number, jit?: JitOptions): FpsimdRun {
  const recorded = readFileSync(`${GUESTS}fpsimd/${guest}/qemu.out`, 'latin1')
  const run = runGuest(`fpsimd/${guest}`, budget ?? 4_000_000_000, true, undefined, jit)
  if (budget === undefined && !run.poweredOff) throw new Error(`${guest}: did not finish`)
  const output = run.output.slice(0, run.output.lastIndexOf('\n') + 1)
  const lines = output.split('\n').length - 1
  const expected = recorded.split('\n').slice(0, lines).join('\n') + (lines > 0 ? '\n' : '')
  // The header line and, for a whole run, the total line are not forms.
  const forms = Math.max(0, lines - 1 - (run.poweredOff ? 1 : 0))
  const translatedShare = (run.machine.cpu.jit?.stats.retired ?? 0) / run.instructions
  return { output, expected, forms, instructions: run.instructions, finished: run.poweredOff, translatedShare }
}
