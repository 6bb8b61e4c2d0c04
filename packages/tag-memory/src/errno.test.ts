import { expect, test } from 'vitest'
import { Errno, ErrnoError } from './errno.js'

test('ErrnoError carries the Linux name and number', () => {
  const err = new ErrnoError('EFAULT', 'no mapping at 0x1000')
  expect(err).toBeInstanceOf(Error)
  expect(err.code).toBe('EFAULT')
  expect(err.errno).toBe(14)
  expect(err.message).toBe('EFAULT: no mapping at 0x1000')
  expect(Errno.EINVAL).toBe(22)
  expect(Errno.ENOENT).toBe(2)
  expect(Errno.ENOEXEC).toBe(8)
})
