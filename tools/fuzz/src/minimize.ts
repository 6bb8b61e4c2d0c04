/**
 * Shrinks a failing scenario while it keeps failing the same way: drops perturbations,
 * cuts slices off the end, turns code words into NOPs, drops the VMM's initial data.
 * Greedy delta debugging over each list, bounded by a trial count and a deadline.
 */
import { NOP } from './encode.js'
import { runCase, signature, type Finding } from './oracle.js'
import type { ScheduledPerturbation, Scenario } from './scenario.js'

export interface MinimizeOptions {
  /** Most candidate runs (each runs the scenario twice). */
  readonly maxTrials?: number
  /** Wall-clock limit in milliseconds. */
  readonly deadlineMs?: number
  /** Perturbations the case was run with beyond its own (an injected one). */
  readonly extra?: readonly ScheduledPerturbation[]
  /** Called between trials (lets a worker process talk to its parent). */
  readonly onTrial?: (trials: number, best: Scenario) => Promise<void> | void
}

export interface MinimizeResult {
  readonly scenario: Scenario
  readonly finding: Finding
  readonly trials: number
}

/** Reduces `scenario` keeping a finding with the signature of `target`. */
export async function minimize(scenario: Scenario, target: Finding, options: MinimizeOptions = {}): Promise<MinimizeResult> {
  const want = signature(target)
  const maxTrials = options.maxTrials ?? 400
  const deadline = Date.now() + (options.deadlineMs ?? 60_000)
  let best = scenario
  let bestFinding = target
  let trials = 0
  const budgetLeft = (): boolean => trials < maxTrials && Date.now() < deadline

  const fails = async (candidate: Scenario): Promise<boolean> => {
    trials++
    const found = runCase(candidate, options.extra).findings.find((f) => signature(f) === want)
    await options.onTrial?.(trials, best)
    if (!found) return false
    best = candidate
    bestFinding = found
    return true
  }

  /** ddmin-style: try removing chunks of a list, halving the chunk size. */
  const shrinkList = async <T>(items: readonly T[], rebuild: (kept: readonly T[]) => Scenario): Promise<void> => {
    let current = items
    for (let chunk = Math.max(1, Math.ceil(current.length / 2)); chunk >= 1 && budgetLeft(); chunk = chunk === 1 ? 0 : Math.ceil(chunk / 2)) {
      for (let start = 0; start < current.length && budgetLeft(); ) {
        const kept = [...current.slice(0, start), ...current.slice(start + chunk)]
        if (await fails(rebuild(kept))) current = kept
        else start += chunk
      }
    }
  }

  // 1. Perturbations.
  await shrinkList(best.perturbations, (kept) => ({ ...best, perturbations: kept }))

  // 2. The end of the run: the shortest prefix of slices that still fails.
  {
    let lo = 1
    let hi = best.slices.length
    while (lo < hi && budgetLeft()) {
      const mid = (lo + hi) >> 1
      const cut = best
      if (await fails({ ...cut, slices: cut.slices.slice(0, mid), perturbations: cut.perturbations.filter((p) => p.at < mid) })) hi = mid
      else lo = mid + 1
    }
  }

  // 3. The last slice's budget.
  {
    const last = best.slices.length - 1
    let lo = 1
    let hi = best.slices[last] as number
    while (lo < hi && budgetLeft()) {
      const mid = (lo + hi) >> 1
      if (await fails({ ...best, slices: [...best.slices.slice(0, last), mid] })) hi = mid
      else lo = mid + 1
    }
  }

  // 4. Code words: NOP out chunks (positions stay, so branches keep their targets).
  {
    const live = best.code.map((w, i) => (w === NOP ? -1 : i)).filter((i) => i >= 0)
    await shrinkList(live, (kept) => {
      const keep = new Set(kept)
      return { ...best, code: best.code.map((w, i) => (keep.has(i) ? w : NOP)) }
    })
  }

  // 5. Initial data pages.
  await shrinkList(best.filledPages, (kept) => ({ ...best, filledPages: kept }))

  return { scenario: best, finding: bestFinding, trials }
}
