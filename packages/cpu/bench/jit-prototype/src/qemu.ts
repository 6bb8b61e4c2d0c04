// QEMU 10 (TCG) on the same kernels: guest/jitproto.elf, told what to run through QEMU's
// generic loader device, timed by the CPU time of the QEMU process (user + system, from
// GNU time) minus that of a boot that runs no kernel. CPU time because the machine is
// shared: wall time (and the guest's counter, which follows it) includes waiting for a core.

import { spawnSync } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'

export const QEMU = process.env['QEMU'] ?? 'qemu-system-aarch64'
export const ELF = fileURLToPath(new URL('../guest/jitproto.elf', import.meta.url))
const PARAMS = 0x4040_0000
/** main.c runs no kernel for this number. */
export const NO_KERNEL = 255

export interface QemuRun {
  kernel: number
  tcf: number
  rounds: number
  result: bigint
  rgsr: bigint
  /** CPU seconds of the whole QEMU process. */
  cpuSeconds: number
}

export function qemuAvailable(): string | null {
  const r = spawnSync(QEMU, ['--version'], { encoding: 'utf8' })
  if (r.status !== 0) return null
  const time = spawnSync('/usr/bin/time', ['-f', '%U', 'true'], { encoding: 'utf8' })
  if (time.status !== 0) return null
  return r.stdout.split('\n')[0] ?? null
}

export function runQemu(kernel: number, tcf: number, rounds: number): QemuRun {
  const dir = mkdtempSync(join(tmpdir(), 'jitproto-'))
  try {
    const timeFile = join(dir, 'time')
    const loader = (offset: number, value: number): string[] => [
      '-device', `loader,addr=0x${(PARAMS + offset).toString(16)},data=${value},data-len=4`,
    ]
    const args = [
      '-f', '%U %S', '-o', timeFile, QEMU, '-M', 'virt,mte=on', '-cpu', 'max', '-nographic', '-nic', 'none', '-no-reboot',
      '-kernel', ELF, ...loader(0, kernel), ...loader(4, tcf), ...loader(8, rounds),
    ]
    const r = spawnSync('/usr/bin/time', args, { encoding: 'utf8', timeout: 600_000, stdio: ['ignore', 'pipe', 'pipe'] })
    if (r.status !== 0) throw new Error(`QEMU failed (${r.status ?? r.signal}): ${r.stderr}`)
    const m = /kernel=(\d+) tcf=(\d+) rounds=(\d+) result=([0-9a-f]+) rgsr=([0-9a-f]+) ticks=\d+ freq=\d+/.exec(r.stdout)
    if (m === null) throw new Error(`unexpected QEMU output: ${JSON.stringify(r.stdout)}`)
    const [user, system] = readFileSync(timeFile, 'utf8').trim().split(/\s+/).map(Number)
    return {
      kernel: Number(m[1]), tcf: Number(m[2]), rounds: Number(m[3]), result: BigInt(`0x${m[4]}`), rgsr: BigInt(`0x${m[5]}`),
      cpuSeconds: user! + system!,
    }
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
}
