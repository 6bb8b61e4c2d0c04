// TEST-ONLY reference model: the Arm ARM pseudocode (FPUnpack, FPRound, FPAdd, FPMul,
// FPMulAdd, FPDiv, FPSqrt, FPConvert, FPToFixed, FixedToFP, FPRoundInt) over exact rationals
// with BigInt. Slow and simple on purpose; only the property tests import it.

/** A format by its field widths. */
export interface RefFormat {
  readonly n: 16 | 32 | 64
  readonly e: number
  readonly f: number
}
export const R16: RefFormat = { n: 16, e: 5, f: 10 }
export const R32: RefFormat = { n: 32, e: 8, f: 23 }
export const R64: RefFormat = { n: 64, e: 11, f: 52 }

const IOC = 1
const DZC = 2
const OFC = 4
const UFC = 8
const IXC = 16
const IDC = 128

export interface RefStatus {
  fpcr: number
  fpsr: number
}

const ZERO = 'zero'
const NUM = 'num'
const INF = 'inf'
const QNAN = 'qnan'
const SNAN = 'snan'
type RefType = typeof ZERO | typeof NUM | typeof INF | typeof QNAN | typeof SNAN

/** An exact real |v| = num / den (den a positive BigInt), with a sign. */
interface Rat {
  sign: 0 | 1
  num: bigint
  den: bigint
}
interface Unpacked {
  type: RefType
  sign: 0 | 1
  value: Rat
  bits: bigint
}

function bias(fmt: RefFormat): number {
  return (1 << (fmt.e - 1)) - 1
}
function emin(fmt: RefFormat): number {
  return 1 - bias(fmt)
}
function pow2(k: number): bigint {
  return 1n << BigInt(k)
}
function ratOf(sign: 0 | 1, mant: bigint, exp: number): Rat {
  return exp >= 0 ? { sign, num: mant << BigInt(exp), den: 1n } : { sign, num: mant, den: pow2(-exp) }
}
function bitLength(x: bigint): number {
  return x === 0n ? 0 : x.toString(2).length
}

/** FPUnpackBase; cv selects FPUnpackCV (FZ16 off, AHP honoured) over FPUnpack (AHP off). */
export function refUnpack(st: RefStatus, fmt: RefFormat, bits: bigint, cv: boolean): Unpacked {
  const fz = (st.fpcr >> 24) & 1
  const fz16 = cv ? 0 : (st.fpcr >> 19) & 1
  const ahp = cv ? (st.fpcr >> 26) & 1 : 0
  const sign = Number((bits >> BigInt(fmt.n - 1)) & 1n) as 0 | 1
  const exp = Number((bits >> BigInt(fmt.f)) & (pow2(fmt.e) - 1n))
  const frac = bits & (pow2(fmt.f) - 1n)
  const zero = { sign, num: 0n, den: 1n }
  if (exp === 0) {
    const flush = fmt.n === 16 ? fz16 === 1 : fz === 1
    if (frac === 0n || flush) {
      if (frac !== 0n && fmt.n !== 16) st.fpsr |= IDC
      return { type: ZERO, sign, value: zero, bits }
    }
    return { type: NUM, sign, value: ratOf(sign, frac, emin(fmt) - fmt.f), bits }
  }
  if (exp === (1 << fmt.e) - 1 && !(fmt.n === 16 && ahp === 1)) {
    if (frac === 0n) return { type: INF, sign, value: zero, bits }
    const quiet = (frac >> BigInt(fmt.f - 1)) & 1n
    return { type: quiet ? QNAN : SNAN, sign, value: zero, bits }
  }
  return { type: NUM, sign, value: ratOf(sign, frac | pow2(fmt.f), exp - bias(fmt) - fmt.f), bits }
}

function zeroBits(fmt: RefFormat, sign: number): bigint {
  return BigInt(sign) << BigInt(fmt.n - 1)
}
function infBits(fmt: RefFormat, sign: number): bigint {
  return zeroBits(fmt, sign) | ((pow2(fmt.e) - 1n) << BigInt(fmt.f))
}
function maxNormalBits(fmt: RefFormat, sign: number): bigint {
  return zeroBits(fmt, sign) | ((pow2(fmt.e) - 2n) << BigInt(fmt.f)) | (pow2(fmt.f) - 1n)
}
export function refDefaultNaN(fmt: RefFormat): bigint {
  return ((pow2(fmt.e) - 1n) << BigInt(fmt.f)) | pow2(fmt.f - 1)
}

