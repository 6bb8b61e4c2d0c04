// vCPUs on threads:
// 1. throughput of an embarrassingly parallel guest (guests/smp-crc: every vCPU runs its own
//    CRC32C loop) on 1 and 2 vCPU threads, and 2 vCPUs in lockstep for reference;
// 2. the cost of a cross-vCPU TLBI (guests/smp-tlbi: TLBI VAE1IS + DSB ISH while the other
//    vCPU runs), per TLBI, from two runs that differ only in the number of TLBIs;
// 3. an IPI round trip (guests/smp-sgi: SGI ping-pong, each hop waking a vCPU in WFI), the
//    same way.
// Variants interleaved, best of ROUNDS each; thread start-up is left out (a first run of one
// instruction starts the threads). Prints figures with the load average; never fails on time.
import { readFileSync } from 'node:fs'
import { loadavg } from 'node:os'
import { Machine, parseElf64, type MachineConfig } from '../src/index.js'
import { spawnSourceWorker } from '../src/smp/node-spawn.test-support.js'

const GUESTS = new URL('../../../guests/', import.meta.url)
const ROUNDS = Number(process.env.SMP_BENCH_ROUNDS ?? 5)
const CRC_ROUNDS = Number(process.env.SMP_BENCH_CRC_ROUNDS ?? 20_000)
const TLBIS = Number(process.env.SMP_BENCH_TLBIS ?? 2_000)
const SGI_ROUNDS = Number(process.env.SMP_BENCH_SGI_ROUNDS ?? 2_000)
const which = new Set((process.env.SMP_BENCH ?? 'crc,tlbi,ipi').split(','))

interface Guest {
  readonly file: string
  readonly elf: Uint8Array
  readonly symbols: ReadonlyMap<string, number>
}

function guest(name: string): Guest {
  const file = `${name}.elf`
  const elf = readFileSync(new URL(`${name}/${file}`, GUESTS))
  return { file, elf, symbols: new Map(parseElf64(elf, file).symbols.map((s) => [s.name, s.value])) }
}

interface Run {
  readonly name: string
  readonly guest: Guest
  readonly cpus: number
  readonly threads: boolean
  /** 32-bit guest variables set before the run. */
  readonly set: Readonly<Record<string, number>>
  /** What the output must contain. */
  readonly expect: string
  /** A 64-bit guest variable holding CNTVCT ticks the guest measured, read after the run. */
  readonly ticks?: string
}

/** The guest counter's frequency on tagvm's host clock (CNTFRQ_EL0: 1 GHz, as KVM's virt). */
const COUNTER_HZ = 1e9

function once(v: Run): { seconds: number; cpuSeconds: number; insns: number; guestSeconds: number } {
  const config: MachineConfig = { ramBase: 0x4000_0000, ramSize: 16 << 20, cpus: v.cpus, mte: true, backing: 'anon', clock: 'host' }
  let output = ''
  const machine = Machine.create(config, { console: (b) => (output += new TextDecoder().decode(b)) }, v.threads ? { threads: { spawn: spawnSourceWorker } } : {})
  try {
    machine.boot(v.guest.elf, v.guest.file)
    for (const [name, value] of Object.entries(v.set)) {
      const at = v.guest.symbols.get(name)
      if (at === undefined) throw new Error(`${v.guest.file} has no symbol ${name}`)
      const bytes = new Uint8Array(4)
      new DataView(bytes.buffer).setUint32(0, value, true)
      machine.memory.write(at, bytes)
    }
    machine.run(1)
    const before = machine.retired
    const cpuBefore = process.cpuUsage()
    const start = performance.now()
    const stop = machine.run()
    const seconds = (performance.now() - start) / 1000
    const used = process.cpuUsage(cpuBefore)
    if (stop.kind !== 'power-off' || !output.includes(v.expect)) throw new Error(`${v.name}: ${JSON.stringify(stop)} ${output}`)
    let guestSeconds = 0
    if (v.ticks) {
      const at = v.guest.symbols.get(v.ticks)
      if (at === undefined) throw new Error(`${v.guest.file} has no symbol ${v.ticks}`)
      const bytes = new Uint8Array(8)
      machine.memory.read(at, bytes)
      guestSeconds = Number(new DataView(bytes.buffer).getBigUint64(0, true)) / COUNTER_HZ
    }
    return { seconds, cpuSeconds: (used.user + used.system) / 1e6, insns: machine.retired - before, guestSeconds }
  } finally {
    machine.close()
  }
}

