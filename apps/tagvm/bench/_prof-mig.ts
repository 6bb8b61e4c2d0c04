// scratch (not committed): pre-copy migration profile
import { spawn } from 'node:child_process'
import { readFileSync, rmSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { Machine, sendMachine, type MachineConfig } from '@tagvm/machine'
import { KVM_ARM_TAGS_TO_GUEST, ga } from '@tagvm/vmm-api'
import { connectEndpoint } from '../src/endpoint.js'
import { processCpuMs } from './cpu-time.js'
const MiB = 1 << 20
const WS = Number(process.env.MIB ?? 256) * MiB
const tagged = process.env.TAGGED !== '0'
const guest = fileURLToPath(new URL('../../../guests/tag-workload/tag-workload.elf', import.meta.url))
const RAM_BASE = 0x4000_0000, SET_BASE = RAM_BASE + 64 * MiB
const config: MachineConfig = { ramBase: RAM_BASE, ramSize: WS + 128 * MiB, cpus: 1, mte: true, backing: 'anon' }
const make = (): Machine => Machine.create(config, { console: () => {}, message: () => {} })
const cpu = () => { const u = process.cpuUsage(); return (u.user + u.system) / 1000 }
const machine = make()
machine.boot(readFileSync(guest), guest)
machine.run(2_000_000)
const chunk = new Uint8Array(MiB), words = new Uint32Array(chunk.buffer), tags = new Uint8Array(MiB / 16)
let x = 12345
for (let at = 0; at < WS; at += MiB) {
  for (let w = 0; w < words.length; w++) words[w] = x = (x * 1664525 + 1013904223) >>> 0
  machine.memory.write(SET_BASE + at, chunk)
  if (tagged) { for (let g = 0; g < tags.length; g++) tags[g] = (g + at / MiB) & 15; machine.vm.mteCopyTags({ guestIpa: ga(SET_BASE + at), length: MiB, addr: tags, flags: KVM_ARM_TAGS_TO_GUEST }) }
}
const path = '/tmp/migspeed16-mig.sock'
rmSync(path, { force: true })
const extra = process.env.DST_PROF ? ['--cpu-prof', '--cpu-prof-dir=/tmp/migspeed16-dprof'] : process.env.DST_GC ? ['--trace-gc'] : []
const child = spawn(process.execPath, [...extra, '--conditions=source', '--import', 'tsx', 'src/cli.ts', 'migrate', 'receive', '--listen', path, '--max-insns', '100000'], { stdio: ['ignore', process.env.DST_GC ? 'inherit' : 'ignore', 'pipe'], env: { ...process.env, ...(process.env.DST_THP ? { GLIBC_TUNABLES: 'glibc.malloc.hugetlb=1' } : {}) } })
let stderr = ''
const exited = new Promise((r) => child.on('exit', r))
await new Promise<void>((resolve) => child.stderr.setEncoding('utf8').on('data', (t: string) => { stderr += t; if (stderr.includes('waiting for a migration')) resolve() }))
const channel = await connectEndpoint({ kind: 'unix', path })
const d0 = processCpuMs(child.pid)!
const c0 = cpu(), t0 = performance.now()
const result = await sendMachine(machine, channel, { maxRounds: 4, insnsPerRound: 100_000 })
const wall = performance.now() - t0
const dcpu = processCpuMs(child.pid)! - d0
if (result.kind !== 'migrated') throw new Error(JSON.stringify(result))
await exited
const mib = result.bytes / MiB
console.log(`pre-copy ${mib.toFixed(0)} MiB: ${(mib / wall * 1000).toFixed(0)} MiB/s wall, source ${(cpu() - c0).toFixed(0)} ms cpu (${(mib / (cpu() - c0) * 1000).toFixed(0)} MiB/cpu-s), dest ${dcpu} ms cpu (${(mib / dcpu * 1000).toFixed(0)} MiB/cpu-s), downtime ${result.downtimeMs.toFixed(1)} ms, rounds ${result.rounds}`)
