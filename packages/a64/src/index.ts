/**
 * Decodes 32-bit A64 instruction words (Armv8.5-A with MTE) into typed instructions and prints
 * them as llvm-mc 14 does.
 *
 * @module \@tagvm/a64
 */
export { toInstructionWord } from './word.js'
export { decode, decodeWord, UNDEFINED_INSTRUCTION } from './decode.js'
export { disassemble } from './disassemble.js'
export { INSTRUCTION_FLAGS, INSTRUCTION_NAMES, InstructionFlag, type Instruction, type InstructionMap } from './generated/decoder.js'
export type { InstructionName, InstructionOf } from './printer-types.js'
