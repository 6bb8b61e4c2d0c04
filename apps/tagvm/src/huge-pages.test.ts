import { spawn, spawnSync, type ChildProcessWithoutNullStreams } from 'node:child_process'
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { expect, test } from 'vitest'
import { HUGE_PAGE_TUNABLE, hugePageEnvironment, hugePageHost, inheritedStdio, type HugePageHost } from './huge-pages.js'

const appDir = fileURLToPath(new URL('../', import.meta.url))
const madvise: HugePageHost = { thpMode: 'madvise', glibc: true }

test('restore and migrate receive run again with glibc madvising its heap, once, and only where that gives huge pages', () => {
  expect(hugePageEnvironment(['restore', 'x.snap'], { PATH: '/bin' }, madvise)).toEqual({ PATH: '/bin', GLIBC_TUNABLES: HUGE_PAGE_TUNABLE })
  expect(hugePageEnvironment(['migrate', 'receive', '--listen', 's'], {}, madvise)?.GLIBC_TUNABLES).toBe(HUGE_PAGE_TUNABLE)
  // Other tunables stay; the second run (which has it) does not start a third; hugetlb=0 opts out.
  expect(hugePageEnvironment(['restore', 'x'], { GLIBC_TUNABLES: 'glibc.malloc.arena_max=2' }, madvise)?.GLIBC_TUNABLES).toBe(`glibc.malloc.arena_max=2:${HUGE_PAGE_TUNABLE}`)
  expect(hugePageEnvironment(['restore', 'x'], { GLIBC_TUNABLES: HUGE_PAGE_TUNABLE }, madvise)).toBeUndefined()
  expect(hugePageEnvironment(['restore', 'x'], { GLIBC_TUNABLES: 'glibc.malloc.arena_max=2:glibc.malloc.hugetlb=0' }, madvise)).toBeUndefined()
  // Commands that do not fill fresh memory, help, and hosts where it changes nothing.
  for (const argv of [['run', 'x'], ['migrate', 'send', 'x', '--to', 's'], ['restore', '--help'], ['receive'], []]) expect(hugePageEnvironment(argv, {}, madvise)).toBeUndefined()
  for (const host of [{ thpMode: 'always', glibc: true }, { thpMode: 'never', glibc: true }, { thpMode: undefined, glibc: true }, { thpMode: 'madvise', glibc: false }]) {
    expect(hugePageEnvironment(['restore', 'x'], {}, host)).toBeUndefined()
  }
})

test('the second run gets the standard streams and the pipes of fd:N endpoints (N and N+1) at the same numbers', () => {
  expect(inheritedStdio(['restore', 'x.snap'])).toEqual(['inherit', 'inherit', 'inherit'])
  expect(inheritedStdio(['migrate', 'receive', '--listen', 'fd:3', '--quiet'])).toEqual(['inherit', 'inherit', 'inherit', 3, 4])
  expect(inheritedStdio(['migrate', 'receive', '--listen=fd:6'])).toEqual(['inherit', 'inherit', 'inherit', 'ignore', 'ignore', 'ignore', 6, 7])
})

/** The processes whose parent is `pid` (Linux). */
function childrenOf(pid: number): number[] {
  const children: number[] = []
  for (const task of readdirSync(`/proc/${pid}/task`)) {
    children.push(...readFileSync(`/proc/${pid}/task/${task}/children`, 'utf8').split(' ').filter(Boolean).map(Number))
  }
  return children
}

const source = ['--conditions=source', '--import', 'tsx', 'src/cli.ts']
const withoutTunables = (): NodeJS.ProcessEnv => {
  const env = { ...process.env }
  delete env.GLIBC_TUNABLES
  return env
}
const reexecs = hugePageEnvironment(['restore'], {}, hugePageHost()) !== undefined

test('the second run keeps the exit status, standard error and output of the command exactly', () => {
  const dir = mkdtempSync(join(tmpdir(), 'tagvm-thp-'))
  try {
    const missing = join(dir, 'none.snap')
    const plain = spawnSync(process.execPath, [...source, 'restore', missing], { cwd: appDir, encoding: 'utf8', env: { ...withoutTunables(), GLIBC_TUNABLES: 'glibc.malloc.hugetlb=0' } })
    const again = spawnSync(process.execPath, [...source, 'restore', missing], { cwd: appDir, encoding: 'utf8', env: withoutTunables() })
    expect(plain.status).toBe(1)
    expect(plain.stderr).toContain('none.snap')
    expect({ status: again.status, signal: again.signal, stdout: again.stdout, stderr: again.stderr }).toEqual({ status: plain.status, signal: null, stdout: plain.stdout, stderr: plain.stderr })
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
}, 60_000)

/** `tagvm migrate receive` (from source, without the tunable) once it says it waits; and how it exited. */
async function startReceiver(dir: string): Promise<{ tagvm: ChildProcessWithoutNullStreams; exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }> }> {
  const tagvm = spawn(process.execPath, [...source, 'migrate', 'receive', '--listen', join(dir, 'in.sock')], { cwd: appDir, env: withoutTunables() })
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => tagvm.on('exit', (code, signal) => resolve({ code, signal })))
  let stderr = ''
  await new Promise<void>((resolve, reject) => {
    tagvm.stderr.setEncoding('utf8').on('data', (text: string) => {
      stderr += text
      if (stderr.includes('waiting for a migration')) resolve()
    })
    void exited.then(() => reject(new Error(`tagvm exited: ${stderr}`)))
  })
  return { tagvm, exited }
}

