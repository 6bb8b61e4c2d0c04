import { describe, expect, it, test } from 'vitest'
import fc from 'fast-check'
import { GRANULES_PER_PAGE, PAGE_SIZE, TAG_STORAGE_BYTES_PER_PAGE } from './constants.js'
import { CHUNK_SIZE, PhysicalMemory, type WasmMemory } from './physical-memory.js'

const MiB = 1024 * 1024
const GiB = 1024 * MiB

describe('PhysicalMemory data', () => {
  test('a 4 GiB memory allocates only the chunks that are touched', () => {
    const mem = new PhysicalMemory({ size: 4 * GiB })
    expect(mem.frameCount).toBe(1024 * 1024)
    expect(mem.read32(3 * GiB + 0x1000)).toBe(0)
    expect(mem.allocatedDataBytes).toBe(0)
    for (let i = 0; i < 5; i++) mem.write8(i * 512 * MiB + 7, 0xab)
    expect(mem.allocatedDataBytes).toBe(5 * CHUNK_SIZE)
    expect(mem.read8(2 * GiB + 7)).toBe(0xab)
    expect(mem.allocatedTagBytes).toBe(0)
  })

  test('a zero fill clears every frame written or handed out as a view, however it was written', () => {
    // A zero fill leaves out frames that cannot hold anything but zeros (a new chunk's frames
    // never written nor handed out); the rest must read zero after it, whoever wrote them.
    const Wasm = (globalThis as unknown as { WebAssembly: { Memory: new (d: { initial: number; maximum: number; shared: boolean }) => WasmMemory } }).WebAssembly
    for (const memory of [new PhysicalMemory({ size: 8 * MiB }), new PhysicalMemory({ size: 8 * MiB, wasmMemory: new Wasm.Memory({ initial: 1, maximum: 512, shared: true }) })]) {
      const frames = 24
      const writers: ((pfn: number) => void)[] = [
        (pfn) => memory.write8(pfn * PAGE_SIZE + 1, 0x11),
        (pfn) => memory.write16(pfn * PAGE_SIZE + 2, 0x2222),
        (pfn) => memory.write32(pfn * PAGE_SIZE + 4, 0x33333333),
        (pfn) => memory.writeBytes(pfn * PAGE_SIZE + 4090, new Uint8Array(12).fill(0x44)), // into the next frame
        (pfn) => memory.fill(pfn * PAGE_SIZE + 8, 100, 0x55),
        (pfn) => memory.copyFrame(0, pfn),
        // a CPU's direct view: frameData, then a store through the view it keeps
        (pfn) => {
          const { bytes, offset } = memory.frameData(pfn)
          bytes[offset + 4095] = 0x66
        },
      ]
      // the compiled tier's view: a store into the WebAssembly.Memory at wasmOffset
      const wasm = memory.wasmMemory
      if (wasm !== null) writers.push((pfn) => void (new Uint8Array(wasm.buffer)[memory.wasmOffset(pfn) + 100] = 0x99))
      memory.write8(0, 0x77) // frame 0: the source of copyFrame
      for (let pfn = 1; pfn < frames; pfn++) (writers[pfn % writers.length] as (pfn: number) => void)(pfn)
      const seen = new Uint8Array(frames * PAGE_SIZE)
      memory.readBytes(0, seen)
      expect(seen.some((byte) => byte !== 0)).toBe(true)
      // Zero the frames in pieces that start and end inside frames, and whole.
      memory.fill(PAGE_SIZE + 3, 5 * PAGE_SIZE, 0)
      memory.fill(0, frames * PAGE_SIZE, 0)
      memory.readBytes(0, seen)
      expect(seen.findIndex((byte) => byte !== 0)).toBe(-1)
      // Written again after the fill: the fill did not forget the frames.
      const { bytes, offset } = memory.frameData(9)
      bytes[offset] = 0x88
      memory.fill(9 * PAGE_SIZE, PAGE_SIZE, 0)
      expect(memory.read8(9 * PAGE_SIZE)).toBe(0)
    }
  })

  test('the largest memory, 1 TiB, works up to its last byte', () => {
    const mem = new PhysicalMemory({ size: 1024 * GiB })
    const top = mem.size - 16
    mem.write32(top + 12, 0xfeedc0de)
    mem.setTag(top, 0xe)
    expect(mem.ensureTagsInitialised(mem.frameCount - 1)).toBe(true) // cleans the tag just set
    mem.setTag(top, 0x3)
    expect([mem.read32(top + 12), mem.getTag(top + 15), mem.isTagged(mem.frameCount - 1)]).toEqual([0xfeedc0de, 3, true])
    expect(mem.allocatedDataBytes).toBe(CHUNK_SIZE)
    expect(() => mem.read8(mem.size)).toThrow(RangeError)
  })

  test('little-endian widths, above 4 GiB too', () => {
    const mem = new PhysicalMemory({ size: 8 * GiB })
    const pa = 5 * GiB + 0x1230
    mem.write32(pa, 0xdeadbeef)
    expect(mem.read8(pa)).toBe(0xef)
    expect(mem.read16(pa + 2)).toBe(0xdead)
    expect(mem.read32(pa)).toBe(0xdeadbeef)
    mem.write16(pa + 4, 0x1234)
    const out = new Uint8Array(8)
    mem.readBytes(pa, out)
    expect([...out]).toEqual([0xef, 0xbe, 0xad, 0xde, 0x34, 0x12, 0, 0])
  })

  test('bulk reads, writes and fills cross frame and chunk boundaries', () => {
    const mem = new PhysicalMemory({ size: 8 * MiB })
    const src = Uint8Array.from({ length: 3 * PAGE_SIZE + 5 }, (_, i) => (i * 7) & 0xff)
    const pa = CHUNK_SIZE - PAGE_SIZE - 3
    mem.writeBytes(pa, src)
    const back = new Uint8Array(src.length)
    mem.readBytes(pa, back)
    expect(back).toEqual(src)
    mem.fill(CHUNK_SIZE - 2, 4, 0x5a)
    expect(mem.read32(CHUNK_SIZE - 4) >>> 16).toBe(0x5a5a)
    expect(mem.read16(CHUNK_SIZE)).toBe(0x5a5a)
  })

  test('frameData exposes the backing chunk for a TLB', () => {
    const mem = new PhysicalMemory({ size: 8 * MiB })
    const pfn = 513 // second frame of the second chunk
    const frame = mem.frameData(pfn)
    expect(frame.offset).toBe(PAGE_SIZE)
    frame.view.setUint32(frame.offset + 8, 0xcafef00d, true)
    expect(mem.read32(pfn * PAGE_SIZE + 8)).toBe(0xcafef00d)
    mem.write32(pfn * PAGE_SIZE + 12, 0x11223344)
    expect(frame.view.getUint32(frame.offset + 12, true)).toBe(0x11223344)
  })

  test('shared memory uses SharedArrayBuffer', () => {
    const mem = new PhysicalMemory({ size: 4 * MiB, shared: true })
    expect(mem.frameData(0).bytes.buffer).toBeInstanceOf(SharedArrayBuffer)
    mem.setTag(0, 3)
    expect(mem.frameTags(0, false)?.tags.buffer).toBeInstanceOf(SharedArrayBuffer)
  })

  test('bad sizes, addresses, alignments and values are RangeErrors that change nothing', () => {
    for (const size of [0, 100, 4097, 2 ** 41, -4096, 1.5 * 4096]) {
      expect(() => new PhysicalMemory({ size })).toThrow(RangeError)
    }
    const mem = new PhysicalMemory({ size: 1 * MiB })
    expect(() => mem.read32(2)).toThrow(RangeError)
    expect(() => mem.read16(1)).toThrow(RangeError)
    expect(() => mem.read8(MiB)).toThrow(RangeError)
    expect(() => mem.read8(-1)).toThrow(RangeError)
    expect(() => mem.read8(Number.NaN)).toThrow(RangeError)
    expect(() => mem.read8(0.5)).toThrow(RangeError)
    expect(() => mem.write8(0, 256)).toThrow(RangeError)
    expect(() => mem.write32(0, 2 ** 32)).toThrow(RangeError)
    expect(() => mem.write32(0, -(2 ** 31) - 1)).toThrow(RangeError)
    expect(() => mem.write16(0, 0x10000)).toThrow(RangeError)
    expect(() => mem.write8(0, -129)).toThrow(RangeError)
    expect(() => mem.fill(0, 4, -1)).toThrow(RangeError)
    expect(() => mem.writeBytes(MiB - 2, new Uint8Array(4).fill(1))).toThrow(RangeError)
    expect(() => mem.fill(MiB - 2, 4, 1)).toThrow(RangeError)
    expect(() => mem.frameData(256)).toThrow(RangeError)
    expect(mem.read16(MiB - 2)).toBe(0)
    expect(mem.allocatedDataBytes).toBe(0)
    // int32 values (register halves) are stored as their unsigned 32-bit pattern
    mem.write32(8, -1)
    mem.write16(12, -2)
    mem.write8(14, -128)
    expect([mem.read32(8), mem.read16(12), mem.read8(14)]).toEqual([0xffffffff, 0xfffe, 0x80])
  })
})

