// Worked examples of the Arm rules the library follows (each one also runs through QEMU in the
// differential guests; here they are spelled out).
import { describe, expect, it } from 'vitest'
import {
  DOUBLE,
  FPCR_AHP,
  FPCR_DN,
  FPCR_FZ,
  FPCR_FZ16,
  FPSR_DZC,
  FPSR_IDC,
  FPSR_IOC,
  FPSR_IXC,
  FPSR_OFC,
  FPSR_UFC,
  HALF,
  RM,
  RP,
  RZ,
  SINGLE,
  fpAdd,
  fpConvert,
  fpMaxMin,
  fpMul,
  fpMulAdd,
  fpRecipEstimate,
  fpRoundIntN,
  fpStatus,
  fpToFixed,
  fpToFixedJS,
  res,
} from './index.js'

const one = 0x3f800000
const f64 = (x: number): [number, number] => {
  const w = new Uint32Array(new Float64Array([x]).buffer)
  return [w[0] as number, w[1] as number]
}
const f32 = (x: number): number => {
  const b = new Float32Array([x])
  return new Uint32Array(b.buffer)[0] as number
}

describe('rounding and flags', () => {
  it('rounds 1 + 2^-30 (single) to nearest, or up in round-toward-plus', () => {
    const tiny = f32(2 ** -30)
    const st = fpStatus()
    expect(fpAdd(st, SINGLE, one, 0, tiny, 0)).toBe(one)
    expect(st.fpsr).toBe(FPSR_IXC)
    const up = fpStatus(RP << 22)
    expect(fpAdd(up, SINGLE, one, 0, tiny, 0)).toBe(one + 1)
  })
  it('gives -0 for an exact zero sum only when rounding toward minus infinity', () => {
    expect(fpAdd(fpStatus(), SINGLE, one, 0, one ^ 0x80000000, 0)).toBe(0)
    expect(fpAdd(fpStatus(RM << 22), SINGLE, one, 0, (one ^ 0x80000000) >>> 0, 0)).toBe(0x80000000)
  })
  it('overflows to infinity (nearest) or the largest normal (toward zero), with OFC and IXC', () => {
    const big = 0x7f000000 // 2^127
    const st = fpStatus()
    expect(fpMul(st, SINGLE, big, 0, big, 0)).toBe(0x7f800000)
    expect(st.fpsr).toBe(FPSR_OFC | FPSR_IXC)
    expect(fpMul(fpStatus(RZ << 22), SINGLE, big, 0, big, 0)).toBe(0x7f7fffff)
  })
  it('flushes denormal inputs (IDC) and tiny results (UFC, no IXC) under FZ', () => {
    const st = fpStatus(FPCR_FZ)
    expect(fpAdd(st, SINGLE, 1, 0, one, 0)).toBe(one)
    expect(st.fpsr).toBe(FPSR_IDC)
    const st2 = fpStatus(FPCR_FZ)
    expect(fpMul(st2, SINGLE, 0x00800000, 0, 0x3f000000, 0)).toBe(0) // 2^-126 * 0.5
    expect(st2.fpsr).toBe(FPSR_UFC)
    // Without FZ the same product is an exact denormal: no flags at all.
    const st3 = fpStatus()
    expect(fpMul(st3, SINGLE, 0x00800000, 0, 0x3f000000, 0)).toBe(0x00400000)
    expect(st3.fpsr).toBe(0)
  })
  it('flushes half-precision denormals under FZ16 without IDC', () => {
    const st = fpStatus(FPCR_FZ16)
    expect(fpAdd(st, HALF, 0x0001, 0, 0x3c00, 0)).toBe(0x3c00)
    expect(st.fpsr).toBe(0)
  })
})

describe('NaNs', () => {
  it('prefers a signalling NaN, quiets it and raises IOC', () => {
    const st = fpStatus()
    expect(fpAdd(st, SINGLE, 0x7fc00001, 0, 0x7f800002, 0)).toBe(0x7fc00002)
    expect(st.fpsr).toBe(FPSR_IOC)
  })
  it('keeps the first operand payload for two quiet NaNs; DN gives the default NaN', () => {
    expect(fpAdd(fpStatus(), SINGLE, 0xffc00005, 0, 0x7fc00009, 0)).toBe(0xffc00005)
    expect(fpAdd(fpStatus(FPCR_DN), SINGLE, 0xffc00005, 0, 0x7fc00009, 0)).toBe(0x7fc00000)
  })
  it('makes FMAXNM ignore a quiet NaN but not FMAX', () => {
    expect(fpMaxMin(fpStatus(), SINGLE, 0x7fc00000, 0, one, 0, true, true)).toBe(one)
    expect(fpMaxMin(fpStatus(), SINGLE, 0x7fc00000, 0, one, 0, true, false)).toBe(0x7fc00000)
  })
  it('gives the default NaN for inf * 0 + qNaN in a fused multiply-add', () => {
    const st = fpStatus()
    expect(fpMulAdd(st, SINGLE, 0x7fc00123, 0, 0x7f800000, 0, 0, 0)).toBe(0x7fc00000)
    expect(st.fpsr).toBe(FPSR_IOC)
  })
})

