import { describe, expect, test } from 'vitest'
import fc from 'fast-check'
import { fileURLToPath } from 'node:url'
import { decodeWord } from '../decode.js'
import { disassemble } from '../disassemble.js'
import { loadPatterns } from '../../scripts/gen-decoder.js'
import { SIMD_FP_PRINTED, arrangement, llvmHex64 } from './simd-fp.js'

const simdRows = loadPatterns(fileURLToPath(new URL('../tables', import.meta.url))).filter((p) => p.file.endsWith('simd-fp.decode'))
const simdNames = [...new Set(simdRows.map((p) => p.name))].filter((n) => n !== 'UNDEFINED')

describe('simd-fp printers', () => {
  test('every simd-fp instruction has a printer and every printer an instruction', () => {
    expect([...SIMD_FP_PRINTED].sort()).toEqual([...simdNames].sort())
  })

  // One word per operand shape, each checked against llvm-mc 14 by hand when written
  // (the corpus agreement test covers every row; these pin the shapes in readable form).
  test.each([
    [0x4ef885cd, 'add v13.2d, v14.2d, v24.2d'],
    [0x4ead1f50, 'orr v16.16b, v26.16b, v13.16b'],
    [0x2e91c470, 'fcmla v16.2s, v3.2s, v17.2s, #0'],
    [0x6e90e690, 'fcadd v16.4s, v20.4s, v16.4s, #90'],
    [0x4e37ef1c, 'fmlal v28.4s, v24.4h, v23.4h'],
    [0x4e82971c, 'sdot v28.4s, v24.16b, v2.16b'],
    [0x4e3bc31c, 'smull2 v28.8h, v24.16b, v27.16b'],
    [0x4e25e2b8, 'pmull2 v24.8h, v21.16b, v5.16b'],
    [0x4e3a1218, 'saddw2 v24.8h, v16.8h, v26.16b'],
    [0x0e354013, 'addhn v19.8b, v0.8h, v21.8h'],
    [0x2e2058d8, 'mvn v24.8b, v6.8b'],
    [0x4ea08b40, 'cmgt v0.4s, v26.4s, #0'],
    [0x0ea0e8e0, 'fcmlt v0.2s, v7.2s, #0.0'],
    [0x0e202880, 'saddlp v0.4h, v4.8b'],
    [0x4e212a8c, 'xtn2 v12.16b, v20.8h'],
    [0x6e613ba7, 'shll2 v7.4s, v29.8h, #16'],
    [0x0e61688c, 'fcvtn v12.2s, v4.2d'],
    [0x4e617a0c, 'fcvtl2 v12.2d, v16.4s'],
    [0x6e616b8c, 'fcvtxn2 v12.4s, v28.2d'],
    [0x0e31b90c, 'addv b12, v8.8b'],
    [0x4e703a27, 'saddlv s7, v17.8h'],
    [0x0e30f9c7, 'fmaxv h7, v14.4h'],
    [0x4e0507ac, 'dup v12.16b, v29.b[2]'],
    [0x4e1f0e2c, 'dup v12.16b, w17'],
    [0x4e131e18, 'mov v24.b[9], w16'],
    [0x6e051478, 'mov v24.b[2], v3.b[2]'],
    [0x5e010574, 'mov b20, v11.b[0]'],
    [0x0e1d2d34, 'smov w20, v9.b[14]'],
    [0x4e1e2e90, 'smov x16, v20.h[7]'],
    [0x0e153db0, 'umov w16, v13.b[10]'],
    [0x4e083dd0, 'mov x16, v14.d[0]'],
    [0x2e0f12f0, 'ext v16.8b, v23.8b, v15.8b, #2'],
    [0x0e1c0110, 'tbl v16.8b, { v8.16b }, v28.8b'],
    [0x0e081030, 'tbx v16.8b, { v1.16b }, v8.8b'],
    [0x0f032450, 'movi v16.2s, #98, lsl #8'],
    [0x2f05a570, 'mvni v16.4h, #171, lsl #8'],
    [0x0f0295c5, 'orr v5.4h, #78'],
    [0x2f07b5a2, 'bic v2.4h, #237, lsl #8'],
    [0x2f07e412, 'movi d18, #0xffffff0000000000'],
    [0x6f01e402, 'movi v2.2d, #0x00ff0000000000'],
    [0x6f06f471, 'fmov v17.2d, #-0.14843750'],
    [0x4f0d068c, 'sshr v12.16b, v20.16b, #3'],
    [0x0f0b540c, 'shl v12.8b, v0.8b, #3'],
    [0x4f2887c1, 'shrn2 v1.4s, v30.2d, #24'],
    [0x0f0da5c6, 'sshll v6.8h, v14.8b, #5'],
    [0x4f19e6d6, 'scvtf v22.8h, v22.8h, #7'],
    [0x5f359666, 'sqshrn s6, d19, #11'],
    [0x5f3afc76, 'fcvtzs s22, s3, #6'],
    [0x2f460106, 'mla v6.4h, v8.4h, v6.h[0]'],
    [0x0f532816, 'smlal v22.4s, v0.4h, v3.h[5]'],
    [0x4f87ebdc, 'sdot v28.4s, v30.16b, v7.4b[2]'],
    [0x0f8f0177, 'fmlal v23.2s, v11.2h, v15.h[0]'],
    [0x6f5a7070, 'fcmla v16.8h, v3.8h, v26.h[0], #270'],
    [0x5fcd1290, 'fmla d16, d20, v13.d[0]'],
    [0x5f64394c, 'sqdmlal s12, h10, v4.h[6]'],
    [0x5e3b0ccc, 'sqadd b12, b6, b27'],
    [0x5e66904c, 'sqdmlal s12, h2, h6'],
    [0x5ee09bcc, 'cmeq d12, d30, #0'],
    [0x7ef8cb4c, 'fcmge h12, h26, #0.0'],
    [0x5e614acc, 'sqxtn h12, s22'],
    [0x7e616a4c, 'fcvtxn s12, d18'],
    [0x5ef1b9cc, 'addp d12, v14.2d'],
    [0x5e30d94c, 'faddp h12, v10.2h'],
    [0x4e2848cc, 'aese v12.16b, v6.16b'],
    [0x5e0f004c, 'sha1c q12, s2, v15.4s'],
    [0x5e0f43cc, 'sha256h q12, q30, v15.4s'],
    [0xce79834c, 'sha512h q12, q26, v25.2d'],
    [0x5e280a67, 'sha1h s7, s19'],
    [0xce0e2b1c, 'eor3 v28.16b, v24.16b, v14.16b, v10.16b'],
    [0xce5b4eb7, 'sm3ss1 v23.4s, v21.4s, v27.4s, v19.4s'],
    [0xce8e881a, 'xar v26.2d, v0.2d, v14.2d, #34'],
    [0xce58a34a, 'sm3tt1a v10.4s, v26.4s, v24.s[2]'],
    [0xcec081fa, 'sha512su0 v26.2d, v15.2d'],
    [0x1e62402a, 'fcvt s10, d1'],
    [0x1ee421c8, 'fcmp h14, #0.0'],
    [0x1ef9900a, 'fmov h10, #-0.21875000'],
    [0x1e2d77ba, 'fccmpe s29, s13, #10, vc'],
    [0x1e6ebfea, 'fcsel d10, d31, d14, lt'],
    [0x1f25c39a, 'fnmsub s26, s28, s5, s16'],
    [0x9e380266, 'fcvtzs x6, s19'],
    [0x1ee20076, 'scvtf h22, w3'],
    [0x9e660106, 'fmov x6, d8'],
    [0x9ee70016, 'fmov h22, x0'],
    [0x9eae01a6, 'fmov x6, v13.d[1]'],
    [0x9eaf01b6, 'fmov v22.d[1], x13'],
    [0x1e7e0046, 'fjcvtzs w6, d2'],
    [0x9e191156, 'fcvtzu x22, s10, #60'],
    [0x1e438ce6, 'ucvtf d6, w7, #29'],
    [0x5ccedaf6, 'ldr d22, #-402596'],
    [0x2dfc1321, 'ldp s1, s4, [x25, #-32]!'],
    [0x6c07fac4, 'stnp d4, d30, [x22, #120]'],
    [0x3c567304, 'ldur b4, [x24, #-153]'],
    [0x3c05e544, 'str b4, [x10], #94'],
    [0xbd5fed84, 'ldr s4, [x12, #8172]'],
    [0xbc70cbc4, 'ldr s4, [x30, w16, sxtw]'],
    [0x0c402c04, 'ld1 { v4.1d, v5.1d, v6.1d, v7.1d }, [x0]'],
    [0x4c8a0244, 'st4 { v4.16b, v5.16b, v6.16b, v7.16b }, [x18], x10'],
    [0x4d601284, 'ld2 { v4.b, v5.b }[12], [x20]'],
    [0x0d9d14c4, 'st1 { v4.b }[5], [x6], x29'],
    [0x0d40e104, 'ld3r { v4.8b, v5.8b, v6.8b }, [x8]'],
    [0x4dfde744, 'ld4r { v4.8h, v5.8h, v6.8h, v7.8h }, [x26], x29'],
  ] as const)('%s prints %s', (word, text) => {
    expect(disassemble(word)).toBe(text)
  })

  test('printing never shows a missing field, for random words of every row', () => {
    for (const row of simdRows) {
      if (row.name === 'UNDEFINED') continue
      fc.assert(
        fc.property(fc.integer({ min: 0, max: 0xffff_ffff }), (noise) => {
          const word = ((row.value & row.mask) | (noise & ~row.mask)) >>> 0
          const text = disassemble(word)
          expect(text).not.toMatch(/undefined|NaN|\?/)
        }),
        { numRuns: 20 },
      )
    }
  })
})

