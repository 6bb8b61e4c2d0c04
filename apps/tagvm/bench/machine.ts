// The machine on the bundled tagging workload (guests/tag-workload, ~168 M instructions):
// guest MIPS, snapshot save/restore and live-migration throughput (guest memory including
// tags), and QEMU's time for the same image when qemu-system-aarch64 is installed.
// Prints figures; never fails on time. The run is also checked: the console output, split
// across the original, the restored and the migrated machine, must equal QEMU's recording.
import { spawnSync } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { Machine, receiveMachine, sendMachine } from '@tagvm/machine'
import { localChannelPair } from '../src/endpoint.js'
import { restoreMachine, saveMachine } from '../src/files/index.js'

const MiB = 1 << 20
const guest = fileURLToPath(new URL('../../../guests/tag-workload/tag-workload.elf', import.meta.url))
const expected = readFileSync(fileURLToPath(new URL('../../../guests/tag-workload/qemu.out', import.meta.url)), 'latin1')
const SNAPSHOT_AT = Number(process.env.TAGVM_BENCH_SNAPSHOT_AT ?? 80_000_000)
const config = { ramBase: 0x4000_0000, ramSize: 128 * MiB, cpus: 1, mte: true, backing: 'anon' as const }
const dir = mkdtempSync(join(tmpdir(), 'tagvm-bench-'))
let output = ''
const make = (): Machine => Machine.create(config, { console: (b) => (output += Buffer.from(b).toString('latin1')), message: (t) => console.error(t) })
const seconds = (start: number): number => (performance.now() - start) / 1000

try {
  const first = make()
  first.boot(readFileSync(guest), guest)
  let runTime = 0
  let start = performance.now()
  const stop1 = first.run(SNAPSHOT_AT)
  runTime += seconds(start)
  if (stop1.kind !== 'budget') throw new Error(`tag-workload stopped early: ${JSON.stringify(stop1)}`)

  const file = join(dir, 'tag-workload.snap')
  start = performance.now()
  const saved = saveMachine(first, file)
  const saveTime = seconds(start)
  start = performance.now()
  const restored = restoreMachine(file, () => make())
  const restoreTime = seconds(start)

  const [a, b] = await localChannelPair(join(dir, 'bench.sock'))
  start = performance.now()
  const received = receiveMachine(b, () => make())
  const sent = await sendMachine(restored, a, { maxRounds: 4, insnsPerRound: 100_000 })
  const migrated = await received
  const migrateTime = seconds(start)
  if (sent.kind !== 'migrated') throw new Error(`migration failed: ${JSON.stringify(sent)}`)

  start = performance.now()
  const stop2 = migrated.run()
  runTime += seconds(start)
  if (stop2.kind !== 'power-off') throw new Error(`tag-workload did not power off: ${JSON.stringify(stop2)}`)
  const instructions = first.retired + restored.retired + migrated.retired

  const guestMiB = saved.guestBytes / MiB
  console.log(`tag-workload: ${(instructions / 1e6).toFixed(1)} M instructions in ${runTime.toFixed(1)} s: ${(instructions / 1e6 / runTime).toFixed(2)} guest MIPS`)
  console.log(`output identical to QEMU's recording: ${output === expected ? 'yes' : 'NO'}`)
  console.log(`snapshot after ${(SNAPSHOT_AT / 1e6).toFixed(0)} M instructions: ${guestMiB.toFixed(2)} MiB of guest data + tags (${(saved.fileBytes / MiB).toFixed(2)} MiB file, 128 MiB RAM scanned)`)
  console.log(`  save (scan, COPY_TAGS, encode, fsync, rename): ${saveTime.toFixed(2)} s, ${(guestMiB / saveTime).toFixed(1)} MiB/s`)
  console.log(`  restore (decode, verify, write, COPY_TAGS):    ${restoreTime.toFixed(2)} s, ${(guestMiB / restoreTime).toFixed(1)} MiB/s`)
  console.log(
    `live migration over a Unix socket: ${sent.pages} pages, ${(sent.bytes / MiB).toFixed(2)} MiB incl. tags in ${sent.rounds} rounds, ${migrateTime.toFixed(2)} s (incl. ${(restored.retired / 1e6).toFixed(1)} M guest instructions of pre-copy): ${(sent.bytes / MiB / migrateTime).toFixed(1)} MiB/s`,
  )

  const qemu = spawnSync('qemu-system-aarch64', ['--version'], { encoding: 'utf8' })
  if (qemu.status === 0) {
    start = performance.now()
    const run = spawnSync('qemu-system-aarch64', ['-M', 'virt,mte=on', '-cpu', 'max', '-nographic', '-nic', 'none', '-no-reboot', '-kernel', guest], {
      stdio: ['ignore', 'pipe', 'pipe'],
      timeout: 300_000,
      encoding: 'latin1',
    })
    const qemuTime = seconds(start)
    const same = run.stdout === expected
    console.log(`QEMU (${qemu.stdout.split('\n')[0]}): ${qemuTime.toFixed(2)} s, ${(instructions / 1e6 / qemuTime).toFixed(1)} MIPS; output ${same ? 'identical' : 'DIFFERENT'}`)
    console.log(`tagvm / QEMU time: ${(runTime / qemuTime).toFixed(1)}x`)
  } else {
    console.log('qemu-system-aarch64 is not installed: no QEMU comparison')
  }
} finally {
  rmSync(dir, { recursive: true, force: true })
}
