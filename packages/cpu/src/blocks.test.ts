// Differential test of the block tier: random straight-line loops (hot enough to become
// blocks) must leave exactly the same registers, flags, memory and retired count as
// single-instruction dispatch.
import { expect, test } from 'vitest'
import fc from 'fast-check'
import { CODE, RAM_BASE, load, makeMachine } from './test-helpers.js'

const DATA = RAM_BASE + 0x20_0000
const reg = fc.integer({ min: 0, max: 7 })

/** Random instruction words over x0..x7, with x8 the data base (never written). */
const insn = fc.oneof(
  fc.tuple(reg, reg, fc.nat({ max: 0xfff })).map(([d, n, i]) => (0x91000000 | (i << 10) | (n << 5) | d) >>> 0), // add imm
  fc.tuple(reg, reg, fc.nat({ max: 0xfff })).map(([d, n, i]) => (0xf1000000 | (i << 10) | (n << 5) | d) >>> 0), // subs imm
  fc.tuple(reg, reg, reg).map(([d, n, m]) => (0x8b000000 | (m << 16) | (n << 5) | d) >>> 0), // add
  fc.tuple(reg, reg, reg).map(([d, n, m]) => (0xeb000000 | (m << 16) | (n << 5) | d) >>> 0), // subs
  fc.tuple(reg, reg, reg, fc.nat({ max: 3 }), fc.nat({ max: 63 })).map(([d, n, m, t, k]) => (0xca000000 | (t << 22) | (m << 16) | (k << 10) | (n << 5) | d) >>> 0), // eor shifted
  fc.tuple(reg, reg, reg, reg).map(([d, n, m, a]) => (0x9b000000 | (m << 16) | (a << 10) | (n << 5) | d) >>> 0), // madd
  fc.tuple(reg, reg, reg, fc.nat({ max: 15 })).map(([d, n, m, c]) => (0x9a800000 | (m << 16) | (c << 12) | (n << 5) | d) >>> 0), // csel
  fc.tuple(reg, reg, fc.nat({ max: 63 }), fc.nat({ max: 63 })).map(([d, n, r, s]) => (0xd3400000 | (r << 16) | (s << 10) | (n << 5) | d) >>> 0), // ubfm
  fc.tuple(reg, reg, reg).map(([d, n, m]) => (0x9ac05c00 | (m << 16) | (n << 5) | d) >>> 0), // crc32cx
  fc.tuple(reg, reg, reg).map(([d, n, m]) => (0x9ac00800 | (m << 16) | (n << 5) | d) >>> 0), // udiv
  fc.tuple(reg, fc.nat({ max: 31 })).map(([t, o]) => (0xf9400000 | (o << 10) | (8 << 5) | t) >>> 0), // ldr x, [x8, #8o]
  fc.tuple(reg, fc.nat({ max: 31 })).map(([t, o]) => (0xf9000000 | (o << 10) | (8 << 5) | t) >>> 0), // str x, [x8, #8o]
  fc.tuple(reg, fc.nat({ max: 255 })).map(([t, o]) => (0x39000000 | (o << 10) | (8 << 5) | t) >>> 0), // strb
  fc.tuple(reg, fc.nat({ max: 255 })).map(([t, o]) => (0x39400000 | (o << 10) | (8 << 5) | t) >>> 0), // ldrb
)

function runLoop(body: number[], regs: bigint[], iterations: number, blocks: boolean): { regs: bigint[]; nzcv: number; mem: number[]; retired: number } {
  const m = makeMachine(4 << 20, blocks)
  const back = (-(body.length + 1) & 0x7ffff) << 5
  load(m, [(0xd2800009 | (iterations << 5)) >>> 0, ...body, 0xf1000529, (0x54000001 | back) >>> 0, 0xd41e01a2])
  regs.forEach((v, i) => m.cpu.setX(i, v))
  m.cpu.setX(8, BigInt(DATA))
  const exit = m.cpu.run(1_000_000)
  expect(exit).toMatchObject({ kind: 'hvc', imm16: 0xf00d })
  if (blocks) {
    // The premise: the loop body really ran as a block (peeking at the private cache).
    const pages = { get: (pa: number) => m.cpu.code.pageAt(pa) }
    expect(pages.get(CODE)?.blocks.some((b) => b !== undefined)).toBe(true)
  }
  const mem: number[] = []
  for (let i = 0; i < 256; i += 4) mem.push(m.memory.read32(DATA + i))
  return { regs: Array.from({ length: 10 }, (_, i) => m.cpu.getX(i)), nzcv: m.cpu.pstate >>> 28, mem, retired: m.cpu.retired }
}

test('blocks and single-instruction dispatch agree on random hot loops', () => {
  fc.assert(
    fc.property(fc.array(insn, { minLength: 1, maxLength: 40 }), fc.array(fc.bigInt({ min: 0n, max: (1n << 64n) - 1n }), { minLength: 8, maxLength: 8 }), fc.integer({ min: 9, max: 40 }), (body, regs, n) => {
      expect(runLoop(body, regs, n, true)).toEqual(runLoop(body, regs, n, false))
    }),
    { numRuns: 60 },
  )
})
