// The differential guests' case model, in TypeScript: the form format, the seeded generator of
// register inputs (special values, random bits, structured values, values derived from the
// previous operand), the FPCR schedule and the result hash. runtime/driver.c is the same
// model in C; the generator (generate.ts) and the replay harness (packages/cpu/src/fp) use
// this one. Changing either side without the other changes every recorded line.
//
// 64-bit quantities are (lo, hi) pairs of unsigned 32-bit numbers: no BigInt.

/** How a register input is filled for each case. */
export type Fill =
  | 'none' // all zero
  | 'bits' // random bits
  | 'f16'
  | 'f32'
  | 'f64' // FP lanes: specials, random, structured, derived
  | 'i8'
  | 'i16'
  | 'i32'
  | 'i64' // integer lanes: special ints, random, random-length, derived

/** One instruction form under test. See README.md for the conventions. */
export interface Form {
  /** Unique name printed on the form's line, e.g. `FADD_v.4s`. */
  readonly name: string
  /** One instruction in LLVM syntax over v0 (destination, also an input), v1, v2, v3 and x9/w9. */
  readonly asm: string
  /** Lane kinds of the inputs: v0 defaults to 'bits', v1-v3 and x to 'none'. */
  readonly v0?: Fill
  readonly v1?: Fill
  readonly v2?: Fill
  readonly v3?: Fill
  readonly x?: Fill
  /** Cases to run (default: the form file's default). */
  readonly cases?: number
  /**
   * Lanes of each FP- or integer-filled register drawn from the distribution (default: all);
   * the rest are random bits. Scalar forms use 1: only lane 0 is an operand.
   */
  readonly lanes?: number
}

/** A forms file's default export. */
export interface FormFile {
  /** The guest these forms go into (a directory under guests/fpsimd/). */
  readonly guest: string
  /** One line for the guest's banner. */
  readonly title: string
  readonly cases: number
  /** Default for Form.lanes. */
  readonly lanes?: number
  readonly forms: readonly Form[]
}

/** One form as generated into a guest (its forms.json): what the replay harness needs. */
export interface GuestForm {
  name: string
  asm: string
  /** The instruction word (llvm-mc's encoding of asm). */
  word: number
  seed: number
  cases: number
  /** v0, v1, v2, v3, x9 */
  fills: Fill[]
  /** Lanes drawn from the distribution (0: all). */
  lanes: number
}
export interface GuestManifest {
  guest: string
  title: string
  forms: GuestForm[]
}

export const FILL_CODES: Record<Fill, number> = {
  none: 0,
  bits: 1,
  f16: 2,
  f32: 3,
  f64: 4,
  i8: 5,
  i16: 6,
  i32: 7,
  i64: 8,
}

// ---------------------------------------------------------------------------------------
// Seeds and the generator

/** FNV-1a of the form name: the form's seed. */
export function formSeed(name: string): number {
  let h = 0x811c9dc5
  for (let i = 0; i < name.length; i++) h = Math.imul(h ^ name.charCodeAt(i), 0x01000193) >>> 0
  return h >>> 0
}

function rotl(x: number, k: number): number {
  return ((x << k) | (x >>> (32 - k))) >>> 0
}

/** xoshiro128** seeded through splitmix32. */
export class Rng {
  private s0 = 0
  private s1 = 0
  private s2 = 0
  private s3 = 0
  constructor(seed: number) {
    let s = seed >>> 0
    const next = (): number => {
      s = (s + 0x9e3779b9) >>> 0
      let z = s
      z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0
      z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0
      return (z ^ (z >>> 16)) >>> 0
    }
    this.s0 = next()
    this.s1 = next()
    this.s2 = next()
    this.s3 = next()
  }
  next(): number {
    const result = Math.imul(rotl(Math.imul(this.s1, 5) >>> 0, 7), 9) >>> 0
    const t = (this.s1 << 9) >>> 0
    this.s2 = (this.s2 ^ this.s0) >>> 0
    this.s3 = (this.s3 ^ this.s1) >>> 0
    this.s1 = (this.s1 ^ this.s2) >>> 0
    this.s0 = (this.s0 ^ this.s3) >>> 0
    this.s2 = (this.s2 ^ t) >>> 0
    this.s3 = rotl(this.s3, 11)
    return result
  }
}