describe('simd-fp decoded fields (what the CPU will execute)', () => {
  test('three same: element size and Q', () => {
    expect(decodeWord(0x4ef885cd)).toEqual({ id: expect.any(Number), name: 'ADD_v', q: 1, esz: 3, rm: 24, rn: 14, rd: 13 })
    expect(decodeWord(0x0e3b0ccc & ~0x40000000)).toMatchObject({ name: 'SQADD_v', q: 0, esz: 0 })
  })
  test('FP forms carry the element size of their precision (h=1, s=2, d=3)', () => {
    expect(decodeWord(0x4e60d400)).toMatchObject({ name: 'FADD_v', esz: 3, q: 1 }) // fadd v0.2d
    expect(decodeWord(0x0e401400)).toMatchObject({ name: 'FADD_v', esz: 1, q: 0 }) // fadd v0.4h
    expect(decodeWord(0x1e62402a)).toMatchObject({ name: 'FCVT_f', esz: 3, desz: 2, rd: 10, rn: 1 })
  })
  test('element indices and Rm ranges by element size', () => {
    expect(decodeWord(0x0f532816)).toMatchObject({ name: 'SMLAL_ve', esz: 1, idx: 5, rm: 3 }) // v3.h[5]
    expect(decodeWord(0x4f87ebdc)).toMatchObject({ name: 'SDOT_ve', idx: 2, rm: 7 })
    expect(decodeWord(0x4e131e18)).toMatchObject({ name: 'INS_g', esz: 0, idx: 9, rn: 16, rd: 24 })
    expect(decodeWord(0x4d601284)).toMatchObject({ name: 'LD2_l', esz: 0, idx: 12 })
  })
  test('shift immediates: imm is immh:immb, esz from immh', () => {
    expect(decodeWord(0x4f0d068c)).toMatchObject({ name: 'SSHR_vi', esz: 0, shift: 3 })
    expect(decodeWord(0x0f0b540c)).toMatchObject({ name: 'SHL_vi', esz: 0, shift: 3 })
    expect(decodeWord(0x4f2887c1)).toMatchObject({ name: 'SHRN_vi', esz: 2, shift: 24 })
    expect(decodeWord(0x4f19e6d6)).toMatchObject({ name: 'SCVTF_vfx', esz: 1, fbits: 7 })
    expect(decodeWord(0x9e191156)).toMatchObject({ name: 'FCVTZU_gfx', sf: 1, esz: 2, fbits: 60 })
  })
  test('load/store offsets are bytes, sign-extended', () => {
    expect(decodeWord(0x5ccedaf6)).toMatchObject({ name: 'LDR_fl', esz: 3, imm: -402596 })
    expect(decodeWord(0x3c567304)).toMatchObject({ name: 'LDUR_f', esz: 0, imm: -153 })
    expect(decodeWord(0xbd5fed84)).toMatchObject({ name: 'LDR_f', esz: 2, imm: 8172 })
    expect(decodeWord(0x3ce27820)).toMatchObject({ name: 'LDR_fr', esz: 4, option: 3, s: 1, amount: 4, rm: 2 }) // [x1, x2, lsl #4]
    expect(decodeWord(0x3c627820)).toMatchObject({ name: 'LDR_fr', esz: 0, option: 3, s: 1, amount: 0 }) // [x1, x2, lsl #0]
    expect(decodeWord(0xbc70cbc4)).toMatchObject({ name: 'LDR_fr', esz: 2, option: 6, s: 0, amount: 0 }) // sxtw
    expect(decodeWord(0x2dfc1321)).toMatchObject({ name: 'LDP_fpre', esz: 2, imm: -32, rt: 1, rt2: 4, rn: 25 })
    expect(decodeWord(0x6c07fac4)).toMatchObject({ name: 'STNP_f', esz: 3, imm: 120 })
  })
  test('modified immediates: the expanded 64-bit value as immHi:immLo (plus imm8/cmode)', () => {
    expect(decodeWord(0x0f032450)).toMatchObject({ name: 'MOVI_v', q: 0, cmode: 2, imm8: 98, immLo: 0x6200, immHi: 0x6200 })
    expect(decodeWord(0x2f07d7e0)).toMatchObject({ name: 'MVNI_v', immLo: 0xffffff, immHi: 0xffffff }) // #255, msl #16
    expect(decodeWord(0x2f07e412)).toMatchObject({ name: 'MOVI_d', immLo: 0, immHi: 0xffffff00 })
    expect(decodeWord(0x6f07f400)).toMatchObject({ name: 'FMOV_vi', esz: 3, fimm: -0.5, immLo: 0, immHi: 0xbfe00000 })
    expect(decodeWord(0x0f03f600)).toMatchObject({ name: 'FMOV_vi', esz: 2, fimm: 1, immLo: 0x3f800000, immHi: 0x3f800000 })
    expect(decodeWord(0x0f03fe00)).toMatchObject({ name: 'FMOV_vi', esz: 1, fimm: 1, immLo: 0x3c003c00, immHi: 0x3c003c00 })
    expect(decodeWord(0x1e2e1000)).toMatchObject({ name: 'FMOV_fi', esz: 2, fimm: 1 })
  })
})

