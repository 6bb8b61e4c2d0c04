// Integer AdvSIMD shifts by immediate (vector and scalar): the rows listed in guests/simd/forms/int-shift.ts, a few
// forms each, built by guests/simd/fpsimd-forms.ts (replayed by packages/cpu/src/simd/fpsimd-replay.test.ts).
import type { FormFile } from '../lib/cases.js'
import { forms } from '../../simd/fpsimd-forms.js'
import { forms as rows } from '../../simd/forms/int-shift.js'

const file: FormFile = {
  guest: 'int-shift',
  title: 'integer AdvSIMD shifts by immediate (vector and scalar)',
  cases: 160,
  forms: forms(rows.map((r) => r.row)),
}
export default file
