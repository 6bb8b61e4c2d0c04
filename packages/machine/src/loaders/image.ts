import { ByteReader, FileFormatError, hexAddr } from '../errors.js'
import { inRam, ramRange, type LoadTarget } from './target.js'

/** Layout of the 64-byte arm64 `Image` header (Linux Documentation/arch/arm64/booting.rst). */
export const ARM64_IMAGE_MAGIC = 0x644d_5241 // "ARM\x64" little-endian
export const ARM64_IMAGE_MAGIC_OFFSET = 0x38
export const ARM64_IMAGE_HEADER_SIZE = 64
/** text_offset assumed when image_size is 0 (kernels before 3.17), as booting.rst and QEMU say. */
export const ARM64_LEGACY_TEXT_OFFSET = 0x8_0000
/** QEMU keeps its boot stub in the first 4 KiB of RAM and moves a kernel asking for less up by 2 MiB. */
export const QEMU_BOOTLOADER_MAX_SIZE = 0x1000

const MiB = 1024 * 1024

export type ImagePageSize = 'unspecified' | '4K' | '16K' | '64K'

/** The fields of a Linux arm64 `Image` header (Documentation/arch/arm64/booting.rst) the boot protocol uses. */
export interface Arm64ImageHeader {
  readonly textOffset: number
  /** Effective image size in memory (0 in pre-3.17 headers, where text_offset is not meaningful). */
  readonly imageSize: number
  readonly flags: number
  readonly bigEndian: boolean
  readonly pageSize: ImagePageSize
  /** Flags bit 3: the 2 MiB-aligned base may be anywhere in RAM (otherwise as low as possible). */
  readonly placeAnywhere: boolean
}

/** Whether the bytes start with a Linux arm64 `Image` header (its ARM\x64 magic at offset 0x38). */
export function isArm64Image(bytes: Uint8Array): boolean {
  if (bytes.length < ARM64_IMAGE_HEADER_SIZE) return false
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength)
  return view.getUint32(ARM64_IMAGE_MAGIC_OFFSET, true) === ARM64_IMAGE_MAGIC
}

/** Reads a Linux arm64 `Image` header; a short or malformed one is a FileFormatError. */
export function parseArm64ImageHeader(bytes: Uint8Array, file: string): Arm64ImageHeader {
  const r = new ByteReader(bytes, file)
  r.need(0, ARM64_IMAGE_HEADER_SIZE, 'the arm64 Image header')
  const magic = r.u32(ARM64_IMAGE_MAGIC_OFFSET, 'magic')
  if (magic !== ARM64_IMAGE_MAGIC) {
    throw new FileFormatError(file, ARM64_IMAGE_MAGIC_OFFSET, `bad magic 0x${magic.toString(16).padStart(8, '0')}: expected "ARM\\x64" (0x644d5241)`)
  }
  const textOffset = r.u64(8, 'text_offset')
  const imageSize = r.u64(16, 'image_size')
  const flags = r.u64(24, 'flags')
  const pageSizes: ImagePageSize[] = ['unspecified', '4K', '16K', '64K']
  return {
    textOffset,
    imageSize,
    flags,
    bigEndian: (flags & 1) !== 0,
    pageSize: pageSizes[(flags >>> 1) & 3]!,
    placeAnywhere: (flags & 8) !== 0,
  }
}

/** Where QEMU puts a Linux `Image`, its initrd and its DTB in RAM. */
export interface Arm64ImageLayout {
  readonly header: Arm64ImageHeader
  /** Where the kernel's first byte goes, and the vCPU's entry point. */
  readonly kernelStart: number
  readonly kernelEnd: number
  readonly initrdStart: number
  readonly initrdEnd: number
  /** Where the DTB goes (x0 at entry). */
  readonly dtbAddress: number
}

/**
 * Computes where QEMU (10.0, hw/arm/boot.c) places an arm64 Image, its initrd and the DTB,
 * checked against booting.rst's rules:
 * - kernel at RAM base + text_offset (0x80000 when image_size is 0); an offset below QEMU's
 *   4 KiB boot stub moves up by 2 MiB. The base stays 2 MiB-aligned, which booting.rst asks for;
 * - initrd at RAM base + min(RAM/2, 128 MiB), or after the kernel if the kernel reaches
 *   further, page-aligned;
 * - DTB after the initrd, aligned up to 2 MiB (early arm64 kernels map the DTB's 2 MiB block).
 */
