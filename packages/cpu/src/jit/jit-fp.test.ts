// FP/SIMD in translations (emit-fp.ts, and the handler path of emit-sys.ts): the loads, stores
// and moves done in wasm, in every size and addressing form, against the interpreter; the FP
// trap raised from the middle of a translation; a pair across a page; and the QEMU-recorded
// FP/SIMD guests run translated.

import { describe, expect, test } from 'vitest'
import { FPSIMD_GUESTS, runFpsimdGuest } from '../exec-fp-guests.js'
import { runGuest } from '../guest-runner.js'
import { RAM_BASE, asm, enableIdentityMmu, makeMachine } from '../test-helpers.js'
import type { Cpu } from '../cpu.js'
import { decode } from '@tagvm/a64'
import { Jit } from './jit.js'
import { ST_PC } from './layout.js'

const CODE = RAM_BASE + 0x20_0000
const SRC = RAM_BASE + 0x30_0000
const DST = RAM_BASE + 0x34_0000
const VBAR = RAM_BASE + 0x1000

// One round reads 152 bytes from x1 and writes 208 from x2 in every form the tier does in wasm,
// moves between registers, and runs instructions through their handler (FADD; FCMP and MSR NZCV,
// each after a CMP in the same block whose flags a later CSET must not use).
const LOOP = asm`1: ldr b0, [x1]; ldr h1, [x1, #2]; ldr s2, [x1, #4]; ldr d3, [x1, #8]; ldr q4, [x1, #16]; ldur q5, [x1, #3]; ldr q6, [x1, #16]!; ldr d7, [x1], #8; ldr s8, [x1, x4, lsl #2]; ldr q9, [x1, w5, sxtw]; ldp s10, s11, [x1]; ldp d12, d13, [x1, #16]!; ldp q14, q15, [x1], #32; ldnp q16, q17, [x1]; fmov s18, w6; fmov d19, x7; fmov h20, w6; fmov w8, s18; fmov x9, d19; fmov d21, d19; fmov s22, s2; fmov h23, h1; movi v24.2d, #0xff00ff00ff00ff00; movi d25, #0xffff0000ffff0000; and v26.16b, v4.16b, v6.16b; orr v27.8b, v4.8b, v9.8b; eor v28.16b, v14.16b, v15.16b; bic v29.16b, v16.16b, v17.16b; mov v30.16b, v4.16b; fadd d31, d3, d12; cmp x4, #100; fcmp d3, d12; cset x10, gt; add x13, x13, x10; cmp x4, #100; msr nzcv, x14; cset x15, ge; add x16, x16, x15; str b0, [x2]; str h1, [x2, #2]; str s2, [x2, #4]; str d3, [x2, #8]; str q4, [x2, #16]; stur q5, [x2, #35]; stp q26, q27, [x2, #64]; stp d28, d29, [x2, #96]!; str q30, [x2], #16; str q31, [x2, x4]; stnp q24, q25, [x2, #32]; add x11, x11, x8; add x12, x12, x9; subs x3, x3, #1; b.ne 1b; hvc #0xf00d`

interface Run {
  state: string
  translated: number
}

function snapshot(cpu: Cpu, exit: string): string {
  const x = Array.from({ length: 31 }, (_, r) => cpu.getX(r).toString(16))
  const v = Array.from({ length: 32 }, (_, n) => cpu.getV(n).toString(16))
  const sys = (['ESR_EL1', 'FAR_EL1', 'ELR_EL1', 'FPSR'] as const).map((n) => cpu.getSysreg(n).toString(16))
  return JSON.stringify({ exit, x, v, sys, pc: cpu.pc.toString(16), pstate: cpu.pstate.toString(16), retired: cpu.retired })
}

/** Runs `program` (LOOP) for `rounds` with x1 at SRC + srcOffset; fpOffAfter: the instruction count from which FP is off (the trap), or never. */
function run(jit: boolean, rounds: number, srcOffset: number, fpOffAfter?: number, program = LOOP): Run {
  const m = makeMachine(16 << 20, true, false, jit ? { threshold: 1 } : undefined)
  const cpu = m.cpu
  enableIdentityMmu(m)
  for (let k = 0; k < 16; k++) m.memory.write32(VBAR + 0x80 * k, (0xd4000002 | ((0x100 + k) << 5)) >>> 0)
  cpu.setSysreg('VBAR_EL1', BigInt(VBAR))
  program.forEach((w, i) => m.memory.write32(CODE + 4 * i, w))
  cpu.invalidateCode(CODE, 4 * program.length)
  for (let i = 0; i < 0x4_0000; i += 4) m.memory.write32(SRC + i, (Math.imul(i, 0x9e3779b1) ^ (i >>> 3)) >>> 0)
  cpu.setSysreg('CPACR_EL1', 3n << 20n)
  cpu.setX(1, BigInt(SRC + srcOffset))
  cpu.setX(2, BigInt(DST))
  cpu.setX(3, BigInt(rounds))
  cpu.setX(4, 5n)
  cpu.setX(5, 0xffff_fff0n) // SXTW: -16
  cpu.setX(6, 0x3fc0_1234n)
  cpu.setX(7, 0x4009_21fb_5444_2d18n)
  cpu.setSpEl(1, BigInt(SRC + 0x2_0000))
  cpu.pstate = 0x3c5
  cpu.pc = BigInt(CODE)
  const states: string[] = []
  let exit = cpu.run(fpOffAfter ?? 1_000_000)
  if (fpOffAfter !== undefined) {
    // FP/SIMD off from here: the next FP/SIMD instruction, inside the translation, traps (EC 0x07).
    cpu.setSysreg('CPACR_EL1', 0n)
    states.push(snapshot(cpu, exit.kind))
    exit = cpu.run(1_000_000)
  }
  states.push(snapshot(cpu, exit.kind))
  let dst = 0
  for (let i = 0; i < 0x4_0000; i += 4) dst = (Math.imul(dst, 31) + m.memory.read32(DST + i)) | 0
  states.push(dst.toString(16))
  return { state: states.join('\n'), translated: cpu.jit?.stats.retired ?? 0 }
}

