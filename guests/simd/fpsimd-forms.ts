// Integer AdvSIMD and crypto forms for the guests/fpsimd framework, built from the decoder's
// rows: every row of simd-fp.decode named in a list becomes a few forms (its fixed bits, the
// framework's register convention — v0 the destination, v1-v3 sources, x9 the general
// register — and a handful of values for the other free bits: sizes, immediates, lanes),
// each written out as the text llvm-mc 14 prints for the word.
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { loadPatterns } from '../../packages/a64/scripts/gen-decoder.js'
import type { Pattern } from '../../packages/a64/scripts/decodetree.js'
import { decode, disassemble } from '../../packages/a64/src/index.js'
import type { Fill, Form } from '../fpsimd/lib/cases.js'
import { Rng } from './harness.js'

const here = dirname(fileURLToPath(import.meta.url))
let patterns: Pattern[] | undefined
function rowsNamed(name: string): Pattern[] {
  patterns ??= loadPatterns(join(here, '../../packages/a64/src/tables'))
  const rows = patterns.filter((p) => p.name === name && p.file.endsWith('simd-fp.decode'))
  if (rows.length === 0) throw new Error(`fpsimd forms: no row ${name} in simd-fp.decode`)
  return rows
}

/** Rows whose Rn or Rd field is a general register (x9/w9 in the framework). */
const GPR_IN = new Set(['DUP_vg', 'INS_g'])
const GPR_OUT = new Set(['UMOV_w', 'UMOV_x', 'SMOV_w', 'SMOV_x'])
const INT_FILL: readonly Fill[] = ['i8', 'i16', 'i32', 'i64']

function fieldBits(row: Pattern, name: string): { mask: number; set: (w: number, v: number) => number } | undefined {
  const arg = row.args.get(name)
  if (!arg || arg.kind !== 'pieces') return undefined
  let mask = 0
  for (const p of arg.pieces) mask |= ((2 ** p.len - 1) * 2 ** p.pos) >>> 0
  return {
    mask: mask >>> 0,
    set: (w, v) => {
      // Only single-piece register fields are set here (every register field is one piece).
      const [p] = arg.pieces
      return ((w & ~mask) | ((v & (2 ** p!.len - 1)) << p!.pos)) >>> 0
    },
  }
}

/** The registers the framework gives each operand of `row`. */
function registers(row: Pattern): Record<string, number> {
  if (GPR_IN.has(row.name)) return { rd: 0, rn: 9 }
  if (GPR_OUT.has(row.name)) return { rd: 9, rn: 1 }
  // TBL/TBX: the table v0.. (up to v3), the indices in v3.
  if (row.name === 'TBL_v' || row.name === 'TBX_v') return { rd: 0, rn: 0, rm: 3 }
  return { rd: 0, rn: 1, rm: 2, ra: 3 }
}

/** Up to `count` forms for each row named `name`. */
export function rowForms(name: string, count = 4, cases?: number): Form[] {
  const out: Form[] = []
  for (const row of rowsNamed(name)) {
    let base = row.value >>> 0
    let regMask = 0
    for (const [field, reg] of Object.entries(registers(row))) {
      const f = fieldBits(row, field)
      if (!f) continue
      base = f.set(base, reg)
      regMask |= f.mask
    }
    const free = ~row.mask & ~regMask & 0xffffffff
    const values = new Set<number>([0, free >>> 0])
    const rng = new Rng(row.line)
    while (values.size < count && values.size < 2 ** popcount(free)) values.add((rng.next() & free) >>> 0)
    let k = 0
    for (const v of [...values].slice(0, count)) {
      const word = (base | v) >>> 0
      const insn = decode(word)
      if (insn.name !== row.name) throw new Error(`fpsimd forms: ${word.toString(16)} decodes as ${insn.name}, not ${row.name}`)
      const esz = (insn as { esz?: number }).esz
      const fill: Fill = esz !== undefined && esz < 4 ? INT_FILL[esz]! : 'bits'
      out.push({
        name: `${row.name}.${row.line}.${k++}`,
        asm: disassemble(word),
        v0: 'bits',
        v1: fill,
        v2: fill,
        v3: fill,
        x: GPR_IN.has(row.name) ? 'bits' : 'none',
        ...(cases ? { cases } : {}),
      })
    }
  }
  return out
}

function popcount(x: number): number {
  let n = 0
  for (let v = x >>> 0; v; v &= v - 1) n++
  return n
}

/** Forms for every row named in `names`. */
export function forms(names: readonly string[], count = 4): Form[] {
  return names.flatMap((n) => rowForms(n, count))
}
