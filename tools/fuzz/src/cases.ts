/**
 * One fuzz case from its seed to its findings, shared by the worker processes, the
 * in-process mode and the tests; and the finding file format.
 */
import { writeFileSync, mkdirSync } from 'node:fs'
import { join } from 'node:path'
import { generateScenario, type GenerateOptions } from './generate.js'
import { scenarioImage } from './image.js'
import { runCase, type Finding } from './oracle.js'
import { PAGE } from './machine.js'
import type { ScheduledPerturbation, Scenario } from './scenario.js'

export const FINDING_FORMAT = 'tagvm-fuzz-finding/1'

export interface CaseOptions extends GenerateOptions {
  /** Add a deliberately observable perturbation (zero a page's tags): the oracle self-test. */
  readonly injectZeroTags?: boolean
  /** Spin instead of running the case: the watchdog's self-test (worker processes only). */
  readonly injectHang?: boolean
}

export interface CaseReport {
  readonly seed: string
  readonly scenario: Scenario
  readonly extra: readonly ScheduledPerturbation[]
  readonly findings: Finding[]
  readonly instructions: number
  readonly stats: Record<string, number>
  /** What kind of case it was (for the run's coverage summary). */
  readonly profile: readonly string[]
}

/** Labels for a scenario's regime: differential or chaos, MTE, MMU, entry ELs, vCPUs. */
export function scenarioProfile(s: Scenario): string[] {
  const els = new Set(s.vcpus.map((v) => ((Number(BigInt(v.spsr) & 0xfn) >> 2) === 0 ? 'EL0' : 'EL1')))
  return [s.strict ? 'differential' : 'chaos', s.mte ? 'MTE' : 'no MTE', `MMU ${s.regime.mmu === 'off' ? 'off' : `${s.regime.mmu}K`}`, ...[...els].map((el) => `entry ${el}`), `${s.vcpus.length} vCPU`]
}

/**
 * The injected perturbation for a scenario: zero the tags of the first page the VMM gave
 * non-zero tags, before the first slice. None when the scenario has no such page.
 */
export function zeroTagInjection(s: Scenario): ScheduledPerturbation[] {
  if (!s.mte) return []
  for (const [slotId, image] of scenarioImage(s)) {
    const slot = s.slots.find((x) => x.slot === slotId)
    if (!slot) continue
    for (const [page, tags] of image.tags) {
      if (tags.some((t) => t !== 0)) return [{ at: 0, op: { kind: 'inject-zero-tags', gpa: slot.gpa + page * PAGE, length: PAGE } }]
    }
  }
  return []
}

export function runSeed(seed: string, options: CaseOptions = {}): CaseReport {
  const scenario = generateScenario(seed, options)
  const extra = options.injectZeroTags ? zeroTagInjection(scenario) : []
  const result = runCase(scenario, extra)
  const stats: Record<string, number> = {}
  for (const outcome of [result.reference, result.perturbed]) {
    for (const [k, v] of Object.entries(outcome.stats)) stats[k] = (stats[k] ?? 0) + v
  }
  return { seed, scenario, extra, findings: result.findings, instructions: result.instructions, stats, profile: scenarioProfile(scenario) }
}

export interface FindingFile {
  readonly format: typeof FINDING_FORMAT
  readonly kind: Finding['kind']
  readonly summary: string
  readonly details: readonly string[]
  readonly caseSeed: string
  readonly minimized: boolean
  readonly trials: number
  readonly replay: string
  readonly extra: readonly ScheduledPerturbation[]
  readonly scenario: Scenario
}

/** Writes a finding as replayable JSON; returns its path. */
export function writeFinding(dir: string, name: string, file: Omit<FindingFile, 'format' | 'replay'>, replayPath: (path: string) => string): string {
  mkdirSync(dir, { recursive: true })
  const path = join(dir, `${name}.json`)
  const body: FindingFile = { format: FINDING_FORMAT, ...file, replay: `pnpm fuzz --replay ${replayPath(path)}` }
  writeFileSync(path, `${JSON.stringify(body, null, 1)}\n`)
  return path
}
