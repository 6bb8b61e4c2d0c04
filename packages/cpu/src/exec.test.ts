import { describe, expect, test } from 'vitest'
import { RAM_BASE, SNIPPET_END, VECTOR_HVC, asm, makeMachine, runSnippet, type Machine } from './test-helpers.js'

const DATA = RAM_BASE + 0x20_0000

function exec(words: number[], regs: Record<number, bigint> = {}, setup?: (m: Machine) => void): Machine {
  const m = makeMachine()
  for (const [r, v] of Object.entries(regs)) m.cpu.setX(Number(r), v)
  setup?.(m)
  const exit = runSnippet(m, words)
  expect(exit.kind).toBe('hvc')
  if (exit.kind === 'hvc' && exit.imm16 !== SNIPPET_END) {
    throw new Error(`exception taken: vector ${exit.imm16 - VECTOR_HVC}, ESR_EL1 ${m.cpu.getSysreg('ESR_EL1').toString(16)}`)
  }
  return m
}

const X = (m: Machine, n: number): bigint => m.cpu.getX(n)
const nzcv = (m: Machine): number => m.cpu.pstate >>> 28

describe('data processing', () => {
  test('add/sub immediate and register, 32 and 64 bit, with flags', () => {
    const m = exec(asm`add x0, x1, #0xfff; sub x2, x1, #1, lsl #12; adds w3, w4, #1; subs x5, x6, x7; add x8, x1, x7, lsl #4; sub w9, w4, w7, asr #2`, {
      1: 0xffff_ffff_ffff_f001n, 4: 0xffff_ffffn, 6: 5n, 7: 5n,
    })
    expect(X(m, 0)).toBe(0n)
    expect(X(m, 2)).toBe(0xffff_ffff_ffff_e001n)
    expect(X(m, 3)).toBe(0n)
    expect(X(m, 5)).toBe(0n)
    expect(nzcv(m)).toBe(0b0110) // from SUBS x5: Z and C
    expect(X(m, 8)).toBe(0xffff_ffff_ffff_f051n)
    expect(X(m, 9)).toBe(0xffff_fffen)
  })
  test('extended register and SP', () => {
    const m = exec(asm`mov x1, #0x1000; mov sp, x1; add x0, sp, w2, sxtw #2; sub sp, sp, #16; mov x3, sp; add x4, x5, w6, uxtb`, {
      2: 0xffff_ffffn, 5: 1n, 6: 0x1ffn,
    })
    expect(X(m, 0)).toBe(0x1000n - 4n)
    expect(X(m, 3)).toBe(0xff0n)
    expect(X(m, 4)).toBe(0x100n)
  })
  test('logical, move wide, bitfield, extract', () => {
    const m = exec(asm`mov x0, #0x1234; movk x0, #0xabcd, lsl #48; movn w1, #0; and x2, x0, #0xff00; orr x3, xzr, #0x5555555555555555; eor w4, w1, w0; bic x5, x0, x2; ubfx x6, x0, #48, #16; sbfx x7, x0, #48, #16; bfi x8, x0, #8, #8; extr x9, x0, x3, #4; lsl x10, x0, #60; asr x11, x0, #63; lsr w12, w1, #28`, {
      8: 0xffff_ffff_ffff_ffffn,
    })
    expect(X(m, 0)).toBe(0xabcd_0000_0000_1234n)
    expect(X(m, 1)).toBe(0xffff_ffffn)
    expect(X(m, 2)).toBe(0x1200n)
    expect(X(m, 3)).toBe(0x5555_5555_5555_5555n)
    expect(X(m, 4)).toBe(0xffff_edcbn)
    expect(X(m, 5)).toBe(0xabcd_0000_0000_0034n)
    expect(X(m, 6)).toBe(0xabcdn)
    expect(X(m, 7)).toBe(0xffff_ffff_ffff_abcdn)
    expect(X(m, 8)).toBe(0xffff_ffff_ffff_34ffn)
    expect(X(m, 9)).toBe(0x4555_5555_5555_5555n)
    expect(X(m, 10)).toBe(0x4000_0000_0000_0000n)
    expect(X(m, 11)).toBe(0xffff_ffff_ffff_ffffn)
    expect(X(m, 12)).toBe(0xfn)
  })
  test('conditional select and compare', () => {
    const m = exec(asm`cmp x0, x1; csel x2, x0, x1, lt; csinc x3, x0, x1, ge; csneg x4, x0, x1, eq; cset w5, ne; ccmp x0, #3, #0b0100, ge; cset x6, eq; ccmn x0, #1, #0b0010, lt; cset x7, eq`, {
      0: 0xffff_ffff_ffff_fffen, 1: 3n,
    })
    expect(X(m, 2)).toBe(0xffff_ffff_ffff_fffen)
    expect(X(m, 3)).toBe(4n)
    expect(X(m, 4)).toBe(0xffff_ffff_ffff_fffdn)
    expect(X(m, 5)).toBe(1n)
    expect(X(m, 6)).toBe(1n) // condition false: NZCV = 0100
    expect(X(m, 7)).toBe(0n) // -2 + 1 = -1, not zero
  })
  test('multiply, divide, high halves', () => {
    const m = exec(asm`mul x2, x0, x1; umulh x3, x0, x1; smulh x4, x0, x1; madd w5, w0, w1, w6; msub x7, x0, x1, x6; smull x8, w0, w1; umull x9, w0, w1; udiv x10, x0, x1; sdiv x11, x0, x1; sdiv w12, w13, w14; udiv x15, x0, xzr`, {
      0: 0xffff_ffff_ffff_fff0n, 1: 0x10n, 6: 7n, 13: 0x8000_0000n, 14: 0xffff_ffffn,
    })
    expect(X(m, 2)).toBe(0xffff_ffff_ffff_ff00n)
    expect(X(m, 3)).toBe(0xfn)
    expect(X(m, 4)).toBe(0xffff_ffff_ffff_ffffn)
    expect(X(m, 5)).toBe(0xffff_ff07n)
    expect(X(m, 7)).toBe(0x107n)
    expect(X(m, 8)).toBe(0xffff_ffff_ffff_ff00n)
    expect(X(m, 9)).toBe(0xf_ffff_ff00n)
    expect(X(m, 10)).toBe(0x0fff_ffff_ffff_ffffn)
    expect(X(m, 11)).toBe(0xffff_ffff_ffff_ffffn)
    expect(X(m, 12)).toBe(0x8000_0000n)
    expect(X(m, 15)).toBe(0n)
  })
  test('shifts by register, rev, clz, crc32', () => {
    const m = exec(asm`lsl x2, x0, x1; lsr w3, w0, w1; asr x4, x0, x1; ror x5, x0, x1; rev x6, x0; rev16 w7, w0; rbit x8, x1; clz x9, x1; cls w10, w11; crc32x w12, w13, x0; crc32cb w14, w13, w0`, {
      0: 0x8000_0000_0000_0001n, 1: 68n, 11: 0xffff_0000n, 13: 0xffff_ffffn,
    })
    expect(X(m, 2)).toBe(0x10n)
    expect(X(m, 3)).toBe(0n)
    expect(X(m, 4)).toBe(0xf800_0000_0000_0000n)
    expect(X(m, 5)).toBe(0x1800_0000_0000_0000n)
    expect(X(m, 6)).toBe(0x0100_0000_0000_0080n)
    expect(X(m, 7)).toBe(0x0100n)
    expect(X(m, 8)).toBe(0x2200_0000_0000_0000n)
    expect(X(m, 9)).toBe(57n)
    expect(X(m, 10)).toBe(15n)
  })
  test('adc/sbc chain a 128-bit add', () => {
    const m = exec(asm`adds x0, x0, x2; adc x1, x1, x3; negs x4, x16; sbc x5, xzr, xzr`, {
      0: 0xffff_ffff_ffff_ffffn, 1: 1n, 2: 1n, 3: 2n, 16: 1n,
    })
    expect(X(m, 0)).toBe(0n)
    expect(X(m, 1)).toBe(4n)
    expect(X(m, 5)).toBe(0xffff_ffff_ffff_ffffn)
  })
})

