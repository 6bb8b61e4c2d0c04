import { expect, test } from 'vitest'
import { ErrnoError, isErrnoError } from './errno.js'

type ErrnoModule = typeof import('./errno.js')

test('isErrnoError recognises errors from another copy of the package, where instanceof does not', async () => {
  // A query string makes the module loader evaluate errno.ts a second time: a second class,
  // as when the CJS and ESM builds (or two versions) of @tagvm/tag-memory share a process.
  const secondCopyPath = './errno.js?second-copy'
  const second = (await import(/* @vite-ignore */ secondCopyPath)) as ErrnoModule
  expect(second.ErrnoError).not.toBe(ErrnoError)

  const foreign = new second.ErrnoError('EINVAL', 'from the other copy')
  expect(foreign instanceof ErrnoError).toBe(false)
  expect(isErrnoError(foreign)).toBe(true)
  expect(second.isErrnoError(new ErrnoError('EFAULT', 'from this copy'))).toBe(true)
  expect(isErrnoError(foreign) && foreign.errno).toBe(22)
})

test('isErrnoError is false for other errors and values, however they look', () => {
  class Lookalike extends Error {
    readonly code = 'EINVAL'
    readonly errno = 22
  }
  for (const value of [new Error('EINVAL: plain'), new Lookalike(), { code: 'EINVAL', errno: 22 }, null, undefined, 'EINVAL', 22]) {
    expect(isErrnoError(value)).toBe(false)
  }
})

test('the brand is not enumerable, so copies and JSON carry only name, code and errno', () => {
  const error = new ErrnoError('ENOMEM', 'out of memory')
  expect(Object.keys(error).sort()).toEqual(['code', 'errno', 'name'])
  expect(isErrnoError({ ...error })).toBe(false)
  expect(JSON.parse(JSON.stringify(error))).toEqual({ name: 'ErrnoError', code: 'ENOMEM', errno: 12 })
})
