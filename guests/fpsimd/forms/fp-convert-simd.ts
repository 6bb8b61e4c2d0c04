// AdvSIMD conversions: same-size integers in FP registers (scalar), and the scalar and vector
// fixed-point forms.
import type { Form, FormFile } from '../lib/cases.js'
import { FP_ARRANGEMENTS, SCALARS, TO_INT, form } from '../lib/form-helpers.js'

const forms: Form[] = []

for (const s of SCALARS) {
  // AdvSIMD scalar: same-size integers in an FP register.
  for (const [name, mnem] of TO_INT) {
    forms.push(form(`${name}_s`, s.r, `${mnem} ${s.r}0, ${s.r}1`, { v1: s.fp }))
  }
  forms.push(form('SCVTF_s', s.r, `scvtf ${s.r}0, ${s.r}1`, { v1: s.int }))
  forms.push(form('UCVTF_s', s.r, `ucvtf ${s.r}0, ${s.r}1`, { v1: s.int }))
  for (const fbits of [1, s.bits]) {
    forms.push(form('SCVTF_sfx', `${s.r}.${fbits}`, `scvtf ${s.r}0, ${s.r}1, #${fbits}`, { v1: s.int, cases: 1024 }))
    forms.push(form('UCVTF_sfx', `${s.r}.${fbits}`, `ucvtf ${s.r}0, ${s.r}1, #${fbits}`, { v1: s.int, cases: 1024 }))
    forms.push(form('FCVTZS_sfx', `${s.r}.${fbits}`, `fcvtzs ${s.r}0, ${s.r}1, #${fbits}`, { v1: s.fp, cases: 1024 }))
    forms.push(form('FCVTZU_sfx', `${s.r}.${fbits}`, `fcvtzu ${s.r}0, ${s.r}1, #${fbits}`, { v1: s.fp, cases: 1024 }))
  }
}
for (const a of FP_ARRANGEMENTS) {
  const bits = 8 << a.esz
  for (const fbits of [3, bits]) {
    const t = a.arr
    forms.push(form('SCVTF_vfx', `${t}.${fbits}`, `scvtf v0.${t}, v1.${t}, #${fbits}`, { v1: a.int, cases: 512, lanes: 0 }))
    forms.push(form('UCVTF_vfx', `${t}.${fbits}`, `ucvtf v0.${t}, v1.${t}, #${fbits}`, { v1: a.int, cases: 512, lanes: 0 }))
    forms.push(form('FCVTZS_vfx', `${t}.${fbits}`, `fcvtzs v0.${t}, v1.${t}, #${fbits}`, { v1: a.fp, cases: 512, lanes: 0 }))
    forms.push(form('FCVTZU_vfx', `${t}.${fbits}`, `fcvtzu v0.${t}, v1.${t}, #${fbits}`, { v1: a.fp, cases: 512, lanes: 0 }))
  }
}

const file: FormFile = { guest: 'fp-convert-simd', title: 'AdvSIMD FP conversions', cases: 2048, lanes: 1, forms }
export default file
