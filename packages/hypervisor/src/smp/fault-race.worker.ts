// Worker for fault-race.test.ts: one vCPU thread's view of the VM takes a stage-2 fault on
// every page of RAM, in its own order, racing the other threads; then reads the tags back.
import { parentPort, workerData } from 'node:worker_threads'
import { GRANULE_SIZE, PAGE_SIZE, PhysicalMemory } from '@tagvm/tag-memory'
import type { VcpuThreadInit } from './vcpu-thread.js'
import { createThreadVm } from './vcpu-thread.js'

interface Job {
  init: VcpuThreadInit
  pages: number
  start: SharedArrayBuffer
}

const { init, pages, start } = workerData as Job
const vm = createThreadVm(init, () => {
  throw new Error('every host page was faulted in before the race')
})
const memory = PhysicalMemory.attach(init.memory)
// A data abort from EL1, stage-2 translation fault at level 3, a write (WnR).
const ESR = ((0x24 << 26) | (1 << 25) | (1 << 6) | 0x07) >>> 0
parentPort?.postMessage('ready')
Atomics.wait(new Int32Array(start), 0, 0)
let dirty = 0
for (let i = 0; i < pages; i++) {
  const page = (i * 7 + init.index * 13) % pages
  const ipa = init.ram.guestPhysAddr + page * PAGE_SIZE
  const outcome = vm.handleGuestAbort({ esr: ESR, hpfar: (ipa / PAGE_SIZE) * 16, farLo: 0 })
  if (outcome.kind !== 'resume') throw new Error(`page ${page}: ${outcome.kind}`)
  // Mapped now: what the guest would see must be the cleaned tags, never the stale ones.
  const pa = vm.stage2.query(ipa)!.pa
  for (let g = 0; g < PAGE_SIZE; g += GRANULE_SIZE) if (memory.getTag(pa + g) !== 0) dirty++
}
parentPort?.postMessage({ cleaned: vm.stats.tagPagesCleaned, mapped: vm.stats.pagesMapped, dirty })
