import { decode } from '@tagvm/a64'
import { runGuest } from './src/guest-runner.js'
import { enableGuestMte } from './src/mte-test-support.js'
import { ELF } from './bench/jit-prototype/src/qemu.js'
import { isSupported } from './src/jit/region.js'
const [k, tcf, rounds] = process.argv.slice(2).map(Number)
const slow = new Map<string, number>()
const t0 = performance.now()
const r = runGuest(ELF, 2e9, true, (m) => { enableGuestMte(m); m.memory.write32(0x40400000, k!); m.memory.write32(0x40400004, tcf!); m.memory.write32(0x40400008, rounds!)
  const jit = m.cpu.jit!
  const orig = jit.enter.bind(jit)
  jit.enter = (e) => { const c = orig(e); if (c === 2) { const pc = m.cpu.pcLo; const w = m.memory.read32(pc); const d = decode(w); const key = `${pc.toString(16)} ${d.name} ${isSupported(d)}`; slow.set(key, (slow.get(key) ?? 0) + 1) } return c }
}, {})
console.log(r.output.trim(), ((performance.now() - t0)/1000).toFixed(2), JSON.stringify(r.machine.cpu.jit!.stats))
console.log([...slow].sort((a, b) => b[1] - a[1]).slice(0, 12))
