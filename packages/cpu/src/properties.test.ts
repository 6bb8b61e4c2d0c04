// Property tests: random operands through real instruction words, checked against a
// BigInt model of the Arm pseudocode (used only here).
import { expect, test } from 'vitest'
import fc from 'fast-check'
import { CODE, load, makeMachine } from './test-helpers.js'

const M64 = (1n << 64n) - 1n
const M32 = 0xffff_ffffn
const s64 = (x: bigint): bigint => (x & (1n << 63n) ? x - (1n << 64n) : x)
const s32 = (x: bigint): bigint => (x & (1n << 31n) ? x - (1n << 32n) : x)

/** AddWithCarry(x, y, carry) for N bits: [result, NZCV]. */
function addWithCarry(x: bigint, y: bigint, carry: bigint, bits: 32 | 64): [bigint, number] {
  const mask = bits === 64 ? M64 : M32
  const signed = bits === 64 ? s64 : s32
  const usum = (x & mask) + (y & mask) + carry
  const ssum = signed(x & mask) + signed(y & mask) + carry
  const r = usum & mask
  const n = Number(r >> BigInt(bits - 1))
  const z = r === 0n ? 1 : 0
  const c = r === usum ? 0 : 1
  const v = signed(r) === ssum ? 0 : 1
  return [r, (n << 3) | (z << 2) | (c << 1) | v]
}

const u64 = fc.oneof(
  fc.bigInt({ min: 0n, max: M64 }),
  fc.constantFrom(0n, 1n, M64, 1n << 63n, (1n << 63n) - 1n, M32, 1n << 32n, 0x8000_0000n),
)

const ror = (x: bigint, n: bigint, bits: bigint): bigint => {
  const mask = (1n << bits) - 1n
  return n === 0n ? x & mask : ((x >> n) | (x << (bits - n))) & mask
}

/** Reference: UBFM/SBFM/BFM Xd, Xn, #r, #s (64-bit) via its definition in terms of bits. */
function bitfieldRef(kind: 'U' | 'S' | 'B', dst: bigint, src: bigint, r: number, s: number): bigint {
  let out = kind === 'B' ? dst : 0n
  if (s >= r) {
    // Extract bits s..r of src to the bottom.
    const width = BigInt(s - r + 1)
    const field = (src >> BigInt(r)) & ((1n << width) - 1n)
    out = (out & ~((1n << width) - 1n)) | field
    if (kind === 'S' && (field >> (width - 1n)) & 1n) out |= M64 & ~((1n << width) - 1n)
  } else {
    // Insert bits s..0 of src at position 64 - r.
    const width = BigInt(s + 1)
    const pos = BigInt(64 - r)
    const field = src & ((1n << width) - 1n)
    out = (out & ~(((1n << width) - 1n) << pos)) | (field << pos)
    if (kind === 'S' && (field >> (width - 1n)) & 1n) out |= M64 & ~((1n << (pos + width)) - 1n)
    if (kind === 'S') out &= M64
  }
  return out & M64
}

