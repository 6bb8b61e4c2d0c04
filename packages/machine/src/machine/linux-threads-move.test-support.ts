// The Linux guest kit booted with its vCPUs on worker threads and moved twice while they all
// run (issue 18): a snapshot restored onto fresh threads, then a pre-copy migration onto a
// third machine's threads, which runs the guest to its end. Shared by linux-threads-move.test.ts
// (two vCPUs, the kit's mte-test, in CI) and scripts/linux-threads-move.ts (any vCPU count and
// any kit run, such as the kernel's MTE selftests, by hand). It only drives and records; the
// callers judge what the guest printed.
import { readFileSync } from 'node:fs'
import { REG_PC, REG_PSTATE, REG_SP, xRegId } from '@tagvm/vmm-api'
import { linuxKit } from '../../../../guests/linux/kit.js'
import type { MachineConfig } from '../config.js'
import { channelPair } from '../migration/channel.js'
import { receiveMigration, sendMachine, type SendResult } from '../migration/live.js'
import { restoreSnapshot } from '../restore.js'
import { SnapshotEncoder } from '../snapshot/format.js'
import { writeMachineSnapshot } from '../snapshot/save.js'
import { spawnSourceWorker } from '../smp/node-spawn.test-support.js'
import type { PageRecord } from '../memory/page.js'
import type { StopReason } from './machine.js'
import { Machine } from './machine.js'

/** A place in the guest's run: `after` instructions (all vCPUs together) past the first console `marker` printed on this machine. */
export interface MovePoint {
  /** Console text to wait for; absent: count from where the machine started. */
  readonly marker?: string
  readonly after: number
}

export interface ThreadsMovePlan {
  readonly cpus: number
  /** The kit's run and its options (`tagvm.run=mte-test`, `tagvm.run=selftests tagvm.selftests=a,b`). */
  readonly kitArgs: string
  readonly snapshotAt: MovePoint
  /** Counted on the restored machine, from the restore. */
  readonly migrateAt: MovePoint
  /** A guest that has not powered off after this many instructions on one machine is stuck. */
  readonly budget: number
  readonly ramSize?: number
  /** Progress lines (the by-hand script prints them). */
  readonly log?: (line: string) => void
  /** Every console byte as it arrives. */
  readonly echo?: (text: string) => void
  /** The destination is stuck when its console has not grown for this many instructions (default STALL). */
  readonly stallAfter?: number
}

export interface ThreadsMoveRun {
  /** Everything the guest printed across the three machines. */
  readonly console: string
  /** Console length at the snapshot and at the start of the migration. */
  readonly atSnapshot: number
  readonly atMigration: number
  /** Instructions each vCPU had retired on the source at the snapshot, on the restored copy, and on the destination. */
  readonly retired: { readonly source: readonly number[]; readonly restored: readonly number[]; readonly destination: readonly number[] }
  readonly migration: SendResult
  /** How the destination stopped: `power-off` for a guest that ran to its end. */
  readonly stop: StopReason
  /**
   * Pages whose data or tags differ between the source as it stopped and the destination as
   * it starts, at the snapshot and at the migration (first few of each); empty: every page
   * and tag arrived as the guest left it.
   */
  readonly differences: { readonly restore: readonly string[]; readonly migration: readonly string[] }
  /** A stuck destination (`stop` is then `budget`): where each vCPU was, sampled STALL_SAMPLES times. */
  readonly stall?: string
}

const CHUNK = 20_000_000
/**
 * A destination whose console has been silent this long (all vCPUs) has stopped making
 * progress: mte-test's boot and run take ~1 G instructions, the longest silence in it ~0.3 G.
 */
const STALL = 2_000_000_000
const STALL_SAMPLES = 8
/** Markers are looked for this often (instructions, all vCPUs). */
const MARKER_STEP = 5_000_000

interface Guest {
  readonly machine: Machine
  readonly out: { text: string }
}

function onThreads(out: { text: string }, config: MachineConfig, echo: ((text: string) => void) | undefined): Machine {
  const decoder = new TextDecoder()
  return Machine.create(
    config,
    {
      console: (bytes) => {
        const text = decoder.decode(bytes)
        out.text += text
        echo?.(text)
      },
    },
    { threads: { spawn: spawnSourceWorker } },
  )
}

