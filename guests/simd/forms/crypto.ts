// The cryptographic extension.
import { type FormSpec, rows } from './types.js'

export const forms: FormSpec[] = rows(
  'AESE', 'AESD', 'AESMC', 'AESIMC',
  'SHA1C', 'SHA1P', 'SHA1M', 'SHA1H', 'SHA1SU0', 'SHA1SU1',
  'SHA256H', 'SHA256H2', 'SHA256SU0', 'SHA256SU1',
  'SHA512H', 'SHA512H2', 'SHA512SU0', 'SHA512SU1',
  'EOR3', 'BCAX', 'RAX1', 'XAR',
  'SM3SS1', 'SM3TT1A', 'SM3TT1B', 'SM3TT2A', 'SM3TT2B', 'SM3PARTW1', 'SM3PARTW2',
  'SM4E', 'SM4EKEY',
)
