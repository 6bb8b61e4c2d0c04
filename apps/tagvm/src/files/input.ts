import { closeSync, openSync, readSync, readFileSync } from 'node:fs'
import { describeErrno, errnoMeaning } from './errno.js'

/** An input file tagvm could not read: names the path and why. */
export class InputFileError extends Error {
  override readonly name = 'InputFileError'
  constructor(
    readonly path: string,
    readonly code: string,
    /** What the file was to be, when that helps ('snapshot'). */
    what?: string,
    options?: { readonly cause?: unknown },
  ) {
    super(what ? `${path}: cannot read ${what}: ${describeErrno(code, 'read')}` : `${path}: cannot read: ${errnoMeaning(code, 'read')}`, options)
  }
}

function errnoOf(error: unknown): string {
  return (error as NodeJS.ErrnoException | undefined)?.code ?? 'EIO'
}

/** A whole input file (an image, an initrd, a snapshot). */
export function readInputFile(path: string, what?: string): Uint8Array {
  return inputCall(path, what, () => readFileSync(path))
}

/** Runs a file-system call on an input; its errno becomes an InputFileError. */
function inputCall<T>(path: string, what: string | undefined, call: () => T): T {
  try {
    return call()
  } catch (error) {
    throw new InputFileError(path, errnoOf(error), what, { cause: error })
  }
}

/** The first `length` bytes of a file (fewer if it is shorter). */
export function readFileHead(path: string, length: number): Uint8Array {
  const fd = inputCall(path, undefined, () => openSync(path, 'r'))
  try {
    const head = new Uint8Array(length)
    return head.subarray(0, inputCall(path, undefined, () => readSync(fd, head, 0, length, 0)))
  } finally {
    closeSync(fd)
  }
}

/**
 * Reads a file in chunks, handing each to `consume`; returns the file's size. `chunks` is the
 * size of a buffer of its own that every read reuses, or a function giving the memory for each
 * read (at most its length is read: a decoder's readBuffer, so the bytes land where they are
 * decoded).
 */
export function readFileChunks(path: string, consume: (chunk: Uint8Array) => void, what?: string, chunks: number | (() => Uint8Array) = 1 << 20): number {
  const fd = inputCall(path, what, () => openSync(path, 'r'))
  try {
    const own = typeof chunks === 'number' ? new Uint8Array(chunks) : undefined
    let total = 0
    for (;;) {
      const buffer = own ?? (chunks as () => Uint8Array)()
      const n = inputCall(path, what, () => readSync(fd, buffer, 0, buffer.length, null))
      if (n === 0) return total
      total += n
      consume(buffer.subarray(0, n))
    }
  } finally {
    closeSync(fd)
  }
}
