// Parts of the translator that emit one operation each (operands, arithmetic that needs
// several wasm instructions, the memory fast path, conditions), split out of emit.ts.

import {
  FN_COND, FN_FILL, ST_STRICT_ALIGN, CC_ADD32, CC_ADD64, CC_LOGIC32, CC_LOGIC64, CC_SUB32, CC_SUB64, ST_TLB, TLB_HOST, TLB_READ_KEY,
  TLB_WRITE_KEY,
} from './layout.js'
import { type Block } from './region.js'
import { loopCache, loopCacheHit, loopCacheRecord, sharePlan, sharedFlag, tagCheck, type RangeSlot, type Share } from './emit-tags.js'
import { fillGuard, groupSite, groupVerified, type GroupSite } from './emit-groups.js'
import { tlbEntry, tlbMiss } from './emit-tlb.js'
import { REG_DISCARD } from '../state.js'
import type { Emitter, SetterKind } from './emit.js'
import { I32, I64, Op, type FunctionBody } from './wasm-encoder.js'

/** Keeps the low 32 bits of the i64 on the stack. */
export const MASK32 = (fn: FunctionBody): FunctionBody => fn.i64(-1, 0).op(Op.i64And)

const wz = (n: number): number => (n === 31 ? REG_DISCARD : n)

export function bitfield(em: Emitter, name: 'SBFM' | 'UBFM' | 'BFM', sf: number, immr: number, imms: number, rn: number, rd: number): void {
  const fn = em.fn
  const width = sf ? 64 : 32
  const I = sf
    ? { shl: Op.i64Shl, shrU: Op.i64ShrU, shrS: Op.i64ShrS, and: Op.i64And, or: Op.i64Or, k: (v: number) => fn.i64(v), mask: (n: number) => (n >= 64 ? fn.i64(-1) : n >= 32 ? fn.i64(-1, (2 ** (n - 32) - 1) | 0) : fn.i64((2 ** n - 1) | 0, 0)) }
    : { shl: Op.i32Shl, shrU: Op.i32ShrU, shrS: Op.i32ShrS, and: Op.i32And, or: Op.i32Or, k: (v: number) => fn.i32(v), mask: (n: number) => fn.i32((2 ** n - 1) | 0) }
  /** Pushes the constant v and applies op (a shift by v). */
  const by = (v: number, op: number): void => {
    I.k(v)
    fn.op(op)
  }
  const src = (): void => {
    em.get(rn)
    if (!sf) fn.op(Op.i32WrapI64)
  }
  let fieldWidth: number
  let pos: number
  if (imms >= immr) {
    fieldWidth = imms - immr + 1
    pos = 0
  } else {
    fieldWidth = imms + 1
    pos = width - immr
  }
  if (name === 'BFM') {
    // dst = dst with bits [pos + fieldWidth - 1 : pos] from the source field.
    src()
    if (imms >= immr) by(immr, I.shrU)
    I.mask(fieldWidth)
    fn.op(I.and)
    if (pos !== 0) by(pos, I.shl)
    em.get(rd)
    if (!sf) fn.op(Op.i32WrapI64)
    I.mask(fieldWidth)
    if (pos !== 0) by(pos, I.shl)
    I.k(-1)
    fn.op(sf ? Op.i64Xor : Op.i32Xor, I.and, I.or)
  } else if (name === 'UBFM') {
    src()
    if (imms >= immr) {
      if (immr !== 0) by(immr, I.shrU)
    }
    I.mask(fieldWidth)
    fn.op(I.and)
    if (pos !== 0) by(pos, I.shl)
  } else {
    // SBFM: sign-extend the field from its top bit, then place it.
    src()
    const up = width - 1 - imms
    if (up !== 0) by(up, I.shl)
    if (imms >= immr) {
      if (up + immr !== 0) by(up + immr, I.shrS)
    } else {
      if (up !== 0) by(up, I.shrS)
      if (pos !== 0) by(pos, I.shl)
    }
  }
  if (!sf) fn.op(Op.i64ExtendI32U)
  em.set(wz(rd))
}

