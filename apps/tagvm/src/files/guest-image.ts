// What `tagvm run FILE` (and snapshot, tags, migrate send) is given as the guest image, before
// the machine loads it. The machine runs an ELF, a Linux arm64 Image, or anything else as raw
// code; this module keeps raw code to files that are meant to be raw (--raw, --base, a .bin
// name), unpacks what QEMU's -kernel unpacks (a gzip'd Image, a gzip EFI zboot kernel), and
// names every other kind of file it recognises with what to do instead, rather than running it
// as instructions until the machine stops with "no progress".
import { gunzipSync } from 'node:zlib'
import { isArm64Image, isElf, isSnapshot } from '@tagvm/machine'
import { CommandFailure } from '../cli-io.js'
import { readInputFile } from './input.js'

/** How the command line says the image is to be taken. */
export interface GuestImageOptions {
  /** --raw: raw A64 code whatever the file looks like. */
  readonly raw: boolean
  /** --base ADDR: a load address, which only raw code takes. */
  readonly base: number | undefined
}

/** QEMU's cap on a decompressed kernel (LOAD_IMAGE_MAX_GUNZIP_BYTES, hw/core/loader.h). */
export const MAX_UNPACKED_KERNEL = 256 * 1024 * 1024

/** ELF e_machine values a wrong file is likely to have, named with their article. */
const EM_NAMES = new Map<number, string>([
  [3, 'an x86 (i386)'],
  [8, 'a MIPS'],
  [20, 'a PowerPC'],
  [21, 'a 64-bit PowerPC'],
  [22, 'an s390'],
  [40, 'a 32-bit Arm (AArch32)'],
  [62, 'an x86-64'],
  [243, 'a RISC-V'],
  [258, 'a LoongArch'],
])
const EM_AARCH64 = 183
const PT_INTERP = 3
const PT_NOTE = 4
const NT_GNU_ABI_TAG = 1
const ELFOSABI_GNU = 3

/** A file that is not a guest image: what it is, and what to do with it. */
interface Recognised {
  readonly what: string
  readonly hint: string
}

const BUILD_FOR_AARCH64 = 'tagvm runs AArch64 code only: build the guest for AArch64 (clang --target=aarch64-none-elf, or aarch64-linux-gnu-gcc -nostdlib)'
const NOT_A_GUEST = 'tagvm runs an AArch64 ELF, a Linux arm64 Image (also gzip-compressed), or raw A64 code with --raw'

function startsWith(bytes: Uint8Array, at: number, magic: readonly number[] | string): boolean {
  const expected = typeof magic === 'string' ? [...magic].map((c) => c.charCodeAt(0)) : magic
  if (bytes.length < at + expected.length) return false
  return expected.every((b, i) => bytes[at + i] === b)
}

function view(bytes: Uint8Array): DataView {
  return new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength)
}

/** A 64-bit little-endian ELF's program headers, as far as they are in the file. */
function* programHeaders(bytes: Uint8Array): Generator<{ type: number; offset: number; size: number }> {
  const v = view(bytes)
  if (bytes.length < 64) return
  const phoff = Number(v.getBigUint64(32, true))
  const phentsize = v.getUint16(54, true)
  const phnum = v.getUint16(56, true)
  for (let i = 0; i < phnum && phentsize >= 56; i++) {
    const at = phoff + i * phentsize
    if (at + 56 > bytes.length) return
    yield { type: v.getUint32(at, true), offset: Number(v.getBigUint64(at + 8, true)), size: Number(v.getBigUint64(at + 32, true)) }
  }
}

/** Whether a PT_NOTE segment holds the GNU ABI tag that glibc programs carry. */
function hasGnuAbiTag(bytes: Uint8Array, offset: number, size: number): boolean {
  const v = view(bytes)
  const end = Math.min(offset + size, bytes.length)
  for (let at = offset; at + 12 <= end; ) {
    const namesz = v.getUint32(at, true)
    const descsz = v.getUint32(at + 4, true)
    const type = v.getUint32(at + 8, true)
    if (type === NT_GNU_ABI_TAG && namesz === 4 && startsWith(bytes, at + 12, 'GNU\0')) return true
    at += 12 + Math.ceil(namesz / 4) * 4 + Math.ceil(descsz / 4) * 4
  }
  return false
}

