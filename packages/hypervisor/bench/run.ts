// Hypervisor benchmarks: stage-2 faults handled per second on first touch of a 1 GiB guest
// region (with and without MTE), the cost of cleaning a page's tags on first map, and
// KVM_ARM_MTE_COPY_TAGS throughput. Prints figures; never fails on time.
import { performance } from 'node:perf_hooks'
import { HostKernel, MAP_ANONYMOUS, MAP_PRIVATE, PAGE_SIZE, PROT_READ, PROT_WRITE, PhysicalMemory } from '@tagvm/tag-memory'
import { Hypervisor, mteCopyTags, type GuestAbort } from '../src/index.js'

const GiB = 2 ** 30
const RAM = 0x4000_0000

function writeFault(ipa: number): GuestAbort {
  // EC 0x24 data abort, IL, ISV with a 4-byte store from x1, translation fault level 3.
  const iss = (1 << 24) | (2 << 22) | (1 << 16) | (1 << 6) | 0x07
  return { esr: ((0x24 << 26) | (1 << 25) | iss) >>> 0, hpfar: (ipa / PAGE_SIZE) * 16, farLo: ipa & 0xfff }
}

function firstTouch(size: number, mte: boolean, thp = false) {
  const memory = new PhysicalMemory({ size: size + 64 * 1024 * 1024 })
  const kernel = new HostKernel({ memory, transparentHugepages: thp ? 'always' : 'never' })
  const mm = kernel.createMm()
  const hv = new Hypervisor({ kernel })
  const vm = hv.createVm({ mm, ipaBits: 40 })
  if (mte) vm.enableMte()
  const hva = mm.mmap({ length: size, prot: PROT_READ | PROT_WRITE, flags: MAP_PRIVATE | MAP_ANONYMOUS })
  vm.setUserMemoryRegion({ slot: 0, flags: 0, guestPhysAddr: RAM, memorySize: size, userspaceAddr: hva })
  const pages = size / PAGE_SIZE
  const start = performance.now()
  let faults = 0
  for (let page = 0; page < pages; page++) {
    // A guest touching each page faults only where stage 2 does not map it yet.
    if (thp && vm.stage2.query(RAM + page * PAGE_SIZE)) continue
    vm.handleGuestAbort(writeFault(RAM + page * PAGE_SIZE))
    faults++
  }
  const seconds = (performance.now() - start) / 1000
  return { vm, mm, memory, pages, faults, seconds, hva }
}

function report(label: string, value: string): void {
  console.log(`${label.padEnd(58)} ${value}`)
}

const plain = firstTouch(GiB, false)
report('stage-2 faults/s, first touch of 1 GiB, no MTE', `${Math.round(plain.pages / plain.seconds).toLocaleString('en-US')} (${plain.pages} faults in ${plain.seconds.toFixed(2)} s)`)
const tagged = firstTouch(GiB, true)
report('stage-2 faults/s, first touch of 1 GiB, MTE (tags cleaned)', `${Math.round(tagged.pages / tagged.seconds).toLocaleString('en-US')} (${tagged.vm.stats.tagPagesCleaned} pages cleaned)`)
{
  const huge = firstTouch(GiB, true, true)
  report('first touch of 1 GiB, MTE, host THP (2 MiB blocks)', `${huge.faults} faults, ${huge.seconds.toFixed(2)} s (${huge.vm.stats.blocksMapped} blocks, ${huge.vm.stats.tagPagesCleaned} pages cleaned)`)
}
// The same faults with the host pages already resident: what the hypervisor itself costs
// (first touch above is dominated by the host zeroing fresh pages).
{
  tagged.vm.unmapStage2(RAM, GiB)
  const start = performance.now()
  for (let page = 0; page < tagged.pages; page++) tagged.vm.handleGuestAbort(writeFault(RAM + page * PAGE_SIZE))
  const seconds = (performance.now() - start) / 1000
  report('stage-2 faults/s, 1 GiB re-faulted, host pages resident (MTE)', `${Math.round(tagged.pages / seconds).toLocaleString('en-US')}`)
}

// Cleaning alone: ensureTagsInitialised on fresh frames, the sanitise_mte_tags inner step.
{
  const memory = new PhysicalMemory({ size: 256 * 1024 * 1024 })
  const frames = memory.frameCount
  const start = performance.now()
  for (let pfn = 0; pfn < frames; pfn++) memory.ensureTagsInitialised(pfn)
  const ns = ((performance.now() - start) / frames) * 1e6
  report('sanitise_mte_tags per 4 KiB page (lock, zero 128 B, publish)', `${ns.toFixed(0)} ns (${frames} pages)`)
}

// KVM_ARM_MTE_COPY_TAGS FROM_GUEST over the tagged GiB.
{
  const buffer = new Uint8Array((GiB / PAGE_SIZE) * 256)
  const user = {
    copyToUser: (offset: number, tags: Uint8Array) => (buffer.set(tags, offset), tags.length),
    copyFromUser: (offset: number, tags: Uint8Array) => (tags.set(buffer.subarray(offset, offset + tags.length)), tags.length),
  }
  let start = performance.now()
  mteCopyTags(tagged.vm, { guestIpa: RAM, length: GiB, flags: 1 }, user)
  let seconds = (performance.now() - start) / 1000
  report('KVM_ARM_MTE_COPY_TAGS FROM_GUEST, 1 GiB', `${(1 / seconds).toFixed(2)} GiB of guest memory/s`)
  start = performance.now()
  mteCopyTags(tagged.vm, { guestIpa: RAM, length: GiB, flags: 0 }, user)
  seconds = (performance.now() - start) / 1000
  report('KVM_ARM_MTE_COPY_TAGS TO_GUEST, 1 GiB', `${(1 / seconds).toFixed(2)} GiB of guest memory/s`)
}
