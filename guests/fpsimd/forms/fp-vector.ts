// Advanced SIMD three same (FP and FP16): arithmetic, fused multiply-add, min/max, steps,
// compares and pairwise operations, in every arrangement.
import type { Form, FormFile } from '../lib/cases.js'
import { FP_ARRANGEMENTS, form } from '../lib/form-helpers.js'

const forms: Form[] = []
for (const a of FP_ARRANGEMENTS) {
  const t = a.arr
  for (const [name, mnem] of [
    ['FADD_v', 'fadd'],
    ['FSUB_v', 'fsub'],
    ['FMUL_v', 'fmul'],
    ['FDIV_v', 'fdiv'],
    ['FMULX_v', 'fmulx'],
    ['FMAX_v', 'fmax'],
    ['FMIN_v', 'fmin'],
    ['FMAXNM_v', 'fmaxnm'],
    ['FMINNM_v', 'fminnm'],
    ['FABD_v', 'fabd'],
    ['FRECPS_v', 'frecps'],
    ['FRSQRTS_v', 'frsqrts'],
    ['FCMEQ_v', 'fcmeq'],
    ['FCMGE_v', 'fcmge'],
    ['FCMGT_v', 'fcmgt'],
    ['FACGE_v', 'facge'],
    ['FACGT_v', 'facgt'],
    ['FADDP_v', 'faddp'],
    ['FMAXP_v', 'fmaxp'],
    ['FMINP_v', 'fminp'],
    ['FMAXNMP_v', 'fmaxnmp'],
    ['FMINNMP_v', 'fminnmp'],
  ] as const) {
    forms.push(form(name, t, `${mnem} v0.${t}, v1.${t}, v2.${t}`, { v1: a.fp, v2: a.fp }))
  }
  for (const [name, mnem] of [
    ['FMLA_v', 'fmla'],
    ['FMLS_v', 'fmls'],
  ] as const) {
    forms.push(form(name, t, `${mnem} v0.${t}, v1.${t}, v2.${t}`, { v0: a.fp, v1: a.fp, v2: a.fp }))
  }
}

const file: FormFile = { guest: 'fp-vector', title: 'AdvSIMD three same (FP)', cases: 1024, forms }
export default file