/** Pushes the high 64 bits of the 128-bit product of Xn and Xm. */
export function mulHigh(em: Emitter, rn: number, rm: number, signed: boolean): void {
  const fn = em.fn
  const [aLo, aHi, bLo, bHi] = [em.t1, em.t2, em.t3, em.t4]
  em.get(rn)
  fn.tee(em.v)
  MASK32(fn).set(aLo)
  fn.get(em.v).i64(32).op(Op.i64ShrU).set(aHi)
  em.get(rm)
  fn.tee(em.w)
  MASK32(fn).set(bLo)
  fn.get(em.w).i64(32).op(Op.i64ShrU).set(bHi)
  // mid = (aLo*bLo >> 32) + lo32(aLo*bHi) + lo32(aHi*bLo)
  fn.get(aLo).get(bLo).op(Op.i64Mul).i64(32).op(Op.i64ShrU)
  fn.get(aLo).get(bHi).op(Op.i64Mul).tee(em.a)
  MASK32(fn).op(Op.i64Add)
  fn.get(aHi).get(bLo).op(Op.i64Mul).tee(aLo) // aLo is free now: holds aHi*bLo
  MASK32(fn).op(Op.i64Add)
  fn.i64(32).op(Op.i64ShrU)
  fn.get(aHi).get(bHi).op(Op.i64Mul, Op.i64Add)
  fn.get(em.a).i64(32).op(Op.i64ShrU, Op.i64Add)
  fn.get(aLo).i64(32).op(Op.i64ShrU, Op.i64Add)
  if (signed) {
    // Signed high half = unsigned one - (a < 0 ? b : 0) - (b < 0 ? a : 0).
    fn.get(em.w).i64(0).get(em.v).i64(0).op(Op.i64LtS, Op.select, Op.i64Sub)
    fn.get(em.v).i64(0).get(em.w).i64(0).op(Op.i64LtS, Op.select, Op.i64Sub)
  }
}

/** Pushes Xn / Xm (0 for a zero divisor; INT_MIN / -1 = INT_MIN), without a wasm trap. */
export function divide(em: Emitter, rn: number, rm: number, sf: number, signed: boolean): void {
  const fn = em.fn
  if (sf) {
    em.get(rm)
    fn.tee(em.t2).op(Op.i64Eqz)
    fn.if('', I64).i64(0).else()
    if (signed) {
      fn.get(em.t2).i64(-1).op(Op.i64Eq)
      fn.if('', I64).i64(0)
      em.get(rn)
      fn.op(Op.i64Sub).else()
      em.get(rn)
      fn.get(em.t2).op(Op.i64DivS).end()
    } else {
      em.get(rn)
      fn.get(em.t2).op(Op.i64DivU)
    }
    fn.end()
  } else {
    em.get(rm)
    fn.op(Op.i32WrapI64).tee(em.c).op(Op.i32Eqz)
    fn.if('', I32).i32(0).else()
    if (signed) {
      fn.get(em.c).i32(-1).op(Op.i32Eq)
      fn.if('', I32).i32(0)
      em.get(rn)
      fn.op(Op.i32WrapI64, Op.i32Sub).else()
      em.get(rn)
      fn.op(Op.i32WrapI64).get(em.c).op(Op.i32DivS).end()
    } else {
      em.get(rn)
      fn.op(Op.i32WrapI64).get(em.c).op(Op.i32DivU)
    }
    fn.end().op(Op.i64ExtendI32U)
  }
}

// ---- memory ----
/**
 * The fast path of an access of `span` bytes at the address in local `a`, made of parts of
 * `elem` bytes: aligned to `elem`, a fast-TLB hit (or a fill that succeeds) with the
 * permission, and the pointer's tag equal to that of every granule touched unless
 * `unchecked`. Leaves the host address in `h`; else side exit. A pair (span = 2 * elem)
 * may cross into the next page when `pairs` says so: each element is then looked up on its
 * own page (both before anything is written), and `h2` holds the second element's host
 * address (h + elem otherwise). Without `pairs` a page-crossing access leaves. With
 * `mayMisalign` (plain loads, stores and pairs) an access need not be aligned to `elem`
 * (see misaligned).
 */
