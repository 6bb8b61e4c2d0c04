#!/usr/bin/env node
/**
 * `pnpm fuzz`: seeded whole-VM fuzzing through @tagvm/vmm-api.
 *
 *   pnpm fuzz --seed S --insns 1e8 --jobs 2     fuzz until 10^8 guest instructions
 *   pnpm fuzz --replay tools/fuzz/findings/X.json   replay a finding
 *   pnpm fuzz --case S:17                        run one case from its seed
 */
import { fork, type ChildProcess } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { relative, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'
import { randomBytes } from 'node:crypto'
import { runSeed, writeFinding, type CaseOptions, type FindingFile } from './cases.js'
import { generateScenario } from './generate.js'
import { minimize } from './minimize.js'
import { runCase, type Finding } from './oracle.js'
import type { ParentMessage, WorkerMessage } from './protocol.js'
import { caseSeed } from './rng.js'
import { SCENARIO_FORMAT, type ScheduledPerturbation, type Scenario } from './scenario.js'

const HELP = `usage: pnpm fuzz [options]

  --seed S             run seed (default: random); case i uses seed "S:i"
  --insns N            guest instructions to run in total, both runs of each case (default 2e6)
  --jobs J             worker processes (default 2; 0 runs in this process, without watchdog)
  --case-timeout SEC   a case (or a minimisation step) silent this long is a hang (default 120)
  --minimize-seconds S time to shrink each finding (default 60); --no-minimize to skip
  --max-findings N     stop after N findings (default 20)
  --strict | --chaos   only differential / only chaos scenarios
  --keep-known         do not avoid what known findings make observable (FINDINGS.md F1, F3)
  --case-insns N       guest instructions per run of each case (default: drawn, 20k-250k)
  --inject-zero-tags   oracle self-test: zero one page's tags in the perturbed run (must be reported)
  --inject-hang        watchdog self-test: the worker spins forever on each case (must be reported)
  --findings DIR       where to write findings (default tools/fuzz/findings)
  --replay FILE        replay a finding (or a bare scenario) and print what it finds
  --case SEED          run the case with this seed and print what it finds
`

const packageDir = fileURLToPath(new URL('..', import.meta.url))
/** pnpm runs scripts in the package or root directory; paths on the command line are the user's. */
const userDir = process.env.INIT_CWD ?? process.cwd()

interface Settings {
  readonly seed: string
  readonly insns: number
  readonly jobs: number
  readonly caseTimeoutMs: number
  readonly minimize: boolean
  readonly minimizeMs: number
  readonly maxFindings: number
  readonly findingsDir: string
  readonly options: CaseOptions
}

function parse(argv: string[]): { settings: Settings; replay?: string; caseSeed?: string } {
  const { values } = parseArgs({
    args: argv,
    options: {
      seed: { type: 'string' },
      insns: { type: 'string' },
      jobs: { type: 'string' },
      'case-timeout': { type: 'string' },
      'minimize-seconds': { type: 'string' },
      'no-minimize': { type: 'boolean' },
      'max-findings': { type: 'string' },
      strict: { type: 'boolean' },
      chaos: { type: 'boolean' },
      'keep-known': { type: 'boolean' },
      'inject-zero-tags': { type: 'boolean' },
      'inject-hang': { type: 'boolean' },
      'case-insns': { type: 'string' },
      findings: { type: 'string' },
      replay: { type: 'string' },
      case: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
    strict: true,
  })
  if (values.help) {
    process.stdout.write(HELP)
    process.exit(0)
  }
  const number = (name: string, text: string | undefined, fallback: number): number => {
    if (text === undefined) return fallback
    const n = Number(text)
    if (!Number.isFinite(n) || n < 0) throw new UsageError(`--${name} needs a non-negative number, got "${text}"`)
    return n
  }
  if (values.strict && values.chaos) throw new UsageError('--strict and --chaos exclude each other')
  const options: CaseOptions = {
    ...(values.strict ? { strict: true } : values.chaos ? { strict: false } : {}),
    ...(values['keep-known'] ? { keepKnown: true } : {}),
    ...(values['inject-zero-tags'] ? { injectZeroTags: true } : {}),
    ...(values['inject-hang'] ? { injectHang: true } : {}),
    ...(values['case-insns'] !== undefined ? { instructions: Math.max(1, Math.round(number('case-insns', values['case-insns'], 0))) } : {}),
  }
  const settings: Settings = {
    seed: values.seed ?? randomBytes(4).toString('hex'),
    insns: Math.round(number('insns', values.insns, 2e6)),
    jobs: Math.floor(number('jobs', values.jobs, 2)),
    caseTimeoutMs: number('case-timeout', values['case-timeout'], 120) * 1000,
    minimize: !values['no-minimize'],
    minimizeMs: number('minimize-seconds', values['minimize-seconds'], 60) * 1000,
    maxFindings: Math.max(1, Math.floor(number('max-findings', values['max-findings'], 20))),
    findingsDir: values.findings ? resolve(userDir, values.findings) : resolve(packageDir, 'findings'),
    options,
  }
  return { settings, ...(values.replay ? { replay: values.replay } : {}), ...(values.case ? { caseSeed: values.case } : {}) }
}

class UsageError extends Error {}

function printFindings(findings: readonly Finding[]): void {
  for (const f of findings) {
    console.log(`  ${f.kind}: ${f.summary}`)
    for (const d of f.details.slice(0, 20)) console.log(`    ${d}`)
  }
}

/** Replays a finding file or a bare scenario. Exit status 1 while it still fails. */
function replay(path: string): number {
  const text = readFileSync(resolve(userDir, path), 'utf8')
  const parsed = JSON.parse(text) as Partial<FindingFile> & Partial<Scenario>
  const scenario = (parsed.scenario ?? parsed) as Scenario
  if (scenario.format !== SCENARIO_FORMAT) throw new UsageError(`${path} holds no ${SCENARIO_FORMAT} scenario`)
  const extra: readonly ScheduledPerturbation[] = parsed.extra ?? []
  if (parsed.summary) console.log(`recorded: ${parsed.kind}: ${parsed.summary}`)
  const result = runCase(scenario, extra)
  console.log(`replayed ${scenario.seed}: ${result.instructions} guest instructions, ${result.findings.length} finding(s)`)
  printFindings(result.findings)
  return result.findings.length > 0 ? 1 : 0
}

function runOneCase(seed: string, options: CaseOptions): number {
  const report = runSeed(seed, options)
  const s = report.scenario
  console.log(`case ${seed}: ${s.strict ? 'differential' : 'chaos'}, MTE ${s.mte ? 'on' : 'off'}, MMU ${s.regime.mmu}, ${s.vcpus.length} vCPU(s), ${s.perturbations.length} perturbation(s), ${report.instructions} guest instructions`)
  console.log(`  ${Object.entries(report.stats).map(([k, v]) => `${k}=${v}`).join(' ')}`)
  printFindings(report.findings)
  return report.findings.length > 0 ? 1 : 0
}

// ---- the fuzz loop -------------------------------------------------------------------------

interface Worker {
  readonly child: ChildProcess
  caseIndex: number | null
  lastBeat: number
  ready: boolean
  killedForHang: boolean
}

async function fuzz(settings: Settings): Promise<number> {
  const start = Date.now()
  let nextIndex = 0
  let instructions = 0
  let cpuMs = 0
  let cases = 0
  let findings = 0
  let stopping = false
  const seenSignatures = new Map<string, number>()
  const known: Record<string, number> = {}
  const covered: Record<string, number> = {}
  const profiles: Record<string, number> = {}
  const show = (path: string): string => {
    const rel = relative(userDir, path)
    return rel && !rel.startsWith('..') ? rel : path
  }
  const elapsed = (): string => {
    const s = Math.round((Date.now() - start) / 1000)
    return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`
  }
  const mips = (): string => (instructions / Math.max(1, Date.now() - start) / 1000).toFixed(2)
  const progress = (): void => {
    console.log(
      `[${elapsed()}] ${(instructions / 1e6).toFixed(1)}M/${(settings.insns / 1e6).toFixed(1)}M guest instructions, ${cases} scenarios, ${findings} finding(s), ${mips()} MIPS`,
    )
  }
  console.log(`fuzz: seed ${settings.seed}, ${settings.insns} guest instructions, ${settings.jobs || 'no'} worker process(es)`)

  const record = (index: number, f: Finding, scenario: Scenario, extra: readonly ScheduledPerturbation[], minimized: boolean, trials: number): void => {
    const name = `${settings.seed}-${index}-${f.kind}`.replace(/[^A-Za-z0-9._-]/g, '_')
    const path = writeFinding(settings.findingsDir, name, { kind: f.kind, summary: f.summary, details: f.details, caseSeed: caseSeed(settings.seed, index), minimized, trials, extra, scenario }, show)
    console.log(`  ${minimized ? `minimised (${trials} trials, ${scenario.slices.length} slices, ${scenario.perturbations.length} perturbations)` : 'FINDING'} case ${index}: ${f.kind}: ${f.summary}`)
    console.log(`    replay: pnpm fuzz --replay ${show(path)}`)
  }
  const onResult = (index: number, message: Extract<WorkerMessage, { type: 'result' }>): void => {
    cases++
    instructions += message.instructions
    cpuMs += message.cpuMs
    for (const [k, v] of Object.entries(message.stats)) {
      if (k === 'budget-overruns') known[k] = (known[k] ?? 0) + v
      else covered[k] = (covered[k] ?? 0) + v
    }
    for (const p of message.profile) profiles[p] = (profiles[p] ?? 0) + 1
    for (const f of message.findings) {
      findings++
      const sig = `${f.kind}:${f.summary.split(':')[0]}`
      seenSignatures.set(sig, (seenSignatures.get(sig) ?? 0) + 1)
    }
    if (findings >= settings.maxFindings) stopping = true
    void index
  }
  const caseMessage = (index: number): ParentMessage => ({
    type: 'case',
    index,
    seed: caseSeed(settings.seed, index),
    options: settings.options,
    minimize: settings.minimize,
    minimizeMs: settings.minimizeMs,
  })
  const wantMore = (): boolean => !stopping && instructions < settings.insns

  const timer = setInterval(progress, 10_000)
  try {
    if (settings.jobs === 0) {
      while (wantMore()) {
        const index = nextIndex++
        const cpu = process.cpuUsage()
        const report = runSeed(caseSeed(settings.seed, index), settings.options)
        const used = process.cpuUsage(cpu)
        onResult(index, { type: 'result', index, instructions: report.instructions, cpuMs: (used.user + used.system) / 1000, findings: report.findings, stats: report.stats, profile: report.profile })
        const first = report.findings[0]
        if (first) {
          record(index, first, report.scenario, report.extra, false, 0)
          if (settings.minimize) {
            const m = await minimize(report.scenario, first, { deadlineMs: settings.minimizeMs, extra: report.extra, onTrial: () => new Promise((r) => setImmediate(r)) })
            record(index, m.finding, m.scenario, report.extra, true, m.trials)
          }
        }
        await new Promise((r) => setImmediate(r))
      }
    } else {
      await new Promise<void>((done) => {
        const workers: Worker[] = []
        const workerPath = fileURLToPath(new URL('./worker.ts', import.meta.url))
        const spawn = (): void => {
          const child = fork(workerPath, [], { execArgv: process.execArgv, stdio: ['ignore', 'inherit', 'inherit', 'ipc'] })
          const worker: Worker = { child, caseIndex: null, lastBeat: Date.now(), ready: false, killedForHang: false }
          workers.push(worker)
          child.on('message', (message: WorkerMessage) => {
            worker.lastBeat = Date.now()
            switch (message.type) {
              case 'ready':
                worker.caseIndex = null
                worker.ready = true
                dispatch()
                break
              case 'heartbeat':
                break
              case 'result':
                onResult(message.index, message)
                break
              case 'finding':
                record(message.index, message.finding, message.scenario, message.extra, message.minimized, message.trials)
                break
            }
          })
          child.on('exit', (code, signal) => {
            workers.splice(workers.indexOf(worker), 1)
            const index = worker.caseIndex
            if (index !== null && !worker.killedForHang) {
              // The worker died in the middle of a case: the case crashed the process.
              findings++
              const f: Finding = { kind: 'host-exception', summary: `worker process died (${signal ?? `exit ${code}`}) running the case`, details: [] }
              seenSignatures.set('worker died', (seenSignatures.get('worker died') ?? 0) + 1)
              record(index, f, generateScenario(caseSeed(settings.seed, index), settings.options), [], false, 0)
            }
            if (wantMore() || workers.some((w) => w.caseIndex !== null)) spawn()
            finish()
          })
        }
        const dispatch = (): void => {
          for (const w of workers) {
            if (!w.ready || w.caseIndex !== null) continue
            if (!wantMore()) {
              w.ready = false
              w.child.send({ type: 'exit' } satisfies ParentMessage)
              continue
            }
            const index = nextIndex++
            w.caseIndex = index
            w.ready = false
            w.lastBeat = Date.now()
            w.child.send(caseMessage(index))
          }
          finish()
        }
        const finish = (): void => {
          if (workers.length === 0) {
            clearInterval(watchdog)
            done()
          }
        }
        const watchdog = setInterval(() => {
          for (const w of workers) {
            if (w.caseIndex === null || w.killedForHang || Date.now() - w.lastBeat < settings.caseTimeoutMs) continue
            const index = w.caseIndex
            findings++
            const seconds = Math.round((Date.now() - w.lastBeat) / 1000)
            const f: Finding = { kind: 'hang', summary: `no progress for ${seconds} s (watchdog ${settings.caseTimeoutMs / 1000} s)`, details: [] }
            record(index, f, generateScenario(caseSeed(settings.seed, index), settings.options), [], false, 0)
            seenSignatures.set('hang', (seenSignatures.get('hang') ?? 0) + 1)
            w.killedForHang = true
            w.child.kill('SIGKILL')
            if (findings >= settings.maxFindings) stopping = true
          }
        }, Math.min(1000, settings.caseTimeoutMs / 2))
        for (let i = 0; i < settings.jobs; i++) spawn()
      })
    }
  } finally {
    clearInterval(timer)
  }
  progress()
  const lines = [...seenSignatures].map(([sig, n]) => `${n}× ${sig}`)
  console.log(`done: seed ${settings.seed}, ${cases} scenarios, ${instructions} guest instructions in ${elapsed()} (${mips()} MIPS), ${findings} finding(s)${lines.length ? `: ${lines.join('; ')}` : ''}`)
  console.log(`cases took ${(cpuMs / 1000).toFixed(0)} CPU seconds: ${(instructions / Math.max(1, cpuMs) / 1000).toFixed(2)} guest MIPS per CPU-second (setup, both runs, perturbations and state comparison included)`)
  const list = (o: Record<string, number>): string =>
    Object.entries(o)
      .sort(([a], [b]) => a.localeCompare(b))
      .map(([k, v]) => `${k} ${v}`)
      .join(', ')
  if (cases > 0) {
    console.log(`scenarios: ${list(profiles)}`)
    console.log(`covered: ${list(covered)}`)
  }
  if (known['budget-overruns']) console.log(`known (FINDINGS.md F2, not counted): ${known['budget-overruns']} KVM_RUN calls retired more instructions than their budget`)
  return findings > 0 ? 1 : 0
}

async function main(): Promise<number> {
  const { settings, replay: replayPath, caseSeed: seed } = parse(process.argv.slice(2))
  if (replayPath) return replay(replayPath)
  if (seed) return runOneCase(seed, settings.options)
  return fuzz(settings)
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    if (error instanceof UsageError || (error instanceof Error && 'code' in error && String(error.code).startsWith('ERR_PARSE_ARGS'))) {
      console.error(`fuzz: ${error.message}`)
      process.exit(2)
    }
    console.error(error)
    process.exit(3)
  },
)
