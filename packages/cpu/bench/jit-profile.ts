// Profile of one benchmark guest under the compiled tier: CPU time, the tier's counters
// (translations, entries, exits per kind, TLB fills), to find where time goes.
//   tsx --conditions=source bench/jit-profile.ts GUEST [ROUNDS]
import { runGuest } from '../src/guest-runner.js'
import { enableGuestMte } from '../src/mte-test-support.js'

const BENCH_PARAMS = 0x407f_f000
const guest = process.argv[2] ?? 'bench-sieve-nomte'
const rounds = Number(process.argv[3] ?? 40)
const slowPcs = new Map<string, number>()
const regions = new Map<string, { pc: string; retired: number }>()
const t0 = process.cpuUsage()
const r = runGuest(guest, 4_000_000_000, true, (m) => {
  enableGuestMte(m)
  m.memory.write32(BENCH_PARAMS, rounds)
  if (process.env['JIT_PROFILE_EXITS'] === '1') {
    const jit = m.cpu.jit!
    const enter = jit.enter.bind(jit)
    jit.enter = (entry) => {
      const pc = m.cpu.pcLo.toString(16)
      const left = m.cpu.left
      const code = enter(entry)
      // A region is its slot in the chain table (the retired count includes chained translations).
      const key = String(entry.slot)
      const region = regions.get(key) ?? { pc, retired: 0 }
      region.retired += left - m.cpu.left
      regions.set(key, region)
      if (code !== 0) {
        const key = `${code}@${m.cpu.pcLo.toString(16)}`
        slowPcs.set(key, (slowPcs.get(key) ?? 0) + 1)
      }
      return code
    }
  }
}, process.env['JIT_THRESHOLD'] === undefined ? {} : { threshold: Number(process.env['JIT_THRESHOLD']) })
const used = process.cpuUsage(t0)
const s = (used.user + used.system) / 1e6
const st = r.machine.cpu.jit!.stats
console.log(`${guest} rounds ${rounds}: ${(r.instructions / 1e6).toFixed(1)} M insns, ${s.toFixed(2)} s, ${(r.instructions / s / 1e6).toFixed(0)} MIPS`)
console.log(JSON.stringify({ ...st, retiredInTier: st.retired / r.instructions }))
console.log([...slowPcs].sort((a, b) => b[1] - a[1]).slice(0, 10).map(([k, n]) => `${k} x${n}`).join('  '))
if (regions.size > 0) console.log('retired by region (first entry PC):', [...regions.values()].sort((a, b) => b.retired - a.retired).slice(0, 6).map((r) => `${r.pc} ${(r.retired / 1e6).toFixed(1)}M`).join('  '))
