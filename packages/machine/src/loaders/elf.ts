import { ByteReader, FileFormatError, hexAddr } from '../errors.js'
import { inRam, ramRange, type LoadTarget } from './target.js'

export const EM_AARCH64 = 183
export const ET_EXEC = 2
export const PT_LOAD = 1
export const PF_X = 1
export const SHT_PROGBITS = 1
export const SHT_SYMTAB = 2
export const SHT_NOBITS = 8
export const SHF_ALLOC = 2
export const SHF_EXECINSTR = 4
export const STT_FUNC = 2

const EHDR_SIZE = 64
const PHDR_SIZE = 56
const SHDR_SIZE = 64
const SYM_SIZE = 24

/** A program header (PT_LOAD and the others), as parseElf64 reads it. */
export interface ElfSegment {
  readonly type: number
  readonly flags: number
  readonly offset: number
  readonly vaddr: number
  readonly paddr: number
  readonly filesz: number
  readonly memsz: number
  /** File offset of this program header, for error messages. */
  readonly headerOffset: number
}

/** A section header with its name from the section string table. */
export interface ElfSection {
  readonly name: string
  readonly type: number
  readonly flags: number
  readonly addr: number
  readonly offset: number
  readonly size: number
}

/** A symbol-table entry (its name from the string table). */
export interface ElfSymbol {
  readonly name: string
  readonly value: number
  readonly size: number
  readonly type: number
  readonly sectionIndex: number
}

/** A 64-bit little-endian AArch64 ELF file as tagvm reads it: entry, segments, sections, symbols. */
export interface Elf64 {
  readonly file: string
  readonly type: number
  readonly entry: number
  readonly segments: readonly ElfSegment[]
  readonly sections: readonly ElfSection[]
  readonly symbols: readonly ElfSymbol[]
}

/** Whether the bytes start with the ELF magic (any class). */
export function isElf(bytes: Uint8Array): boolean {
  return bytes.length >= 4 && bytes[0] === 0x7f && bytes[1] === 0x45 && bytes[2] === 0x4c && bytes[3] === 0x46
}

function cString(r: ByteReader, offset: number, limit: number, what: string): string {
  let end = offset
  while (end < limit && r.u8(end, what) !== 0) end++
  if (end >= limit) throw new FileFormatError(r.file, offset, `${what} is not NUL-terminated within its table`)
  return new TextDecoder().decode(r.bytes.subarray(offset, end))
}

/**
 * Parses an ELF64 little-endian AArch64 file: header, program headers, section headers and
 * the symbol table if there is one. Any inconsistency is a FileFormatError naming the offset.
 */
