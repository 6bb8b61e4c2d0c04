// The fuzzer as a library: generate a case from a seed, run it with every oracle, shrink a
// failure. `pnpm fuzz` (src/cli.ts) drives these from worker processes.
export { generateScenario, type GenerateOptions } from './generate.js'
export { runSeed, zeroTagInjection, type CaseOptions, type CaseReport, type FindingFile, FINDING_FORMAT } from './cases.js'
export { runCase, compareOutcomes, signature, type CaseResult, type Finding, type FindingKind } from './oracle.js'
export { runScenario, type Outcome, type RunOptions } from './run.js'
export { minimize, type MinimizeOptions, type MinimizeResult } from './minimize.js'
export { avoidReason, randomWord, type WordPolicy } from './words.js'
export { Rng, caseSeed } from './rng.js'
export {
  SCENARIO_FORMAT,
  scenarioInstructions,
  type Backing,
  type MigrationTarget,
  type PageKind,
  type PageSpec,
  type Perturbation,
  type Regime,
  type Scenario,
  type ScheduledPerturbation,
  type SlotSpec,
  type VcpuSpec,
} from './scenario.js'
