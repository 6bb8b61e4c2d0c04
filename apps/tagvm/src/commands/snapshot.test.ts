import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { afterAll, expect, test } from 'vitest'
import { cli } from '../cli.test-support.js'
import { loadSnapshotFile } from '../files/index.js'

const guests = fileURLToPath(new URL('../../../../guests/', import.meta.url))
const elf = (name: string): string => `${guests}${name}/${name}.elf`
const recorded = (name: string): string => readFileSync(`${guests}${name}/qemu.out`, 'latin1')
const dir = mkdtempSync(join(tmpdir(), 'tagvm-snapshot-'))
afterAll(() => rmSync(dir, { recursive: true, force: true }))

test('snapshot mid-run of a tagging guest, restore: output before + after is the uninterrupted output', async () => {
  const full = recorded('mte-basic')
  for (const after of [105_000, 135_000, 140_000]) {
    const file = join(dir, `mte-basic-${after}.snap`)
    const first = await cli(['snapshot', elf('mte-basic'), file, '--after-insns', String(after), '--quiet'])
    expect(first.stderr).toBe('')
    expect(first.status).toBe(0)
    const snap = loadSnapshotFile(file)
    // The guest has tagged objects by now; the snapshot carries those tags.
    if (after >= 135_000) expect(snap.pages.some((p) => p.tags !== null)).toBe(true)
    const second = await cli(['restore', file, '--quiet'])
    expect(second.stderr).toBe('')
    expect(second.status).toBe(0)
    expect(first.stdout + second.stdout).toBe(full)
    expect(first.stdout.length).toBeGreaterThan(0)
    expect(first.stdout.length).toBeLessThan(full.length)
  }
})

test('--jit: run, snapshot and restore with the compiled tier on either side print what the interpreter prints', async () => {
  const full = recorded('mte-basic')
  const run = await cli(['run', elf('mte-basic'), '--jit', '--quiet'])
  expect(run.stderr).toBe('')
  expect(run.stdout).toBe(full)
  for (const [save, load] of [['--jit', '--no-jit'], ['--no-jit', '--jit'], ['--jit', '--jit']]) {
    const file = join(dir, `mte-basic-jit${save}${load}.snap`)
    const first = await cli(['snapshot', elf('mte-basic'), file, '--after-insns', '135000', '--quiet', save!])
    expect(first.status).toBe(0)
    const second = await cli(['restore', file, '--quiet', load!])
    expect(second.stderr).toBe('')
    expect(second.status).toBe(0)
    expect(first.stdout + second.stdout).toBe(full)
  }
  const threads = await cli(['run', elf('mte-basic'), '--jit', '--smp-mode', 'threads'])
  expect(threads.status).toBe(2)
  expect(threads.stderr).toContain('--jit runs lockstep vCPUs only')
})

test('a snapshot taken with two vCPUs keeps the secondary powered off', async () => {
  const file = join(dir, 'hello-2cpu.snap')
  const first = await cli(['snapshot', elf('hello'), file, '--after-insns', '50000', '--cpus', '2', '--quiet'])
  expect(first.status).toBe(0)
  const snap = loadSnapshotFile(file)
  expect(snap.devices.find((d) => d.name === 'vcpus')?.state).toMatchObject({ stopped: [false, true] })
  const second = await cli(['restore', file, '--quiet'])
  expect(second.status).toBe(0)
  expect(first.stdout + second.stdout).toBe(recorded('hello'))
})

test('progress lines go to stderr when not quiet; stdout stays the console', async () => {
  const file = join(dir, 'demo.snap')
  const first = await cli(['snapshot', elf('mte-demo'), file, '--after-insns', '110000'])
  expect(first.status).toBe(0)
  expect(first.stderr).toMatch(/snapshot .*: done/)
  expect(first.stderr).toMatch(/saved the guest after 110000 instructions/)
  const second = await cli(['restore', file])
  expect(second.stderr).toMatch(/restore .*: done/)
  expect(first.stdout + second.stdout).toBe(recorded('mte-demo'))
})

