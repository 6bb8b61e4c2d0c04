// QEMU 10's own snapshot and migration figures on this host, for the side-by-side ratio the
// tagvm figures in migration.ts and linux-migration.ts need: the same amount of touched guest
// RAM (TAGVM_BENCH_MIB, default 512 MiB of non-zero bytes) saved to a file, restored from it
// into a fresh process, and migrated to a second QEMU over a Unix socket. They bound what a C
// VMM gets from this host's memory and disk, and the ratio tagvm/QEMU is the figure that
// carries between machines. Under KVM, QEMU refuses to migrate an MTE guest (a migration
// blocker in target/arm/kvm.c); under TCG, as here, its tag storage is one more RAM block and
// migrates. The last line migrates with mte=on to show that; its tags are all zero (the guest
// never ran), so they cost QEMU almost nothing to send, unlike tagvm's tagged figures.
// The source guest is held before its first instruction (-S) with its RAM backed by a private
// mapping of a file of random bytes, so every page is non-zero and migrates in full; prealloc=on
// makes every page resident (its own copy, as in a guest that wrote its RAM) before the clock
// starts, as tagvm's source guest memory is. TAGVM_BENCH_REPEAT repeats the whole set; each
// figure is the best of the runs.
// Every figure gives wall time and the CPU time of the QEMU processes involved (from /proc), for
// MiB per CPU-second beside MiB/s. migration.ts runs these too (qemuMigrationFigures) and prints
// tagvm/QEMU ratios. Prints figures; never fails on time; says so if qemu-system-aarch64 is missing.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process'
import { createConnection, type Socket } from 'node:net'
import { mkdtempSync, readFileSync, rmSync, writeFileSync, openSync, fsyncSync, closeSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { randomFillSync } from 'node:crypto'
import { fileURLToPath } from 'node:url'
import { processCpuMs } from './cpu-time.js'

const MiB = 1 << 20
const QEMU = 'qemu-system-aarch64'
const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms))

type QmpReply = { return?: Record<string, unknown>; error?: { class: string; desc: string } }

/** A QMP connection: one command at a time, events skipped. */
class Qmp {
  private buffered = ''
  private waiting: ((line: string | undefined) => void) | undefined
  private closed = false
  private readonly lines: string[] = []
  private constructor(private readonly socket: Socket) {
    socket.setEncoding('utf8')
    socket.on('data', (chunk: string) => {
      this.buffered += chunk
      let end: number
      while ((end = this.buffered.indexOf('\n')) >= 0) {
        const line = this.buffered.slice(0, end)
        this.buffered = this.buffered.slice(end + 1)
        if (this.waiting) {
          const deliver = this.waiting
          this.waiting = undefined
          deliver(line)
        } else this.lines.push(line)
      }
    })
    socket.on('close', () => {
      this.closed = true
      this.waiting?.(undefined)
    })
  }

  static async open(path: string): Promise<Qmp> {
    for (let attempt = 0; ; attempt++) {
      try {
        const socket = await new Promise<Socket>((resolve, reject) => {
          const s = createConnection(path, () => resolve(s))
          s.once('error', reject)
        })
        const qmp = new Qmp(socket)
        await qmp.line() // greeting
        await qmp.command('qmp_capabilities')
        return qmp
      } catch (error) {
        if (attempt > 200) throw error
        await sleep(50)
      }
    }
  }

  private async line(): Promise<string> {
    const queued = this.lines.shift()
    if (queued !== undefined) return queued
    const line = this.closed ? undefined : await new Promise<string | undefined>((resolve) => (this.waiting = resolve))
    if (line === undefined) throw new Error('QEMU closed its QMP socket (see its message above)')
    return line
  }

  async command(execute: string, args?: Record<string, unknown>): Promise<QmpReply> {
    this.socket.write(JSON.stringify(args ? { execute, arguments: args } : { execute }) + '\n')
    for (;;) {
      const reply = JSON.parse(await this.line()) as QmpReply & { event?: string }
      if (reply.event === undefined) return reply
    }
  }

  /** Polls query-migrate until it completes; the final status object. */
  async migrationEnd(): Promise<Record<string, unknown>> {
    for (;;) {
      const status = (await this.command('query-migrate')).return ?? {}
      if (status.status === 'completed' || status.status === 'failed') return status
      await sleep(20)
    }
  }

  close(): void {
    this.socket.destroy()
  }
}

/** One QEMU figure: MiB/s of wall time and MiB per CPU-second of the QEMU processes it took. */
export interface QemuFigure {
  readonly mibs: number
  readonly cpuMibs: number | undefined
}

export interface QemuFigures {
  readonly sizeMiB: number
  /** Saved to a file (migrate file:), fsync included. */
  readonly save: QemuFigure
  /** Restored into a fresh process (-incoming file:): its start, the read, every page written into fresh RAM. */
  readonly restore: QemuFigure
  /** Pre-copy to a second process over a Unix socket, bandwidth unlimited (CPU of both processes). */
  readonly precopy: QemuFigure
  /** Save with mte=on (TCG): tag storage is one more RAM block; undefined if refused. */
  readonly mteSave: QemuFigure | undefined
}

