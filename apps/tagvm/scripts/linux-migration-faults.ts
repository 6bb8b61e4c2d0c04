// Kills at many points of a migration of a running Linux MTE guest (guests/linux's kit,
// tagvm.run=heap with churn: the tagged-heap program re-checks and rewrites its heap while
// the migration runs), each end a `tagvm` process as a user runs it, the stream through a
// relay on a Unix socket that can stop passing bytes:
//   the receiver killed (SIGKILL) after a share of the stream: the source says the migration
//     failed, runs the guest on, and prints exactly what an uninterrupted run prints;
//   the sender killed: the destination says in one line why it stops (exit 1), prints nothing;
//   the stream cut (the relay closes both sides): as the receiver killed, and the destination
//     says why it stops;
//   post-copy, the stream cut after the destination started the guest: the destination stops
//     the guest saying how many pages it lost, the source says the guest is lost.
// On the instruction clock the guest is deterministic, so "nothing lost" is exact: source and
// destination output together equal an uninterrupted run's output byte for byte.
//   npx tsx --conditions=source scripts/linux-migration-faults.ts   (from apps/tagvm; ~15-30 min)
// Needs the kit (guests/linux/build-kit.sh). Exits 1 if any case fails.
import { spawn } from 'node:child_process'
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { Machine, type MachineConfig } from '@tagvm/machine'
import { restoreMachine, saveMachine } from '../src/files/index.js'
import { relay, type Relay, type RelayCut } from '../test/fault-injection/relay.js'

const appDir = fileURLToPath(new URL('../', import.meta.url))
const kit = fileURLToPath(new URL('../../../guests/linux/out/', import.meta.url))
const dir = mkdtempSync(join(tmpdir(), 'tagvm-linux-faults-'))
const snapshot = join(dir, 'heap-checking.snap')
const VERDICT = /heap intact: 3 passes, 4 MiB, every tag and byte as written/
const BROKEN = /Oops|WARNING:|BUG:|rcu_.*stall|MISMATCH|TAG CHECK FAULT|Kernel panic/
const config: MachineConfig = { ramBase: 0x4000_0000, ramSize: 256 << 20, cpus: 1, mte: true, backing: 'anon', clock: 'instructions' }

interface Outcome {
  status: number | null
  signal: NodeJS.Signals | null
  stdout: string
  stderr: string
}
interface Running {
  kill(): void
  stderr(): string
  done: Promise<Outcome>
}

function start(args: string[]): Running {
  const child = spawn(process.execPath, ['--conditions=source', '--import', 'tsx', 'src/cli.ts', ...args], { cwd: appDir, stdio: ['ignore', 'pipe', 'pipe'] })
  let stdout = ''
  let stderr = ''
  child.stdout.setEncoding('latin1').on('data', (t: string) => (stdout += t))
  child.stderr.setEncoding('latin1').on('data', (t: string) => (stderr += t))
  const done = new Promise<Outcome>((resolve) => child.on('close', (status, signal) => resolve({ status, signal, stdout, stderr })))
  return { kill: () => child.kill('SIGKILL'), stderr: () => stderr, done }
}

async function waitFor(condition: () => boolean): Promise<void> {
  while (!condition()) await new Promise((resolve) => setTimeout(resolve, 50))
}

let sockets = 0
async function receiver(): Promise<{ running: Running; path: string }> {
  const path = join(dir, `r${sockets++}.sock`)
  const running = start(['migrate', 'receive', '--listen', path])
  await waitFor(() => running.stderr().includes('waiting for a migration'))
  return { running, path }
}

/** A relay to `to` in this run's directory; `close` breaks the link at the cut, else it stalls. */
const relayTo = (to: string, at: number, cut: () => void, after: RelayCut = 'silent'): Promise<Relay> => relay(join(dir, `relay${sockets++}.sock`), to, at, cut, after)

const failures: string[] = []
function check(name: string, ok: boolean, detail: string): void {
  console.log(`${ok ? 'ok    ' : 'FAILED'} ${name}${ok ? '' : `\n       ${detail.replace(/\n/g, '\n       ')}`}`)
  if (!ok) failures.push(name)
}
const lastLine = (text: string): string => text.trim().split('\n').at(-1) ?? ''