describe('fused multiply-add rounds once', () => {
  it('keeps the low product bits that a separate multiply would lose', () => {
    // (1 + 2^-12)^2 - (1 + 2^-11) = 2^-24 exactly; a rounded product (a tie, to even) gives 0.
    const a = f32(1 + 2 ** -12)
    const st = fpStatus()
    expect(fpMulAdd(st, SINGLE, f32(-(1 + 2 ** -11)), 0, a, 0, a, 0)).toBe(f32(2 ** -24))
    expect(st.fpsr).toBe(0)
    expect(fpMul(fpStatus(), SINGLE, a, 0, a, 0)).toBe(f32(1 + 2 ** -11))
    // The same in double precision: (1 + 2^-30)(1 - 2^-30) - 1 = -2^-60.
    const [aLo, aHi] = f64(1 + 2 ** -30)
    const [bLo, bHi] = f64(1 - 2 ** -30)
    const [cLo, cHi] = f64(-1)
    const r = fpMulAdd(fpStatus(), DOUBLE, cLo, cHi, aLo, aHi, bLo, bHi)
    expect([r, res.hi]).toEqual(f64(-(2 ** -60)))
  })
})

describe('conversions', () => {
  it('converts 65520 to half: infinity in IEEE half, a number in the alternative format', () => {
    const x = f32(65520)
    const st = fpStatus()
    expect(fpConvert(st, HALF, SINGLE, x, 0, 0)).toBe(0x7c00)
    expect(st.fpsr).toBe(FPSR_OFC | FPSR_IXC)
    // In the alternative format exponent 31 is a binade of numbers: 65520 ties to 65536.
    const alt = fpStatus(FPCR_AHP)
    expect(fpConvert(alt, HALF, SINGLE, x, 0, 0)).toBe(0x7c00)
    expect(alt.fpsr).toBe(FPSR_IXC)
  })
  it('saturates out-of-range and NaN conversions to integers with IOC', () => {
    const st = fpStatus()
    expect(fpToFixed(st, SINGLE, f32(1e20), 0, 0, false, 32, RZ)).toBe(0x7fffffff)
    expect(st.fpsr).toBe(FPSR_IOC)
    expect(fpToFixed(fpStatus(), SINGLE, 0x7fc00000, 0, 0, false, 64, RZ)).toBe(0)
  })
  it('FJCVTZS wraps modulo 2^32 and reports exactness in Z', () => {
    const st = fpStatus()
    // 2^32 + 5: out of range (IOC), the result modulo 2^32 is 5, Z = 0.
    expect(fpToFixedJS(st, 0x00500000, 0x41f00000)).toBe(5)
    expect(st.fpsr).toBe(FPSR_IOC)
    expect(res.hi).toBe(0)
    const st2 = fpStatus()
    expect(fpToFixedJS(st2, 0x00000000, 0xc0080000)).toBe(0xfffffffd) // -3.0
    expect(res.hi).toBe(0b0100)
    expect(st2.fpsr).toBe(0)
    fpToFixedJS(fpStatus(), 0, 0x80000000) // -0.0: exact but Z = 0
    expect(res.hi).toBe(0)
  })
  it('FRINT32Z gives -2^31 for anything outside the int32 range', () => {
    const st = fpStatus()
    expect(fpRoundIntN(st, SINGLE, f32(3e9), 0, RZ, 32)).toBe(0xcf000000)
    expect(st.fpsr).toBe(FPSR_IOC)
  })
})

describe('estimates', () => {
  it('FRECPE of 1.0 is 0.998046875 (Arm table), of 0 is infinity with DZC', () => {
    expect(fpRecipEstimate(fpStatus(), SINGLE, one, 0)).toBe(f32(0.998046875))
    const st = fpStatus()
    expect(fpRecipEstimate(st, SINGLE, 0x80000000, 0)).toBe(0xff800000)
    expect(st.fpsr).toBe(FPSR_DZC)
  })
})

describe('fpDiv near the largest double', () => {
  it('an exact quotient of a dividend near MAX64 raises no IXC (the fast path\'s split product must not overflow)', async () => {
    const { fpDiv: div } = await import('./arith.js')
    const { DOUBLE: double } = await import('./core.js')
    const st = { fpcr: 0, fpsr: 0 }
    // 0x7feffffffc000000 / 2^29 = 0x7e1ffffffc000000, exactly (fast-check found it: IXC was set).
    const lo = div(st as Parameters<typeof div>[0], double, 0xfc000000 | 0, 0x7fefffff, 0, 0x41c00000)
    expect(lo >>> 0).toBe(0xfc000000)
    expect(st.fpsr).toBe(0)
  })
})