/** tagvm's best figures of one row (tagged or untagged guest), for the ratios against QEMU's. */
export interface ComparedFigures {
  save?: QemuFigure
  restore?: QemuFigure
  /** Pre-copy; cpuMibs counts both processes, as QEMU's does. */
  precopy?: QemuFigure
}

/** Prints tagvm/QEMU for save, restore and pre-copy, in MiB/s and in MiB per CPU-second, one column pair per row. */
export function printRatios(rows: Record<string, ComparedFigures>, qemu: QemuFigures): void {
  const ratio = (ours: QemuFigure | undefined, theirs: QemuFigure, cpu: boolean): string => {
    const a = cpu ? ours?.cpuMibs : ours?.mibs
    const b = cpu ? theirs.cpuMibs : theirs.mibs
    return a === undefined || b === undefined ? '  ?  ' : (a / b).toFixed(2).padStart(5)
  }
  const load = readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ')
  console.log(`tagvm/QEMU (load ${load}), MiB/s | MiB per CPU-second; QEMU's guest untagged (it cannot move MTE tags under KVM):`)
  for (const [what, key] of [['snapshot save (fsync)', 'save'], ['snapshot restore', 'restore'], ['pre-copy migration', 'precopy']] as const) {
    const columns = Object.entries(rows).map(([label, figures]) => `${label} ${ratio(figures[key], qemu[key], false)} | ${ratio(figures[key], qemu[key], true)}`)
    console.log(`  ${what.padEnd(22)} ${columns.join('    ')}`)
  }
}

/** Whether qemu-system-aarch64 runs here. */
export function hasQemu(): boolean {
  return spawnSync(QEMU, ['--version']).status === 0
}

/**
 * QEMU 10's save, restore and pre-copy of `sizeMiB` MiB of non-zero RAM on this host (see the
 * top of this file); each line is printed as it is measured.
 */
export async function qemuMigrationFigures(sizeMiB: number, repeat = 1): Promise<QemuFigures> {
  const runs: QemuFigures[] = []
  for (let r = 0; r < repeat; r++) runs.push(await qemuMigrationRun(sizeMiB))
  const best = (pick: (f: QemuFigures) => QemuFigure | undefined): QemuFigure => {
    const all = runs.map(pick).filter((f): f is QemuFigure => f !== undefined)
    const cpus = all.map((f) => f.cpuMibs).filter((c): c is number => c !== undefined)
    return { mibs: Math.max(...all.map((f) => f.mibs)), cpuMibs: cpus.length ? Math.max(...cpus) : undefined }
  }
  const mte = runs.some((f) => f.mteSave !== undefined) ? best((f) => f.mteSave) : undefined
  return { sizeMiB, save: best((f) => f.save), restore: best((f) => f.restore), precopy: best((f) => f.precopy), mteSave: mte }
}

