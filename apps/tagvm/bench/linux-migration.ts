// Snapshot and live-migration figures for a running Linux guest (guests/linux's kit, Debian
// 6.1) whose user space holds a TAGVM_BENCH_LINUX_MIB MiB heap (default 512): the kit's
// tagged-heap program fills it (every granule a known tag with PROT_MTE, or the same data
// without PROT_MTE for the untagged row) and waits on the console; the guest is measured there:
//   snapshot save (walk, COPY_TAGS, encode, write, fsync, rename) and restore (read, check,
//   write, COPY_TAGS), MiB/s of guest memory including tags;
//   pre-copy and post-copy migration to a second tagvm process (`tagvm migrate receive`) over
//   a Unix socket: MiB/s of guest memory including tags, and the guest's downtime (vCPUs
//   stopped here until the destination's answer that it runs them).
// Each guest boots once (instruction clock; ~1.1 G instructions to /init plus the fill) and is
// saved; every figure after that starts from that snapshot. Needs the kit (guests/linux/
// build-kit.sh); prints why and exits 0 without it. Never fails on time. TAGVM_BENCH_REPEAT
// runs each figure that many times and prints the best. Last, QEMU 10's own figures for as
// much RAM as the heap on this host (qemu-migration.ts) and the ratios tagvm/QEMU.
import { spawn } from 'node:child_process'
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { Machine, sendMachine, type MachineConfig } from '@tagvm/machine'
import { connectEndpoint } from '../src/endpoint.js'
import { cpuSince, destinationEnv, perCpuSecond, processCpuMs } from './cpu-time.js'
import { restoreMachine, saveMachine } from '../src/files/index.js'
import { hasQemu, printRatios, qemuMigrationFigures, type ComparedFigures } from './qemu-migration.js'

const MiB = 1 << 20
const HEAP_MIB = Number(process.env.TAGVM_BENCH_LINUX_MIB ?? 512)
const REPEAT = Number(process.env.TAGVM_BENCH_REPEAT ?? 1)
const appDir = fileURLToPath(new URL('../', import.meta.url))
const kit = fileURLToPath(new URL('../../../guests/linux/out/', import.meta.url))
const config: MachineConfig = { ramBase: 0x4000_0000, ramSize: HEAP_MIB * MiB + 512 * MiB, cpus: 1, mte: true, backing: 'anon', clock: 'instructions' }
const WAITING = 'heap: waiting for a line on standard input before checking'
const dir = mkdtempSync(join(tmpdir(), 'tagvm-bench-linux-'))
const make = (c: MachineConfig = config): Machine => Machine.create(c, { console: () => {}, message: () => {} })
const seconds = (start: number): number => (performance.now() - start) / 1000
const best = (values: number[], higher: boolean): number => (higher ? Math.max(...values) : Math.min(...values))

/** Boots the kit until the heap program waits with its heap filled; returns the booted machine. */
function bootedGuest(tagged: boolean): Machine {
  let console = ''
  const machine = Machine.create(config, { console: (b) => (console += Buffer.from(b).toString('latin1')), message: () => {} })
  const bootargs = `console=ttyAMA0 rdinit=/init tagvm.run=heap tagvm.heap=${HEAP_MIB} tagvm.passes=1 tagvm.heapwait=1 tagvm.heaptags=${tagged ? 1 : 0}`
  machine.boot(new Uint8Array(readFileSync(`${kit}Image`)), `${kit}Image`, { initrd: { bytes: new Uint8Array(readFileSync(`${kit}initramfs.cpio.gz`)), file: 'initramfs.cpio.gz' }, bootargs })
  while (!console.includes(WAITING)) {
    const stop = machine.run(20_000_000)
    if (stop.kind !== 'budget') throw new Error(`the guest stopped before the heap was filled (${JSON.stringify(stop)}):\n${console.slice(-2000)}`)
  }
  return machine
}

/** A `tagvm migrate receive` process on a Unix socket; resolves once it listens. */
async function destination(path: string): Promise<{ exited: Promise<number | null>; cpuMs: () => number | undefined }> {
  const child = spawn(process.execPath, ['--conditions=source', '--import', 'tsx', 'src/cli.ts', 'migrate', 'receive', '--listen', path, '--max-insns', '1000000'], { cwd: appDir, env: destinationEnv(), stdio: ['ignore', 'ignore', 'pipe'] })
  let stderr = ''
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)))
  await new Promise<void>((resolve, reject) => {
    child.stderr.setEncoding('utf8').on('data', (t: string) => {
      stderr += t
      if (stderr.includes('waiting for a migration')) resolve()
    })
    void exited.then(() => reject(new Error(`the destination exited: ${stderr}`)))
  })
  return { exited, cpuMs: () => processCpuMs(child.pid) }
}

