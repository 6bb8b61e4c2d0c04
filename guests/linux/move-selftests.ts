// Runs the kit's selftests mode and moves the running guest in the middle of selftest programs,
// the last move to a fresh tagvm process that runs it to the end; the guest's whole console
// (before and after the moves) goes to standard output, notes on the moves to standard error.
//   node --conditions=source --import tsx guests/linux/move-selftests.ts MOVE... [--memory 1G] [KERNEL-ARGS...]
// MOVE, in the order of the run (a migration only last):
//   --snapshot-at PROGRAM+INSNS   save a snapshot file and drop the machine; last: `tagvm
//                                 restore` the file, else restore it in this process (the
//                                 file code `tagvm restore` uses) and run on to the next move
//   --migrate-at PROGRAM+INSNS    to `tagvm migrate receive` in a second process; pre-copy over
//                                 a Unix socket (with --postcopy: post-copy over TCP loopback,
//                                 no pre-copy round)
// PROGRAM+INSNS: INSNS instructions after init printed PROGRAM's header ("# selftests:
// arm64/mte: PROGRAM"); init keeps a program's output until it ends, so a move before its
// verdict line is in the middle of the program. It fails if the program ends first.
// --restore-clock host restores every snapshot onto the host clock in this process (the CLI's
// `tagvm restore` keeps the saved clock).
// The guest boots here, on the instruction clock, as `tagvm run --memory 1G --clock
// instructions` would (guests/linux/run-tagvm.sh). Exits with the status of what ran the guest
// to its end (0: powered off).
import { spawn } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { Machine, sendMachine, VIRT_RAM_BASE, type MachineConfig } from '../../packages/machine/src/index.js'
import { parseEndpoint } from '../../apps/tagvm/src/cli-args.js'
import { connectEndpoint } from '../../apps/tagvm/src/endpoint.js'
import { restoreMachine, saveMachine } from '../../apps/tagvm/src/files/index.js'

const USAGE = 'usage: move-selftests.ts [--snapshot-at PROGRAM+INSNS]... [--migrate-at PROGRAM+INSNS [--postcopy]] [--restore-clock host] [--memory SIZE] [KERNEL-ARGS...]'
const appDir = fileURLToPath(new URL('../../apps/tagvm/', import.meta.url))
const kit = process.env.TAGVM_KIT_OUT ?? fileURLToPath(new URL('./out/', import.meta.url))
/** Instructions between looks at the console for a program's header. */
const LOOK = 1_000_000

function fail(message: string): never {
  process.stderr.write(`move-selftests: ${message}\n`)
  process.exit(2)
}

interface Move {
  readonly kind: 'snapshot' | 'migrate'
  readonly program: string
  readonly after: number
}
const moves: Move[] = []
let postcopy = false
let restoreClock: MachineConfig['clock'] | undefined
let memory = 1 << 30
const kernelArgs: string[] = []
const argv = process.argv.slice(2)
while (argv.length > 0) {
  const arg = argv.shift()!
  if (arg === '--snapshot-at' || arg === '--migrate-at') {
    const point = /^(check_\w+)\+(\d+)$/.exec(argv.shift() ?? '') ?? fail(`${arg}: expected PROGRAM+INSNS, e.g. check_user_mem+500000000`)
    moves.push({ kind: arg === '--snapshot-at' ? 'snapshot' : 'migrate', program: point[1]!, after: Number(point[2]) })
  } else if (arg === '--postcopy') postcopy = true
  else if (arg === '--restore-clock') restoreClock = (argv.shift() ?? fail(USAGE)) as MachineConfig['clock']
  else if (arg === '--memory') {
    const m = /^(\d+)([MG])$/.exec(argv.shift() ?? '') ?? fail(`--memory: expected e.g. 512M or 1G`)
    memory = Number(m[1]) * (m[2] === 'G' ? 1 << 30 : 1 << 20)
  } else if (arg.startsWith('-')) fail(USAGE)
  else kernelArgs.push(arg)
}
if (moves.length === 0) fail(USAGE)
if (moves.slice(0, -1).some((m) => m.kind === 'migrate')) fail('a migration can only be the last move (the guest runs on in another process)')
if (restoreClock !== undefined && !['host', 'instructions'].includes(restoreClock)) fail('--restore-clock: host or instructions')
if (postcopy && moves.at(-1)!.kind !== 'migrate') fail('--postcopy goes with --migrate-at')

const dir = mkdtempSync(join(tmpdir(), 'tagvm-move-selftests-'))
process.on('exit', () => rmSync(dir, { recursive: true, force: true }))

/** The guest's console so far, for finding headers and verdicts (stdout gets every byte as it comes). */
let console = ''
const writeConsole = (bytes: Uint8Array): void => {
  process.stdout.write(bytes)
  console += Buffer.from(bytes).toString('latin1')
}
const machineIo = { console: writeConsole, message: (text: string) => process.stderr.write(`tagvm: ${text}\n`) }
const config: MachineConfig = { ramBase: VIRT_RAM_BASE, ramSize: memory, cpus: 1, mte: true, backing: 'anon', clock: 'instructions' }
let machine: Machine | undefined = Machine.create(config, machineIo)
const image = `${kit}/Image`
const initrd = `${kit}/initramfs.cpio.gz`
machine.boot(new Uint8Array(readFileSync(image)), image, {
  initrd: { bytes: new Uint8Array(readFileSync(initrd)), file: initrd },
  bootargs: ['console=ttyAMA0 rdinit=/init tagvm.run=selftests', ...kernelArgs].join(' '),
})