describe('FP/SIMD in translations', () => {
  test('loads, stores and moves of every size and form, in a translated loop: the interpreter\'s registers, FPSR, flags and memory', () => {
    const reference = run(false, 40, 0)
    const got = run(true, 40, 0)
    expect(got.state).toBe(reference.state)
    // The loop (50 instructions a round) ran in translations, not instruction by instruction.
    expect(got.translated).toBeGreaterThan(35 * LOOP.length)
  })

  test('misaligned and page-crossing accesses (Q across a page, a pair split by a page): as the interpreter', () => {
    for (const offset of [1, 7, 0xff8 - 152, 0xff0 - 16, 0xfe9]) {
      expect(run(true, 12, offset).state, `offset ${offset}`).toBe(run(false, 12, offset).state)
    }
  })

  test('FP/SIMD turned off between runs: the trap from inside the translation, with the interpreter\'s ESR, ELR and count', () => {
    for (const cut of [61, 75, 99, 120]) {
      const reference = run(false, 10, 0, cut)
      // The reference took the trap: EC 0x07 in ESR_EL1.
      const esr = BigInt('0x' + (JSON.parse(reference.state.split('\n')[1]!) as { sys: string[] }).sys[0]!)
      expect(esr >> 26n).toBe(7n)
      expect(run(true, 10, 0, cut).state, `cut ${cut}`).toBe(reference.state)
    }
  })
})

// Arithmetic done in wasm when exact (emit-fp-arith.ts): each round loads three Q registers from
// a table of operands (edge values: zeros, subnormals, the least normal and largest finite,
// infinities, NaNs, and random and small-integer lanes), runs FADD/FSUB/FMUL/FMLA in every
// arrangement the tier does, each followed by a read of FPSR (stored) and its clearing, and
// stores the results.
const ARITH = asm`1: ldr q0, [x1]; ldr q1, [x1, #16]; ldr q2, [x1, #32]; mov v3.16b, v2.16b; fmla v3.4s, v0.4s, v1.4s; mrs x5, fpsr; str x5, [x2, #208]; msr fpsr, xzr; mov v4.16b, v2.16b; fmla v4.2d, v0.2d, v1.2d; mrs x5, fpsr; str x5, [x2, #216]; msr fpsr, xzr; mov v5.16b, v2.16b; fmla v5.2s, v0.2s, v1.2s; mrs x5, fpsr; str x5, [x2, #224]; msr fpsr, xzr; fadd v6.4s, v0.4s, v1.4s; mrs x5, fpsr; str x5, [x2, #232]; msr fpsr, xzr; fsub v7.2d, v0.2d, v1.2d; mrs x5, fpsr; str x5, [x2, #240]; msr fpsr, xzr; fmul v8.4s, v0.4s, v1.4s; mrs x5, fpsr; str x5, [x2, #248]; msr fpsr, xzr; fmul v9.2d, v0.2d, v1.2d; mrs x5, fpsr; str x5, [x2, #256]; msr fpsr, xzr; fadd s10, s0, s2; mrs x5, fpsr; str x5, [x2, #264]; msr fpsr, xzr; fsub d11, d1, d2; mrs x5, fpsr; str x5, [x2, #272]; msr fpsr, xzr; fmul s12, s2, s1; mrs x5, fpsr; str x5, [x2, #280]; msr fpsr, xzr; fmul d13, d0, d2; mrs x5, fpsr; str x5, [x2, #288]; msr fpsr, xzr; fadd v14.2s, v1.2s, v2.2s; mrs x5, fpsr; str x5, [x2, #296]; msr fpsr, xzr; fadd v15.2d, v2.2d, v0.2d; mrs x5, fpsr; str x5, [x2, #304]; msr fpsr, xzr; stp q3, q4, [x2]; stp q5, q6, [x2, #32]; stp q7, q8, [x2, #64]; stp q9, q10, [x2, #96]; stp q11, q12, [x2, #128]; stp q13, q14, [x2, #160]; str q15, [x2, #192]; add x1, x1, #48; add x2, x2, #320; subs x3, x3, #1; b.ne 1b; hvc #0xf00d`