/** The 64-bit value a MOVI/MVNI/ORR/BIC/FMOV (vector) text stands for, per LLVM's operands. */
function valueOfText(text: string): bigint {
  const m = /^(\w+) v\d+\.(\d+)([bhsd]), #([-\d.]+)(?:, (lsl|msl) #(\d+))?$/.exec(text)
  if (!m) throw new Error(`unexpected text ${text}`)
  const [, mnemonic, , lane, immText, shiftKind, shiftText] = m as unknown as string[]
  const bits = ({ b: 8, h: 16, s: 32, d: 64 } as Record<string, number>)[lane as string] as number
  let element: bigint
  if (mnemonic === 'fmov') {
    const value = Number(immText)
    if (bits === 64) element = new BigUint64Array(new Float64Array([value]).buffer)[0] as bigint
    else {
      const single = new Uint32Array(new Float32Array([value]).buffer)[0] as number
      element = bits === 32 ? BigInt(single) : BigInt(((single >>> 16) & 0x8000) | ((((single >>> 23) & 0xff) - 112) << 10) | ((single >>> 13) & 0x3ff))
    }
  } else {
    const shift = BigInt(shiftText ?? 0)
    element = BigInt(immText as string) << shift
    if (shiftKind === 'msl') element |= (1n << shift) - 1n
  }
  let value = 0n
  for (let at = 0; at < 64; at += bits) value |= element << BigInt(at)
  return value
}