test.runIf(process.platform === 'linux')('migrate receive runs as a child with the tunable where THP is madvise; a SIGTERM to tagvm ends both, and tagvm dies of it', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'tagvm-thp-'))
  try {
    const { tagvm, exited } = await startReceiver(dir)
    const children = childrenOf(tagvm.pid!)
    expect({ children: children.length, host: hugePageHost() }).toEqual({ children: reexecs ? 1 : 0, host: hugePageHost() })
    if (reexecs) {
      expect(children).toHaveLength(1)
      const environ = readFileSync(`/proc/${children[0]}/environ`, 'latin1').split('\0')
      expect(environ).toContain(`GLIBC_TUNABLES=${HUGE_PAGE_TUNABLE}`)
      // No third run (tsx may have started its esbuild service there: not tagvm).
      expect(childrenOf(children[0]!).filter((pid) => readFileSync(`/proc/${pid}/cmdline`, 'latin1').includes('cli.ts'))).toEqual([])
    } else {
      expect(children).toEqual([])
    }
    tagvm.kill('SIGTERM')
    expect(await exited).toEqual({ code: null, signal: 'SIGTERM' })
    for (const child of children) expect(() => process.kill(child, 0)).toThrow() // gone
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
}, 60_000)

/** Whether process `pid` is there and not a zombie. */
function alive(pid: number): boolean {
  try {
    process.kill(pid, 0)
    return !readFileSync(`/proc/${pid}/stat`, 'utf8').includes(') Z ')
  } catch {
    return false
  }
}

/** Waits (at most 20 s) for process `pid` to be gone; whether it is. */
async function gone(pid: number): Promise<boolean> {
  for (let wait = 0; alive(pid) && wait < 200; wait++) await new Promise((resolve) => setTimeout(resolve, 100))
  return !alive(pid)
}

test.runIf(process.platform === 'linux' && reexecs)('a second run whose first is SIGKILLed (which it cannot pass on) ends itself, waiting or running a guest that never yields', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'tagvm-thp-'))
  const secondRun = (tagvm: ChildProcessWithoutNullStreams): number | undefined => childrenOf(tagvm.pid!).filter((pid) => readFileSync(`/proc/${pid}/cmdline`, 'latin1').includes('cli.ts'))[0]
  try {
    // Waiting for a migration: the event loop is idle.
    const waiting = await startReceiver(dir)
    const second = secondRun(waiting.tagvm)
    expect(second).toBeGreaterThan(0)
    waiting.tagvm.kill('SIGKILL')
    expect((await waiting.exited).signal).toBe('SIGKILL')
    expect(await gone(second!)).toBe(true)
    // Running a guest that arrived by pre-copy, which prints "A" and spins: the main thread
    // runs it in one call and never turns its event loop again.
    const runDir = join(dir, 'run')
    mkdirSync(runDir)
    const running = await startReceiver(runDir)
    const runner = secondRun(running.tagvm)
    expect(runner).toBeGreaterThan(0)
    let stdout = ''
    running.tagvm.stdout.setEncoding('latin1').on('data', (text: string) => (stdout += text))
    const spin = join(dir, 'spin.bin')
    writeFileSync(spin, new Uint8Array(Uint32Array.of(0xd2a12001, 0x52800820, 0x39000020, 0x14000000).buffer))
    const sent = spawnSync(process.execPath, [...source, 'migrate', 'send', spin, '--base', '0x40080000', '--to', join(runDir, 'in.sock'), '--max-rounds', '1', '--quiet'], { cwd: appDir, encoding: 'utf8', env: withoutTunables() })
    expect({ status: sent.status, stderr: sent.stderr }).toEqual({ status: 0, stderr: '' })
    for (let wait = 0; stdout !== 'A' && wait < 300; wait++) await new Promise((resolve) => setTimeout(resolve, 100))
    expect(stdout).toBe('A')
    running.tagvm.kill('SIGKILL')
    expect((await running.exited).signal).toBe('SIGKILL')
    expect(await gone(runner!)).toBe(true)
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
}, 120_000)
