import { INSTRUCTION_NAMES, type Instruction } from './generated/decoder.js'
import { PRINTER_MODULES } from './generated/printer-modules.js'
import { decodeWord } from './decode.js'
import { toInstructionWord } from './word.js'
import { hex } from './print-helpers.js'

type AnyPrinter = (insn: Instruction, pc: number) => string

// One printer per instruction id, merged from every src/disasm module on first use. Built
// lazily rather than by a top-level loop so that a bundler can drop this module, and every
// printer with it, from programs that only decode.
let printerTable: readonly (AnyPrinter | undefined)[] | undefined

function printers(): readonly (AnyPrinter | undefined)[] {
  if (printerTable) return printerTable
  const table: (AnyPrinter | undefined)[] = INSTRUCTION_NAMES.map(() => undefined)
  for (const printerModule of PRINTER_MODULES) {
    for (const [name, printer] of Object.entries(printerModule)) {
      const id = (INSTRUCTION_NAMES as readonly string[]).indexOf(name)
      if (id < 0) throw new Error(`printer for unknown instruction ${name}`)
      if (table[id]) throw new Error(`two printers for ${name}`)
      table[id] = printer as AnyPrinter
    }
  }
  printerTable = table
  return table
}

/** Instruction names with no printer (the tests require this to be empty). */
export function unprintedInstructions(): string[] {
  const table = printers()
  return INSTRUCTION_NAMES.filter((n, id) => id !== 0 && table[id] === undefined)
}

/**
 * Disassembles one word in LLVM 14 syntax (as `llvm-mc --disassemble` prints it: mnemonic,
 * a tab, operands). Unallocated words give `.inst 0x........`. Branch and ADR targets are
 * printed as llvm-mc prints them (offsets from `pc`), so `pc` only matters to callers that
 * resolve targets themselves.
 */
export function disassemble(word: number, pc = 0): string {
  if (typeof pc !== 'number' || !Number.isSafeInteger(pc) || pc < 0) {
    throw new RangeError(`pc must be a non-negative safe integer, got ${String(pc)}`)
  }
  const insn = decodeWord(toInstructionWord(word))
  return printInstruction(insn, word, pc)
}

/** Prints an already decoded instruction (`word` is only used for `.inst` of UNDEFINED). */
export function printInstruction(insn: Instruction, word: number, pc = 0): string {
  if (insn.id === 0) return `.inst\t${hex(word >>> 0, 8)}`
  const printer = printers()[insn.id]
  if (!printer) return `<no printer for ${insn.name}>`
  return printer(insn, pc)
}
