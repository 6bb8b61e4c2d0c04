import { describe, expect, test } from 'vitest'
import fc from 'fast-check'
import {
  add32, add64, alu, asr64, cls64, clz64, crc32, decodeBitMasks, lsl64, lsr64, mul32x32, mul64, rbit32, rev16, rev32,
  ror64, sdiv64, smulh, udiv64, umulh, R_C, R_HI, R_LO, R_N, R_V, R_Z,
} from './alu.js'

// BigInt reference, used only here.
const M64 = (1n << 64n) - 1n
const lo = (x: bigint): number => Number(x & 0xffffffffn)
const hi = (x: bigint): number => Number((x >> 32n) & 0xffffffffn)
const got = (): bigint => (BigInt(alu[R_HI]!) << 32n) | BigInt(alu[R_LO]!)
const signed = (x: bigint): bigint => (x & (1n << 63n) ? x - (1n << 64n) : x)
const u64 = fc.oneof(
  fc.bigInt({ min: 0n, max: M64 }),
  fc.constantFrom(0n, 1n, M64, 1n << 63n, (1n << 63n) - 1n, 0xffffffffn, 1n << 32n),
)

describe('add64 / add32 match AddWithCarry', () => {
  test('64-bit', () => {
    fc.assert(
      fc.property(u64, u64, fc.integer({ min: 0, max: 1 }), (a, b, c) => {
        add64(lo(a), hi(a), lo(b), hi(b), c)
        const usum = a + b + BigInt(c)
        const ssum = signed(a) + signed(b) + BigInt(c)
        const r = usum & M64
        expect(got()).toBe(r)
        expect(alu[R_N]).toBe(Number(r >> 63n))
        expect(alu[R_Z]).toBe(r === 0n ? 1 : 0)
        expect(alu[R_C]).toBe(usum === r ? 0 : 1)
        expect(alu[R_V]).toBe(signed(r) === ssum ? 0 : 1)
      }),
    )
  })
  test('32-bit', () => {
    fc.assert(
      fc.property(fc.nat({ max: 0xffffffff }), fc.nat({ max: 0xffffffff }), fc.integer({ min: 0, max: 1 }), (a, b, c) => {
        add32(a, b, c)
        const usum = BigInt(a) + BigInt(b) + BigInt(c)
        const s32 = (x: number): number => x | 0
        const r = Number(usum & 0xffffffffn)
        expect(alu[R_LO]).toBe(r)
        expect(alu[R_C]).toBe(usum > 0xffffffffn ? 1 : 0)
        expect(alu[R_V]).toBe(s32(a) + s32(b) + c === s32(r) ? 0 : 1)
      }),
    )
  })
  test('hand-checked: 0x7fffffffffffffff + 1 overflows signed, not unsigned', () => {
    add64(0xffffffff, 0x7fffffff, 1, 0, 0)
    expect([alu[R_N], alu[R_Z], alu[R_C], alu[R_V]]).toEqual([1, 0, 0, 1])
    // CMP x, x -> Z and C set (SUBS = a + ~b + 1).
    add64(5, 0, ~5 >>> 0, 0xffffffff, 1)
    expect([alu[R_N], alu[R_Z], alu[R_C], alu[R_V]]).toEqual([0, 1, 1, 0])
  })
})

describe('shifts', () => {
  test('lsl/lsr/asr/ror', () => {
    fc.assert(
      fc.property(u64, fc.integer({ min: 0, max: 63 }), (a, n) => {
        const N = BigInt(n)
        lsl64(lo(a), hi(a), n)
        expect(got()).toBe((a << N) & M64)
        lsr64(lo(a), hi(a), n)
        expect(got()).toBe(a >> N)
        asr64(lo(a), hi(a), n)
        expect(got()).toBe((signed(a) >> N) & M64)
        ror64(lo(a), hi(a), n)
        expect(got()).toBe(((a >> N) | (a << (64n - N))) & M64)
      }),
    )
  })
})

describe('multiply and divide', () => {
  test('mul64, umulh, smulh', () => {
    fc.assert(
      fc.property(u64, u64, (a, b) => {
        mul64(lo(a), hi(a), lo(b), hi(b))
        expect(got()).toBe((a * b) & M64)
        umulh(lo(a), hi(a), lo(b), hi(b))
        expect(got()).toBe((a * b) >> 64n)
        smulh(lo(a), hi(a), lo(b), hi(b))
        expect(got()).toBe(((signed(a) * signed(b)) >> 64n) & M64)
      }),
    )
  })
  test('32x32 -> 64', () => {
    fc.assert(
      fc.property(fc.nat({ max: 0xffffffff }), fc.nat({ max: 0xffffffff }), (a, b) => {
        mul32x32(a, b, false)
        expect(got()).toBe(BigInt(a) * BigInt(b))
        mul32x32(a, b, true)
        expect(got()).toBe((BigInt(a | 0) * BigInt(b | 0)) & M64)
      }),
    )
  })
  test('udiv/sdiv', () => {
    fc.assert(
      fc.property(u64, u64, (a, b) => {
        udiv64(lo(a), hi(a), lo(b), hi(b))
        expect(got()).toBe(b === 0n ? 0n : a / b)
        sdiv64(lo(a), hi(a), lo(b), hi(b))
        expect(got()).toBe(b === 0n ? 0n : (signed(a) / signed(b)) & M64)
      }),
    )
  })
  test('hand-checked: INT64_MIN / -1 = INT64_MIN; 7 / 0 = 0', () => {
    sdiv64(0, 0x80000000, 0xffffffff, 0xffffffff)
    expect(got()).toBe(1n << 63n)
    udiv64(7, 0, 0, 0)
    expect(got()).toBe(0n)
  })
})

