import { ErrnoError } from '@tagvm/tag-memory'

/**
 * A failed KVM call: the errno name and number Linux returns for it, and the ioctl that
 * failed. Built on tag-memory's ErrnoError, so `instanceof ErrnoError` holds too.
 */
export class KvmError extends ErrnoError {
  /** The ioctl (or call) that failed, e.g. "KVM_SET_USER_MEMORY_REGION". */
  readonly ioctl: string

  constructor(ioctl: string, cause: ErrnoError) {
    super(cause.code, cause.message)
    this.message = `${ioctl}: ${cause.message}`
    this.name = 'KvmError'
    this.ioctl = ioctl
  }
}

/** Runs a hypervisor call, turning its ErrnoErrors into KvmErrors naming the ioctl. */
export function kvmCall<T>(ioctl: string, call: () => T): T {
  try {
    return call()
  } catch (error) {
    if (error instanceof ErrnoError && !(error instanceof KvmError)) throw new KvmError(ioctl, error)
    throw error
  }
}
