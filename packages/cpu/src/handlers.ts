// The decoder-to-semantics boundary: `compile(cpu, word)` decodes a word with @tagvm/a64
// once and builds the instruction's closure with its operands fixed (register slots,
// immediates, masks). Builders are found by the decoder's instruction id in one array made
// from the instruction families' tables, each typed by @tagvm/a64's InstructionMap, so a
// builder receives exactly its instruction's fields. A closure returns 0 to fall through
// to PC+4, or 1 when it has set PC itself; guest exceptions leave by throwing.
//
// How an instruction takes part in a block (ends it, or may write the block's own code)
// comes from the decode tables' flags (INSTRUCTION_FLAGS), not from lists of names here.
//
// Adding an instruction = a builder in the family module it belongs to, as a row of that
// module's table (the decoder's name is the key); FP/SIMD rows go the same way.

import {
  INSTRUCTION_FLAGS, INSTRUCTION_NAMES, InstructionFlag, decodeWord, type InstructionMap, type InstructionName,
} from '@tagvm/a64'
import type { Cpu } from './cpu.js'
import { arithmetic } from './exec-arith.js'
import { atomics } from './exec-atomic.js'
import { bitsAndMultiply } from './exec-bits.js'
import { branches } from './exec-branch.js'
import { floatingPoint, simdIntegerAndCrypto } from './exec-fp.js'
import { simdLoadsAndStores } from './exec-fp-mem.js'
import { loadsAndStores } from './exec-loadstore.js'
import { mteInstructions } from './exec-mte.js'
import { systemInstructions } from './exec-sys.js'

/** A compiled instruction: 0 = fall through to the next instruction, 1 = PC already set. */
export type Handler = () => number

/** The decoded form of instruction K (its fields, typed). */
export type Insn<K extends InstructionName> = InstructionMap[K]

/** Builds the closure of one decoded instruction. */
export type Build<K extends InstructionName> = (cpu: Cpu, insn: Insn<K>, word: number) => Handler

/** Builders by instruction name, each receiving its own instruction's fields. */
export type HandlerTable = { readonly [K in InstructionName]?: Build<K> }

const FAMILIES: readonly HandlerTable[] = [arithmetic, bitsAndMultiply, branches, loadsAndStores, atomics, systemInstructions, mteInstructions,
  floatingPoint, simdIntegerAndCrypto, simdLoadsAndStores]

/** Builders by instruction id. */
const BUILD_BY_ID: (Build<InstructionName> | undefined)[] = new Array(INSTRUCTION_NAMES.length).fill(undefined)
for (const family of FAMILIES) {
  for (const [name, build] of Object.entries(family)) {
    const id = INSTRUCTION_NAMES.indexOf(name as InstructionName)
    if (id < 0) throw new Error(`handler for ${name}, which the decoder does not have`)
    if (BUILD_BY_ID[id] !== undefined) throw new Error(`two handlers for ${name}`)
    BUILD_BY_ID[id] = build as Build<InstructionName>
  }
}

/** Decodes `word` and builds its closure: UNDEFINED without semantics, the FP trap for FP/SIMD without. */
export function compile(cpu: Cpu, word: number): Handler {
  const insn = decodeWord(word)
  const build = BUILD_BY_ID[insn.id]
  if (build !== undefined) return build(cpu, insn, word)
  // FP/SIMD instructions take the CPACR_EL1.FPEN / CPTR_EL2.TFP trap before anything else.
  if ((INSTRUCTION_FLAGS[insn.id]! & InstructionFlag.FP) !== 0) return () => cpu.fpInstruction()
  return () => cpu.undefined()
}

/** Whether `compile` has semantics for the decoder's instruction id (the compiled tier asks, per instruction it forms a region of). */
export function hasSemantics(id: number): boolean {
  return BUILD_BY_ID[id] !== undefined
}

/** Whether `compile` has semantics for a decoder instruction name (for tests). */
export function isImplemented(name: string): boolean {
  const id = INSTRUCTION_NAMES.indexOf(name as InstructionName)
  return id >= 0 && BUILD_BY_ID[id] !== undefined
}

export const ROLE_PLAIN = 0
/** Ends a block (included as its last instruction): may write PC, or is a System instruction, or has no semantics. */
export const ROLE_END = 1
/** May write memory: a block checks after it whether its own code page was written. */
export const ROLE_STORE = 2

/** Block role by instruction id, from the table flags and whether there are semantics. */
const ROLE_BY_ID = Uint8Array.from(INSTRUCTION_FLAGS, (flags, id) => {
  if (BUILD_BY_ID[id] === undefined || (flags & (InstructionFlag.BRANCH | InstructionFlag.SYSTEM)) !== 0) return ROLE_END
  return (flags & InstructionFlag.STORE) !== 0 ? ROLE_STORE : ROLE_PLAIN
})

/** How an instruction word takes part in a block. */
export function blockRole(word: number): number {
  return ROLE_BY_ID[decodeWord(word).id]!
}
