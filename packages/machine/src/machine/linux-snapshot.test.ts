// Debian 6.1 (guests/linux's kit) saved and restored while it runs, onto the host clock (what
// a KVM guest sees; apps/tagvm's linux-move test restores on the instruction clock): the
// tagged-heap program fills a PROT_MTE heap, waits for a console line and is saved there;
// the restored machine takes the line through the PL011's interrupt, the program sleeps 20 ms
// (only a timer interrupt ends it), re-checks every tag and byte and the kit's shell starts.
// The shell, now running on the host clock, is saved and restored onto the instruction clock, answers, and
// `poweroff -f` powers the machine off. The guest's counter never goes back across a restore,
// and the console shows no oops, WARN, lockup or RCU stall after either move.
// The boot runs on the instruction clock and the first restore switches the machine to the
// host clock (the counter goes on from its saved value either way): on the host clock guest
// time follows the wall clock while the interpreter runs ~100x slower than hardware, and on a
// loaded machine the kernel's soft-lockup watchdog fires during boot itself (seen: "BUG: soft
// lockup - CPU#0 stuck for 71s" in trace_event_update_all at ~10% of a core), which says
// nothing about save and restore. Every machine runs the compiled tier (MachineHostOptions.jit):
// the snapshots are taken from translations and continued in translations (the tier is not
// saved; linux-boot.test.ts keeps a Linux boot in the interpreter). The kit is built by
// guests/linux/build-kit.sh (scripts/ci-setup/50-linux-kit.sh in CI); without it the test is
// skipped locally, with how to build it, and fails in CI.
import { readFileSync } from 'node:fs'
import { describe, expect, test } from 'vitest'
import { linuxKit } from '../../../../guests/linux/kit.js'
import { KVM_REG_ARM_TIMER_CNT } from '@tagvm/vmm-api'
import type { MachineConfig } from '../config.js'
import { restoreSnapshot } from '../restore.js'
import { encodeSnapshot } from '../snapshot/format.js'
import { Machine, type MachineHostOptions } from './machine.js'

const { image, initramfs, built } = linuxKit('linux-snapshot.test.ts')

const HEAP_MIB = 4
const CONFIG: MachineConfig = { ramBase: 0x4000_0000, ramSize: 256 << 20, cpus: 1, mte: true, backing: 'anon', clock: 'instructions' }
/** Every machine of the test, the first and each restored one. */
const HOST: MachineHostOptions = { jit: true }
const BOOTARGS = `console=ttyAMA0 rdinit=/init tagvm.run=heap,shell tagvm.heap=${HEAP_MIB} tagvm.passes=2 tagvm.churn=1 tagvm.heapwait=1`
const BROKEN = /Oops|WARNING:|BUG:|rcu_.*stall|MISMATCH|TAG CHECK FAULT|Kernel panic|went wrong/
/** Far more than any step needs (the boot is ~1.1 G instructions); a hang fails instead of waiting forever. */
const BUDGET = 4_000_000_000
const CHUNK = 5_000_000

interface Guest {
  machine: Machine
  /** Everything the guest printed since it was built or restored. */
  console: { text: string }
}

function withConsole(make: (io: { console(bytes: Uint8Array): void }) => Machine): Guest {
  const console = { text: '' }
  return { machine: make({ console: (bytes) => (console.text += Buffer.from(bytes).toString('latin1')) }), console }
}

/** Runs until the console shows `text` (a prompt, a marker) after offset `from`; fails if the guest stops or the budget runs out. */
function runUntil(guest: Guest, text: string, from = 0): void {
  const start = guest.machine.retired
  while (!guest.console.text.includes(text, from)) {
    const stop = guest.machine.run(CHUNK)
    if (stop.kind !== 'budget') throw new Error(`the guest stopped (${JSON.stringify(stop)}) before printing "${text}":\n${guest.console.text.slice(-3000)}`)
    if (guest.machine.retired - start > BUDGET) throw new Error(`no "${text}" after ${BUDGET} instructions:\n${guest.console.text.slice(-3000)}`)
  }
}

/** Types `text` at the console as the PL011's receive FIFO makes room. */
function type(guest: Guest, text: string): void {
  let left = new TextEncoder().encode(text)
  const start = guest.machine.retired
  while (left.length > 0) {
    left = left.subarray(guest.machine.uart.receive(left))
    if (left.length > 0) expect(guest.machine.run(4_000)).toEqual({ kind: 'budget' })
    if (guest.machine.retired - start > BUDGET) throw new Error(`the guest did not read "${text}"`)
  }
}

/** Saves the guest (pending work completed first), restores the bytes on a fresh machine on `clock`, and checks its counter went on from where it was. */
function moveBySnapshot(guest: Guest, clock: MachineConfig['clock']): Guest {
  const vcpus = guest.machine.saveVcpus()
  const savedCount = vcpus[0]!.regs.find((r) => r.id === KVM_REG_ARM_TIMER_CNT)!.value
  const bytes = encodeSnapshot({ config: guest.machine.config, vcpus, devices: guest.machine.saveDevices(), pages: [...guest.machine.memory.pages()] })
  const copy = withConsole((io) => restoreSnapshot(bytes, 'linux.snap', (config) => Machine.create({ ...config, clock }, io, HOST)))
  expect(copy.machine.config).toEqual({ ...guest.machine.config, clock })
  // Time went on while the guest was away; its counter did not (as KVM's TIMER_CNT
  // restore does), and it never goes back, whichever clock it moves to.
  expect(copy.machine.vcpus[0]!.getOneReg(KVM_REG_ARM_TIMER_CNT)).toBeGreaterThanOrEqual(savedCount)
  return copy
}

describe.runIf(built)('Debian 6.1 with a tagged heap, saved and restored across clocks', () => {
  test('mid-heap and at the shell: the console, timers and every tag and byte survive; poweroff works', { timeout: 40 * 60_000 }, () => {
    const first = withConsole((io) => Machine.create(CONFIG, io, HOST))
    first.machine.boot(new Uint8Array(readFileSync(image)), image, { initrd: { bytes: new Uint8Array(readFileSync(initramfs)), file: initramfs }, bootargs: BOOTARGS })
    runUntil(first, 'heap: waiting for a line on standard input before checking')
    expect(first.console.text).not.toMatch(BROKEN)

    // Saved while the program waits on the console (the vCPU idles in WFI).
    const second = moveBySnapshot(first, 'host')
    type(second, '\n')
    runUntil(second, '=== tagvm-kit: shell (poweroff -f to stop) ===')
    const heap = second.console.text
    expect(heap).toContain('heap: line received, slept 20 ms, checking')
    expect(heap).toContain('heap: pass 2: 262144 granules, every tag and byte as written')
    expect(heap).toContain(`heap intact: 2 passes, ${HEAP_MIB} MiB, every tag and byte as written`)
    expect(heap).toContain('=== tagvm-kit: end heap status=0 ===')
    runUntil(second, '# ', heap.indexOf('=== tagvm-kit: shell'))

    // Saved at the shell prompt on the host clock and restored onto the instruction clock:
    // the restored shell answers and powers off.
    const third = moveBySnapshot(second, 'instructions')
    type(third, 'echo shell $((6 * 7)) after restore\n')
    runUntil(third, 'shell 42 after restore')
    type(third, 'poweroff -f\n')
    let stop = third.machine.run(CHUNK)
    for (let spent = 0; stop.kind === 'budget' && spent < BUDGET; spent += CHUNK) stop = third.machine.run(CHUNK)
    expect(stop).toEqual({ kind: 'power-off' })
    expect(second.console.text + third.console.text).not.toMatch(BROKEN)
  })
})