export function access(
  em: Emitter, b: Block, k: number, span: number, elem: number, isWrite: boolean, unchecked: boolean, pairs = false, mayMisalign = false, needsHost = true,
): void {
  const fn = em.fn
  const site = unchecked ? undefined : groupSite(em, b, k)
  const share = unchecked || site !== undefined ? undefined : sharePlan(em, b).get(k)
  const range = unchecked || site !== undefined ? undefined : loopCache(em, b).get(k)
  const leads = share !== undefined && share.lead !== 0
  if (leads) fn.i32(0).set(sharedFlag(em))
  // A loop's access in its range cache (emit-tags.ts): its host address with no lookup or
  // check; the follower's bytes (of a leader) lie in the range too.
  const cached = range !== undefined && needsHost && (span === elem || pairs)
  if (cached) {
    loopCacheHit(em, em.a, range.slot, elem, em.h)
    if (span !== elem) fn.get(em.h).i32(elem).op(Op.i32Add).set(em.h2)
    if (leads) fn.i32(1).set(sharedFlag(em))
    fn.else()
  }
  wholeWay(em, b, k, span, elem, isWrite, unchecked, pairs, mayMisalign, needsHost, share, site, range)
  if (cached) fn.end()
  if (leads) fn.get(em.h).set(leaderHost(em))
}

/** The rest of access: alignment, lookup (fill, tag check), host address. */
function wholeWay(
  em: Emitter, b: Block, k: number, span: number, elem: number, isWrite: boolean, unchecked: boolean, pairs: boolean, mayMisalign: boolean, needsHost: boolean,
  share: Share | undefined, site: GroupSite | undefined, range: RangeSlot | undefined,
): void {
  const fn = em.fn
  fn.get(em.a).op(Op.i32WrapI64).tee(em.c)
  if (span === elem) {
    // (A verified group's access lies in its range: nothing of it is left to check.)
    const granuleTail = mayMisalign && elem > 1 && !unchecked && !(site !== undefined && groupVerified(em, b, k, site.group))
    if (elem > 1) {
      fn.i32(elem - 1).op(Op.i32And)
      if (granuleTail) fn.tee(misalignment(em))
      if (mayMisalign) misaligned(em, b, k, span)
      else em.exitIf(b, k)
    } else fn.op(Op.drop)
    // A follower of the same kind whose leader found both in one page (and checked both, on a
    // checked page) reuses the leader's entry: no lookup (see emit-tags.ts Share).
    const reuse = share !== undefined && share.lead === 0 && share.sameKey === true
    if (reuse) {
      fn.get(sharedFlag(em))
      fn.if()
      fn.get(leaderHost(em)).i32(share.delta!).op(Op.i32Add).set(em.h)
      fn.else()
    }
    lookup(em, b, k, em.a, em.c, span, elem, isWrite, unchecked, em.h, share, site, range)
    if (granuleTail) {
      // The tag check looked at the first byte's granule: a misaligned access reaching into the
      // next granule of a tag-checked page leaves for the interpreter. Tested only when
      // misaligned: an aligned access never reaches past its granule (this test, run for every
      // access, was ~10 host instructions of each aligned load and store).
      // (tg: the entry's tags word, which the check has just read.)
      fn.get(misalignment(em))
      fn.if()
      fn.get(em.c).i32(15).op(Op.i32And).i32(16 - elem).op(Op.i32GtU)
      fn.get(em.tg).i32(1).op(Op.i32And, Op.i32Eqz, Op.i32And)
      em.exitIf(b, k)
      fn.end()
    }
    if (reuse) fn.end()
    return
  }
  fn.i32(elem - 1).op(Op.i32And)
  if (!pairs) {
    fn.get(em.c).i32(4095).op(Op.i32And).i32(4096 - span).op(Op.i32GtU, Op.i32Or)
    em.exitIf(b, k)
    lookup(em, b, k, em.a, em.c, span, elem, isWrite, unchecked, needsHost ? em.h : undefined, share, site, range)
    return
  }
  // A misaligned pair that stays in its page goes on (its tag check covers its whole span);
  // only aligned pairs reach the page-crossing case below.
  if (mayMisalign) misaligned(em, b, k, span)
  else em.exitIf(b, k)
  fn.get(em.c).i32(4095).op(Op.i32And).i32(4096 - span).op(Op.i32GtU)
  fn.if()
  // The pair crosses a page: an element on each (aligned elements never straddle one).
  // (A leader's shared check needs its access in one page: here it checks only its own. A
  // group's access leaves: its range, across the page boundary, would not be verified.)
  if (site !== undefined) em.sideExit(b, k)
  const own = share?.lead === 0 ? share : undefined
  lookup(em, b, k, em.a, em.c, elem, elem, isWrite, unchecked, em.h, own)
  fn.get(em.a).i64(elem).op(Op.i64Add).tee(em.a2).op(Op.i32WrapI64).set(em.c2)
  lookup(em, b, k, em.a2, em.c2, elem, elem, isWrite, unchecked, em.h2, own)
  fn.else()
  lookup(em, b, k, em.a, em.c, span, elem, isWrite, unchecked, em.h, share, site, range)
  fn.get(em.h).i32(elem).op(Op.i32Add).set(em.h2)
  fn.end()
  // (Across a page the flag stays clear: no follower reuses this host address.)
}

