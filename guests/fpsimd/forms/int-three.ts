// Integer AdvSIMD three same, three different and their scalar forms: the rows listed in guests/simd/forms/int-three.ts, a few
// forms each, built by guests/simd/fpsimd-forms.ts (replayed by packages/cpu/src/simd/fpsimd-replay.test.ts).
import type { FormFile } from '../lib/cases.js'
import { forms } from '../../simd/fpsimd-forms.js'
import { forms as rows } from '../../simd/forms/int-three.js'

const file: FormFile = {
  guest: 'int-three',
  title: 'integer AdvSIMD three same, three different and their scalar forms',
  cases: 144,
  forms: forms(rows.map((r) => r.row)),
}
export default file
