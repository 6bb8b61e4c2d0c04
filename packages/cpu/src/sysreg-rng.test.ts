import { describe, expect, test } from 'vitest'
import { CODE, SNIPPET_END, VECTOR_HVC, makeMachine, runSnippet } from './test-helpers.js'

// Hand-encoded (llvm-mc -mattr=+rand): mrs x0, rndr; mrs x1, rndrrs; msr nzcv, x3; mrs x2, nzcv;
// mrs x4, id_aa64isar0_el1; msr rndr, x0 (llvm-mc refuses it: RNDR is read-only); eret.
const MRS_X0_RNDR = 0xd53b2400
const MRS_X1_RNDRRS = 0xd53b2421
const MSR_NZCV_X3 = 0xd51b4203
const MRS_X2_NZCV = 0xd53b4202
const MRS_X4_ISAR0 = 0xd5380604
const MSR_RNDR_X0 = 0xd51b2400
const ERET = 0xd69f03e0

const vector = (exit: ReturnType<typeof runSnippet>): number => (exit.kind === 'hvc' ? exit.imm16 - VECTOR_HVC : -1)

describe('FEAT_RNG: RNDR and RNDRRS', () => {
  test('ID_AA64ISAR0_EL1.RNDR is 1; a read gives 64 bits and clears NZCV (success)', () => {
    const m = makeMachine()
    m.cpu.setX(3, 0xf000_0000n)
    const exit = runSnippet(m, [MSR_NZCV_X3, MRS_X0_RNDR, MRS_X2_NZCV, MRS_X1_RNDRRS, MRS_X4_ISAR0])
    expect(exit).toMatchObject({ kind: 'hvc', imm16: SNIPPET_END })
    expect(m.cpu.getX(4) >> 60n).toBe(1n)
    expect(m.cpu.getX(2)).toBe(0n)
    const a = m.cpu.getX(0)
    const b = m.cpu.getX(1)
    expect(a).not.toBe(b)
    // Both halves carry random bits (not a 32-bit value zero-extended).
    expect(a >> 32n).not.toBe(0n)
    expect(b >> 32n).not.toBe(0n)
  })

  test('the sequence is repeatable: a second CPU made the same way reads the same numbers', () => {
    const read = (): bigint[] => {
      const m = makeMachine()
      runSnippet(m, [MRS_X0_RNDR, MRS_X1_RNDRRS])
      return [m.cpu.getX(0), m.cpu.getX(1)]
    }
    const first = read()
    expect(read()).toEqual(first)
    expect(new Set(first).size).toBe(2)
  })

  test('readable at EL0; MSR RNDR is UNDEFINED', () => {
    const m = makeMachine()
    m.cpu.setSysreg('SPSR_EL1', 0n)
    m.cpu.setSysreg('ELR_EL1', BigInt(CODE + 4))
    // eret to EL0, read RNDR there; the closing HVC is UNDEFINED at EL0 (vector 8: lower EL).
    expect(vector(runSnippet(m, [ERET, MRS_X0_RNDR]))).toBe(8)
    expect(m.cpu.getSysreg('ELR_EL1')).toBe(BigInt(CODE + 8))
    expect(m.cpu.getX(0)).not.toBe(0n)

    const m2 = makeMachine()
    expect(vector(runSnippet(m2, [MSR_RNDR_X0]))).toBe(4) // UNDEFINED, taken at EL1 on SP_EL1
    expect(m2.cpu.getSysreg('ESR_EL1')).toBe(0x0200_0000n)
    expect(m2.cpu.getSysreg('ELR_EL1')).toBe(BigInt(CODE))
  })
})
