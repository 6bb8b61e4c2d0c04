/** Linux errno numbers (asm-generic/errno-base.h, errno.h) used across tagvm. */
export const Errno = {
  EPERM: 1,
  ENOENT: 2,
  ESRCH: 3,
  EINTR: 4,
  EIO: 5,
  ENXIO: 6,
  E2BIG: 7,
  ENOEXEC: 8,
  EBADF: 9,
  EAGAIN: 11,
  ENOMEM: 12,
  EACCES: 13,
  EFAULT: 14,
  EBUSY: 16,
  EEXIST: 17,
  ENODEV: 19,
  EINVAL: 22,
  ENOSPC: 28,
  ERANGE: 34,
  ENOSYS: 38,
  EOPNOTSUPP: 95,
  EHWPOISON: 133,
} as const

export type ErrnoName = keyof typeof Errno

// A registry symbol is the same in every copy of this package (the ESM and CJS builds loaded
// side by side, or two versions in one node_modules), where `instanceof` is not.
const ERRNO_ERROR_BRAND = Symbol.for('@tagvm/tag-memory.ErrnoError')

/**
 * An error a Linux system call would return: carries the errno name and number. Test for it
 * with {@link isErrnoError}, which also recognises errors made by another copy of this package.
 */
export class ErrnoError extends Error {
  /** The errno number, e.g. 22 for EINVAL. */
  readonly errno: number
  /** The errno name, e.g. `'EINVAL'`. */
  readonly code: ErrnoName

  constructor(code: ErrnoName, message: string) {
    super(`${code}: ${message}`)
    this.name = 'ErrnoError'
    this.code = code
    this.errno = Errno[code]
    Object.defineProperty(this, ERRNO_ERROR_BRAND, { value: true })
  }
}

/**
 * Whether `value` is an {@link ErrnoError} (or a subclass, such as vmm-api's `KvmError`) made by
 * any copy of @tagvm/tag-memory. Use it instead of `instanceof ErrnoError` on errors that cross
 * package boundaries.
 */
export function isErrnoError(value: unknown): value is ErrnoError {
  return typeof value === 'object' && value !== null && (value as { [ERRNO_ERROR_BRAND]?: unknown })[ERRNO_ERROR_BRAND] === true
}
