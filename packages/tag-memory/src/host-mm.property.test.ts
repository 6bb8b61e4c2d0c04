import { expect, test } from 'vitest'
import fc from 'fast-check'
import { PAGE_SIZE } from './constants.js'
import { HostKernel, type ThpMode } from './host-kernel.js'
import { MADV_MERGEABLE, type HostMm } from './host-mm.js'
import { MAP_ANONYMOUS, MAP_FIXED, MAP_POPULATE, MAP_PRIVATE, MAP_SHARED, PROT_MTE, PROT_READ, PROT_WRITE } from './mman.js'
import { PhysicalMemory } from './physical-memory.js'

// Random sequences of data writes, tag writes, swaps, migrations, compaction and forks
// (COW) across processes, checked after every step against a plain reference model:
// private regions are per-process byte/tag arrays, the shared memfd region is one array.

const RW = PROT_READ | PROT_WRITE

type RegionName = 'private' | 'shared' | 'untagged'
const REGIONS: RegionName[] = ['private', 'shared', 'untagged']

interface ModelRegion {
  data: Uint8Array
  tags: Uint8Array
}

interface Proc {
  mm: HostMm
  model: Record<RegionName, ModelRegion>
}

type Op =
  | { kind: 'write'; proc: number; region: number; offset: number; bytes: Uint8Array }
  | { kind: 'tags'; proc: number; region: number; granule: number; tags: Uint8Array }
  | { kind: 'swap'; proc: number; region: number; page: number }
  | { kind: 'migrate'; proc: number; region: number; page: number }
  | { kind: 'migrateFrame'; pick: number }
  | { kind: 'compact'; maxMoves: number }
  | { kind: 'fork'; proc: number }
  | { kind: 'ksm' }

function opArb(pages: number, maxProcs: number): fc.Arbitrary<Op> {
  const REGION = pages * PAGE_SIZE
  const GRANULES = REGION / 16
  const PAGES = pages
  const procArb = fc.nat(maxProcs - 1)
  return fc.oneof(
  fc.record({
    kind: fc.constant('write' as const),
    proc: procArb,
    region: fc.nat(2),
    offset: fc.nat(REGION - 1),
    bytes: fc.uint8Array({ minLength: 1, maxLength: 300 }),
  }),
  fc.record({
    kind: fc.constant('tags' as const),
    proc: procArb,
    region: fc.nat(2),
    granule: fc.nat(GRANULES - 1),
    tags: fc.uint8Array({ minLength: 1, maxLength: 40, max: 15 }),
  }),
  fc.record({ kind: fc.constant('swap' as const), proc: procArb, region: fc.nat(2), page: fc.nat(PAGES - 1) }),
  fc.record({ kind: fc.constant('migrate' as const), proc: procArb, region: fc.nat(2), page: fc.nat(PAGES - 1) }),
  fc.record({ kind: fc.constant('migrateFrame' as const), pick: fc.nat(1000) }),
  fc.record({ kind: fc.constant('compact' as const), maxMoves: fc.nat(8) }),
  fc.record({ kind: fc.constant('fork' as const), proc: procArb }),
    fc.record({ kind: fc.constant('ksm' as const) }),
  )
}

const BASE: Record<RegionName, number> = { private: 0x4000_0000, shared: 0x5000_0000, untagged: 0x6000_0000 }

function check(procs: Proc[], REGION: number): void {
  const GRANULES = REGION / 16
  const data = new Uint8Array(REGION)
  const tags = new Uint8Array(GRANULES)
  for (const [i, proc] of procs.entries()) {
    for (const region of REGIONS) {
      proc.mm.userRead(BASE[region], data, { tag: 0 })
      proc.mm.userReadTags(BASE[region], REGION, tags)
      const model = proc.model[region]
      const badByte = Buffer.compare(data, model.data) === 0 ? -1 : data.findIndex((b, at) => b !== model.data[at])
      const badTag = Buffer.compare(tags, model.tags) === 0 ? -1 : tags.findIndex((t, at) => t !== model.tags[at])
      expect({ proc: i, region, badByte, badTag }).toEqual({ proc: i, region, badByte: -1, badTag: -1 })
    }
  }
}

interface ModelConfig {
  /** Pages in each region. */
  pages: number
  memory: number
  thp: ThpMode
  maxProcs: number
  runs: number
  maxOps: number
}