describe('PhysicalMemory allocation tags', () => {
  test('every granule reads 0 until written; storage only for frames given tags', () => {
    const mem = new PhysicalMemory({ size: 4 * GiB })
    expect(mem.getTag(3 * GiB + 17)).toBe(0)
    mem.setTag(3 * GiB + 0x20, 0) // writing 0 to an untagged frame needs no storage
    expect(mem.framesWithTagStorage).toBe(0)
    mem.setTag(3 * GiB + 0x25, 9) // any byte in the granule names it
    expect(mem.getTag(3 * GiB + 0x2f)).toBe(9)
    expect(mem.getTag(3 * GiB + 0x30)).toBe(0)
    expect(mem.getTag(3 * GiB + 0x10)).toBe(0)
    expect(mem.framesWithTagStorage).toBe(1)
    // tags do not allocate data
    expect(mem.allocatedDataBytes).toBe(0)
  })

  test('frameTags matches getTag: one byte per granule', () => {
    const mem = new PhysicalMemory({ size: 16 * MiB })
    expect(mem.frameTags(700, false)).toBeNull()
    const pa = 700 * PAGE_SIZE
    mem.setTags(pa + 0x30, 0x50, 0xc)
    const tags = mem.frameTags(700, false)
    expect(tags).not.toBeNull()
    for (let g = 0; g < GRANULES_PER_PAGE; g++) {
      const expected = g >= 3 && g < 8 ? 0xc : 0
      expect(tags!.tags[tags!.offset + g]).toBe(expected)
      expect(mem.getTag(pa + g * 16)).toBe(expected)
    }
  })

  test('setTags across frames, with odd and even edges', () => {
    fc.assert(
      fc.property(fc.nat(2 * GRANULES_PER_PAGE), fc.nat(2 * GRANULES_PER_PAGE), fc.nat(15), (start, count, tag) => {
        const mem = new PhysicalMemory({ size: 4 * PAGE_SIZE })
        mem.setTags(0, 4 * PAGE_SIZE, 0x5)
        mem.setTags(start * 16, count * 16, tag)
        for (let g = 0; g < 4 * GRANULES_PER_PAGE; g++) {
          expect(mem.getTag(g * 16)).toBe(g >= start && g < start + count ? tag : 5)
        }
      }),
      { numRuns: 60 },
    )
  })

  test('copyTagsOut / copyTagsIn use one tag per byte and round-trip', () => {
    fc.assert(
      fc.property(
        fc.nat(2 * GRANULES_PER_PAGE),
        fc.uint8Array({ minLength: 0, maxLength: 3 * GRANULES_PER_PAGE }).map((a) => a.map((b) => b & 15)),
        fc.nat(5),
        (start, tags, dstOffset) => {
          const mem = new PhysicalMemory({ size: 6 * PAGE_SIZE })
          mem.copyTagsIn(start * 16, tags.length * 16, tags)
          // a view at an odd or even byteOffset into a larger buffer
          const out = new Uint8Array(new ArrayBuffer(tags.length + dstOffset + 5), dstOffset % 3, tags.length + dstOffset + 2)
          out.fill(0xee)
          mem.copyTagsOut(start * 16, tags.length * 16, out, dstOffset)
          expect(out.subarray(dstOffset, dstOffset + tags.length)).toEqual(tags)
          expect(out[dstOffset + tags.length]).toBe(0xee)
          for (let i = 0; i < tags.length; i++) expect(mem.getTag((start + i) * 16)).toBe(tags[i])
        },
      ),
      { numRuns: 60 },
    )
  })

  test('copyTagsIn rejects a byte above 15 without applying anything', () => {
    const mem = new PhysicalMemory({ size: 1 * MiB })
    mem.setTags(0, PAGE_SIZE, 7)
    const src = new Uint8Array(2 * GRANULES_PER_PAGE).fill(3)
    src[300] = 0x13
    expect(() => mem.copyTagsIn(0, 2 * PAGE_SIZE, src)).toThrow(RangeError)
    expect(mem.getTag(0)).toBe(7)
    expect(mem.getTag(PAGE_SIZE)).toBe(0)
    expect(mem.framesWithTagStorage).toBe(1)
  })

  test('tag ranges must be granule aligned, tags 0..15, buffers large enough', () => {
    const mem = new PhysicalMemory({ size: 1 * MiB })
    expect(() => mem.setTags(8, 16, 1)).toThrow(RangeError)
    expect(() => mem.setTags(0, 24, 1)).toThrow(RangeError)
    expect(() => mem.setTags(0, 16, 16)).toThrow(RangeError)
    expect(() => mem.setTag(0, -1)).toThrow(RangeError)
    expect(() => mem.setTags(MiB - 16, 32, 1)).toThrow(RangeError)
    expect(() => mem.copyTagsOut(0, PAGE_SIZE, new Uint8Array(255))).toThrow(RangeError)
    expect(() => mem.copyTagsIn(0, PAGE_SIZE, new Uint8Array(256), 1)).toThrow(RangeError)
    expect(mem.framesWithTagStorage).toBe(0)
  })

  test('copyFrame moves data only; copyFrameTags moves tags; clearFrameTags zeroes', () => {
    const mem = new PhysicalMemory({ size: 8 * MiB })
    mem.fill(10 * PAGE_SIZE, PAGE_SIZE, 0x42)
    mem.setTags(10 * PAGE_SIZE, PAGE_SIZE, 0xa)
    mem.setTags(1000 * PAGE_SIZE, PAGE_SIZE, 0x3)
    mem.copyFrame(10, 1000)
    expect(mem.read8(1000 * PAGE_SIZE + 4095)).toBe(0x42)
    expect(mem.getTag(1000 * PAGE_SIZE)).toBe(3)
    mem.copyFrameTags(10, 1000)
    expect(mem.getTag(1000 * PAGE_SIZE + 4080)).toBe(0xa)
    mem.clearFrameTags(1000)
    expect(mem.getTag(1000 * PAGE_SIZE + 4080)).toBe(0)
    expect(mem.getTag(10 * PAGE_SIZE)).toBe(0xa)
    // copying an untouched frame zeroes the destination
    mem.copyFrame(2000, 10)
    expect(mem.read8(10 * PAGE_SIZE)).toBe(0)
  })

  test('tag storage is 1/16 of tagged memory', () => {
    const mem = new PhysicalMemory({ size: 64 * MiB })
    for (let pfn = 0; pfn < 4096; pfn += 4) mem.setTagged(pfn)
    expect(mem.framesWithTagStorage).toBe(1024)
    // 1024 frames * 256 bytes, in 128 KiB slabs, plus 2 KiB slot indexes per touched chunk
    expect(mem.allocatedTagBytes).toBe(2 * 512 * TAG_STORAGE_BYTES_PER_PAGE + 8 * 2048)
  })
})

