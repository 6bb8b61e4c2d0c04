import { runGuest } from './src/guest-runner.js'
import { enableGuestMte } from './src/mte-test-support.js'
const name = process.argv[2]!, rounds = Number(process.argv[3])
const t0 = process.cpuUsage()
const r = runGuest(name, 4e9, true, (m) => { enableGuestMte(m); m.memory.write32(0x407ff000, rounds) }, {})
const u = process.cpuUsage(t0)
console.log(name, 'cpu', ((u.user + u.system) / 1000).toFixed(0), 'ms', JSON.stringify(r.machine.cpu.jit!.stats), (r.instructions / 1e6).toFixed(0))
console.log(JSON.stringify((globalThis as any).T))
