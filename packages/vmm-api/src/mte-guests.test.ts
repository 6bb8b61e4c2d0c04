// MTE guests on the whole stack (vmm-api → hypervisor → cpu), compared with QEMU's
// recordings. The tagging workload runs while the host swaps its tagged pages out page by
// page and migrates others between runs: every tag must be where the guest left it.
import { expect, test } from 'vitest'
import { readFileSync } from 'node:fs'
import { PAGE_SIZE, type Kvm } from './index.js'
import { GUESTS, runElfGuest } from './test-support.js'

// QEMU TCG's reset SCTLR_EL1 and -cpu max's MTE level, so the output can match its recordings.
const QEMU = { sctlr: 0xc50838n, hostMteLevel: 3 } as const

const MTE_GUESTS = ['mte-basic', 'mte-sync', 'mte-async', 'mte-asym', 'mte-tcma', 'mte-tco', 'mte-block', 'mte-off', 'mte-el0', 'mte-demo', 'mte-access']

test.each(MTE_GUESTS)('%s with KVM_CAP_ARM_MTE prints what it prints under QEMU', (name) => {
  const run = runElfGuest(name, { ...QEMU, mte: true })
  expect(run.exit).toBe('shutdown')
  expect(run.uart).toBe(readFileSync(`${GUESTS}${name}/qemu.out`, 'utf8'))
})

test('tag-workload passes while the host swaps and migrates its tagged pages under it', () => {
  const TAGGED = 0x0040_0000 // offset of 0x4040_0000 in RAM
  const PAGES = 1024
  let next = 0
  let swapped = 0
  const churn = (kvm: Kvm, ram: number) => {
    // 64 pages a stop, round robin: swap out most, migrate every eighth.
    for (let n = 0; n < 64; n++, next = (next + 1) % PAGES) {
      const hva = ram + TAGGED + next * PAGE_SIZE
      const frame = kvm.process.residentFrame(hva)
      if (frame === null || frame === kvm.kernel.zeroPfn) continue
      if (next % 8 === 0) kvm.process.migrate(hva)
      else if (kvm.process.swapOut(hva)) swapped++
    }
  }
  const run = runElfGuest('tag-workload', { ...QEMU, mte: true, budget: 2_000_000, betweenRuns: churn })
  expect(run.exit).toBe('shutdown')
  expect(swapped).toBeGreaterThan(1000)
  expect(run.kvm.kernel.stats.tagRestores).toBeGreaterThan(1000)
  expect(run.uart).toBe(readFileSync(`${GUESTS}tag-workload/qemu.out`, 'utf8'))
}, 300_000)