// ---------------------------------------------------------------------------------------
// Special values (emitted into the C driver by generate.ts)

/** Half-precision specials. */
export const SPECIAL_F16: readonly number[] = [
  0x0000, 0x8000, 0x7c00, 0xfc00, // ±0, ±inf
  0x7e00, 0xfe01, 0x7fff, 0x7d00, 0xfc01, 0x7dff, // qNaNs, sNaNs with payloads
  0x0001, 0x8001, 0x03ff, 0x83ff, 0x0200, // denormals
  0x0400, 0x8400, 0x7bff, 0xfbff, // min and max normal
  0x3c00, 0xbc00, 0x3800, 0x4000, 0x3e00, 0xbe00, 0x4100, 0xc100, 0x3bff, 0x3c01, // 1, -1, 0.5, 2, ±1.5, ±2.5, 1 ± ulp
  0x6400, 0x67ff, 0x63ff, 0x6bff, 0x5bff, 0x7800, 0x77ff, // 1024, 2047, 1023.5, 4094, 255.9, 32768, 32752
  0x3555, 0x3dc5, 0x0401, 0x07ff, 0x2e66, // 1/3, sqrt2-ish, near min normal, 0.1
]
/** Single-precision specials. */
export const SPECIAL_F32: readonly number[] = [
  0x00000000, 0x80000000, 0x7f800000, 0xff800000,
  0x7fc00000, 0xffc00001, 0x7fffffff, 0x7fa00000, 0xff800001, 0x7fbfffff, 0x7fc0dead, 0xffa5a5a5,
  0x00000001, 0x80000001, 0x007fffff, 0x807fffff, 0x00400000, 0x00000fff,
  0x00800000, 0x80800000, 0x7f7fffff, 0xff7fffff, 0x00800001, 0x7f7ffffe,
  0x3f800000, 0xbf800000, 0x3f000000, 0x40000000, 0x3fc00000, 0xbfc00000, 0x40200000, 0xc0200000,
  0x3f7fffff, 0x3f800001, 0x3eaaaaab, 0x3fb504f3, 0x40490fdb, 0x3dcccccd,
  0x4b000000, 0x4b7fffff, 0x4affffff, 0x4b800000, 0x4b800001, 0x3f000001, 0x3effffff,
  0x4effffff, 0x4f000000, 0xcf000000, 0xcf000001, 0x4f7fffff, 0x4f800000, 0xbf7fffff,
  0x5effffff, 0x5f000000, 0xdf000000, 0xdf000001, 0x5f7fffff, 0x5f800000,
  0x477fe000, 0x477ff000, 0x477fefff, 0x47800000, 0x33800000, 0x33000000, 0x33000001, 0x387fc000, 0x38800000,
  0x38000000, 0x1f800000, 0x5f000001, 0x7e800000, 0x00c00000, 0x3f400000,
]
/** Double-precision specials as [lo, hi]. */
export const SPECIAL_F64: readonly (readonly [number, number])[] = [
  [0, 0x00000000], [0, 0x80000000], [0, 0x7ff00000], [0, 0xfff00000],
  [0, 0x7ff80000], [1, 0xfff80000], [0xffffffff, 0x7fffffff], [0, 0x7ff40000], [1, 0xfff00000],
  [0xffffffff, 0x7ff7ffff], [0xdeadbeef, 0x7ff8dead], [0x12345678, 0xfff5a5a5],
  [1, 0x00000000], [1, 0x80000000], [0xffffffff, 0x000fffff], [0xffffffff, 0x800fffff], [0, 0x00080000],
  [0, 0x00100000], [0, 0x80100000], [0xffffffff, 0x7fefffff], [0xffffffff, 0xffefffff], [1, 0x00100000],
  [0, 0x3ff00000], [0, 0xbff00000], [0, 0x3fe00000], [0, 0x40000000], [0, 0x3ff80000], [0, 0xbff80000],
  [0, 0x40040000], [0, 0xc0040000], [0xffffffff, 0x3fefffff], [1, 0x3ff00000], [0x55555555, 0x3fd55555],
  [0x667f3bcd, 0x3ff6a09e], [0x54442d18, 0x400921fb], [0x9999999a, 0x3fb99999],
  [0, 0x43300000], [0xffffffff, 0x433fffff], [0xffffffff, 0x432fffff], [0, 0x43400000], [1, 0x43400000],
  [1, 0x3fe00000], [0xffffffff, 0x3fdfffff],
  [0xffc00000, 0x41dfffff], [0, 0x41e00000], [0, 0xc1e00000], [0x00200000, 0xc1e00000], [0xffe00000, 0x41efffff],
  [0, 0x41f00000], [0xfffffc00, 0x41dfffff], [0, 0xc1e00001],
  [0xffffffff, 0x43dfffff], [0, 0x43e00000], [0, 0xc3e00000], [1, 0xc3e00000], [0xffffffff, 0x43efffff],
  [0, 0x43f00000],
  [0xe0000000, 0x47efffff], [0xf0000000, 0x47efffff], [0xefffffff, 0x47efffff], [0, 0x47f00000],
  [0, 0x36a00000], [0, 0x36900000], [0x20000000, 0x380fffff], [0, 0x38100000], [1, 0x36a00000],
  [0, 0x3e700000], [0, 0x3f000000], [1, 0x3ff00000], [0, 0x7fe00000], [0, 0x00180000],
]

