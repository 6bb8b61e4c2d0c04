// Property tests: the FP library against the BigInt reference model (reference.ts), bit for bit
// and flag for flag, in every format, rounding mode and FZ/FZ16/DN/AHP setting.
import fc from 'fast-check'
import { describe, it } from 'vitest'
import { fpAdd, fpDiv, fpMul, fpMulAdd, fpSqrt, fpSub } from './arith.js'
import { fixedToFp, fpConvert, fpRoundInt, fpToFixed } from './convert.js'
import { DOUBLE, HALF, SINGLE, res, type Format } from './core.js'
import {
  R16,
  R32,
  R64,
  refAdd,
  refConvert,
  refDiv,
  refFixedToFp,
  refMul,
  refMulAdd,
  refRoundInt,
  refSqrt,
  refToFixed,
  type RefFormat,
} from './reference.js'
import type { FpStatus } from './status.js'

const PAIRS: [Format, RefFormat][] = [
  [HALF, R16],
  [SINGLE, R32],
  [DOUBLE, R64],
]
const RUNS = Number(process.env.FP_PROPERTY_RUNS ?? 4000)

function lo(bits: bigint): number {
  return Number(bits & 0xffffffffn)
}
function hi(bits: bigint): number {
  return Number((bits >> 32n) & 0xffffffffn)
}
function join(fmt: Format, l: number, h: number): bigint {
  return fmt.n === 64 ? (BigInt(h >>> 0) << 32n) | BigInt(l >>> 0) : BigInt(l >>> 0)
}

/** Operand bits: random patterns, special values, and values built to hit boundaries. */
function fpBits(ref: RefFormat): fc.Arbitrary<bigint> {
  const n = ref.n
  const fracBits = ref.f
  const expMax = (1 << ref.e) - 1
  const bias = (1 << (ref.e - 1)) - 1
  const exps = [0, 1, 2, bias - 2, bias - 1, bias, bias + 1, expMax - 2, expMax - 1, expMax]
  const field = fc.record({
    sign: fc.integer({ min: 0, max: 1 }),
    exp: fc.oneof(
      fc.constantFrom(...exps),
      fc.integer({ min: 0, max: expMax }),
      fc.integer({ min: Math.max(0, bias - fracBits - 4), max: Math.min(expMax, bias + fracBits + 4) }),
    ),
    frac: fc.bigInt({ min: 0n, max: (1n << BigInt(fracBits)) - 1n }),
    // Clear low bits to make ties and exact results likely.
    clear: fc.integer({ min: 0, max: fracBits }),
    top: fc.constantFrom(0n, 1n, 2n, 3n),
  })
  return fc.oneof(
    { weight: 3, arbitrary: fc.bigInt({ min: 0n, max: (1n << BigInt(n)) - 1n }) },
    {
      weight: 6,
      arbitrary: field.map(({ sign, exp, frac, clear, top }) => {
        let f = (frac >> BigInt(clear)) << BigInt(clear)
        if (clear === fracBits) f = top << BigInt(Math.max(0, fracBits - 2))
        return (BigInt(sign) << BigInt(n - 1)) | (BigInt(exp) << BigInt(fracBits)) | f
      }),
    },
  )
}
/** Operands with exponents at the bottom of the normal range or near 1: results straddle the smallest normal. */
function edgeBits(ref: RefFormat): fc.Arbitrary<bigint> {
  const bias = (1 << (ref.e - 1)) - 1
  return fc
    .record({
      sign: fc.integer({ min: 0, max: 1 }),
      exp: fc.constantFrom(0, 1, 2, 3, bias - 2, bias - 1, bias, bias + 1, bias + 2),
      frac: fc.bigInt({ min: 0n, max: (1n << BigInt(ref.f)) - 1n }),
      clear: fc.integer({ min: 0, max: ref.f }),
    })
    .map(({ sign, exp, frac, clear }) => {
      const f = (frac >> BigInt(clear)) << BigInt(clear)
      return (BigInt(sign) << BigInt(ref.n - 1)) | (BigInt(exp) << BigInt(ref.f)) | f
    })
}
const fpcrArb = fc
  .record({
    rmode: fc.integer({ min: 0, max: 3 }),
    fz: fc.boolean(),
    dn: fc.boolean(),
    ahp: fc.boolean(),
    fz16: fc.boolean(),
  })
  .map(({ rmode, fz, dn, ahp, fz16 }) => (rmode << 22) | (+fz << 24) | (+dn << 25) | (+ahp << 26) | (+fz16 << 19))

