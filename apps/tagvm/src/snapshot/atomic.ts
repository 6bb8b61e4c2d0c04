import * as fs from 'node:fs'
import { basename, dirname, join } from 'node:path'
import { randomBytes } from 'node:crypto'

/** The file operations atomic writing needs; tests inject failures through it. */
export interface FileIo {
  openSync(path: string, flags: string, mode?: number): number
  writeSync(fd: number, buffer: Uint8Array, offset: number, length: number): number
  fsyncSync(fd: number): void
  closeSync(fd: number): void
  renameSync(from: string, to: string): void
  unlinkSync(path: string): void
}

const nodeIo: FileIo = fs

const BUFFER_SIZE = 1 << 20

/**
 * Writes a file so that a crash at any point leaves either the old file or the complete new
 * one: the data goes to a temporary file in the same directory, is fsynced, then renamed over
 * the target, and the directory is fsynced. If `produce` or any write throws, the temporary
 * file is removed and the target is untouched.
 */
export function writeFileAtomic(
  path: string,
  produce: (write: (chunk: Uint8Array) => void) => void,
  options: { readonly io?: FileIo; readonly onBytes?: (total: number) => void } = {},
): number {
  const io = options.io ?? nodeIo
  const tmp = join(dirname(path), `.${basename(path)}.tmp-${process.pid}-${randomBytes(4).toString('hex')}`)
  const fd = io.openSync(tmp, 'wx', 0o644)
  let closed = false
  let total = 0
  try {
    const buffer = new Uint8Array(BUFFER_SIZE)
    let used = 0
    const flush = (): void => {
      let done = 0
      while (done < used) done += io.writeSync(fd, buffer, done, used - done)
      used = 0
    }
    produce((chunk) => {
      let at = 0
      while (at < chunk.length) {
        const n = Math.min(chunk.length - at, BUFFER_SIZE - used)
        buffer.set(chunk.subarray(at, at + n), used)
        used += n
        at += n
        if (used === BUFFER_SIZE) flush()
      }
      total += chunk.length
      options.onBytes?.(total)
    })
    flush()
    io.fsyncSync(fd)
    io.closeSync(fd)
    closed = true
    io.renameSync(tmp, path)
  } catch (e) {
    if (!closed) {
      try {
        io.closeSync(fd)
      } catch {
        // already failing; the original error is the one to report
      }
    }
    try {
      io.unlinkSync(tmp)
    } catch {
      // the temporary file may already be gone
    }
    throw e
  }
  // Make the rename itself durable.
  try {
    const dirFd = fs.openSync(dirname(path), 'r')
    try {
      fs.fsyncSync(dirFd)
    } finally {
      fs.closeSync(dirFd)
    }
  } catch {
    // some file systems refuse fsync on a directory; the data itself is already synced
  }
  return total
}