/** A real to round: an exact rational, or the square root of one. */
interface RealSource {
  sign: 0 | 1
  /** floor(log2 |v|) */
  log2(): number
  /** floor(|v| * 2^k) and where the rest lies: 0 exact, 1 below half, 2 half, 3 above half. */
  scaled(k: number): { q: bigint; rest: number }
}

function ratSource(r: Rat): RealSource {
  return {
    sign: r.sign,
    log2() {
      let e = bitLength(r.num) - bitLength(r.den)
      // Now 2^(e-1) < num/den < 2^(e+1); settle it.
      if (e >= 0 ? r.num < r.den << BigInt(e) : r.num << BigInt(-e) < r.den) e -= 1
      return e
    },
    scaled(k) {
      const num = k >= 0 ? r.num << BigInt(k) : r.num
      const den = k >= 0 ? r.den : r.den << BigInt(-k)
      const q = num / den
      const rem = num - q * den
      const twice = 2n * rem
      return { q, rest: rem === 0n ? 0 : twice < den ? 1 : twice === den ? 2 : 3 }
    },
  }
}

function isqrt(y: bigint): bigint {
  if (y < 2n) return y
  let x = BigInt(Math.floor(Math.sqrt(Number(y))))
  // Newton steps from a close start, then settle exactly.
  for (let i = 0; i < 200; i++) {
    const nx = (x + y / x) >> 1n
    if (nx === x || nx === x + 1n) break
    x = nx
  }
  while (x * x > y) x -= 1n
  while ((x + 1n) * (x + 1n) <= y) x += 1n
  return x
}

function sqrtSource(r: Rat): RealSource {
  const inner = ratSource(r)
  return {
    sign: 0,
    log2() {
      return Math.floor(inner.log2() / 2)
    },
    scaled(k) {
      // sqrt(n/d) * 2^k = sqrt(n * 4^k / d)
      const num = k >= 0 ? r.num << BigInt(2 * k) : r.num
      const den = k >= 0 ? r.den : r.den << BigInt(-2 * k)
      const m = isqrt(num / den)
      if (m * m * den === num) return { q: m, rest: 0 }
      // sqrt(y) vs m + 1/2  <=>  4 num vs (2m + 1)^2 den
      const lhs = 4n * num
      const rhs = (2n * m + 1n) * (2n * m + 1n) * den
      return { q: m, rest: lhs < rhs ? 1 : lhs === rhs ? 2 : 3 }
    },
  }
}

/** FPRoundBase; cv selects FPRoundCV (FZ16 off, AHP honoured) over FPRound (AHP off). mode 0-3 or 'odd'. */
function refRound(st: RefStatus, fmt: RefFormat, v: RealSource, mode: number | 'odd', cv: boolean): bigint {
  const fpcr = st.fpcr
  const flush = fmt.n === 16 ? !cv && ((fpcr >> 19) & 1) === 1 : ((fpcr >> 24) & 1) === 1
  const ahp = cv && fmt.n === 16 && ((fpcr >> 26) & 1) === 1
  const sign = v.sign
  const exponent = v.log2()
  const mn = emin(fmt)
  if (flush && exponent < mn) {
    st.fpsr |= UFC
    return zeroBits(fmt, sign)
  }
  let biased = Math.max(exponent - mn + 1, 0)
  const unit = (biased === 0 ? mn : exponent) - fmt.f
  const scaled = v.scaled(-unit)
  let mant = scaled.q
  const rest = scaled.rest
  if (biased === 0 && rest !== 0) st.fpsr |= UFC
  let up = false
  let toInf = false
  if (mode === 0) {
    up = rest === 3 || (rest === 2 && (mant & 1n) === 1n)
    toInf = true
  } else if (mode === 1) {
    up = rest !== 0 && sign === 0
    toInf = sign === 0
  } else if (mode === 2) {
    up = rest !== 0 && sign === 1
    toInf = sign === 1
  }
  if (up) {
    mant += 1n
    if (mant === pow2(fmt.f)) biased = 1
    if (mant === pow2(fmt.f + 1)) {
      biased += 1
      mant >>= 1n
    }
  }
  if (rest !== 0 && mode === 'odd') mant |= 1n
  if (ahp) {
    if (biased >= 32) {
      st.fpsr |= IOC
      return zeroBits(fmt, sign) | 0x7fffn
    }
  } else if (biased >= (1 << fmt.e) - 1) {
    // Overflow: the error is taken as 1, so inexact too.
    st.fpsr |= OFC | IXC
    return toInf ? infBits(fmt, sign) : maxNormalBits(fmt, sign)
  }
  if (rest !== 0) st.fpsr |= IXC
  return zeroBits(fmt, sign) | (BigInt(biased) << BigInt(fmt.f)) | (mant & (pow2(fmt.f) - 1n))
}

