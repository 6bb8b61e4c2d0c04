// The cryptographic extension: AES, SHA-1/2/512, SHA-3, SM3, SM4: the rows listed in guests/simd/forms/crypto.ts, a few
// forms each, built by guests/simd/fpsimd-forms.ts (replayed by packages/cpu/src/simd/fpsimd-replay.test.ts).
import type { FormFile } from '../lib/cases.js'
import { forms } from '../../simd/fpsimd-forms.js'
import { forms as rows } from '../../simd/forms/crypto.js'

const file: FormFile = {
  guest: 'crypto',
  title: 'the cryptographic extension: AES, SHA-1/2/512, SHA-3, SM3, SM4',
  cases: 256,
  forms: forms(rows.map((r) => r.row)),
}
export default file