/** Runs the guest to `point` (from console offset `from` and the machine's retired count when called); it must not stop on the way. */
function runTo(guest: Guest, point: MovePoint, from: number, budget: number): void {
  const start = guest.machine.retired
  let counting = point.marker === undefined ? start : undefined
  for (;;) {
    if (counting === undefined && guest.out.text.includes(point.marker!, from)) counting = guest.machine.retired
    if (counting !== undefined && guest.machine.retired - counting >= point.after) return
    if (guest.machine.retired - start > budget) throw new Error(`no ${point.marker ?? 'move point'} within ${budget} instructions:\n${guest.out.text.slice(-3000)}`)
    const step = counting === undefined ? MARKER_STEP : Math.min(CHUNK, counting + point.after - guest.machine.retired)
    const stop = guest.machine.run(step)
    if (stop.kind === 'budget') continue
    // Say which wait it was: a marker never printed, or a marker printed too close to the end.
    const where =
      counting === undefined
        ? `before ${point.marker}`
        : `${guest.machine.retired - counting} instructions after ${point.marker ?? 'its start'}, short of the move point ${point.after} after it`
    throw new Error(`the guest stopped (${JSON.stringify(stop)}) ${where}:\n${guest.out.text.slice(-3000)}`)
  }
}

/** Where each vCPU is, over a few short runs: PC, LR, SP and PSTATE per vCPU (a spin shows as PCs that repeat). */
async function sampleVcpus(machine: Machine, run: (budget: number) => Promise<StopReason>): Promise<string> {
  const hex = (value: bigint | undefined): string => (value ?? 0n).toString(16)
  const lines: string[] = []
  for (let sample = 0; sample < STALL_SAMPLES; sample++) {
    const states = machine.saveVcpus()
    const per = states.map((state) => {
      const reg = (id: bigint): bigint | undefined => state.regs.find((r) => r.id === id)?.value
      return `cpu${state.index} pc=${hex(reg(REG_PC))} lr=${hex(reg(xRegId(30)))} sp=${hex(reg(REG_SP))} pstate=${hex(reg(REG_PSTATE))}`
    })
    lines.push(`retired ${machine.retired}: ${per.join('; ')}`)
    await run(1_000_000)
  }
  return lines.join('\n')
}

/** Where `to`'s RAM (data and tags) differs from `from`'s: the first `limit` pages, described. */
function memoryDifferences(from: Machine, to: Machine, limit = 8): string[] {
  const key = (page: PageRecord): string => `${page.data ? Buffer.from(page.data).toString('base64') : '-'}/${page.tags ? Buffer.from(page.tags).toString('hex') : '-'}`
  const want = new Map<number, string>()
  for (const page of from.memory.pages()) want.set(page.gpa, key(page))
  const found: string[] = []
  const differ = (gpa: number, why: string): void => void (found.length < limit && found.push(`0x${gpa.toString(16)}: ${why}`))
  for (const page of to.memory.pages()) {
    const expected = want.get(page.gpa)
    want.delete(page.gpa)
    if (expected === undefined) differ(page.gpa, 'zero on the source, not on the destination')
    else if (expected !== key(page)) {
      const [data, tags] = expected.split('/')
      differ(page.gpa, `${data !== key(page).split('/')[0] ? 'data' : ''}${tags !== key(page).split('/')[1] ? ' tags' : ''} differ`)
    }
  }
  for (const gpa of want.keys()) differ(gpa, 'zero on the destination, not on the source')
  return found
}

function snapshotOf(machine: Machine): Uint8Array {
  const chunks: Uint8Array[] = []
  writeMachineSnapshot(machine, new SnapshotEncoder((c) => chunks.push(c.slice())))
  return Buffer.concat(chunks)
}

