// Instructions the Linux boot kept leaving translations for (jit README, "Numbers"): add and
// subtract with carry (the IP checksum's ADCS chains), load-acquire / store-release (no
// other observer orders differently on one thread: plain accesses that must be aligned), the
// prefetch hints (the interpreter runs them as NOPs), and MRS/MSR/SYS, run by the
// interpreter's handler with the Cpu's PC, count and NZCV brought up to date first (sysCall),
// and ISB, which goes on in the translation when the context synchronisation has nothing to do;
// exclusives, CAS and the LSE atomics go through their handler the same way.

import { INSTRUCTION_FLAGS, InstructionFlag, type Instruction } from '@tagvm/a64'
import { REG_DISCARD, REG_SP } from '../state.js'
import {
  CC_LIT, EXIT_STOP, EXIT_THROWN, FN_HELPER, HELPER_REGS_ONLY, HELPER_SYS, ST_CHAIN, ST_LEFT, ST_NZCV, ST_PC, ST_STOP, ST_STRICT_ALIGN, ST_SYS_OK, ST_TLB, SYS_ISB, SYS_ZVA,
  TLB_TAGS,
} from './layout.js'
import { isAtomic, isFpSimd, type Block } from './region.js'
import type { Emitter } from './emit.js'
import { MASK32, access, cond, lookup, setterKind } from './emit-ops.js'
import { emitFp } from './emit-fp.js'
import { sysregKey } from '../sysreg-encoding.js'
import { Op } from './wasm-encoder.js'

const rs = (n: number): number => (n === 31 ? REG_SP : n)
const wz = (n: number): number => (n === 31 ? REG_DISCARD : n)

/** Emits instruction k of block b (one of isSysSupported); false when it is not one of these. */
export function emitSys(em: Emitter, b: Block, k: number): boolean {
  const d: Instruction = b.insns[k]!.d
  switch (d.name) {
    case 'ADC': case 'ADCS': case 'SBC': case 'SBCS':
      addWithCarry(em, b, k, d.name.startsWith('SBC'), d.name.endsWith('S'), d.sf, d.rn, d.rm, d.rd)
      return true
    case 'PRFM_ui': case 'PRFM_reg': case 'PRFUM': case 'PRFM_lit':
      return true
    case 'LDAR': case 'STLR': {
      // Alignment is required in any case (the fast path's too); SP-based: unchecked, as the interpreter.
      const size = 1 << d.size
      em.spAligned(b, k, d.rn)
      em.get(rs(d.rn))
      em.fn.set(em.a)
      access(em, b, k, size, size, d.name === 'STLR', d.rn === 31)
      if (d.name === 'STLR') em.store(d.rt, size)
      else {
        em.load(size, false)
        em.set(wz(d.rt))
      }
      return true
    }
    case 'MRS': case 'MSR_r':
      plainSysreg(em, b, k, d.name === 'MRS', 0x8000 | d.sysreg, d.rt)
      return true
    case 'SYS':
      if (em.sysregs.isDcZva(sysregKey(1, d.op1, d.crn, d.crm, d.op2))) dcZva(em, b, k, d.rt)
      else sysCall(em, b, k)
      return true
    case 'ISB':
      isb(em, b, k)
      return true
    case 'MSR_i':
      sysCall(em, b, k)
      return true
    default:
      // FP/SIMD (region.ts isFpSimd): loads, stores and moves in wasm (emit-fp.ts), the rest
      // through the handler, with the FP trap, faults and FPSR.
      if (isFpSimd(d)) {
        const regsOnly = (INSTRUCTION_FLAGS[d.id]! & (InstructionFlag.LOAD | InstructionFlag.STORE)) === 0
        if (!emitFp(em, b, k, () => sysCall(em, b, k, regsOnly))) sysCall(em, b, k, regsOnly)
        return true
      }
      // Exclusives and atomics (region.ts isAtomic): the handler does the whole access, with
      // the exclusive monitor and, for vCPU threads, the global monitor's lock.
      if (!isAtomic(d)) return false
      sysCall(em, b, k)
      return true
  }
}

/**
 * Pushes whether the ST_SYS_OK bits `need` are not all set (the instruction must go through its
 * handler in the current state).
 */
function lacks(em: Emitter, need: number): void {
  em.fn.get(em.state).mem(Op.i32Load, ST_SYS_OK).i32(need).op(Op.i32And).i32(need).op(Op.i32Ne)
}

