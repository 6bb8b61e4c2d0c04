// vCPUs on threads: throughput of an embarrassingly parallel guest (guests/smp-crc: every
// vCPU runs its own CRC32C loop) on 1 and 2 vCPU threads, and 2 vCPUs in lockstep for
// reference. Variants interleaved, best of ROUNDS each; thread start-up is left out (a
// first run of one instruction starts the threads). Prints figures; never fails on time.
import { readFileSync } from 'node:fs'
import { Machine, parseElf64, type MachineConfig } from '../src/index.js'
import { spawnSourceWorker } from '../src/smp/node-spawn.test-support.js'

const ELF_URL = new URL('../../../guests/smp-crc/smp-crc.elf', import.meta.url)
const elf = readFileSync(ELF_URL)
const roundsAt = parseElf64(elf, 'smp-crc.elf').symbols.find((s) => s.name === 'crc_rounds')!.value
const CRC_ROUNDS = Number(process.env.SMP_BENCH_CRC_ROUNDS ?? 20_000)
const ROUNDS = Number(process.env.SMP_BENCH_ROUNDS ?? 5)

type Variant = { name: string; cpus: number; threads: boolean }
const VARIANTS: Variant[] = [
  { name: '1 vCPU, threads', cpus: 1, threads: true },
  { name: '2 vCPUs, threads', cpus: 2, threads: true },
  { name: '2 vCPUs, lockstep', cpus: 2, threads: false },
]

function once(v: Variant): { seconds: number; insns: number } {
  const config: MachineConfig = { ramBase: 0x4000_0000, ramSize: 16 << 20, cpus: v.cpus, mte: true, backing: 'anon', clock: 'host' }
  let output = ''
  const machine = Machine.create(config, { console: (b) => (output += new TextDecoder().decode(b)) }, v.threads ? { threads: { spawn: spawnSourceWorker } } : {})
  try {
    machine.boot(elf, 'smp-crc.elf')
    const rounds = new Uint8Array(4)
    new DataView(rounds.buffer).setUint32(0, CRC_ROUNDS, true)
    machine.memory.write(roundsAt, rounds)
    machine.run(1)
    const before = machine.retired
    const start = performance.now()
    const stop = machine.run()
    const seconds = (performance.now() - start) / 1000
    if (stop.kind !== 'power-off' || !output.includes(`smp-crc: ${v.cpus} cpus`)) throw new Error(`${v.name}: ${JSON.stringify(stop)} ${output}`)
    return { seconds, insns: machine.retired - before }
  } finally {
    machine.close()
  }
}

const best = new Map<string, number>()
for (let round = 0; round < ROUNDS; round++) {
  for (const v of VARIANTS) {
    const { seconds, insns } = once(v)
    const mips = insns / seconds / 1e6
    console.log(`round ${round + 1}: ${v.name}: ${(insns / 1e6).toFixed(1)} M insns in ${seconds.toFixed(2)} s = ${mips.toFixed(1)} MIPS`)
    best.set(v.name, Math.max(best.get(v.name) ?? 0, mips))
  }
}
const one = best.get(VARIANTS[0]!.name)!
for (const v of VARIANTS) console.log(`best ${v.name}: ${best.get(v.name)!.toFixed(1)} MIPS (${(best.get(v.name)! / one).toFixed(2)}x of 1 vCPU on threads)`)