/** Best (shortest) wall seconds of each run, the runs interleaved. */
function bestOf(runs: readonly Run[], report: (run: Run, r: ReturnType<typeof once>, round: number) => void): Map<string, ReturnType<typeof once>> {
  const best = new Map<string, ReturnType<typeof once>>()
  for (let round = 0; round < ROUNDS; round++) {
    for (const v of runs) {
      const r = once(v)
      report(v, r, round)
      const old = best.get(v.name)
      if (!old || r.seconds < old.seconds) best.set(v.name, r)
    }
  }
  return best
}

const load = () => loadavg().map((l) => l.toFixed(2)).join(' ')
console.log(`load average at start: ${load()}`)

if (which.has('crc')) {
  const crc = guest('smp-crc')
  const runs: Run[] = [
    { name: '1 vCPU, threads', guest: crc, cpus: 1, threads: true, set: { crc_rounds: CRC_ROUNDS }, expect: 'smp-crc: 1 cpus' },
    { name: '2 vCPUs, threads', guest: crc, cpus: 2, threads: true, set: { crc_rounds: CRC_ROUNDS }, expect: 'smp-crc: 2 cpus' },
    { name: '2 vCPUs, lockstep', guest: crc, cpus: 2, threads: false, set: { crc_rounds: CRC_ROUNDS }, expect: 'smp-crc: 2 cpus' },
  ]
  const best = bestOf(runs, (v, r, round) =>
    console.log(`crc round ${round + 1}: ${v.name}: ${(r.insns / 1e6).toFixed(1)} M insns in ${r.seconds.toFixed(2)} s (${r.cpuSeconds.toFixed(2)} CPU-s) = ${(r.insns / r.seconds / 1e6).toFixed(1)} MIPS (load ${load()})`),
  )
  const mips = (name: string) => best.get(name)!.insns / best.get(name)!.seconds / 1e6
  const one = mips(runs[0]!.name)
  for (const v of runs) console.log(`best ${v.name}: ${mips(v.name).toFixed(1)} MIPS (${(mips(v.name) / one).toFixed(2)}x of 1 vCPU on threads)`)
}

/**
 * Per-operation cost as the guest measured it (CNTVCT around its loop of `n` operations),
 * best and median over the rounds: the run's start-up and the other phases are left out.
 */
function perOperation(label: string, run: Run, n: number): void {
  const costs: number[] = []
  for (let round = 0; round < ROUNDS; round++) {
    const r = once(run)
    costs.push(r.guestSeconds / n)
    console.log(`${label} round ${round + 1}: ${run.name}: ${(r.guestSeconds * 1e3).toFixed(1)} ms for ${n} (load ${load()})`)
  }
  costs.sort((a, b) => a - b)
  const us = (s: number) => `${(s * 1e6).toFixed(1)} µs`
  console.log(`${label}, ${run.threads ? 'threads' : 'lockstep'}: best ${us(costs[0]!)}, median ${us(costs[Math.floor(costs.length / 2)]!)} each`)
}

if (which.has('tlbi')) {
  const tlbi = guest('smp-tlbi')
  const expect = 'smp-tlbi: 2 cpus, 1 rounds, 0 stale'
  for (const threads of [true, false]) {
    const mode = threads ? 'threads' : 'lockstep'
    perOperation(
      'cross-vCPU TLBI VAE1IS + DSB ISH (the other vCPU running)',
      { name: `${TLBIS} TLBIs, ${mode}`, guest: tlbi, cpus: 2, threads, set: { tlbi_rounds: 1, tlbi_solo: TLBIS }, expect, ticks: 'solo_ticks' },
      TLBIS,
    )
  }
}

if (which.has('ipi')) {
  const sgi = guest('smp-sgi')
  for (const threads of [true, false]) {
    const mode = threads ? 'threads' : 'lockstep'
    perOperation(
      'IPI round trip (SGI there and back, each waking a vCPU in WFI)',
      { name: `${SGI_ROUNDS} round trips, ${mode}`, guest: sgi, cpus: 2, threads, set: { sgi_rounds: SGI_ROUNDS }, expect: `smp-sgi: 2 cpus, ${SGI_ROUNDS} rounds`, ticks: 'pingpong_ticks' },
      SGI_ROUNDS,
    )
  }
}
console.log(`load average at end: ${load()}`)
