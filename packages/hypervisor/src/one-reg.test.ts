import { expect, test } from 'vitest'
import {
  REG_GCR_EL1,
  REG_ID_AA64PFR1_EL1,
  REG_PC,
  REG_PSTATE,
  REG_RGSR_EL1,
  REG_SP,
  REG_TFSRE0_EL1,
  REG_TFSR_EL1,
  REG_FPCR,
  CoreOffset,
  coreRegId,
  decodeRegId,
  xRegId,
} from './one-reg.js'

test('MTE register ids match kvm-mte.md §3', () => {
  expect(REG_RGSR_EL1).toBe(0x603000000013c085n)
  expect(REG_GCR_EL1).toBe(0x603000000013c086n)
  expect(REG_TFSR_EL1).toBe(0x603000000013c2b0n)
  expect(REG_TFSRE0_EL1).toBe(0x603000000013c2b1n)
  expect(REG_ID_AA64PFR1_EL1).toBe(0x603000000013c021n)
})

test('core register ids follow struct kvm_regs offsets', () => {
  expect(xRegId(0)).toBe(0x6030000000100000n)
  expect(xRegId(30)).toBe(0x603000000010003cn)
  expect(REG_SP).toBe(0x603000000010003en)
  expect(REG_PC).toBe(0x6030000000100040n)
  expect(REG_PSTATE).toBe(0x6030000000100042n)
  expect(REG_FPCR).toBe(0x60200000001000d5n)
  expect(coreRegId(CoreOffset.V0, 16)).toBe(0x6040000000100054n)
  expect(() => xRegId(31)).toThrow(RangeError)
})

test('ids decode back to their class', () => {
  expect(decodeRegId(REG_PC)).toEqual({ kind: 'core', offset: 256, size: 8 })
  expect(decodeRegId(REG_GCR_EL1)).toEqual({ kind: 'sysreg', key: 0xc086 })
  expect(decodeRegId(0x6030000000140000n)).toEqual({ kind: 'fw', index: 0 })
  expect(decodeRegId(0x4030000000100000n)).toBeUndefined()
  expect(decodeRegId(-1n)).toBeUndefined()
})