function check(name: string, got: bigint, gotFlags: number, want: bigint, wantFlags: number, info: unknown): void {
  if (got !== want || gotFlags !== wantFlags) {
    throw new Error(
      `${name}: got ${got.toString(16)} flags ${gotFlags.toString(16)}, want ${want.toString(16)} flags ${wantFlags.toString(16)} for ${JSON.stringify(info, (_k, v) => (typeof v === 'bigint' ? v.toString(16) : v))}`,
    )
  }
}

type LibBinary = (st: FpStatus, f: Format, al: number, ah: number, bl: number, bh: number) => number
type RefBinary = (st: FpStatus, f: RefFormat, a: bigint, b: bigint) => bigint

describe('FP arithmetic matches the BigInt reference', () => {
  const binaries: [string, LibBinary, RefBinary][] = [
    ['add', fpAdd, (st, f, a, b) => refAdd(st, f, a, b)],
    ['sub', fpSub, (st, f, a, b) => refAdd(st, f, a, b, true)],
    ['mul', fpMul, refMul],
    ['div', fpDiv, refDiv],
  ]
  for (const [fmt, ref] of PAIRS) {
    for (const [name, lib, refOp] of binaries) {
      it(`${name} f${fmt.n}`, () => {
        fc.assert(
          fc.property(fpBits(ref), fpBits(ref), fpcrArb, (a, b, fpcr) => {
            const st = { fpcr, fpsr: 0 }
            const r = lib(st, fmt, lo(a), hi(a), lo(b), hi(b))
            const got = join(fmt, r, res.hi)
            const rs = { fpcr, fpsr: 0 }
            check(name, got, st.fpsr, refOp(rs, ref, a, b), rs.fpsr, { a, b, fpcr })
          }),
          { numRuns: RUNS },
        )
      })
    }
    it(`add, mul and fma f${fmt.n} around the smallest normal (tininess, FZ)`, () => {
      fc.assert(
        fc.property(edgeBits(ref), edgeBits(ref), edgeBits(ref), fpcrArb, (a, b, c, fpcr) => {
          for (const [name, lib, refOp] of binaries) {
            if (name === 'div') continue
            const st = { fpcr, fpsr: 0 }
            const got = join(fmt, lib(st, fmt, lo(a), hi(a), lo(b), hi(b)), res.hi)
            const rs = { fpcr, fpsr: 0 }
            check(name, got, st.fpsr, refOp(rs, ref, a, b), rs.fpsr, { a, b, fpcr })
          }
          const st = { fpcr, fpsr: 0 }
          const got = join(fmt, fpMulAdd(st, fmt, lo(c), hi(c), lo(a), hi(a), lo(b), hi(b)), res.hi)
          const rs = { fpcr, fpsr: 0 }
          check('fma-edge', got, st.fpsr, refMulAdd(rs, ref, c, a, b), rs.fpsr, { c, a, b, fpcr })
        }),
        { numRuns: RUNS },
      )
    })
    it(`sqrt f${fmt.n}`, () => {
      fc.assert(
        fc.property(fpBits(ref), fpcrArb, (a, fpcr) => {
          const st = { fpcr, fpsr: 0 }
          const got = join(fmt, fpSqrt(st, fmt, lo(a), hi(a)), res.hi)
          const rs = { fpcr, fpsr: 0 }
          check('sqrt', got, st.fpsr, refSqrt(rs, ref, a), rs.fpsr, { a, fpcr })
        }),
        { numRuns: RUNS },
      )
    })
    it(`fused multiply-add f${fmt.n}`, () => {
      fc.assert(
        fc.property(fpBits(ref), fpBits(ref), fpBits(ref), fpcrArb, (c, a, b, fpcr) => {
          const st = { fpcr, fpsr: 0 }
          const got = join(fmt, fpMulAdd(st, fmt, lo(c), hi(c), lo(a), hi(a), lo(b), hi(b)), res.hi)
          const rs = { fpcr, fpsr: 0 }
          check('fma', got, st.fpsr, refMulAdd(rs, ref, c, a, b), rs.fpsr, { c, a, b, fpcr })
        }),
        { numRuns: RUNS * 2 },
      )
    })
    it(`fused multiply-add f${fmt.n} with an addend cancelling the product`, () => {
      // The addend is the product rounded (in any mode), nudged by a few units: massive cancellation.
      fc.assert(
        fc.property(
          fpBits(ref),
          fpBits(ref),
          fc.integer({ min: 0, max: 3 }),
          fc.integer({ min: -3, max: 3 }),
          fpcrArb,
          (a, b, pmode, nudge, fpcr) => {
            const ps = { fpcr: pmode << 22, fpsr: 0 }
            let p = refMul(ps, ref, a, b)
            p = (p ^ (1n << BigInt(ref.n - 1))) + BigInt(nudge)
            p = BigInt.asUintN(ref.n, p)
            const st = { fpcr, fpsr: 0 }
            const got = join(fmt, fpMulAdd(st, fmt, lo(p), hi(p), lo(a), hi(a), lo(b), hi(b)), res.hi)
            const rs = { fpcr, fpsr: 0 }
            check('fma-cancel', got, st.fpsr, refMulAdd(rs, ref, p, a, b), rs.fpsr, { p, a, b, fpcr })
          },
        ),
        { numRuns: RUNS },
      )
    })
    it(`fused multiply-add f${fmt.n} with a product near half an addend ulp`, () => {
      // c large, a * b around ulp(c) / 2 (ties decided by the product's low bits).
      fc.assert(
        fc.property(fpBits(ref), fpBits(ref), fc.integer({ min: -2, max: 2 }), fpcrArb, (c, a, shift, fpcr) => {
          const f = BigInt(ref.f)
          const expMask = (1n << BigInt(ref.e)) - 1n
          const ce = (c >> f) & expMask
          const ae = (a >> f) & expMask
          // b's exponent so that a * b sits at c's last place.
          const bias = BigInt((1 << (ref.e - 1)) - 1)
          const be = ce - f - 1n - ae + 2n * bias - bias + BigInt(shift)
          if (be <= 0n || be >= expMask || ce === expMask || ae === expMask || ae === 0n) return
          const b = (be << f) | (a & ((1n << f) - 1n))
          const st = { fpcr, fpsr: 0 }
          const got = join(fmt, fpMulAdd(st, fmt, lo(c), hi(c), lo(a), hi(a), lo(b), hi(b)), res.hi)
          const rs = { fpcr, fpsr: 0 }
          check('fma-halfulp', got, st.fpsr, refMulAdd(rs, ref, c, a, b), rs.fpsr, { c, a, b, fpcr })
        }),
        { numRuns: RUNS },
      )
    })
  }
})

