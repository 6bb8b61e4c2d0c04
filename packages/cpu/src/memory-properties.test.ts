// Property tests of loads, stores and LSE atomics: random values and sizes through real
// instruction words, checked against a BigInt model (test-only).
import { expect, test } from 'vitest'
import fc from 'fast-check'
import { RAM_BASE, load, makeMachine } from './test-helpers.js'

const M64 = (1n << 64n) - 1n
const DATA = RAM_BASE + 0x20_0000
const u64 = fc.oneof(fc.bigInt({ min: 0n, max: M64 }), fc.constantFrom(0n, M64, 1n << 63n, 0x80n, 0x8000n, 0x8000_0000n, 0x7fn))

function writeMem(m: ReturnType<typeof makeMachine>, pa: number, v: bigint): void {
  m.memory.write32(pa, Number(v & 0xffff_ffffn))
  m.memory.write32(pa + 4, Number((v >> 32n) & 0xffff_ffffn))
}
function readMem(m: ReturnType<typeof makeMachine>, pa: number): bigint {
  return (BigInt(m.memory.read32(pa + 4)) << 32n) | BigInt(m.memory.read32(pa))
}
const sext = (v: bigint, bits: number): bigint => {
  const b = BigInt(bits)
  const x = v & ((1n << b) - 1n)
  return x & (1n << (b - 1n)) ? x - (1n << b) : x
}

test('LSE atomics: old value to Xt, op(old, Xs) to memory, every size', () => {
  const m = makeMachine()
  const ops = ['ADD', 'CLR', 'EOR', 'SET', 'SMAX', 'SMIN', 'UMAX', 'UMIN', 'SWP'] as const
  fc.assert(
    fc.property(u64, u64, fc.integer({ min: 0, max: 3 }), fc.constantFrom(...ops), fc.boolean(), fc.boolean(), (old, s, size, op, a, r) => {
      const bits = 8 << size
      const mask = (1n << BigInt(bits)) - 1n
      writeMem(m, DATA, old)
      const o3 = op === 'SWP' ? 1 : 0
      const opc = op === 'SWP' ? 0 : ops.indexOf(op)
      // LD<op>{A}{L} / SWP: size 111 0 00 a r 1 Rs o3 opc 00 Rn Rt, with Rs = x2, Rn = x1, Rt = x3
      const word = ((size << 30) | 0x38200000 | (Number(a) << 23) | (Number(r) << 22) | (2 << 16) | (o3 << 15) | (opc << 12) | (1 << 5) | 3) >>> 0
      load(m, [word])
      m.cpu.setX(1, BigInt(DATA))
      m.cpu.setX(2, s)
      m.cpu.setX(3, 0xdead_beefn)
      expect(m.cpu.run(1).kind).toBe('budget')
      const o = old & mask
      const v = s & mask
      const signedO = sext(o, bits)
      const signedV = sext(v, bits)
      const expected: Record<(typeof ops)[number], bigint> = {
        ADD: (o + v) & mask,
        CLR: o & ~v & mask,
        EOR: o ^ v,
        SET: o | v,
        SMAX: signedO >= signedV ? o : v,
        SMIN: signedO <= signedV ? o : v,
        UMAX: o >= v ? o : v,
        UMIN: o <= v ? o : v,
        SWP: v,
      }
      expect(m.cpu.getX(3)).toBe(o)
      expect(readMem(m, DATA) & mask).toBe(expected[op])
      expect(readMem(m, DATA) & ~mask & M64).toBe(old & ~mask & M64) // bytes beyond the access untouched
    }),
    { numRuns: 400 },
  )
})

test('sign- and zero-extending loads and truncating stores at random offsets', () => {
  const m = makeMachine()
  // [word base, bytes, signed, 64-bit destination]
  const forms: [number, number, boolean, boolean][] = [
    [0x39400000, 1, false, false], // LDRB
    [0x39800000, 1, true, true], // LDRSB Xt
    [0x39c00000, 1, true, false], // LDRSB Wt
    [0x79400000, 2, false, false], // LDRH
    [0x79800000, 2, true, true], // LDRSH Xt
    [0x79c00000, 2, true, false], // LDRSH Wt
    [0xb9400000, 4, false, false], // LDR Wt
    [0xb9800000, 4, true, true], // LDRSW
    [0xf9400000, 8, false, true], // LDR Xt
  ]
  fc.assert(
    fc.property(u64, fc.integer({ min: 0, max: forms.length - 1 }), fc.integer({ min: 0, max: 63 }), (v, f, slot) => {
      const [base, bytes, signed, sf] = forms[f]!
      writeMem(m, DATA + 8 * slot, v)
      const word = (base | (((8 * slot) / bytes) << 10) | (1 << 5) | 3) >>> 0 // ldr* t3, [x1, #8*slot]
      load(m, [word])
      m.cpu.setX(1, BigInt(DATA))
      expect(m.cpu.run(1).kind).toBe('budget')
      const bits = bytes * 8
      let expected = v & ((1n << BigInt(bits)) - 1n)
      if (signed) expected = sext(expected, bits) & (sf ? M64 : 0xffff_ffffn)
      expect(m.cpu.getX(3)).toBe(expected)
      // Store it back with STR of the same size at another slot: only `bytes` bytes change.
      const storeBase = bytes === 1 ? 0x39000000 : bytes === 2 ? 0x79000000 : bytes === 4 ? 0xb9000000 : 0xf9000000
      writeMem(m, DATA + 0x400, M64)
      load(m, [(storeBase | ((0x400 / bytes) << 10) | (1 << 5) | 3) >>> 0])
      m.cpu.run(1)
      const keep = M64 & ~((1n << BigInt(bits)) - 1n)
      expect(readMem(m, DATA + 0x400)).toBe((M64 & keep) | (v & ((1n << BigInt(bits)) - 1n)))
    }),
    { numRuns: 400 },
  )
})
