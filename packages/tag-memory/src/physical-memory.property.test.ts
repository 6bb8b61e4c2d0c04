import { expect, test } from 'vitest'
import fc from 'fast-check'
import { PAGE_SIZE } from './constants.js'
import { CHUNK_SIZE, PhysicalMemory } from './physical-memory.js'

// Random sequences of every PhysicalMemory write against a flat reference: one byte array
// for data, one tag per granule. The memory spans three 2 MiB chunks, so operations cross
// chunk and frame boundaries. Run unshared and shared (the two storage layouts).

const SIZE = 3 * CHUNK_SIZE
const FRAMES = SIZE / PAGE_SIZE

type Op =
  | { kind: 'w8' | 'w16' | 'w32'; at: number; value: number }
  | { kind: 'bytes'; at: number; bytes: Uint8Array }
  | { kind: 'fill'; at: number; length: number; byte: number }
  | { kind: 'tag'; at: number; tag: number }
  | { kind: 'tags'; granule: number; count: number; tag: number }
  | { kind: 'tagsIn'; granule: number; tags: Uint8Array }
  | { kind: 'copyFrame' | 'copyTags'; from: number; to: number }
  | { kind: 'clearTags'; frame: number }

// Addresses near chunk boundaries are where the bugs would be.
const addr = fc.oneof(fc.nat(SIZE - 1), fc.integer({ min: CHUNK_SIZE - 64, max: CHUNK_SIZE + 64 }))
const frame = fc.oneof(fc.nat(FRAMES - 1), fc.integer({ min: 510, max: 514 }))

const opArb: fc.Arbitrary<Op> = fc.oneof(
  fc.record({ kind: fc.constantFrom('w8' as const, 'w16' as const, 'w32' as const), at: addr, value: fc.nat(0xffffffff) }),
  fc.record({ kind: fc.constant('bytes' as const), at: addr, bytes: fc.uint8Array({ maxLength: 9000 }) }),
  fc.record({ kind: fc.constant('fill' as const), at: addr, length: fc.nat(10000), byte: fc.nat(255) }),
  fc.record({ kind: fc.constant('tag' as const), at: addr, tag: fc.nat(15) }),
  fc.record({ kind: fc.constant('tags' as const), granule: fc.nat(SIZE / 16 - 1), count: fc.nat(700), tag: fc.nat(15) }),
  fc.record({
    kind: fc.constant('tagsIn' as const),
    granule: fc.nat(SIZE / 16 - 1),
    tags: fc.uint8Array({ maxLength: 700, max: 15 }),
  }),
  fc.record({ kind: fc.constantFrom('copyFrame' as const, 'copyTags' as const), from: frame, to: frame }),
  fc.record({ kind: fc.constant('clearTags' as const), frame }),
)

function apply(mem: PhysicalMemory, data: Uint8Array, tags: Uint8Array, op: Op): void {
  switch (op.kind) {
    case 'w8':
    case 'w16':
    case 'w32': {
      const width = op.kind === 'w8' ? 1 : op.kind === 'w16' ? 2 : 4
      const at = Math.min(op.at - (op.at % width), SIZE - width)
      const value = op.value % 2 ** (8 * width)
      if (width === 1) mem.write8(at, value)
      else if (width === 2) mem.write16(at, value)
      else mem.write32(at, value)
      for (let i = 0; i < width; i++) data[at + i] = (value / 2 ** (8 * i)) & 0xff
      return
    }
    case 'bytes': {
      const bytes = op.bytes.subarray(0, SIZE - op.at)
      mem.writeBytes(op.at, bytes)
      data.set(bytes, op.at)
      return
    }
    case 'fill': {
      const length = Math.min(op.length, SIZE - op.at)
      mem.fill(op.at, length, op.byte)
      data.fill(op.byte, op.at, op.at + length)
      return
    }
    case 'tag':
      mem.setTag(op.at, op.tag)
      tags[op.at >>> 4] = op.tag
      return
    case 'tags': {
      const count = Math.min(op.count, SIZE / 16 - op.granule)
      mem.setTags(op.granule * 16, count * 16, op.tag)
      tags.fill(op.tag, op.granule, op.granule + count)
      return
    }
    case 'tagsIn': {
      const src = op.tags.subarray(0, SIZE / 16 - op.granule)
      mem.copyTagsIn(op.granule * 16, src.length * 16, src)
      tags.set(src, op.granule)
      return
    }
    case 'copyFrame':
      mem.copyFrame(op.from, op.to)
      data.copyWithin(op.to * PAGE_SIZE, op.from * PAGE_SIZE, (op.from + 1) * PAGE_SIZE)
      return
    case 'copyTags':
      mem.copyFrameTags(op.from, op.to)
      tags.copyWithin(op.to * 256, op.from * 256, (op.from + 1) * 256)
      return
    case 'clearTags':
      mem.clearFrameTags(op.frame)
      tags.fill(0, op.frame * 256, (op.frame + 1) * 256)
      return
  }
}

test.each([false, true])('shared=%s: any sequence of writes matches a flat reference', (shared) => {
  fc.assert(
    fc.property(fc.array(opArb, { maxLength: 30 }), (ops) => {
      const mem = new PhysicalMemory({ size: SIZE, shared })
      const data = new Uint8Array(SIZE)
      const tags = new Uint8Array(SIZE / 16)
      for (const op of ops) apply(mem, data, tags, op)
      const outData = new Uint8Array(SIZE)
      mem.readBytes(0, outData)
      const outTags = new Uint8Array(SIZE / 16)
      mem.copyTagsOut(0, SIZE, outTags)
      expect(Buffer.compare(outData, data)).toBe(0)
      expect(Buffer.compare(outTags, tags)).toBe(0)
      // spot checks through the single-item readers and the TLB/tag fast paths
      for (const at of [0, CHUNK_SIZE - 4, CHUNK_SIZE, SIZE - 4]) {
        expect(mem.read32(at)).toBe(new DataView(data.buffer).getUint32(at, true))
        expect(mem.getTag(at)).toBe(tags[at >>> 4])
      }
      const pfn = 512
      const fd = mem.frameData(pfn)
      expect(fd.bytes[fd.offset + 7]).toBe(data[pfn * PAGE_SIZE + 7])
      const ft = mem.frameTags(pfn, false)
      expect(ft ? ((ft.tags[ft.offset] as number)) : 0).toBe(tags[pfn * 256])
    }),
    { numRuns: 60 },
  )
})
