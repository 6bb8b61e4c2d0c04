import { disassemble } from '@tagvm/a64'
import { expect, test } from 'vitest'
import {
  Cond,
  ERET,
  ISB,
  Sys,
  TLBI_VMALLE1,
  addImm,
  addShifted,
  b,
  bCond,
  cmpImm,
  hvc,
  ldrX,
  movImm64,
  movk,
  movz,
  mrs,
  msr,
  strX,
  subReg,
  ubfx,
} from './encode.js'

// The encoders are checked against @tagvm/a64's disassembler, which is held to llvm-mc.
test.each<[number, string]>([
  [movz(3, 0x1234, 16), 'mov x3, #305397760'],
  [movk(0, 0xbeef, 48), 'movk x0, #48879, lsl #48'],
  [msr(Sys.SCTLR_EL1, 0), 'msr SCTLR_EL1, x0'],
  [mrs(1, Sys.ESR_EL1), 'mrs x1, ESR_EL1'],
  [msr(Sys.GCR_EL1, 17), 'msr GCR_EL1, x17'],
  [mrs(2, Sys.TFSRE0_EL1), 'mrs x2, TFSRE0_EL1'],
  [strX(1, 0, 8), 'str x1, [x0, #8]'],
  [ldrX(2, 0, 16), 'ldr x2, [x0, #16]'],
  [addImm(2, 2, 1), 'add x2, x2, #1'],
  [addImm(31, 0, 0), 'mov sp, x0'],
  [subReg(2, 1, 2), 'sub x2, x1, x2'],
  [cmpImm(2, 4, true), 'cmp x2, #4, lsl #12'],
  [addShifted(2, 0, 2, 5), 'add x2, x0, x2, lsl #5'],
  [ubfx(2, 2, 0, 6), 'ubfx x2, x2, #0, #6'],
  [bCond(Cond.LO, 12), 'b.lo #12'],
  [b(-0x700), 'b #-1792'],
  [hvc(0), 'hvc #0'],
  [ERET, 'eret'],
  [ISB, 'isb'],
  [TLBI_VMALLE1, 'tlbi vmalle1'],
])('%s is %s', (word, text) => {
  expect(disassemble(word)).toBe(text)
})

test('movImm64 loads every halfword that is not zero', () => {
  expect(movImm64(5, 0x0000_1234_0000_5678n).map((w) => disassemble(w))).toEqual(['mov x5, #22136', 'movk x5, #4660, lsl #32'])
  expect(movImm64(0, 0n).map((w) => disassemble(w))).toEqual(['mov x0, #0'])
  expect(movImm64(0, -1n)).toHaveLength(4)
})

test('encoders refuse operands their instruction cannot hold', () => {
  expect(() => strX(0, 1, 4)).toThrow(RangeError)
  expect(() => addImm(0, 1, 0x1000)).toThrow(RangeError)
  expect(() => bCond(Cond.EQ, 2)).toThrow(RangeError)
  expect(() => movz(32, 0)).toThrow(RangeError)
})