test('a guest that powers off before --after-insns writes no snapshot', async () => {
  const file = join(dir, 'never.snap')
  const result = await cli(['snapshot', elf('hello'), file, '--after-insns', '10M', '--quiet'])
  expect(result.status).toBe(1)
  expect(result.stderr).toMatch(/powered off after \d+ instructions, before --after-insns 10000000; no snapshot written/)
  expect(() => readFileSync(file)).toThrow()
})

test('restore refuses a corrupted snapshot with a message naming the file and problem, exit 1', async () => {
  const file = join(dir, 'good.snap')
  expect((await cli(['snapshot', elf('hello'), file, '--after-insns', '1000', '--quiet'])).status).toBe(0)
  const bytes = readFileSync(file)
  bytes[bytes.length - 40]! ^= 0xff
  const bad = join(dir, 'bad.snap')
  writeFileSync(bad, bytes)
  const result = await cli(['restore', bad])
  expect(result.status).toBe(1)
  expect(result.stderr).toContain(bad)
  expect(result.stdout).toBe('')
})

test('restore --prealloc backs host memory for the RAM first, then prints what a plain restore prints', async () => {
  const { releasePrefaultedHostMemory } = await import('@tagvm/vmm-api')
  const file = join(dir, 'prealloc.snap')
  const first = await cli(['snapshot', elf('mte-basic'), file, '--after-insns', '135000', '--quiet'])
  expect(first.status).toBe(0)
  const plain = await cli(['restore', file, '--quiet'])
  const preallocated = await cli(['restore', file, '--prealloc'])
  releasePrefaultedHostMemory()
  expect(preallocated.status).toBe(0)
  // 128 MiB of RAM and its 4 MiB of tags: 66 blocks of 2 MiB.
  expect(preallocated.stderr).toMatch(/tagvm: backed 132 MiB of host memory for guest RAM and tags in \d+ ms \(--prealloc\)\n/)
  expect(preallocated.stdout).toBe(plain.stdout)
  expect(first.stdout + preallocated.stdout).toBe(recorded('mte-basic'))
})

test('restore with --max-insns stops with status 3', async () => {
  const file = join(dir, 'limit.snap')
  expect((await cli(['snapshot', elf('hello'), file, '--after-insns', '1000', '--quiet'])).status).toBe(0)
  const result = await cli(['restore', file, '--quiet', '--max-insns', '500'])
  expect(result.status).toBe(3)
  expect(result.stderr).toMatch(/after 500 instructions \(--max-insns\)/)
})

test('the tagvm binary saves a running guest on SIGUSR1 (tag-workload), and the snapshot continues it', async () => {
  const { spawn } = await import('node:child_process')
  const appDir = fileURLToPath(new URL('../../', import.meta.url))
  const file = join(dir, 'signal.snap')
  const child = spawn(process.execPath, ['--conditions=source', '--import', 'tsx', 'src/cli.ts', 'snapshot', elf('tag-workload'), file], { cwd: appDir })
  let stdout = ''
  let stderr = ''
  let signalled = false
  child.stderr.setEncoding('latin1').on('data', (t: string) => (stderr += t))
  child.stdout.setEncoding('latin1').on('data', (t: string) => {
    stdout += t
    // Once the guest has tagged its region, ask for the snapshot.
    if (!signalled && stdout.includes('initialised')) {
      signalled = true
      child.kill('SIGUSR1')
    }
  })
  const status = await new Promise<number | null>((resolve) => child.on('close', resolve))
  expect(stderr).toMatch(/saved the guest on SIGUSR1 after \d+ instructions/)
  expect(status).toBe(0)
  const full = recorded('tag-workload')
  expect(full.startsWith(stdout)).toBe(true)
  expect(stdout.length).toBeLessThan(full.length)
  const snap = loadSnapshotFile(file)
  expect(snap.pages.filter((p) => p.tags !== null).length).toBeGreaterThan(500)
  // Continue it for a while: it keeps printing what QEMU printed.
  const more = await cli(['restore', file, '--quiet', '--max-insns', '3M'])
  expect([0, 3]).toContain(more.status)
  expect(full.startsWith(stdout + more.stdout)).toBe(true)
})
