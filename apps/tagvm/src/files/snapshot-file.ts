import { createHash } from 'node:crypto'
import { statSync } from 'node:fs'
import * as zlib from 'node:zlib'
import {
  PAGE_SIZE,
  batchPages,
  SnapshotDecoder,
  SnapshotEncoder,
  SnapshotRestore,
  writeMachineSnapshot,
  writeSnapshotTo,
  type Digest,
  type Machine,
  type MachineConfig,
  type Snapshot,
  type SnapshotOptions,
  type TransferProgress,
  useNativeCrc32,
} from '@tagvm/machine'
import { writeFileAtomic, type FileIo } from './atomic.js'
import { HostPrefaulter, PREFAULT_MIN_BYTES, hostBytesForSnapshot, type PrefaultFigures } from './host-prefault.js'
import { readFileChunks } from './input.js'

/** Node's SHA-256 (OpenSSL), several times the speed of the machine's portable one. */
function nodeSha256(): Digest {
  const hash = createHash('sha256')
  return { update: (bytes) => hash.update(bytes), digest: () => new Uint8Array(hash.copy().digest()) }
}

const NODE_HASH: SnapshotOptions = { sha256: nodeSha256 }

// zlib's CRC-32 (Node 20.15 and later) checks every snapshot and migration record at several
// times the speed of the portable one: the machine uses it for the rest of the process.
if (typeof zlib.crc32 === 'function') useNativeCrc32((bytes, crc) => zlib.crc32(bytes, crc))

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
      // writeFileAtomic is done with each chunk when write returns: page batches go out as views.
      const enc = new SnapshotEncoder(write, { ...NODE_HASH, transientChunks: true })
      if (typeof content === 'function') content(enc)
      else writeSnapshotTo(enc, content)
    },
    options,
  )
}

/** Reads and checks a snapshot; `onProgress` hears about every MiB checked (for a progress bar). */
export function loadSnapshotFile(path: string, options: { readonly onProgress?: (done: number, total: number) => void } = {}): Snapshot {
  let config: MachineConfig | undefined
  const snapshot = { vcpus: [] as Snapshot['vcpus'][number][], devices: [] as Snapshot['devices'][number][], pages: [] as Snapshot['pages'][number][] }
  const size = statSize(path)
  const onProgress = options.onProgress
  const decoder = new SnapshotDecoder(
    path,
    { config: (c) => (config = c), vcpu: (v) => snapshot.vcpus.push(v), device: (d) => snapshot.devices.push(d), pages: (b) => snapshot.pages.push(...batchPages(b)) },
    { ...NODE_HASH, ...(onProgress ? { onProgress: (offset: number) => onProgress(offset, size) } : {}) },
  )
  readFileChunks(path, (chunk) => decoder.push(chunk), 'snapshot')
  decoder.finish()
  onProgress?.(size, size)
  return { config: config!, ...snapshot }
}

function statSize(path: string): number {
  try {
    return statSync(path).size
  } catch {
    return 0 // reading it reports the problem
  }
}

/**
 * Saves a stopped machine to `path` atomically (see writeMachineSnapshot). Progress is RAM
 * scanned. Returns the file's size and the guest bytes saved (data + tags).
 */
export function saveMachine(machine: Machine, path: string, progress?: TransferProgress): { fileBytes: number; guestBytes: number } {
  let guestBytes = 0
  const fileBytes = saveSnapshotFile(path, (enc) => {
    guestBytes = writeMachineSnapshot(machine, enc, progress)
  })
  progress?.finish(machine.config.ramSize, `(${machine.config.ramSize / PAGE_SIZE} pages scanned, ${fileBytes} bytes written)`)
  return { fileBytes, guestBytes }
}

/** How restoreMachine fills host memory. */
export interface RestoreOptions {
  /**
   * Back host memory on a second thread ahead of the pages (see HostPrefaulter); by default
   * for snapshots of PREFAULT_MIN_BYTES or more.
   */
  readonly prefault?: boolean
  /** The prefaulter's figures once the restore has ended (tests and benches). */
  readonly onPrefault?: (figures: PrefaultFigures) => void
}

/**
 * Restores a snapshot file onto a fresh machine from `makeMachine`, reading it a piece at a
 * time; progress is bytes of the file read. Errors name the file and, for a record the machine
 * refuses, the record and why. Meanwhile a worker thread backs the host memory the pages will
 * fill, ahead of them (see HostPrefaulter), and ends with the restore, however it ends.
 */
export function restoreMachine(path: string, makeMachine: (config: MachineConfig) => Machine, progress?: TransferProgress, options: RestoreOptions = {}): Machine {
  const size = statSize(path)
  progress?.setTotal(size)
  const prefaulter = (options.prefault ?? size >= PREFAULT_MIN_BYTES) ? new HostPrefaulter() : undefined
  try {
    const restore = new SnapshotRestore(
      path,
      (config) => {
        const machine = makeMachine(config)
        // Memory of another kind (--jit, --smp-mode threads) takes no arenas: the worker ends at once.
        if (prefaulter && !prefaulter.supplyTo(machine, hostBytesForSnapshot(size))) prefaulter.stop()
        return machine
      },
      NODE_HASH,
    )
    let read = 0
    readFileChunks(
      path,
      (chunk) => {
        restore.push(chunk)
        read += chunk.length
        progress?.update(read)
      },
      'snapshot',
      // Each read goes where the decoder takes it from: a record is never gathered from two reads.
      () => restore.readBuffer(),
    )
    const machine = restore.finish()
    progress?.finish(read, `(${path})`)
    return machine
  } finally {
    if (prefaulter) {
      prefaulter.stop()
      options.onPrefault?.(prefaulter.figures)
    }
  }
}