describe('PhysicalMemory tag flags', () => {
  test('tryLockTags / setTagged / ensureTagsInitialised clean once and only once', () => {
    const mem = new PhysicalMemory({ size: 1 * MiB })
    mem.setTags(5 * PAGE_SIZE, PAGE_SIZE, 0xf) // stale tags from an earlier owner
    expect(mem.isTagged(5)).toBe(false)
    expect(mem.tryLockTags(5)).toBe(true)
    expect(mem.tryLockTags(5)).toBe(false) // someone else holds it
    expect(() => mem.waitTagged(5)).toThrow(/lock is held/)
    mem.clearFrameTags(5)
    mem.setTagged(5)
    expect(mem.isTagged(5)).toBe(true)
    expect(mem.tryLockTags(5)).toBe(false)
    mem.waitTagged(5)
    mem.setTag(5 * PAGE_SIZE, 4)
    expect(mem.ensureTagsInitialised(5)).toBe(false) // already valid: not cleaned again
    expect(mem.getTag(5 * PAGE_SIZE)).toBe(4)
    mem.setTags(6 * PAGE_SIZE, PAGE_SIZE, 0x9)
    expect(mem.ensureTagsInitialised(6)).toBe(true)
    expect(mem.getTag(6 * PAGE_SIZE + 160)).toBe(0)
    expect(mem.ensureTagsInitialised(6)).toBe(false)
  })

  test('freeing a frame forgets tagged but the stale tags stay in the frame', () => {
    const mem = new PhysicalMemory({ size: 1 * MiB })
    mem.ensureTagsInitialised(3)
    mem.setTag(3 * PAGE_SIZE, 0xb)
    mem.resetTagFlags(3)
    expect(mem.isTagged(3)).toBe(false)
    expect(mem.getTag(3 * PAGE_SIZE)).toBe(0xb)
    expect(mem.tryLockTags(3)).toBe(true)
    expect(() => mem.resetTagFlags(3)).toThrow(RangeError)
  })

  test('a setTagged frame always has tag storage for the fast path', () => {
    const mem = new PhysicalMemory({ size: 1 * MiB })
    mem.setTagged(9)
    const tags = mem.frameTags(9, false)
    expect(tags).not.toBeNull()
    expect(tags!.tags[tags!.offset]).toBe(0)
  })

  test('shared memory: Atomics.wait returns once the frame is tagged', () => {
    const mem = new PhysicalMemory({ size: 1 * MiB, shared: true })
    mem.setTagged(2)
    mem.waitTagged(2)
    expect(mem.isTagged(2)).toBe(true)
  })
})