describe('branches', () => {
  test('loops, calls, tbz/cbz', () => {
    const m = exec(asm`mov x0, #0; mov x1, #10
1: add x0, x0, x1; subs x1, x1, #1; b.ne 1b
bl 2f; b 3f
2: mov x2, #7; ret
3: tbz x0, #0, 4f; mov x3, #1
4: cbnz x3, 5f; mov x4, #9
5: adr x5, 5b; nop`)
    expect(X(m, 0)).toBe(55n)
    expect(X(m, 2)).toBe(7n)
    expect(X(m, 3)).toBe(1n)
    expect(X(m, 4)).toBe(0n) // skipped by the taken CBNZ
  })
})

describe('loads and stores', () => {
  test('all sizes, sign extension, addressing modes', () => {
    const m = exec(asm`str x1, [x0]; ldrb w2, [x0]; ldrsb x3, [x0, #1]; ldrh w4, [x0, #2]; ldrsh w5, [x0, #6]; ldrsw x6, [x0, #4]; ldr w7, [x0, #4]; str w1, [x0, #16]!; ldr x8, [x0], #-8; ldr x9, [x0, x10, lsl #3]; ldur x11, [x0, #8]; stp x1, x8, [x0, #32]; ldp w12, w13, [x0, #32]; ldpsw x14, x15, [x0, #32]`, {
      0: BigInt(DATA), 1: 0x8081_8283_8485_8687n, 10: 1n,
    })
    expect(X(m, 2)).toBe(0x87n)
    expect(X(m, 3)).toBe(0xffff_ffff_ffff_ff86n)
    expect(X(m, 4)).toBe(0x8485n)
    expect(X(m, 5)).toBe(0xffff_8081n)
    expect(X(m, 6)).toBe(0xffff_ffff_8081_8283n)
    expect(X(m, 7)).toBe(0x8081_8283n)
    expect(X(m, 8)).toBe(0x8485_8687n) // loaded from DATA+16 (post-index), upper half from the zeroed word
    expect(X(m, 0)).toBe(BigInt(DATA + 8))
    expect(X(m, 9)).toBe(0x8485_8687n)
    expect(X(m, 11)).toBe(0x8485_8687n)
    expect(X(m, 12)).toBe(0x8485_8687n)
    expect(X(m, 13)).toBe(0x8081_8283n)
    expect(X(m, 14)).toBe(0xffff_ffff_8485_8687n)
  })
  test('pairs: pre/post-index writeback, SP base, 32-bit and 64-bit', () => {
    const m = exec(asm`stp x1, x2, [x0, #-16]!; ldp x3, x4, [x0], #16; mov sp, x0; stp x2, x1, [sp, #-32]!; ldp x5, x6, [sp]; ldp w7, w8, [sp, #8]; mov x9, sp`, {
      0: BigInt(DATA + 64), 1: 0x1111_2222_3333_4444n, 2: 0x5555_6666_7777_8888n,
    })
    expect(X(m, 3)).toBe(0x1111_2222_3333_4444n)
    expect(X(m, 4)).toBe(0x5555_6666_7777_8888n)
    expect(X(m, 0)).toBe(BigInt(DATA + 64))
    expect(X(m, 5)).toBe(0x5555_6666_7777_8888n)
    expect(X(m, 6)).toBe(0x1111_2222_3333_4444n)
    expect(X(m, 7)).toBe(0x3333_4444n)
    expect(X(m, 8)).toBe(0x1111_2222n)
    expect(X(m, 9)).toBe(BigInt(DATA + 32))
  })
  test('exclusives and LSE atomics', () => {
    const m = exec(asm`ldxr x1, [x0]; add x1, x1, #1; stxr w2, x1, [x0]; stxr w3, x1, [x0]; mov x4, #5; ldadd x4, x5, [x0]; mov x6, #100; swp x6, x7, [x0]; mov x8, #100; mov x9, #1; cas x8, x9, [x0]; ldr x10, [x0]; mov x11, #3; ldumax x11, x12, [x0]; ldr x13, [x0]`, {
      0: BigInt(DATA),
    })
    expect(X(m, 2)).toBe(0n)
    expect(X(m, 3)).toBe(1n) // monitor cleared by the first store-exclusive
    expect(X(m, 5)).toBe(1n)
    expect(X(m, 7)).toBe(6n)
    expect(X(m, 8)).toBe(100n)
    expect(X(m, 10)).toBe(1n)
    expect(X(m, 12)).toBe(1n)
    expect(X(m, 13)).toBe(3n)
  })
  test('load-acquire / store-release and DC ZVA', () => {
    const m = exec(asm`stlr x1, [x0]; ldar w2, [x0]; ldapr x3, [x0]; dc zva, x0; ldr x4, [x0]; ldr x5, [x0, #56]; ldr x6, [x0, #64]`, {
      0: BigInt(DATA), 1: 0x1122_3344_5566_7788n,
    }, (mm) => mm.memory.write32(DATA + 64, 0xdead))
    expect(X(m, 2)).toBe(0x5566_7788n)
    expect(X(m, 3)).toBe(0x1122_3344_5566_7788n)
    expect(X(m, 4)).toBe(0n)
    expect(X(m, 5)).toBe(0n)
    expect(X(m, 6)).toBe(0xdeadn)
  })
})