function processNaN(st: RefStatus, fmt: RefFormat, u: Unpacked): bigint {
  let r = u.bits
  if (u.type === SNAN) {
    r |= pow2(fmt.f - 1)
    st.fpsr |= IOC
  }
  if ((st.fpcr >> 25) & 1) r = refDefaultNaN(fmt)
  return r
}
function processNaNs(st: RefStatus, fmt: RefFormat, ops: Unpacked[]): bigint | null {
  for (const u of ops) if (u.type === SNAN) return processNaN(st, fmt, u)
  for (const u of ops) if (u.type === QNAN) return processNaN(st, fmt, u)
  return null
}
function mode(st: RefStatus): number {
  return (st.fpcr >> 22) & 3
}
function addRat(a: Rat, b: Rat): Rat {
  const an = a.sign ? -a.num : a.num
  const bn = b.sign ? -b.num : b.num
  const num = an * b.den + bn * a.den
  return { sign: num < 0n ? 1 : 0, num: num < 0n ? -num : num, den: a.den * b.den }
}
function mulRat(a: Rat, b: Rat): Rat {
  return { sign: (a.sign ^ b.sign) as 0 | 1, num: a.num * b.num, den: a.den * b.den }
}
function zeroResult(fmt: RefFormat, st: RefStatus): bigint {
  return zeroBits(fmt, mode(st) === 2 ? 1 : 0)
}

/** FPAdd (sub = false) or FPSub. */
export function refAdd(st: RefStatus, fmt: RefFormat, a: bigint, b: bigint, sub = false): bigint {
  const ua = refUnpack(st, fmt, a, false)
  const ub = refUnpack(st, fmt, b, false)
  const nan = processNaNs(st, fmt, [ua, ub])
  if (nan !== null) return nan
  const sb = (sub ? ub.sign ^ 1 : ub.sign) as 0 | 1
  if (ua.type === INF && ub.type === INF && ua.sign !== sb) {
    st.fpsr |= IOC
    return refDefaultNaN(fmt)
  }
  if ((ua.type === INF && ua.sign === 0) || (ub.type === INF && sb === 0)) return infBits(fmt, 0)
  if ((ua.type === INF && ua.sign === 1) || (ub.type === INF && sb === 1)) return infBits(fmt, 1)
  if (ua.type === ZERO && ub.type === ZERO && ua.sign === sb) return zeroBits(fmt, ua.sign)
  const sum = addRat(ua.value, { ...ub.value, sign: sb })
  if (sum.num === 0n) return zeroResult(fmt, st)
  return refRound(st, fmt, ratSource(sum), mode(st), false)
}

/** FPMul. */
export function refMul(st: RefStatus, fmt: RefFormat, a: bigint, b: bigint): bigint {
  const ua = refUnpack(st, fmt, a, false)
  const ub = refUnpack(st, fmt, b, false)
  const nan = processNaNs(st, fmt, [ua, ub])
  if (nan !== null) return nan
  const sign = ua.sign ^ ub.sign
  if ((ua.type === INF && ub.type === ZERO) || (ua.type === ZERO && ub.type === INF)) {
    st.fpsr |= IOC
    return refDefaultNaN(fmt)
  }
  if (ua.type === INF || ub.type === INF) return infBits(fmt, sign)
  if (ua.type === ZERO || ub.type === ZERO) return zeroBits(fmt, sign)
  return refRound(st, fmt, ratSource(mulRat(ua.value, ub.value)), mode(st), false)
}