const leaderHosts = new WeakMap<Emitter, number>()

/** A local for a shared check's leader's host address (its follower may reuse the entry). */
function leaderHost(em: Emitter): number {
  let l = leaderHosts.get(em)
  if (l === undefined) leaderHosts.set(em, (l = em.fn.local(I32)))
  return l
}

const misalignments = new WeakMap<Emitter, number>()

/** A local for an access's misalignment, kept from its alignment test to its granule test. */
function misalignment(em: Emitter): number {
  let l = misalignments.get(em)
  if (l === undefined) misalignments.set(em, (l = em.fn.local(I32)))
  return l
}

/**
 * With the misalignment (address & (elem - 1)) on the stack: a misaligned access leaves when
 * the runtime says misaligned accesses must (ST_STRICT_ALIGN: SCTLR_EL1.A, stage 1 off) or it
 * crosses its page; else it goes on (the fast TLB then holds no Device page, where it would
 * fault). Aligned accesses do not look at either.
 */
function misaligned(em: Emitter, b: Block, k: number, span: number): void {
  const fn = em.fn
  fn.if()
  fn.get(em.state).mem(Op.i32Load, ST_STRICT_ALIGN)
  fn.get(em.c).i32(4095).op(Op.i32And).i32(4096 - span).op(Op.i32GtU, Op.i32Or)
  em.exitIf(b, k)
  fn.end()
}

/**
 * One page's part of an access (see access): `span` bytes of `elem`-byte parts at the address
 * in locals `a` (i64) and `c` (its low half); the host address to `host` (none for a tag store,
 * which writes no data).
 */
