import { afterAll, describe, expect, test } from 'vitest'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { CommandFailure } from '../cli-io.js'
import { elfHeader, gzip, linuxProgram, printOkImage, zbootImage } from './guest-image.fixture.js'
import { guestImageBytes, recogniseFile, saveSnapshotFile } from './index.js'

const dir = mkdtempSync(join(tmpdir(), 'tagvm-guest-image-'))
afterAll(() => rmSync(dir, { recursive: true, force: true }))
const helloElf = readFileSync(fileURLToPath(new URL('../../../../guests/hello/hello.elf', import.meta.url)))

function file(name: string, bytes: Uint8Array | string): string {
  const path = join(dir, name)
  writeFileSync(path, bytes)
  return path
}
// A plain Uint8Array copy (files are read into Buffers), to compare with toEqual.
const asGuest = (path: string, options: { raw?: boolean; base?: number } = {}): Uint8Array => new Uint8Array(guestImageBytes(path, { raw: options.raw ?? false, base: options.base }))
/** The message of the CommandFailure a file gives. */
function refusal(path: string, options: { raw?: boolean; base?: number } = {}): string {
  try {
    asGuest(path, options)
  } catch (error) {
    expect(error).toBeInstanceOf(CommandFailure)
    return (error as Error).message
  }
  throw new Error(`${path} was accepted`)
}

describe('images tagvm runs', () => {
  test('an AArch64 ELF and an arm64 Image are passed on as they are', () => {
    expect(asGuest(file('hello.elf', helloElf))).toEqual(new Uint8Array(helloElf))
    expect(asGuest(file('Image', printOkImage()))).toEqual(printOkImage())
  })
  test("a gzip'd Image and a gzip EFI zboot kernel are unpacked, as QEMU's -kernel does", () => {
    expect(asGuest(file('Image.gz', gzip(printOkImage())))).toEqual(printOkImage())
    expect(asGuest(file('vmlinuz.efi', zbootImage(gzip(printOkImage()), 'gzip')))).toEqual(printOkImage())
  })
  test('raw code: with --raw, with --base, or named .bin when it is of no other kind', () => {
    const code = new Uint8Array([0x02, 0x00, 0x00, 0xd4, 0x10, 0x00, 0x00, 0x14])
    expect(asGuest(file('code', code), { raw: true })).toEqual(code)
    expect(asGuest(file('code', code), { base: 0x4008_0000 })).toEqual(code)
    expect(asGuest(file('code.bin', code))).toEqual(code)
  })
})

