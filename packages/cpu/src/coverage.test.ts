import { readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { expect, test } from 'vitest'
import { INSTRUCTION_NAMES } from '@tagvm/a64'
import { isImplemented } from './handlers.js'

/**
 * Base-ISA instructions that UNDEF on purpose, each because the ID registers say the
 * feature is absent. Everything else in the decoder's base table must have semantics, so a
 * new decoder row cannot silently become UNDEFINED here.
 */
const ABSENT: Record<string, string> = {
  BRAZ: 'PAuth', BLRAZ: 'PAuth', RETA: 'PAuth', ERETA: 'PAuth', BRA: 'PAuth', BLRA: 'PAuth', PAC: 'PAuth',
  AUT: 'PAuth', PACZ: 'PAuth', AUTZ: 'PAuth', XPAC: 'PAuth', PACGA: 'PAuth', LDRA: 'PAuth',
  CFINV: 'FlagM', XAFLAG: 'FlagM2', AXFLAG: 'FlagM2', RMIF: 'FlagM', SETF8: 'FlagM', SETF16: 'FlagM',
  SB: 'SB', LDLAR: 'LOR', STLLR: 'LOR',
  DRPS: 'debug state', HLT: 'halting debug', DCPS: 'debug state', UDF: 'permanently undefined', SYSL: 'no SYSL ops', MSR_S0: 'unallocated (op0 = 0)', MRS_S0: 'unallocated (op0 = 0)',
}

test('every base-ISA row of the decoder has semantics or is deliberately absent', () => {
  const table = readFileSync(fileURLToPath(new URL('../../a64/src/tables/base.decode', import.meta.url)), 'utf8')
  const names = new Set<string>()
  for (const line of table.split('\n')) {
    const m = /^\s*([A-Z][A-Z0-9_]*)\s+[01.-]/.exec(line)
    if (m && m[1] !== 'UNDEFINED') names.add(m[1]!)
  }
  expect(names.size).toBeGreaterThan(120)
  const known = new Set<string>(INSTRUCTION_NAMES)
  const missing = [...names].filter((n) => known.has(n) && !isImplemented(n) && !(n in ABSENT))
  expect(missing).toEqual([])
  const stale = Object.keys(ABSENT).filter((n) => isImplemented(n))
  expect(stale).toEqual([])
})