/** Integer specials by width, as [lo, hi]. */
function intSpecials(width: number): readonly (readonly [number, number])[] {
  const list: [number, number][] = []
  const add = (lo: number, hi: number): void => {
    list.push([lo >>> 0, hi >>> 0])
  }
  if (width === 64) {
    add(0, 0)
    add(1, 0)
    add(0xffffffff, 0xffffffff)
    add(0xffffffff, 0x7fffffff)
    add(0, 0x80000000)
    add(1, 0x80000000)
    add(0xfffffc00, 0x7fffffff)
    add(0xfffffbff, 0x7fffffff)
    add(0xfffffe00, 0x7fffffff)
    add(1, 0x00200000)
    add(0xffffffff, 0x001fffff)
    add(0, 0x00200000)
    add(0xffffffff, 0xffdfffff)
    add(0x01000001, 0)
    add(0x00000801, 0)
    add(0xffffffff, 0)
    add(0x80000000, 0)
    add(0x7fffffff, 0)
    add(0x00000200, 0xffffffff)
    add(0xffffffff, 0x00000001)
    add(0x00000c00, 0x00100000)
    add(0x00000400, 0x00100000)
  } else {
    const mask = width === 32 ? 0xffffffff : (1 << width) - 1
    const top = width === 32 ? 0x80000000 : 1 << (width - 1)
    for (const v of [0, 1, -1, top - 1, top, top + 1, -2, 2, 0x801, 0x1001, 0x1000001, 0x7ff, 0x1000000, 0xffffff, 0x800]) {
      add(v & mask, 0)
    }
  }
  return list
}
export const SPECIAL_INT: Record<number, readonly (readonly [number, number])[]> = {
  8: intSpecials(8),
  16: intSpecials(16),
  32: intSpecials(32),
  64: intSpecials(64),
}

// ---------------------------------------------------------------------------------------
// Lane generation

interface FpShape {
  readonly bits: number
  readonly f: number
  readonly expBits: number
  readonly bias: number
  /** Exponents within bias ± range are the common "structured" ones. */
  readonly range: number
}
const F16: FpShape = { bits: 16, f: 10, expBits: 5, bias: 15, range: 3 }
const F32: FpShape = { bits: 32, f: 23, expBits: 8, bias: 127, range: 8 }
const F64: FpShape = { bits: 64, f: 52, expBits: 11, bias: 1023, range: 8 }

/** The generator's output lane: (lo, hi). */
let outLo = 0
let outHi = 0

/** Masks of the low k bits (k in 0..32). */
function lowMask(k: number): number {
  return k >= 32 ? 0xffffffff : ((1 << k) - 1) >>> 0
}

