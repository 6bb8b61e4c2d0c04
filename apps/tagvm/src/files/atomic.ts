import * as fs from 'node:fs'
import { basename, dirname, join } from 'node:path'
import { randomBytes } from 'node:crypto'
import { describeErrno } from './errno.js'

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

/** An output file tagvm could not write: names the path and the errno. */
export class OutputFileError extends Error {
  override readonly name = 'OutputFileError'
  constructor(
    readonly path: string,
    readonly code: string,
    options?: { readonly cause?: unknown },
  ) {
    super(`${path}: cannot write: ${describeErrno(code, 'write')}`, options)
  }
}

function errnoOf(error: unknown): string | undefined {
  const code = (error as NodeJS.ErrnoException | undefined)?.code
  return typeof code === 'string' ? code : undefined
}

/** Runs a file-system call for `path`; its errno becomes an OutputFileError. */
function fsCall<T>(path: string, call: () => T): T {
  try {
    return call()
  } catch (error) {
    const code = errnoOf(error)
    if (code) throw new OutputFileError(path, code, { cause: error })
    throw error
  }
}

/**
 * Checks, before any work is done, that `path` can be written the way writeFileAtomic writes
 * it: its directory exists and takes new files, and `path` is not a directory. The write
 * itself still reports whatever goes wrong later (a full disk).
 */
export function checkOutputPath(path: string): void {
  const dir = dirname(path)
  const dirStat = fsCall(path, () => fs.statSync(dir))
  if (!dirStat.isDirectory()) throw new OutputFileError(path, 'ENOTDIR')
  const target = fs.statSync(path, { throwIfNoEntry: false })
  if (target?.isDirectory()) throw new OutputFileError(path, 'EISDIR')
  fsCall(path, () => fs.accessSync(dir, fs.constants.W_OK | fs.constants.X_OK))
}

const TEMP_NAME = /^\.(.+)\.tmp-(\d+)-[0-9a-f]{8}$/

/** Whether process `pid` exists (it may belong to someone else: then its file is not ours to remove). */
function processExists(pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch (error) {
    return errnoOf(error) !== 'ESRCH'
  }
}

/**
 * Removes temporary files an earlier writer of `path` left when it was killed mid-write
 * (`.NAME.tmp-PID-RANDOM` whose process is gone). Best effort: a file that cannot be removed
 * stays, and a writer still running keeps its own.
 */
function removeStaleTemporaries(path: string, io: FileIo): void {
  let names: string[]
  try {
    names = fs.readdirSync(dirname(path))
  } catch {
    return
  }
  for (const name of names) {
    const m = TEMP_NAME.exec(name)
    if (!m || m[1] !== basename(path)) continue
    const pid = Number(m[2])
    if (pid === process.pid || processExists(pid)) continue
    try {
      io.unlinkSync(join(dirname(path), name))
    } catch {
      // gone already, or not ours to remove
    }
  }
}

/**
 * Writes a file so that a crash at any point leaves either the old file or the complete new
 * one: the data goes to a temporary file in the same directory, is fsynced, then renamed over
 * the target, and the directory is fsynced. If `produce` or any write throws, the temporary
 * file is removed and the target is untouched. A file-system failure is an OutputFileError
 * naming `path` and the errno; an error from `produce` passes through as it is. Temporary files
 * left by earlier writers of `path` that were killed are removed first.
 */
export function writeFileAtomic(
  path: string,
  produce: (write: (chunk: Uint8Array) => void) => void,
  options: { readonly io?: FileIo; readonly onBytes?: (total: number) => void } = {},
): number {
  const io = options.io ?? nodeIo
  checkOutputPath(path)
  removeStaleTemporaries(path, io)
  const tmp = join(dirname(path), `.${basename(path)}.tmp-${process.pid}-${randomBytes(4).toString('hex')}`)
  const fd = fsCall(path, () => io.openSync(tmp, 'wx', 0o644))
  let closed = false
  let total = 0
  try {
    const buffer = new Uint8Array(BUFFER_SIZE)
    let used = 0
    const flush = (): void => {
      let done = 0
      while (done < used) done += fsCall(path, () => io.writeSync(fd, buffer, done, used - done))
      used = 0
    }
    produce((chunk) => {
      total += chunk.length
      if (chunk.length >= BUFFER_SIZE / 4) {
        // A large chunk (a page batch) goes out as it is, after what is buffered.
        flush()
        for (let done = 0; done < chunk.length; ) done += fsCall(path, () => io.writeSync(fd, chunk, done, chunk.length - done))
        options.onBytes?.(total)
        return
      }
      let at = 0
      while (at < chunk.length) {
        const n = Math.min(chunk.length - at, BUFFER_SIZE - used)
        buffer.set(chunk.subarray(at, at + n), used)
        used += n
        at += n
        if (used === BUFFER_SIZE) flush()
      }
      options.onBytes?.(total)
    })
    flush()
    fsCall(path, () => io.fsyncSync(fd))
    fsCall(path, () => io.closeSync(fd))
    closed = true
    fsCall(path, () => io.renameSync(tmp, path))
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
