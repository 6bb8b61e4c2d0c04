// Test support: one run of the smp-stress guest on vCPU threads with stale tags planted, and
// the checks every such run must pass; and one run of the smp-mixed guest (plain stores among
// atomics on the same words) under the same randomised thread timing. Shared by threads.test.ts
// and bench/smp-stress-soak.ts (which runs thousands of them).
import { readFileSync } from 'node:fs'
import { Machine } from '../index.js'
import type { VcpuThreadSpawner } from './threads.js'

const GUESTS = new URL('../../../../guests/', import.meta.url)
const STRESS = readFileSync(new URL('smp-stress/smp-stress.elf', GUESTS))
const QEMU_OUTPUT = new Map([2, 3, 4].map((cpus) => [cpus, readFileSync(new URL(`smp-stress/qemu-smp${cpus}.out`, GUESTS), 'utf8')]))
const MIXED = readFileSync(new URL('smp-mixed/smp-mixed.elf', GUESTS))
const MIXED_QEMU_OUTPUT = new Map([2, 3, 4].map((cpus) => [cpus, readFileSync(new URL(`smp-mixed/qemu-smp${cpus}.out`, GUESTS), 'utf8')]))

/** One randomised run: how many vCPUs, when each thread starts, and its KVM_RUN slice. */
export interface StressCase {
  readonly cpus: number
  readonly startDelays: readonly number[]
  readonly slice: number
}

/** Draws cases from a seed, so a failing one can be named and rerun. */
export function stressCases(seed: number): () => StressCase {
  let state = seed >>> 0
  const random = () => (state = (state * 1103515245 + 12345) >>> 0) / 2 ** 32
  return () => {
    const cpus = 2 + Math.floor(random() * 3)
    const startDelays = Array.from({ length: cpus }, () => Math.floor(random() * 30))
    const slice = [5_000, 50_000, 200_000][Math.floor(random() * 3)]!
    return { cpus, startDelays, slice }
  }
}

export function describeCase(c: StressCase): string {
  return `${c.cpus} vCPUs, delays ${c.startDelays.join('/')} ms, slice ${c.slice}`
}

/** What one run showed; `problems` is empty when every check held. */
export interface StressOutcome {
  readonly problems: string[]
  readonly threadCleans: number
  readonly hostInits: number
  readonly hostFaults: number
}

/** A 16 MiB machine with the case's vCPU threads, its console collected in `output()`. */
function caseMachine(c: StressCase, spawn: VcpuThreadSpawner): { machine: Machine; output: () => string } {
  let output = ''
  const machine = Machine.create(
    { ramBase: 0x4000_0000, ramSize: 16 << 20, cpus: c.cpus, mte: true, backing: 'anon', clock: 'host' },
    { console: (b) => (output += new TextDecoder().decode(b)) },
    { threads: { spawn, startDelays: [...c.startDelays], slice: c.slice } },
  )
  return { machine, output: () => output }
}

/**
 * Runs the stress guest once on threads, every frame's tags first set to 0xf (a page mapped
 * before its tags are cleaned would show them), and checks: power-off; output equal to QEMU's
 * for that many CPUs; each frame's tags made valid exactly once, by the host (faulting a
 * PROT_MTE page in for a thread) or by a thread's stage-2 fault, the winners adding up to the
 * frames marked tagged; the host fault path used; every vCPU retired instructions.
 */
export function runStressCase(c: StressCase, spawn: VcpuThreadSpawner): StressOutcome {
  const { machine, output: printed } = caseMachine(c, spawn)
  try {
    machine.kvm.kernel.memory.setTags(0, 64 << 20, 0xf)
    machine.boot(STRESS, 'smp-stress.elf')
    const stop = machine.run()
    const problems: string[] = []
    const output = printed()
    if (stop.kind !== 'power-off') problems.push(`stopped with ${JSON.stringify(stop)}`)
    if (output !== QEMU_OUTPUT.get(c.cpus)) problems.push(`output differs from QEMU's:\n${output}`)
    const stats = machine.smpStats()!
    const memory = machine.kvm.kernel.memory
    let tagged = 0
    for (let pfn = 0; pfn < memory.frameCount; pfn++) if (memory.isTagged(pfn)) tagged++
    const hostInits = machine.kvm.kernel.stats.tagInits
    if (hostInits + stats.tagPagesCleaned !== tagged) problems.push(`${hostInits} host inits + ${stats.tagPagesCleaned} thread cleans != ${tagged} tagged frames`)
    if (stats.hostFaults < 32) problems.push(`only ${stats.hostFaults} host faults`)
    if (!stats.retired.every((n) => n > 0)) problems.push(`a vCPU retired nothing: ${stats.retired.join('/')}`)
    return { problems, threadCleans: stats.tagPagesCleaned, hostInits, hostFaults: stats.hostFaults }
  } finally {
    machine.close()
  }
}

/**
 * Runs the smp-mixed guest once under the case's thread timing: each CPU counts in its own
 * halfword with plain stores while every CPU rewrites the whole words with atomics that change
 * nothing. An atomic that overwrote another CPU's plain store would lose a count, so the output
 * must be QEMU's (every count exact) and the guest must power off.
 */
export function runMixedCase(c: StressCase, spawn: VcpuThreadSpawner): string[] {
  const { machine, output: printed } = caseMachine(c, spawn)
  try {
    machine.boot(MIXED, 'smp-mixed.elf')
    const stop = machine.run()
    const problems: string[] = []
    if (stop.kind !== 'power-off') problems.push(`stopped with ${JSON.stringify(stop)}`)
    if (printed() !== MIXED_QEMU_OUTPUT.get(c.cpus)) problems.push(`smp-mixed output differs from QEMU's:\n${printed()}`)
    return problems
  } finally {
    machine.close()
  }
}