/**
 * MRS/MSR of a register that is plain storage in the state page (sysreg-wasm.ts): a load or
 * store of its slot, when ST_SYS_OK says the row's access checks pass now (the EL, SPSel for
 * SP_EL0); otherwise, and for every other register, its handler.
 */
function plainSysreg(em: Emitter, b: Block, k: number, isRead: boolean, key: number, rt: number): void {
  const place = em.sysregs.register(key, isRead)
  if (place === null) {
    sysCall(em, b, k)
    return
  }
  const fn = em.fn
  if (place.need !== 0) {
    lacks(em, place.need)
    fn.if()
    sysCall(em, b, k)
    fn.else()
  }
  if (isRead) {
    fn.get(em.state).mem(Op.i64Load, place.offset)
    em.set(wz(rt))
  } else {
    fn.get(em.state)
    em.get(rt) // 31: XZR
    fn.mem(Op.i64Store, place.offset)
  }
  if (place.need !== 0) fn.end()
}

/**
 * DC ZVA in wasm when ST_SYS_OK allows it (EL1 or SCTLR_EL1.DZE, no HCR_EL2.TDZ trap, 64-byte
 * blocks) and misaligned accesses are not strict (the fast TLB then holds no Device page, where
 * DC ZVA faults): a 64-byte store of zeros through the fast TLB's write key (never given for a
 * frame this CPU holds code from, watched or MMIO), checked against the block's four tags as a
 * store is (one 32-bit load of their four bytes). A miss the fill refuses or a tag mismatch
 * leaves before the instruction for the interpreter, which faults or decides with exact state; DC ZVA writes no
 * tags. When not allowed now, the handler (which traps or raises the exception).
 */
function dcZva(em: Emitter, b: Block, k: number, rt: number): void {
  const fn = em.fn
  lacks(em, SYS_ZVA)
  fn.get(em.state).mem(Op.i32Load, ST_STRICT_ALIGN).op(Op.i32Or)
  fn.if()
  sysCall(em, b, k)
  fn.else()
  em.get(rt)
  fn.i64(~63).op(Op.i64And).tee(em.a).op(Op.i32WrapI64).set(em.c)
  lookup(em, b, k, em.a, em.c, 64, 64, true, true, em.h)
  const tags = em.base + ST_TLB + TLB_TAGS
  fn.get(em.e).mem(Op.i32Load, tags).tee(em.tg).i32(1).op(Op.i32And, Op.i32Eqz)
  fn.if()
  fn.get(em.tg).get(em.c).i32(4).op(Op.i32ShrU, Op.i32Add).mem(Op.i32Load, 0)
  fn.get(em.a).i64(56).op(Op.i64ShrU, Op.i32WrapI64).i32(15).op(Op.i32And).i32(0x0101_0101).op(Op.i32Mul, Op.i32Ne)
  em.exitIf(b, k)
  fn.end()
  for (let at = 0; at < 64; at += 8) fn.get(em.h).i64(0).mem(Op.i64Store, at)
  fn.end()
}

/**
 * ISB: nothing to do in the translation when the run loop's refetch would do nothing: no
 * interrupt line or virtual interrupt up and PSTATE.IL clear (ST_SYS_OK's SYS_ISB), no code
 * written since this CPU looked and no refetch asked for (ST_CHAIN: cleared by any), no stop
 * requested. Otherwise the runtime's handler (sysreg-wasm.ts isbHandler), which leaves if it must.
 */
function isb(em: Emitter, b: Block, k: number): void {
  const fn = em.fn
  lacks(em, SYS_ISB)
  fn.get(em.state).mem(Op.i32Load, ST_CHAIN).op(Op.i32Eqz, Op.i32Or)
  fn.get(em.state).mem(Op.i32Load, ST_STOP).op(Op.i32Or)
  fn.if()
  sysCall(em, b, k)
  fn.end()
}

/**
 * A system instruction through the interpreter's handler (the `helper` import with
 * HELPER_SYS): the Cpu's PC (this instruction), its count (as the interpreter has it while
 * running the instruction) and NZCV are stored first, as the handler may read them (MRS NZCV,
 * the instruction clock's CNTVCT) or take an exception with them. The runtime answers 0 to go
 * on (NZCV reloaded: MSR NZCV), 1 to leave after the instruction (EXIT_STOP: the run loop
 * refetches; an interrupt may be unmasked, the fast TLB or the MTE tables may be stale, the
 * code may have been written), 2 when the handler threw (EXIT_THROWN, nothing written back).
 * `regsOnly`: an FP/SIMD instruction that touches nothing but registers (HELPER_REGS_ONLY).
 */
