import type { Instruction, InstructionMap } from './generated/decoder.js'

/** Name of a decoded instruction (a pattern name from the tables, or 'UNDEFINED'). */
export type InstructionName = Instruction['name']
/** The decoded form of one instruction name, e.g. `InstructionOf<'STG'>`. */
export type InstructionOf<K extends InstructionName> = InstructionMap[K]
/** Prints one decoded instruction in LLVM syntax; `pc` is the word's address. */
export type Printer<K extends InstructionName> = (insn: InstructionOf<K>, pc: number) => string
/** What each src/disasm/*.ts module exports as `printers`. */
export type PrinterTable = { readonly [K in InstructionName]?: Printer<K> }