/** An FP lane of `shape`; prev (lo, hi) is the same lane of the previous register, if any. */
function genFp(rng: Rng, shape: FpShape, hasPrev: boolean, prevLo: number, prevHi: number): void {
  const r = rng.next()
  const cat = r & 15
  if (cat < 4) {
    if (shape.bits === 64) {
      const e = SPECIAL_F64[(r >>> 4) % SPECIAL_F64.length] as readonly [number, number]
      outLo = e[0]
      outHi = e[1]
    } else {
      const t = shape.bits === 32 ? SPECIAL_F32 : SPECIAL_F16
      outLo = t[(r >>> 4) % t.length] as number
      outHi = 0
    }
    return
  }
  if (cat < 7 || (cat >= 13 && !hasPrev)) {
    outLo = rng.next()
    outHi = shape.bits === 64 ? rng.next() : 0
    if (shape.bits === 16) outLo &= 0xffff
    return
  }
  if (cat < 13) {
    const s = rng.next()
    const sign = s & 1
    const sel = (s >>> 1) & 7
    const expOnes = (1 << shape.expBits) - 1
    let exp: number
    if (sel < 4) exp = shape.bias + ((s >>> 4) % (2 * shape.range + 1)) - shape.range
    else if (sel === 4) exp = 0
    else if (sel === 5) exp = 1
    else if (sel === 6) exp = expOnes - 1
    else exp = (s >>> 4) % expOnes
    const clear = (s >>> 20) % (shape.f + 1)
    let mlo = rng.next()
    let mhi = 0
    if (shape.bits === 64) {
      mhi = rng.next() & 0xfffff
      // clear the low `clear` bits of the 52-bit mantissa
      if (clear >= 32) {
        mlo = 0
        mhi = (mhi & ~lowMask(clear - 32)) >>> 0
      } else {
        mlo = (mlo & ~lowMask(clear)) >>> 0
      }
      outLo = mlo >>> 0
      outHi = ((sign << 31) | (exp << 20) | mhi) >>> 0
    } else {
      mlo = (mlo & lowMask(shape.f) & ~lowMask(clear)) >>> 0
      outLo = ((sign << (shape.bits - 1)) | (exp << shape.f) | mlo) >>> 0
      outHi = 0
    }
    return
  }
  // Derived from the previous operand: equal, negated, a few units apart, or low bits changed.
  const how = (r >>> 4) & 3
  const signBit = shape.bits === 64 ? 0 : shape.bits - 1
  if (how === 0) {
    outLo = prevLo
    outHi = prevHi
  } else if (how === 1) {
    if (shape.bits === 64) {
      outLo = prevLo
      outHi = (prevHi ^ 0x80000000) >>> 0
    } else {
      outLo = (prevLo ^ (1 << signBit)) >>> 0
      outHi = 0
    }
  } else if (how === 2) {
    const delta = ((r >>> 6) & 7) - 3
    if (shape.bits === 64) {
      const sum = prevLo + delta
      outLo = sum >>> 0
      outHi = (prevHi + (sum < 0 ? -1 : sum > 0xffffffff ? 1 : 0)) >>> 0
    } else {
      outLo = (prevLo + delta) & (shape.bits === 32 ? 0xffffffff : 0xffff)
      outLo >>>= 0
      outHi = 0
    }
  } else {
    const k = (r >>> 6) % shape.f
    const x = rng.next()
    if (shape.bits === 64) {
      outLo = (prevLo ^ (x & lowMask(k))) >>> 0
      outHi = prevHi
    } else {
      outLo = (prevLo ^ (x & lowMask(k))) >>> 0
      outHi = 0
    }
  }
}