describe('modified immediates: decoded immHi:immLo is the value LLVM\'s text stands for', () => {
  test.each(['MOVI_v', 'MVNI_v', 'ORR_vi', 'BIC_vi', 'FMOV_vi'])('%s, every imm8 and cmode', (name) => {
    let checked = 0
    for (const row of simdRows.filter((p) => p.name === name)) {
      for (let free = 0; free < 1 << 12; free++) {
        // The free bits of these rows are Q, a:b:c, cmode bits and d..h; spread `free` over them.
        let word = row.value & row.mask
        let k = 0
        for (let bit = 5; bit < 31 && k < 12; bit++) {
          if ((row.mask >>> bit) & 1) continue
          if (bit < 10) { if (bit >= 5) word |= ((free >>> k++) & 1) << bit; continue }
          word |= ((free >>> k++) & 1) << bit
        }
        word >>>= 0
        const insn = decodeWord(word) as { name: string; immLo: number; immHi: number }
        if (insn.name !== name) continue
        const expected = valueOfText(disassemble(word))
        expect((BigInt(insn.immHi >>> 0) << 32n) | BigInt(insn.immLo >>> 0)).toBe(expected)
        checked++
      }
    }
    expect(checked).toBeGreaterThan(200)
  })
})

describe('immediate helpers', () => {
  test('arrangement', () => {
    expect([0, 1, 2, 3].flatMap((e) => [0, 1].map((q) => arrangement(e, q)))).toEqual(['8b', '16b', '4h', '8h', '2s', '4s', '1d', '2d'])
    expect(arrangement(4, 0)).toBe('1q')
  })
  test('FMOV immediates decode to VFPExpandImm(imm8) for every imm8', () => {
    const values = new Set<number>()
    for (let imm8 = 0; imm8 < 256; imm8++) {
      const word = (0x1e201000 | (imm8 << 13)) >>> 0 // fmov s0, #imm
      const insn = decodeWord(word) as { name: string; fimm: number }
      expect(insn.name).toBe('FMOV_fi')
      const v = Math.abs(insn.fimm)
      expect(v).toBeGreaterThanOrEqual(0.125)
      expect(v).toBeLessThanOrEqual(31)
      expect(Number.isInteger(v * 128)).toBe(true)
      values.add(insn.fimm)
    }
    expect(values.size).toBe(256)
    expect(disassemble(0x1e2e1000)).toBe('fmov s0, #1.00000000')
    expect(disassemble(0x1e3e1000)).toBe('fmov s0, #-1.00000000')
    expect(disassemble(0x1e281000)).toBe('fmov s0, #0.12500000')
    expect(disassemble(0x1e27f000)).toBe('fmov s0, #31.00000000')
  })
  test('64-bit immediates as LLVM prints them', () => {
    expect(llvmHex64(0, 0)).toBe('0000000000000000')
    expect(llvmHex64(0xffffffff, 0xffffffff)).toBe('0xffffffffffffffff')
    expect(llvmHex64(0, 0xffffffff)).toBe('0x000000ffffffff')
    expect(llvmHex64(0xff00, 0)).toBe('0x00ff0000000000')
    expect(llvmHex64(0xff00ff00, 0xff00ff00)).toBe('0xff00ff00ff00ff00')
  })
})
