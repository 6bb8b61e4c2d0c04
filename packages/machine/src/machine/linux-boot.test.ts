// Debian 12's unmodified arm64 kernel (guests/linux's kit) on the machine, without earlycon:
// the console must show what QEMU 10 showed on the way to /init (guests/linux/boot-facts.qemu.txt:
// the GICv3 and its redistributor, the arch timer at 1 GHz, the debug registers, the PL011
// driver taking the console over through its interrupt), and no oops, WARN or "giving up".
// The boot test runs in the interpreter (the plain-interpreter Linux boot CI keeps); the
// user-space MTE test runs with the compiled tier (MachineHostOptions.jit), whose boot must
// print the same lines.
// The kit is built by guests/linux/build-kit.sh (scripts/ci-setup/50-linux-kit.sh in CI);
// without it the test is skipped locally, with how to build it, and fails in CI.
import { readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { describe, expect, test } from 'vitest'
import { linuxKit } from '../../../../guests/linux/kit.js'
import { sysregId } from '@tagvm/vmm-api'
import { Machine, type MachineHostOptions } from './machine.js'

const { image, initramfs, built } = linuxKit('linux-boot.test.ts')

/** The dmesg lines of QEMU's recording that tagvm's machine must print too, in order. */
const QEMU_LINES = [
  'Linux version 6.1.0-57-cloud-arm64 (debian-kernel@lists.debian.org)',
  'Machine model: linux,dummy-virt',
  'psci: PSCIv1.1 detected in firmware.',
  'CPU features: detected: GIC system register CPU interface',
  'CPU features: detected: Memory Tagging Extension',
  'CPU features: detected: Asymmetric MTE Tag Check Fault',
  'GICv3: 256 SPIs implemented',
  'GICv3: CPU0: found redistributor 0 region 0:0x00000000080a0000',
  'arch_timer: cp15 timer(s) running at 1000.00MHz (virt).',
  'sched_clock: 61 bits at 1000MHz, resolution 1ns, wraps every 4398046511103ns',
  'smp: Brought up 1 node, 1 CPU',
  'hw-breakpoint: found 6 breakpoint and 4 watchpoint registers.',
  '9000000.pl011: ttyAMA0 at MMIO 0x9000000 (irq = 13, base_baud = 0) is a PL011 rev1',
  'printk: console [ttyAMA0] enabled',
  'Freeing unused kernel memory: 4608K',
  'Run /init as init process',
]
/** QEMU's boot to /init took 1.06 G instructions (-icount); the shell is a little further. */
const BUDGET = 1_600_000_000
const CHUNK = 50_000_000

/** Whether the vCPU executes FP/SIMD (ID_AA64PFR0_EL1.FP != 0xF): user space needs it. */
function cpuHasFp(machine: Machine): boolean {
  return ((machine.vcpus[0]!.getOneReg(sysregId(3, 0, 0, 4, 0)) >> 16n) & 0xfn) !== 0xfn
}

/** Boots the kit in `mode` on the instruction clock until its init says the mode ended. */
function bootKit(mode: string, host: MachineHostOptions = {}): { console: string; machine: Machine } {
  let console = ''
  const machine = Machine.create({ ramBase: 0x4000_0000, ramSize: 1 << 30, cpus: 1, mte: true, backing: 'anon', clock: 'instructions' }, {
    console: (bytes) => (console += new TextDecoder().decode(bytes)),
  }, host)
  machine.boot(new Uint8Array(readFileSync(image)), image, {
    initrd: { bytes: new Uint8Array(readFileSync(initramfs)), file: initramfs },
    bootargs: `console=ttyAMA0 rdinit=/init tagvm.run=${mode}`,
  })
  const done = (): boolean => new RegExp(`=== tagvm-kit: end ${mode}|end Kernel panic`).test(console)
  let stop = machine.run(CHUNK)
  while (stop.kind === 'budget' && machine.retired < BUDGET && !done()) stop = machine.run(CHUNK)
  return { console, machine }
}

describe.runIf(built)('Debian 6.1 arm64 on tagvm', () => {
  test('boots to /init with console=ttyAMA0 and no earlycon, printing what QEMU printed', { timeout: 30 * 60_000 }, () => {
    const { console, machine } = bootKit('boot')

    let at = 0
    for (const line of QEMU_LINES) {
      const found = console.indexOf(line, at)
      expect(found, `"${line}" after offset ${at} of the console:\n${console.slice(-3000)}`).toBeGreaterThanOrEqual(0)
      at = found + line.length
    }
    expect(console).not.toMatch(/Oops|WARNING:|giving up|Internal error/)
    // User space runs (busybox needs FP/SIMD): /init's first line and the boot mode's report.
    expect(cpuHasFp(machine)).toBe(true)
    expect(console).toMatch(/=== tagvm-kit: \/init started, uptime [0-9.]+ s, idle [0-9.]+ s, CNTVCT [0-9]+ at 1000000000 Hz ===/)
    expect(console).toContain('=== tagvm-kit: end boot status=0 ===')
  })

  // The kit's own user-space MTE program (guests/linux/src/mte-test.c: PROT_MTE, prctl sync,
  // async and asymmetric modes, IRG/STG/LDG/ST2G/STZG/STGP, use-after-free and out-of-bounds
  // faults with their si_code and si_addr, fork, shared and memfd mappings) prints exactly the
  // lines it printed under QEMU 10 (-M virt,mte=on,gic-version=3 -cpu max), run with the
  // compiled tier: kernel and user code translated, TCF switched per task, tag faults taken
  // from translations through the interpreter.
  test('the user-space MTE test prints what it printed under QEMU 10 (compiled tier)', { timeout: 30 * 60_000 }, () => {
    const recorded = readFileSync(fileURLToPath(new URL('../../../../guests/linux/mte-test.qemu.out', import.meta.url)), 'utf8')
    const linesOf = (text: string): string[] => text.replace(/\r/g, '').split('\n').filter((line) => line.startsWith('mte-test'))
    const expected = linesOf(recorded)
    expect(expected.at(-1)).toBe('mte-test: done: 33 checks, 0 failed')
    const { console, machine } = bootKit('mte-test', { jit: true })
    const tier = (machine.vcpus[0]!.vcpu as unknown as { cpu: { jit: { stats: { regions: number } } | null } }).cpu.jit
    expect(tier?.stats.regions).toBeGreaterThan(0)
    expect(linesOf(console)).toEqual(expected)
    expect(console).toContain('=== tagvm-kit: end mte-test status=0 ===')
    expect(console).not.toMatch(/Oops|WARNING:|giving up|Internal error/)
  })
})
