// scratch (not committed): cold restore / save profile
import { readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { Machine, type MachineConfig } from '@tagvm/machine'
import { KVM_ARM_TAGS_TO_GUEST, ga } from '@tagvm/vmm-api'
import { restoreMachine, saveMachine } from '../src/files/index.js'
const MiB = 1 << 20
const WS = Number(process.env.MIB ?? 256) * MiB
const tagged = process.env.TAGGED !== '0'
const guest = fileURLToPath(new URL('../../../guests/tag-workload/tag-workload.elf', import.meta.url))
const RAM_BASE = 0x4000_0000, SET_BASE = RAM_BASE + 64 * MiB
const config: MachineConfig = { ramBase: RAM_BASE, ramSize: WS + 128 * MiB, cpus: 1, mte: true, backing: 'anon' }
const make = (): Machine => Machine.create(config, { console: () => {}, message: () => {} })
const file = '/tmp/migspeed16-prof.snap'
const what = process.argv[2] ?? 'restore'
const cpu = () => { const u = process.cpuUsage(); return (u.user + u.system) / 1000 }
if (what === 'save' || what === 'both') {
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
  const c = cpu(), t = performance.now()
  const s = saveMachine(machine, file)
  console.log(`save ${(s.guestBytes / MiB).toFixed(0)} MiB: ${((performance.now() - t)).toFixed(0)} ms wall, ${(cpu() - c).toFixed(0)} ms cpu`)
}
if (what === 'restore' || what === 'both') {
  const c = cpu(), t = performance.now()
  restoreMachine(file, () => make())
  console.log(`restore: ${((performance.now() - t)).toFixed(0)} ms wall, ${(cpu() - c).toFixed(0)} ms cpu`)
}