/** Runs `program` (ARITH: `rowsPerRound` Q rows a round, three; `outBytes` stored a round) over `table` under `fpcr`. */
function arithRun(jit: boolean, table: bigint[], fpcr: bigint, program = ARITH, outBytes = 320, rowsPerRound = 3): string {
  const m = makeMachine(16 << 20, true, false, jit ? { threshold: 1 } : undefined)
  const cpu = m.cpu
  enableIdentityMmu(m)
  program.forEach((w, i) => m.memory.write32(CODE + 4 * i, w))
  cpu.invalidateCode(CODE, 4 * program.length)
  table.forEach((v, i) => {
    for (let w = 0; w < 4; w++) m.memory.write32(SRC + 16 * i + 4 * w, Number((v >> BigInt(32 * w)) & 0xffff_ffffn))
  })
  cpu.setSysreg('CPACR_EL1', 3n << 20n)
  cpu.setSysreg('FPCR', fpcr)
  const rounds = table.length / rowsPerRound
  cpu.setX(1, BigInt(SRC))
  cpu.setX(2, BigInt(DST))
  cpu.setX(3, BigInt(rounds))
  cpu.pstate = 0x3c5
  cpu.pc = BigInt(CODE)
  const exit = cpu.run(100 * program.length * rounds)
  const out: string[] = [snapshot(cpu, exit.kind)]
  for (let i = 0; i < (rounds * outBytes) / 4; i++) out.push(m.memory.read32(DST + 4 * i).toString(16))
  return out.join(' ')
}

// FMLA, FMLS and FMUL by element (and FMLS vector) over ARITH's rows, the element in every
// position, Vd as Vm's register too.
const ARITH_ELEMENT = asm`1: ldr q0, [x1]; ldr q1, [x1, #16]; ldr q2, [x1, #32]; mov v3.16b, v2.16b; fmla v3.4s, v0.4s, v1.s[1]; mrs x5, fpsr; str x5, [x2, #208]; msr fpsr, xzr; mov v4.16b, v2.16b; fmla v4.2d, v0.2d, v1.d[1]; mrs x5, fpsr; str x5, [x2, #216]; msr fpsr, xzr; mov v5.16b, v2.16b; fmla v5.2s, v0.2s, v1.s[3]; mrs x5, fpsr; str x5, [x2, #224]; msr fpsr, xzr; mov v6.16b, v2.16b; fmls v6.4s, v0.4s, v1.4s; mrs x5, fpsr; str x5, [x2, #232]; msr fpsr, xzr; mov v7.16b, v2.16b; fmls v7.2d, v0.2d, v1.d[0]; mrs x5, fpsr; str x5, [x2, #240]; msr fpsr, xzr; fmul v8.4s, v0.4s, v1.s[2]; mrs x5, fpsr; str x5, [x2, #248]; msr fpsr, xzr; fmul v9.2s, v1.2s, v0.s[0]; mrs x5, fpsr; str x5, [x2, #256]; msr fpsr, xzr; mov v10.16b, v2.16b; fmls v10.2d, v1.2d, v0.2d; mrs x5, fpsr; str x5, [x2, #264]; msr fpsr, xzr; mov v11.16b, v2.16b; fmla v11.4s, v0.4s, v11.s[2]; mrs x5, fpsr; str x5, [x2, #272]; msr fpsr, xzr; mov v12.16b, v2.16b; fmls v12.2s, v1.2s, v0.s[1]; mrs x5, fpsr; str x5, [x2, #280]; msr fpsr, xzr; fmul v13.2d, v0.2d, v1.d[1]; mrs x5, fpsr; str x5, [x2, #288]; msr fpsr, xzr; stp q3, q4, [x2]; stp q5, q6, [x2, #32]; stp q7, q8, [x2, #64]; stp q9, q10, [x2, #96]; stp q11, q12, [x2, #128]; str q13, [x2, #160]; add x1, x1, #48; add x2, x2, #320; subs x3, x3, #1; b.ne 1b; hvc #0xf00d`

