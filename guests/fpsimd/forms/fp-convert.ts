// Conversions between FP and general registers: rounding-mode variants, fixed point, FMOV,
// FJCVTZS.
import type { Form, FormFile } from '../lib/cases.js'
import { SCALARS, TO_INT, form } from '../lib/form-helpers.js'

const forms: Form[] = []

for (const s of SCALARS) {
  for (const [w, bits] of [
    ['w', 32],
    ['x', 64],
  ] as const) {
    const sf = w === 'x' ? 'x' : 'w'
    for (const [name, mnem] of TO_INT) {
      forms.push(form(`${name}_g`, `${sf}.${s.r}`, `${mnem} ${w}9, ${s.r}1`, { v1: s.fp, x: 'bits' }))
    }
    for (const [name, mnem] of [
      ['SCVTF', 'scvtf'],
      ['UCVTF', 'ucvtf'],
    ] as const) {
      forms.push(form(`${name}_g`, `${s.r}.${sf}`, `${mnem} ${s.r}0, ${w}9`, { x: bits === 64 ? 'i64' : 'i32' }))
    }
    // Fixed point: a small, a middle and the largest fbits for the register size.
    for (const fbits of [1, bits / 2 + 1, bits]) {
      for (const [name, mnem] of [
        ['FCVTZS', 'fcvtzs'],
        ['FCVTZU', 'fcvtzu'],
      ] as const) {
        forms.push(form(`${name}_gfx`, `${sf}.${s.r}.${fbits}`, `${mnem} ${w}9, ${s.r}1, #${fbits}`, { v1: s.fp, x: 'bits', cases: 1024 }))
      }
      for (const [name, mnem] of [
        ['SCVTF', 'scvtf'],
        ['UCVTF', 'ucvtf'],
      ] as const) {
        forms.push(form(`${name}_gfx`, `${s.r}.${sf}.${fbits}`, `${mnem} ${s.r}0, ${w}9, #${fbits}`, { x: bits === 64 ? 'i64' : 'i32', cases: 1024 }))
      }
    }
  }
}
// FMOV between FP and general registers, and FJCVTZS.
forms.push(form('FMOV_gf', 'w.h', 'fmov w9, h1', { v1: 'bits', x: 'bits', cases: 128 }))
forms.push(form('FMOV_gf', 'x.h', 'fmov x9, h1', { v1: 'bits', x: 'bits', cases: 128 }))
forms.push(form('FMOV_gf', 'w.s', 'fmov w9, s1', { v1: 'bits', x: 'bits', cases: 128 }))
forms.push(form('FMOV_gf', 'x.d', 'fmov x9, d1', { v1: 'bits', x: 'bits', cases: 128 }))
forms.push(form('FMOV_fg', 'h.w', 'fmov h0, w9', { x: 'bits', cases: 128 }))
forms.push(form('FMOV_fg', 'h.x', 'fmov h0, x9', { x: 'bits', cases: 128 }))
forms.push(form('FMOV_fg', 's.w', 'fmov s0, w9', { x: 'bits', cases: 128 }))
forms.push(form('FMOV_fg', 'd.x', 'fmov d0, x9', { x: 'bits', cases: 128 }))
forms.push(form('FMOV_gd1', 'x', 'fmov x9, v1.d[1]', { v1: 'bits', x: 'bits', cases: 128 }))
forms.push(form('FMOV_d1g', 'x', 'fmov v0.d[1], x9', { x: 'bits', cases: 128 }))
forms.push(form('FJCVTZS', 'w.d', 'fjcvtzs w9, d1', { v1: 'f64', x: 'bits', cases: 4096 }))

const file: FormFile = { guest: 'fp-convert', title: 'FP conversions', cases: 2048, lanes: 1, forms }
export default file
