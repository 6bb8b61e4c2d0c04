import { describe, expect, test } from 'vitest'
import { existsSync, readFileSync, readdirSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import fc from 'fast-check'
import { FileFormatError } from '../errors.js'
import {
  SparseRam,
  arm64ImageLayout,
  elfDtbAddress,
  isArm64Image,
  loadArm64Image,
  loadElf,
  loadRaw,
  parseArm64ImageHeader,
  parseElf64,
} from './index.js'

const guestsDir = fileURLToPath(new URL('../../../../guests/', import.meta.url))
// Every guests/<name>/<name>.elf, and the generated ones in guests/fpsimd/<name>/.
const guestElfs = [guestsDir, `${guestsDir}fpsimd/`].flatMap((dir) =>
  readdirSync(dir, { withFileTypes: true })
    .filter((d) => d.isDirectory() && existsSync(`${dir}${d.name}/${d.name}.elf`))
    .map((d) => `${dir}${d.name}/${d.name}.elf`),
)
const RAM = 0x4000_0000
const MiB = 1024 * 1024

function ram(size = 128 * MiB): SparseRam {
  return new SparseRam(RAM, size)
}

describe('ELF loader on the committed guests', () => {
  test('every guest loads at 0x40000000 with its PT_LOAD bytes in place and .bss zeroed', () => {
    expect(guestElfs.length).toBeGreaterThanOrEqual(13)
    for (const path of guestElfs) {
      const bytes = new Uint8Array(readFileSync(path))
      const target = ram()
      const loaded = loadElf(target, bytes, path)
      expect(loaded.entry).toBe(RAM)
      expect(loaded.lowAddr).toBe(RAM)
      const elf = parseElf64(bytes, path)
      for (const seg of elf.segments.filter((s) => s.type === 1 && s.memsz > 0)) {
        expect(target.read(seg.paddr, seg.filesz)).toEqual(bytes.subarray(seg.offset, seg.offset + seg.filesz))
        expect(target.read(seg.paddr + seg.filesz, seg.memsz - seg.filesz).every((b) => b === 0)).toBe(true)
      }
    }
  })

  test('hello.elf: the segments, sections and symbols readelf shows', () => {
    const path = `${guestsDir}hello/hello.elf`
    const elf = parseElf64(new Uint8Array(readFileSync(path)), path)
    const loads = elf.segments.filter((s) => s.type === 1)
    expect(loads.map((s) => [s.paddr, s.filesz, s.memsz])).toEqual([
      [0x4000_0000, 0x1b8c, 0x1b8c],
      [0x4000_1b90, 0xc3, 0xc3],
      [0x4000_2000, 0, 0x33000],
    ])
    expect(elf.sections.map((s) => s.name)).toEqual(['', '.text', '.rodata', '.bss', '.symtab', '.shstrtab', '.strtab'])
    expect(elf.symbols).toContainEqual(expect.objectContaining({ name: 'set_range', value: 0x4000_1800, size: 532, type: 2 }))
  })
})

/** A minimal valid ELF64 AArch64 executable with one PT_LOAD (8 file bytes, 32 in memory). */
function tinyElf(paddr = RAM + 0x1000): Uint8Array {
  const b = new Uint8Array(64 + 56 + 8)
  const v = new DataView(b.buffer)
  b.set([0x7f, 0x45, 0x4c, 0x46, 2, 1, 1])
  v.setUint16(16, 2, true)
  v.setUint16(18, 183, true)
  v.setUint32(20, 1, true)
  v.setBigUint64(24, BigInt(paddr), true)
  v.setBigUint64(32, 64n, true)
  v.setUint16(52, 64, true)
  v.setUint16(54, 56, true)
  v.setUint16(56, 1, true)
  v.setUint32(64, 1, true)
  v.setUint32(68, 5, true)
  v.setBigUint64(72, 120n, true)
  v.setBigUint64(80, BigInt(paddr), true)
  v.setBigUint64(88, BigInt(paddr), true)
  v.setBigUint64(96, 8n, true)
  v.setBigUint64(104, 32n, true)
  b.set([1, 2, 3, 4, 5, 6, 7, 8], 120)
  return b
}

describe('ELF loader errors', () => {
  test('a crafted ELF loads with filesz < memsz zero-filled', () => {
    const target = ram()
    target.write(RAM + 0x1000, new Uint8Array(32).fill(0xee))
    expect(loadElf(target, tinyElf(), 'tiny.elf')).toEqual({ entry: RAM + 0x1000, lowAddr: RAM + 0x1000, highAddr: RAM + 0x1020 })
    expect([...target.read(RAM + 0x1000, 12)]).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 0, 0, 0, 0])
  })

  const cases: [string, (b: Uint8Array, v: DataView) => Uint8Array | void, RegExp][] = [
    ['bad magic', (b) => void (b[1] = 0x46), /bad\.elf: at offset 0 .*bad magic/],
    ['32-bit class', (b) => void (b[4] = 1), /offset 4 .*ELFCLASS64/],
    ['big-endian', (b) => void (b[5] = 2), /offset 5 .*little-endian/],
    ['x86-64 machine', (_b, v) => v.setUint16(18, 62, true), /offset 18 .*e_machine is 62, expected 183/],
    ['relocatable object', (_b, v) => v.setUint16(16, 1, true), /offset 16 .*ET_EXEC/],
    ['truncated header', (b) => b.subarray(0, 40), /truncated: the ELF header needs 64 bytes/],
    ['truncated program headers', (b) => b.subarray(0, 100), /truncated: 1 program headers/],
    ['truncated segment data', (b) => b.subarray(0, 124), /truncated: segment 0's 8 file bytes/],
    ['filesz > memsz', (_b, v) => v.setBigUint64(96, 64n, true), /offset 96 .*p_filesz 0x40 exceeds p_memsz 0x20/],
    ['segment below RAM', (_b, v) => v.setBigUint64(88, 0x1000n, true), /offset 88 .*segment \[0x1000, 0x1020\) is outside RAM/],
    ['segment past RAM', (_b, v) => v.setBigUint64(88, BigInt(RAM + 128 * MiB - 16), true), /is outside RAM \[0x40000000, 0x48000000\)/],
  ]
  test.each(cases)('%s: clear error, nothing written', (_name, mutate, message) => {
    const good = tinyElf()
    const copy = good.slice()
    const result = mutate(copy, new DataView(copy.buffer)) ?? copy
    const target = ram()
    expect(() => loadElf(target, result, 'bad.elf')).toThrow(FileFormatError)
    expect(() => loadElf(target, result, 'bad.elf')).toThrow(message)
    expect(target.touchedPages()).toEqual([])
  })

  test('any truncation of a guest ELF is refused or loads what is there, never throws anything but FileFormatError', () => {
    const bytes = new Uint8Array(readFileSync(`${guestsDir}hello/hello.elf`))
    fc.assert(
      fc.property(fc.integer({ min: 0, max: bytes.length - 1 }), (cut) => {
        try {
          loadElf(ram(), bytes.subarray(0, cut), 'cut.elf')
        } catch (e) {
          expect(e).toBeInstanceOf(FileFormatError)
        }
      }),
    )
  })
})

