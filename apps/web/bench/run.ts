// Guest MIPS in the browser's Web Worker next to the CLI's, on the same guest
// (guests/tag-workload, ~168 M instructions) and the same machine (`tagvm run`'s defaults).
// Rounds interleave the variants (Node, browser, CLI process, Node, browser, ...) because the
// machine is shared with other work; the best round of each is printed. Each run is checked
// against QEMU's recording. Prints figures; never fails on time.
//   TAGVM_BENCH_ROUNDS (default 5)   rounds of each variant
//   TAGVM_CHROMIUM                   Chromium to drive (default /usr/bin/chromium)
import { spawnSync } from 'node:child_process'
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { Machine } from '@tagvm/machine'
import { DEFAULT_CONFIG } from '../src/runner.js'
import { buildPage, chromiumMissing, launchChromium } from '../test/chromium.js'
import { serveStatic } from '../test/serve.js'

const ROUNDS = Number(process.env.TAGVM_BENCH_ROUNDS ?? 5)
const root = fileURLToPath(new URL('../', import.meta.url))
const guest = fileURLToPath(new URL('../../../guests/tag-workload/tag-workload.elf', import.meta.url))
const expected = readFileSync(fileURLToPath(new URL('../../../guests/tag-workload/qemu.out', import.meta.url)), 'latin1')
const cli = fileURLToPath(new URL('../../tagvm/dist/cli.js', import.meta.url))

interface Round {
  readonly instructions: number
  /** Seconds inside the machine's run loop. */
  readonly runSeconds: number
  /** Seconds from asking for the guest to its power-off, as a user waits. */
  readonly wallSeconds: number
}

function check(what: string, output: string): void {
  if (output !== expected) throw new Error(`${what}: the console output differs from QEMU's recording`)
}

/** The CLI's machine and run loop, in this process: `tagvm run` without a terminal calls run() until power-off. */
function nodeRound(): Round {
  let output = ''
  const start = performance.now()
  const machine = Machine.create(DEFAULT_CONFIG, { console: (b) => (output += Buffer.from(b).toString('latin1')) })
  machine.boot(readFileSync(guest), guest)
  const runStart = performance.now()
  const stop = machine.run()
  const end = performance.now()
  if (stop.kind !== 'power-off') throw new Error(`Node: tag-workload stopped with ${JSON.stringify(stop)}`)
  check('Node', output)
  return { instructions: machine.retired, runSeconds: (end - runStart) / 1000, wallSeconds: (end - start) / 1000 }
}

/** The built CLI as a process (start-up included); undefined when apps/tagvm is not built. */
function cliRound(instructions: number): Round | undefined {
  if (!existsSync(cli)) return undefined
  const start = performance.now()
  const run = spawnSync(process.execPath, [cli, 'run', guest], { stdio: ['ignore', 'pipe', 'pipe'], encoding: 'latin1', timeout: 600_000 })
  const seconds = (performance.now() - start) / 1000
  if (run.status !== 0) throw new Error(`tagvm run exited with ${run.status}: ${run.stderr}`)
  check('CLI', run.stdout)
  return { instructions, runSeconds: seconds, wallSeconds: seconds }
}

const missing = chromiumMissing()
if (missing) throw new Error(missing)
const outDir = mkdtempSync(join(tmpdir(), 'tagvm-web-bench-'))
await buildPage(root, outDir)
const server = await serveStatic(outDir)
const browser = await launchChromium()
try {
  const page = await browser.context.newPage()
  await page.goto(server.url)
  if (!(await page.evaluate(() => crossOriginIsolated))) throw new Error('the page is not cross-origin isolated')

  /** The page's own button, timed in the page; the worker says how long it spent in run(). */
  async function browserRound(): Promise<Round> {
    const { started, machines } = await page.evaluate(() => {
      const machines = window.tagvm.status().machines
      document.querySelector<HTMLButtonElement>('button[data-guest="tag-workload"]')!.click()
      return { started: performance.now(), machines }
    })
    const handle = await page.waitForFunction(
      (before) => {
        const status = window.tagvm.status()
        return status.machines === before + 1 && status.state === 'stopped' ? { ...status, at: performance.now() } : false
      },
      machines,
      { polling: 20, timeout: 600_000 },
    )
    const status = (await handle.jsonValue()) as { retired: number; runMs: number; stop?: string; at: number }
    if (status.stop !== 'the guest powered off (PSCI SYSTEM_OFF)') throw new Error(`browser: tag-workload stopped: ${status.stop}`)
    check('browser', await page.evaluate(() => window.tagvm.consoleText()))
    const errors = await page.evaluate(() => window.tagvm.errors())
    if (errors.length > 0) throw new Error(`browser: ${errors.join('; ')}`)
    return { instructions: status.retired, runSeconds: status.runMs / 1000, wallSeconds: (status.at - started) / 1000 }
  }

  const results: Record<'node' | 'browser' | 'cli', Round[]> = { node: [], browser: [], cli: [] }
  for (let round = 1; round <= ROUNDS; round++) {
    const node = nodeRound()
    results.node.push(node)
    results.browser.push(await browserRound())
    const spawned = cliRound(node.instructions)
    if (spawned) results.cli.push(spawned)
    console.error(`round ${round}/${ROUNDS} done`)
  }

  const mips = (r: Round, seconds: number): string => `${(r.instructions / 1e6 / seconds).toFixed(2)}`
  const best = (rounds: Round[], key: 'runSeconds' | 'wallSeconds'): Round => rounds.reduce((a, b) => (b[key] < a[key] ? b : a))
  const chromium = browser.context.browser()?.version() ?? (await page.evaluate(() => navigator.userAgent))
  console.log(`tag-workload, ${(results.node[0]!.instructions / 1e6).toFixed(1)} M instructions, best of ${ROUNDS} interleaved rounds (guest MIPS; all outputs identical to QEMU's recording):`)
  const n = best(results.node, 'runSeconds')
  const b = best(results.browser, 'runSeconds')
  const bw = best(results.browser, 'wallSeconds')
  console.log(`  CLI's machine in Node ${process.versions.node} (Machine.run, as \`tagvm run\`):     ${mips(n, n.runSeconds)} MIPS`)
  console.log(`  browser Web Worker (Chromium ${chromium}, time in run()): ${mips(b, b.runSeconds)} MIPS`)
  console.log(`  browser, click to power-off (slices, status, live tag table):  ${mips(bw, bw.wallSeconds)} MIPS`)
  if (results.cli.length > 0) {
    const c = best(results.cli, 'wallSeconds')
    console.log(`  \`tagvm run\` process (apps/tagvm/dist/cli.js, incl. start-up):  ${mips(c, c.wallSeconds)} MIPS`)
  } else {
    console.log('  (apps/tagvm is not built: no CLI process figure; `pnpm build` makes it)')
  }
  console.log(`  browser / Node: ${(n.runSeconds / b.runSeconds).toFixed(2)}x`)
} finally {
  await browser.close()
  await server.close()
  rmSync(outDir, { recursive: true, force: true })
}
