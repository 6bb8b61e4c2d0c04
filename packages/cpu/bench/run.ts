// Guest MIPS on integer workloads. Prints figures; never fails on time.
//   pnpm bench   (tsx with the `source` condition, so no build is needed)
import { execFileSync } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { RAM_BASE, asm, enableIdentityMmu, makeMachine, runSnippet, type Machine } from '../src/test-helpers.js'
import { runGuest } from '../src/guest-runner.js'

const DATA = RAM_BASE + 0x20_0000

interface Workload {
  name: string
  words: number[]
  setup: (m: Machine) => void
}

const workloads: Workload[] = [
  {
    name: 'xorshift ALU loop (registers only)',
    words: asm`movz x3, #0x80, lsl #16; mov x0, #0x1234; mov x2, #0
1: eor x0, x0, x0, lsl #13; eor x0, x0, x0, lsr #7; eor x0, x0, x0, lsl #17; add x2, x2, x0; subs x3, x3, #1; b.ne 1b`,
    setup: () => {},
  },
  {
    name: 'CRC32C over 64 KiB, MMU on',
    words: asm`mov x5, #1024; mov x2, #0
2: mov x1, x0; mov x3, #8192
1: ldr x4, [x1], #8; crc32cx w2, w2, x4; subs x3, x3, #1; b.ne 1b
subs x5, x5, #1; b.ne 2b`,
    setup: (m) => {
      m.cpu.setX(0, BigInt(DATA))
      enableIdentityMmu(m)
    },
  },
  {
    name: 'memory checksum (ldp/mul/add) over 256 KiB, MMU on',
    words: asm`mov x5, #256; mov x2, #0; mov x7, #0x1b3; movk x7, #0x100, lsl #32
2: mov x1, x0; mov x3, #16384
1: ldp x4, x6, [x1], #16; eor x2, x2, x4; mul x2, x2, x7; eor x2, x2, x6, ror #7; subs x3, x3, #1; b.ne 1b
subs x5, x5, #1; b.ne 2b`,
    setup: (m) => {
      m.cpu.setX(0, BigInt(DATA))
      enableIdentityMmu(m)
    },
  },
  {
    name: 'memory copy (ldp/stp) of 128 KiB, MMU on',
    words: asm`mov x5, #1024
2: mov x1, x0; add x8, x0, #0x20, lsl #12; mov x3, #8192
1: ldp x4, x6, [x1], #16; stp x4, x6, [x8], #16; subs x3, x3, #1; b.ne 1b
subs x5, x5, #1; b.ne 2b`,
    setup: (m) => {
      m.cpu.setX(0, BigInt(DATA))
      enableIdentityMmu(m)
    },
  },
  {
    name: 'sieve of Eratosthenes (byte stores), MMU on',
    words: asm`mov x9, #24
3: mov x1, #0; mov x2, #0x10000
4: strb wzr, [x0, x1]; add x1, x1, #1; cmp x1, x2; b.lo 4b
mov x1, #2; mov w6, #1
5: ldrb w3, [x0, x1]; cbnz w3, 7f; add x4, x1, x1
6: cmp x4, x2; b.hs 7f; strb w6, [x0, x4]; add x4, x4, x1; b 6b
7: add x1, x1, #1; cmp x1, x2; b.lo 5b
subs x9, x9, #1; b.ne 3b`,
    setup: (m) => {
      m.cpu.setX(0, BigInt(DATA))
      enableIdentityMmu(m)
    },
  },
]

function measure(w: Workload): { mips: number; instructions: number } {
  const m = makeMachine()
  w.setup(m)
  const before = m.cpu.retired
  // CPU time, not wall time: on a shared machine the process is often waiting for a core.
  const t0 = process.cpuUsage()
  const exit = runSnippet(m, w.words, 2_000_000_000)
  const used = process.cpuUsage(t0)
  const ms = (used.user + used.system) / 1000
  if (exit.kind !== 'hvc' || exit.imm16 !== 0xf00d) throw new Error(`${w.name}: unexpected exit ${exit.kind}`)
  const instructions = m.cpu.retired - before
  return { mips: instructions / ms / 1000, instructions }
}

// Each workload runs in its own process (as one guest would), three times; the best run
// is reported because the machine is shared and timings are noisy.
const only = process.argv[2]
if (only !== undefined) {
  const w = workloads[Number(only)]!
  let best = { mips: 0, instructions: 0 }
  for (let i = 0; i < 3; i++) {
    const r = measure(w)
    if (r.mips > best.mips) best = r
  }
  console.log(`${w.name.padEnd(52)} ${best.mips.toFixed(1).padStart(6)} MIPS  (${(best.instructions / 1e6).toFixed(1)} M instructions)`)
} else {
  console.log('@tagvm/cpu interpreter, Node', process.version, '- guest instructions per CPU-second, best of 3, one process per workload')
  for (let i = 0; i < workloads.length; i++) {
    process.stdout.write(execFileSync(process.execPath, [...process.execArgv, fileURLToPath(import.meta.url), String(i)], { encoding: 'utf8' }))
  }
  const t0 = process.cpuUsage()
  const r = runGuest('cpu-basic')
  const used = process.cpuUsage(t0)
  const ms = (used.user + used.system) / 1000
  console.log(`${'guests/cpu-basic, cold (decode + JIT warm-up included)'.padEnd(52)} ${(r.instructions / ms / 1000).toFixed(1).padStart(6)} MIPS  (${(r.instructions / 1e6).toFixed(1)} M instructions)`)
}