export function lookup(
  em: Emitter, b: Block, k: number, a: number, c: number, span: number, elem: number, isWrite: boolean, unchecked: boolean, host: number | undefined,
  share?: Share, site?: GroupSite, range?: RangeSlot,
): void {
  const fn = em.fn
  const tlb = em.base + ST_TLB
  tlbEntry(em, c)
  tlbMiss(em, a, isWrite ? TLB_WRITE_KEY : TLB_READ_KEY)
  fn.if()
  fn.get(c).get(a).i64(32).op(Op.i64ShrU, Op.i32WrapI64).i32(isWrite ? 1 : 0).call(FN_FILL).op(Op.i32Eqz)
  em.exitIf(b, k)
  // A fill read the MMU: a verified group's range is not trusted across a checked entry (see Group).
  fillGuard(em, b, k)
  fn.end()
  if (!unchecked) {
    if (span > 32) throw new RangeError(`a checked access of ${span} bytes: the tag check covers at most two granules`)
    tagCheck(em, b, k, a, c, span > elem ? span : 1, share, site)
    if (range !== undefined) loopCacheRecord(em, a, c, range, share !== undefined && share.lead !== 0 ? share.lead : span, elem)
  }
  if (host !== undefined) fn.get(em.e).mem(Op.i32Load, tlb + TLB_HOST).get(c).i32(4095).op(Op.i32And, Op.i32Add).set(host)
}

// ---- operands ----
export function shifted(em: Emitter, rm: number, shift: number, amount: number, sf: number): void {
  const fn = em.fn
  em.get(rm)
  if (!sf) {
    fn.op(Op.i32WrapI64)
    if (amount !== 0) fn.i32(amount).op([Op.i32Shl, Op.i32ShrU, Op.i32ShrS, Op.i32Rotr][shift]!)
    fn.op(Op.i64ExtendI32U)
  } else if (amount !== 0) {
    fn.i64(amount).op([Op.i64Shl, Op.i64ShrU, Op.i64ShrS, Op.i64Rotr][shift]!)
  }
}

export function extended(em: Emitter, rm: number, option: number, amount: number): void {
  const fn = em.fn
  em.get(rm)
  switch (option) {
    case 0: fn.i64(0xff).op(Op.i64And); break
    case 1: fn.i64(0xffff).op(Op.i64And); break
    case 2: MASK32(fn); break
    case 4: fn.op(Op.i64Extend8S); break
    case 5: fn.op(Op.i64Extend16S); break
    case 6: fn.op(Op.i64Extend32S); break
    default: break
  }
  if (amount !== 0) fn.i64(amount).op(Op.i64Shl)
}

/** Pushes ConditionHolds(cond) as i32, from the setter in this block if known, else NZCV. */
export function cond(em: Emitter, cond: number, setter: SetterKind): void {
  const fn = em.fn
  if (cond >= 14) {
    fn.i32(1)
    return
  }
  if (setter !== null) {
    const { op } = setter
    const sub = op === CC_SUB64 || op === CC_SUB32
    const logic = op === CC_LOGIC64 || op === CC_LOGIC32
    const narrow = op === CC_SUB32 || op === CC_LOGIC32 || op === CC_ADD32
    const pushA = (): void => {
      fn.get(em.ccA)
      if (narrow) fn.op(Op.i32WrapI64)
    }
    const pushB = (): void => {
      if (logic) fn.op(narrow ? Op.i32Const : Op.i64Const, 0)
      else {
        fn.get(em.ccB)
        if (narrow) fn.op(Op.i32WrapI64)
      }
    }
    const N = narrow
      ? { eq: Op.i32Eq, ne: Op.i32Ne, geU: Op.i32GeU, ltU: Op.i32LtU, gtU: Op.i32GtU, leU: Op.i32LeU, geS: Op.i32GeS, ltS: Op.i32LtS, gtS: Op.i32GtS, leS: Op.i32LeS }
      : { eq: Op.i64Eq, ne: Op.i64Ne, geU: Op.i64GeU, ltU: Op.i64LtU, gtU: Op.i64GtU, leU: Op.i64LeU, geS: Op.i64GeS, ltS: Op.i64LtS, gtS: Op.i64GtS, leS: Op.i64LeS }
    // SUBS: each condition is one compare of the operands; ANDS: of the result with 0 (C = V = 0).
    const subOps: (number | undefined)[] = [N.eq, N.ne, N.geU, N.ltU, undefined, undefined, undefined, undefined, N.gtU, N.leU, N.geS, N.ltS, N.gtS, N.leS]
    const logicOps: (number | undefined)[] = [N.eq, N.ne, undefined, undefined, N.ltS, N.geS, undefined, undefined, undefined, undefined, N.geS, N.ltS, N.gtS, N.leS]
    const opcode = sub ? subOps[cond] : logic ? logicOps[cond] : undefined
    if (opcode !== undefined) {
      pushA()
      pushB()
      fn.op(opcode)
      return
    }
    if (op === CC_ADD64 || op === CC_ADD32) return addCond(em, cond, narrow)
    if (logic && (cond === 2 || cond === 8)) return void fn.i32(0) // HS, HI: C = 0
    if (logic && (cond === 3 || cond === 9)) return void fn.i32(1) // LO, LS
    if (logic && (cond === 6)) return void fn.i32(0) // VS
    if (logic && (cond === 7)) return void fn.i32(1) // VC
  }
  fn.i32(cond)
  em.nzcv()
  fn.call(FN_COND)
}

