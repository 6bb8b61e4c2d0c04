// MTE cost: guest MIPS of memory-heavy loops over Tagged memory with synchronous tag
// checking on (every load/store compares its pointer's tag with the granule's) and off
// (TCF = 0), and the ratio; then the tag-workload guest (168 M instructions of STG/STGP/ST2G
// and checked accesses). MIPS are per CPU-second of this process (the machine is shared, so
// wall-clock figures swing), as in bench/run.ts. Prints figures; never fails on time.
//   pnpm bench   (tsx with the `source` condition, so no build is needed)
import { execFileSync } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { readFileSync } from 'node:fs'
import { RAM_BASE, asm, enableIdentityMmu, makeMachine, runSnippet, type Machine } from '../src/test-helpers.js'
import { GUESTS, runGuest } from '../src/guest-runner.js'
import { enableGuestMte } from '../src/mte-test-support.js'

const DATA = RAM_BASE + 0x20_0000
const TAG = 5
/** The data pointer carries the granules' tag, so checked accesses pass. */
const POINTER = (BigInt(TAG) << 56n) | BigInt(DATA)

interface Workload {
  name: string
  words: number[]
}

// The same loops as bench/run.ts.
const workloads: Workload[] = [
  {
    name: 'CRC32C over 64 KiB (ldr post-index)',
    words: asm`mov x5, #1024; mov x2, #0
2: mov x1, x0; mov x3, #8192
1: ldr x4, [x1], #8; crc32cx w2, w2, x4; subs x3, x3, #1; b.ne 1b
subs x5, x5, #1; b.ne 2b`,
  },
  {
    name: 'checksum over 256 KiB (ldp/mul/add)',
    words: asm`mov x5, #256; mov x2, #0; mov x7, #0x1b3; movk x7, #0x100, lsl #32
2: mov x1, x0; mov x3, #16384
1: ldp x4, x6, [x1], #16; eor x2, x2, x4; mul x2, x2, x7; eor x2, x2, x6, ror #7; subs x3, x3, #1; b.ne 1b
subs x5, x5, #1; b.ne 2b`,
  },
  {
    name: 'copy 128 KiB (ldp/stp, granule-aligned)',
    words: asm`mov x5, #1024
2: mov x1, x0; add x8, x0, #0x20, lsl #12; mov x3, #8192
1: ldp x4, x6, [x1], #16; stp x4, x6, [x8], #16; subs x3, x3, #1; b.ne 1b
subs x5, x5, #1; b.ne 2b`,
  },
  {
    name: 'copy 128 KiB (stp 8 bytes off: 2 granules)',
    words: asm`mov x5, #1024
2: mov x1, x0; add x8, x0, #0x20, lsl #12; add x8, x8, #8; mov x3, #8192
1: ldp x4, x6, [x1], #16; stp x4, x6, [x8], #16; subs x3, x3, #1; b.ne 1b
subs x5, x5, #1; b.ne 2b`,
  },
  {
    name: 'sieve (byte loads and stores)',
    words: asm`mov x9, #24
3: mov x1, #0; mov x2, #0x10000
4: strb wzr, [x0, x1]; add x1, x1, #1; cmp x1, x2; b.lo 4b
mov x1, #2; mov w6, #1
5: ldrb w3, [x0, x1]; cbnz w3, 7f; add x4, x1, x1
6: cmp x4, x2; b.hs 7f; strb w6, [x0, x4]; add x4, x4, x1; b 6b
7: add x1, x1, #1; cmp x1, x2; b.lo 5b
subs x9, x9, #1; b.ne 3b`,
  },
]

/** Stage 1 on, the data block (2 MiB at DATA) Normal Tagged with every granule tagged TAG. */
function setup(m: Machine, checks: boolean): void {
  enableIdentityMmu(m)
  const l2Block1 = RAM_BASE + 0x1_1000 + 8
  m.memory.write32(l2Block1, (m.memory.read32(l2Block1) & ~0x1c) | (1 << 2)) // MAIR attr 1 = 0xF0
  m.memory.setTags(DATA, 0x20_0000, TAG)
  enableGuestMte(m)
  m.cpu.setSysreg('TCR_EL1', m.cpu.getSysreg('TCR_EL1') | (1n << 37n)) // TBI0
  const tcf = checks ? 1n : 0n
  m.cpu.setSysreg('SCTLR_EL1', m.cpu.getSysreg('SCTLR_EL1') | (1n << 43n) | (tcf << 40n))
  m.cpu.setX(0, POINTER)
}

function measure(w: Workload, checks: boolean): number {
  const m = makeMachine()
  setup(m, checks)
  const before = m.cpu.retired
  const t0 = process.cpuUsage()
  const exit = runSnippet(m, w.words, 2_000_000_000)
  const used = process.cpuUsage(t0)
  const ms = (used.user + used.system) / 1000
  if (exit.kind !== 'hvc' || exit.imm16 !== 0xf00d) throw new Error(`${w.name}: unexpected exit ${exit.kind} ${JSON.stringify(exit)}`)
  return (m.cpu.retired - before) / ms / 1000
}

const only = process.argv[2]
if (only !== undefined) {
  // One workload in this process, alternating on/off runs; best of 5 each.
  const w = workloads[Number(only)]!
  let on = 0
  let off = 0
  for (let i = 0; i < 5; i++) {
    off = Math.max(off, measure(w, false))
    on = Math.max(on, measure(w, true))
  }
  const cost = (1 - on / off) * 100
  console.log(`${w.name.padEnd(40)} off ${off.toFixed(1).padStart(6)}  sync ${on.toFixed(1).padStart(6)} MIPS  on/off ${(on / off).toFixed(2)}  (checking costs ${cost.toFixed(0)}%)`)
} else {
  console.log('@tagvm/cpu MTE: tag checking off (TCF = 0) vs synchronous (TCF = 1) on Tagged memory, MIPS per CPU-second, best of 5, one process per workload')
  for (let i = 0; i < workloads.length; i++) {
    process.stdout.write(execFileSync(process.execPath, [...process.execArgv, fileURLToPath(import.meta.url), String(i)], { encoding: 'utf8' }))
  }
  const t0 = process.cpuUsage()
  const r = runGuest('tag-workload', 400_000_000, true, enableGuestMte)
  const used = process.cpuUsage(t0)
  const ms = (used.user + used.system) / 1000
  const same = r.output === readFileSync(`${GUESTS}tag-workload/qemu.out`, 'utf8')
  console.log(
    `guests/tag-workload (STG/STGP/ST2G + checked accesses)  ${(r.instructions / ms / 1000).toFixed(1).padStart(6)} MIPS  ` +
      `(${(r.instructions / 1e6).toFixed(1)} M instructions, ${(ms / 1000).toFixed(1)} s, output ${same ? 'matches' : 'DIFFERS from'} QEMU)`,
  )
}
