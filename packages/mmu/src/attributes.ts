import type { MairAttribute } from './mair.js'

/** Set in the value returned by `combineAttributeBits` when the result is Normal Tagged. */
export const COMBINED_TAGGED = 0x100
/** MAIR byte for Normal Inner/Outer Write-Back RW-allocate Tagged. */
export const MAIR_NORMAL_TAGGED = 0xf0
/** MAIR byte for Normal Inner/Outer Write-Back RW-allocate (untagged). */
export const MAIR_NORMAL_WB = 0xff
/** MAIR byte for Device-nGnRnE (what data accesses see with stage 1 off). */
export const MAIR_DEVICE_NGNRNE = 0x00

const CLASS_NC = 0
const CLASS_WT = 1
const CLASS_WB = 2

/** Cacheability class of one Normal MAIR nibble (0b0100 NC, 0b00RW/0b10RW WT, 0b01RW/0b11RW WB). */
function nibbleClass(nibble: number): number {
  if (nibble === 0b0100 || nibble === 0) return CLASS_NC
  return (nibble & 0b0100) !== 0 ? CLASS_WB : CLASS_WT
}

/** The weaker of two Normal nibbles; keeps the stage-1 allocation hints where it can. */
function combineNibble(s1: number, s2: number): number {
  const c1 = nibbleClass(s1)
  const c2 = nibbleClass(s2)
  if (c2 >= c1) return s1
  if (c2 === CLASS_NC) return 0b0100
  return 0b1000 | (s1 & 3 || 3) // write-through, stage-1 hints (RW if it had none)
}

/** Stage-2 MemAttr[3:0] (HCR_EL2.FWB=0 format) as a MAIR byte. */
function stage2AsMair(memAttr: number): number {
  const outer = (memAttr >>> 2) & 3
  const inner = memAttr & 3
  if (outer === 0) return inner << 2 // Device nGnRnE/nGnRE/nGRE/GRE
  const toNibble = (x: number): number => (x === 1 ? 0b0100 : x === 2 ? 0b1011 : x === 3 ? 0b1111 : 0b0100)
  return (toNibble(outer) << 4) | toNibble(inner)
}

function isDevice(mair: number): boolean {
  return (mair & 0xf0) === 0
}

/**
 * Combines the stage-1 MAIR attribute byte with stage-2 MemAttr[3:0] the way the
 * architecture does (stronger type, weaker cacheability; or the FWB forcing rules), and
 * says whether the result is Tagged. Returns the combined MAIR byte, | COMBINED_TAGGED.
 * Tagged needs stage 1 = 0xF0 and a result that is still Normal iWB/oWB RW-allocate.
 */
export function combineAttributeBits(s1Mair: number, s2MemAttr: number, fwb: boolean): number {
  const s1Tagged = s1Mair === MAIR_NORMAL_TAGGED
  const s1 = s1Tagged ? MAIR_NORMAL_WB : s1Mair
  let result: number
  if (fwb) {
    switch (s2MemAttr) {
      case 0b0111: // use stage 1
        result = s1
        break
      case 0b0110: // force Normal Write-Back
        result = isDevice(s1) ? MAIR_NORMAL_WB : (forceWb(s1 >>> 4) << 4) | forceWb(s1 & 15)
        break
      case 0b0101: // force Normal Non-cacheable unless stage 1 is Device
        result = isDevice(s1) ? s1 : 0x44
        break
      case 0b0000:
      case 0b0001:
      case 0b0010:
      case 0b0011:
        result = combineDevice(s1, s2MemAttr << 2)
        break
      default: // reserved encodings (incl. FEAT_MTE_PERM NoTagAccess, not implemented)
        result = MAIR_DEVICE_NGNRNE
    }
  } else {
    const s2 = stage2AsMair(s2MemAttr)
    if (isDevice(s1) || isDevice(s2)) result = combineDevice(s1, s2)
    else result = (combineNibble(s1 >>> 4, s2 >>> 4) << 4) | combineNibble(s1 & 15, s2 & 15)
  }
  return s1Tagged && result === MAIR_NORMAL_WB ? result | COMBINED_TAGGED : result
}

function forceWb(nibble: number): number {
  // Non-cacheable (or the reserved 0) becomes WB RW-allocate; WT keeps its hints as WB.
  return nibble === 0 || nibble === 0b0100 ? 0b1111 : nibble | 0b0100
}

/** The stronger Device type of two bytes of which at least one is Device. */
function combineDevice(a: number, b: number): number {
  if (!isDevice(a)) return b & 0x0c
  if (!isDevice(b)) return a & 0x0c
  return Math.min(a & 0x0c, b & 0x0c)
}

/** Stage-1 attribute byte the walker uses when stage 1 is off (data accesses). */
export function stage1OffDataAttr(hcrDc: boolean, hcrDct: boolean): number {
  if (!hcrDc) return MAIR_DEVICE_NGNRNE
  return hcrDct ? MAIR_NORMAL_TAGGED : MAIR_NORMAL_WB
}

/** Combines stage-1 MAIR and stage-2 MemAttr into Device/Normal and Tagged. */
export function combineAttributes(s1Mair: number, s2MemAttr: number, fwb: boolean): MairAttribute {
  if (!Number.isInteger(s1Mair) || s1Mair < 0 || s1Mair > 0xff) {
    throw new RangeError(`stage-1 MAIR attribute must be a byte, got ${s1Mair}`)
  }
  if (!Number.isInteger(s2MemAttr) || s2MemAttr < 0 || s2MemAttr > 0xf) {
    throw new RangeError(`stage-2 MemAttr must be 4 bits, got ${s2MemAttr}`)
  }
  const bits = combineAttributeBits(s1Mair, s2MemAttr, fwb)
  return { type: isDevice(bits & 0xff) ? 'device' : 'normal', tagged: (bits & COMBINED_TAGGED) !== 0 }
}
