// The benchmark guests (guests/bench-*: CRC-32, sieve, copy, linked list, strings, tagged
// allocator; clang -O2, bare metal) under tagvm's interpreter, tagvm's compiled tier and
// QEMU 10, in one run, MTE on (tagged data, synchronous checks) and off. Figures are MIPS
// per CPU-second of the workload's instructions: each side's CPU time minus that of the same
// guest running no round (boot, set-up, the line, power-off), the instruction count from
// tagvm (both machines run the same code on the same data). Best of REPS interleaved runs.
// The interpreter runs ROUNDS rounds; the compiled tier and QEMU run FAST_FACTOR times as
// many (QEMU's count is the compiled tier's, whose run is the same), so that QEMU's part is
// long enough to measure next to its start-up; where QEMU's part would still be under
// QEMU_MIN_SECONDS (MTE off, ~0.1 s next to ~0.3 s of start-up: best-of-N differences of
// that came out anywhere from 300 to 18000 MIPS), QEMU runs more rounds, measured per round.
// The cost of tag checking is the workload's
// CPU time with MTE on over MTE off, minus one, per round and per retired instruction (the
// MTE build of bench-alloc runs ~21% more instructions a round: it tags its objects).
// Prints figures, never fails on time; fails if tagvm and QEMU print different lines.
//
//   tsx --conditions=source bench/jit-suite.ts [WORKLOAD...]   (pnpm bench)
//   JIT_SUITE_SCALE=0.25 ...   fewer rounds (default 1: about 50 M instructions an interpreter run, 200 M the others)
//   JIT_SUITE_REPS=3 ...       runs of each side

import { spawnSync } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { GUESTS, runGuest } from '../src/guest-runner.js'
import { enableGuestMte } from '../src/mte-test-support.js'

const QEMU = process.env['QEMU'] ?? 'qemu-system-aarch64'
/** guests/lib/bench.h: the round count a guest reads before it turns on the MMU. */
const BENCH_PARAMS = 0x407f_f000
const NO_ROUNDS = 0xffff_ffff
/** Interpreter rounds per workload, about 40-60 M instructions (guest defaults are ~3-30 M, for tests). */
const ROUNDS: Record<string, number> = { crc32: 300, sieve: 10, copy: 250, list: 60, string: 20, alloc: 150 }
const SCALE = Number(process.env['JIT_SUITE_SCALE'] ?? 1)
const FAST_FACTOR = 4
/** QEMU's workload part is scaled (up to 16x more rounds) to last at least this long. */
const QEMU_MIN_SECONDS = 0.5
const REPS = Math.max(1, Number(process.env['JIT_SUITE_REPS'] ?? 3))

interface Run {
  line: string
  instructions: number
  cpuSeconds: number
}

type Side = 'interp' | 'jit' | 'qemu'

function runTagvm(guest: string, rounds: number, jit: boolean): Run {
  const t0 = process.cpuUsage()
  const r = runGuest(guest, 4_000_000_000, true, (m) => {
    enableGuestMte(m)
    m.memory.write32(BENCH_PARAMS, rounds)
  }, jit ? {} : undefined)
  const used = process.cpuUsage(t0)
  if (!r.poweredOff) throw new Error(`${guest}: did not power off: ${r.output}`)
  return { line: lastLine(r.output), instructions: r.instructions, cpuSeconds: (used.user + used.system) / 1e6 }
}

