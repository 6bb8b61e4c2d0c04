import { describe, expect, test } from 'vitest'
import { readFileSync } from 'node:fs'
import { LLVM_MATTR } from '../scripts/corpus-lib.js'
import {
  genericSysregName,
  pstateFieldName,
  sysregEncoding,
  sysregReadName,
  sysregWriteName,
} from './sysreg-names.js'

describe('system register names (LLVM 14 spelling)', () => {
  test.each([
    ['GCR_EL1', 3, 0, 1, 0, 6],
    ['RGSR_EL1', 3, 0, 1, 0, 5],
    ['TFSR_EL1', 3, 0, 5, 6, 0],
    ['TFSRE0_EL1', 3, 0, 5, 6, 1],
    ['TFSR_EL2', 3, 4, 5, 6, 0],
    ['TCO', 3, 3, 4, 2, 7],
    ['SCTLR_EL1', 3, 0, 1, 0, 0],
    ['TPIDR_EL0', 3, 3, 13, 0, 2],
    ['NZCV', 3, 3, 4, 2, 0],
    ['DBGBVR0_EL1', 2, 0, 0, 0, 4],
  ])('%s is readable and writable by name', (name, op0, op1, crn, crm, op2) => {
    const encoding = sysregEncoding(op0, op1, crn, crm, op2)
    expect(sysregReadName(encoding)).toBe(name)
    expect(sysregWriteName(encoding)).toBe(name)
  })

  test('read-only registers have a read name only', () => {
    const gmid = sysregEncoding(3, 1, 0, 0, 4)
    expect(sysregReadName(gmid)).toBe('GMID_EL1')
    expect(sysregWriteName(gmid)).toBe('S3_1_C0_C0_4')
    const rndr = sysregEncoding(3, 3, 2, 4, 0)
    expect(sysregReadName(rndr)).toBe('RNDR')
    expect(sysregWriteName(rndr)).toBe('S3_3_C2_C4_0')
  })

  test('one encoding can name different registers for read and write', () => {
    const dtr = sysregEncoding(2, 3, 0, 5, 0)
    expect(sysregReadName(dtr)).toBe('DBGDTRRX_EL0')
    expect(sysregWriteName(dtr)).toBe('DBGDTRTX_EL0')
    const oslar = sysregEncoding(2, 0, 1, 0, 4)
    expect(sysregWriteName(oslar)).toBe('OSLAR_EL1')
    expect(sysregReadName(oslar)).toBe('S2_0_C1_C0_4')
  })

  test('unnamed encodings use the generic S<op0>_<op1>_C<n>_C<m>_<op2> form', () => {
    expect(sysregReadName(sysregEncoding(3, 7, 15, 15, 7))).toBe('S3_7_C15_C15_7')
    expect(genericSysregName(sysregEncoding(2, 0, 1, 0, 6))).toBe('S2_0_C1_C0_6')
  })

  test('the encoding is instruction bits [20:5]', () => {
    const mrsGcr = 0xd53810c0 // mrs x0, GCR_EL1
    expect(sysregReadName((mrsGcr >>> 5) & 0xffff)).toBe('GCR_EL1')
  })

  test('every encoding has a read and a write spelling, named or generic', () => {
    let named = 0
    for (let encoding = 0x8000; encoding <= 0xffff; encoding++) {
      for (const name of [sysregReadName(encoding), sysregWriteName(encoding)]) {
        if (!/^[A-Za-z][A-Za-z0-9_]*$/.test(name)) throw new Error(`bad name ${name} for ${encoding.toString(16)}`)
        if (name !== genericSysregName(encoding)) named++
      }
    }
    expect(named).toBe(749 + 642) // read and write names LLVM 14 knows with the corpus features
  })

  test.each([[-1], [0x7fff], [0x10000], [1.5], [Number.NaN]])('rejects encoding %s', (bad) => {
    expect(() => sysregReadName(bad)).toThrow(RangeError)
    expect(() => sysregWriteName(bad)).toThrow(RangeError)
  })

  test('rejects out-of-range fields', () => {
    expect(() => sysregEncoding(1, 0, 0, 0, 0)).toThrow(RangeError)
    expect(() => sysregEncoding(3, 8, 0, 0, 0)).toThrow(RangeError)
    expect(() => sysregEncoding(3, 0, 16, 0, 0)).toThrow(RangeError)
    expect(() => sysregEncoding(3, 0, 0, -1, 0)).toThrow(RangeError)
    expect(() => sysregEncoding(3, 0, 0, 0, 0.5)).toThrow(RangeError)
  })
})

describe('MSR (immediate) PSTATE field names', () => {
  test.each([
    [3, 4, 1, 'TCO'],
    [3, 4, 2, 'TCO'], // LLVM prints any CRm for TCO
    [0, 4, 1, 'PAN'],
    [0, 3, 0, 'UAO'],
    [0, 5, 15, 'SPSel'],
    [3, 1, 1, 'SSBS'],
    [3, 2, 0, 'DIT'],
    [3, 6, 15, 'DAIFSet'],
    [3, 7, 2, 'DAIFClr'],
  ])('op1=%d op2=%d CRm=%d is %s', (op1, op2, crm, name) => {
    expect(pstateFieldName(op1, op2, crm)).toBe(name)
  })

  test('fields LLVM does not name, or names only for CRm 0/1, give undefined', () => {
    expect(pstateFieldName(0, 4, 2)).toBeUndefined() // PAN #2
    expect(pstateFieldName(3, 1, 7)).toBeUndefined() // SSBS #7
    expect(pstateFieldName(0, 7, 0)).toBeUndefined()
    expect(pstateFieldName(0, 0, 0)).toBeUndefined() // CFINV lives here, not a PSTATE field
  })

  test('rejects out-of-range fields', () => {
    expect(() => pstateFieldName(8, 0, 0)).toThrow(RangeError)
    expect(() => pstateFieldName(0, 0, 16)).toThrow(RangeError)
  })
})

describe('generated tables', () => {
  test('were generated with the corpus feature list (LLVM names depend on -mattr)', () => {
    for (const file of ['sysreg-names.ts', 'sys-op-names.ts']) {
      const text = readFileSync(new URL(file, import.meta.url), 'utf8')
      expect(text).toContain(`// -mattr=${LLVM_MATTR}\n`)
    }
  })
})
