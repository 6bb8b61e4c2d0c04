// The compiled tier (src/jit) against the interpreter and QEMU 10 on the clang -O2 kernels
// of bench/jit-prototype/guest (jitproto.elf: CRC-32C, a sieve, a tagged allocator), run as
// a whole guest (boot, MMU and MTE set-up, the kernel, the UART line, PSCI off), with tag
// checking off (TCF = 0) and synchronous (TCF = 1). Figures are MIPS per CPU-second of the
// kernel's instructions; QEMU's CPU time is its process's minus that of a boot that runs no
// kernel. Prints figures, never fails on time; fails if an output differs.
//
//   tsx --conditions=source bench/jit.ts                 # the table (pnpm bench)
//   tsx --conditions=source bench/jit.ts K TCF ROUNDS [--no-jit]
//       one guest run in this process (kernel K: 0 crc32, 1 sieve, 2 tagalloc), prints the
//       guest's line: the A side of a whole-process comparison with QEMU (see README in src/jit)
import { runGuest } from '../src/guest-runner.js'
import { enableGuestMte } from '../src/mte-test-support.js'
import { ELF, NO_KERNEL, qemuAvailable, runQemu } from './jit-prototype/src/qemu.js'

const PARAMS = 0x4040_0000
const KERNELS = ['crc32', 'sieve', 'tagalloc']

interface Run {
  line: string
  instructions: number
  cpuMs: number
}

function runTagvm(kernel: number, tcf: number, rounds: number, jit: boolean): Run {
  const t0 = process.cpuUsage()
  const r = runGuest(ELF, 2_000_000_000, true, (m) => {
    enableGuestMte(m)
    m.memory.write32(PARAMS, kernel)
    m.memory.write32(PARAMS + 4, tcf)
    m.memory.write32(PARAMS + 8, rounds)
  }, jit ? {} : undefined)
  const used = process.cpuUsage(t0)
  if (!r.poweredOff) throw new Error(`kernel ${kernel}: the guest did not power off: ${r.output}`)
  return { line: r.output.trim(), instructions: r.instructions, cpuMs: (used.user + used.system) / 1000 }
}

/** The part of the guest's line both machines must agree on (ticks differ: tagvm's counter counts instructions). */
const verdict = (line: string): string => line.replace(/ ticks=.*/, '')

const args = process.argv.slice(2)
if (args.length >= 3) {
  const [kernel, tcf, rounds] = args.slice(0, 3).map(Number) as [number, number, number]
  console.log(runTagvm(kernel, tcf, rounds, !args.includes('--no-jit')).line)
} else {
  const rounds = [48, 2, 24]
  const qemu = qemuAvailable()
  console.log(`@tagvm/cpu compiled tier: jitproto.elf kernels, MIPS per CPU-second of the kernel (boot subtracted), best of 3${qemu ? `; ${qemu}` : '; QEMU not found'}`)
  for (const tcf of [0, 1]) {
    for (let k = 0; k < KERNELS.length; k++) {
      const boot = { jit: runTagvm(NO_KERNEL, tcf, 0, true), interp: runTagvm(NO_KERNEL, tcf, 0, false) }
      let best = { jit: 0, interp: 0, qemu: 0 }
      let line = ''
      for (let i = 0; i < 3; i++) {
        for (const mode of ['jit', 'interp'] as const) {
          const r = runTagvm(k, tcf, rounds[k]!, mode === 'jit')
          if (line !== '' && verdict(r.line) !== verdict(line)) throw new Error(`${KERNELS[k]}: ${r.line} vs ${line}`)
          line = r.line
          const n = r.instructions - boot[mode].instructions
          best = { ...best, [mode]: Math.max(best[mode], n / Math.max(1, r.cpuMs - boot[mode].cpuMs) / 1000) }
        }
        if (qemu) {
          const q = runQemu(k, tcf, rounds[k]!)
          const q0 = runQemu(NO_KERNEL, tcf, 0)
          const tagvmRun = runTagvm(k, tcf, rounds[k]!, true)
          if (`result=${q.result.toString(16)}` !== /result=[0-9a-f]+/.exec(tagvmRun.line)![0]) throw new Error(`QEMU computed ${q.result.toString(16)}: ${tagvmRun.line}`)
          const n = tagvmRun.instructions - boot.jit.instructions
          best.qemu = Math.max(best.qemu, n / Math.max(1e-3, q.cpuSeconds - q0.cpuSeconds) / 1e6)
        }
      }
      const vsQemu = best.qemu > 0 ? `  QEMU ${best.qemu.toFixed(0).padStart(5)}  jit/QEMU ${(best.jit / best.qemu).toFixed(2)}` : ''
      console.log(
        `${KERNELS[k]!.padEnd(9)} TCF=${tcf}  interp ${best.interp.toFixed(0).padStart(5)}  jit ${best.jit.toFixed(0).padStart(5)} MIPS  ` +
          `jit/interp ${(best.jit / best.interp).toFixed(1)}${vsQemu}`,
      )
    }
  }
}
