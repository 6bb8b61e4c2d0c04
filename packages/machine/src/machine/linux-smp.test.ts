// Debian 6.1 arm64 (guests/linux's kit) with two vCPUs, each on its own worker thread: both
// CPUs come up, the kit's user-space MTE test prints what it printed under QEMU 10, and the
// guest powers off. One boot, on the host clock (threads always are). The kit is built by
// guests/linux/build-kit.sh (scripts/ci-setup/50-linux-kit.sh in CI); without it the test is
// skipped locally, with how to build it, and fails in CI.
import { readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { describe, expect, test } from 'vitest'
import { linuxKit } from '../../../../guests/linux/kit.js'
import { spawnSourceWorker } from '../smp/node-spawn.test-support.js'
import { Machine } from './machine.js'

const { image, initramfs, built } = linuxKit('linux-smp.test.ts')
const CPUS = 2

describe.runIf(built)('Debian 6.1 arm64 on vCPU threads', () => {
  test(`${CPUS} vCPUs on threads: all CPUs up, the user-space MTE test as under QEMU 10, power-off`, { timeout: 40 * 60_000 }, () => {
    const recorded = readFileSync(fileURLToPath(new URL('../../../../guests/linux/mte-test.qemu.out', import.meta.url)), 'utf8')
    const linesOf = (text: string): string[] => text.replace(/\r/g, '').split('\n').filter((line) => line.startsWith('mte-test'))
    let console = ''
    const machine = Machine.create(
      { ramBase: 0x4000_0000, ramSize: 1 << 30, cpus: CPUS, mte: true, backing: 'anon', clock: 'host' },
      { console: (bytes) => (console += new TextDecoder().decode(bytes)) },
      { threads: { spawn: spawnSourceWorker } },
    )
    try {
      machine.boot(new Uint8Array(readFileSync(image)), image, {
        initrd: { bytes: new Uint8Array(readFileSync(initramfs)), file: initramfs },
        bootargs: 'console=ttyAMA0 rdinit=/init tagvm.run=mte-test',
      })
      expect(machine.run(), console.slice(-3000)).toEqual({ kind: 'power-off' })
      expect(console).toContain(`smp: Brought up 1 node, ${CPUS} CPUs`)
      expect(linesOf(console)).toEqual(linesOf(recorded))
      expect(console).toContain('=== tagvm-kit: end mte-test status=0 ===')
      expect(console).not.toMatch(/Oops|WARNING:|giving up|Internal error|BUG:/)
      // Both vCPUs ran guest code on their threads.
      expect(machine.smpStats()!.retired.every((n) => n > 0)).toBe(true)
    } finally {
      machine.close()
    }
  })
})
