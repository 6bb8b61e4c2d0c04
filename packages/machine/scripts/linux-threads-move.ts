// By hand (issue 18): the Linux kit on CPUS vCPU threads, snapshotted while they all run,
// restored onto fresh threads, pre-copied onto a third machine's threads and run to its end
// (the run of linux-threads-move.test.ts, with any vCPU count and kit run). Prints progress
// with wall and CPU time and the load; the console goes to stdout and to CONSOLE_LOG, which
// guests/linux/compare-selftests.sh --from-log compares with QEMU's selftests.
// Env: CPUS (2), KIT_ARGS (`tagvm.run=mte-test`), SNAP_AT (`smp: Brought up 1 node, CPUS CPUs`),
// SNAP_AFTER (20M), MIGRATE_AT (a marker; none: count from the restore), MIGRATE_AFTER (60M),
// BUDGET (8G), STALL (2G: console silence that counts as stuck), RAM_MIB (256),
// CONSOLE_LOG (/tmp/linux-threads-move.log).
// The selftests moved inside check_buffer_fill and check_user_mem:
//   CPUS=2 KIT_ARGS='tagvm.run=selftests tagvm.selftests=check_prctl,...' \
//   SNAP_AT='# selftests: arm64/mte: check_buffer_fill' SNAP_AFTER=8000000 \
//   MIGRATE_AT='# selftests: arm64/mte: check_user_mem' MIGRATE_AFTER=300000000 \
//   npx tsx --conditions=source scripts/linux-threads-move.ts     (from packages/machine)
import { writeFileSync } from 'node:fs'
import { loadavg } from 'node:os'
import { moveLinuxOnThreads } from '../src/machine/linux-threads-move.test-support.js'

const env = process.env
const cpus = Number(env.CPUS ?? 2)
const consoleLog = env.CONSOLE_LOG ?? '/tmp/linux-threads-move.log'
const started = Date.now()
const cpuAtStart = process.cpuUsage()
function stamp(): string {
  const cpu = process.cpuUsage(cpuAtStart)
  return `[${((Date.now() - started) / 1000).toFixed(0)} s, ${((cpu.user + cpu.system) / 1e6).toFixed(0)} CPU-s, load ${loadavg()[0]!.toFixed(1)}]`
}
const log = (line: string): void => void process.stderr.write(`${stamp()} ${line}\n`)

log(`CPUS=${cpus} ${env.KIT_ARGS ?? 'tagvm.run=mte-test'}`)
const run = await moveLinuxOnThreads({
  cpus,
  kitArgs: env.KIT_ARGS ?? 'tagvm.run=mte-test',
  snapshotAt: { marker: env.SNAP_AT ?? `smp: Brought up 1 node, ${cpus} CPUs`, after: Number(env.SNAP_AFTER ?? 20_000_000) },
  migrateAt: { marker: env.MIGRATE_AT, after: Number(env.MIGRATE_AFTER ?? 60_000_000) },
  budget: Number(env.BUDGET ?? 8_000_000_000),
  ...(env.STALL ? { stallAfter: Number(env.STALL) } : {}),
  ramSize: Number(env.RAM_MIB ?? 256) * 2 ** 20,
  log,
  echo: (text) => void process.stdout.write(text),
})
writeFileSync(consoleLog, run.console)
log(`done: ${JSON.stringify(run.stop)}; retired per vCPU: source ${run.retired.source.join(', ')}; restored ${run.retired.restored.join(', ')}; destination ${run.retired.destination.join(', ')}; console in ${consoleLog}`)
process.exit(run.stop.kind === 'power-off' ? 0 : 1)
