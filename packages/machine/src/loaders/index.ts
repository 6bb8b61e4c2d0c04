export { SparseRam, type LoadTarget } from './target.js'
export { parseElf64, loadElf, isElf, type Elf64, type ElfSegment, type ElfSection, type ElfSymbol, type LoadedImage } from './elf.js'
export { loadRaw } from './raw.js'
export {
  parseArm64ImageHeader,
  arm64ImageLayout,
  loadArm64Image,
  isArm64Image,
  elfDtbAddress,
  type Arm64ImageHeader,
  type Arm64ImageLayout,
} from './image.js'
