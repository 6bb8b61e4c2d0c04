import { decodeWord, disassemble, toInstructionWord } from '@tagvm/a64'
import { FileFormatError } from './errors.js'
import { PF_X, PT_LOAD, SHF_EXECINSTR, SHT_NOBITS, parseElf64, isElf, type ElfSymbol } from './loaders/elf.js'

/** Instructions whose last operand is a PC-relative target printed as `#offset`. */
const PC_RELATIVE = new Set(['B', 'BL', 'B_cond', 'CBZ', 'CBNZ', 'TBZ', 'TBNZ', 'ADR', 'ADRP', 'LDR_lit', 'LDRSW_lit', 'PRFM_lit'])
const STT_SECTION = 3
const STT_FILE = 4

const hex = (n: number, width = 0): string => n.toString(16).padStart(width, '0')

/** Names for addresses: the symbol at or below an address, as `name` or `name+0x10`. */
class SymbolMap {
  private readonly sorted: ElfSymbol[]
  /** Address ranges that hold data, from `$d` mapping symbols (until the next `$x`). */
  private readonly mapping: { value: number; data: boolean }[]

  constructor(symbols: readonly ElfSymbol[]) {
    this.sorted = symbols
      .filter((s) => s.name !== '' && !s.name.startsWith('$') && s.type !== STT_SECTION && s.type !== STT_FILE && s.sectionIndex !== 0)
      .sort((a, b) => a.value - b.value || a.name.localeCompare(b.name))
    this.mapping = symbols
      .filter((s) => /^\$[xd](\.|$)/.test(s.name))
      .map((s) => ({ value: s.value, data: s.name.startsWith('$d') }))
      .sort((a, b) => a.value - b.value)
  }

  labelsAt(address: number): string[] {
    return this.sorted.filter((s) => s.value === address).map((s) => s.name)
  }

  describe(address: number): string | undefined {
    let best: ElfSymbol | undefined
    for (const s of this.sorted) {
      if (s.value > address) break
      best = s
    }
    if (!best) return undefined
    return address === best.value ? best.name : `${best.name}+0x${hex(address - best.value)}`
  }

  isData(address: number): boolean {
    let data = false
    for (const m of this.mapping) {
      if (m.value > address) break
      data = m.data
    }
    return data
  }
}

/** Disassembles one region of words, objdump style: `addr:\tword \ttext`. */
function listRegion(bytes: Uint8Array, base: number, symbols: SymbolMap, out: string[]): void {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength)
  for (let offset = 0; offset < bytes.length; offset += 4) {
    const pc = base + offset
    for (const label of symbols.labelsAt(pc)) out.push('', `${hex(pc, 16)} <${label}>:`)
    if (offset + 4 > bytes.length) {
      const tail = [...bytes.subarray(offset)].map((b) => hex(b, 2))
      out.push(`${hex(pc, 8)}:\t${tail.join(' ')}\t.byte\t${tail.map((b) => `0x${b}`).join(', ')}`)
      break
    }
    const word = view.getUint32(offset, true)
    out.push(`${hex(pc, 8)}:\t${hex(word, 8)} \t${symbols.isData(pc) ? `.word\t0x${hex(word, 8)}` : instructionText(word, pc, symbols)}`)
  }
}

/**
 * The instruction in LLVM syntax with a PC-relative target turned into an absolute address.
 * `pc` may be a bigint: kernel addresses (0xffff8000...) are beyond 2^53, where a number
 * would round the target.
 */
export function instructionText(word: number, pc: number | bigint, symbols?: { describe(address: number): string | undefined }): string {
  // The printers print targets as offsets, as llvm-mc does, so the text needs no PC.
  const text = disassemble(word).replace(' ', '\t')
  const insn = decodeWord(toInstructionWord(word))
  if (!PC_RELATIVE.has(insn.name) || !('imm' in insn) || typeof insn.imm !== 'number') return text
  const pcBig = BigInt(pc)
  const base = insn.name === 'ADRP' ? pcBig & ~0xfffn : pcBig
  const target = BigInt.asUintN(64, base + BigInt(insn.imm))
  const name = target <= BigInt(Number.MAX_SAFE_INTEGER) ? symbols?.describe(Number(target)) : undefined
  return text.replace(/#-?\d+$/, `0x${target.toString(16)}${name ? ` <${name}>` : ''}`)
}

/**
 * An objdump-like listing of an AArch64 ELF: each executable section (or, without section
 * headers, each executable PT_LOAD segment) with addresses, words, instructions, labels from
 * the symbol table and PC-relative targets resolved. `$d` mapping symbols mark data words.
 */
export function disassembleElf(bytes: Uint8Array, file: string): string {
  const elf = parseElf64(bytes, file)
  const symbols = new SymbolMap(elf.symbols)
  const out = [`${file}:     file format elf64-littleaarch64`]
  const sections = elf.sections.filter((s) => (s.flags & SHF_EXECINSTR) !== 0 && s.type !== SHT_NOBITS && s.size > 0)
  if (sections.length > 0) {
    for (const s of sections) {
      out.push('', `Disassembly of section ${s.name}:`)
      listRegion(bytes.subarray(s.offset, s.offset + s.size), s.addr, symbols, out)
    }
  } else {
    const segments = elf.segments.filter((s) => s.type === PT_LOAD && (s.flags & PF_X) !== 0 && s.filesz > 0)
    if (segments.length === 0) throw new FileFormatError(file, 0, 'no executable section or PT_LOAD segment to disassemble')
    for (const s of segments) {
      out.push('', `Disassembly of segment at 0x${hex(s.vaddr)}:`)
      listRegion(bytes.subarray(s.offset, s.offset + s.filesz), s.vaddr, symbols, out)
    }
  }
  return `${out.join('\n')}\n`
}

/** A listing of a raw binary whose first byte is at `base`. */
export function disassembleRaw(bytes: Uint8Array, file: string, base = 0): string {
  if (!Number.isSafeInteger(base) || base < 0) throw new RangeError(`base must be a non-negative integer, got ${base}`)
  if (bytes.length === 0) throw new FileFormatError(file, 0, 'empty file: nothing to disassemble')
  const out = [`${file}:     file format binary`, '', `Disassembly at 0x${hex(base)}:`]
  listRegion(bytes, base, new SymbolMap([]), out)
  return `${out.join('\n')}\n`
}

/** ELF files by their magic; anything else is raw. */
export function disassembleBytes(bytes: Uint8Array, file: string, options: { readonly base?: number } = {}): string {
  if (isElf(bytes)) {
    if (options.base !== undefined) throw new FileFormatError(file, 0, '--base applies to raw binaries only; this is an ELF file')
    return disassembleElf(bytes, file)
  }
  return disassembleRaw(bytes, file, options.base ?? 0)
}
