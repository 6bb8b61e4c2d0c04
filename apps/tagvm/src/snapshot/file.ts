import { readFileSync } from 'node:fs'
import { writeFileAtomic, type FileIo } from './atomic.js'
import { SnapshotEncoder, decodeSnapshot, writeSnapshotTo, type Snapshot } from './format.js'

/**
 * Saves a snapshot atomically (the previous file at `path` survives any failure). `write`
 * streams the sections into the encoder (see SnapshotEncoder), or pass a whole Snapshot.
 */
export function saveSnapshotFile(
  path: string,
  content: Snapshot | ((enc: SnapshotEncoder) => void),
  options: { readonly io?: FileIo; readonly onBytes?: (total: number) => void } = {},
): number {
  return writeFileAtomic(
    path,
    (write) => {
      const enc = new SnapshotEncoder(write)
      if (typeof content === 'function') content(enc)
      else writeSnapshotTo(enc, content)
    },
    options,
  )
}

/** Reads and checks a snapshot; `onProgress` hears about every MiB checked (for a progress bar). */
export function loadSnapshotFile(path: string, options: { readonly onProgress?: (done: number, total: number) => void } = {}): Snapshot {
  let bytes: Uint8Array
  try {
    bytes = readFileSync(path)
  } catch (e) {
    throw new Error(`${path}: cannot read snapshot: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`)
  }
  return decodeSnapshot(bytes, path, options)
}
