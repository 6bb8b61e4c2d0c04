// Snapshot and live-migration throughput on a bare-metal guest with a large working set: the
// tag-workload guest runs (and keeps dirtying its own 4 MiB of tagged memory between pre-copy
// rounds) while RAM holds TAGVM_BENCH_MIB MiB more (default 512) that the VMM wrote beforehand,
// either tagged (every granule, through KVM_ARM_MTE_COPY_TAGS) or untagged. For each:
//   snapshot save (scan, COPY_TAGS, encode, write, fsync, rename) and restore (read, check,
//   write, COPY_TAGS), MiB/s of guest memory including tags;
//   pre-copy and post-copy migration to a second tagvm process (`tagvm migrate receive`) over
//   a Unix socket: MiB/s of guest memory including tags, and the guest's downtime (vCPUs
//   stopped here until the destination's answer that it runs them).
// Every figure gives wall time and CPU time (this process's, and the destination process's for
// a migration), since wall time on a shared 2-core host mostly says how busy the others are.
// A restore onto a machine whose RAM the host already backs (the machine the previous restore
// built) measures tagvm's own path without the first-touch cost below. A plain restore, and the
// destination of a migration, back fresh memory on a second thread ahead of the pages (the
// prefault worker, src/files/host-prefault.ts): its CPU is in the per-CPU-second figures.
// Prints figures; never fails on time. TAGVM_BENCH_REPEAT runs each figure that many times
// and prints the best. The figure lines read as they did before the bulk data path (snapshot
// format 3), so runs of an older tagvm's bench compare line by line (interleave them: A B A B).
// The first line is this host's cost of memory a process touches for the first time: a
// restore or a migration destination writes every guest page into such memory, so it bounds
// those figures from above whatever tagvm does (on the 2-core CI VMs it is ~50-100 MiB/s,
// page faults that each cost tens of microseconds). Transparent huge pages lift it: tagvm's
// guest memory comes from 64 MiB host arenas (tag-memory's host-reserve.ts), which the kernel
// backs with 2 MiB pages when THP is "always", or "madvise" with glibc told to madvise
// (GLIBC_TUNABLES=glibc.malloc.hugetlb=1, which `pnpm bench` sets for this process and the
// destinations it starts, as QEMU madvises its guest RAM itself); the host line says which.
// Last, QEMU 10's own figures for the same amount of RAM on this host (qemu-migration.ts) and
// the ratios tagvm/QEMU, in MiB/s and in MiB per CPU-second (the one that holds under load).
import { spawn } from 'node:child_process'
import * as fs from 'node:fs'
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import * as machinePackage from '@tagvm/machine'
import { Machine, sendMachine, writeMachineSnapshot, type MachineConfig } from '@tagvm/machine'
import * as vmmApi from '@tagvm/vmm-api'
import { KVM_ARM_TAGS_TO_GUEST, ga, prefaultHostMemory, releasePrefaultedHostMemory } from '@tagvm/vmm-api'
import { connectEndpoint } from '../src/endpoint.js'
import { restoreMachine, saveMachine, saveSnapshotFile } from '../src/files/index.js'
import { cpuSince, destinationEnv, perCpuSecond, processCpuMs } from './cpu-time.js'
import { hasQemu, printRatios, qemuMigrationFigures, type ComparedFigures } from './qemu-migration.js'

const MiB = 1 << 20
const WORKING_SET = Number(process.env.TAGVM_BENCH_MIB ?? 512) * MiB
const REPEAT = Number(process.env.TAGVM_BENCH_REPEAT ?? 1)
const appDir = fileURLToPath(new URL('../', import.meta.url))
const guest = fileURLToPath(new URL('../../../guests/tag-workload/tag-workload.elf', import.meta.url))
const RAM_BASE = 0x4000_0000
/** The working set starts above everything tag-workload uses (its image, tables and 8 MiB of heap). */
const SET_BASE = RAM_BASE + 64 * MiB
const config: MachineConfig = { ramBase: RAM_BASE, ramSize: WORKING_SET + 128 * MiB, cpus: 1, mte: true, backing: 'anon' }
const dir = mkdtempSync(join(tmpdir(), 'tagvm-bench-mig-'))
const make = (): Machine => Machine.create(config, { console: () => {}, message: () => {} })
const seconds = (start: number): number => (performance.now() - start) / 1000
/** Present in this tagvm when it can migrate by post-copy. */
const hasPostcopy = 'receiveMigration' in machinePackage