async function migrate(
  machine: Machine,
  postcopy: boolean,
  name: string,
): Promise<{ mibs: number; downtimeMs: number; rounds: number; requested: number; sourceCpuMibs: number; destinationCpuMibs: number | undefined; bothCpuMibs: number | undefined }> {
  const path = join(dir, `${name}.sock`)
  const { exited, cpuMs } = await destination(path)
  const channel = await connectEndpoint({ kind: 'unix', path })
  const start = performance.now()
  const cpu = process.cpuUsage()
  const destinationBefore = cpuMs()
  const result = await sendMachine(machine, channel, { maxRounds: postcopy ? 0 : 4, insnsPerRound: 1_000_000, postcopy })
  const time = seconds(start)
  // Both sides' CPU until the source's last answer (post-copy: the guest runs at the destination meanwhile).
  const sourceCpu = cpuSince(cpu)
  const destinationAfter = cpuMs()
  if (result.kind !== 'migrated') throw new Error(`migration failed: ${JSON.stringify(result)}`)
  await exited
  const mib = result.bytes / MiB
  const destinationCpu = destinationBefore !== undefined && destinationAfter !== undefined ? destinationAfter - destinationBefore : undefined
  return { mibs: mib / time, downtimeMs: result.downtimeMs, rounds: result.rounds, requested: result.requestedPages, sourceCpuMibs: mib / (sourceCpu / 1000), destinationCpuMibs: perCpuSecond(mib, destinationCpu), bothCpuMibs: perCpuSecond(mib, destinationCpu === undefined ? undefined : sourceCpu + destinationCpu) }
}

if (!existsSync(`${kit}Image`) || !existsSync(`${kit}initramfs.cpio.gz`)) {
  console.log(`linux-migration bench skipped: the Linux kit is not built (${kit}); run guests/linux/build-kit.sh`)
} else {
  const compared: Record<string, ComparedFigures> = {}
  try {
    console.log(`Linux guest (Debian 6.1, RAM ${config.ramSize / MiB} MiB) with a ${HEAP_MIB} MiB heap in user space, waiting on the console`)
    for (const tagged of [true, false]) {
      const label = tagged ? 'tagged heap (PROT_MTE, every granule tagged)' : 'untagged heap (same data, no PROT_MTE)'
      let start = performance.now()
      const booted = bootedGuest(tagged)
      console.log(`${label}: booted and filled in ${seconds(start).toFixed(0)} s (${booted.retired} instructions)`)
      const file = join(dir, `linux-${tagged ? 'tagged' : 'untagged'}.snap`)
      const save: number[] = []
      const restore: number[] = []
      const saveCpu: number[] = []
      const restoreCpu: number[] = []
      let guestMiB = 0
      for (let r = 0; r < REPEAT; r++) {
        start = performance.now()
        let cpu = process.cpuUsage()
        const saved = saveMachine(booted, file)
        save.push(saved.guestBytes / MiB / seconds(start))
        guestMiB = saved.guestBytes / MiB
        saveCpu.push(guestMiB / (cpuSince(cpu) / 1000))
        start = performance.now()
        cpu = process.cpuUsage()
        restoreMachine(file, (c) => make(c))
        restore.push(guestMiB / seconds(start))
        restoreCpu.push(guestMiB / (cpuSince(cpu) / 1000))
      }
      console.log(`  snapshot of ${guestMiB.toFixed(1)} MiB guest memory incl. tags (${(statSync(file).size / MiB).toFixed(1)} MiB file)`)
      console.log(`  snapshot save:    ${best(save, true).toFixed(0)} MiB/s (${best(saveCpu, true).toFixed(0)} MiB per CPU-second)`)
      console.log(`  snapshot restore: ${best(restore, true).toFixed(0)} MiB/s (${best(restoreCpu, true).toFixed(0)} MiB per CPU-second)`)
      const row: ComparedFigures = (compared[tagged ? 'tagged' : 'untagged'] = {})
      row.save = { mibs: best(save, true), cpuMibs: best(saveCpu, true) }
      row.restore = { mibs: best(restore, true), cpuMibs: best(restoreCpu, true) }
      for (const postcopy of [false, true]) {
        const runs: Awaited<ReturnType<typeof migrate>>[] = []
        for (let r = 0; r < REPEAT; r++) runs.push(await migrate(restoreMachine(file, (c) => make(c)), postcopy, `${tagged ? 't' : 'u'}${postcopy ? 'post' : 'pre'}${r}`))
        const mibs = best(runs.map((x) => x.mibs), true)
        const downtime = best(runs.map((x) => x.downtimeMs), false)
        const destinationCpu = runs.map((x) => x.destinationCpuMibs).filter((d): d is number => d !== undefined)
        if (!postcopy) {
          const both = runs.map((x) => x.bothCpuMibs).filter((d): d is number => d !== undefined)
          row.precopy = { mibs, cpuMibs: both.length ? best(both, true) : undefined }
        }
        const extra = `${postcopy ? `, ${runs[0]!.requested} pages pulled on demand` : ''}; source ${best(runs.map((x) => x.sourceCpuMibs), true).toFixed(0)}, destination ${destinationCpu.length ? best(destinationCpu, true).toFixed(0) : '?'} MiB per CPU-second`
        console.log(`  ${postcopy ? 'post-copy' : 'pre-copy '} migration over a Unix socket to a second process: ${mibs.toFixed(0)} MiB/s, ${downtime.toFixed(1)} ms downtime (${runs[0]!.rounds} rounds${extra})`)
      }
      rmSync(file, { force: true })
    }
    if (hasQemu()) printRatios(compared, await qemuMigrationFigures(HEAP_MIB, REPEAT))
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
}
