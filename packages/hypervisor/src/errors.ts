import { ErrnoError } from '@tagvm/tag-memory'

/** ENOEXEC (8): what KVM_RUN, KVM_GET/SET_ONE_REG and KVM_GET_REG_LIST return before KVM_ARM_VCPU_INIT. */
export const ENOEXEC = 8

export function enoexec(message: string): ErrnoError {
  return new ErrnoError('ENOEXEC', message)
}