export function parseElf64(bytes: Uint8Array, file: string): Elf64 {
  const r = new ByteReader(bytes, file)
  if (bytes.length < 4 || !isElf(bytes)) {
    throw new FileFormatError(file, 0, 'bad magic: expected 7f 45 4c 46 ("\\x7fELF")')
  }
  r.need(0, EHDR_SIZE, 'the ELF header')
  if (r.u8(4, 'EI_CLASS') !== 2) throw new FileFormatError(file, 4, `EI_CLASS is ${r.u8(4, '')}, expected 2 (ELFCLASS64)`)
  if (r.u8(5, 'EI_DATA') !== 1) throw new FileFormatError(file, 5, `EI_DATA is ${r.u8(5, '')}, expected 1 (little-endian)`)
  if (r.u8(6, 'EI_VERSION') !== 1) throw new FileFormatError(file, 6, `EI_VERSION is ${r.u8(6, '')}, expected 1`)
  const type = r.u16(16, 'e_type')
  const machine = r.u16(18, 'e_machine')
  if (machine !== EM_AARCH64) throw new FileFormatError(file, 18, `e_machine is ${machine}, expected ${EM_AARCH64} (EM_AARCH64)`)
  const entry = r.u64(24, 'e_entry')
  const phoff = r.u64(32, 'e_phoff')
  const shoff = r.u64(40, 'e_shoff')
  const phentsize = r.u16(54, 'e_phentsize')
  const phnum = r.u16(56, 'e_phnum')
  const shentsize = r.u16(58, 'e_shentsize')
  const shnum = r.u16(60, 'e_shnum')
  const shstrndx = r.u16(62, 'e_shstrndx')
  if (phnum > 0 && phentsize !== PHDR_SIZE) {
    throw new FileFormatError(file, 54, `e_phentsize is ${phentsize}, expected ${PHDR_SIZE}`)
  }
  if (shnum > 0 && shentsize !== SHDR_SIZE) {
    throw new FileFormatError(file, 58, `e_shentsize is ${shentsize}, expected ${SHDR_SIZE}`)
  }

  const segments: ElfSegment[] = []
  r.need(phoff, phnum * PHDR_SIZE, `${phnum} program headers (e_phoff ${hexAddr(phoff)})`)
  for (let i = 0; i < phnum; i++) {
    const h = phoff + i * PHDR_SIZE
    const seg: ElfSegment = {
      type: r.u32(h, 'p_type'),
      flags: r.u32(h + 4, 'p_flags'),
      offset: r.u64(h + 8, 'p_offset'),
      vaddr: r.u64(h + 16, 'p_vaddr'),
      paddr: r.u64(h + 24, 'p_paddr'),
      filesz: r.u64(h + 32, 'p_filesz'),
      memsz: r.u64(h + 40, 'p_memsz'),
      headerOffset: h,
    }
    if (seg.type === PT_LOAD) {
      if (seg.filesz > seg.memsz) {
        throw new FileFormatError(file, h + 32, `segment ${i}: p_filesz ${hexAddr(seg.filesz)} exceeds p_memsz ${hexAddr(seg.memsz)}`)
      }
      r.need(seg.offset, seg.filesz, `segment ${i}'s ${seg.filesz} file bytes (p_offset ${hexAddr(seg.offset)})`)
    }
    segments.push(seg)
  }

  const sections: ElfSection[] = []
  const rawSections: { nameOffset: number; link: number; entsize: number; section: Omit<ElfSection, 'name'> }[] = []
  if (shnum > 0) {
    r.need(shoff, shnum * SHDR_SIZE, `${shnum} section headers (e_shoff ${hexAddr(shoff)})`)
    for (let i = 0; i < shnum; i++) {
      const h = shoff + i * SHDR_SIZE
      const section = {
        type: r.u32(h + 4, 'sh_type'),
        flags: r.u64(h + 8, 'sh_flags'),
        addr: r.u64(h + 16, 'sh_addr'),
        offset: r.u64(h + 24, 'sh_offset'),
        size: r.u64(h + 32, 'sh_size'),
      }
      if (section.type !== SHT_NOBITS && section.type !== 0) {
        r.need(section.offset, section.size, `section ${i}'s contents (sh_offset ${hexAddr(section.offset)})`)
      }
      rawSections.push({ nameOffset: r.u32(h, 'sh_name'), link: r.u32(h + 40, 'sh_link'), entsize: r.u64(h + 56, 'sh_entsize'), section })
    }
    if (shstrndx >= shnum) throw new FileFormatError(file, 62, `e_shstrndx ${shstrndx} is not below e_shnum ${shnum}`)
    const strtab = rawSections[shstrndx]!.section
    for (const raw of rawSections) {
      const name = raw.nameOffset === 0 && strtab.size === 0 ? '' : cString(r, strtab.offset + raw.nameOffset, strtab.offset + strtab.size, 'section name')
      sections.push({ name, ...raw.section })
    }
  }

  const symbols: ElfSymbol[] = []
  rawSections.forEach((raw) => {
    if (raw.section.type !== SHT_SYMTAB) return
    if (raw.entsize !== SYM_SIZE) throw new FileFormatError(file, raw.section.offset, `symbol table entry size ${raw.entsize}, expected ${SYM_SIZE}`)
    const names = rawSections[raw.link]?.section
    if (!names) throw new FileFormatError(file, raw.section.offset, `symbol table links to missing string table ${raw.link}`)
    for (let at = raw.section.offset; at + SYM_SIZE <= raw.section.offset + raw.section.size; at += SYM_SIZE) {
      const nameOffset = r.u32(at, 'st_name')
      symbols.push({
        name: nameOffset === 0 ? '' : cString(r, names.offset + nameOffset, names.offset + names.size, 'symbol name'),
        type: r.u8(at + 4, 'st_info') & 0xf,
        sectionIndex: r.u16(at + 6, 'st_shndx'),
        value: r.u64(at + 8, 'st_value'),
        size: r.u64(at + 16, 'st_size'),
      })
    }
  })

  return { file, type, entry, segments, sections, symbols }
}

/** Where an image went in guest memory, and where its vCPU starts. */
export interface LoadedImage {
  /** Where the vCPU starts. */
  readonly entry: number
  /** Lowest and one-past-highest guest-physical address written (zero-fill included). */
  readonly lowAddr: number
  readonly highAddr: number
}

/**
 * Loads an AArch64 ELF executable as QEMU's `-kernel prog.elf` does: each PT_LOAD segment at
 * its physical address (p_paddr), the bytes beyond p_filesz up to p_memsz zero-filled, PC =
 * e_entry. Every segment is checked against RAM before anything is written, so a bad file
 * leaves the target untouched.
 */
export function loadElf(target: LoadTarget, bytes: Uint8Array, file: string): LoadedImage {
  const elf = parseElf64(bytes, file)
  if (elf.type !== ET_EXEC) throw new FileFormatError(file, 16, `e_type is ${elf.type}, expected ${ET_EXEC} (ET_EXEC)`)
  const loads = elf.segments.filter((s) => s.type === PT_LOAD && s.memsz > 0)
  if (loads.length === 0) throw new FileFormatError(file, 56, 'no PT_LOAD segment with a non-zero size')
  for (const seg of loads) {
    if (!inRam(target, seg.paddr, seg.memsz)) {
      throw new FileFormatError(
        file,
        seg.headerOffset + 24,
        `segment [${hexAddr(seg.paddr)}, ${hexAddr(seg.paddr + seg.memsz)}) is outside ${ramRange(target)}`,
      )
    }
  }
  let lowAddr = Infinity
  let highAddr = 0
  for (const seg of loads) {
    target.write(seg.paddr, bytes.subarray(seg.offset, seg.offset + seg.filesz))
    if (seg.memsz > seg.filesz) target.write(seg.paddr + seg.filesz, new Uint8Array(seg.memsz - seg.filesz))
    lowAddr = Math.min(lowAddr, seg.paddr)
    highAddr = Math.max(highAddr, seg.paddr + seg.memsz)
  }
  return { entry: elf.entry, lowAddr, highAddr }
}
