// Small guest images for tests, made in memory: an arm64 Image that prints "ok" on the PL011
// and powers off through PSCI, and the headers of files of other kinds.
import { gzipSync } from 'node:zlib'

/** "ok\n" on the PL011 at 0x09000000, then PSCI SYSTEM_OFF over HVC (encodings from llvm-mc). */
const PRINT_OK_AND_POWER_OFF = [
  0xd2a12001, // movz x1, #0x0900, lsl #16
  0x52800de2, // mov w2, #'o'
  0x39000022, // strb w2, [x1]
  0x52800d62, // mov w2, #'k'
  0x39000022, // strb w2, [x1]
  0x52800142, // mov w2, #'\n'
  0x39000022, // strb w2, [x1]
  0x52800100, // mov w0, #8
  0x72b08000, // movk w0, #0x8400, lsl #16 (PSCI SYSTEM_OFF)
  0xd4000002, // hvc #0
]

/** A Linux arm64 Image (booting.rst header: `b` over the header, text_offset, image_size, flags, magic) running the code above. */
export function printOkImage(): Uint8Array {
  const bytes = new Uint8Array(64 + PRINT_OK_AND_POWER_OFF.length * 4)
  const view = new DataView(bytes.buffer)
  view.setUint32(0, 0x14000010, true) // b #0x40
  view.setBigUint64(8, 0x8_0000n, true) // text_offset
  view.setBigUint64(16, 0x1_0000n, true) // image_size
  view.setBigUint64(24, 0b0010n, true) // little-endian, 4 KiB pages
  view.setUint32(0x38, 0x644d5241, true) // "ARM\x64"
  PRINT_OK_AND_POWER_OFF.forEach((word, i) => view.setUint32(64 + i * 4, word, true))
  return bytes
}

/** An EFI zboot image (Linux drivers/firmware/efi/libstub/zboot-header.S) around a compressed payload. */
export function zbootImage(payload: Uint8Array, compression: string): Uint8Array {
  const offset = 0x100
  const bytes = new Uint8Array(offset + payload.length)
  const view = new DataView(bytes.buffer)
  bytes.set([0x4d, 0x5a], 0) // "MZ"
  bytes.set(new TextEncoder().encode('zimg'), 4)
  view.setUint32(8, offset, true)
  view.setUint32(12, payload.length, true)
  bytes.set(new TextEncoder().encode(compression), 24)
  bytes.set(payload, offset)
  return bytes
}

/** The first 64 bytes of a little-endian ELF64 header: e_type, e_machine, and no program headers. */
export function elfHeader(machine: number, type = 2, elfClass = 2): Uint8Array {
  const bytes = new Uint8Array(64)
  const view = new DataView(bytes.buffer)
  bytes.set([0x7f, 0x45, 0x4c, 0x46, elfClass, 1, 1, 0], 0)
  view.setUint16(16, type, true)
  view.setUint16(18, machine, true)
  view.setUint32(20, 1, true)
  view.setUint16(52, 64, true) // e_ehsize
  return bytes
}

/** An AArch64 ELF executable with one PT_INTERP segment: a dynamically linked Linux program. */
export function linuxProgram(interpreter = '/lib/ld-linux-aarch64.so.1'): Uint8Array {
  const name = new TextEncoder().encode(`${interpreter}\0`)
  const bytes = new Uint8Array(64 + 56 + name.length)
  bytes.set(elfHeader(183), 0)
  const view = new DataView(bytes.buffer)
  view.setBigUint64(32, 64n, true) // e_phoff
  view.setUint16(54, 56, true) // e_phentsize
  view.setUint16(56, 1, true) // e_phnum
  view.setUint32(64, 3, true) // PT_INTERP
  view.setBigUint64(64 + 8, 120n, true) // p_offset
  view.setBigUint64(64 + 32, BigInt(name.length), true) // p_filesz
  bytes.set(name, 120)
  return bytes
}

export const gzip = (bytes: Uint8Array): Uint8Array => new Uint8Array(gzipSync(bytes))
