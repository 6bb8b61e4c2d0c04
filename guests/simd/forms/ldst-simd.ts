// SIMD&FP loads and stores. X1 points into the middle of a 4 KiB buffer; offsets are kept
// inside it by pinning the high immediate bits, and X registers hold small values so
// register offsets and post-index registers stay near the base.
import type { FormSpec, Pin } from './types.js'

const structure = (...names: string[]): FormSpec[] => names.map((row) => ({ row, memory: true, xmode: 'small' as const }))

/** Register offset: one subform per extend option, each with X values the extend keeps near 0. */
const OPTION = 0xe000
const registerOffset: Pin[] = [
  { mask: OPTION, value: 0b010 << 13, label: 'uxtw', xmode: 'small-uxtw' },
  { mask: OPTION, value: 0b011 << 13, label: 'lsl', xmode: 'small' },
  { mask: OPTION, value: 0b110 << 13, label: 'sxtw', xmode: 'small-sxtw' },
  { mask: OPTION, value: 0b111 << 13, label: 'sxtx', xmode: 'small' },
]
/** Unsigned offset: imm12 (bits 21:10) limited to 0..63 elements. */
const UIMM12_HIGH = 0x3f0000
/** Literal: imm19 (bits 23:5) limited to -16..15 words around the instruction. */
const IMM19_HIGH = 0xfffe00

export const forms: FormSpec[] = [
  { row: 'LDR_fl', memory: true, base: false, pins: [
    { mask: IMM19_HIGH, value: 0, label: 'fwd' },
    { mask: IMM19_HIGH, value: IMM19_HIGH, label: 'back' },
  ] },
  { row: 'LDR_f', memory: true, pins: [{ mask: UIMM12_HIGH, value: 0 }] },
  { row: 'STR_f', memory: true, pins: [{ mask: UIMM12_HIGH, value: 0 }] },
  ...structure('LDUR_f', 'STUR_f', 'LDR_fpre', 'LDR_fpost', 'STR_fpre', 'STR_fpost'),
  { row: 'LDR_fr', memory: true, rmNotBase: true, pins: registerOffset },
  { row: 'STR_fr', memory: true, rmNotBase: true, pins: registerOffset },
  { row: 'LDP_f', memory: true, distinctRt2: true },
  { row: 'LDP_fpre', memory: true, distinctRt2: true },
  { row: 'LDP_fpost', memory: true, distinctRt2: true },
  { row: 'LDNP_f', memory: true, distinctRt2: true },
  ...structure('STP_f', 'STP_fpre', 'STP_fpost', 'STNP_f'),
]
