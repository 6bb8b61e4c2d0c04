// Integer AdvSIMD two-register misc, across lanes, pairwise (vector and scalar): the rows listed in guests/simd/forms/int-misc.ts, a few
// forms each, built by guests/simd/fpsimd-forms.ts (replayed by packages/cpu/src/simd/fpsimd-replay.test.ts).
import type { FormFile } from '../lib/cases.js'
import { forms } from '../../simd/fpsimd-forms.js'
import { forms as rows } from '../../simd/forms/int-misc.js'

const file: FormFile = {
  guest: 'int-misc',
  title: 'integer AdvSIMD two-register misc, across lanes, pairwise (vector and scalar)',
  cases: 256,
  forms: forms(rows.map((r) => r.row)),
}
export default file
