// The kernel's own MTE selftests (tools/testing/selftests/arm64/mte of Debian's 6.1 kernel,
// built into guests/linux's kit) in a Linux guest on the machine: each program's verdict and
// its own subtest lines must be exactly what QEMU 10 printed (guests/linux/selftests.qemu.tap).
// A subset, chosen for coverage per guest instruction (figures from
// guests/linux/compare-selftests.sh and QEMU's -icount run, boot-facts.qemu.txt): the six
// cheap programs (~0.15 G instructions together: prctl modes, tag inclusion masks, buffer
// fills with sync/async faults, mmap/mprotect/file options, fork) and check_user_mem (1.75 G:
// the kernel's uaccess through tagged user buffers, LDTR/STTR checked as EL0 and the fixups
// of their faults), after a boot of ~1.07 G. Left out: check_gcr_el1_cswitch (7.65 G on QEMU:
// ten million prctls in 5120 threads) and check_ksm_options (2.0 G on QEMU and tagvm: waiting
// for ksmd's full scans).
// The run is moved three times, each in the middle of a program, and every program's verdict
// is compared across the whole run: a snapshot (the CLI's snapshot format) restored on a fresh
// machine, post-copy and pre-copy migrations to fresh machines; the original machine is
// dropped each time. This costs one run plus the moves (~30 s of CPU). The full suite with a
// move mid-run through the CLI is guests/linux/compare-selftests.sh --snapshot-at/--migrate-at
// (results in guests/linux/selftests-moved.md).
// The kit is built by guests/linux/build-kit.sh (scripts/ci-setup/50-linux-kit.sh in CI);
// without it the test is skipped locally, with how to build it, and fails in CI.
import { readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { describe, expect, test } from 'vitest'
import { linuxKit } from '../../../../guests/linux/kit.js'
import { channelPair } from '../migration/channel.js'
import { receiveMigration, sendMachine, type SendResult } from '../migration/live.js'
import { SnapshotRestore } from '../restore.js'
import { SnapshotEncoder } from '../snapshot/format.js'
import { writeMachineSnapshot } from '../snapshot/save.js'
import { Machine, type MachineIo } from './machine.js'

const { image, initramfs, built } = linuxKit('linux-selftests.test.ts')

/** The programs CI runs, cheapest first (the first six ≤ 0.05 G instructions each on tagvm and QEMU). */
const SUBSET = ['check_prctl', 'check_tags_inclusion', 'check_buffer_fill', 'check_mmap_options', 'check_child_memory', 'check_hugetlb_options', 'check_user_mem']
/** Boot (~1.07 G) and the subset (~1.9 G) with room to spare; a stuck guest stops here. */
const BUDGET = 4_000_000_000
const CHUNK = 50_000_000

/** One selftest program's part of a TAP log: its verdict and its own subtest lines. */
interface ProgramResult {
  /** `ok`, `not ok` or `skip` (an `ok ... # SKIP` line). */
  verdict: 'ok' | 'not ok' | 'skip'
  /** The program's verdict line without its position, which depends on what else ran. */
  line: string
  /** Its subtest verdicts (`# ok N ...`, `# not ok N ...`, `# 1..0 # SKIP ...`), in order. */
  subtests: string[]
}

/**
 * Reads init's selftests TAP (guests/linux/init.sh): a `# selftests: arm64/mte: NAME` header,
 * the program's output indented by `# `, then `ok N selftests: arm64/mte: NAME` or `not ok ...`.
 * Kernel log lines and diagnostics are left out, as guests/linux/extract.sh does.
 */
function programResults(tap: string): Map<string, ProgramResult> {
  const results = new Map<string, ProgramResult>()
  let name = ''
  let subtests: string[] = []
  for (const line of tap.replace(/\r/g, '').split('\n')) {
    const header = /^# selftests: arm64\/mte: (\S+)/.exec(line)
    if (header) {
      name = header[1]!
      subtests = []
      continue
    }
    const verdict = /^(not ok|ok) \d+ (selftests: arm64\/mte: (\S+).*)$/.exec(line)
    if (verdict) {
      const skip = verdict[1] === 'ok' && line.includes('# SKIP')
      results.set(verdict[3]!, { verdict: skip ? 'skip' : (verdict[1] as 'ok' | 'not ok'), line: `${verdict[1]} ${verdict[2]}`, subtests })
      name = ''
      continue
    }
    if (name !== '' && /^# (?:(?:not )?ok \d+ |1\.\.0 # SKIP)/.test(line)) subtests.push(line)
  }
  return results
}

/** Where a guest is moved: `after` instructions past init's header line of `program`, before its verdict. */
interface MovePoint {
  readonly program: string
  readonly after: number
}

/**
 * The moves, one per way a guest leaves its machine, each in the middle of a program (init
 * prints a program's output only when it ends, so a move before the verdict line is inside the
 * program): a snapshot restored on a fresh machine inside check_buffer_fill (sync and async tag
 * check faults, ~20 M instructions), post-copy inside check_child_memory (fork: tagged pages
 * shared copy-on-write) and pre-copy inside check_user_mem (1.75 G: uaccess on tagged buffers).
 */
const SNAPSHOT_AT: MovePoint = { program: 'check_buffer_fill', after: 8_000_000 }
const POSTCOPY_AT: MovePoint = { program: 'check_child_memory', after: 10_000_000 }
const PRECOPY_AT: MovePoint = { program: 'check_user_mem', after: 600_000_000 }

/** The guest's console across every machine it runs on. */
interface Guest {
  machine: Machine
  console: { text: string }
}

const CONFIG = { ramBase: 0x4000_0000, ramSize: 1 << 30, cpus: 1, mte: true, backing: 'anon', clock: 'instructions' } as const

function consoleOf(guest: Pick<Guest, 'console'>): MachineIo {
  return { console: (bytes) => (guest.console.text += Buffer.from(bytes).toString('latin1')) }
}

const ended = (text: string): boolean => /=== tagvm-kit: end selftests|end Kernel panic/.test(text)

/**
 * Runs until `point` (or the end of the selftests, or the budget), looking for the program's
 * header from console offset `from` (where the last move was: a destination may already have
 * run past the header while pages arrived); says what the console shows from there.
 */
function runTo(guest: Guest, point: MovePoint, from: number): string {
  const header = `# selftests: arm64/mte: ${point.program}\r\n`
  let seen: number | undefined
  while (guest.machine.retired < BUDGET && !ended(guest.console.text)) {
    if (seen === undefined && guest.console.text.includes(header, from)) seen = guest.machine.retired
    if (seen !== undefined && guest.machine.retired - seen >= point.after) break
    const budget = seen === undefined ? CHUNK / 10 : Math.min(CHUNK, seen + point.after - guest.machine.retired)
    if (guest.machine.run(budget).kind !== 'budget') break
  }
  return guest.console.text.slice(from)
}

/** The program has started and not ended: the move is in its middle. */
function expectInside(text: string, point: MovePoint): void {
  expect(text, `${point.program} started before the move`).toContain(`# selftests: arm64/mte: ${point.program}\r\n`)
  expect(text, `${point.program} had not ended at the move`).not.toMatch(new RegExp(`ok \\d+ selftests: arm64/mte: ${point.program}\\b`))
}

/** Saves the guest as the CLI's snapshot file holds it and restores the bytes on a fresh machine, which the guest continues on. */
function snapshotAndRestore(guest: Guest): void {
  const chunks: Uint8Array[] = []
  writeMachineSnapshot(guest.machine, new SnapshotEncoder((chunk) => chunks.push(chunk.slice())))
  const restore = new SnapshotRestore('selftests.snap', (config) => Machine.create(config, consoleOf(guest)))
  for (const chunk of chunks) restore.push(chunk)
  const restored = restore.finish()
  expect(restored).not.toBe(guest.machine)
  expect(restored.config).toEqual(CONFIG)
  guest.machine = restored
}

/** Live-migrates the guest to a fresh machine (pre-copy rounds while it runs, or post-copy at once) and carries on there. */
async function migrate(guest: Guest, postcopy: boolean): Promise<SendResult> {
  const [sourceEnd, destinationEnd] = channelPair()
  const sending = sendMachine(guest.machine, sourceEnd, postcopy ? { maxRounds: 0, postcopy } : { maxRounds: 8 })
  const incoming = await receiveMigration(destinationEnd, (config) => Machine.create(config, consoleOf(guest)))
  expect(incoming.postcopy).toBe(postcopy)
  expect(incoming.machine).not.toBe(guest.machine)
  guest.machine = incoming.machine
  if (postcopy) {
    // The destination runs while pages arrive: to the end of the push (or of the selftests).
    let stop = await incoming.run(CHUNK / 10)
    let done = false
    void incoming.complete.then(() => (done = true))
    while (stop.kind === 'budget' && !done && !ended(guest.console.text)) stop = await incoming.run(CHUNK / 10)
    expect(stop.kind === 'budget' || stop.kind === 'power-off').toBe(true)
    await incoming.complete
  }
  expect(guest.machine.memory.missingPages).toBe(0)
  return sending
}

/**
 * Boots the kit running `programs` on the instruction clock, moves it three times in the
 * middle of programs, and runs the last machine until init says the selftests ended.
 */
async function runMovedSelftests(programs: readonly string[]): Promise<{ console: string; moves: string[] }> {
  const console = { text: '' }
  const guest: Guest = { machine: Machine.create(CONFIG, consoleOf({ console })), console }
  guest.machine.boot(new Uint8Array(readFileSync(image)), image, {
    initrd: { bytes: new Uint8Array(readFileSync(initramfs)), file: initramfs },
    bootargs: `console=ttyAMA0 rdinit=/init tagvm.run=selftests tagvm.selftests=${programs.join(',')}`,
  })
  const moves: string[] = []
  expectInside(runTo(guest, SNAPSHOT_AT, 0), SNAPSHOT_AT)
  snapshotAndRestore(guest)
  moves.push('snapshot')
  let from = console.text.length
  expectInside(runTo(guest, POSTCOPY_AT, from), POSTCOPY_AT)
  from = console.text.length
  const post = await migrate(guest, true)
  expect(post).toMatchObject({ kind: 'migrated' })
  if (post.kind === 'migrated') expect(post.requestedPages).toBeGreaterThan(0)
  moves.push('post-copy')
  expectInside(runTo(guest, PRECOPY_AT, from), PRECOPY_AT)
  const pre = await migrate(guest, false)
  expect(pre).toMatchObject({ kind: 'migrated' })
  if (pre.kind === 'migrated') expect(pre.rounds).toBeGreaterThan(1)
  moves.push('pre-copy')
  let stop = guest.machine.run(CHUNK)
  while (stop.kind === 'budget' && guest.machine.retired < BUDGET && !ended(guest.console.text)) stop = guest.machine.run(CHUNK)
  return { console: guest.console.text, moves }
}

describe('programResults', () => {
  test('reads verdicts, SKIPs and subtest lines, without positions or diagnostics', () => {
    const tap = [
      '# selftests: arm64/mte: check_a',
      '# TAP version 13',
      '# ok 1 first',
      '[    1.234567] a kernel line',
      '# not ok 2 second',
      '# # Totals: pass:1 fail:1',
      '# time: check_a uptime 1.00 1.02 idle 0.00 0.00',
      'not ok 3 selftests: arm64/mte: check_a # exit=1',
      '# selftests: arm64/mte: check_b',
      '# 1..0 # SKIP PROT_MTE not supported with MAP_HUGETLB mappings',
      'ok 4 selftests: arm64/mte: check_b # SKIP',
    ].join('\r\n')
    expect(programResults(tap)).toEqual(
      new Map([
        ['check_a', { verdict: 'not ok', line: 'not ok selftests: arm64/mte: check_a # exit=1', subtests: ['# ok 1 first', '# not ok 2 second'] }],
        ['check_b', { verdict: 'skip', line: 'ok selftests: arm64/mte: check_b # SKIP', subtests: ['# 1..0 # SKIP PROT_MTE not supported with MAP_HUGETLB mappings'] }],
      ]),
    )
  })
})

describe.runIf(built)('Linux MTE selftests on tagvm', () => {
  test(`${SUBSET.join(', ')}, moved mid-program by snapshot/restore, post-copy and pre-copy: the verdicts and subtest lines QEMU 10 printed`, { timeout: 30 * 60_000 }, async () => {
    const recording = programResults(readFileSync(fileURLToPath(new URL('../../../../guests/linux/selftests.qemu.tap', import.meta.url)), 'utf8'))
    const { console, moves } = await runMovedSelftests(SUBSET)
    expect(moves).toEqual(['snapshot', 'post-copy', 'pre-copy'])
    const tail = console.slice(-3000)
    expect(console, tail).toMatch(/=== tagvm-kit: end selftests status=\d+ ===/)
    expect(console).not.toMatch(/Oops|WARNING:|giving up|Internal error/)
    const results = programResults(console)
    for (const program of SUBSET) {
      const expected = recording.get(program)
      expect(expected, `${program} is in selftests.qemu.tap`).toBeDefined()
      expect(results.get(program), `${program} under tagvm:\n${tail}`).toEqual(expected)
    }
    // The subset has a SKIP (hugetlb: the 6.1 kernel keeps PROT_MTE off MAP_HUGETLB) and
    // programs that pass; nothing in the recording fails.
    expect(new Set(SUBSET.map((program) => recording.get(program)?.verdict))).toEqual(new Set(['ok', 'skip']))
  })
})
