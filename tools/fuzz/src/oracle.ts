/**
 * The oracles: no host exception, no oracle violation inside a run (budget, exits,
 * immediate_exit, COPY_TAGS counts), and for strict scenarios the differential: the run
 * with host perturbations ends exactly as the run without.
 */
import { registerName } from './names.js'
import { runScenario, type Outcome, type RunOptions } from './run.js'
import type { Scenario } from './scenario.js'

export type FindingKind = 'host-exception' | 'violation' | 'differential' | 'hang'

export interface Finding {
  readonly kind: FindingKind
  /** One line saying what went wrong. */
  readonly summary: string
  /** Details: the differences, or the stack. */
  readonly details: readonly string[]
}

export interface CaseResult {
  readonly reference: Outcome
  readonly perturbed: Outcome
  readonly findings: Finding[]
  /** Guest instructions both runs retired together. */
  readonly instructions: number
}

/** Runs a scenario with and without perturbations and applies every oracle. */
export function runCase(s: Scenario, extra?: RunOptions['extra']): CaseResult {
  const reference = runScenario(s, { perturb: false })
  const perturbed = runScenario(s, { perturb: true, ...(extra ? { extra } : {}) })
  const findings: Finding[] = []
  for (const [name, outcome] of [
    ['reference', reference],
    ['perturbed', perturbed],
  ] as const) {
    if (outcome.error) {
      findings.push({
        kind: 'host-exception',
        summary: `${name} run: ${outcome.error.name}: ${firstLine(outcome.error.message)}`,
        details: outcome.error.stack.split('\n').slice(0, 12),
      })
    }
    for (const v of outcome.violations) findings.push({ kind: 'violation', summary: `${name} run: ${v}`, details: [] })
  }
  if (s.strict && !reference.error && !perturbed.error) {
    const differences = compareOutcomes(reference, perturbed)
    if (differences.length > 0) {
      findings.push({
        kind: 'differential',
        summary: `the perturbed run differs: ${[...new Set(differences.map((d) => d.split(' ')[0]))].join(', ')}`,
        details: differences.slice(0, 40),
      })
    }
  }
  return { reference, perturbed, findings, instructions: reference.retired + perturbed.retired }
}

/** What differs between two outcomes, one line each ("component detail"). */
export function compareOutcomes(a: Outcome, b: Outcome): string[] {
  const out: string[] = []
  const n = Math.max(a.exits.length, b.exits.length)
  for (let i = 0; i < n; i++) {
    if (a.exits[i] !== b.exits[i]) {
      out.push(`exits #${i}: ${a.exits[i] ?? '(none)'} vs ${b.exits[i] ?? '(none)'} (${a.exits.length} vs ${b.exits.length} exits)`)
      break
    }
  }
  if (a.retired !== b.retired) out.push(`retired ${a.retired} vs ${b.retired}`)
  for (const key of new Set([...a.registers.keys(), ...b.registers.keys()])) {
    const x = a.registers.get(key)
    const y = b.registers.get(key)
    if (x !== y) {
      const [vcpu, id] = key.split(':') as [string, string]
      out.push(`registers vCPU ${vcpu} ${registerName(BigInt(`0x${id}`))}: 0x${x ?? '-'} vs 0x${y ?? '-'}`)
    }
  }
  if (a.mpStates.join() !== b.mpStates.join()) out.push(`mp-state ${a.mpStates.join()} vs ${b.mpStates.join()}`)
  for (const [what, x, y] of [
    ['memory', a.memory, b.memory],
    ['tags', a.tags, b.tags],
  ] as const) {
    const pages = [...new Set([...x.keys(), ...y.keys()])].filter((k) => x.get(k) !== y.get(k))
    if (pages.length > 0) out.push(`${what} differs in ${pages.length} page(s) (slot:page) ${pages.slice(0, 8).join(' ')}`)
  }
  return out
}

/**
 * What a finding is about, without run-specific numbers: a reduced case must keep the
 * same signature to count as the same bug.
 */
export function signature(f: Finding): string {
  if (f.kind === 'differential') return 'differential'
  return `${f.kind}:${f.summary.replace(/0x[0-9a-f]+|\b[0-9a-f]{5,}\b|\d+/gi, '#')}`
}

function firstLine(text: string): string {
  return text.split('\n')[0] ?? ''
}
