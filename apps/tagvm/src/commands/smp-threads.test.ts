// The CLI with vCPUs on threads (issue 18): `tagvm snapshot --smp-mode threads` saves a
// two-vCPU guest mid-run (every vCPU thread stopped at an instruction boundary), `tagvm
// restore --smp-mode threads` and `tagvm restore` (lockstep) go on from it; both print what an
// unbroken run prints (QEMU 10's recording of guests/smp-sgi).
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { afterAll, expect, test } from 'vitest'
import { cli } from '../cli.test-support.js'

const guests = fileURLToPath(new URL('../../../../guests/', import.meta.url))
const SGI = `${guests}smp-sgi/smp-sgi.elf`
const SGI_QEMU = readFileSync(`${guests}smp-sgi/qemu-smp2.out`, 'latin1')
const dir = mkdtempSync(join(tmpdir(), 'tagvm-smp-threads-'))
afterAll(() => rmSync(dir, { recursive: true, force: true }))

test('snapshot on threads mid-run, restore on threads and in lockstep: the unbroken output', { timeout: 300_000 }, async () => {
  const file = join(dir, 'smp-sgi.snap')
  const first = await cli(['snapshot', SGI, file, '--cpus', '2', '--smp-mode', 'threads', '--after-insns', '200000', '--quiet'])
  expect(first.stderr).toBe('')
  expect(first.status).toBe(0)
  expect(first.stdout.length).toBeLessThan(SGI_QEMU.length)
  for (const mode of ['threads', 'lockstep']) {
    const second = await cli(['restore', file, '--smp-mode', mode, '--quiet'])
    expect(second.stderr, mode).toBe('')
    expect(second.status, mode).toBe(0)
    expect(first.stdout + second.stdout, mode).toBe(SGI_QEMU)
  }
})
