import { describe, expect, test } from 'vitest'
import fc from 'fast-check'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { decode, decodeLinear, decodeWord, matchingRow } from './decode.js'
import { INSTRUCTION_NAMES, ROW_COUNT, ROW_EXTRACT, type Instruction } from './generated/decoder.js'
import { loadPatterns } from '../scripts/gen-decoder.js'
import type { ArgSource, Pattern } from '../scripts/decodetree.js'
import { transforms } from './tables/functions.js'
import type { InstructionName, InstructionOf } from './printer-types.js'

const patterns = loadPatterns(join(fileURLToPath(new URL('.', import.meta.url)), 'tables'))
const u32 = fc.integer({ min: 0, max: 0xffff_ffff })

/** Independent reading of a table argument, straight from the parsed table. */
function expectedArg(src: ArgSource, w: number): number {
  if (src.kind === 'const') return src.value
  let value = 0
  let first = true
  for (const p of src.pieces) {
    let piece = Math.floor(w / 2 ** p.pos) % 2 ** p.len
    if (first && p.signed && piece >= 2 ** (p.len - 1)) piece -= 2 ** p.len
    value = value * 2 ** p.len + piece
    first = false
  }
  if (src.fn) return (transforms as Record<string, (v: number, w: number) => number>)[src.fn]?.(value, w) ?? NaN
  return value
}

function sharesGroup(a: Pattern, b: Pattern): boolean {
  return a.groups[0] !== undefined && a.groups[0] === b.groups[0]
}

/** Deterministic words for row sweeps (the test must not depend on Math.random). */
function* sweepWords(p: Pattern, count: number): Generator<number> {
  let s = (p.value ^ 0x9e3779b9) >>> 0
  yield p.value
  yield (p.value | ~p.mask) >>> 0
  for (let i = 0; i < count; i++) {
    s = (Math.imul(s ^ (s >>> 15), 0x2c1b3c6d) + 0x6d2b79f5) >>> 0
    s ^= s >>> 13
    yield (p.value | (s & ~p.mask)) >>> 0
  }
}

describe('decode', () => {
  test('the tables were parsed', () => {
    expect(ROW_COUNT).toBe(patterns.length)
    expect(INSTRUCTION_NAMES[0]).toBe('UNDEFINED')
  })

  test('is total: every u32 decodes to a named instruction, bucket index agrees with a linear scan', () => {
    fc.assert(
      fc.property(u32, (w) => {
        const insn = decode(w)
        expect(INSTRUCTION_NAMES[insn.id]).toBe(insn.name)
        expect(decodeLinear(w)).toEqual(insn)
      }),
      { numRuns: 5_000 },
    )
  })

  test('every row decodes its own words unless an earlier member of its group or its guard says otherwise', () => {
    const problems: string[] = []
    patterns.forEach((p, r) => {
      for (const w of sweepWords(p, 64)) {
        const m = matchingRow(w)
        if (decodeLinear(w).name !== decodeWord(w).name) problems.push(`${w.toString(16)}: bucket and linear decode differ`)
        if (m === r) continue
        const own = (ROW_EXTRACT[r] as (w: number) => Instruction | null)(w)
        const claimedEarlier = m >= 0 && m < r && sharesGroup(patterns[m] as Pattern, p)
        if (own === null || claimedEarlier) continue
        problems.push(`${p.file}:${p.line} ${p.name}: ${w.toString(16)} decoded by row ${m}`)
      }
    })
    expect(problems.slice(0, 10)).toEqual([])
  })

  test('property: fixed bits plus any free bits decode to the row, an earlier member of its group, or (guard) another row', () => {
    fc.assert(
      fc.property(fc.nat(patterns.length - 1), u32, (r, bits) => {
        const p = patterns[r] as Pattern
        const w = (p.value | (bits & ~p.mask)) >>> 0
        const m = matchingRow(w)
        if (m === r) return
        const own = (ROW_EXTRACT[r] as (w: number) => Instruction | null)(w)
        expect(own === null || (m >= 0 && m < r && sharesGroup(patterns[m] as Pattern, p))).toBe(true)
      }),
      { numRuns: 20_000 },
    )
  })

  test('field extraction round-trips for every row (generated code = table semantics)', () => {
    const problems: string[] = []
    patterns.forEach((p, r) => {
      if (p.name === 'UNDEFINED') return
      for (const w of sweepWords(p, 32)) {
        const insn = (ROW_EXTRACT[r] as (w: number) => Instruction | null)(w)
        if (insn === null) continue
        const fields = insn as unknown as Record<string, number>
        expect(insn.name).toBe(p.name)
        for (const [name, src] of p.args) {
          const want = expectedArg(src, w)
          if (fields[name] !== want) problems.push(`${p.name}.${name} of ${w.toString(16)}: ${fields[name]} != ${want}`)
        }
        for (const key of Object.keys(fields)) {
          if (key !== 'id' && key !== 'name' && !p.args.has(key)) problems.push(`${p.name} has stray field ${key}`)
          if (typeof fields[key] !== 'number' && key !== 'name') problems.push(`${p.name}.${key} is not a number`)
        }
      }
    })
    expect(problems.slice(0, 10)).toEqual([])
  })

  test('decodes known words to ready-to-execute fields', () => {
    expect(decode(0xd9200820)).toEqual({ id: expect.any(Number), name: 'STG', rt: 0, rn: 1, imm: 0, mode: 2 })
    expect(decode(0xd93ff820)).toMatchObject({ name: 'STG', imm: -16, mode: 2 }) // stg x0, [x1, #-16]
    expect(decode(0x91400420)).toMatchObject({ name: 'ADD_i', sf: 1, imm: 4096, imm12: 1, sh: 1 }) // add x0, x1, #1, lsl #12
    expect(decode(0xb200f3e0)).toMatchObject({ name: 'ORR_i', immHi: 0x55555555, immLo: 0x55555555 })
    expect(decode(0x321f07e0)).toMatchObject({ name: 'ORR_i', sf: 0, immHi: 0, immLo: 6 }) // orr w0, wzr, #0x6
    expect(decode(0x17ffffff)).toMatchObject({ name: 'B', imm: -4 })
    expect(decode(0x00000000)).toMatchObject({ name: 'UDF', imm16: 0 })
    expect(decode(0xffffffff)).toMatchObject({ id: 0, name: 'UNDEFINED' })
    expect(decodeWord(0x9ac01020)).toMatchObject({ name: 'IRG', rd: 0, rn: 1, rm: 0 })
  })

  test.each([[-1], [2 ** 32], [0.5], [Number.NaN], ['0'], [undefined]])('rejects %s with RangeError', (bad) => {
    expect(() => decode(bad as number)).toThrow(RangeError)
  })
})

describe('printers', () => {
  test('every instruction name has a printer', async () => {
    const { unprintedInstructions } = await import('./disassemble.js')
    expect(unprintedInstructions()).toEqual([])
  })
})

describe('types', () => {
  test('InstructionOf and the union narrow by name (checked by tsc)', () => {
    const insn: Instruction = decode(0xd9200820)
    const stgOnly = (i: InstructionOf<'STG'>): number => i.imm + i.mode
    if (insn.name === 'STG') expect(stgOnly(insn)).toBe(2)
    else expect.unreachable('0xd9200820 is stg')
    const handlers: { [K in InstructionName]?: (i: InstructionOf<K>) => number } = { STG: stgOnly, B: (i) => i.imm }
    expect(handlers.B?.({ id: INSTRUCTION_NAMES.indexOf('B') as InstructionOf<'B'>['id'], name: 'B', imm: 8 })).toBe(8)
  })
})
