import { expect, test } from 'vitest'
import { readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { loadGuest, imageKind } from './boot.js'
import { findNode, getProp, propAsStrings, readFdt, propAsCells } from './fdt/index.js'
import { SparseRam } from './loaders/index.js'

const RAM = 0x4000_0000
const MiB = 1 << 20
const hello = new Uint8Array(readFileSync(fileURLToPath(new URL('../../../guests/hello/hello.elf', import.meta.url))))

test('bundled guest ELF: PC = e_entry, no DTB (the image starts at RAM), x0 = 0', () => {
  const ram = new SparseRam(RAM, 128 * MiB)
  expect(loadGuest(ram, hello, 'hello.elf', { cpus: 1 })).toEqual({ kind: 'elf', entry: RAM, x0: 0, dtbAddress: undefined, dtbSize: 0 })
})

test('Linux Image: DTB after the initrd at a 2 MiB boundary, describing RAM, bootargs and initrd', () => {
  const image = new Uint8Array(8192)
  const v = new DataView(image.buffer)
  v.setBigUint64(8, 0x8_0000n, true)
  v.setBigUint64(16, 0x20_0000n, true)
  v.setBigUint64(24, 0xan, true)
  v.setUint32(0x38, 0x644d_5241, true)
  const ram = new SparseRam(RAM, 128 * MiB)
  const plan = loadGuest(ram, image, 'Image', { cpus: 2, bootargs: 'console=ttyAMA0', initrd: { bytes: new Uint8Array(100).fill(7), file: 'initrd' } })
  expect(plan).toMatchObject({ kind: 'linux-image', entry: RAM + 0x8_0000, x0: RAM + 66 * MiB })
  const dtb = readFdt(ram.read(plan.x0, plan.dtbSize))
  expect(propAsStrings(getProp(findNode(dtb.root, '/chosen')!, 'bootargs')!)).toEqual(['console=ttyAMA0'])
  expect(propAsCells(getProp(findNode(dtb.root, '/chosen')!, 'linux,initrd-start')!)).toEqual([0, RAM + 64 * MiB])
  expect(propAsCells(getProp(findNode(dtb.root, '/memory@40000000')!, 'reg')!)).toEqual([0, RAM, 0, 128 * MiB])
  expect(findNode(dtb.root, '/cpus/cpu@1')).toBeDefined()
  expect([...ram.read(RAM + 64 * MiB, 3)]).toEqual([7, 7, 7])
})

// QEMU 10, -m 128, an ELF whose one PT_LOAD holds `b .`: with the image at RAM + 1 MiB the DTB
// is at 0x40000000 (xp shows d00dfeed), at RAM + 1 MiB - 4 KiB there is none; x0 = 0 in both.
test.each([
  [RAM + MiB, RAM],
  [RAM + MiB - 4096, undefined],
])('ELF at %s: DTB at %s, x0 = 0', (paddr, dtb) => {
  const elf = new Uint8Array(64 + 56 + 4)
  const v = new DataView(elf.buffer)
  elf.set([0x7f, 0x45, 0x4c, 0x46, 2, 1, 1])
  v.setUint16(16, 2, true)
  v.setUint16(18, 183, true)
  v.setBigUint64(24, BigInt(paddr), true)
  v.setBigUint64(32, 64n, true)
  v.setUint16(54, 56, true)
  v.setUint16(56, 1, true)
  v.setUint32(64, 1, true)
  v.setBigUint64(72, 120n, true)
  v.setBigUint64(80, BigInt(paddr), true)
  v.setBigUint64(88, BigInt(paddr), true)
  v.setBigUint64(96, 4n, true)
  v.setBigUint64(104, 4n, true)
  v.setUint32(120, 0x1400_0000, true)
  const ram = new SparseRam(RAM, 128 * MiB)
  const plan = loadGuest(ram, elf, 'b.elf', { cpus: 1 })
  expect(plan).toMatchObject({ entry: paddr, x0: 0, dtbAddress: dtb })
  expect(new DataView(ram.read(RAM, 4).buffer).getUint32(0)).toBe(dtb === undefined ? 0 : 0xd00d_feed)
})

test('raw binary at --base; options that do not fit the image kind are refused', () => {
  const ram = new SparseRam(RAM, 4 * MiB)
  expect(loadGuest(ram, new Uint8Array([0x1f, 0x20, 0x03, 0xd5]), 'x.bin', { cpus: 1, base: RAM + 0x1000 })).toEqual({ kind: 'raw', entry: RAM + 0x1000, x0: 0, dtbAddress: undefined, dtbSize: 0 })
  expect(loadGuest(ram, new Uint8Array(4), 'x.bin', { cpus: 1 }).entry).toBe(RAM)
  expect(() => loadGuest(ram, new Uint8Array(4), 'x.bin', { cpus: 1, base: RAM + 2 })).toThrow(/x\.bin: .*not 4-byte aligned/)
  expect(() => loadGuest(ram, hello, 'hello.elf', { cpus: 1, base: RAM })).toThrow(/hello\.elf: .*--base applies to raw binaries only/)
  expect(() => loadGuest(ram, hello, 'hello.elf', { cpus: 1, initrd: { bytes: new Uint8Array(1), file: 'i' } })).toThrow(/only be loaded with a Linux arm64 Image/)
  expect(imageKind(hello)).toBe('elf')
})