/** tag-workload booted and run a while, with the working set written by the VMM. */
function loadedMachine(tagged: boolean): Machine {
  const machine = make()
  machine.boot(readFileSync(guest), guest)
  const stop = machine.run(2_000_000)
  if (stop.kind !== 'budget') throw new Error(`tag-workload stopped early: ${JSON.stringify(stop)}`)
  const chunk = new Uint8Array(MiB)
  const words = new Uint32Array(chunk.buffer)
  const tags = new Uint8Array(MiB / 16)
  let x = 12345
  for (let at = 0; at < WORKING_SET; at += MiB) {
    for (let w = 0; w < words.length; w++) words[w] = x = (x * 1664525 + 1013904223) >>> 0
    machine.memory.write(SET_BASE + at, chunk)
    if (tagged) {
      for (let g = 0; g < tags.length; g++) tags[g] = (g + at / MiB) & 15
      machine.vm.mteCopyTags({ guestIpa: ga(SET_BASE + at), length: MiB, addr: tags, flags: KVM_ARM_TAGS_TO_GUEST })
    }
  }
  return machine
}

function best(values: number[], higher: boolean): number {
  return higher ? Math.max(...values) : Math.min(...values)
}

/** A `tagvm migrate receive` process on a Unix socket; resolves once it listens. */
async function destination(path: string, prealloc: boolean): Promise<{ exited: Promise<number | null>; cpuMs: () => number | undefined; preallocMs: number }> {
  const args = ['--conditions=source', '--import', 'tsx', 'src/cli.ts', 'migrate', 'receive', '--listen', path, '--max-insns', '100000', ...(prealloc ? ['--prealloc', `${config.ramSize / MiB}M`] : [])]
  const child = spawn(process.execPath, args, { cwd: appDir, env: destinationEnv(), stdio: ['ignore', 'ignore', 'pipe'] })
  let stderr = ''
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)))
  const cpuMs = (): number | undefined => processCpuMs(child.pid)
  await new Promise<void>((resolve, reject) => {
    child.stderr.setEncoding('utf8').on('data', (t: string) => {
      stderr += t
      if (process.env.TAGVM_BENCH_DEBUG) process.stderr.write(t)
      if (stderr.includes('waiting for a migration')) resolve()
    })
    void exited.then(() => reject(new Error(`the destination exited: ${stderr}`)))
  })
  const preallocMs = Number(/backed \d+ MiB .* in (\d+) ms/.exec(stderr)?.[1] ?? 0)
  return { exited, cpuMs, preallocMs }
}

interface MigrationRun {
  mibs: number
  /** With --prealloc on the destination: the time it took before listening, and MiB/s counting it. */
  preallocMs: number
  totalMibs: number
  downtimeMs: number | undefined
  rounds: number
  /** Guest MiB moved per CPU-second of this process and of the destination. */
  sourceCpuMibs: number
  destinationCpuMibs: number | undefined
  /** Guest MiB moved per CPU-second of both processes together. */
  bothCpuMibs: number | undefined
}

async function migrate(machine: Machine, postcopy: boolean, n: number, prealloc = false): Promise<MigrationRun> {
  const path = join(dir, `m${n}.sock`)
  const { exited, cpuMs, preallocMs } = await destination(path, prealloc)
  const channel = await connectEndpoint({ kind: 'unix', path })
  const start = performance.now()
  const cpu = process.cpuUsage()
  const destinationBefore = cpuMs()
  const debug = process.env.TAGVM_BENCH_DEBUG ? { setTotal: (n: number) => console.error('total', n), update: () => {}, finish: (n: number, note?: string) => console.error('finish', n, note) } : undefined
  const result = await sendMachine(machine, channel, { maxRounds: postcopy ? 1 : 4, insnsPerRound: 100_000, ...(postcopy ? { postcopy: true } : {}), ...(debug ? { progress: debug } : {}) })
  const time = seconds(start)
  const sourceCpu = cpuSince(cpu)
  // The destination's CPU from before the first byte until the source has its last answer:
  // with pre-copy little of the guest has run there by then (the answer precedes its first
  // instruction); with post-copy the guest runs there meanwhile, and that is counted too.
  const destinationAfter = cpuMs()
  const destinationCpu = destinationBefore !== undefined && destinationAfter !== undefined ? destinationAfter - destinationBefore : undefined
  if (result.kind !== 'migrated') throw new Error(`migration failed: ${JSON.stringify(result)}`)
  await exited
  const downtime = (result as { downtimeMs?: number }).downtimeMs
  const mib = result.bytes / MiB
  return { mibs: mib / time, preallocMs, totalMibs: mib / (time + preallocMs / 1000), downtimeMs: downtime, rounds: result.rounds, sourceCpuMibs: mib / (sourceCpu / 1000), destinationCpuMibs: perCpuSecond(mib, destinationCpu), bothCpuMibs: perCpuSecond(mib, destinationCpu === undefined ? undefined : sourceCpu + destinationCpu) }
}