/** FPDiv. */
export function refDiv(st: RefStatus, fmt: RefFormat, a: bigint, b: bigint): bigint {
  const ua = refUnpack(st, fmt, a, false)
  const ub = refUnpack(st, fmt, b, false)
  const nan = processNaNs(st, fmt, [ua, ub])
  if (nan !== null) return nan
  const sign = ua.sign ^ ub.sign
  if ((ua.type === INF && ub.type === INF) || (ua.type === ZERO && ub.type === ZERO)) {
    st.fpsr |= IOC
    return refDefaultNaN(fmt)
  }
  if (ua.type === INF || ub.type === ZERO) {
    if (ua.type !== INF) st.fpsr |= DZC
    return infBits(fmt, sign)
  }
  if (ua.type === ZERO || ub.type === INF) return zeroBits(fmt, sign)
  const q: Rat = { sign: sign as 0 | 1, num: ua.value.num * ub.value.den, den: ua.value.den * ub.value.num }
  return refRound(st, fmt, ratSource(q), mode(st), false)
}

/** FPSqrt. */
export function refSqrt(st: RefStatus, fmt: RefFormat, a: bigint): bigint {
  const u = refUnpack(st, fmt, a, false)
  if (u.type === QNAN || u.type === SNAN) return processNaN(st, fmt, u)
  if (u.type === ZERO) return zeroBits(fmt, u.sign)
  if (u.type === INF && u.sign === 0) return infBits(fmt, 0)
  if (u.sign === 1) {
    st.fpsr |= IOC
    return refDefaultNaN(fmt)
  }
  return refRound(st, fmt, sqrtSource(u.value), mode(st), false)
}

/** FPMulAdd(addend, op1, op2). */
export function refMulAdd(st: RefStatus, fmt: RefFormat, addend: bigint, a: bigint, b: bigint): bigint {
  const uA = refUnpack(st, fmt, addend, false)
  const u1 = refUnpack(st, fmt, a, false)
  const u2 = refUnpack(st, fmt, b, false)
  const infZero = (u1.type === INF && u2.type === ZERO) || (u1.type === ZERO && u2.type === INF)
  let nan = processNaNs(st, fmt, [uA, u1, u2])
  if (uA.type === QNAN && infZero) {
    st.fpsr |= IOC
    nan = refDefaultNaN(fmt)
  }
  if (nan !== null) return nan
  const sP = u1.sign ^ u2.sign
  const infP = u1.type === INF || u2.type === INF
  const zeroP = u1.type === ZERO || u2.type === ZERO
  if (infZero || (uA.type === INF && infP && uA.sign !== sP)) {
    st.fpsr |= IOC
    return refDefaultNaN(fmt)
  }
  if ((uA.type === INF && uA.sign === 0) || (infP && sP === 0)) return infBits(fmt, 0)
  if ((uA.type === INF && uA.sign === 1) || (infP && sP === 1)) return infBits(fmt, 1)
  if (uA.type === ZERO && zeroP && uA.sign === sP) return zeroBits(fmt, uA.sign)
  const v = addRat(uA.value, mulRat(u1.value, u2.value))
  if (v.num === 0n) return zeroResult(fmt, st)
  return refRound(st, fmt, ratSource(v), mode(st), false)
}

function convertNaN(to: RefFormat, from: RefFormat, bits: bigint): bigint {
  const sign = (bits >> BigInt(from.n - 1)) & 1n
  // frac<50:0> of the 51 payload bits below the quiet bit, left-aligned.
  const payloadBits = from.f - 1
  const payload = (bits & (pow2(payloadBits) - 1n)) << BigInt(51 - payloadBits)
  const out = payload >> BigInt(51 - (to.f - 1))
  return (sign << BigInt(to.n - 1)) | ((pow2(to.e + 1) - 1n) << BigInt(to.f - 1)) | out
}

/** FPConvert(op, fpcr, mode) from one format to another; mode 'odd' for FCVTXN. */
export function refConvert(st: RefStatus, to: RefFormat, from: RefFormat, bits: bigint, m: number | 'odd'): bigint {
  const u = refUnpack(st, from, bits, true)
  const altHp = to.n === 16 && ((st.fpcr >> 26) & 1) === 1
  if (u.type === QNAN || u.type === SNAN) {
    let r: bigint
    if (altHp) r = zeroBits(to, u.sign)
    else if ((st.fpcr >> 25) & 1) r = refDefaultNaN(to)
    else r = convertNaN(to, from, bits)
    if (u.type === SNAN || altHp) st.fpsr |= IOC
    return r
  }
  if (u.type === INF) {
    if (altHp) {
      st.fpsr |= IOC
      return zeroBits(to, u.sign) | 0x7fffn
    }
    return infBits(to, u.sign)
  }
  if (u.type === ZERO) return zeroBits(to, u.sign)
  return refRound(st, to, ratSource(u.value), m, true)
}