describe('FP arithmetic in wasm when exact', () => {
  test.each([
    ['FADD/FSUB/FMUL/FMLA', ARITH],
    ['FMLA/FMLS/FMUL by element, FMLS', ARITH_ELEMENT],
  ])('%s over edge and random operands: the interpreter\'s results and FPSR, every round, in every FPCR mode', (_, program) => {
    let seed = 0x2545_f491
    const next = (): number => (seed = (Math.imul(seed, 1_103_515_245) + 12_345) >>> 0)
    const singles = [0, 0x8000_0000, 1, 0x007f_ffff, 0x0080_0000, 0x0080_0001, 0x7f7f_ffff, 0xff7f_ffff, 0x7f80_0000, 0xff80_0000, 0x7fc0_0000, 0x7f80_0001, 0x3f80_0000, 0x4000_0000, 0xbf80_0000, 0x3400_0000, 0x3f80_0001]
    const doubles = [0n, 0x8000_0000_0000_0000n, 1n, 0x000f_ffff_ffff_ffffn, 0x0010_0000_0000_0000n, 0x0010_0000_0000_0001n, 0x7fef_ffff_ffff_ffffn, 0x7ff0_0000_0000_0000n, 0xfff0_0000_0000_0000n, 0x7ff8_0000_0000_0000n, 0x7ff0_0000_0000_0001n, 0x3ff0_0000_0000_0000n, 0x3ff0_0000_0000_0001n, 0x3ca0_0000_0000_0000n, 0x7e20_0000_0000_0000n, 0x03f0_0000_0000_0000n]
    const lane32 = (): bigint => {
      const k = next() % 4
      if (k === 0) return BigInt(singles[next() % singles.length]!)
      if (k === 1) return BigInt(next())
      // Small integers and halves: exact sums and products, or not.
      return BigInt(Math.fround((next() % 2000) / (1 + (next() % 8)) - 500) === 0 ? 0x3f80_0000 : new Uint32Array(new Float32Array([(next() % 2000) / (1 + (next() % 8)) - 500]).buffer)[0]!)
    }
    const lane64 = (): bigint => {
      const k = next() % 4
      if (k === 0) return doubles[next() % doubles.length]!
      if (k === 1) return (BigInt(next()) << 32n) | BigInt(next())
      return new BigUint64Array(new Float64Array([(next() % 4000) / (1 + (next() % 16)) - 1000]).buffer)[0]!
    }
    // Two FMLAs where rounding the double sum again gives the wrong answer, which the tier must
    // leave to the handler. Singles: a = 64(1 + 2^-15), b = 1 - 2^-15, c = 2^30 + 2^7: p = 2^6 -
    // 2^-24, the double sum rounds to the tie 2^30 + 2^7 + 2^6, which rounds up to even, but the
    // exact sum is below it. Doubles: a = 2^-53(1 + 2^-26), b = 1 - 2^-26 + 2^-52, c = 1 + 2^-51:
    // a * b = 2^-53 + 2^-131, so c + ab is just above a tie that r rounds down to even.
    const fourSingles = (x: bigint): bigint => x | (x << 32n) | (x << 64n) | (x << 96n)
    const twoDoubles = (x: bigint): bigint => x | (x << 64n)
    const ties = [
      fourSingles(0x4280_0100n), fourSingles(0x3f7f_fe00n), fourSingles(0x4e80_0001n),
      twoDoubles(0x3ca0_0000_0400_0000n), twoDoubles(0x3fef_ffff_f800_0002n), twoDoubles(0x3ff0_0000_0000_0002n),
    ]
    const table: bigint[] = []
    for (let i = 0; i < 3 * 400; i++) {
      table.push(next() % 2 === 0 ? (lane32() << 96n) | (lane32() << 64n) | (lane32() << 32n) | lane32() : (lane64() << 64n) | lane64())
    }
    // (Not first: the first round is interpreted while its translation is made.)
    table.push(...ties)
    // Rows for the zero cases: a zero factor times the largest double (TwoProduct of it is a
    // NaN: no IXC may come of it), zero products and addends of either sign, sums that cancel
    // exactly, subnormal addends.
    const four = (a: number, b: number, c: number, d: number): bigint => BigInt(a) | (BigInt(b) << 32n) | (BigInt(c) << 64n) | (BigInt(d) << 96n)
    const two = (a: bigint, b: bigint): bigint => a | (b << 64n)
    const f32 = (x: number): number => new Uint32Array(new Float32Array([x]).buffer)[0]!
    const f64 = (x: number): bigint => new BigUint64Array(new Float64Array([x]).buffer)[0]!
    table.push(
      two(0n, 0x8000_0000_0000_0000n), two(0x7fef_ffff_ffff_ffffn, 0xffef_ffff_ffff_ffffn), two(1n, 0x8000_0000_0000_0000n),
      four(0, 0x8000_0000, f32(2), f32(-3)), four(f32(5), f32(-5), f32(3), f32(3)), four(0x8000_0000, 0, f32(6), f32(9)),
      two(f64(2), f64(-0.5)), two(f64(3), f64(6)), two(f64(-6), f64(3)),
      four(1, 0x007f_ffff, 0x8000_0001, f32(1.5)), four(f32(3), f32(2), 0x0000_0003, f32(0.25)), four(0x8000_0000, f32(-2), 0x0040_0000, 0),
      // A zero product and a zero addend, both negative: -0 (the sum of the chain would be +0).
      two(0n, 0x8000_0000_0000_0000n), two(f64(-1), f64(1)), two(0x8000_0000_0000_0000n, 0x8000_0000_0000_0000n),
      four(0, 0x8000_0000, 0, 0x8000_0000), four(f32(-5), f32(5), f32(5), f32(-5)), four(0x8000_0000, 0x8000_0000, 0, 0x8000_0000),
      // Products near 2^-1021, full mantissas (the tier leaves them to the handler: |p| < 2^-960).
      two(0x2010_0000_0000_0001n | 0x000a_bcde_f012_3456n, 0xa01f_edcb_a987_6543n), two(0x2013_579b_df02_4681n, 0x2011_1111_1111_1111n), two(0n, 0x8000_0000_0000_0000n),
      // (1 + 2^-52) * 2^-1000 (1 + 2^-52): the product is normal but its error, 2^-1104, is below
      // the least subnormal, so TwoProduct's would be 0 and IXC lost (|p| < 2^-960: the handler's).
      two(0x3ff0_0000_0000_0001n, 0x3ff0_0000_0000_0001n), two(0x0170_0000_0000_0001n, 0x0170_0000_0000_0001n), two(0n, 0n),
    )
    // Round to nearest (the wasm path), and modes that must take the handler: the other three
    // RModes, FZ, DN.
    for (const fpcr of [0n, 0x0040_0000n, 0x0080_0000n, 0x00c0_0000n, 0x0100_0000n, 0x0200_0000n]) {
      expect(arithRun(true, table, fpcr, program), `FPCR ${fpcr.toString(16)}`).toBe(arithRun(false, table, fpcr, program))
    }
  })
})