function sysCall(em: Emitter, b: Block, k: number, regsOnly = false): void {
  const fn = em.fn
  const off = b.insns[k]!.off
  const uncounted = b.insns.length - k - 1
  fn.get(em.state)
  em.va(off)
  fn.mem(Op.i64Store, ST_PC)
  fn.get(em.state).get(em.left).i32(uncounted).op(Op.i32Add).mem(Op.i32Store, ST_LEFT)
  fn.get(em.state)
  em.nzcv()
  fn.mem(Op.i32Store, ST_NZCV)
  const helpers = em.region.helpers
  fn.i32(helpers.length | HELPER_SYS | (regsOnly ? HELPER_REGS_ONLY : 0)).call(FN_HELPER).tee(em.c)
  helpers.push(off)
  fn.get(em.state).mem(Op.i32Load, ST_NZCV).set(em.ccLit).i32(CC_LIT).set(em.ccOp)
  fn.if()
  fn.get(em.c).i32(2).op(Op.i32Eq)
  fn.if().i32(EXIT_THROWN).op(Op.return).end()
  em.va(off + 4)
  fn.set(em.exitPc).get(em.left).i32(uncounted).op(Op.i32Add).set(em.left).i32(EXIT_STOP).set(em.code).br('exit')
  fn.end()
}

/**
 * ADC/SBC(S): Xd = Xn + (Xm or ~Xm) + C. C comes from the setter earlier in the block when
 * there is one (region.ts counts these as flag readers), else from NZCV. ADCS/SBCS compute
 * all of NZCV here and leave it as the literal flags (a later reader in the block asks NZCV).
 */
function addWithCarry(em: Emitter, b: Block, k: number, sub: boolean, setFlags: boolean, sf: number, rn: number, rm: number, rd: number): void {
  const fn = em.fn
  const [a, bb, r] = [em.t1, em.t2, em.t3]
  cond(em, 2, setterKind(b, k)) // HS: C set
  fn.set(em.c)
  em.get(rn)
  if (!sf) MASK32(fn)
  fn.set(a)
  em.get(rm)
  if (sub) fn.i64(-1).op(Op.i64Xor)
  if (!sf) MASK32(fn)
  fn.set(bb)
  fn.get(a).get(bb).op(Op.i64Add).get(em.c).op(Op.i64ExtendI32U, Op.i64Add).set(r)
  if (setFlags) {
    if (sf) {
      // N, Z of r; C: the sum wrapped (r < a, or r <= a with a carry in); V: a and b of one sign, r of the other.
      fn.get(r).i64(0).op(Op.i64LtS).i32(31).op(Op.i32Shl)
      fn.get(r).op(Op.i64Eqz).i32(30).op(Op.i32Shl, Op.i32Or)
      fn.get(r).get(a).op(Op.i64LeU).get(r).get(a).op(Op.i64LtU).get(em.c).op(Op.select).i32(29).op(Op.i32Shl, Op.i32Or)
      fn.get(a).get(r).op(Op.i64Xor).get(bb).get(r).op(Op.i64Xor, Op.i64And).i64(0).op(Op.i64LtS).i32(28).op(Op.i32Shl, Op.i32Or)
    } else {
      // The 33-bit sum of zero-extended operands: C is bit 32, the rest from its low word.
      fn.get(r).op(Op.i32WrapI64).i32(0x8000_0000).op(Op.i32And)
      fn.get(r).op(Op.i32WrapI64, Op.i32Eqz).i32(30).op(Op.i32Shl, Op.i32Or)
      fn.get(r).i64(32).op(Op.i64ShrU, Op.i32WrapI64).i32(29).op(Op.i32Shl, Op.i32Or)
      fn.get(a).get(r).op(Op.i64Xor).get(bb).get(r).op(Op.i64Xor, Op.i64And, Op.i32WrapI64).i32(0x8000_0000).op(Op.i32And).i32(3).op(Op.i32ShrU, Op.i32Or)
    }
    fn.set(em.ccLit).i32(CC_LIT).set(em.ccOp)
  }
  fn.get(r)
  em.setW(wz(rd), sf)
}
