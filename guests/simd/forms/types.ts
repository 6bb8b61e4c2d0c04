// The shape of a form list: which decoder rows to run and how to draw their cases.
// Every row of packages/a64/src/tables/simd-fp.decode named `row` becomes one form; each
// case fills the row's free bits at random (register numbers, sizes, immediates), so a
// form covers the whole row.

/** How the general registers are initialised for a case. */
export type XMode =
  /** Each X register from the special-value table (DUP/INS from a general register). */
  | 'special'
  /** Small signed values in [-64, 63] (addressing: register offsets, post-index registers). */
  | 'small'
  /** Low word in [0, 63], high word random: register offsets extended with UXTW. */
  | 'small-uxtw'
  /** Low word in [-64, 63], high word random: register offsets extended with SXTW. */
  | 'small-sxtw'

export interface Pin {
  /** Bits taken away from the random part of the word... */
  readonly mask: number
  /** ...and their fixed value. */
  readonly value: number
  readonly xmode?: XMode
  /** Label appended to the row name in the output (for example the extend option). */
  readonly label?: string
}

export interface FormSpec {
  /** Row name in simd-fp.decode; every row with this name becomes a form. */
  readonly row: string
  /** Cases per row (default 192). */
  readonly cases?: number
  /**
   * Loads and stores: the memory buffer is filled and hashed, and (unless `base` is false)
   * Xn (bits 9:5) is pinned to X1, which points into the buffer.
   */
  readonly memory?: boolean
  readonly base?: boolean
  /** Subforms, each with part of the word pinned; the default is one form with nothing pinned. */
  readonly pins?: readonly Pin[]
  readonly xmode?: XMode
  /** Redraw the word while Rt (4:0) equals Rt2 (14:10): LDP to one register is UNPREDICTABLE. */
  readonly distinctRt2?: boolean
  /** Redraw the word while Rm (20:16) is X1, the base register. */
  readonly rmNotBase?: boolean
}

/** Shorthand: rows with default settings. */
export function rows(...names: string[]): FormSpec[] {
  return names.map((row) => ({ row }))
}

/** Rows with more cases than the default. */
export function many(cases: number, ...names: string[]): FormSpec[] {
  return names.map((row) => ({ row, cases }))
}