test('any corruption of a guest ELF header area gives a load or a FileFormatError, nothing else (property)', () => {
  const bytes = new Uint8Array(readFileSync(`${guestsDir}hello/hello.elf`))
  const shoff = Number(new DataView(bytes.buffer, bytes.byteOffset).getBigUint64(40, true))
  // flip bytes in the ELF header, program headers, section headers and symbol/string tables
  const regions = [fc.integer({ min: 0, max: 64 + 4 * 56 }), fc.integer({ min: 0x3000, max: shoff + 7 * 64 - 1 })]
  fc.assert(
    fc.property(fc.array(fc.tuple(fc.oneof(...regions), fc.integer({ min: 1, max: 255 })), { minLength: 1, maxLength: 3 }), (flips) => {
      const bad = bytes.slice()
      for (const [at, x] of flips) bad[at]! ^= x
      try {
        parseElf64(bad, 'f.elf')
        loadElf(ram(), bad, 'f.elf')
      } catch (e) {
        expect(e).toBeInstanceOf(FileFormatError)
      }
    }),
    { numRuns: 300 },
  )
})

describe('raw loader', () => {
  test('loads at the address and starts there', () => {
    const target = ram()
    expect(loadRaw(target, new Uint8Array([1, 2, 3]), 'x.bin', RAM + 0x8_0000)).toEqual({ entry: RAM + 0x8_0000, lowAddr: RAM + 0x8_0000, highAddr: RAM + 0x8_0003 })
    expect([...target.read(RAM + 0x8_0000, 3)]).toEqual([1, 2, 3])
  })
  test('refuses empty files and files that do not fit', () => {
    expect(() => loadRaw(ram(), new Uint8Array(0), 'e.bin', RAM)).toThrow(/e\.bin: .*empty file/)
    expect(() => loadRaw(ram(4096), new Uint8Array(8), 'x.bin', RAM + 4090)).toThrow(/x\.bin: .*do not fit in RAM \[0x40000000, 0x40001000\)/)
    expect(() => loadRaw(ram(), new Uint8Array(8), 'x.bin', 0x1000)).toThrow(FileFormatError)
    expect(() => loadRaw(ram(), new Uint8Array(8), 'x.bin', -1)).toThrow(RangeError)
  })
})

function image(textOffset: number, imageSize: number, flags: number, length = 4096): Uint8Array {
  const b = new Uint8Array(length)
  const v = new DataView(b.buffer)
  v.setUint32(0, 0x1400_0000, true) // b .
  v.setBigUint64(8, BigInt(textOffset), true)
  v.setBigUint64(16, BigInt(imageSize), true)
  v.setBigUint64(24, BigInt(flags), true)
  v.setUint32(0x38, 0x644d_5241, true)
  return b
}

