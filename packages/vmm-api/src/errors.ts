import { ErrnoError, isErrnoError } from '@tagvm/tag-memory'

// Same in every copy of this package (see isKvmError), unlike the class itself.
const KVM_ERROR_BRAND = Symbol.for('@tagvm/vmm-api.KvmError')

/**
 * A failed KVM call: the errno name and number Linux returns for it, and the ioctl that
 * failed. Built on tag-memory's ErrnoError, so `isErrnoError` holds too; test for it with
 * {@link isKvmError}.
 */
export class KvmError extends ErrnoError {
  /** The ioctl (or call) that failed, e.g. "KVM_SET_USER_MEMORY_REGION". */
  readonly ioctl: string

  constructor(ioctl: string, cause: ErrnoError) {
    super(cause.code, cause.message)
    this.message = `${ioctl}: ${cause.message}`
    this.name = 'KvmError'
    this.ioctl = ioctl
    Object.defineProperty(this, KVM_ERROR_BRAND, { value: true })
  }
}

/**
 * Whether `value` is a {@link KvmError} made by any copy of @tagvm/vmm-api (the ESM and CJS
 * builds side by side, or two versions), where `instanceof KvmError` sees only its own copy.
 */
export function isKvmError(value: unknown): value is KvmError {
  return isErrnoError(value) && (value as { [KVM_ERROR_BRAND]?: unknown })[KVM_ERROR_BRAND] === true
}

/** Runs a hypervisor call, turning its ErrnoErrors into KvmErrors naming the ioctl. */
export function kvmCall<T>(ioctl: string, call: () => T): T {
  try {
    return call()
  } catch (error) {
    if (isErrnoError(error) && !isKvmError(error)) throw new KvmError(ioctl, error)
    throw error
  }
}