describe('files of the wrong kind say what they are and what to do', () => {
  test('a tagvm snapshot', () => {
    const snap = join(dir, 'w.snap')
    saveSnapshotFile(snap, { config: { ramBase: 0x4000_0000, ramSize: 4 << 20, cpus: 1, mte: true, backing: 'anon' }, vcpus: [{ index: 0, regs: [] }], devices: [], pages: [] })
    expect(refusal(snap)).toBe(`${snap}: not a guest image: this is a tagvm snapshot; continue it with 'tagvm restore ${snap}'`)
    // Named .bin it is still a snapshot, not raw code.
    const renamed = file('w.bin', readFileSync(snap))
    expect(refusal(renamed)).toContain('this is a tagvm snapshot')
  })
  test.each([
    ['x86-64 ELF', elfHeader(62), 'this is an x86-64 ELF file; tagvm runs AArch64 code only'],
    ['32-bit i386 ELF', elfHeader(3, 2, 1), 'this is an x86 (i386) (32-bit) ELF file'],
    ['RISC-V ELF', elfHeader(243), 'this is a RISC-V ELF file'],
    ['32-bit Arm ELF', elfHeader(40, 2, 1), 'this is a 32-bit Arm (AArch32) ELF file'],
    ['unknown-machine ELF', elfHeader(9999), 'an ELF file for another processor (e_machine 9999)'],
    ['AArch64 object', elfHeader(183, 1), 'an AArch64 object file (ET_REL), not a linked program; link it into an executable first'],
    ['AArch64 core dump', elfHeader(183, 4), 'an AArch64 core dump (ET_CORE)'],
    ['AArch64 PIE', elfHeader(183, 3), 'position-independent executable (ET_DYN)'],
    ['Linux program', linuxProgram(), 'an AArch64 Linux program (dynamically linked, interpreter /lib/ld-linux-aarch64.so.1); tagvm runs bare-metal guests and kernels'],
    ['ILP32 ELF', elfHeader(183, 2, 1), 'a 32-bit (ILP32) AArch64 ELF file'],
  ])('%s', (_kind, bytes, message) => {
    expect(refusal(file('guest.elf', bytes))).toContain(message)
    // --raw does not turn an ELF into raw code.
    expect(refusal(file('guest.elf', bytes), { raw: true })).toContain('--raw is for raw code, and this is an ELF file')
  })
  test.each([
    ['text', 'console=ttyAMA0 root=/dev/vda\n', 'this is a text file (it starts "console=ttyAMA0 root=/dev/vda")'],
    ['empty', new Uint8Array(0), 'this is an empty file'],
    ['cpio (newc)', '070701000000000000', 'a cpio archive (an initramfs?); an initramfs goes to --initrd'],
    ['xz', new Uint8Array([0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00, 0, 0]), 'xz-compressed data; decompress it first (xz -dc'],
    ['zstd', new Uint8Array([0x28, 0xb5, 0x2f, 0xfd, 0, 0]), 'zstd-compressed data'],
    ['DTB', new Uint8Array([0xd0, 0x0d, 0xfe, 0xed, 0, 0, 0, 0]), 'a device tree blob (DTB)'],
    ['uImage', new Uint8Array([0x27, 0x05, 0x19, 0x56, 0, 0, 0, 0]), 'a U-Boot legacy image (uImage)'],
    ['PE', new Uint8Array([0x4d, 0x5a, 0x90, 0, 3, 0, 0, 0]), 'a PE/COFF executable'],
    ['zip', new Uint8Array([0x50, 0x4b, 0x03, 0x04, 0, 0]), 'a zip archive'],
  ])('%s', (_kind, bytes, message) => {
    expect(refusal(file('input', bytes))).toContain(message)
  })
  test('a gzip that does not hold an Image says what is inside', () => {
    expect(refusal(file('notes.gz', gzip(new TextEncoder().encode('hello\n'))))).toContain('this is gzip-compressed data holding a text file (it starts "hello")')
    expect(refusal(file('hello.elf.gz', gzip(helloElf)))).toContain(`this is gzip-compressed data holding an AArch64 ELF file; unpack it first (gunzip -c ${dir}/hello.elf.gz > guest.elf)`)
    const damaged = gzip(printOkImage()).slice(0, 30)
    expect(refusal(file('cut.gz', damaged))).toMatch(/cut\.gz: gzip-compressed data, but the gzip data is damaged/)
  })
  test('a zboot kernel compressed other than with gzip says how to extract it', () => {
    expect(refusal(file('vmlinuz.efi', zbootImage(new Uint8Array(16), 'zstd')))).toContain('an EFI zboot kernel whose payload is zstd-compressed; tagvm, like QEMU 10\'s -kernel, unpacks gzip only')
  })
  test('unrecognised binary data is not run as code unless asked for', () => {
    const noise = new Uint8Array(256).map((_, i) => (i * 37 + 11) & 0xff)
    expect(refusal(file('blob', noise))).toBe(
      `${dir}/blob: not a guest image tagvm recognises (no ELF header, no arm64 Image header at 0x38, not a .bin name); to run it as raw A64 code loaded at the start of RAM (0x40000000), add --raw (or --base ADDR)`,
    )
    expect(recogniseFile(noise, 'blob')).toBeUndefined()
    expect(refusal(file('Image', printOkImage()), { raw: true })).toContain('--raw is for raw code, and this is a Linux arm64 Image')
  })
})