function runQemu(guest: string, rounds: number): Run {
  const dir = mkdtempSync(join(tmpdir(), 'jit-suite-'))
  try {
    const timeFile = join(dir, 'time')
    const args = [
      '-f', '%U %S', '-o', timeFile, QEMU, '-M', 'virt,mte=on', '-cpu', 'max', '-nographic', '-nic', 'none', '-no-reboot',
      '-kernel', `${GUESTS}${guest}/${guest}.elf`, '-device', `loader,addr=0x${BENCH_PARAMS.toString(16)},data=${rounds},data-len=4`,
    ]
    const r = spawnSync('/usr/bin/time', args, { encoding: 'utf8', timeout: 600_000, stdio: ['ignore', 'pipe', 'pipe'] })
    if (r.status !== 0) throw new Error(`QEMU failed on ${guest} (${r.status ?? r.signal}): ${r.stderr}`)
    const [user, system] = readFileSync(timeFile, 'utf8').trim().split(/\s+/).map(Number)
    return { line: lastLine(r.stdout), instructions: 0, cpuSeconds: user! + system! }
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
}

const lastLine = (out: string): string => out.trim().split('\n').pop() ?? ''

function qemuAvailable(): boolean {
  return spawnSync(QEMU, ['--version']).status === 0 && spawnSync('/usr/bin/time', ['-f', '%U', 'true']).status === 0
}

interface Measured {
  /** Workload instructions per side (the run's minus the no-round run's); QEMU's are the jit's. */
  instructions: Partial<Record<Side, number>>
  /** Best workload CPU seconds per round, per side. */
  perRound: Partial<Record<Side, number>>
  /** QEMU ran this many times the compiled tier's rounds. */
  qemuScale: number
}

function measure(guest: string, rounds: number, sides: Side[]): Measured {
  const base: Partial<Record<Side, Run>> = {}
  const full: Partial<Record<Side, Run>> = {}
  let qemuScale = 1
  const roundsOf = (side: Side): number => (side === 'interp' ? rounds : side === 'jit' ? rounds * FAST_FACTOR : rounds * FAST_FACTOR * qemuScale)
  const lines = new Map<number, string>()
  const run = (side: Side, n: number): Run => (side === 'qemu' ? runQemu(guest, n) : runTagvm(guest, n, side === 'jit'))
  if (sides.includes('qemu')) {
    // A probe: how long QEMU's part of a run is, next to its start-up.
    const part = runQemu(guest, roundsOf('qemu')).cpuSeconds - runQemu(guest, NO_ROUNDS).cpuSeconds
    if (part < QEMU_MIN_SECONDS) qemuScale = Math.min(16, Math.ceil(QEMU_MIN_SECONDS / Math.max(part, QEMU_MIN_SECONDS / 16)))
  }
  for (let rep = 0; rep < REPS; rep++) {
    for (const side of sides) {
      const b = run(side, NO_ROUNDS)
      if (base[side] === undefined || b.cpuSeconds < base[side]!.cpuSeconds) base[side] = b
      const n = roundsOf(side)
      const r = run(side, n)
      // A scaled QEMU run has no tagvm run of as many rounds to compare its line with.
      if (side !== 'qemu' || qemuScale === 1) {
        const line = lines.get(n)
        if (line !== undefined && r.line !== line) throw new Error(`${guest}: ${side} printed ${JSON.stringify(r.line)}, another side ${JSON.stringify(line)}`)
        lines.set(n, r.line)
      }
      if (full[side] === undefined || r.cpuSeconds < full[side]!.cpuSeconds) full[side] = r
    }
  }
  // Best (least CPU) full run minus best no-round run, per side; QEMU runs the same code on
  // the same data, so its instructions per round are the compiled tier's.
  const instructions: Partial<Record<Side, number>> = {}
  const perRound: Partial<Record<Side, number>> = {}
  for (const side of sides) {
    perRound[side] = Math.max(1e-6, full[side]!.cpuSeconds - base[side]!.cpuSeconds) / roundsOf(side)
    if (side !== 'qemu') instructions[side] = full[side]!.instructions - base[side]!.instructions
  }
  instructions.qemu = instructions.jit! * qemuScale
  return { instructions, perRound, qemuScale }
}

const workloads = process.argv.slice(2).length > 0 ? process.argv.slice(2) : Object.keys(ROUNDS)
const qemu = qemuAvailable()
const sides: Side[] = qemu ? ['interp', 'jit', 'qemu'] : ['interp', 'jit']
console.log(
  `@tagvm/cpu benchmark guests: MIPS per CPU-second of the workload, best of ${REPS}; ` +
    `${qemu ? (spawnSync(QEMU, ['--version'], { encoding: 'utf8' }).stdout.split('\n')[0] ?? '') : 'QEMU not found'}`,
)
console.log(`guest         MTE   M insns  interp     jit    QEMU   jit/QEMU  interp/QEMU   (M insns: jit and QEMU runs; interp runs 1/${FAST_FACTOR})`)
const fmt = (v: number | undefined, w = 7): string => (v === undefined ? '—' : v.toFixed(0)).padStart(w)
const ratio = (a: number | undefined, b: number | undefined): string => (a === undefined || b === undefined ? '—' : (a / b).toFixed(2)).padStart(9)
const costs: string[] = []
for (const w of workloads) {
  const rounds = Math.max(1, Math.round(ROUNDS[w]! * SCALE))
  const seconds: Record<string, Partial<Record<Side, number>>> = {}
  /** Workload instructions a round, per build (the same for every side). */
  const insns: Record<string, number> = {}
  for (const mte of ['on', 'off']) {
    const guest = mte === 'on' ? `bench-${w}` : `bench-${w}-nomte`
    const m = measure(guest, rounds, sides)
    const rate = Object.fromEntries(
      sides.map((s) => [s, m.instructions[s]! / (m.perRound[s]! * (s === 'interp' ? rounds : s === 'jit' ? rounds * FAST_FACTOR : rounds * FAST_FACTOR * m.qemuScale)) / 1e6]),
    ) as Partial<Record<Side, number>>
    seconds[mte] = m.perRound
    insns[mte] = m.instructions.jit! / (rounds * FAST_FACTOR)
    console.log(
      `${w.padEnd(12)} ${mte.padEnd(4)} ${(m.instructions.jit! / 1e6).toFixed(0).padStart(8)} ${fmt(rate.interp)} ${fmt(rate.jit)} ${fmt(rate.qemu)}` +
        `${ratio(rate.jit, rate.qemu)}  ${ratio(rate.interp, rate.qemu)}${m.qemuScale > 1 ? `   (QEMU ran ${m.qemuScale}x the rounds)` : ''}`,
    )
  }
  const cost = (side: Side): string => {
    const on = seconds['on']![side]
    const off = seconds['off']![side]
    if (on === undefined || off === undefined) return '—'
    // Per round, and per instruction (the MTE build may run more instructions a round).
    const perInsn = (on / insns['on']!) / (off / insns['off']!)
    const pct = (v: number): string => `${((v - 1) * 100).toFixed(0)}%`
    return `${pct(on / off)} / ${pct(perInsn)}`
  }
  costs.push(`${w.padEnd(12)} interp ${cost('interp').padStart(11)}   jit ${cost('jit').padStart(11)}   QEMU ${cost('qemu').padStart(11)}`)
}
console.log('tag-checking cost, MTE on / MTE off - 1: CPU time per round / per instruction (issue 17 reads the second: bench-alloc\'s MTE build runs ~21% more instructions a round; bench/tag-cost.ts measures the tier\'s side by side):')
for (const c of costs) console.log(c)