/**
 * Runs f, listing the instructions translations ran through their handler (Jit's sysCall)
 * meanwhile, by name (the word at the PC the translation passes it).
 */
function handlerRuns<T>(f: () => T, program: number[]): { result: T; names: string[] } {
  const proto = Jit.prototype as unknown as { sysCall: (...args: unknown[]) => number }
  const original = proto.sysCall
  const names: string[] = []
  proto.sysCall = function (this: { s32: Int32Array; base: number }, ...args: unknown[]): number {
    const pc = this.s32[(this.base + ST_PC) >> 2]! >>> 0
    names.push(decode(program[(pc - CODE) / 4]!).name)
    return original.apply(this, args)
  }
  try {
    const result = f()
    return { result, names }
  } finally {
    proto.sysCall = original
  }
}

// The fast paths themselves (emit-fp-simd.ts; emit-fp-arith.ts for FMUL .2D and D): operands they take in wasm,
// zeros of both signs (zero products, sums that cancel exactly), subnormal addends, inexact and
// exact lanes; not one instruction through its handler, and the interpreter's results and FPSR.
const SINGLES_FAST = asm`1: ldp q0, q1, [x1]; ldr q2, [x1, #32]; mov v3.16b, v2.16b; fmla v3.4s, v0.4s, v1.4s; mrs x5, fpsr; str x5, [x2, #96]; msr fpsr, xzr; mov v4.16b, v2.16b; fmla v4.2s, v1.2s, v0.2s; mrs x5, fpsr; str x5, [x2, #104]; msr fpsr, xzr; fmul v5.4s, v0.4s, v1.4s; mrs x5, fpsr; str x5, [x2, #112]; msr fpsr, xzr; fmul s6, s1, s0; mrs x5, fpsr; str x5, [x2, #120]; msr fpsr, xzr; fadd v7.4s, v0.4s, v1.4s; mrs x5, fpsr; str x5, [x2, #128]; msr fpsr, xzr; fsub v8.4s, v1.4s, v0.4s; mrs x5, fpsr; str x5, [x2, #136]; msr fpsr, xzr; stp q3, q4, [x2]; stp q5, q6, [x2, #32]; stp q7, q8, [x2, #64]; add x1, x1, #48; add x2, x2, #144; subs x3, x3, #1; b.ne 1b; hvc #0xf00d`
const SINGLES_ELEMENT_FAST = asm`1: ldp q0, q1, [x1]; ldr q2, [x1, #32]; mov v3.16b, v2.16b; fmla v3.4s, v0.4s, v1.s[1]; mrs x5, fpsr; str x5, [x2, #96]; msr fpsr, xzr; mov v4.16b, v2.16b; fmls v4.2s, v1.2s, v0.s[3]; mrs x5, fpsr; str x5, [x2, #104]; msr fpsr, xzr; fmul v5.4s, v0.4s, v1.s[2]; mrs x5, fpsr; str x5, [x2, #112]; msr fpsr, xzr; mov v6.16b, v2.16b; fmls v6.4s, v0.4s, v1.4s; mrs x5, fpsr; str x5, [x2, #120]; msr fpsr, xzr; stp q3, q4, [x2]; stp q5, q6, [x2, #32]; add x1, x1, #48; add x2, x2, #144; subs x3, x3, #1; b.ne 1b; hvc #0xf00d`
const DOUBLES_ELEMENT_FAST = asm`1: ldp q0, q1, [x1]; ldr q2, [x1, #32]; mov v3.16b, v2.16b; fmla v3.2d, v0.2d, v1.d[1]; mrs x5, fpsr; str x5, [x2, #96]; msr fpsr, xzr; mov v4.16b, v2.16b; fmls v4.2d, v1.2d, v0.d[0]; mrs x5, fpsr; str x5, [x2, #104]; msr fpsr, xzr; mov v5.16b, v2.16b; fmls v5.2d, v0.2d, v1.2d; mrs x5, fpsr; str x5, [x2, #112]; msr fpsr, xzr; fmul v6.2d, v0.2d, v1.d[1]; mrs x5, fpsr; str x5, [x2, #120]; msr fpsr, xzr; stp q3, q4, [x2]; stp q5, q6, [x2, #32]; add x1, x1, #48; add x2, x2, #144; subs x3, x3, #1; b.ne 1b; hvc #0xf00d`
const DOUBLES_FAST = asm`1: ldp q0, q1, [x1]; ldr q2, [x1, #32]; mov v3.16b, v2.16b; fmla v3.2d, v0.2d, v1.2d; mrs x5, fpsr; str x5, [x2, #96]; msr fpsr, xzr; mov v4.16b, v2.16b; fmla v4.2d, v1.2d, v0.2d; mrs x5, fpsr; str x5, [x2, #104]; msr fpsr, xzr; fmul v5.2d, v0.2d, v1.2d; mrs x5, fpsr; str x5, [x2, #112]; msr fpsr, xzr; fmul d6, d1, d0; mrs x5, fpsr; str x5, [x2, #120]; msr fpsr, xzr; fadd v7.2d, v0.2d, v1.2d; mrs x5, fpsr; str x5, [x2, #128]; msr fpsr, xzr; fsub v8.2d, v1.2d, v0.2d; mrs x5, fpsr; str x5, [x2, #136]; msr fpsr, xzr; stp q3, q4, [x2]; stp q5, q6, [x2, #32]; stp q7, q8, [x2, #64]; add x1, x1, #48; add x2, x2, #144; subs x3, x3, #1; b.ne 1b; hvc #0xf00d`