/** Round-to-integer decision on a rational (modes 0-3, 4 = ties away). */
function roundRat(v: Rat, m: number): { n: bigint; inexact: boolean } {
  const signed = v.sign ? -v.num : v.num
  // floor division for negatives
  let q = signed / v.den
  if (signed < 0n && q * v.den !== signed) q -= 1n
  const rem = signed - q * v.den // in [0, den)
  const twice = 2n * rem
  let up: boolean
  switch (m) {
    case 0:
      up = twice > v.den || (twice === v.den && (q & 1n) === 1n)
      break
    case 1:
      up = rem !== 0n
      break
    case 2:
      up = false
      break
    case 3:
      up = rem !== 0n && q < 0n
      break
    default:
      up = twice > v.den || (twice === v.den && q >= 0n)
  }
  return { n: up ? q + 1n : q, inexact: rem !== 0n }
}

/** FPToFixed(op, fbits, unsigned, fpcr, mode) into an m-bit integer (as an unsigned BigInt pattern). */
export function refToFixed(
  st: RefStatus,
  fmt: RefFormat,
  bits: bigint,
  fbits: number,
  unsigned: boolean,
  m: number,
  rmode: number,
): bigint {
  const u = refUnpack(st, fmt, bits, false)
  if (u.type === QNAN || u.type === SNAN) st.fpsr |= IOC
  let n: bigint
  let inexact = false
  if (u.type === INF) n = u.sign ? -(1n << 2000n) : 1n << 2000n
  else if (u.type === NUM) {
    const r = roundRat({ ...u.value, num: u.value.num << BigInt(fbits) }, rmode)
    n = r.n
    inexact = r.inexact
  } else n = 0n
  const min = unsigned ? 0n : -pow2(m - 1)
  const max = unsigned ? pow2(m) - 1n : pow2(m - 1) - 1n
  let overflow = false
  if (n < min) {
    n = min
    overflow = true
  } else if (n > max) {
    n = max
    overflow = true
  }
  if (overflow) st.fpsr |= IOC
  else if (inexact) st.fpsr |= IXC
  return BigInt.asUintN(m, n)
}

/** FixedToFP(op, fbits, unsigned, fpcr, mode) from an m-bit integer pattern. */
export function refFixedToFp(
  st: RefStatus,
  fmt: RefFormat,
  pattern: bigint,
  m: number,
  fbits: number,
  unsigned: boolean,
  rmode: number,
): bigint {
  const v = unsigned ? BigInt.asUintN(m, pattern) : BigInt.asIntN(m, pattern)
  if (v === 0n) return zeroBits(fmt, 0)
  const r: Rat = { sign: v < 0n ? 1 : 0, num: v < 0n ? -v : v, den: pow2(fbits) }
  return refRound(st, fmt, ratSource(r), rmode, false)
}

/** FPRoundInt(op, fpcr, mode, exact). */
export function refRoundInt(st: RefStatus, fmt: RefFormat, bits: bigint, rmode: number, exact: boolean): bigint {
  const u = refUnpack(st, fmt, bits, false)
  if (u.type === QNAN || u.type === SNAN) return processNaN(st, fmt, u)
  if (u.type === INF) return infBits(fmt, u.sign)
  if (u.type === ZERO) return zeroBits(fmt, u.sign)
  const { n, inexact } = roundRat(u.value, rmode)
  let r: bigint
  if (n === 0n) r = zeroBits(fmt, u.sign)
  else r = refRound(st, fmt, ratSource({ sign: n < 0n ? 1 : 0, num: n < 0n ? -n : n, den: 1n }), 3, false)
  if (inexact && exact) st.fpsr |= IXC
  return r
}

/** Exact value of a finite operand as a rational (for tests that build targeted inputs). */
export function refValueOf(fmt: RefFormat, bits: bigint): { sign: number; num: bigint; den: bigint } | null {
  const u = refUnpack({ fpcr: 0, fpsr: 0 }, fmt, bits, false)
  return u.type === NUM || u.type === ZERO ? u.value : null
}
export { DZC, IDC, IOC, IXC, OFC, UFC }
