// FP, Advanced SIMD and crypto data processing: every such instruction the decoder knows,
// as rows built on the libraries in src/fp (FP_HANDLERS: IEEE 754 as Arm defines it) and
// src/simd (SIMD_EXECUTE: integer AdvSIMD, permutes, crypto). The SIMD&FP loads and
// stores are in exec-fp-mem.ts. Each closure first checks that FP/SIMD is enabled
// (CPACR_EL1.FPEN, CPTR_EL2.TFP: EC 0x07 to EL1 or an exit to EL2 otherwise), then runs the
// library handler on the CPU's register file (fp-regs.ts). Library handlers never fault.

import type { InstructionName } from '@tagvm/a64'
import type { Cpu } from './cpu.js'
import { FP_HANDLERS, type FpContext } from './fp/index.js'
import type { Build, Handler, HandlerTable } from './handlers.js'
import { SIMD_EXECUTE, type SimdState } from './simd/index.js'

type LibraryHandler<C> = (insn: never, context: C) => void

function row<C>(run: LibraryHandler<C>, context: (cpu: Cpu) => C): Build<InstructionName> {
  const body = run as (insn: unknown, context: C) => void
  return (cpu, insn): Handler => {
    const ctx = context(cpu)
    return () => {
      if (!cpu.fpEnabled()) return cpu.fpInstruction()
      body(insn, ctx)
      return 0
    }
  }
}

const fpContext = (cpu: Cpu): FpContext => cpu.fpRegs.fpContext
const simdState = (cpu: Cpu): SimdState => cpu.fpRegs.simdState

/** Scalar and vector floating point (src/fp). */
export const floatingPoint: HandlerTable = Object.fromEntries(
  Object.entries(FP_HANDLERS).map(([name, run]) => [name, row(run as LibraryHandler<FpContext>, fpContext)]),
) as HandlerTable

/** Integer AdvSIMD, permutes and crypto (src/simd). */
export const simdIntegerAndCrypto: HandlerTable = Object.fromEntries(
  Object.entries(SIMD_EXECUTE).map(([name, run]) => [name, row(run as LibraryHandler<SimdState>, simdState)]),
) as HandlerTable