test('arithmetic, logic, shifts, multiply, divide, bitfield: one instruction at a time vs BigInt', () => {
  const m = makeMachine()
  const cpu = m.cpu
  fc.assert(
    fc.property(u64, u64, u64, fc.nat({ max: 0xfff }), fc.integer({ min: 0, max: 63 }), fc.integer({ min: 0, max: 63 }), fc.integer({ min: 0, max: 15 }), fc.boolean(), (a, b, c, imm, k, r, nzcvIn, carryIn) => {
      const run = (word: number, regs: [number, bigint][], flags = nzcvIn): void => {
        load(m, [word])
        for (const [n, v] of regs) cpu.setX(n, v)
        cpu.pstate = ((flags << 28) | 0x3c5) >>> 0
        const exit = cpu.run(1)
        expect(exit.kind).toBe('budget')
        expect(cpu.pc).toBe(BigInt(CODE + 4))
      }
      const nzcv = (): number => cpu.pstate >>> 28
      run((0xf1000000 | (imm << 10) | (1 << 5) | 0) >>> 0, [[1, a]]) // subs x0, x1, #imm
      expect([cpu.getX(0), nzcv()]).toEqual(addWithCarry(a, ~BigInt(imm) & M64, 1n, 64))

      run(0xeb02003f, [[1, a], [2, b]]) // cmp x1, x2
      expect(nzcv()).toBe(addWithCarry(a, ~b & M64, 1n, 64)[1])

      run(0xab020023, [[1, a], [2, b]]) // adds x3, x1, x2
      expect([cpu.getX(3), nzcv()]).toEqual(addWithCarry(a, b, 0n, 64))

      const cflag = carryIn ? 2 : 0
      run(0xba020026, [[1, a], [2, b]], cflag) // adcs x6, x1, x2
      expect([cpu.getX(6), nzcv()]).toEqual(addWithCarry(a, b, carryIn ? 1n : 0n, 64))

      run(0xfa020026, [[1, a], [2, b]], cflag) // sbcs x6, x1, x2
      expect([cpu.getX(6), nzcv()]).toEqual(addWithCarry(a, ~b & M64, carryIn ? 1n : 0n, 64))

      run(0x6b020027, [[1, a], [2, b]]) // subs w7, w1, w2
      expect([cpu.getX(7), nzcv()]).toEqual(addWithCarry(a & M32, ~b & M32, 1n, 32))

      const K = BigInt(k)
      run((0xca020024 | (k << 10)) >>> 0, [[1, a], [2, b]]) // eor x4, x1, x2, lsl #k
      expect(cpu.getX(4)).toBe(a ^ ((b << K) & M64))
      run((0xca420025 | (k << 10)) >>> 0, [[1, a], [2, b]]) // eor x5, x1, x2, lsr #k
      expect(cpu.getX(5)).toBe(a ^ (b >> K))
      run((0xca820025 | (k << 10)) >>> 0, [[1, a], [2, b]]) // eor x5, x1, x2, asr #k
      expect(cpu.getX(5)).toBe(a ^ ((s64(b) >> K) & M64))
      run((0xcac20025 | (k << 10)) >>> 0, [[1, a], [2, b]]) // eor x5, x1, x2, ror #k
      expect(cpu.getX(5)).toBe(a ^ ror(b, K, 64n))
      run(0x9b027c25, [[1, a], [2, b]]) // mul x5, x1, x2
      expect(cpu.getX(5)).toBe((a * b) & M64)
      run((0xea820028 | (k << 10)) >>> 0, [[1, a], [2, b]]) // ands x8, x1, x2, asr #k
      const ands = a & ((s64(b) >> K) & M64)
      expect([cpu.getX(8), nzcv()]).toEqual([ands, (Number(ands >> 63n) << 3) | (ands === 0n ? 4 : 0)])
      run((0xaac20029 | (k << 10)) >>> 0, [[1, a], [2, b]]) // orr x9, x1, x2, ror #k
      expect(cpu.getX(9)).toBe(a | ror(b, K, 64n))

      run(0x9b020c29, [[1, a], [2, b], [3, c]]) // madd x9, x1, x2, x3
      expect(cpu.getX(9)).toBe((a * b + c) & M64)
      run(0x9b028c29, [[1, a], [2, b], [3, c]]) // msub x9, x1, x2, x3
      expect(cpu.getX(9)).toBe((c - a * b) & M64)
      run(0x9bc27c2a, [[1, a], [2, b]]) // umulh
      expect(cpu.getX(10)).toBe((a * b) >> 64n)
      run(0x9b427c2b, [[1, a], [2, b]]) // smulh
      expect(cpu.getX(11)).toBe(((s64(a) * s64(b)) >> 64n) & M64)
      run(0x9b220c2b, [[1, a], [2, b], [3, c]]) // smaddl x11, w1, w2, x3
      expect(cpu.getX(11)).toBe((s32(a & M32) * s32(b & M32) + c) & M64)
      run(0x9ac2082c, [[1, a], [2, b]]) // udiv
      expect(cpu.getX(12)).toBe(b === 0n ? 0n : a / b)
      run(0x9ac20c2d, [[1, a], [2, b]]) // sdiv
      expect(cpu.getX(13)).toBe(b === 0n ? 0n : (s64(a) / s64(b)) & M64)
      run(0x1ac20c2d, [[1, a], [2, b]]) // sdiv w13, w1, w2
      const wa = s32(a & M32)
      const wb = s32(b & M32)
      expect(cpu.getX(13)).toBe(wb === 0n ? 0n : (wa / wb) & M32)
      run(0x9ac2282e, [[1, a], [2, b]]) // asrv
      expect(cpu.getX(14)).toBe((s64(a) >> (b & 63n)) & M64)
      run(0x9ac22c2f, [[1, a], [2, b]]) // rorv
      expect(cpu.getX(15)).toBe(ror(a, b & 63n, 64n))
      run(0xda82b430, [[1, a], [2, b]]) // csneg x16, x1, x2, lt
      const lt = ((nzcvIn >> 3) & 1) !== (nzcvIn & 1)
      expect(cpu.getX(16)).toBe(lt ? a : -b & M64)

      run((0xd3400000 | (r << 16) | (k << 10) | (1 << 5) | 17) >>> 0, [[1, a]]) // ubfm x17, x1, #r, #k
      expect(cpu.getX(17)).toBe(bitfieldRef('U', 0n, a, r, k))
      run((0x93400000 | (r << 16) | (k << 10) | (1 << 5) | 17) >>> 0, [[1, a]]) // sbfm
      expect(cpu.getX(17)).toBe(bitfieldRef('S', 0n, a, r, k))
      run((0xb3400000 | (r << 16) | (k << 10) | (1 << 5) | 18) >>> 0, [[1, a], [18, b]]) // bfm
      expect(cpu.getX(18)).toBe(bitfieldRef('B', b, a, r, k))
      run((0x93c20000 | (k << 10) | (1 << 5) | 19) >>> 0, [[1, a], [2, b]]) // extr x19, x1, x2, #k
      expect(cpu.getX(19)).toBe((((a << 64n) | b) >> K) & M64)
    }),
    { numRuns: 300 },
  )
})