/**
 * ConditionHolds after ADDS/CMN in the same block, from its operands: r = a + b (in the
 * operation's width), Z = r == 0, N = r < 0, C = r <u a (the add carried out), V = a and b
 * of one sign and r of the other.
 */
function addCond(em: Emitter, cond: number, narrow: boolean): void {
  const fn = em.fn
  const I = narrow
    ? { add: Op.i32Add, eqz: Op.i32Eqz, ltU: Op.i32LtU, ltS: Op.i32LtS, xor: Op.i32Xor, and: Op.i32And, zero: () => fn.i32(0) }
    : { add: Op.i64Add, eqz: Op.i64Eqz, ltU: Op.i64LtU, ltS: Op.i64LtS, xor: Op.i64Xor, and: Op.i64And, zero: () => fn.i64(0) }
  const a = (): void => {
    fn.get(em.ccA)
    if (narrow) fn.op(Op.i32WrapI64)
  }
  const b = (): void => {
    fn.get(em.ccB)
    if (narrow) fn.op(Op.i32WrapI64)
  }
  const r = (): void => {
    a()
    b()
    fn.op(I.add)
  }
  const z = (): void => {
    r()
    fn.op(I.eqz)
  }
  const n = (): void => {
    r()
    I.zero()
    fn.op(I.ltS)
  }
  const c = (): void => {
    r()
    a()
    fn.op(I.ltU)
  }
  const v = (): void => {
    // (a ^ r) & (b ^ r) < 0
    a()
    r()
    fn.op(I.xor)
    b()
    r()
    fn.op(I.xor, I.and)
    I.zero()
    fn.op(I.ltS)
  }
  // Conditions come in pairs: odd ones are the even one negated.
  switch (cond >> 1) {
    case 0: z(); break
    case 1: c(); break
    case 2: n(); break
    case 3: v(); break
    case 4: c(); z(); fn.op(Op.i32Eqz, Op.i32And); break // HI: C && !Z
    case 5: n(); v(); fn.op(Op.i32Xor, Op.i32Eqz); break // GE: N == V
    case 6: n(); v(); fn.op(Op.i32Xor, Op.i32Eqz); z(); fn.op(Op.i32Eqz, Op.i32And); break // GT: !Z && N == V
  }
  if (cond & 1) fn.op(Op.i32Eqz)
}

/** What the flag setter before instruction k of block b in the same block was, if any. */
export function setterKind(b: Block, k: number): SetterKind {
  const s = b.setterOf.get(k)
  if (s === undefined || s < 0) return null
  const d = b.insns[s]!.d
  if (d.name.startsWith('CC')) return null // CCMP/CCMN: which flags depends on a condition
  const sf = (d as { sf: number }).sf
  if (d.name.startsWith('SUBS')) return { op: sf ? CC_SUB64 : CC_SUB32 }
  if (d.name.startsWith('ADDS')) return { op: sf ? CC_ADD64 : CC_ADD32 }
  return { op: sf ? CC_LOGIC64 : CC_LOGIC32 }
}
