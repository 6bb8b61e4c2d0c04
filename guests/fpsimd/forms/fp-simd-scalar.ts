// AdvSIMD FP reductions (across lanes, scalar pairwise) and the scalar three-same and
// two-register forms: compares, steps, estimates, FRECPX, FCVTXN.
import type { Form, FormFile } from '../lib/cases.js'
import { SCALARS, form } from '../lib/form-helpers.js'

const forms: Form[] = []

// --- Across lanes and scalar pairwise.
for (const [name, mnem] of [
  ['FMAXNMV', 'fmaxnmv'],
  ['FMINNMV', 'fminnmv'],
  ['FMAXV', 'fmaxv'],
  ['FMINV', 'fminv'],
] as const) {
  forms.push(form(name, '4h', `${mnem} h0, v1.4h`, { v1: 'f16' }))
  forms.push(form(name, '8h', `${mnem} h0, v1.8h`, { v1: 'f16' }))
  forms.push(form(name, '4s', `${mnem} s0, v1.4s`, { v1: 'f32' }))
}
for (const s of SCALARS) {
  const src = s.esz === 1 ? '2h' : s.esz === 2 ? '2s' : '2d'
  for (const [name, mnem] of [
    ['FADDP_s', 'faddp'],
    ['FMAXP_s', 'fmaxp'],
    ['FMINP_s', 'fminp'],
    ['FMAXNMP_s', 'fmaxnmp'],
    ['FMINNMP_s', 'fminnmp'],
  ] as const) {
    forms.push(form(name, s.r, `${mnem} ${s.r}0, v1.${src}`, { v1: s.fp, lanes: 2 }))
  }
}

// --- Scalar three same, compares with zero, estimates.
for (const s of SCALARS) {
  const r = s.r
  for (const [name, mnem] of [
    ['FMULX_s', 'fmulx'],
    ['FRECPS_s', 'frecps'],
    ['FRSQRTS_s', 'frsqrts'],
    ['FABD_s', 'fabd'],
    ['FCMEQ_s', 'fcmeq'],
    ['FCMGE_s', 'fcmge'],
    ['FCMGT_s', 'fcmgt'],
    ['FACGE_s', 'facge'],
    ['FACGT_s', 'facgt'],
  ] as const) {
    forms.push(form(name, r, `${mnem} ${r}0, ${r}1, ${r}2`, { v1: s.fp, v2: s.fp, lanes: 1 }))
  }
  for (const [name, mnem] of [
    ['FCMGT_sz', 'fcmgt'],
    ['FCMGE_sz', 'fcmge'],
    ['FCMEQ_sz', 'fcmeq'],
    ['FCMLT_sz', 'fcmlt'],
    ['FCMLE_sz', 'fcmle'],
  ] as const) {
    forms.push(form(name, r, `${mnem} ${r}0, ${r}1, #0.0`, { v1: s.fp, cases: 1024, lanes: 1 }))
  }
  for (const [name, mnem] of [
    ['FRECPE_s', 'frecpe'],
    ['FRSQRTE_s', 'frsqrte'],
    ['FRECPX_s', 'frecpx'],
  ] as const) {
    forms.push(form(name, r, `${mnem} ${r}0, ${r}1`, { v1: s.fp, lanes: 1 }))
  }
}
forms.push(form('FCVTXN_s', 's', 'fcvtxn s0, d1', { v1: 'f64', lanes: 1 }))

const file: FormFile = { guest: 'fp-simd-scalar', title: 'AdvSIMD FP reductions and scalar forms', cases: 2048, forms }
export default file