function modelTest(config: ModelConfig): void {
  const REGION = config.pages * PAGE_SIZE
  const GRANULES = REGION / 16
  fc.assert(
    fc.property(fc.array(opArb(config.pages, config.maxProcs), { minLength: 1, maxLength: config.maxOps }), (ops) => {
      const memory = new PhysicalMemory({ size: config.memory })
      const kernel = new HostKernel({ memory, transparentHugepages: config.thp })
      // Dirty every frame first: stale data and tags must never show through.
      memory.fill(0, memory.size, 0xa5)
      memory.setTags(0, memory.size, 0xc)
      const mm = kernel.createMm()
      const fixed = MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED
      // Populated by write faults, so with huge pages on the region starts as one.
      mm.mmap({ addr: BASE.private, length: REGION, prot: RW | PROT_MTE, flags: fixed | MAP_POPULATE })
      if (config.thp === 'always') expect(mm.faultIn(BASE.private, { write: false }).hostPageSize).toBe(2 * 1024 * 1024)
      mm.mmap({ addr: BASE.untagged, length: REGION, prot: RW, flags: fixed })
      mm.madvise(BASE.untagged, REGION, MADV_MERGEABLE)
      mm.madvise(BASE.private, REGION, MADV_MERGEABLE) // tagged: KSM must leave it alone
      const memfd = kernel.memfdCreate('ram', REGION)
      mm.mmap({ addr: BASE.shared, length: REGION, prot: RW | PROT_MTE, flags: MAP_SHARED | MAP_FIXED, file: memfd })
      const shared: ModelRegion = { data: new Uint8Array(REGION), tags: new Uint8Array(GRANULES) }
      const procs: Proc[] = [
        {
          mm,
          model: {
            private: { data: new Uint8Array(REGION), tags: new Uint8Array(GRANULES) },
            shared,
            // an Untagged mapping reads tags as zero whatever is written
            untagged: { data: new Uint8Array(REGION), tags: new Uint8Array(GRANULES) },
          },
        },
      ]
      for (const op of ops) {
        if (op.kind === 'ksm') {
          kernel.ksmScan()
          check(procs, REGION)
          continue
        }
        if (op.kind === 'migrateFrame') {
          const frames = kernel.userFrames()
          if (frames.length > 0 && kernel.freeFrames > 0) kernel.migrateFrame(frames[op.pick % frames.length] as number)
          check(procs, REGION)
          continue
        }
        if (op.kind === 'compact') {
          // Scatter some pages to the top of memory first so there is something to compact.
          for (const pfn of kernel.userFrames().slice(0, 3)) {
            let top = memory.frameCount - 1
            while (top > 0 && kernel.isFrameInUse(top)) top--
            if (top > pfn) kernel.migrateFrame(pfn, top)
          }
          kernel.compact(op.maxMoves === 0 ? Infinity : op.maxMoves)
          check(procs, REGION)
          continue
        }
        const proc = procs[op.proc % procs.length] as Proc
        if (op.kind === 'fork') {
          if (procs.length < config.maxProcs) {
            const copy = (r: ModelRegion): ModelRegion => ({ data: r.data.slice(), tags: r.tags.slice() })
            procs.push({
              mm: proc.mm.fork(),
              model: { private: copy(proc.model.private), shared, untagged: copy(proc.model.untagged) },
            })
          }
          check(procs, REGION)
          continue
        }
        const region = REGIONS[op.region] as RegionName
        const base = BASE[region]
        const model = proc.model[region]
        switch (op.kind) {
          case 'write': {
            const bytes = op.bytes.subarray(0, REGION - op.offset)
            proc.mm.userWrite(base + op.offset, bytes)
            model.data.set(bytes, op.offset)
            break
          }
          case 'tags': {
            const tags = op.tags.subarray(0, GRANULES - op.granule)
            proc.mm.userWriteTags(base + op.granule * 16, tags)
            if (region !== 'untagged') model.tags.set(tags, op.granule)
            break
          }
          case 'swap':
            if (proc.mm.residentFrame(base + op.page * PAGE_SIZE) !== null) proc.mm.swapOut(base + op.page * PAGE_SIZE)
            break
          case 'migrate': {
            const pfn = proc.mm.residentFrame(base + op.page * PAGE_SIZE)
            if (pfn !== null && pfn !== kernel.zeroPfn) proc.mm.migrate(base + op.page * PAGE_SIZE)
            break
          }
        }
        check(procs, REGION)
      }
      // Every frame is given back when the processes exit.
      for (const p of procs) p.mm.exit()
      const memfdFrames = kernel.userFrames().length
      expect(memfdFrames).toBeLessThanOrEqual(config.pages)
      const zeroFrames = kernel.zeroPfn === null ? 0 : 1
      expect(kernel.freeFrames + memfdFrames + zeroFrames).toBe(memory.frameCount)
    }),
    { numRuns: config.runs },
  )
}

test('writes, tag writes, swaps, migrations and COW never lose or corrupt a byte or a tag', () => {
  modelTest({ pages: 4, memory: 2 * 1024 * 1024, thp: 'never', maxProcs: 4, runs: 150, maxOps: 40 })
})

test('the same holds over transparent huge pages (splits on swap, migration, COW, compaction)', () => {
  modelTest({ pages: 512, memory: 16 * 1024 * 1024, thp: 'always', maxProcs: 2, runs: 25, maxOps: 25 })
})
