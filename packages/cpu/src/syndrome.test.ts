import { expect, test } from 'vitest'
import { ExceptionClass, syndrome } from './syndrome.js'

test('syndromes match the architecture examples', () => {
  // Synchronous tag check fault on a read at EL1 (arm-mte.md vector 21).
  expect(syndrome(ExceptionClass.DABT_CURRENT, true, 0x11)).toBe(0x96000011)
  // ... and on a write (WnR, bit 6).
  expect(syndrome(ExceptionClass.DABT_CURRENT, true, 0x51)).toBe(0x96000051)
  // UNDEF.
  expect(syndrome(ExceptionClass.UNKNOWN, true, 0)).toBe(0x02000000)
})
