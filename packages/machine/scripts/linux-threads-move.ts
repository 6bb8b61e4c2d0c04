// By hand (issue 18): boots the Linux kit on vCPU threads, snapshots it at a console marker
// (plus EXTRA instructions), closes the source, restores the snapshot on fresh threads and
// prints, per CHUNK instructions, each vCPU's retired count (and with REGS=1 its PC and virtual
// timer CTL/CVAL/CNT, read by parking the threads), with wall and CPU time and the load.
// Env: CPUS (2), RUN (mte-test), EXTRA_ARGS (more bootargs, e.g. tagvm.selftests=a,b),
// SNAP_AT (marker; default `smp: Brought up`), EXTRA (20M), CHUNK (20M), SNAPFILE,
// FROM_SNAP=1 (restore SNAPFILE instead of booting), SOURCE_ON=1 (run the source on instead).
// Run from packages/machine: npx tsx --conditions=source scripts/linux-threads-move.ts
import { readFileSync, writeFileSync, existsSync } from 'node:fs'
import { loadavg } from 'node:os'
import { linuxKit } from '../../../guests/linux/kit.js'
import { Machine, type MachineConfig } from '../src/index.js'
import { restoreSnapshot } from '../src/restore.js'
import { SnapshotEncoder } from '../src/snapshot/format.js'
import { writeMachineSnapshot } from '../src/snapshot/save.js'
import { spawnSourceWorker } from '../src/smp/node-spawn.test-support.js'
import { KVM_REG_ARM_TIMER_CNT, KVM_REG_ARM_TIMER_CTL, KVM_REG_ARM_TIMER_CVAL, REG_PC } from '@tagvm/vmm-api'

const { image, initramfs } = linuxKit('linux-threads-move.ts')
const CPUS = Number(process.env.CPUS ?? 2)
const CONFIG: MachineConfig = { ramBase: 0x4000_0000, ramSize: 256 << 20, cpus: CPUS, mte: true, backing: 'anon', clock: 'host' }
const CHUNK = Number(process.env.CHUNK ?? 20_000_000)
const SNAP_AT = process.env.SNAP_AT ?? `smp: Brought up 1 node, ${CPUS} CPUs`
const EXTRA = Number(process.env.EXTRA ?? 20_000_000)
const RUN = process.env.RUN ?? 'mte-test'
const SNAPFILE = process.env.SNAPFILE ?? '/tmp/smpl18.snap'
const MAXCHUNKS = Number(process.env.MAXCHUNKS ?? 400)
const t0 = Date.now()
const cpu0 = process.cpuUsage()
const stamp = () => `[${((Date.now() - t0) / 1000).toFixed(1)}s cpu ${((process.cpuUsage(cpu0).user + process.cpuUsage(cpu0).system) / 1e6).toFixed(1)}s load ${loadavg()[0]!.toFixed(1)}]`

function threaded(out: { text: string }, config: MachineConfig): Machine {
  return Machine.create(config, { console: (b) => { const s = new TextDecoder().decode(b); out.text += s; process.stdout.write(s) } }, { threads: { spawn: spawnSourceWorker } })
}
function regsOf(m: Machine): string {
  const st = m.saveVcpus()
  return st.map((s) => {
    const g = (id: bigint) => s.regs.find((r) => r.id === id)?.value ?? -1n
    return `cpu${s.index} pc=${g(REG_PC).toString(16)} ctl=${g(KVM_REG_ARM_TIMER_CTL)} cval=${g(KVM_REG_ARM_TIMER_CVAL)} cnt=${g(KVM_REG_ARM_TIMER_CNT)} d=${g(KVM_REG_ARM_TIMER_CVAL) - g(KVM_REG_ARM_TIMER_CNT)}`
  }).join(' | ')
}
function watch(m: Machine, label: string): void {
  let last = m.smpStats()?.retired ?? []
  for (let i = 0; i < MAXCHUNKS; i++) {
    const w = Date.now()
    const stop = m.run(CHUNK)
    const r = m.smpStats()!.retired
    const d = r.map((n, k) => n - (last[k] ?? 0))
    last = r
    console.error(`${stamp()} ${label} chunk ${i} ${Date.now() - w}ms retired+ ${d.join(',')} ${process.env.REGS && stop.kind === 'budget' ? regsOf(m) : ''}`)
    if (stop.kind !== 'budget') { console.error(`${label} stop ${JSON.stringify(stop)}`); return }
  }
}

let snap: Uint8Array
if (process.env.FROM_SNAP && existsSync(SNAPFILE)) {
  snap = readFileSync(SNAPFILE)
} else {
  const out = { text: '' }
  const source = threaded(out, CONFIG)
  source.boot(new Uint8Array(readFileSync(image)), image, { initrd: { bytes: new Uint8Array(readFileSync(initramfs)), file: initramfs }, bootargs: `console=ttyAMA0 rdinit=/init tagvm.run=${RUN} ${process.env.EXTRA_ARGS ?? ''}` })
  while (!out.text.includes(SNAP_AT)) { const s = source.run(CHUNK); if (s.kind !== 'budget') throw new Error(JSON.stringify(s)) }
  let extra = 0
  while (extra < EXTRA) { source.run(CHUNK); extra += CHUNK }
  console.error(`${stamp()} source at snapshot: retired ${source.smpStats()!.retired} ${regsOf(source)}`)
  const chunks: Uint8Array[] = []
  writeMachineSnapshot(source, new SnapshotEncoder((c) => chunks.push(c.slice())))
  snap = Buffer.concat(chunks)
  writeFileSync(SNAPFILE, snap)
  console.error(`${stamp()} saved ${snap.length} bytes`)
  if (process.env.SOURCE_ON) { watch(source, 'src'); source.close(); process.exit(0) }
  source.close()
}
const copy = { text: '' }
const restored = restoreSnapshot(snap, 'x.snap', (config) => threaded(copy, config))
console.error(`${stamp()} restored`)
watch(restored, 'dst')
restored.close()