function runOrFail(m: Machine, budget: number, what: string): void {
  const stop = m.run(budget)
  if (stop.kind !== 'budget') fail(`the guest stopped (${stop.kind === 'error' ? stop.message : stop.kind}) after ${m.retired} instructions, before ${what}`)
}

/** Runs `m` to `move`'s point and says where that is; fails when the program ended before it. */
function runTo(m: Machine, move: Move): string {
  const what = `${move.program}+${move.after}`
  const header = `# selftests: arm64/mte: ${move.program}\r\n`
  const from = console.length
  while (!console.includes(header, from)) runOrFail(m, LOOK, what)
  const seen = m.retired
  while (m.retired - seen < move.after) runOrFail(m, Math.min(LOOK, move.after - (m.retired - seen)), what)
  const verdict = new RegExp(`^(not )?ok \\d+ selftests: arm64/mte: ${move.program}( |\\r|$)`, 'm')
  if (verdict.test(console.slice(console.indexOf(header, from)))) fail(`${move.program} ended before ${move.after} instructions past its header; choose fewer`)
  return `${move.after} instructions after ${move.program}'s header (seen at ${seen}), at ${m.retired} instructions of this machine`
}

/** Runs the tagvm CLI from source, its standard output the guest's console, as `pnpm tagvm` would. */
function cli(args: string[], onStderr?: (text: string) => void): Promise<number> {
  const child = spawn(process.execPath, ['--conditions=source', '--import', 'tsx', 'src/cli.ts', ...args], { cwd: appDir, stdio: ['ignore', 'inherit', 'pipe'] })
  child.stderr.setEncoding('latin1').on('data', (text: string) => {
    process.stderr.write(text)
    onStderr?.(text)
  })
  return new Promise((resolve) => child.on('close', (status, signal) => resolve(status ?? (signal ? 128 : 1))))
}

/** Migrates `source` to a `tagvm migrate receive` process; resolves with that process's exit status. */
async function migrate(source: Machine, where: string): Promise<number> {
  const listen = postcopy ? 'tcp:127.0.0.1:0' : join(dir, 'migrate.sock')
  let endpoint: string | undefined
  let stderr = ''
  const receiving = cli(['migrate', 'receive', '--listen', listen], (text) => {
    stderr += text
    endpoint ??= /waiting for a migration on (\S+)/.exec(stderr)?.[1]
  })
  let early: number | undefined
  void receiving.then((s) => (early = s))
  while (endpoint === undefined) {
    if (early !== undefined) fail(`tagvm migrate receive exited (${early}) before listening`)
    await new Promise((resolve) => setTimeout(resolve, 20))
  }
  const channel = await connectEndpoint(parseEndpoint(endpoint))
  const result = await sendMachine(source, channel, postcopy ? { maxRounds: 0, postcopy: true } : { maxRounds: 8 })
  if (result.kind !== 'migrated') fail(`the migration did not hand the guest over: ${JSON.stringify(result)}`)
  const how = postcopy ? `post-copy over ${endpoint}, ${result.requestedPages} pages asked for` : `pre-copy over a Unix socket, ${result.rounds} rounds`
  process.stderr.write(
    `move-selftests: migrated the guest ${where} to tagvm migrate receive (${how}; ${result.pages} pages, ${(result.bytes / 2 ** 20).toFixed(1)} MiB; downtime ${result.downtimeMs.toFixed(0)} ms, ${result.totalMs.toFixed(0)} ms in all); the source is dropped\n`,
  )
  return receiving
}

let status = 1
for (const [i, move] of moves.entries()) {
  const last = i === moves.length - 1
  const where = runTo(machine, move)
  if (move.kind === 'migrate') {
    status = await migrate(machine, where)
    machine = undefined
    break
  }
  const file = join(dir, `selftests-${i}.snap`)
  const { fileBytes } = saveMachine(machine, file)
  process.stderr.write(`move-selftests: saved the guest ${where} (${fileBytes} bytes); the machine is dropped\n`)
  machine = undefined
  if (last && restoreClock === undefined) {
    status = await cli(['restore', file, '--quiet'])
    break
  }
  machine = restoreMachine(file, (saved) => Machine.create({ ...saved, clock: restoreClock ?? saved.clock }, machineIo))
  rmSync(file)
  process.stderr.write(`move-selftests: restored in this process, on the ${machine.config.clock} clock\n`)
  if (last) {
    const stop = machine.run(Number.POSITIVE_INFINITY)
    status = stop.kind === 'power-off' ? 0 : 1
    if (status !== 0) process.stderr.write(`move-selftests: the restored guest stopped: ${JSON.stringify(stop)}\n`)
  }
}
process.exit(status)