function cString(bytes: Uint8Array, offset: number, size: number): string {
  const text = new TextDecoder().decode(bytes.subarray(offset, Math.min(offset + size, bytes.length)))
  return text.replace(/\0.*$/s, '')
}

/** An ELF file tagvm cannot run, or undefined for an AArch64 one (the loader checks the rest). */
function elfProblem(bytes: Uint8Array): Recognised | undefined {
  if (bytes.length < 20) return undefined
  const elfClass = bytes[4]
  const bigEndian = bytes[5] === 2
  const machine = bigEndian ? (bytes[18]! << 8) | bytes[19]! : bytes[18]! | (bytes[19]! << 8)
  if (machine !== EM_AARCH64) {
    const name = EM_NAMES.get(machine)
    const width = elfClass === 1 && !name?.includes('32-bit') ? ' (32-bit)' : ''
    return { what: name ? `${name}${width} ELF file` : `an ELF file for another processor (e_machine ${machine}${width})`, hint: BUILD_FOR_AARCH64 }
  }
  if (elfClass !== 2) return { what: 'a 32-bit (ILP32) AArch64 ELF file', hint: 'tagvm loads 64-bit ELF files (ELFCLASS64)' }
  if (bigEndian) return { what: 'a big-endian AArch64 ELF file', hint: 'tagvm runs little-endian guests: build with -mlittle-endian' }
  if (bytes.length < 64) return undefined
  const type = view(bytes).getUint16(16, true)
  if (type === 1) return { what: 'an AArch64 object file (ET_REL), not a linked program', hint: 'link it into an executable first (for example ld.lld -T guest.ld start.o main.o -o guest.elf)' }
  if (type === 4) return { what: 'an AArch64 core dump (ET_CORE)', hint: NOT_A_GUEST }
  let interpreter: string | undefined
  let gnuAbiTag = false
  for (const ph of programHeaders(bytes)) {
    if (ph.type === PT_INTERP) interpreter = cString(bytes, ph.offset, ph.size)
    if (ph.type === PT_NOTE && hasGnuAbiTag(bytes, ph.offset, ph.size)) gnuAbiTag = true
  }
  if (interpreter !== undefined || gnuAbiTag || bytes[7] === ELFOSABI_GNU) {
    return {
      what: `an AArch64 Linux program (${interpreter ? `dynamically linked, interpreter ${interpreter}` : 'statically linked'})`,
      hint: 'tagvm runs bare-metal guests and kernels at EL1, not Linux user programs: run it inside a Linux guest, or with qemu-aarch64',
    }
  }
  if (type === 3) return { what: 'an AArch64 shared object or position-independent executable (ET_DYN)', hint: 'tagvm loads executables linked at fixed addresses (ET_EXEC), as QEMU\'s -kernel: link with -no-pie' }
  return undefined
}

const COMPRESSED: readonly [string, readonly number[], string][] = [
  ['xz', [0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00], 'xz -dc FILE > Image'],
  ['zstd', [0x28, 0xb5, 0x2f, 0xfd], 'zstd -dc FILE > Image'],
  ['bzip2', [0x42, 0x5a, 0x68], 'bzip2 -dc FILE > Image'],
  ['lz4', [0x04, 0x22, 0x4d, 0x18], 'lz4 -dc FILE > Image'],
  ['lz4 (legacy)', [0x02, 0x21, 0x4c, 0x18], 'lz4 -dc FILE > Image'],
  ['lzo', [0x89, 0x4c, 0x5a, 0x4f], 'lzop -dc FILE > Image'],
]