/** MiB/s at which this process touches fresh memory (one write per 4 KiB page of 64 MiB never used before). */
function firstTouchRate(): number {
  const bytes = new Uint8Array(64 * MiB)
  const start = performance.now()
  for (let at = 0; at < bytes.length; at += 4096) bytes[at] = 1
  return 64 / seconds(start)
}

/** Whether this process's heap can get transparent huge pages, as /sys and GLIBC_TUNABLES say. */
function hugePages(): string {
  let mode = 'unknown'
  try {
    mode = /\[(\w+)\]/.exec(readFileSync('/sys/kernel/mm/transparent_hugepage/enabled', 'utf8'))?.[1] ?? mode
  } catch {
    return 'no THP on this host'
  }
  const madvised = /glibc\.malloc\.hugetlb=1/.test(process.env.GLIBC_TUNABLES ?? '')
  const used = mode === 'always' || (mode === 'madvise' && madvised)
  return `THP ${mode}${madvised ? ', glibc madvises its heap' : ''}: guest memory ${used ? 'gets' : 'does not get'} 2 MiB pages`
}

const compared: Record<'tagged' | 'untagged', ComparedFigures> = { tagged: {}, untagged: {} }
// Host arenas as the tagvm CLI makes them (it turns this on; a tagvm without it has none).
if ('useSharedHostArenas' in vmmApi) vmmApi.useSharedHostArenas(true)
const load = (): string => `load ${readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ')}`

