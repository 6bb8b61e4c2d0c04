// Copies, permutes, table lookups, modified immediates: the rows listed in guests/simd/forms/int-permute.ts, a few
// forms each, built by guests/simd/fpsimd-forms.ts (replayed by packages/cpu/src/simd/fpsimd-replay.test.ts).
import type { FormFile } from '../lib/cases.js'
import { forms } from '../../simd/fpsimd-forms.js'
import { forms as rows } from '../../simd/forms/int-permute.js'

const file: FormFile = {
  guest: 'int-permute',
  title: 'copies, permutes, table lookups, modified immediates',
  cases: 256,
  forms: forms(rows.map((r) => r.row)),
}
export default file
