// AdvSIMD FP by-element forms, FMLAL/FMLSL (FHM), FCMLA/FCADD (FCMA) and FMOV (vector,
// immediate).
import type { Form, FormFile } from '../lib/cases.js'
import { A4H, A4S, A8H, FP_ARRANGEMENTS, SCALARS, form } from '../lib/form-helpers.js'

const forms: Form[] = []

// --- By element (vector and scalar); a low and the highest index.
for (const a of FP_ARRANGEMENTS) {
  const t = a.arr
  const top = a.esz === 1 ? 7 : a.esz === 2 ? 3 : 1
  for (const idx of [0, top]) {
    for (const [name, mnem] of [
      ['FMLA_ve', 'fmla'],
      ['FMLS_ve', 'fmls'],
    ] as const) {
      forms.push(form(name, `${t}.${idx}`, `${mnem} v0.${t}, v1.${t}, v2.${a.el}[${idx}]`, { v0: a.fp, v1: a.fp, v2: a.fp, cases: 512 }))
    }
    for (const [name, mnem] of [
      ['FMUL_ve', 'fmul'],
      ['FMULX_ve', 'fmulx'],
    ] as const) {
      forms.push(form(name, `${t}.${idx}`, `${mnem} v0.${t}, v1.${t}, v2.${a.el}[${idx}]`, { v1: a.fp, v2: a.fp, cases: 512 }))
    }
  }
}
for (const s of SCALARS) {
  const top = s.esz === 1 ? 7 : s.esz === 2 ? 3 : 1
  for (const [name, mnem] of [
    ['FMLA_se', 'fmla'],
    ['FMLS_se', 'fmls'],
    ['FMUL_se', 'fmul'],
    ['FMULX_se', 'fmulx'],
  ] as const) {
    const v0 = name === 'FMLA_se' || name === 'FMLS_se' ? s.fp : 'bits'
    forms.push(form(name, `${s.r}.${top}`, `${mnem} ${s.r}0, ${s.r}1, v2.${s.r}[${top}]`, { v0, v1: s.fp, v2: s.fp }))
  }
}

// --- FMLAL/FMLSL: half products accumulated into singles.
for (const [q, arrD, arrN] of [
  [0, '2s', '2h'],
  [1, '4s', '4h'],
] as const) {
  for (const [name, mnem] of [
    ['FMLAL_v', 'fmlal'],
    ['FMLSL_v', 'fmlsl'],
    ['FMLAL2_v', 'fmlal2'],
    ['FMLSL2_v', 'fmlsl2'],
  ] as const) {
    forms.push(form(name, arrD, `${mnem} v0.${arrD}, v1.${arrN}, v2.${arrN}`, { v0: 'f32', v1: 'f16', v2: 'f16' }))
    const en = name.replace('_v', '_ve')
    forms.push(form(en, `${arrD}.${q ? 7 : 2}`, `${mnem} v0.${arrD}, v1.${arrN}, v2.h[${q ? 7 : 2}]`, { v0: 'f32', v1: 'f16', v2: 'f16' }))
  }
}

// --- FCMLA and FCADD.
for (const a of FP_ARRANGEMENTS) {
  const t = a.arr
  for (const rot of [0, 90, 180, 270]) {
    forms.push(form('FCMLA_v', `${t}.${rot}`, `fcmla v0.${t}, v1.${t}, v2.${t}, #${rot}`, { v0: a.fp, v1: a.fp, v2: a.fp, cases: 512 }))
  }
  for (const rot of [90, 270]) {
    forms.push(form('FCADD_v', `${t}.${rot}`, `fcadd v0.${t}, v1.${t}, v2.${t}, #${rot}`, { v1: a.fp, v2: a.fp, cases: 512 }))
  }
}
for (const [a, idx] of [
  [A4H, 1],
  [A8H, 3],
  [A4S, 1],
] as const) {
  for (const rot of [0, 90, 180, 270]) {
    forms.push(
      form('FCMLA_ve', `${a.arr}.${idx}.${rot}`, `fcmla v0.${a.arr}, v1.${a.arr}, v2.${a.el}[${idx}], #${rot}`, {
        v0: a.fp,
        v1: a.fp,
        v2: a.fp,
        cases: 512,
      }),
    )
  }
}

// --- FMOV (vector, immediate).
forms.push(form('FMOV_vi', '4h', 'fmov v0.4h, #-1.25', { cases: 64 }))
forms.push(form('FMOV_vi', '8h', 'fmov v0.8h, #0.5', { cases: 64 }))
forms.push(form('FMOV_vi', '2s', 'fmov v0.2s, #31.0', { cases: 64 }))
forms.push(form('FMOV_vi', '4s', 'fmov v0.4s, #-0.1328125', { cases: 64 }))
forms.push(form('FMOV_vi', '2d', 'fmov v0.2d, #2.0', { cases: 64 }))

const file: FormFile = { guest: 'fp-simd', title: 'AdvSIMD FP: by element, FHM, FCMA', cases: 2048, forms }
export default file