try {
  console.log(`host: fresh memory first touched at ${firstTouchRate().toFixed(0)} MiB/s (the ceiling for restore and a migration destination); ${hugePages()}; ${load()}`)
  console.log(`working set: ${WORKING_SET / MiB} MiB beside the running tag-workload guest (RAM ${config.ramSize / MiB} MiB)`)
  for (const tagged of [true, false]) {
    const label = tagged ? 'tagged' : 'untagged'
    const save: number[] = []
    const saveNoSync: number[] = []
    const saveNoSyncCpu: number[] = []
    const restore: number[] = []
    const warmRestore: number[] = []
    const saveCpu: number[] = []
    const restoreCpu: number[] = []
    const warmRestoreCpu: number[] = []
    const preallocRestore: number[] = []
    const preallocRestoreCpu: number[] = []
    const preallocRestoreTotal: number[] = []
    const preallocMs: number[] = []
    let guestMiB = 0
    /** The share of the restored memory's new host arenas that the prefault worker backed (last run). */
    let prefaultShare: number | undefined
    for (let r = 0; r < REPEAT; r++) {
      const machine = loadedMachine(tagged)
      const file = join(dir, 'bench.snap')
      // As `tagvm snapshot` saves (fsync and rename included).
      let start = performance.now()
      let cpu = process.cpuUsage()
      const saved = saveMachine(machine, file)
      save.push(saved.guestBytes / MiB / seconds(start))
      guestMiB = saved.guestBytes / MiB
      saveCpu.push(guestMiB / (cpuSince(cpu) / 1000))
      // Then without fsync (the bytes stay in the host's page cache).
      const unsyncedFile = join(dir, 'bench-nosync.snap')
      start = performance.now()
      cpu = process.cpuUsage()
      saveSnapshotFile(unsyncedFile, (enc) => writeMachineSnapshot(machine, enc), { io: { ...fs, fsyncSync: () => {} } })
      saveNoSync.push(guestMiB / seconds(start))
      saveNoSyncCpu.push(guestMiB / (cpuSince(cpu) / 1000))
      rmSync(unsyncedFile, { force: true })
      start = performance.now()
      cpu = process.cpuUsage()
      const restored = restoreMachine(file, () => make(), undefined, { onPrefault: (f) => (prefaultShare = f.suppliedBytes / (f.suppliedBytes + f.freshBytes)) })
      restore.push(guestMiB / seconds(start))
      restoreCpu.push(guestMiB / (cpuSince(cpu) / 1000))
      // As `tagvm restore --prealloc`: host memory for RAM and tags backed first, then the restore.
      const preallocStart = performance.now()
      prefaultHostMemory(config.ramSize + config.ramSize / 32)
      const preallocSeconds = seconds(preallocStart)
      start = performance.now()
      cpu = process.cpuUsage()
      restoreMachine(file, () => make())
      preallocRestore.push(guestMiB / seconds(start))
      preallocRestoreCpu.push(guestMiB / (cpuSince(cpu) / 1000))
      preallocRestoreTotal.push(guestMiB / (seconds(start) + preallocSeconds))
      preallocMs.push(preallocSeconds * 1000)
      releasePrefaultedHostMemory()
      start = performance.now()
      cpu = process.cpuUsage()
      restoreMachine(file, () => restored)
      warmRestore.push(guestMiB / seconds(start))
      warmRestoreCpu.push(guestMiB / (cpuSince(cpu) / 1000))
      if (r === REPEAT - 1) console.log(`${label}: snapshot of ${guestMiB.toFixed(1)} MiB guest memory incl. tags (${(statSync(file).size / MiB).toFixed(1)} MiB file)`)
      rmSync(file, { force: true })
    }
    const perCpu = (values: number[]): string => `${best(values, true).toFixed(0)} MiB per CPU-second`
    compared[label].save = { mibs: best(save, true), cpuMibs: best(saveCpu, true) }
    compared[label].restore = { mibs: best(restore, true), cpuMibs: best(restoreCpu, true) }
    console.log(`  snapshot save:    ${best(save, true).toFixed(0)} MiB/s (${perCpu(saveCpu)}), fsync included`)
    console.log(`  snapshot save without fsync (left in the page cache): ${best(saveNoSync, true).toFixed(0)} MiB/s (${perCpu(saveNoSyncCpu)})`)
    const prefaulted = prefaultShare === undefined ? '' : `; the prefault worker backed ${(prefaultShare * 100).toFixed(0)}% of its host arenas on the other core, CPU counted`
    console.log(`  snapshot restore: ${best(restore, true).toFixed(0)} MiB/s (${perCpu(restoreCpu)}${prefaulted})`)
    console.log(`  snapshot restore, host memory preallocated first: ${best(preallocRestore, true).toFixed(0)} MiB/s (${perCpu(preallocRestoreCpu)}); prealloc ${best(preallocMs, false).toFixed(0)} ms, ${best(preallocRestoreTotal, true).toFixed(0)} MiB/s counting it`)
    console.log(`  snapshot restore onto RAM the host already backs: ${best(warmRestore, true).toFixed(0)} MiB/s (${perCpu(warmRestoreCpu)})`)
    for (const [postcopy, prealloc] of [[false, false], [false, true], ...(hasPostcopy ? [[true, false]] : [])] as [boolean, boolean][]) {
      const runs: MigrationRun[] = []
      for (let r = 0; r < REPEAT; r++) runs.push(await migrate(loadedMachine(tagged), postcopy, r + (postcopy ? 100 : 0) + (prealloc ? 300 : 0) + (tagged ? 0 : 200), prealloc))
      const mibs = best(runs.map((x) => x.mibs), true)
      const downtimes = runs.map((x) => x.downtimeMs).filter((d): d is number => d !== undefined)
      const downtime = downtimes.length ? `${best(downtimes, false).toFixed(1)} ms downtime` : 'downtime not reported'
      const destinationCpu = runs.map((x) => x.destinationCpuMibs).filter((d): d is number => d !== undefined)
      const cpu = `source ${best(runs.map((x) => x.sourceCpuMibs), true).toFixed(0)}, destination ${destinationCpu.length ? best(destinationCpu, true).toFixed(0) : '?'} MiB per CPU-second`
      if (!postcopy && !prealloc) {
        const both = runs.map((x) => x.bothCpuMibs).filter((d): d is number => d !== undefined)
        compared[label].precopy = { mibs, cpuMibs: both.length ? best(both, true) : undefined }
      }
      const preallocNote = prealloc ? `; destination --prealloc took ${best(runs.map((x) => x.preallocMs), false).toFixed(0)} ms before listening, ${best(runs.map((x) => x.totalMibs), true).toFixed(0)} MiB/s counting it` : ''
      console.log(`  ${postcopy ? 'post-copy' : prealloc ? 'pre-copy, destination --prealloc,' : 'pre-copy '} migration over a Unix socket to a second process: ${mibs.toFixed(0)} MiB/s, ${downtime} (${runs[0]!.rounds} rounds; ${cpu}${preallocNote})`)
    }
  }
  console.log(load())
  if (!hasQemu()) console.log('no qemu-system-aarch64 here: no QEMU figures or ratios')
  else {
    const qemu = await qemuMigrationFigures(WORKING_SET / MiB, REPEAT)
    printRatios(compared, qemu)
  }
} finally {
  rmSync(dir, { recursive: true, force: true })
}