/** Text: no NUL, valid UTF-8, and only printable characters and whitespace in the first 4 KiB. */
function textStart(bytes: Uint8Array): string | undefined {
  const head = bytes.subarray(0, 4096)
  let text: string
  try {
    // A multi-byte character cut at 4 KiB is not a reason to call it binary.
    text = new TextDecoder('utf-8', { fatal: true }).decode(head.length === bytes.length ? head : head.subarray(0, Math.max(0, head.length - 4)))
  } catch {
    return undefined
  }
  // eslint-disable-next-line no-control-regex
  if (text.length === 0 || /[\u0000-\u0008\u000e-\u001f\u007f]/.test(text)) return undefined
  const first = text.split('\n')[0]!.trim()
  return first.length > 40 ? `${first.slice(0, 40)}...` : first
}

/** What a file that is neither an AArch64 ELF nor an arm64 Image is, when tagvm knows the kind. */
export function recogniseFile(bytes: Uint8Array, file: string): Recognised | undefined {
  if (bytes.length === 0) return { what: 'an empty file', hint: NOT_A_GUEST }
  if (isSnapshot(bytes)) return { what: 'a tagvm snapshot', hint: `continue it with 'tagvm restore ${file}'` }
  if (isElf(bytes)) return elfProblem(bytes)
  for (const magic of ['070701', '070702', '070707']) {
    if (startsWith(bytes, 0, magic)) return { what: 'a cpio archive (an initramfs?)', hint: 'an initramfs goes to --initrd (QEMU\'s -initrd), with a Linux arm64 Image as the kernel' }
  }
  if (startsWith(bytes, 0, [0xc7, 0x71]) || startsWith(bytes, 0, [0x71, 0xc7])) return { what: 'a binary cpio archive', hint: 'an initramfs goes to --initrd (QEMU\'s -initrd), with a Linux arm64 Image as the kernel' }
  for (const [name, magic, command] of COMPRESSED) {
    if (startsWith(bytes, 0, magic)) return { what: `${name}-compressed data`, hint: `decompress it first (${command.replace('FILE', file)}); tagvm, like QEMU's -kernel, unpacks gzip only` }
  }
  if (startsWith(bytes, 0, [0xd0, 0x0d, 0xfe, 0xed])) return { what: 'a device tree blob (DTB)', hint: 'tagvm makes the virt machine\'s device tree itself; give it the kernel or guest program' }
  if (startsWith(bytes, 0, [0x27, 0x05, 0x19, 0x56])) return { what: 'a U-Boot legacy image (uImage)', hint: `tagvm boots the kernel inside it: tail -c +65 ${file} > Image (gunzip it too if it is compressed)` }
  if (bytes.length >= 0x28 && view(bytes).getUint32(0x24, true) === 0x016f2818) return { what: 'a 32-bit Arm Linux kernel (zImage)', hint: `${BUILD_FOR_AARCH64}; an arm64 kernel is an Image` }
  if (startsWith(bytes, 0x202, 'HdrS')) return { what: 'an x86 Linux kernel (bzImage)', hint: 'tagvm runs arm64 kernels: an arm64 Image (arch/arm64/boot/Image)' }
  if (startsWith(bytes, 0, 'MZ')) return { what: 'a PE/COFF executable (an EFI application or a Windows program)', hint: 'tagvm boots without firmware: give it an arm64 Image or a bare-metal ELF' }
  if (startsWith(bytes, 257, 'ustar')) return { what: 'a tar archive', hint: `unpack it and give tagvm the guest inside; ${NOT_A_GUEST}` }
  if (startsWith(bytes, 0, [0x50, 0x4b, 0x03, 0x04])) return { what: 'a zip archive', hint: `unpack it and give tagvm the guest inside; ${NOT_A_GUEST}` }
  const text = textStart(bytes)
  if (text !== undefined) return { what: `a text file (it starts "${text}")`, hint: NOT_A_GUEST }
  return undefined
}

function gunzipKernel(bytes: Uint8Array, file: string, what: string): Uint8Array {
  try {
    return gunzipSync(bytes, { maxOutputLength: MAX_UNPACKED_KERNEL })
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code
    const reason = code === 'ERR_BUFFER_TOO_LARGE' ? `it unpacks to more than ${MAX_UNPACKED_KERNEL / (1024 * 1024)} MiB (QEMU's limit too)` : `the gzip data is damaged (${(error as Error).message})`
    throw new CommandFailure(`${file}: ${what}, but ${reason}`)
  }
}