describe('PhysicalMemory code frames', () => {
  test('a write to a frame marked as code invalidates its decoded code once; tag writes do not', () => {
    const mem = new PhysicalMemory({ size: 8 * MiB })
    const writes = (): number => mem.codeEpochs[0]!
    const g3 = mem.markCode(3)
    const g600 = mem.markCode(600)
    mem.write32(2 * PAGE_SIZE, 1) // not code
    mem.setTag(3 * PAGE_SIZE, 5) // tags are not code
    expect([writes(), mem.holdsCode(3), mem.codeGeneration(3)]).toEqual([0, true, g3])
    mem.write8(3 * PAGE_SIZE + 100, 1)
    mem.write8(3 * PAGE_SIZE + 101, 1)
    expect([writes(), mem.holdsCode(3), mem.codeGeneration(3)]).toEqual([1, false, g3 + 1])
    mem.writeBytes(599 * PAGE_SIZE + 4000, new Uint8Array(200))
    expect([writes(), mem.codeGeneration(600)]).toEqual([2, g600 + 1])
    mem.markCode(7)
    mem.copyFrame(1, 7)
    mem.markCode(8)
    mem.fill(8 * PAGE_SIZE, 16, 0)
    mem.markCode(9)
    mem.write16(9 * PAGE_SIZE, 2)
    mem.markCode(10)
    mem.write32(10 * PAGE_SIZE, 2)
    expect(writes()).toBe(6)
    expect([7, 8, 9, 10].map((pfn) => mem.holdsCode(pfn))).toEqual([false, false, false, false])
    // What a CPU reports (its own store to code, IC IVAU): the epoch it moved from, or -1.
    expect(mem.invalidateCodeFrame(11)).toBe(-1)
    mem.markCode(11)
    expect(mem.invalidateCodeFrame(11)).toBe(6)
    expect(mem.codeGeneration(11)).toBe(1)
    // IC IALLUIS
    mem.invalidateAllCode()
    expect([...mem.codeEpochs]).toEqual([7, 1])
    expect(() => mem.markCode(mem.frameCount)).toThrow(RangeError)
  })
})