export function arm64ImageLayout(
  header: Arm64ImageHeader,
  fileSize: number,
  ram: { readonly ramBase: number; readonly ramSize: number },
  initrdSize = 0,
): Arm64ImageLayout {
  let offset = header.imageSize === 0 ? ARM64_LEGACY_TEXT_OFFSET : header.textOffset
  if (offset < QEMU_BOOTLOADER_MAX_SIZE) offset += 2 * MiB
  const kernelStart = ram.ramBase + offset
  // QEMU loads the file; booting.rst says image_size bytes (including BSS) must be free.
  const kernelEnd = kernelStart + Math.max(fileSize, header.imageSize)
  const pageAlign = (n: number): number => Math.ceil(n / 4096) * 4096
  const initrdStart = pageAlign(Math.max(ram.ramBase + Math.min(ram.ramSize / 2, 128 * MiB), kernelEnd))
  const initrdEnd = initrdStart + initrdSize
  const dtbAddress = Math.ceil(initrdEnd / (2 * MiB)) * (2 * MiB)
  return { header, kernelStart, kernelEnd, initrdStart, initrdEnd, dtbAddress }
}

/**
 * Loads a Linux arm64 Image (and optional initrd) as `qemu-system-aarch64 -kernel Image
 * [-initrd FILE]` does; the caller writes the DTB at `dtbAddress` (see `virtMachineFdt`) and
 * starts the boot CPU with x0 = dtbAddress, x1..x3 = 0, PC = kernelStart.
 */
export function loadArm64Image(
  target: LoadTarget,
  bytes: Uint8Array,
  file: string,
  options: { readonly initrd?: Uint8Array; readonly initrdFile?: string; readonly dtbSize?: number } = {},
): Arm64ImageLayout {
  const header = parseArm64ImageHeader(bytes, file)
  if (header.bigEndian) throw new FileFormatError(file, 24, 'flags bit 0 says big-endian kernel; tagvm runs little-endian guests only')
  const initrd = options.initrd
  const layout = arm64ImageLayout(header, bytes.length, target, initrd?.length ?? 0)
  if (!inRam(target, layout.kernelStart, layout.kernelEnd - layout.kernelStart)) {
    throw new FileFormatError(
      file,
      8,
      `kernel [${hexAddr(layout.kernelStart)}, ${hexAddr(layout.kernelEnd)}) (text_offset ${hexAddr(header.textOffset)}, image_size ${hexAddr(header.imageSize)}) does not fit in ${ramRange(target)}`,
    )
  }
  if (initrd && !inRam(target, layout.initrdStart, initrd.length)) {
    throw new FileFormatError(options.initrdFile ?? 'initrd', 0, `initrd of ${initrd.length} bytes at ${hexAddr(layout.initrdStart)} does not fit in ${ramRange(target)}`)
  }
  const dtbSize = options.dtbSize ?? 0
  if (dtbSize > 0 && !inRam(target, layout.dtbAddress, dtbSize)) {
    throw new FileFormatError(file, 0, `no room for the ${dtbSize}-byte device tree at ${hexAddr(layout.dtbAddress)} in ${ramRange(target)}`)
  }
  target.write(layout.kernelStart, bytes)
  if (initrd) target.write(layout.initrdStart, initrd)
  return layout
}

/**
 * Where QEMU puts the DTB for an ELF (non-Linux) image: at the start of RAM when the image
 * starts at least `dtbSize` bytes above it (QEMU refuses a DTB that would overlap the image),
 * else nowhere (x0 = 0). QEMU pads its DTB to 1 MiB, hence "1 MiB free" in virt-platform.md.
 */
export function elfDtbAddress(
  image: { readonly lowAddr: number; readonly highAddr: number },
  ram: { readonly ramBase: number },
  dtbSize: number,
): number | undefined {
  if (image.highAddr <= ram.ramBase) return ram.ramBase
  if (image.lowAddr > ram.ramBase && image.lowAddr - ram.ramBase >= dtbSize) return ram.ramBase
  return undefined
}