describe('bit operations', () => {
  test('clz/cls', () => {
    fc.assert(
      fc.property(u64, (a) => {
        const s = a.toString(2).padStart(64, '0')
        const lz = s.indexOf('1') === -1 ? 64 : s.indexOf('1')
        expect(clz64(lo(a), hi(a))).toBe(lz)
        const sign = s[0]!
        let ls = 0
        while (ls + 1 < 64 && s[ls + 1] === sign) ls++
        expect(cls64(lo(a), hi(a))).toBe(ls)
      }),
    )
  })
  test('rbit, rev', () => {
    expect(rbit32(1)).toBe(0x80000000)
    expect(rbit32(0x12345678)).toBe(0x1e6a2c48)
    expect(rev32(0x12345678)).toBe(0x78563412)
    expect(rev16(0x12345678)).toBe(0x34127856)
  })
  test('crc32 of "123456789" is the standard check value', () => {
    const data = [...'123456789'].map((c) => c.charCodeAt(0))
    let c = 0xffffffff
    let k = 0xffffffff
    for (const b of data) {
      c = crc32(c, b, 0, 1, false)
      k = crc32(k, b, 0, 1, true)
    }
    expect((~c) >>> 0).toBe(0xcbf43926)
    expect((~k) >>> 0).toBe(0xe3069283)
    // Wider steps equal byte steps.
    const w = crc32(0xffffffff, 0x34333231, 0x38373635, 8, false)
    let b1 = 0xffffffff
    for (const b of data.slice(0, 8)) b1 = crc32(b1, b, 0, 1, false)
    expect(w).toBe(b1)
  })
  test('word and doubleword steps equal byte steps for any data', () => {
    fc.assert(
      fc.property(fc.nat({ max: 0xffffffff }), fc.nat({ max: 0xffffffff }), fc.nat({ max: 0xffffffff }), fc.boolean(), (acc, lo, hi, k) => {
        let bytewise = acc
        for (let i = 0; i < 8; i++) bytewise = crc32(bytewise, i < 4 ? lo >>> (8 * i) : hi >>> (8 * (i - 4)), 0, 1, k)
        expect(crc32(acc, lo, hi, 8, k)).toBe(bytewise)
        let half = acc
        for (let i = 0; i < 2; i++) half = crc32(half, (lo >>> (16 * i)) & 0xffff, 0, 2, k)
        expect(crc32(acc, lo, 0, 4, k)).toBe(half)
      }),
    )
  })
})

describe('DecodeBitMasks', () => {
  test('logical immediates as llvm-mc encodes them', () => {
    // and x0, x0, #0xff -> N=1 immr=0 imms=7
    expect(decodeBitMasks(1, 7, 0, true, 64)).toMatchObject({ wmaskLo: 0xff, wmaskHi: 0 })
    // orr w0, w0, #0x55555555 -> N=0 immr=0 imms=0x3c
    expect(decodeBitMasks(0, 0x3c, 0, true, 32)).toMatchObject({ wmaskLo: 0x55555555, wmaskHi: 0 })
    // and x0, x0, #0xfffffffffffffffe -> N=1 immr=63 imms=62
    expect(decodeBitMasks(1, 62, 63, true, 64)).toMatchObject({ wmaskLo: 0xfffffffe, wmaskHi: 0xffffffff })
    // all ones is reserved
    expect(decodeBitMasks(1, 63, 0, true, 64)).toBeUndefined()
    expect(decodeBitMasks(1, 0, 0, true, 32)).toBeUndefined()
  })
  test('matches a BigInt model for every 64-bit encoding', () => {
    for (let n = 0; n < 2; n++)
      for (let imms = 0; imms < 64; imms++)
        for (let immr = 0; immr < 64; immr++) {
          const m = decodeBitMasks(n, imms, immr, true, 64)
          const ref = refMask(n, imms, immr)
          if (ref === undefined) expect(m).toBeUndefined()
          else expect(m && (BigInt(m.wmaskHi) << 32n) | BigInt(m.wmaskLo)).toBe(ref)
        }
  })
})

function refMask(n: number, imms: number, immr: number): bigint | undefined {
  const combined = (n << 6) | (~imms & 0x3f)
  if (combined === 0) return undefined
  const len = 31 - Math.clz32(combined)
  if (len < 1) return undefined
  const levels = (1 << len) - 1
  if ((imms & levels) === levels) return undefined
  const esize = BigInt(1 << len)
  const s = BigInt(imms & levels)
  const r = BigInt(immr & levels)
  const emask = (1n << esize) - 1n
  const welem = (1n << (s + 1n)) - 1n
  const rot = ((welem >> r) | (welem << (esize - r))) & emask
  let out = 0n
  for (let i = 0n; i < 64n; i += esize) out |= rot << i
  return out
}