async function qemuMigrationRun(sizeMiB: number): Promise<QemuFigures> {
  const dir = mkdtempSync(join(tmpdir(), 'tagvm-bench-qemu-mig-'))
  const BASE = ['-M', 'virt', '-cpu', 'max', '-m', `${sizeMiB}M`, '-display', 'none', '-serial', 'none', '-monitor', 'none', '-nic', 'none']
  /** Guest RAM of a destination: a fresh anonymous backend named as the source's, which migration requires. */
  const FRESH_RAM = ['-object', `memory-backend-ram,id=ram,size=${sizeMiB}M`, '-machine', 'virt,memory-backend=ram']

  function qemu(name: string, args: string[]): { child: ChildProcess; qmpPath: string } {
    const qmpPath = join(dir, `${name}.qmp`)
    const child = spawn(QEMU, [...BASE, ...args, '-qmp', `unix:${qmpPath},server,nowait`], { stdio: ['ignore', 'ignore', 'pipe'] })
    // Its messages are shown only if it fails (a kill at the end makes it say so, harmlessly).
    let messages = ''
    child.stderr?.on('data', (chunk: Buffer) => (messages += chunk.toString()))
    child.on('exit', (code) => {
      if (code !== null && code !== 0) process.stderr.write(messages)
    })
    return { child, qmpPath }
  }

  const ramFile = join(dir, 'ram.bin')
  /** A source QEMU held at reset whose RAM is a private mapping of random bytes. */
  async function source(machine = 'virt'): Promise<{ child: ChildProcess; qmp: Qmp }> {
    const args = ['-object', `memory-backend-file,id=ram,size=${sizeMiB}M,mem-path=${ramFile},share=off,prealloc=on`, '-machine', `${machine},memory-backend=ram`, '-S']
    const { child, qmpPath } = qemu('source', args)
    return { child, qmp: await Qmp.open(qmpPath) }
  }
  /** CPU time of QEMU processes so far (ms), summed; undefined where /proc has none. */
  const cpuOf = (...children: ChildProcess[]): number | undefined => {
    let total = 0
    for (const child of children) {
      const ms = processCpuMs(child.pid)
      if (ms === undefined) return undefined
      total += ms
    }
    return total
  }
  const figure = (label: string, seconds: number, cpuMs: number | undefined): QemuFigure => {
    const cpuMibs = cpuMs === undefined || cpuMs <= 0 ? undefined : sizeMiB / (cpuMs / 1000)
    console.log(`qemu ${label.padEnd(36)} ${(sizeMiB / seconds).toFixed(0).padStart(5)} MiB/s  (${sizeMiB} MiB of RAM in ${seconds.toFixed(2)} s; ${cpuMibs === undefined ? '?' : cpuMibs.toFixed(0)} MiB per CPU-second)`)
    return { mibs: sizeMiB / seconds, cpuMibs }
  }

  try {
    {
      const fd = openSync(ramFile, 'w')
      const chunk = new Uint8Array(MiB)
      for (let at = 0; at < sizeMiB; at++) writeFileSync(fd, randomFillSync(chunk))
      fsyncSync(fd)
      closeSync(fd)
    }
    // Save to a file, fsync included (tagvm's save fsyncs too).
    const snapshot = join(dir, 'snapshot.bin')
    let save: QemuFigure
    {
      const src = await source()
      const cpuBefore = cpuOf(src.child)
      const start = performance.now()
      await src.qmp.command('migrate', { uri: `file:${snapshot}` })
      const end = await src.qmp.migrationEnd()
      const fd = openSync(snapshot, 'r+')
      fsyncSync(fd)
      closeSync(fd)
      const seconds = (performance.now() - start) / 1000
      const cpuAfter = cpuOf(src.child)
      if (end.status !== 'completed') throw new Error(`QEMU save: ${JSON.stringify(end)}`)
      save = figure('snapshot save (migrate file:)', seconds, cpuBefore === undefined || cpuAfter === undefined ? undefined : cpuAfter - cpuBefore)
      src.qmp.close()
      src.child.kill()
    }
    // Restore into a fresh process: its start, the read, every page written into fresh RAM.
    let restore: QemuFigure
    {
      const start = performance.now()
      const dst = qemu('restore', [...FRESH_RAM, '-incoming', `file:${snapshot}`])
      const qmp = await Qmp.open(dst.qmpPath)
      const end = await qmp.migrationEnd()
      const seconds = (performance.now() - start) / 1000
      if (end.status !== 'completed') throw new Error(`QEMU restore: ${JSON.stringify(end)}`)
      restore = figure('snapshot restore (-incoming file:)', seconds, cpuOf(dst.child))
      qmp.close()
      dst.child.kill()
    }
    // Pre-copy to a second process over a Unix socket, bandwidth unlimited.
    let precopy: QemuFigure
    {
      const socketPath = join(dir, 'migration.sock')
      const dst = qemu('destination', [...FRESH_RAM, '-incoming', `unix:${socketPath}`])
      const dstQmp = await Qmp.open(dst.qmpPath)
      const src = await source()
      await src.qmp.command('migrate-set-parameters', { 'max-bandwidth': 64 * 1024 * MiB })
      const cpuBefore = cpuOf(src.child, dst.child)
      const start = performance.now()
      await src.qmp.command('migrate', { uri: `unix:${socketPath}` })
      const end = await src.qmp.migrationEnd()
      const seconds = (performance.now() - start) / 1000
      const cpuAfter = cpuOf(src.child, dst.child)
      if (end.status !== 'completed') throw new Error(`QEMU migration: ${JSON.stringify(end)}`)
      precopy = figure('pre-copy migration (unix socket)', seconds, cpuBefore === undefined || cpuAfter === undefined ? undefined : cpuAfter - cpuBefore)
      src.qmp.close()
      dstQmp.close()
      src.child.kill()
      dst.child.kill()
    }
    // With MTE on (TCG): the tag RAM block goes too.
    let mteSave: QemuFigure | undefined
    {
      const src = await source('virt,mte=on')
      const cpuBefore = cpuOf(src.child)
      const start = performance.now()
      const reply = await src.qmp.command('migrate', { uri: `file:${join(dir, 'mte.bin')}` })
      if (reply.error) console.log(`qemu snapshot save with mte=on: refused: ${reply.error.desc}`)
      else {
        const end = await src.qmp.migrationEnd()
        if (end.status !== 'completed') throw new Error(`QEMU save with mte=on: ${JSON.stringify(end)}`)
        const cpuAfter = cpuOf(src.child)
        mteSave = figure('snapshot save, mte=on (tags zero)', (performance.now() - start) / 1000, cpuBefore === undefined || cpuAfter === undefined ? undefined : cpuAfter - cpuBefore)
      }
      src.qmp.close()
      src.child.kill()
    }
    return { sizeMiB, save, restore, precopy, mteSave }
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
}

if (process.argv[1] !== undefined && fileURLToPath(import.meta.url) === process.argv[1]) {
  if (!hasQemu()) console.log(`qemu-migration: ${QEMU} not found; no QEMU figures (scripts/install-oracles.sh installs it)`)
  else await qemuMigrationFigures(Number(process.env.TAGVM_BENCH_MIB ?? 512), Number(process.env.TAGVM_BENCH_REPEAT ?? 1))
}
