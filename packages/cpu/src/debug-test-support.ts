// The guest loop and helpers shared by the hypervisor-debug tests of both tiers
// (debug.test.ts, jit/jit-debug.test.ts).
import type { CpuDebugConfig } from './debug.js'
import type { CpuExit } from './exits.js'

// movz x1, #0x4010, lsl #16; loop: add x0, x0, #1; str x0, [x1]; ldr x2, [x1]; b loop; brk #5
export const LOOP = [0xd2a80201, 0x91000400, 0xf9000020, 0xf9400022, 0x17fffffd, 0xd42000a0]
/** Where LOOP stores and loads. */
export const DATA = 0x4010_0000
/** No debugging at all. */
export const NONE: CpuDebugConfig = { brkExits: false, tagFaultExits: false, breakpoints: [], watchpoints: [] }

/** The exception class of a debug exit (fails on any other exit). */
export function ec(exit: CpuExit): number {
  if (exit.kind !== 'debug') throw new Error(`expected a debug exit, got ${exit.kind}`)
  return exit.esr >>> 26
}
