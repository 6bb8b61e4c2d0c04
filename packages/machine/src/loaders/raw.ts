import { FileFormatError, hexAddr } from '../errors.js'
import { inRam, ramRange, type LoadTarget } from './target.js'
import type { LoadedImage } from './elf.js'

/** Loads a raw binary at `address`; the vCPU starts at its first byte. */
export function loadRaw(target: LoadTarget, bytes: Uint8Array, file: string, address: number): LoadedImage {
  if (!Number.isSafeInteger(address) || address < 0) throw new RangeError(`load address must be a non-negative integer, got ${address}`)
  if (bytes.length === 0) throw new FileFormatError(file, 0, 'empty file: nothing to load')
  if (!inRam(target, address, bytes.length)) {
    throw new FileFormatError(
      file,
      0,
      `${bytes.length} bytes at ${hexAddr(address)} (up to ${hexAddr(address + bytes.length)}) do not fit in ${ramRange(target)}`,
    )
  }
  target.write(address, bytes)
  return { entry: address, lowAddr: address, highAddr: address + bytes.length }
}