describe('FMLA and FMUL in wasm: the operands the fast path takes', () => {
  let seed = 0x1357_9bdf
  const next = (): number => (seed = (Math.imul(seed, 1_103_515_245) + 12_345) >>> 0)
  const f32 = (x: number): bigint => BigInt(new Uint32Array(new Float32Array([x]).buffer)[0]!)
  const f64 = (x: number): bigint => new BigUint64Array(new Float64Array([x]).buffer)[0]!
  /** A factor: a signed zero, a small integer or half, or a number of 12 random bits and a moderate exponent (inexact products). */
  const factor = (): number => {
    const k = next() % 8
    if (k === 0) return next() % 2 === 0 ? 0 : -0
    if (k < 4) return ((next() % 4000) - 2000) / 8
    return ((next() % 4096) + 4096) * 2 ** ((next() % 40) - 46) * (next() % 2 === 0 ? 1 : -1)
  }
  /** An addend: a factor, a subnormal, or the negated product of two factors set up by the caller. */
  const rows = (lanes: number, bits: (x: number) => bigint, subnormals: bigint[], width: bigint): bigint[] => {
    const table: bigint[] = []
    for (let r = 0; r < 60; r++) {
      const a: number[] = []
      const b: number[] = []
      const c: bigint[] = []
      for (let i = 0; i < lanes; i++) {
        a.push(factor())
        b.push(factor())
        const k = next() % 6
        // Cancels exactly (a * b is exact for these when small), a subnormal, or a factor.
        c.push(k === 0 ? bits(-(a[i]! * b[i]!)) : k === 1 && subnormals.length > 0 ? subnormals[next() % subnormals.length]! : bits(factor()))
      }
      const pack = (v: bigint[]): bigint => v.reduce((acc, x, i) => acc | (x << (width * BigInt(i))), 0n)
      table.push(pack(a.map(bits)), pack(b.map(bits)), pack(c))
    }
    // Sums that are zeros of either sign, exact: FADD/FSUB's zero results.
    const pack = (v: number[]): bigint => v.slice(0, lanes).reduce((acc, x, i) => acc | (bits(x) << (width * BigInt(i))), 0n)
    table.push(pack([0, -0, 1.5, -2]), pack([-0, -0, -1.5, 2]), pack([1, 1, 1, 1]))
    return table
  }
  // FPCR.FZ = 1 too, with no subnormal operand (one would be flushed: the handler's).
  const FZ = 0x0100_0000n
  test.each([
    ['singles (FMLA .4S, .2S; FMUL .4S, S; FADD, FSUB .4S)', SINGLES_FAST, rows(4, f32, [1n, 0x007f_ffffn, 0x8000_0001n, 0x0040_0000n], 32n), 0n],
    ['doubles (FMLA .2D; FMUL .2D, D; FADD, FSUB .2D)', DOUBLES_FAST, rows(2, f64, [1n, 0x000f_ffff_ffff_ffffn, 0x8000_0000_0000_0001n], 64n), 0n],
    ['singles, FZ', SINGLES_FAST, rows(4, f32, [], 32n), FZ],
    ['doubles, FZ', DOUBLES_FAST, rows(2, f64, [], 64n), FZ],
    // (No subnormal addends: a zero element zeroes every product of the row, and a subnormal sum is the handler's.)
    ['singles by element (FMLA, FMLS, FMUL; FMLS .4S)', SINGLES_ELEMENT_FAST, rows(4, f32, [], 32n), 0n],
    ['doubles by element (FMLA, FMLS, FMUL; FMLS .2D)', DOUBLES_ELEMENT_FAST, rows(2, f64, [1n, 0x000f_ffff_ffff_ffffn], 64n), 0n],
    ['singles by element, FZ', SINGLES_ELEMENT_FAST, rows(4, f32, [], 32n), FZ],
    ['doubles by element, FZ', DOUBLES_ELEMENT_FAST, rows(2, f64, [], 64n), FZ],
  ])('%s: no handler run, the interpreter\'s results and FPSR', (_, program, table, fpcr) => {
    const reference = arithRun(false, table, fpcr, program, 144)
    const { result, names } = handlerRuns(() => arithRun(true, table, fpcr, program, 144), program)
    expect(result).toBe(reference)
    // (MRS and MSR of FPSR go through their handler.)
    expect(names.filter((n) => !n.startsWith('M'))).toEqual([])
  })
})

