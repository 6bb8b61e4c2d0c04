// The short slice of `pnpm fuzz` the test suite runs: fixed seeds, about 200k guest
// instructions over both runs of each case, every oracle on.
import { expect, test } from 'vitest'
import { runSeed } from './cases.js'

const SEEDS: readonly { seed: string; strict: boolean }[] = [
  ...[0, 1, 2, 3, 4, 5].map((i) => ({ seed: `suite:${i}`, strict: true })),
  ...[0, 1].map((i) => ({ seed: `suite-chaos:${i}`, strict: false })),
]

test('a fixed slice of the fuzzer finds nothing, and covers the regimes and perturbations', () => {
  const stats: Record<string, number> = {}
  const regimes = new Set<string>()
  let instructions = 0
  for (const { seed, strict } of SEEDS) {
    const report = runSeed(seed, { strict, instructions: 14_000 })
    expect(report.findings, `case ${seed}`).toEqual([])
    instructions += report.instructions
    regimes.add(`mmu-${report.scenario.regime.mmu}`)
    regimes.add(report.scenario.mte ? 'mte' : 'no-mte')
    for (const [k, v] of Object.entries(report.stats)) stats[k] = (stats[k] ?? 0) + v
  }
  expect(instructions).toBeGreaterThan(150_000)
  // What the slice exercised (a change to the generator that loses any of it fails here).
  for (const key of ['guest-exceptions', 'exit.mmio', 'perturb.swap', 'perturb.migrate-pages', 'perturb.copy-tags', 'perturb.one-reg', 'vm-migrations']) {
    expect(stats[key] ?? 0, key).toBeGreaterThan(0)
  }
  expect([...regimes].sort()).toEqual(expect.arrayContaining(['mte', 'mmu-4', 'mmu-off']))
})
