// Soak: thousands of randomised runs of the smp-stress guest on vCPU threads (issue 18's "under
// thousands of randomized runs with varying thread timing"). Each run draws its vCPU count (2-4),
// per-thread start delays (0-29 ms) and KVM_RUN slice from a seed, plants stale tags in every
// frame, and checks what threads.test.ts checks (runStressCase). Every third run is the smp-mixed
// guest under the same drawn timing instead (runMixedCase: plain stores among atomics on the same
// words, every count exact), since smp-stress never mixes the two. The threads load the *built*
// @tagvm/vmm-api (run `pnpm build` first): a worker that loads TypeScript through tsx takes
// seconds to start, a built one milliseconds.
//   SOAK_RUNS=N (default 1000), SOAK_SEED=S (default: from the clock, printed), SOAK_LOG=1
// Exit status 1 if any run failed; every failure is printed with its case and seed.
import { Worker } from 'node:worker_threads'
import { loadavg } from 'node:os'
import { vcpuThreadBootSource, type VcpuThreadSpawner } from '../src/index.js'
import { describeCase, runMixedCase, runStressCase, stressCases, type StressCase } from '../src/smp/stress.test-support.js'

const BUILT_VMM_API = new URL('../../vmm-api/dist/index.js', import.meta.url).href
// execArgv: [] so the worker does not inherit tsx's `--conditions=source` and load sources.
const spawnBuiltWorker: VcpuThreadSpawner = (init) => new Worker(vcpuThreadBootSource(BUILT_VMM_API), { eval: true, workerData: init, execArgv: [] })

const runs = Number(process.env.SOAK_RUNS ?? 1000)
const seed = Number(process.env.SOAK_SEED ?? Date.now() % 2 ** 31)
const nextCase = stressCases(seed)
const started = performance.now()
const byCpus = new Map<number, number>()
let failed = 0
let mixedRuns = 0
function stressOutcome(c: StressCase): { problems: string[]; detail: string } {
  const outcome = runStressCase(c, spawnBuiltWorker)
  return { problems: outcome.problems, detail: ` (${outcome.threadCleans} thread cleans, ${outcome.hostInits} host inits)` }
}
console.log(`smp-stress soak: ${runs} runs from seed ${seed} (load ${loadavg().map((l) => l.toFixed(2)).join(' ')})`)
for (let run = 0; run < runs; run++) {
  const c = nextCase()
  const mixed = run % 3 === 2
  const guest = mixed ? 'smp-mixed' : 'smp-stress'
  const outcome = mixed ? { problems: runMixedCase(c, spawnBuiltWorker), detail: '' } : stressOutcome(c)
  byCpus.set(c.cpus, (byCpus.get(c.cpus) ?? 0) + 1)
  if (mixed) mixedRuns++
  if (outcome.problems.length > 0) {
    failed++
    console.log(`FAILED run ${run} (seed ${seed}), ${guest}: ${describeCase(c)}\n  ${outcome.problems.join('\n  ')}`)
  } else if (process.env.SOAK_LOG) {
    console.log(`run ${run}, ${guest}: ${describeCase(c)}: ok${outcome.detail}`)
  }
  if ((run + 1) % 50 === 0) console.log(`${run + 1} runs, ${failed} failed, ${((performance.now() - started) / 1000).toFixed(0)} s (load ${loadavg()[0]!.toFixed(2)})`)
}
const mix = [...byCpus].sort(([a], [b]) => a - b).map(([cpus, n]) => `${n}x${cpus}`).join(', ')
console.log(`smp-stress soak: ${runs - failed} of ${runs} runs passed (${mix} vCPUs; ${mixedRuns} of them smp-mixed), seed ${seed}, ${((performance.now() - started) / 1000).toFixed(0)} s`)
process.exitCode = failed > 0 ? 1 : 0
