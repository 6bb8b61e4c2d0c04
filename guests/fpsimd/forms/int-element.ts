// Integer AdvSIMD by element (vector and scalar): the rows listed in guests/simd/forms/int-element.ts, a few
// forms each, built by guests/simd/fpsimd-forms.ts (replayed by packages/cpu/src/simd/fpsimd-replay.test.ts).
import type { FormFile } from '../lib/cases.js'
import { forms } from '../../simd/fpsimd-forms.js'
import { forms as rows } from '../../simd/forms/int-element.js'

const file: FormFile = {
  guest: 'int-element',
  title: 'integer AdvSIMD by element (vector and scalar)',
  cases: 256,
  forms: forms(rows.map((r) => r.row)),
}
export default file
