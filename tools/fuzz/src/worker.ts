/**
 * A fuzz worker process: runs the cases its parent sends, reports each, and shrinks the
 * first finding of a case before taking the next. Between minimisation trials it yields,
 * so its heartbeats reach the parent's watchdog.
 */
import { runSeed, type CaseOptions } from './cases.js'
import { minimize } from './minimize.js'
import type { WorkerMessage, ParentMessage } from './protocol.js'

function send(message: WorkerMessage): Promise<void> {
  return new Promise((resolve) => {
    if (!process.send) throw new Error('worker.ts runs as a child process of the fuzz CLI')
    process.send(message, () => resolve())
  })
}

async function handle(message: ParentMessage): Promise<void> {
  if (message.type === 'exit') process.exit(0)
  const options: CaseOptions = message.options
  if (options.injectHang) for (;;);
  const cpu = process.cpuUsage()
  const report = runSeed(message.seed, options)
  const used = process.cpuUsage(cpu)
  await send({ type: 'result', index: message.index, instructions: report.instructions, cpuMs: (used.user + used.system) / 1000, findings: report.findings, stats: report.stats, profile: report.profile })
  const first = report.findings[0]
  if (first) {
    await send({ type: 'finding', index: message.index, finding: first, scenario: report.scenario, extra: report.extra, minimized: false, trials: 0 })
    if (message.minimize) {
      const result = await minimize(report.scenario, first, {
        deadlineMs: message.minimizeMs,
        extra: report.extra,
        onTrial: async (trials) => {
          if (trials % 4 === 0) await send({ type: 'heartbeat', index: message.index })
        },
      })
      await send({ type: 'finding', index: message.index, finding: result.finding, scenario: result.scenario, extra: report.extra, minimized: true, trials: result.trials })
    }
  }
  await send({ type: 'ready' })
}

process.on('message', (message: ParentMessage) => {
  handle(message).catch((error: unknown) => {
    // A failure of the fuzzer itself, not of the guest: let the parent see it and stop.
    console.error(error)
    process.exit(3)
  })
})
void send({ type: 'ready' })
