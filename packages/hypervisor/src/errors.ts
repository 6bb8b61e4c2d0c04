import { ErrnoError } from '@tagvm/tag-memory'

/**
 * ENOEXEC (8): what KVM_RUN, KVM_GET/SET_ONE_REG and KVM_GET_REG_LIST return before
 * KVM_ARM_VCPU_INIT. `@tagvm/tag-memory`'s Errno table lacks it, so the error is an
 * ErrnoError whose code and number are set here (to be replaced once the table has it).
 */
export const ENOEXEC = 8

export function enoexec(message: string): ErrnoError {
  const error = new ErrnoError('EINVAL', message)
  Object.defineProperties(error, {
    code: { value: 'ENOEXEC' },
    errno: { value: ENOEXEC },
    message: { value: `ENOEXEC: ${message}` },
  })
  return error
}
