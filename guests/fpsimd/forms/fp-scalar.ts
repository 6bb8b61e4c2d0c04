// Scalar floating point (the "Floating-point data processing" classes): arithmetic, fused
// multiply-add, min/max, FRINT*, FCVT between precisions, compares, FCSEL, FMOV.
import type { Form, FormFile } from '../lib/cases.js'
import { SCALARS, SD, SS, form, type Scalar } from '../lib/form-helpers.js'

const forms: Form[] = []
const reg = (s: Scalar, n: number): string => `${s.r}${n}`

for (const s of SCALARS) {
  const v = s.r
  for (const [name, mnem] of [
    ['FADD_f', 'fadd'],
    ['FSUB_f', 'fsub'],
    ['FMUL_f', 'fmul'],
    ['FDIV_f', 'fdiv'],
    ['FMAX_f', 'fmax'],
    ['FMIN_f', 'fmin'],
    ['FMAXNM_f', 'fmaxnm'],
    ['FMINNM_f', 'fminnm'],
    ['FNMUL_f', 'fnmul'],
  ] as const) {
    forms.push(form(name, v, `${mnem} ${reg(s, 0)}, ${reg(s, 1)}, ${reg(s, 2)}`, { v1: s.fp, v2: s.fp }))
  }
  for (const [name, mnem] of [
    ['FMADD_f', 'fmadd'],
    ['FMSUB_f', 'fmsub'],
    ['FNMADD_f', 'fnmadd'],
    ['FNMSUB_f', 'fnmsub'],
  ] as const) {
    forms.push(form(name, v, `${mnem} ${reg(s, 0)}, ${reg(s, 1)}, ${reg(s, 2)}, ${reg(s, 3)}`, { v1: s.fp, v2: s.fp, v3: s.fp }))
  }
  for (const [name, mnem, cases] of [
    ['FMOV_f', 'fmov', 256],
    ['FABS_f', 'fabs', 256],
    ['FNEG_f', 'fneg', 256],
    ['FSQRT_f', 'fsqrt', 0],
    ['FRINTN_f', 'frintn', 0],
    ['FRINTP_f', 'frintp', 0],
    ['FRINTM_f', 'frintm', 0],
    ['FRINTZ_f', 'frintz', 0],
    ['FRINTA_f', 'frinta', 0],
    ['FRINTX_f', 'frintx', 0],
    ['FRINTI_f', 'frinti', 0],
  ] as const) {
    forms.push(form(name, v, `${mnem} ${reg(s, 0)}, ${reg(s, 1)}`, cases ? { v1: s.fp, cases } : { v1: s.fp }))
  }
  for (const t of SCALARS) {
    if (t === s) continue
    forms.push(form('FCVT_f', `${t.r}.${s.r}`, `fcvt ${reg(t, 0)}, ${reg(s, 1)}`, { v1: s.fp }))
  }
  forms.push(form('FCMP_f', v, `fcmp ${reg(s, 1)}, ${reg(s, 2)}`, { v1: s.fp, v2: s.fp }))
  forms.push(form('FCMPE_f', v, `fcmpe ${reg(s, 1)}, ${reg(s, 2)}`, { v1: s.fp, v2: s.fp }))
  forms.push(form('FCMP_fz', v, `fcmp ${reg(s, 1)}, #0.0`, { v1: s.fp, cases: 1024 }))
  forms.push(form('FCMPE_fz', v, `fcmpe ${reg(s, 1)}, #0.0`, { v1: s.fp, cases: 1024 }))
  // Conditional compares and selects: a spread of conditions and NZCV immediates.
  const picks: [string, number][] = [
    ['eq', 0x0],
    ['lt', 0xf],
    ['hi', 0x6],
    ['vs', 0x9],
  ]
  for (const [cond, nzcv] of picks) {
    forms.push(form('FCCMP_f', `${v}.${cond}`, `fccmp ${reg(s, 1)}, ${reg(s, 2)}, #${nzcv}, ${cond}`, { v1: s.fp, v2: s.fp, cases: 1024 }))
    forms.push(form('FCCMPE_f', `${v}.${cond}`, `fccmpe ${reg(s, 1)}, ${reg(s, 2)}, #${nzcv}, ${cond}`, { v1: s.fp, v2: s.fp, cases: 1024 }))
  }
  for (const cond of ['ne', 'ge', 'ls', 'al', 'nv'] as const) {
    forms.push(form('FCSEL_f', `${v}.${cond}`, `fcsel ${reg(s, 0)}, ${reg(s, 1)}, ${reg(s, 2)}, ${cond}`, { v1: 'bits', v2: 'bits', cases: 256 }))
  }
  for (const imm of ['1.0', '-0.125', '31.0', '0.1328125']) {
    forms.push(form('FMOV_fi', `${v}.${imm}`, `fmov ${reg(s, 0)}, #${imm}`, { cases: 64 }))
  }
}
for (const s of [SS, SD]) {
  for (const [name, mnem] of [
    ['FRINT32Z_f', 'frint32z'],
    ['FRINT32X_f', 'frint32x'],
    ['FRINT64Z_f', 'frint64z'],
    ['FRINT64X_f', 'frint64x'],
  ] as const) {
    forms.push(form(name, s.r, `${mnem} ${reg(s, 0)}, ${reg(s, 1)}`, { v1: s.fp }))
  }
}
const file: FormFile = { guest: 'fp-scalar', title: 'scalar FP data processing', cases: 2048, lanes: 1, forms }
export default file
