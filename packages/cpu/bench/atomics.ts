// Guest MIPS on exclusive and atomic loops, one CPU, without and with the global monitor that
// vCPU threads use (smp-monitor.ts; uncontended here). Prints figures; never fails on time.
//   tsx --conditions=source bench/atomics.ts [workload index] [monitor]
import { execFileSync } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { SmpLock, attachSmpMonitor } from '../src/index.js'
import { RAM_BASE, asm, enableIdentityMmu, makeMachine, runSnippet } from '../src/test-helpers.js'

const DATA = RAM_BASE + 0x20_0000
const workloads = [
  { name: 'ldxr/stxr counter loop', words: asm`movz x3, #0x40, lsl #16
1: ldxr x4, [x0]; add x4, x4, #1; stxr w5, x4, [x0]; cbnz w5, 1b; subs x3, x3, #1; b.ne 1b` },
  { name: 'ldaddal loop', words: asm`movz x3, #0x40, lsl #16; mov x6, #3
1: ldaddal x6, x4, [x0]; subs x3, x3, #1; b.ne 1b` },
  { name: 'casal loop', words: asm`movz x3, #0x40, lsl #16; mov x4, #0
1: add x6, x4, #1; casal x4, x6, [x0]; mov x4, x6; subs x3, x3, #1; b.ne 1b` },
]

function measure(index: number, monitor: boolean): number {
  const m = makeMachine(16 << 20, true, monitor)
  if (monitor) attachSmpMonitor(m.cpu, new SmpLock(new Int32Array(new SharedArrayBuffer(4))))
  m.cpu.setX(0, BigInt(DATA))
  enableIdentityMmu(m)
  const before = m.cpu.retired
  const t0 = process.cpuUsage()
  const exit = runSnippet(m, workloads[index]!.words, 2_000_000_000)
  const used = process.cpuUsage(t0)
  if (exit.kind !== 'hvc') throw new Error(`unexpected exit ${exit.kind}`)
  return (m.cpu.retired - before) / ((used.user + used.system) / 1000) / 1000
}

if (process.argv[2] !== undefined) {
  const index = Number(process.argv[2])
  const monitor = process.argv[3] === 'monitor'
  let best = 0
  for (let i = 0; i < 3; i++) best = Math.max(best, measure(index, monitor))
  console.log(`${workloads[index]!.name.padEnd(28)} ${monitor ? 'global monitor' : 'one thread    '} ${best.toFixed(1).padStart(6)} MIPS`)
} else {
  console.log('@tagvm/cpu exclusives and atomics, guest instructions per CPU-second, best of 3, one process each')
  for (let i = 0; i < workloads.length; i++) {
    for (const mode of ['', 'monitor']) {
      process.stdout.write(execFileSync(process.execPath, [...process.execArgv, fileURLToPath(import.meta.url), String(i), mode], { encoding: 'utf8' }))
    }
  }
}