describe('FP conversions match the BigInt reference', () => {
  for (const [to, refTo] of PAIRS) {
    for (const [from, refFrom] of PAIRS) {
      if (to === from) continue
      it(`FPConvert f${from.n} to f${to.n}`, () => {
        fc.assert(
          fc.property(fpBits(refFrom), fpcrArb, fc.boolean(), (a, fpcr, odd) => {
            const rmode = odd && from === DOUBLE && to === SINGLE ? 5 : (fpcr >> 22) & 3
            const st = { fpcr, fpsr: 0 }
            const got = join(to, fpConvert(st, to, from, lo(a), hi(a), rmode), res.hi)
            const rs = { fpcr, fpsr: 0 }
            check('convert', got, st.fpsr, refConvert(rs, refTo, refFrom, a, rmode === 5 ? 'odd' : rmode), rs.fpsr, {
              a,
              fpcr,
              rmode,
            })
          }),
          { numRuns: RUNS },
        )
      })
    }
    it(`FPToFixed from f${to.n}`, () => {
      fc.assert(
        fc.property(
          fpBits(refTo),
          fpcrArb,
          fc.constantFrom(16, 32, 64),
          fc.boolean(),
          fc.integer({ min: 0, max: 4 }),
          fc.integer({ min: 0, max: 64 }),
          (a, fpcr, m, unsigned, rmode, fbitsRaw) => {
            const fbits = Math.min(fbitsRaw, m)
            const st = { fpcr, fpsr: 0 }
            const r = fpToFixed(st, to, lo(a), hi(a), fbits, unsigned, m, rmode)
            const got = m === 64 ? (BigInt(res.hi >>> 0) << 32n) | BigInt(r >>> 0) : BigInt(r >>> 0)
            const rs = { fpcr, fpsr: 0 }
            check('toFixed', got, st.fpsr, refToFixed(rs, refTo, a, fbits, unsigned, m, rmode), rs.fpsr, {
              a,
              fpcr,
              m,
              unsigned,
              rmode,
              fbits,
            })
          },
        ),
        { numRuns: RUNS },
      )
    })
    it(`FixedToFP to f${to.n}`, () => {
      const intArb = fc.oneof(
        fc.bigInt({ min: 0n, max: (1n << 64n) - 1n }),
        fc.integer({ min: 0, max: 64 }).chain((k) => fc.bigInt({ min: 0n, max: (1n << BigInt(k)) - 1n })),
        fc.integer({ min: 0, max: 63 }).chain((k) =>
          fc.bigInt({ min: 0n, max: (1n << BigInt(k)) - 1n }).map((x) => BigInt.asUintN(64, -x)),
        ),
      )
      fc.assert(
        fc.property(intArb, fpcrArb, fc.constantFrom(16, 32, 64), fc.boolean(), fc.integer({ min: 0, max: 64 }), (x, fpcr, m, unsigned, fb) => {
          const pattern = BigInt.asUintN(m, x)
          const fbits = Math.min(fb, m)
          const rmode = (fpcr >> 22) & 3
          const st = { fpcr, fpsr: 0 }
          const got = join(to, fixedToFp(st, to, lo(pattern), hi(pattern), m, fbits, unsigned, rmode), res.hi)
          const rs = { fpcr, fpsr: 0 }
          check('fixedToFp', got, st.fpsr, refFixedToFp(rs, refTo, pattern, m, fbits, unsigned, rmode), rs.fpsr, {
            pattern,
            fpcr,
            m,
            fbits,
            unsigned,
          })
        }),
        { numRuns: RUNS },
      )
    })
    it(`FPRoundInt f${to.n}`, () => {
      fc.assert(
        fc.property(fpBits(refTo), fpcrArb, fc.integer({ min: 0, max: 4 }), fc.boolean(), (a, fpcr, rmode, exact) => {
          const st = { fpcr, fpsr: 0 }
          const got = join(to, fpRoundInt(st, to, lo(a), hi(a), rmode, exact), res.hi)
          const rs = { fpcr, fpsr: 0 }
          check('roundInt', got, st.fpsr, refRoundInt(rs, refTo, a, rmode, exact), rs.fpsr, { a, fpcr, rmode, exact })
        }),
        { numRuns: RUNS },
      )
    })
  }
})
