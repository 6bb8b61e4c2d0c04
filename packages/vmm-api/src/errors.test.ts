import { expect, test } from 'vitest'
import { ErrnoError, isErrnoError } from '@tagvm/tag-memory'
import { KvmError, isKvmError, kvmCall } from './errors.js'

type ErrorsModule = typeof import('./errors.js')

test('isKvmError recognises KvmErrors from another copy of the package; instanceof does not', async () => {
  // A query string evaluates errors.ts again: a second KvmError class, as when the CJS and ESM
  // builds of @tagvm/vmm-api are both loaded.
  const secondCopyPath = './errors.js?second-copy'
  const second = (await import(/* @vite-ignore */ secondCopyPath)) as ErrorsModule
  const foreign = new second.KvmError('KVM_RUN', new ErrnoError('EINTR', 'signal pending'))
  expect(foreign instanceof KvmError).toBe(false)
  expect(isKvmError(foreign)).toBe(true)
  expect(isErrnoError(foreign)).toBe(true)
  expect(foreign.ioctl).toBe('KVM_RUN')
  // kvmCall leaves a KvmError from any copy as it is instead of wrapping it a second time.
  expect(() => kvmCall('KVM_SET_ONE_REG', () => { throw foreign })).toThrow(foreign)
})

test('kvmCall names the ioctl on plain ErrnoErrors and passes other errors through', () => {
  let caught: unknown
  try {
    kvmCall('KVM_CREATE_VCPU', () => { throw new ErrnoError('EEXIST', 'vCPU 0 exists') })
  } catch (error) {
    caught = error
  }
  expect(isKvmError(caught)).toBe(true)
  expect(caught).toMatchObject({ code: 'EEXIST', errno: 17, ioctl: 'KVM_CREATE_VCPU', message: 'KVM_CREATE_VCPU: EEXIST: vCPU 0 exists' })
  const other = new TypeError('not an errno')
  expect(() => kvmCall('KVM_RUN', () => { throw other })).toThrow(other)
  expect(isKvmError(new ErrnoError('EINVAL', 'plain'))).toBe(false)
  expect(isKvmError(other)).toBe(false)
})
