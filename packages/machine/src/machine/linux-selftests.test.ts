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
// The kit is built by guests/linux/build-kit.sh (scripts/ci-setup/50-linux-kit.sh in CI);
// without it the test is skipped locally, with how to build it, and fails in CI.
import { readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { describe, expect, test } from 'vitest'
import { linuxKit } from '../../../../guests/linux/kit.js'
import { Machine } from './machine.js'

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

/** Boots the kit running `programs` on the instruction clock until init says selftests ended. */
function runSelftests(programs: readonly string[]): string {
  let console = ''
  const machine = Machine.create({ ramBase: 0x4000_0000, ramSize: 1 << 30, cpus: 1, mte: true, backing: 'anon', clock: 'instructions' }, {
    console: (bytes) => (console += new TextDecoder().decode(bytes)),
  })
  machine.boot(new Uint8Array(readFileSync(image)), image, {
    initrd: { bytes: new Uint8Array(readFileSync(initramfs)), file: initramfs },
    bootargs: `console=ttyAMA0 rdinit=/init tagvm.run=selftests tagvm.selftests=${programs.join(',')}`,
  })
  const done = (): boolean => /=== tagvm-kit: end selftests|end Kernel panic/.test(console)
  let stop = machine.run(CHUNK)
  while (stop.kind === 'budget' && machine.retired < BUDGET && !done()) stop = machine.run(CHUNK)
  return console
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
  test(`${SUBSET.join(', ')}: the verdicts and subtest lines QEMU 10 printed`, { timeout: 30 * 60_000 }, () => {
    const recording = programResults(readFileSync(fileURLToPath(new URL('../../../../guests/linux/selftests.qemu.tap', import.meta.url)), 'utf8'))
    const console = runSelftests(SUBSET)
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
