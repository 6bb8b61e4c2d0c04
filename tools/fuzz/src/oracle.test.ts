// The oracles catch what they are for: a perturbation the guest can observe (zeroed tags),
// a VMM that migrates without completing an answered MMIO access (issue 21 item 4), and a
// host exception; the minimiser shrinks such a case and keeps the failure.
import { expect, test } from 'vitest'
import { runSeed, zeroTagInjection } from './cases.js'
import { movz } from './encode.js'
import { MMIO_GPA } from './layout.js'
import { minimize } from './minimize.js'
import { compareOutcomes, runCase, signature } from './oracle.js'
import { runScenario } from './run.js'
import { findScenario, programScenario } from './test-support.js'

test('zeroing a page of tags through KVM_ARM_MTE_COPY_TAGS is reported, and the minimised case keeps only that', async () => {
  const s = findScenario('oracle-tags', (x) => x.mte && x.perturbations.length >= 3 && x.slices.length >= 4 && zeroTagInjection(x).length > 0, 20_000)
  const extra = zeroTagInjection(s)
  expect(runCase(s).findings).toEqual([])
  const result = runCase(s, extra)
  const differential = result.findings.find((f) => f.kind === 'differential')
  expect(differential?.details.some((d) => d.startsWith('tags differs'))).toBe(true)
  // The minimiser drops everything that does not matter (the injection is not part of the scenario).
  const small = await minimize(s, differential ?? result.findings[0]!, { maxTrials: 6, extra })
  expect(small.scenario.perturbations).toEqual([])
  expect(signature(small.finding)).toBe('differential')
  expect(runCase(small.scenario, extra).findings.map((f) => f.kind)).toContain('differential')
})

test('the CLI path reports the injected perturbation too', () => {
  // Same seeds as `pnpm fuzz --inject-zero-tags`: the case options carry the injection.
  let seen = false
  for (let i = 0; i < 20 && !seen; i++) {
    const report = runSeed(`oracle-cli:${i}`, { strict: true, instructions: 3000, injectZeroTags: true })
    if (report.extra.length === 0) continue
    expect(report.findings.map((f) => f.kind)).toContain('differential')
    seen = true
  }
  expect(seen).toBe(true)
})

test('a VMM that migrates without KVM_RUN + immediate_exit repeats an MMIO read, and the differential sees it', () => {
  // 1: ldr w3, [x9]; add x4, x4, x3; b 1b — an MMIO read loop; every slice ends right after
  // the read exits (answered, not completed), and the VM migrates at slice 3.
  const loop = [0xb9400123, 0x8b030084, 0x17fffffe]
  const base = programScenario('careless', [movz(9, MMIO_GPA >>> 16, 16), ...loop], { mmu: 4, el: 1, mte: true, instructions: 50 })
  const s = { ...base, slices: [300, 20, 20, 20, 20], yieldOnMmio: 1, perturbations: [{ at: 3, op: { kind: 'migrate-vm', target: 'other-host' } as const }] }
  expect(runCase(s).findings).toEqual([])
  const careful = runScenario(s, { perturb: true })
  const careless = runScenario(s, { perturb: true, skipImmediateExit: true })
  const reference = runScenario(s, { perturb: false })
  expect(compareOutcomes(reference, careful)).toEqual([])
  const differences = compareOutcomes(reference, careless)
  expect(differences.some((d) => d.startsWith('exits'))).toBe(true)
})

test('a host exception in a run is a finding with its stack', () => {
  const s = findScenario('oracle-exception', (x) => x.slots.length >= 2)
  // Two memslots over the same guest addresses: KVM_SET_USER_MEMORY_REGION fails (EEXIST).
  const broken = { ...s, slots: s.slots.map((slot, i) => (i === 1 ? { ...slot, gpa: s.slots[0]!.gpa } : slot)) }
  const findings = runCase(broken).findings
  expect(findings.map((f) => f.kind)).toEqual(['host-exception', 'host-exception'])
  expect(findings[0]?.summary).toMatch(/KvmError: KVM_SET_USER_MEMORY_REGION/)
  expect(findings[0]?.details.join('\n')).toMatch(/at /)
})
