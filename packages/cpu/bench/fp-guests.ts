// FP/SIMD guests (guests/fpsimd/bench-*: a double matrix multiply, a float32 SIMD dot
// product, a SIMD memcpy), compiled by clang: guest MIPS on this CPU, interpreted and with the
// compiled tier (per CPU-second, best of 3, each run checked against QEMU's output) and, when qemu-system-aarch64 is installed,
// QEMU's MIPS on the same image (CPU time, best of 3, less QEMU's start-up as the hello guest
// measures it). Prints figures; never fails on time.
//   npx tsx --conditions=source bench/fp-guests.ts
import { spawnSync } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { GUESTS, runGuest } from '../src/guest-runner.js'

const BENCHES = ['bench-matmul', 'bench-dot', 'bench-memcpy']
const qemu = spawnSync('qemu-system-aarch64', ['--version'], { encoding: 'utf8' }).status === 0

/**
 * QEMU's CPU time (user + system of the child, as bash's `times` reports it) for an ELF,
 * best of 3, its output checked. CPU time, as for tagvm: on a shared machine QEMU's wall
 * clock is mostly waiting for a core.
 */
function qemuSeconds(elf: string, expected: string): number {
  let fastest = Infinity
  for (let i = 0; i < 3; i++) {
    const r = spawnSync('bash', ['-c', 'qemu-system-aarch64 -M virt,mte=on -cpu max -nographic -nic none -no-reboot -kernel "$0" </dev/null; times', elf], { encoding: 'latin1' })
    const lines = r.stdout.split('\n')
    const children = lines.at(-2)!.split(' ').map((t) => {
      const [, min, sec] = /^(\d+)m([\d.]+)s$/.exec(t)!
      return Number(min) * 60 + Number(sec)
    })
    if (lines.slice(0, -3).join('\n') + '\n' !== expected) throw new Error(`${elf}: QEMU printed something else`)
    fastest = Math.min(fastest, children[0]! + children[1]!)
  }
  return fastest
}
const qemuStartup = qemu ? qemuSeconds(`${GUESTS}hello/hello.elf`, readFileSync(`${GUESTS}hello/qemu.out`, 'latin1')) : 0

console.log('FP/SIMD guests: guest MIPS per CPU-second, tagvm vs QEMU (TCG, start-up taken off), best of 3')
for (const name of BENCHES) {
  const elf = `${GUESTS}fpsimd/${name}/${name}.elf`
  const expected = readFileSync(`${GUESTS}fpsimd/${name}/qemu.out`, 'latin1')
  let instructions = 0
  /** Best of 3 MIPS per CPU-second, interpreted or with the compiled tier (its translation time counts). */
  const mips = (jit: boolean): number => {
    let best = 0
    for (let i = 0; i < 3; i++) {
      const t0 = process.cpuUsage()
      const run = runGuest(`fpsimd/${name}`, 1_000_000_000, true, undefined, jit ? {} : undefined)
      const used = process.cpuUsage(t0)
      if (run.output !== expected) throw new Error(`${name}: output differs from QEMU's:\n${run.output}`)
      instructions = run.instructions
      best = Math.max(best, run.instructions / (used.user + used.system))
    }
    return best
  }
  const best = mips(false)
  const tier = mips(true)
  let qemuMips = ''
  if (qemu) {
    const seconds = qemuSeconds(elf, expected)
    const running = Math.max(seconds - qemuStartup, 0.001)
    // A run much shorter than QEMU's start-up is inside its noise: a rough figure only.
    const rough = running < qemuStartup / 2 ? ', rough: start-up dominates' : ''
    qemuMips = `   QEMU ${(instructions / 1e6 / running).toFixed(0).padStart(5)} MIPS (${seconds.toFixed(2)} s less ${qemuStartup.toFixed(2)} s start-up${rough})`
  }
  console.log(`${name.padEnd(14)} ${(instructions / 1e6).toFixed(1).padStart(6)} M instructions   tagvm ${best.toFixed(1).padStart(6)} MIPS, compiled tier ${tier.toFixed(1).padStart(6)} MIPS${qemuMips}`)
}
