// Small builders for form lists: FP arrangements and scalar register names.
import type { Fill, Form } from './cases.js'

/** A vector arrangement and what its lanes hold. */
export interface Arrangement {
  readonly arr: string
  /** esz: 1 h, 2 s, 3 d */
  readonly esz: number
  readonly fp: Fill
  readonly int: Fill
  /** The element suffix for by-element operands ('h', 's', 'd'). */
  readonly el: string
  readonly lanes: number
}
export const A4H: Arrangement = { arr: '4h', esz: 1, fp: 'f16', int: 'i16', el: 'h', lanes: 4 }
export const A8H: Arrangement = { arr: '8h', esz: 1, fp: 'f16', int: 'i16', el: 'h', lanes: 8 }
export const A2S: Arrangement = { arr: '2s', esz: 2, fp: 'f32', int: 'i32', el: 's', lanes: 2 }
export const A4S: Arrangement = { arr: '4s', esz: 2, fp: 'f32', int: 'i32', el: 's', lanes: 4 }
export const A2D: Arrangement = { arr: '2d', esz: 3, fp: 'f64', int: 'i64', el: 'd', lanes: 2 }
/** Every FP arrangement (FP16 included). */
export const FP_ARRANGEMENTS: readonly Arrangement[] = [A4H, A8H, A2S, A4S, A2D]

/** A scalar FP size. */
export interface Scalar {
  /** Register prefix: 'h', 's', 'd'. */
  readonly r: string
  readonly esz: number
  readonly fp: Fill
  readonly int: Fill
  /** Bits, for fixed-point fbits ranges. */
  readonly bits: number
}
export const SH: Scalar = { r: 'h', esz: 1, fp: 'f16', int: 'i16', bits: 16 }
export const SS: Scalar = { r: 's', esz: 2, fp: 'f32', int: 'i32', bits: 32 }
export const SD: Scalar = { r: 'd', esz: 3, fp: 'f64', int: 'i64', bits: 64 }
export const SCALARS: readonly Scalar[] = [SH, SS, SD]

/** Form builder with a name prefix check: every name is `<DecoderName>.<variant>`. */
export function form(decoderName: string, variant: string, asm: string, fills: Omit<Form, 'name' | 'asm'>): Form {
  return { name: `${decoderName}.${variant}`, asm, ...fills }
}

/** FP to integer conversions by rounding: decoder name prefix and mnemonic. */
export const TO_INT = [
  ['FCVTNS', 'fcvtns'],
  ['FCVTNU', 'fcvtnu'],
  ['FCVTAS', 'fcvtas'],
  ['FCVTAU', 'fcvtau'],
  ['FCVTPS', 'fcvtps'],
  ['FCVTPU', 'fcvtpu'],
  ['FCVTMS', 'fcvtms'],
  ['FCVTMU', 'fcvtmu'],
  ['FCVTZS', 'fcvtzs'],
  ['FCVTZU', 'fcvtzu'],
] as const