/** An integer lane of `width` bits. */
function genInt(rng: Rng, width: number, hasPrev: boolean, prevLo: number, prevHi: number): void {
  const r = rng.next()
  const cat = r & 15
  const mask = lowMask(width >= 32 ? 32 : width)
  if (cat < 4) {
    const t = SPECIAL_INT[width] as readonly (readonly [number, number])[]
    const e = t[(r >>> 4) % t.length] as readonly [number, number]
    outLo = e[0]
    outHi = e[1]
    return
  }
  if (cat < 9 || (cat >= 14 && !hasPrev)) {
    outLo = (rng.next() & mask) >>> 0
    outHi = width === 64 ? rng.next() : 0
    return
  }
  if (cat < 14) {
    const len = (r >>> 4) % (width + 1)
    let lo = rng.next()
    let hi = width === 64 ? rng.next() : 0
    if (len >= 32) hi = (hi & lowMask(len - 32)) >>> 0
    else {
      lo = (lo & lowMask(len)) >>> 0
      hi = 0
    }
    if ((r >>> 12) & 1) {
      // two's complement negation in `width` bits
      lo = (~lo + 1) >>> 0
      hi = (~hi + (lo === 0 ? 1 : 0)) >>> 0
    }
    if (width < 64) {
      lo = (lo & mask) >>> 0
      hi = 0
    }
    outLo = lo
    outHi = hi
    return
  }
  const delta = ((r >>> 4) & 7) - 3
  if (width === 64) {
    const sum = prevLo + delta
    outLo = sum >>> 0
    outHi = (prevHi + (sum < 0 ? -1 : sum > 0xffffffff ? 1 : 0)) >>> 0
  } else {
    outLo = ((prevLo + delta) & mask) >>> 0
    outHi = 0
  }
}

function laneBits(fill: Fill): number {
  switch (fill) {
    case 'f16':
    case 'i16':
      return 16
    case 'f32':
    case 'i32':
      return 32
    case 'i8':
      return 8
    default:
      return 64
  }
}

/**
 * Fills the 128-bit register `w` (4 words) as `fill` says. `prev` is the previous register's
 * words when it has the same fill (for derived values), else null.
 */
export function fillRegister(
  rng: Rng,
  fill: Fill,
  w: Uint32Array,
  at: number,
  prev: Uint32Array | null,
  prevAt: number,
  maxLanes = 0,
): void {
  if (fill === 'none') {
    w[at] = w[at + 1] = w[at + 2] = w[at + 3] = 0
    return
  }
  const bits = laneBits(fill)
  let lanes = 128 / bits
  if (fill === 'bits' || (maxLanes > 0 && maxLanes < lanes)) {
    for (let i = 0; i < 4; i++) w[at + i] = rng.next()
    if (fill === 'bits') return
    lanes = maxLanes
  }
  const isFp = fill[0] === 'f'
  const shape = bits === 16 ? F16 : bits === 32 ? F32 : F64
  for (let e = 0; e < lanes; e++) {
    let pLo = 0
    let pHi = 0
    if (prev !== null) {
      if (bits === 64) {
        pLo = prev[prevAt + 2 * e] as number
        pHi = prev[prevAt + 2 * e + 1] as number
      } else if (bits === 32) pLo = prev[prevAt + e] as number
      else if (bits === 16) pLo = ((prev[prevAt + (e >> 1)] as number) >>> ((e & 1) * 16)) & 0xffff
      else pLo = ((prev[prevAt + (e >> 2)] as number) >>> ((e & 3) * 8)) & 0xff
    }
    if (isFp) genFp(rng, shape, prev !== null, pLo, pHi)
    else genInt(rng, bits, prev !== null, pLo, pHi)
    if (bits === 64) {
      w[at + 2 * e] = outLo
      w[at + 2 * e + 1] = outHi
    } else if (bits === 32) w[at + e] = outLo
    else if (bits === 16) {
      const i = at + (e >> 1)
      const sh = (e & 1) * 16
      w[i] = ((((w[i] as number) & ~(0xffff << sh)) | (outLo << sh)) >>> 0)
    } else {
      const i = at + (e >> 2)
      const sh = (e & 3) * 8
      w[i] = ((((w[i] as number) & ~(0xff << sh)) | ((outLo & 0xff) << sh)) >>> 0)
    }
  }
}

