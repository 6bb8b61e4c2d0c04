// Advanced SIMD two-register miscellaneous (FP and FP16): FRINT*, FCVT* to integers, SCVTF/UCVTF,
// FABS/FNEG/FSQRT, estimates, compares with zero, and the narrowing/lengthening conversions.
import type { Form, FormFile } from '../lib/cases.js'
import { A2S, A4S, FP_ARRANGEMENTS, form } from '../lib/form-helpers.js'

const forms: Form[] = []
for (const a of FP_ARRANGEMENTS) {
  const t = a.arr
  for (const [name, mnem] of [
    ['FRINTN_v', 'frintn'],
    ['FRINTM_v', 'frintm'],
    ['FRINTP_v', 'frintp'],
    ['FRINTZ_v', 'frintz'],
    ['FRINTA_v', 'frinta'],
    ['FRINTX_v', 'frintx'],
    ['FRINTI_v', 'frinti'],
    ['FABS_v', 'fabs'],
    ['FNEG_v', 'fneg'],
    ['FSQRT_v', 'fsqrt'],
    ['FRECPE_v', 'frecpe'],
    ['FRSQRTE_v', 'frsqrte'],
    ['FCVTNS_v', 'fcvtns'],
    ['FCVTNU_v', 'fcvtnu'],
    ['FCVTMS_v', 'fcvtms'],
    ['FCVTMU_v', 'fcvtmu'],
    ['FCVTAS_v', 'fcvtas'],
    ['FCVTAU_v', 'fcvtau'],
    ['FCVTPS_v', 'fcvtps'],
    ['FCVTPU_v', 'fcvtpu'],
    ['FCVTZS_v', 'fcvtzs'],
    ['FCVTZU_v', 'fcvtzu'],
  ] as const) {
    forms.push(form(name, t, `${mnem} v0.${t}, v1.${t}`, { v1: a.fp }))
  }
  for (const [name, mnem] of [
    ['SCVTF_v', 'scvtf'],
    ['UCVTF_v', 'ucvtf'],
  ] as const) {
    forms.push(form(name, t, `${mnem} v0.${t}, v1.${t}`, { v1: a.int }))
  }
  for (const [name, mnem] of [
    ['FCMGT_vz', 'fcmgt'],
    ['FCMGE_vz', 'fcmge'],
    ['FCMEQ_vz', 'fcmeq'],
    ['FCMLT_vz', 'fcmlt'],
    ['FCMLE_vz', 'fcmle'],
  ] as const) {
    forms.push(form(name, t, `${mnem} v0.${t}, v1.${t}, #0.0`, { v1: a.fp }))
  }
  if (a.esz >= 2) {
    for (const [name, mnem] of [
      ['FRINT32Z_v', 'frint32z'],
      ['FRINT32X_v', 'frint32x'],
      ['FRINT64Z_v', 'frint64z'],
      ['FRINT64X_v', 'frint64x'],
    ] as const) {
      forms.push(form(name, t, `${mnem} v0.${t}, v1.${t}`, { v1: a.fp }))
    }
  }
}
for (const a of [A2S, A4S]) {
  forms.push(form('URECPE_v', a.arr, `urecpe v0.${a.arr}, v1.${a.arr}`, { v1: 'i32' }))
  forms.push(form('URSQRTE_v', a.arr, `ursqrte v0.${a.arr}, v1.${a.arr}`, { v1: 'i32' }))
}
// Narrowing into the low half (and clearing the high one) or into the high half (keeping the low).
forms.push(form('FCVTN_v', '4h', 'fcvtn v0.4h, v1.4s', { v1: 'f32' }))
forms.push(form('FCVTN_v', '8h', 'fcvtn2 v0.8h, v1.4s', { v1: 'f32' }))
forms.push(form('FCVTN_v', '2s', 'fcvtn v0.2s, v1.2d', { v1: 'f64' }))
forms.push(form('FCVTN_v', '4s', 'fcvtn2 v0.4s, v1.2d', { v1: 'f64' }))
forms.push(form('FCVTXN_v', '2s', 'fcvtxn v0.2s, v1.2d', { v1: 'f64' }))
forms.push(form('FCVTXN_v', '4s', 'fcvtxn2 v0.4s, v1.2d', { v1: 'f64' }))
forms.push(form('FCVTL_v', '4s', 'fcvtl v0.4s, v1.4h', { v1: 'f16' }))
forms.push(form('FCVTL_v', '4s2', 'fcvtl2 v0.4s, v1.8h', { v1: 'f16' }))
forms.push(form('FCVTL_v', '2d', 'fcvtl v0.2d, v1.2s', { v1: 'f32' }))
forms.push(form('FCVTL_v', '2d2', 'fcvtl2 v0.2d, v1.4s', { v1: 'f32' }))

const file: FormFile = { guest: 'fp-vector-misc', title: 'AdvSIMD two-register misc (FP)', cases: 1024, forms }
export default file