try {
  if (!existsSync(`${kit}Image`)) throw new Error(`no Linux kit in ${kit}: run guests/linux/build-kit.sh`)
  // The guest, checking and rewriting its heap: saved once, every case starts from it.
  let guestConsole = ''
  const machine = Machine.create(config, { console: (b) => (guestConsole += Buffer.from(b).toString('latin1')) })
  machine.boot(new Uint8Array(readFileSync(`${kit}Image`)), 'Image', {
    initrd: { bytes: new Uint8Array(readFileSync(`${kit}initramfs.cpio.gz`)), file: 'initramfs.cpio.gz' },
    bootargs: 'console=ttyAMA0 rdinit=/init tagvm.run=heap tagvm.heap=4 tagvm.passes=3 tagvm.churn=1',
  })
  while (!guestConsole.includes('heap: pass 1: rewrote')) if (machine.run(5_000_000).kind !== 'budget') throw new Error(`the guest stopped:\n${guestConsole}`)
  saveMachine(machine, snapshot)
  // The uninterrupted run from the snapshot: what every surviving side must print.
  let reference = ''
  const copy = restoreMachine(snapshot, (c) => Machine.create(c, { console: (b) => (reference += Buffer.from(b).toString('latin1')) }))
  const end = copy.run()
  if (end.kind !== 'power-off' || !VERDICT.test(reference) || BROKEN.test(reference)) throw new Error(`the reference run did not reach the verdict (${end.kind}):\n${reference}`)


  // Stream length of an uninterrupted pre-copy migration (two rounds).
  const SEND = ['--max-rounds', '2', '--quiet']
  const whole = await receiver()
  const through = await relayTo(whole.path, Number.POSITIVE_INFINITY, () => {})
  const sent = await start(['migrate', 'send', snapshot, '--to', through.path, ...SEND]).done
  const received = await whole.running.done
  through.server.close()
  check('an uninterrupted pre-copy migration: source + destination print the reference', sent.status === 0 && received.status === 0 && sent.stdout + received.stdout === reference, `${sent.stderr}${received.stderr}`)
  const length = through.passed()
  console.log(`       (stream ${length} bytes)`)

  for (const point of [0.001, 0.2, 0.5, 0.8, 0.999]) {
    const at = Math.max(1, Math.floor(length * point))
    {
      const destination = await receiver()
      const r = await relayTo(destination.path, at, () => destination.running.kill())
      const s = await start(['migrate', 'send', snapshot, '--to', r.path, ...SEND]).done
      const d = await destination.running.done
      r.server.close()
      check(
        `receiver killed at ${point * 100}% of the stream: the source says why and runs the guest on to the same output`,
        d.signal === 'SIGKILL' && s.status === 0 && /^tagvm: migration failed: [^\n]*; the guest keeps running here\n$/.test(s.stderr) && s.stdout === reference,
        `source ${s.status} ${s.stderr} / destination ${d.signal}`,
      )
    }
    {
      const destination = await receiver()
      const sender: { running?: Running } = {}
      const r = await relayTo(destination.path, at, () => sender.running!.kill())
      sender.running = start(['migrate', 'send', snapshot, '--to', r.path, ...SEND])
      const s = await sender.running.done
      const d = await destination.running.done
      r.server.close()
      const said = d.stderr.replace(/^tagvm: waiting for a migration[^\n]*\n/, '')
      check(
        `sender killed at ${point * 100}% of the stream: the destination says why in one line, exit 1, prints nothing`,
        s.signal === 'SIGKILL' && d.status === 1 && /^tagvm: migration failed: [^\n]*\n$/.test(said) && d.stdout === '',
        `destination ${d.status}: ${d.stderr}`,
      )
      console.log(`       destination: ${lastLine(said)}`)
    }
    {
      const destination = await receiver()
      const r = await relayTo(destination.path, at, () => {}, 'close')
      const s = await start(['migrate', 'send', snapshot, '--to', r.path, ...SEND]).done
      const d = await destination.running.done
      r.server.close()
      const said = d.stderr.replace(/^tagvm: waiting for a migration[^\n]*\n/, '')
      check(
        `stream cut at ${point * 100}%: the source runs the guest on to the same output, the destination says why`,
        s.status === 0 && s.stdout === reference && d.status === 1 && /^tagvm: migration failed: [^\n]*\n$/.test(said) && d.stdout === '',
        `source ${s.status} ${s.stderr} / destination ${d.status} ${d.stderr}`,
      )
    }
  }

  // Post-copy, no pre-copy round: the destination runs at once and pulls pages; cut at points
  // after the switch (the state goes first, so a small share of the stream is already after it).
  const post = await receiver()
  const postThrough = await relayTo(post.path, Number.POSITIVE_INFINITY, () => {})
  const postSent = await start(['migrate', 'send', snapshot, '--to', postThrough.path, '--postcopy', '--max-rounds', '0', '--quiet']).done
  const postReceived = await post.running.done
  postThrough.server.close()
  check('an uninterrupted post-copy migration: source + destination print the reference', postSent.status === 0 && postReceived.status === 0 && postSent.stdout + postReceived.stdout === reference, `${postSent.stderr}${postReceived.stderr}`)
  const postLength = postThrough.passed()
  for (const point of [0.3, 0.6, 0.9]) {
    const destination = await receiver()
    const r = await relayTo(destination.path, Math.floor(postLength * point), () => {}, 'close')
    const s = await start(['migrate', 'send', snapshot, '--to', r.path, '--postcopy', '--max-rounds', '0', '--quiet']).done
    const d = await destination.running.done
    r.server.close()
    const said = d.stderr.replace(/^tagvm: waiting for a migration[^\n]*\n/, '')
    const lost = /post-copy broke .*: (\d+) pages of guest memory/.exec(said)
    check(
      `post-copy stream cut at ${point * 100}%: the destination stops the guest naming the pages lost, the source says the guest is lost`,
      s.status === 1 && /post-copy migration broke after the destination started the guest/.test(s.stderr) && d.status === 1 && lost !== null && Number(lost[1]) > 0 && !VERDICT.test(d.stdout),
      `source ${s.status} ${s.stderr} / destination ${d.status} ${d.stderr}`,
    )
    console.log(`       destination: ${lastLine(said)}`)
  }
} finally {
  rmSync(dir, { recursive: true, force: true })
}
console.log(failures.length ? `${failures.length} case(s) failed` : 'every case passed')
process.exitCode = failures.length ? 1 : 0
