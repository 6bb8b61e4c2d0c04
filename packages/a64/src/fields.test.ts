// Execution-ready field values for words assembled by llvm-mc 14 (encodings recorded here,
// so the test needs no LLVM). Covers fields the printers do not read back.
import { describe, expect, test } from 'vitest'
import { decode } from './decode.js'
import { disassemble } from './disassemble.js'

const cases: [number, string, Record<string, number | string>][] = [
  [0x91400420, 'add x0, x1, #1, lsl #12', { name: 'ADD_i', imm: 4096, sf: 1 }],
  [0xf9400420, 'ldr x0, [x1, #8]', { name: 'LDR_ui', size: 3, imm: 8, rt: 0, rn: 1 }],
  [0x79400c20, 'ldrh w0, [x1, #6]', { name: 'LDR_ui', size: 1, imm: 6 }],
  [0xb8627820, 'ldr w0, [x1, x2, lsl #2]', { name: 'LDR_reg', size: 2, rm: 2, option: 3, amount: 2 }],
  [0x38627820, 'ldrb w0, [x1, x2, lsl #0]', { name: 'LDR_reg', size: 0, amount: 0, s: 1 }],
  [0xf865d883, 'ldr x3, [x4, w5, sxtw #3]', { name: 'LDR_reg', option: 6, amount: 3 }],
  [0x39c00020, 'ldrsb w0, [x1]', { name: 'LDRS_ui', size: 0, sf: 0, imm: 0 }],
  [0xb9800420, 'ldrsw x0, [x1, #4]', { name: 'LDRS_ui', size: 2, sf: 1, imm: 4 }],
  [0xa9ff07e0, 'ldp x0, x1, [sp, #-16]!', { name: 'LDP', sf: 1, mode: 3, imm: -16, rt: 0, rt2: 1, rn: 31 }],
  [0x29410440, 'ldp w0, w1, [x2, #8]', { name: 'LDP', sf: 0, mode: 2, imm: 8 }],
  [0x697f0440, 'ldpsw x0, x1, [x2, #-8]', { name: 'LDPSW', mode: 2, imm: -8 }],
  [0x69010440, 'stgp x0, x1, [x2, #32]', { name: 'STGP', mode: 2, imm: 32 }],
  [0x10ffffe0, 'adr x0, #-4', { name: 'ADR', imm: -4 }],
  [0xf0ffffe0, 'adrp x0, #-4096', { name: 'ADRP', imm: -4096 }],
  [0xb647ffc3, 'tbz x3, #40, #-8', { name: 'TBZ', bit: 40, imm: -8, rt: 3 }],
  [0x54ffffc1, 'b.ne #-8', { name: 'B_cond', cond: 1, imm: -8 }],
  [0xf87ffc20, 'ldraa x0, [x1, #-8]!', { name: 'LDRA', key: 0, wb: 1, imm: -8 }],
  [0x92481c20, 'and x0, x1, #0xff00000000000000', { name: 'AND_i', immHi: 0xff000000, immLo: 0 }],
  [0xf2e24680, 'movk x0, #0x1234, lsl #48', { name: 'MOVK', imm16: 0x1234, shift: 48 }],
  [0x91820c20, 'addg x0, x1, #32, #3', { name: 'ADDG', offset: 32, tag: 3 }],
  [0x19dff020, 'ldapursb w0, [x1, #-1]', { name: 'LDAPURS', size: 0, sf: 0, imm: -1 }],
  [0x347fffe0, 'cbz w0, #1048572', { name: 'CBZ', sf: 0, imm: 1048572 }],
  [0x16000000, 'b #-134217728', { name: 'B', imm: -134217728 }],
  [0xd9700420, 'stzg x0, [x1], #-4096', { name: 'STZG', mode: 1, imm: -4096 }],
]

describe('decoded fields are ready to execute', () => {
  test.each(cases)('%s: %s', (word, text, fields) => {
    expect(decode(word)).toMatchObject(fields)
    expect(disassemble(word)).toBe(text.replace('movk x0, #0x1234', 'movk x0, #4660'))
  })

  test.each([[-1], [2 ** 32], [1.5], [Number.NaN], ['0xd503201f'], [null]])('disassemble rejects %s with RangeError', (bad) => {
    expect(() => disassemble(bad as number)).toThrow(RangeError)
  })

  test.each([[-4], [0.5], [Number.NaN], [2 ** 60]])('disassemble rejects pc %s with RangeError', (pc) => {
    expect(() => disassemble(0xd503201f, pc)).toThrow(RangeError)
    expect(disassemble(0xd503201f, 0x4000_0000)).toBe('nop')
  })

  test('hint space: each architected hint has its own id, the rest are HINT', () => {
    expect(decode(0xd503201f).name).toBe('NOP')
    expect(decode(0xd503233f)).toMatchObject({ name: 'PACSP', key: 0, sp: 1 }) // paciasp
    expect(decode(0xd50323ff)).toMatchObject({ name: 'AUTSP', key: 1, sp: 1 }) // autibsp
    expect(decode(0xd503249f)).toMatchObject({ name: 'BTI', targets: 2 }) // bti j
    expect(decode(0xd50320df).name).toBe('DGH')
    expect(decode(0xd503221f)).toMatchObject({ name: 'ESB' })
    expect(decode(0xd50325ff)).toMatchObject({ name: 'HINT', imm: 47 })
  })
})

describe('SIMD immediate transforms', () => {
  test('advSimdExpandImm and vfpImm give the architected values', async () => {
    const { advSimdExpandImm, transforms } = await import('./tables/functions.js')
    // movi v0.2d, #0xff00ff00ff00ff00 = 0x6f05e540 (op=1, cmode=1110, imm8=0b10101010)
    expect([advSimdExpandImm(0x6f05e540, true), advSimdExpandImm(0x6f05e540, false)]).toEqual([0xff00ff00, 0xff00ff00])
    // fmov v0.2d, #-0.5 = 0x6f07f400 (imm8=0xe0)
    expect([advSimdExpandImm(0x6f07f400, true), advSimdExpandImm(0x6f07f400, false)]).toEqual([0xbfe00000, 0])
    // mvni v0.2s, #255, msl #16 = 0x2f07d7e0 (cmode=1101): the pattern before inversion
    expect(advSimdExpandImm(0x2f07d7e0, false)).toBe(0x00ffffff)
    expect(transforms.vfpImm(0x70)).toBe(1)
    expect(transforms.vfpImm(0x00)).toBe(2)
    expect(transforms.vfpImm(0xe0)).toBe(-0.5)
    expect(transforms.simdShiftRight(0b0001_011)).toBe(5) // immh=0001 (esize 8): 16 - 11
    expect(transforms.simdShiftLeft(0b0001_011)).toBe(3)
  })
})