// Integer Advanced SIMD in WebAssembly SIMD (emit-fp-int.ts) and SCVTF/UCVTF of 32-bit lanes:
// every form the tier does, in several arrangements, over edge and random lanes, against the
// interpreter (registers, memory, FPSR after each conversion), under every FPCR rounding mode
// and FZ/DN, with no handler run under round to nearest.
// A round: q0-q3 from x1 (x6 from its second doubleword); the three-same, long, permute and
// shift forms into v4-v31 (stored: 448 bytes); then DUP, INS, EXT, UMOV and the conversions,
// FPSR read and cleared after each (240 bytes).
const INT = asm`1: ldp q0, q1, [x1]; ldp q2, q3, [x1, #32]; ldr x6, [x1, #8]; add v4.16b, v0.16b, v1.16b; sub v5.8h, v0.8h, v1.8h; add v6.2d, v0.2d, v1.2d; sub v7.2s, v2.2s, v3.2s; mul v8.4s, v0.4s, v1.4s; mul v9.4h, v2.4h, v3.4h; mov v10.16b, v2.16b; mla v10.4s, v0.4s, v1.4s; mov v11.16b, v3.16b; mls v11.8h, v0.8h, v1.8h; mov v12.16b, v3.16b; mls v12.2s, v0.2s, v1.2s; umull v13.2d, v0.2s, v1.2s; umull2 v14.2d, v0.4s, v1.4s; smull v15.4s, v2.4h, v3.4h; smull2 v16.8h, v2.16b, v3.16b; uzp2 v17.4s, v0.4s, v1.4s; uzp1 v18.8b, v2.8b, v3.8b; zip1 v19.8h, v0.8h, v1.8h; zip2 v20.2s, v2.2s, v3.2s; trn1 v21.16b, v0.16b, v1.16b; trn2 v22.2d, v2.2d, v3.2d; ushr v23.4s, v0.4s, #6; sshr v24.8h, v1.8h, #16; ushr v25.2d, v2.2d, #64; mov v26.16b, v3.16b; usra v26.4s, v0.4s, #1; mov v27.16b, v3.16b; ssra v27.8b, v1.8b, #8; shl v28.2d, v2.2d, #63; ushll v29.2d, v0.2s, #0; sshll2 v30.4s, v1.8h, #5; ushll2 v31.8h, v2.16b, #7; stp q4, q5, [x2]; stp q6, q7, [x2, #32]; stp q8, q9, [x2, #64]; stp q10, q11, [x2, #96]; stp q12, q13, [x2, #128]; stp q14, q15, [x2, #160]; stp q16, q17, [x2, #192]; stp q18, q19, [x2, #224]; stp q20, q21, [x2, #256]; stp q22, q23, [x2, #288]; stp q24, q25, [x2, #320]; stp q26, q27, [x2, #352]; stp q28, q29, [x2, #384]; stp q30, q31, [x2, #416]; add x2, x2, #448; dup v4.4s, w6; dup v5.8b, w6; dup v6.2d, x6; ins v7.s[1], w6; ins v8.b[13], w6; ins v8.h[6], v1.h[2]; ins v7.d[0], v3.d[1]; ext v9.16b, v0.16b, v1.16b, #5; ext v10.8b, v2.8b, v3.8b, #3; umov w9, v0.h[5]; umov x10, v1.d[1]; umov w11, v2.b[15]; scvtf v12.4s, v0.4s; mrs x5, fpsr; str x5, [x2, #144]; msr fpsr, xzr; ucvtf v13.2s, v1.2s; mrs x5, fpsr; str x5, [x2, #152]; msr fpsr, xzr; scvtf v14.2s, v2.2s; mrs x5, fpsr; str x5, [x2, #160]; msr fpsr, xzr; ucvtf v15.4s, v3.4s; mrs x5, fpsr; str x5, [x2, #168]; msr fpsr, xzr; stp q4, q5, [x2]; stp q6, q7, [x2, #32]; str q8, [x2, #64]; stp q12, q13, [x2, #80]; stp q14, q15, [x2, #112]; str x9, [x2, #176]; str x10, [x2, #184]; str x11, [x2, #192]; stp q9, q10, [x2, #208]; add x2, x2, #240; add x1, x1, #64; subs x3, x3, #1; b.ne 1b; hvc #0xf00d`

