// Prints translation throughput: TLB hits, TLB probes, and full two-stage walks.
// Figures vary with the machine; nothing here asserts on time.
import { PhysicalMemory } from '@tagvm/tag-memory'
import { ACCESS_READ, Mmu, Stage2Builder, TranslationResult } from '../src/index.js'

const MiB = 1024 * 1024
const memory = new PhysicalMemory({ size: 64 * MiB })

// Stage 2: IPA 0x4000_0000 + 32 MiB → PA 16 MiB (2 MiB blocks); tables from PA 48 MiB.
let nextTable = 48 * MiB
const s2 = new Stage2Builder(memory, {
  ipaBits: 40,
  allocTable: () => {
    const pa = nextTable
    nextTable += 4096
    return pa
  },
})
const IPA_BASE = 0x4000_0000
const PA_BASE = 16 * MiB
s2.map(IPA_BASE, PA_BASE, 32 * MiB, { read: true, write: true, exec: true, memAttr: 0b0110 })
const paOf = (ipa: number): number => ipa - IPA_BASE + PA_BASE

// Stage 1 (4 KiB, 48-bit VA): 4096 pages at VA 0x1000_0000 → IPA 0x4080_0000..; tables at IPA_BASE.
function write64(ipa: number, lo: number, hi: number): void {
  memory.write32(paOf(ipa), lo >>> 0)
  memory.write32(paOf(ipa) + 4, hi >>> 0)
}
const PAGES = 4096
const VA_BASE = 0x1000_0000
const L0 = IPA_BASE
const L1 = IPA_BASE + 0x1000
const L2 = IPA_BASE + 0x2000
const L3 = IPA_BASE + 0x3000
write64(L0 + 0 * 8, L1 | 3, 0)
write64(L1 + 0 * 8, L2 | 3, 0)
for (let p = 0; p < PAGES; p++) {
  const va = VA_BASE + p * 4096
  const l2i = (va >>> 21) & 0x1ff
  const l3Table = L3 + (l2i - ((VA_BASE >>> 21) & 0x1ff)) * 0x1000
  write64(L2 + l2i * 8, l3Table | 3, 0)
  const out = IPA_BASE + 0x80_0000 + p * 4096
  // Page, AttrIndx 0, AP=01, SH=11, AF, nG.
  write64(l3Table + ((va >>> 12) & 0x1ff) * 8, out | 3 | (1 << 6) | (3 << 8) | (1 << 10) | (1 << 11), 0)
}

const mmu = new Mmu(memory)
mmu.setMairEl1(0, 0xf0)
mmu.setTcrEl1(5 | (1 << 5) | (1 << 6), 16 | (16 << 16) | (2 << 30))
mmu.setTtbr0El1(1 << 16, L0)
mmu.setSctlrEl1(0, 1)
mmu.setVtcrEl2(s2.vtcr)
mmu.setVttbrEl2(1 << 16, s2.rootPa)
mmu.setHcrEl2(1 << 14, 1)
const out = new TranslationResult()

function measure(name: string, iterations: number, body: (n: number) => number): void {
  body(Math.min(iterations, 20_000)) // warm up
  const start = process.hrtime.bigint()
  const check = body(iterations)
  const seconds = Number(process.hrtime.bigint() - start) / 1e9
  const rate = iterations / seconds
  console.log(`${name.padEnd(44)} ${(rate / 1e6).toFixed(2).padStart(8)} M/s  (${iterations} in ${seconds.toFixed(3)} s, check ${check})`)
}

if (!mmu.walk(0, VA_BASE, ACCESS_READ, 1, false, out) || !out.tagged) throw new Error('bench setup does not translate')

measure('translate(), TLB hit (256 pages)', 10_000_000, (n) => {
  let sum = 0
  for (let i = 0; i < n; i++) {
    mmu.translate(0, VA_BASE + ((i & 255) << 12) + 8, ACCESS_READ, 1, false, out)
    sum += out.pa & 0xff
  }
  return sum
})

measure('lookupData() probe, hit (256 pages)', 20_000_000, (n) => {
  let sum = 0
  for (let i = 0; i < n; i++) sum += mmu.lookupData(0, VA_BASE + ((i & 255) << 12))
  return sum
})

const uncached = new Mmu(memory, { stage2WalkCache: false })
uncached.setMairEl1(0, 0xf0)
uncached.setTcrEl1(5 | (1 << 5) | (1 << 6), 16 | (16 << 16) | (2 << 30))
uncached.setTtbr0El1(1 << 16, L0)
uncached.setSctlrEl1(0, 1)
uncached.setVtcrEl2(s2.vtcr)
uncached.setVttbrEl2(1 << 16, s2.rootPa)
uncached.setHcrEl2(1 << 14, 1)

measure('walk(), two-stage, every descriptor read (19)', 300_000, (n) => {
  let sum = 0
  for (let i = 0; i < n; i++) {
    uncached.walk(0, VA_BASE + ((i & (PAGES - 1)) << 12), ACCESS_READ, 1, false, out)
    sum += out.pa & 0xff
  }
  return sum
})

measure('walk(), two-stage, table pages\' S2 cached (7)', 500_000, (n) => {
  let sum = 0
  for (let i = 0; i < n; i++) {
    mmu.walk(0, VA_BASE + ((i & (PAGES - 1)) << 12), ACCESS_READ, 1, false, out)
    sum += out.pa & 0xff
  }
  return sum
})

measure('translate(), TLB miss → walk + fill (4096 pages)', 500_000, (n) => {
  let sum = 0
  for (let i = 0; i < n; i++) {
    // Stride of 1025 pages defeats the 1024-entry direct-mapped TLB.
    mmu.translate(0, VA_BASE + (((i * 1025) & (PAGES - 1)) << 12), ACCESS_READ, 1, false, out)
    sum += out.pa & 0xff
  }
  return sum
})