/** The general-register input (x9) for `fill`, as (lo, hi): the value sits in the low bits, the rest random. */
export function fillGeneral(rng: Rng, fill: Fill): [number, number] {
  switch (fill) {
    case 'none':
      return [0, 0]
    case 'bits':
      return [rng.next(), rng.next()]
    case 'i64':
      genInt(rng, 64, false, 0, 0)
      return [outLo, outHi]
    case 'f64':
      genFp(rng, F64, false, 0, 0)
      return [outLo, outHi]
    case 'i32':
    case 'f32': {
      if (fill === 'i32') genInt(rng, 32, false, 0, 0)
      else genFp(rng, F32, false, 0, 0)
      const lo = outLo
      return [lo, rng.next()]
    }
    case 'f16':
    case 'i16': {
      if (fill === 'i16') genInt(rng, 16, false, 0, 0)
      else genFp(rng, F16, false, 0, 0)
      const lo = outLo
      const top = rng.next()
      return [(lo | (top & 0xffff0000)) >>> 0, rng.next()]
    }
    default: {
      genInt(rng, 8, false, 0, 0)
      const lo = outLo
      const top = rng.next()
      return [(lo | (top & 0xffffff00)) >>> 0, rng.next()]
    }
  }
}

/** FPCR for case i: every combination of RMode, FZ, DN, FZ16 and AHP in turn. */
export function fpcrForCase(i: number): number {
  const rmode = i & 3
  const fz = (i >>> 2) & 1
  const dn = (i >>> 3) & 1
  const fz16 = (i >>> 4) & 1
  const ahp = (i >>> 5) & 1
  return ((rmode << 22) | (fz << 24) | (dn << 25) | (fz16 << 19) | (ahp << 26)) >>> 0
}

// ---------------------------------------------------------------------------------------
// Hash

/** Two murmur3-style 32-bit streams over the result words. */
export class CaseHash {
  h1 = 0x9747b28c
  h2 = 0x1b873593
  word(w: number): void {
    let k = Math.imul(w >>> 0, 0xcc9e2d51)
    k = rotl(k >>> 0, 15)
    k = Math.imul(k, 0x1b873593)
    this.h1 = (this.h1 ^ k) >>> 0
    this.h1 = rotl(this.h1, 13)
    this.h1 = (Math.imul(this.h1, 5) + 0xe6546b64) >>> 0
    let j = Math.imul((w ^ 0x5bd1e995) >>> 0, 0x85ebca6b)
    j = rotl(j >>> 0, 17)
    this.h2 = (this.h2 + j) >>> 0
    this.h2 = rotl(this.h2, 11)
    this.h2 = (Math.imul(this.h2, 9) + 0x7f4a7c15) >>> 0
  }
  hex(): string {
    return fmix(this.h1).toString(16).padStart(8, '0') + fmix(this.h2).toString(16).padStart(8, '0')
  }
}
function fmix(h: number): number {
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b) >>> 0
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35) >>> 0
  return (h ^ (h >>> 16)) >>> 0
}

/** One case's register inputs. */
export interface CaseInput {
  /** v0..v3 as 16 words. */
  readonly v: Uint32Array
  x9Lo: number
  x9Hi: number
  /** NZCV as a 4-bit value. */
  nzcv: number
  fpcr: number
}

/** Generates case `i`'s inputs into `into` (the order of generator calls is the C driver's). */
export function generateCase(rng: Rng, form: Form, i: number, into: CaseInput): void {
  into.fpcr = fpcrForCase(i)
  const fills: Fill[] = [form.v0 ?? 'bits', form.v1 ?? 'none', form.v2 ?? 'none', form.v3 ?? 'none']
  for (let r = 0; r < 4; r++) {
    const fill = fills[r] as Fill
    const prevSame = r > 0 && fills[r - 1] === fill && fill !== 'bits' && fill !== 'none'
    fillRegister(rng, fill, into.v, 4 * r, prevSame ? into.v : null, 4 * (r - 1), form.lanes ?? 0)
  }
  const [lo, hi] = fillGeneral(rng, form.x ?? 'none')
  into.x9Lo = lo
  into.x9Hi = hi
  into.nzcv = rng.next() >>> 28
}

/** Hashes one case's results: v0 (4 words), x9 (2), NZCV (as read by MRS, 2 words), FPSR (2). */
export function hashCase(h: CaseHash, v0: Uint32Array, at: number, x9Lo: number, x9Hi: number, nzcv: number, fpsr: number): void {
  for (let i = 0; i < 4; i++) h.word(v0[at + i] as number)
  h.word(x9Lo)
  h.word(x9Hi)
  h.word((nzcv << 28) >>> 0)
  h.word(0)
  h.word(fpsr >>> 0)
  h.word(0)
}
