import { virtMachineFdt, VIRT_FDT_SIZE } from './fdt/virt.js'
import { FileFormatError, hexAddr } from './errors.js'
import { isElf, loadElf } from './loaders/elf.js'
import { elfDtbAddress, isArm64Image, loadArm64Image } from './loaders/image.js'
import { loadRaw } from './loaders/raw.js'
import type { LoadTarget } from './loaders/target.js'

/** What kind of guest image a file is. */
export type ImageKind = 'elf' | 'linux-image' | 'raw'

/** How the boot vCPU starts, as QEMU starts it for `-kernel`: PC, and x0 (the DTB or 0). */
export interface BootPlan {
  readonly kind: ImageKind
  readonly entry: number
  /** x0 at entry: the DTB's address for a Linux Image, else 0. x1..x3 are 0. */
  readonly x0: number
  readonly dtbAddress: number | undefined
  readonly dtbSize: number
}

/** How to place and start a guest image. */
export interface BootOptions {
  readonly cpus: number
  /** Load address for raw binaries (default: start of RAM). */
  readonly base?: number
  readonly initrd?: { readonly bytes: Uint8Array; readonly file: string }
  readonly bootargs?: string
}

/** An ELF or a Linux arm64 Image by its magic; anything else is a raw binary. */
export function imageKind(bytes: Uint8Array): ImageKind {
  if (isElf(bytes)) return 'elf'
  if (isArm64Image(bytes)) return 'linux-image'
  return 'raw'
}

/**
 * Loads a guest image and its DTB into RAM the way `qemu-system-aarch64 -M virt -kernel FILE`
 * does: an ELF at its physical addresses, with the DTB copied to the start of RAM only when the
 * image leaves 1 MiB free there, and x0 = 0 either way; a Linux arm64 Image at its text offset with initrd
 * and DTB placed as QEMU places them (x0 = DTB); a raw binary at `base`, with no DTB.
 */
export function loadGuest(target: LoadTarget, bytes: Uint8Array, file: string, options: BootOptions): BootPlan {
  const kind = imageKind(bytes)
  const fdt = (initrd?: { start: number; end: number }): Uint8Array =>
    virtMachineFdt({ ramBase: target.ramBase, ramSize: target.ramSize, cpus: options.cpus, ...(options.bootargs !== undefined ? { bootargs: options.bootargs } : {}), ...(initrd ? { initrd } : {}) })
  if (kind !== 'linux-image' && options.initrd) throw new FileFormatError(file, 0, 'an initrd can only be loaded with a Linux arm64 Image')
  if (kind !== 'raw' && options.base !== undefined) throw new FileFormatError(file, 0, `--base applies to raw binaries only; this is ${kind === 'elf' ? 'an ELF file' : 'a Linux arm64 Image'}`)
  switch (kind) {
    case 'elf': {
      const loaded = loadElf(target, bytes, file)
      const dtbAddress = elfDtbAddress(loaded, target, VIRT_FDT_SIZE)
      if (dtbAddress !== undefined) target.write(dtbAddress, fdt())
      // QEMU copies the DTB but starts a non-Linux ELF with x0 = 0 all the same (observed).
      return { kind, entry: loaded.entry, x0: 0, dtbAddress, dtbSize: dtbAddress === undefined ? 0 : VIRT_FDT_SIZE }
    }
    case 'linux-image': {
      const initrd = options.initrd
      const layout = loadArm64Image(target, bytes, file, { ...(initrd ? { initrd: initrd.bytes, initrdFile: initrd.file } : {}), dtbSize: VIRT_FDT_SIZE })
      target.write(layout.dtbAddress, fdt(initrd ? { start: layout.initrdStart, end: layout.initrdEnd } : undefined))
      return { kind, entry: layout.kernelStart, x0: layout.dtbAddress, dtbAddress: layout.dtbAddress, dtbSize: VIRT_FDT_SIZE }
    }
    case 'raw': {
      const base = options.base ?? target.ramBase
      const loaded = loadRaw(target, bytes, file, base)
      if (loaded.entry % 4 !== 0) throw new FileFormatError(file, 0, `load address ${hexAddr(base)} is not 4-byte aligned`)
      return { kind, entry: loaded.entry, x0: 0, dtbAddress: undefined, dtbSize: 0 }
    }
  }
}
