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

/** An error a Linux system call would return: carries the errno name and number. */
export class ErrnoError extends Error {
  readonly errno: number
  readonly code: ErrnoName

  constructor(code: ErrnoName, message: string) {
    super(`${code}: ${message}`)
    this.name = 'ErrnoError'
    this.code = code
    this.errno = Errno[code]
  }
}