/** The kernel inside an EFI zboot image (Linux's zboot-header.S: "zimg", payload offset and size, compression). */
function unpackZboot(bytes: Uint8Array, file: string): Uint8Array {
  const v = view(bytes)
  const offset = v.getUint32(8, true)
  const size = v.getUint32(12, true)
  const compression = cString(bytes, 24, 32)
  if (compression !== 'gzip') {
    const command = `tail -c +${offset + 1} ${file} | head -c ${size} | ${compression === 'zstd' ? 'zstd' : compression} -dc > Image`
    throw new CommandFailure(`${file}: an EFI zboot kernel whose payload is ${compression}-compressed; tagvm, like QEMU 10's -kernel, unpacks gzip only: extract the Image (${command}) and run that`)
  }
  if (offset + size > bytes.length || size === 0) throw new CommandFailure(`${file}: an EFI zboot kernel whose payload (${size} bytes at ${offset}) is not inside the file`)
  return gunzipKernel(bytes.subarray(offset, offset + size), file, 'an EFI zboot kernel (gzip)')
}

function notAGuest(file: string, recognised: Recognised, container = ''): CommandFailure {
  return new CommandFailure(`${file}: not a guest image: this is ${container}${recognised.what}; ${recognised.hint}`)
}

/**
 * The bytes to boot for IMAGE: an AArch64 ELF or arm64 Image as they are, a gzip'd Image or a
 * gzip EFI zboot kernel unpacked (as QEMU's -kernel does), raw code when the command line says
 * so (--raw, --base, or a .bin name). Anything else is a CommandFailure naming what the file is
 * and what to do.
 */
export function guestImageBytes(file: string, options: GuestImageOptions): Uint8Array {
  const bytes = readInputFile(file)
  if (options.raw) {
    if (isElf(bytes) || isArm64Image(bytes)) throw new CommandFailure(`${file}: --raw is for raw code, and this is ${isElf(bytes) ? 'an ELF file' : 'a Linux arm64 Image'}: run it without --raw`)
    return bytes
  }
  if (isElf(bytes)) {
    // An AArch64 ELF goes to the machine's loader, which checks the rest (and refuses --base).
    const problem = elfProblem(bytes)
    if (problem) throw notAGuest(file, problem)
    return bytes
  }
  if (isArm64Image(bytes)) return bytes
  if (startsWith(bytes, 0, [0x1f, 0x8b])) {
    const unpacked = gunzipKernel(bytes, file, 'gzip-compressed data')
    if (isArm64Image(unpacked)) return unpacked
    const inside = isElf(unpacked) && elfProblem(unpacked) === undefined ? { what: 'an AArch64 ELF file', hint: `unpack it first (gunzip -c ${file} > guest.elf): tagvm, like QEMU's -kernel, unpacks only an arm64 Image` } : recogniseFile(unpacked, file)
    throw notAGuest(file, inside ?? { what: 'data that is not an arm64 Image', hint: NOT_A_GUEST }, 'gzip-compressed data holding ')
  }
  if (startsWith(bytes, 0, 'MZ') && startsWith(bytes, 4, 'zimg')) {
    const unpacked = unpackZboot(bytes, file)
    if (isArm64Image(unpacked)) return unpacked
    throw notAGuest(file, { what: 'an EFI zboot image whose payload is not an arm64 Image', hint: NOT_A_GUEST })
  }
  const recognised = recogniseFile(bytes, file)
  // Raw code by intent: a load address, or a .bin name (as `objcopy -O binary` output is named) on a file of no other kind.
  if (options.base !== undefined || (/\.bin$/i.test(file) && recognised === undefined)) return bytes
  if (recognised) throw notAGuest(file, recognised)
  throw new CommandFailure(
    `${file}: not a guest image tagvm recognises (no ELF header, no arm64 Image header at 0x38, not a .bin name); to run it as raw A64 code loaded at the start of RAM (0x40000000), add --raw (or --base ADDR)`,
  )
}
