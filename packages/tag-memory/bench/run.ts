// Prints tag-memory throughput and overhead figures. Never part of the tests.
import { performance } from 'node:perf_hooks'
import {
  HostKernel,
  MADV_PAGEOUT,
  MAP_ANONYMOUS,
  MAP_PRIVATE,
  PAGE_SIZE,
  PROT_MTE,
  PROT_READ,
  PROT_WRITE,
  PhysicalMemory,
} from '../src/index.js'

const MiB = 2 ** 20
const GiB = 2 ** 30

function rate(count: number, ms: number): string {
  return `${((count / ms) * 1000 / 1e6).toFixed(1)} M/s`
}

function best(runs: number, body: () => void): number {
  let fastest = Infinity
  for (let i = 0; i < runs; i++) {
    const t0 = performance.now()
    body()
    fastest = Math.min(fastest, performance.now() - t0)
  }
  return fastest
}

// 1. Memory overhead (measured first, before other benchmarks allocate) on a sparse 4 GiB guest: the VMM maps 4 GiB with PROT_MTE and the
//    guest touches 10 MiB scattered over it.
{
  const before = process.memoryUsage()
  const mem = new PhysicalMemory({ size: 4 * GiB })
  const kernel = new HostKernel({ memory: mem })
  const mm = kernel.createMm()
  const ram = mm.mmap({ length: 4 * GiB, prot: PROT_READ | PROT_WRITE | PROT_MTE, flags: MAP_PRIVATE | MAP_ANONYMOUS })
  const touched = (10 * MiB) / PAGE_SIZE
  const stride = Math.floor(4 * GiB / PAGE_SIZE / touched) * PAGE_SIZE
  const one = new Uint8Array([1])
  for (let i = 0; i < touched; i++) mm.userWrite(ram + i * stride, one)
  const after = process.memoryUsage()
  const dataBytes = mem.allocatedDataBytes
  const tagBytes = mem.allocatedTagBytes
  console.log(`sparse 4 GiB guest, 10 MiB touched (${touched} pages scattered over 4 GiB):`)
  console.log(`  data chunks:   ${(dataBytes / MiB).toFixed(1)} MiB (host frames are allocated densely, whatever the guest addresses)`)
  console.log(`  tag storage:   ${(tagBytes / MiB).toFixed(3)} MiB for ${mem.framesWithTagStorage} tagged frames (${((tagBytes / (10 * MiB)) * 100).toFixed(2)} % of touched memory)`)
  console.log(`  fixed per-frame arrays: flags ${(mem.frameCount * 4) / MiB} MiB + allocator bitmap ${mem.frameCount / MiB} MiB (virtual; zero pages until used)`)
  console.log(`  ArrayBuffer memory growth: ${((after.arrayBuffers - before.arrayBuffers) / MiB).toFixed(1)} MiB, RSS growth ${((after.rss - before.rss) / MiB).toFixed(1)} MiB`)
}

// 2. Single-granule tag reads and writes over a 64 MiB tagged region.
{
  const mem = new PhysicalMemory({ size: 64 * MiB })
  for (let pfn = 0; pfn < mem.frameCount; pfn++) mem.ensureTagsInitialised(pfn)
  const granules = mem.size / 16
  const n = 4_000_000
  let seed = 12345
  const addrs = new Float64Array(n)
  for (let i = 0; i < n; i++) {
    seed = (seed * 1103515245 + 12345) >>> 0
    addrs[i] = (seed % granules) * 16
  }
  const write = best(3, () => {
    for (let i = 0; i < n; i++) mem.setTag(addrs[i] as number, i & 15)
  })
  let sum = 0
  const read = best(3, () => {
    for (let i = 0; i < n; i++) sum += mem.getTag(addrs[i] as number)
  })
  // The CPU's fast path: FrameTags kept in a TLB entry, one byte read per check.
  const ft = mem.frameTags(7, false)!
  const fast = best(3, () => {
    for (let i = 0; i < n; i++) {
      const g = i & 255
      sum += ft.tags[ft.offset + g] as number
    }
  })
  console.log(`tag write (setTag, random granules):      ${rate(n, write)} granules`)
  console.log(`tag read  (getTag, random granules):      ${rate(n, read)} granules`)
  console.log(`tag read  (frameTags fast path):          ${rate(n, fast)} granules  (checksum ${sum & 0xff})`)
  const bulk = best(3, () => mem.setTags(0, mem.size, 5))
  console.log(`tag write (setTags, 64 MiB range):        ${rate(granules, bulk)} granules`)
}

// 3. Bulk copy-out of tags for a 1 GiB tagged region (KVM_ARM_MTE_COPY_TAGS layout).
{
  const mem = new PhysicalMemory({ size: 1 * GiB })
  for (let pfn = 0; pfn < mem.frameCount; pfn++) mem.ensureTagsInitialised(pfn)
  mem.setTags(0, mem.size, 0xa)
  const out = new Uint8Array(mem.size / 16)
  const outMs = best(3, () => mem.copyTagsOut(0, mem.size, out))
  const inMs = best(3, () => mem.copyTagsIn(0, mem.size, out))
  if (out[12345] !== 0xa) throw new Error('copy-out produced wrong tags')
  console.log(`copyTagsOut 1 GiB tagged region:          ${(1 / (outMs / 1000)).toFixed(2)} GiB/s of covered memory (${outMs.toFixed(0)} ms)`)
  console.log(`copyTagsIn  1 GiB tagged region:          ${(1 / (inMs / 1000)).toFixed(2)} GiB/s of covered memory (${inMs.toFixed(0)} ms)`)
  console.log(`tag storage for 1 GiB tagged:             ${(mem.allocatedTagBytes / MiB).toFixed(2)} MiB (${((mem.allocatedTagBytes / mem.size) * 100).toFixed(2)} %)`)
}


// 5. Host kernel paths: faulting in Tagged anonymous memory, swap round trips, COW copies.
//    The first swap round trip also pays the OS for first-touching the swap device's slabs
//    and the frames the pages come back to; the second one reuses both.
{
  const mem = new PhysicalMemory({ size: 512 * MiB })
  const kernel = new HostKernel({ memory: mem })
  const mm = kernel.createMm()
  const size = 128 * MiB
  const pages = size / PAGE_SIZE
  const ram = mm.mmap({ length: size, prot: PROT_READ | PROT_WRITE | PROT_MTE, flags: MAP_PRIVATE | MAP_ANONYMOUS })
  let t0 = performance.now()
  for (let off = 0; off < size; off += PAGE_SIZE) mm.faultIn(ram + off, { write: true })
  const faultMs = performance.now() - t0
  console.log(`faultIn (write, Tagged anonymous, 128 MiB): ${((pages / faultMs) * 1000 / 1e3).toFixed(0)} K pages/s (data and tags zeroed, marked tagged)`)
  for (const round of ['first', 'second']) {
    t0 = performance.now()
    mm.madvise(ram, size, MADV_PAGEOUT)
    for (let off = 0; off < size; off += PAGE_SIZE) mm.faultIn(ram + off, { write: false })
    const swapMs = performance.now() - t0
    console.log(`swap out + in with tags, 128 MiB, ${round}:  ${((size / MiB) / (swapMs / 1000)).toFixed(0)} MiB/s`)
  }
  const child = mm.fork()
  t0 = performance.now()
  for (let off = 0; off < size; off += PAGE_SIZE) child.faultIn(ram + off, { write: true })
  const cowMs = performance.now() - t0
  console.log(`COW copy with tags after fork (128 MiB):    ${((size / MiB) / (cowMs / 1000)).toFixed(0)} MiB/s`)
}