describe('integer Advanced SIMD and SCVTF/UCVTF (vector) in wasm', () => {
  let seed = 0x5bd1_e995
  const next = (): number => (seed = (Math.imul(seed, 1_103_515_245) + 12_345) >>> 0)
  // 32-bit lanes for the conversions' edges: zero, small, 2^24 +- 1 (the last exact), 2^24 + 1
  // and 2^25 + 2 (ties), the largest and least integers, near 2^31 and 2^32 (rounding up to them).
  const edges = [0, 1, 0xffff_ffff, 0x00ff_ffff, 0x0100_0000, 0x0100_0001, 0x0200_0002, 0x0200_0006, 0x7fff_ffff, 0x8000_0000, 0x8000_0001, 0x7fff_ff80, 0x7fff_ffc0, 0xffff_ff80, 0xffff_ff7f, 0x7fff_ff7f, 0xfeff_ffff, 0x0000_8000, 0x8000_0080]
  const lane = (): number => (next() % 3 === 0 ? edges[next() % edges.length]! : next() % 2 === 0 ? next() : next() % 256)
  const value = (): bigint => [0, 1, 2, 3].reduce((acc, i) => acc | (BigInt(lane() >>> 0) << BigInt(32 * i)), 0n)
  const rows: bigint[] = []
  for (let r = 0; r < 50; r++) for (let k = 0; k < 4; k++) rows.push(value())
  // Rounds whose conversions are all exact (IXC stays clear), between inexact ones.
  for (let r = 0; r < 6; r++) for (let k = 0; k < 4; k++) rows.splice(4 * (8 * r + 3) + k, 0, BigInt(next() % 1000) | (BigInt(next() % 1000) << 32n) | (0x0100_0000n << 64n) | (0xff00_0000n << 96n))

  test('round to nearest: the interpreter\'s registers, stores and FPSR, and no handler run', () => {
    const reference = arithRun(false, rows, 0n, INT, 688, 4)
    const { result, names } = handlerRuns(() => arithRun(true, rows, 0n, INT, 688, 4), INT)
    expect(result).toBe(reference)
    // (MRS and MSR of FPSR go through their handler.)
    expect(names.filter((n) => !n.startsWith('M'))).toEqual([])
  })

  test.each([0x0040_0000n, 0x0080_0000n, 0x00c0_0000n, 0x0100_0000n, 0x0200_0000n, 0x0340_0000n].map((v) => [v.toString(16), v] as const))('FPCR %s: the interpreter\'s results and FPSR', (_, fpcr) => {
    const { result, names } = handlerRuns(() => arithRun(true, rows, fpcr, INT, 688, 4), INT)
    expect(result).toBe(arithRun(false, rows, fpcr, INT, 688, 4))
    // Directed rounding: the conversions go to their handler; nothing else does.
    const rmode = (fpcr >> 22n) & 3n
    const handled = names.filter((n) => !n.startsWith('M'))
    if (rmode !== 0n) expect(new Set(handled)).toEqual(new Set(['SCVTF_v', 'UCVTF_v']))
    else expect(handled).toEqual([])
  })
})

// LD1R (one register, every arrangement; no offset, post-index by an immediate and by a
// register, SP-based), x1 stepping 3 bytes a round (misaligned), x10 walking across a page.
const LD1R = asm`add x9, x1, #0x101; add x10, x1, #0xf80; mov x11, #8; mov x12, #2; 1: ld1r {v0.8b}, [x1]; ld1r {v1.16b}, [x9]; ld1r {v2.4h}, [x9]; ld1r {v3.8h}, [x1]; ld1r {v4.2s}, [x10]; ld1r {v5.4s}, [x1]; ld1r {v6.1d}, [x10]; ld1r {v7.2d}, [x1]; ld1r {v8.4s}, [x9], #4; ld1r {v9.2d}, [x10], x11; ld1r {v10.8h}, [x9], x12; ld1r {v11.16b}, [sp]; ld1r {v12.2d}, [x10], #8; ld1r {v13.2s}, [x9], x11; stp q0, q1, [x2]; stp q2, q3, [x2, #32]; stp q4, q5, [x2, #64]; stp q6, q7, [x2, #96]; stp q8, q9, [x2, #128]; stp q10, q11, [x2, #160]; stp q12, q13, [x2, #192]; add x2, x2, #224; add x1, x1, #3; subs x3, x3, #1; b.ne 1b; hvc #0xf00d`

describe('LD1R in wasm', () => {
  test('every arrangement and addressing form, misaligned and across a page: the interpreter\'s registers, memory and count, no handler run', () => {
    for (const offset of [0, 1, 0xfe9]) {
      const reference = run(false, 24, offset, undefined, LD1R)
      const { result, names } = handlerRuns(() => run(true, 24, offset, undefined, LD1R), LD1R)
      expect(result.state, `offset ${offset}`).toBe(reference.state)
      expect(result.translated).toBeGreaterThan(20 * 25)
      // The element across the page (x10's walk) leaves the translation (a side exit), no handler.
      expect(names).toEqual([])
    }
  })

  test('FP/SIMD turned off between runs: the trap from inside the translation', () => {
    for (const cut of [34, 63, 91]) {
      const reference = run(false, 10, 0, cut, LD1R)
      const esr = BigInt('0x' + (JSON.parse(reference.state.split('\n')[1]!) as { sys: string[] }).sys[0]!)
      expect(esr >> 26n).toBe(7n)
      expect(run(true, 10, 0, cut, LD1R).state, `cut ${cut}`).toBe(reference.state)
    }
  })
})

describe('the QEMU-recorded FP/SIMD guests with the compiled tier on', () => {
  test.each(FPSIMD_GUESTS)('%s, first 4 M instructions: QEMU\'s lines', (guest) => {
    const translated = runFpsimdGuest(guest, 4_000_000, { threshold: 1 })
    expect(translated.forms).toBeGreaterThan(0)
    expect(translated.output).toBe(translated.expected)
  })
  test('bench-memcpy whole at the default threshold: QEMU\'s output, nearly all of it retired in translations', () => {
    const run = runFpsimdGuest('bench-memcpy', undefined, {})
    expect(run.output).toBe(run.expected)
    expect(run.translatedShare).toBeGreaterThan(0.9)
  })
  test.each(['bench-matmul', 'bench-dot'])('%s, first 6 M instructions at the default threshold: the interpreter\'s registers, V registers and FPSR', (guest) => {
    const state = (jit: boolean): string => {
      const { machine } = runGuest(`fpsimd/${guest}`, 6_000_000, true, undefined, jit ? {} : undefined)
      return snapshot(machine.cpu, '')
    }
    expect(state(true)).toBe(state(false))
  })
})
