/** What a MAIR_ELx attribute byte says about memory, as far as tagging is concerned. */
export type MairMemoryType = 'device' | 'normal'

/** The memory type and Tagged-ness one MAIR attribute byte encodes. */
export interface MairAttribute {
  /** Device or Normal memory. */
  readonly type: MairMemoryType
  /** Normal Inner/Outer Write-Back Read/Write-Allocate Tagged (0xF0): tag checks may apply. */
  readonly tagged: boolean
}

/** Decodes one MAIR attribute byte. 0xF0 is the only Tagged encoding (FEAT_MTE). */
export function decodeMairAttribute(attr: number): MairAttribute {
  if (!Number.isInteger(attr) || attr < 0 || attr > 0xff) {
    throw new RangeError(`MAIR attribute must be a byte, got ${attr}`)
  }
  if (attr === 0xf0) return { type: 'normal', tagged: true }
  // Outer attribute nibble 0 means Device (inner nibble then selects nGnRnE..GRE).
  if ((attr & 0xf0) === 0) return { type: 'device', tagged: false }
  return { type: 'normal', tagged: false }
}