/** Boots the kit on `plan.cpus` vCPU threads, snapshots and restores it, pre-copies the copy onto a third machine and runs that to the guest's end. */
export async function moveLinuxOnThreads(plan: ThreadsMovePlan): Promise<ThreadsMoveRun> {
  const { image, initramfs } = linuxKit('linux-threads-move')
  const config: MachineConfig = { ramBase: 0x4000_0000, ramSize: plan.ramSize ?? 256 << 20, cpus: plan.cpus, mte: true, backing: 'anon', clock: 'host' }
  const log = plan.log ?? (() => {})
  const made: Machine[] = []
  try {
    const sourceOut = { text: '' }
    const source: Guest = { out: sourceOut, machine: onThreads(sourceOut, config, plan.echo) }
    made.push(source.machine)
    source.machine.boot(new Uint8Array(readFileSync(image)), image, {
      initrd: { bytes: new Uint8Array(readFileSync(initramfs)), file: initramfs },
      bootargs: `console=ttyAMA0 rdinit=/init ${plan.kitArgs}`,
    })
    runTo(source, plan.snapshotAt, 0, plan.budget)
    const sourceRetired = source.machine.smpStats()!.retired

    // 1. Snapshot while every vCPU runs, the source's threads closed, restored onto fresh threads.
    const snap = snapshotOf(source.machine)
    source.machine.close()
    const atSnapshot = sourceOut.text.length
    log(`snapshot at ${source.machine.retired} instructions (per vCPU ${sourceRetired.join(', ')}), ${snap.length} bytes`)
    const restoredOut = { text: sourceOut.text }
    const restored: Guest = { out: restoredOut, machine: restoreSnapshot(snap, 'linux-threads.snap', (c) => onThreads(restoredOut, c, plan.echo)) }
    made.push(restored.machine)
    const restoreDifferences = memoryDifferences(source.machine, restored.machine)
    runTo(restored, plan.migrateAt, atSnapshot, plan.budget)
    const restoredRetired = restored.machine.smpStats()!.retired

    // 2. Pre-copy from those threads onto a third machine's, while the guest runs on.
    const atMigration = restoredOut.text.length
    log(`migrating after ${restored.machine.retired} instructions on the restored copy (per vCPU ${restoredRetired.join(', ')})`)
    const destinationOut = { text: restoredOut.text }
    const [a, b] = channelPair()
    const incoming = receiveMigration(b, (c) => {
      const machine = onThreads(destinationOut, c, plan.echo)
      made.push(machine)
      return machine
    })
    const migration = await sendMachine(restored.machine, a, { maxRounds: 3, insnsPerRound: 5_000_000 })
    const destination = await incoming
    await destination.complete
    const migrationDifferences = memoryDifferences(restored.machine, destination.machine)
    restored.machine.close()
    log(`migrated: ${JSON.stringify(migration)}`)
    for (const [move, found] of [['restore', restoreDifferences], ['migration', migrationDifferences]] as const) if (found.length > 0) log(`after the ${move}, pages differ: ${found.join('; ')}`)
    const start = destination.machine.retired
    let stop = await destination.run(CHUNK)
    let silentSince = { length: destinationOut.text.length, retired: destination.machine.retired }
    let stall: string | undefined
    for (let chunks = 1; stop.kind === 'budget' && destination.machine.retired - start < plan.budget; chunks++) {
      if (chunks % 25 === 0) log(`destination: ${destination.machine.retired - start} instructions, per vCPU ${destination.machine.smpStats()!.retired.join(', ')}; console ends ${JSON.stringify(destinationOut.text.slice(-80))}`)
      if (destinationOut.text.length !== silentSince.length) silentSince = { length: destinationOut.text.length, retired: destination.machine.retired }
      else if (destination.machine.retired - silentSince.retired >= (plan.stallAfter ?? STALL)) {
        stall = await sampleVcpus(destination.machine, (budget) => destination.run(budget))
        log(`destination stuck (console silent for ${destination.machine.retired - silentSince.retired} instructions):\n${stall}`)
        break
      }
      stop = await destination.run(CHUNK)
    }
    log(`destination stopped: ${JSON.stringify(stop)} after ${destination.machine.retired - start} instructions`)
    return {
      console: destinationOut.text,
      atSnapshot,
      atMigration,
      retired: { source: sourceRetired, restored: restoredRetired, destination: destination.machine.smpStats()!.retired },
      migration,
      stop,
      differences: { restore: restoreDifferences, migration: migrationDifferences },
      ...(stall === undefined ? {} : { stall }),
    }
  } finally {
    for (const machine of made) machine.close()
  }
}
