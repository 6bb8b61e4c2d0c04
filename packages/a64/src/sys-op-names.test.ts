import { describe, expect, test } from 'vitest'
import { sysAliasText, sysOpAlias, sysOpKey } from './sys-op-names.js'

describe('SYS aliases (LLVM 14 spelling)', () => {
  test.each([
    [3, 7, 4, 3, 'dc gva, x0'],
    [3, 7, 4, 4, 'dc gzva, x0'],
    [3, 7, 4, 1, 'dc zva, x0'],
    [0, 7, 6, 3, 'dc igvac, x0'],
    [3, 7, 10, 3, 'dc cgvac, x0'],
    [3, 7, 5, 1, 'ic ivau, x0'],
    [0, 7, 5, 0, 'ic iallu'],
    [0, 8, 3, 0, 'tlbi vmalle1is'],
    [0, 8, 3, 1, 'tlbi vae1is, x0'],
    [0, 7, 8, 0, 'at s1e1r, x0'],
    [3, 7, 3, 4, 'cfp rctx, x0'],
  ])('sys #%d, c%d, c%d, #%d, x0 is %s', (op1, crn, crm, op2, text) => {
    expect(sysAliasText(sysOpKey(op1, crn, crm, op2), 0)).toBe(text)
  })

  test('register operands print xzr for Rt 31; register-less aliases ignore Rt', () => {
    expect(sysAliasText(sysOpKey(3, 7, 4, 3), 31)).toBe('dc gva, xzr')
    expect(sysAliasText(sysOpKey(0, 8, 3, 0), 5)).toBe('tlbi vmalle1is')
    expect(sysAliasText(sysOpKey(0, 7, 5, 0), 0)).toBe('ic iallu')
  })

  test('the key is instruction bits [18:5]', () => {
    const dcGva = 0xd50b7460 // dc gva, x0
    expect(sysOpAlias((dcGva >>> 5) & 0x3fff)).toEqual({ mnemonic: 'dc', operation: 'gva', takesRegister: true })
  })

  test('plain SYS encodings have no alias', () => {
    expect(sysOpAlias(sysOpKey(0, 0, 0, 0))).toBeUndefined()
    expect(sysAliasText(sysOpKey(7, 15, 15, 7), 0)).toBeUndefined()
  })

  test('rejects bad input', () => {
    expect(() => sysOpKey(8, 0, 0, 0)).toThrow(RangeError)
    expect(() => sysOpAlias(0x4000)).toThrow(RangeError)
    expect(() => sysOpAlias(-1)).toThrow(RangeError)
    expect(() => sysAliasText(0, 32)).toThrow(RangeError)
  })
})