describe('arm64 Image loader', () => {
  test('header fields', () => {
    const h = parseArm64ImageHeader(image(0x8_0000, 0x20_0000, 0b1010), 'Image')
    expect(h).toEqual({ textOffset: 0x8_0000, imageSize: 0x20_0000, flags: 10, bigEndian: false, pageSize: '4K', placeAnywhere: true })
    expect(parseArm64ImageHeader(image(0, 1, 0b0110), 'Image').pageSize).toBe('64K')
    expect(isArm64Image(image(0, 0, 0))).toBe(true)
    expect(isArm64Image(new Uint8Array(64))).toBe(false)
  })

  // Observed with qemu-system-aarch64 10.0.2 -M virt,mte=on -cpu max -m 128 -kernel IMG
  // (an Image whose first word is `b .`; `info registers` gives PC and X0).
  test.each([
    ['text_offset 0 moves up 2 MiB', image(0, 0x20_0000, 0xa), undefined, 0x4020_0000, 0x4400_0000],
    ['text_offset 0x80000', image(0x8_0000, 0x20_0000, 0xa), undefined, 0x4008_0000, 0x4400_0000],
    ['image_size 0: legacy 0x80000', image(0x12_3000, 0, 0xa), undefined, 0x4008_0000, 0x4400_0000],
    ['3-byte initrd pushes the DTB to the next 2 MiB', image(0, 0x20_0000, 0xa), new Uint8Array([1, 2, 3]), 0x4020_0000, 0x4420_0000],
  ])('placement as QEMU does it: %s', (_name, bytes, initrd, entry, dtb) => {
    const target = ram()
    const layout = loadArm64Image(target, bytes, 'Image', initrd ? { initrd } : {})
    expect(layout.kernelStart).toBe(entry)
    expect(layout.dtbAddress).toBe(dtb)
    expect(target.read(entry, 4)).toEqual(bytes.subarray(0, 4))
    if (initrd) expect(target.read(layout.initrdStart, 3)).toEqual(initrd)
  })

  test('initrd goes at 128 MiB with 1 GiB of RAM, and after a kernel that reaches further', () => {
    const big = { ramBase: RAM, ramSize: 1024 * MiB }
    expect(arm64ImageLayout(parseArm64ImageHeader(image(0x8_0000, 0x1000, 0xa), 'I'), 4096, big).initrdStart).toBe(RAM + 128 * MiB)
    const huge = arm64ImageLayout(parseArm64ImageHeader(image(0x8_0000, 200 * MiB, 0xa), 'I'), 4096, big)
    expect(huge.initrdStart).toBe(RAM + 0x8_0000 + 200 * MiB)
    expect(huge.dtbAddress % (2 * MiB)).toBe(0)
  })

  test('bad Images: magic, endianness, truncation, too big for RAM', () => {
    const badMagic = image(0, 0x1000, 0xa)
    badMagic[0x38] = 0
    expect(() => loadArm64Image(ram(), badMagic, 'Image')).toThrow(/Image: at offset 56 .*bad magic/)
    expect(() => loadArm64Image(ram(), image(0, 0x1000, 0xb), 'Image')).toThrow(/offset 24 .*big-endian/)
    expect(() => loadArm64Image(ram(), image(0, 0x1000, 0xa).subarray(0, 40), 'Image')).toThrow(/truncated: the arm64 Image header/)
    const target = ram(4 * MiB)
    expect(() => loadArm64Image(target, image(0x8_0000, 8 * MiB, 0xa), 'Image')).toThrow(/offset 8 .*does not fit in RAM/)
    expect(target.touchedPages()).toEqual([])
  })
})

describe('DTB placement for ELF images', () => {
  test('only when the image leaves room below it', () => {
    expect(elfDtbAddress({ lowAddr: RAM, highAddr: RAM + 0x1000 }, { ramBase: RAM }, MiB)).toBeUndefined()
    expect(elfDtbAddress({ lowAddr: RAM + MiB - 16, highAddr: RAM + 2 * MiB }, { ramBase: RAM }, MiB)).toBeUndefined()
    expect(elfDtbAddress({ lowAddr: RAM + MiB, highAddr: RAM + 2 * MiB }, { ramBase: RAM }, MiB)).toBe(RAM)
    expect(elfDtbAddress({ lowAddr: 0x1000, highAddr: 0x2000 }, { ramBase: RAM }, MiB)).toBe(RAM)
  })
})

test('SparseRam refuses bad construction and out-of-range access', () => {
  expect(() => new SparseRam(RAM + 1, 4096)).toThrow(RangeError)
  expect(() => new SparseRam(RAM, 100)).toThrow(RangeError)
  expect(() => ram(4096).write(RAM + 4095, new Uint8Array(2))).toThrow(RangeError)
  expect(() => ram(4096).read(RAM - 1, 1)).toThrow(RangeError)
})
