// Debian 6.1 arm64 (guests/linux's kit) with two vCPUs on worker threads, moved twice while
// both run (issue 18): saved by snapshot right after `smp: Brought up 1 node, 2 CPUs` (plus
// 20M instructions: the boot goes on on both CPUs) and restored on fresh threads; that copy
// runs on and is live-migrated (pre-copy over the in-process channel, dirty logging in the
// threads) onto a third machine's threads, which boots on to /init, runs the kit's user-space
// MTE test (its lines as QEMU 10 printed them) and powers off. Each move must leave both vCPUs
// running where the guest arrived. One boot, on the host clock (threads always are); it also
// stands for a plain boot on threads (both CPUs up, mte-test, power-off), which had a test of
// its own. The same run with more vCPUs or the kernel's selftests is
// scripts/linux-threads-move.ts (results in guests/linux/selftests-threads.md). The kit is
// built by guests/linux/build-kit.sh (scripts/ci-setup/50-linux-kit.sh in CI); without it
// the test is skipped locally, with how to build it, and fails in CI.
import { readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { describe, expect, test } from 'vitest'
import { linuxKit } from '../../../../guests/linux/kit.js'
import { moveLinuxOnThreads } from './linux-threads-move.test-support.js'

const { built } = linuxKit('linux-threads-move.test.ts')
const CPUS = 2
const SMP_UP = `smp: Brought up 1 node, ${CPUS} CPUs`
/** The boot and mte-test take ~2.5 G instructions on two vCPUs; a copy that hangs or spins fails here instead of running on. */
const BUDGET = 8_000_000_000
/**
 * What a kernel prints when it goes wrong, soft lockups included: the 20-90 s "stuck" CPUs seen
 * after moves on a loaded host were the vCPU threads' load time shown to the guest as time
 * passing (fixed: VcpuThreads.startCounters), not the host starving a running guest.
 */
const BROKEN = /Oops|WARNING:|BUG:|rcu_.*stall|giving up|Internal error|Kernel panic|Problem loading/
describe.runIf(built)('Debian 6.1 arm64 on two vCPU threads, moved while both vCPUs run', () => {
  test('snapshot/restore onto fresh threads, then pre-copy onto other threads: boots on, mte-test as under QEMU 10, power-off', { timeout: 60 * 60_000 }, async () => {
    const recorded = readFileSync(fileURLToPath(new URL('../../../../guests/linux/mte-test.qemu.out', import.meta.url)), 'utf8')
    const linesOf = (text: string): string[] => text.replace(/\r/g, '').split('\n').filter((line) => line.startsWith('mte-test'))
    const run = await moveLinuxOnThreads({
      cpus: CPUS,
      kitArgs: 'tagvm.run=mte-test',
      snapshotAt: { marker: SMP_UP, after: 20_000_000 },
      migrateAt: { after: 60_000_000 },
      budget: BUDGET,
    })
    // vCPU 1 came up (PSCI CPU_ON on its thread) and ran: the snapshot was taken with both busy.
    expect(run.retired.source[1]).toBeGreaterThan(1_000_000)
    expect(run.console.slice(0, run.atSnapshot)).not.toContain('Run /init as init process')
    // Both vCPUs ran on the restored machine's threads (neither was left in WFI for good).
    expect(run.retired.restored.every((n) => n > 0), JSON.stringify(run.retired.restored)).toBe(true)
    expect(run.migration.kind).toBe('migrated')
    // Every page and tag arrived as the guest left it (a write the dirty log missed shows here).
    expect(run.differences).toEqual({ restore: [], migration: [] })
    expect(run.stop, `${run.console.slice(-3000)}\n${run.stall ?? ''}`).toEqual({ kind: 'power-off' })
    expect(run.retired.destination.every((n) => n > 1_000_000), JSON.stringify(run.retired.destination)).toBe(true)

    const after = run.console.slice(run.atMigration)
    expect(run.console).toContain(SMP_UP)
    expect(run.console.slice(run.atSnapshot)).toContain('Run /init as init process')
    expect(linesOf(after)).toEqual(linesOf(recorded))
    expect(after).toContain('=== tagvm-kit: end mte-test status=0 ===')
    expect(after).toContain('=== tagvm-kit: powering off, status=0 ===')
    expect(run.console).not.toMatch(BROKEN)
  })
})