describe('PhysicalMemory in a WebAssembly.Memory', () => {
  const Wasm = (globalThis as unknown as { WebAssembly: { Memory: new (d: { initial: number; maximum: number; shared: boolean }) => WasmMemory } }).WebAssembly

  it('puts data and tags in the given memory, at the offsets wasmOffset reports', () => {
    const wasm = new Wasm.Memory({ initial: 1, maximum: 1024, shared: true })
    const memory = new PhysicalMemory({ size: 8 << 20, wasmMemory: wasm })
    memory.write32(0x30_0004, 0xdeadbeef)
    memory.setTag(0x30_0010, 7)
    const data = memory.wasmOffset(0x300)
    const tags = memory.wasmOffset(0x300, true)
    expect(data).toBeGreaterThanOrEqual(65536) // page 0 was there before: never handed out
    const view = new DataView(wasm.buffer)
    expect(view.getUint32(data + 4, true)).toBe(0xdeadbeef)
    expect(new Uint8Array(wasm.buffer)[tags + 1]).toBe(7) // granule 1: one byte per granule
    expect(tags % 256).toBe(0) // the compiled tier folds the page's VA into the offset's low bits
    // Writes through the wasm memory are what the memory reads.
    view.setUint32(data + 8, 0x12345678, true)
    expect(memory.read32(0x30_0008)).toBe(0x12345678)
    expect(memory.wasmOffset(0x300)).toBe(data)
    expect(memory.wasmOffset(-1)).toBe(-1)
    expect(new PhysicalMemory({ size: 1 << 20 }).wasmOffset(0)).toBe(-1)
  })

  it('refuses an unshared wasm memory, and shared mode together with it', () => {
    const shared = new Wasm.Memory({ initial: 1, maximum: 4, shared: true })
    expect(() => new PhysicalMemory({ size: 1 << 20, wasmMemory: shared, shared: true })).toThrow(/cannot be combined/)
    const plain = { buffer: new ArrayBuffer(65536), grow: () => 1 }
    expect(() => new PhysicalMemory({ size: 1 << 20, wasmMemory: plain })).toThrow(/shared WebAssembly.Memory/)
  })

  it('says clearly when the wasm memory cannot grow', () => {
    const small = new Wasm.Memory({ initial: 1, maximum: 2, shared: true })
    const memory = new PhysicalMemory({ size: 8 << 20, wasmMemory: small })
    expect(() => memory.write8(0, 1)).toThrow(/cannot grow the WebAssembly.Memory/)
  })
})

test('fill with zero on shared memory (copied from a zero buffer there) clears exactly its range, across chunks', () => {
  const memory = new PhysicalMemory({ size: 8 * 1024 * 1024, shared: true })
  const ones = new Uint8Array(3 * 1024 * 1024).fill(0xff)
  memory.writeBytes(1024 * 1024, ones)
  // From inside one 2 MiB chunk into the next, not a multiple of the zero buffer's 64 KiB.
  const from = 1024 * 1024 + 4095
  const length = 2 * 1024 * 1024 + 70_001
  memory.fill(from, length, 0)
  const back = new Uint8Array(ones.length)
  memory.readBytes(1024 * 1024, back)
  const cleared = (i: number): boolean => i >= from - 1024 * 1024 && i < from - 1024 * 1024 + length
  let wrong = -1
  for (let i = 0; i < back.length && wrong < 0; i++) if (back[i] !== (cleared(i) ? 0 : 0xff)) wrong = i
  expect(wrong).toBe(-1)
  memory.fill(from, 16, 7)
  expect(memory.read8(from + 15)).toBe(7)
})
