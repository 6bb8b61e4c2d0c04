import { expect, test } from 'vitest'
import { PSCI_VERSION_1_1, PsciFunction, PsciReturn } from './psci.js'

test('PSCI ids and codes have their SMCCC values', () => {
  expect(PsciFunction.SYSTEM_OFF).toBe(0x84000008)
  expect(PsciFunction.CPU_ON_64).toBe(0xc4000003)
  expect(PsciReturn.NOT_SUPPORTED).toBe(-1)
  expect(PSCI_VERSION_1_1).toBe(0x10001)
})
