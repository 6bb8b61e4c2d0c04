// FP/SIMD in translations. Every FP/SIMD instruction the interpreter has semantics for runs in
// a translation (region.ts isFpSimd): the ones below in wasm, the rest through their handler
// (emit-sys.ts sysCall). In wasm: the SIMD&FP loads and stores of one register or a pair (B, H,
// S, D, Q; unsigned offset, unscaled, pre- and post-index, register offset), through the same
// memory fast path and tag check as the integer ones (emit-ops.ts access), and register moves
// that touch no FP state: FMOV between registers and to or from a general register, MOVI of a
// 64-bit pattern, and the vector AND/ORR/EOR/BIC (ORR is also MOV). They never read FPCR nor
// write FPSR, so the only state they need is SYS_FP in ST_SYS_OK (CPACR_EL1.FPEN and
// CPTR_EL2.TFP let FP/SIMD run at this EL); without it they leave before the instruction and
// the interpreter takes the trap. The registers live in the state page (ST_VREGS: the Cpu's
// `fpRegs.vregs` are views of it), so the handlers of the other instructions see what these
// wrote and the other way round. A Q register moves as two doublewords, as the interpreter
// accesses it (single-copy atomic per 64 bits).

import type { Instruction } from '@tagvm/a64'
import { REG_DISCARD, REG_SP } from '../state.js'
import type { Emitter } from './emit.js'
import { access, extended } from './emit-ops.js'
import { emitFpArith } from './emit-fp-arith.js'
import { emitFpInt } from './emit-fp-int.js'
import { ST_SYS_OK, ST_VREGS, SYS_FP } from './layout.js'
import type { Block } from './region.js'
import { Op } from './wasm-encoder.js'

const rs = (n: number): number => (n === 31 ? REG_SP : n)
const wz = (n: number): number => (n === 31 ? REG_DISCARD : n)
/** The offsets of V<n>'s low and high doublewords in the state page. */
const lowOf = (n: number): number => ST_VREGS + 16 * n
const highOf = (n: number): number => ST_VREGS + 16 * n + 8

const LOAD_BY_LOG2 = [Op.i64Load8U, Op.i64Load16U, Op.i64Load32U, Op.i64Load]
const STORE_BY_LOG2 = [Op.i64Store8, Op.i64Store16, Op.i64Store32, Op.i64Store]

/**
 * Emits FP/SIMD instruction k of block b in wasm; false when it goes through its handler instead.
 * `handler` emits that (emit-sys.ts sysCall), for the arithmetic that falls back to it at run time.
 */
export function emitFp(em: Emitter, b: Block, k: number, handler: () => void): boolean {
  const d: Instruction = b.insns[k]!.d
  switch (d.name) {
    case 'LDR_f': case 'STR_f': case 'LDUR_f': case 'STUR_f':
    case 'LDR_fpre': case 'STR_fpre': case 'LDR_fpost': case 'STR_fpost':
      fpAllowed(em, b, k)
      single(em, b, k, d.name.startsWith('ST'), d.esz, d.rn, d.rt, d.name.endsWith('pre') ? 'pre' : d.name.endsWith('post') ? 'post' : 'offset', d.imm)
      return true
    case 'LDR_fr': case 'STR_fr':
      fpAllowed(em, b, k)
      single(em, b, k, d.name === 'STR_fr', d.esz, d.rn, d.rt, 'register', 0, d)
      return true
    case 'LDP_f': case 'STP_f': case 'LDNP_f': case 'STNP_f':
    case 'LDP_fpre': case 'STP_fpre': case 'LDP_fpost': case 'STP_fpost': {
      const isWrite = d.name.startsWith('ST')
      // LDP into one register twice is CONSTRAINED UNPREDICTABLE: the interpreter's choice.
      if (!isWrite && d.rt === d.rt2) return false
      fpAllowed(em, b, k)
      pair(em, b, k, isWrite, d.esz, d.rn, d.rt, d.rt2, d.name.endsWith('pre') ? 'pre' : d.name.endsWith('post') ? 'post' : 'offset', d.imm)
      return true
    }
    case 'LD1R': case 'LD1R_p':
      fpAllowed(em, b, k)
      loadReplicate(em, b, k, d.esz, d.q, d.rn, d.rt, d.name === 'LD1R_p' ? d.rm : undefined)
      return true
    case 'FMOV_f':
      // Vd = the low esize bits of Vn, zero-extended (H, S, D).
      fpAllowed(em, b, k)
      em.fn.get(em.state).get(em.state).mem(LOAD_BY_LOG2[d.esz]!, lowOf(d.rn))
      setV(em, d.rd)
      return true
    case 'FMOV_fg':
      // General to FP: Wn's low 16 bits (H), Wn (S) or Xn (D), zero-extended.
      fpAllowed(em, b, k)
      em.fn.get(em.state)
      em.get(d.rn)
      lowBits(em, 1 << d.esz)
      setV(em, d.rd)
      return true
    case 'FMOV_gf':
      // FP to general: the element zero-extended (a 32-bit destination gets its low word anyway).
      fpAllowed(em, b, k)
      em.fn.get(em.state).mem(LOAD_BY_LOG2[d.esz]!, lowOf(d.rn))
      em.set(wz(d.rd))
      return true
    case 'MOVI_2d': case 'MOVI_d': {
      // The 64-bit pattern in both doublewords (2D) or the low one (D, the high one zeroed).
      fpAllowed(em, b, k)
      const fn = em.fn
      fn.get(em.state).i64(d.immLo | 0, d.immHi | 0).mem(Op.i64Store, lowOf(d.rd))
      fn.get(em.state).i64(d.name === 'MOVI_2d' ? d.immLo | 0 : 0, d.name === 'MOVI_2d' ? d.immHi | 0 : 0).mem(Op.i64Store, highOf(d.rd))
      return true
    }
    case 'AND_v': case 'ORR_v': case 'EOR_v': case 'BIC_v':
      fpAllowed(em, b, k)
      bitwise(em, d.name, d.q, d.rd, d.rn, d.rm)
      return true
    default:
      // Integer vector arithmetic, shifts, permutes and element moves (emit-fp-int.ts);
      // FADD/FSUB/FMUL/FMLA: in wasm when that is exact (emit-fp-arith.ts), else the handler.
      return emitFpInt(em, d, () => fpAllowed(em, b, k), handler) || emitFpArith(em, b, k, () => fpAllowed(em, b, k), handler)
  }
}

/** Leaves before instruction k unless FP/SIMD may run now (the interpreter then takes the trap). */
function fpAllowed(em: Emitter, b: Block, k: number): void {
  em.fn.get(em.state).mem(Op.i32Load, ST_SYS_OK).i32(SYS_FP).op(Op.i32And, Op.i32Eqz)
  em.exitIf(b, k)
}

/** Keeps the low `bytes` bytes of the i64 on the stack. */
function lowBits(em: Emitter, bytes: number): void {
  if (bytes === 8) return
  em.fn.i64(bytes === 4 ? -1 : bytes === 2 ? 0xffff : 0xff, 0).op(Op.i64And)
}

/** With the state base and an i64 below it on the stack: V<n> = that value, zero-extended to 128 bits. */
function setV(em: Emitter, n: number): void {
  em.fn.mem(Op.i64Store, lowOf(n))
  em.fn.get(em.state).i64(0).mem(Op.i64Store, highOf(n))
}

type Addressing = 'offset' | 'pre' | 'post' | 'register'

/** Sets local `a` to the address of an access off Xn|SP (before its writeback). */
function address(em: Emitter, b: Block, k: number, rn: number, mode: Addressing, imm: number, reg?: { rm: number; option: number; amount: number }): void {
  const fn = em.fn
  em.spAligned(b, k, rn)
  em.get(rs(rn))
  if (reg !== undefined) {
    extended(em, reg.rm, reg.option, reg.amount)
    fn.op(Op.i64Add)
  } else if (mode !== 'post' && imm !== 0) fn.i64(imm).op(Op.i64Add)
  fn.set(em.a)
}

/** Xn|SP after the access: the address (pre-index) or the base plus the offset (post-index). */
function writeback(em: Emitter, rn: number, mode: Addressing, imm: number): void {
  if (mode !== 'pre' && mode !== 'post') return
  em.fn.get(em.a)
  if (mode === 'post' && imm !== 0) em.fn.i64(imm).op(Op.i64Add)
  em.set(rs(rn))
}

/**
 * One register of 2^log2 bytes. Unchecked as the interpreter's: SP-based with an immediate
 * offset and no writeback. The access is complete (and may fault) before the register or the
 * base is written.
 */
function single(
  em: Emitter, b: Block, k: number, isWrite: boolean, log2: number, rn: number, rt: number, mode: Addressing, imm: number,
  reg?: { rm: number; option: number; amount: number },
): void {
  const size = 1 << log2
  address(em, b, k, rn, mode, imm, reg)
  access(em, b, k, size, size, isWrite, rn === 31 && mode === 'offset', false, true)
  transfer(em, isWrite, log2, rt, em.h)
  writeback(em, rn, mode, imm)
}

/** A pair of registers of 2^log2 bytes each (S, D, Q): both elements looked up before either moves. */
function pair(em: Emitter, b: Block, k: number, isWrite: boolean, log2: number, rn: number, rt: number, rt2: number, mode: Addressing, imm: number): void {
  const size = 1 << log2
  address(em, b, k, rn, mode, imm)
  access(em, b, k, 2 * size, size, isWrite, rn === 31 && mode === 'offset', true, true)
  transfer(em, isWrite, log2, rt, em.h)
  transfer(em, isWrite, log2, rt2, em.h2)
  writeback(em, rn, mode, imm)
}

/** Moves V<rt> (its low 2^log2 bytes) to or from the host address in local `host`; a load zeroes the rest of the register. */
function transfer(em: Emitter, isWrite: boolean, log2: number, rt: number, host: number): void {
  const fn = em.fn
  if (isWrite) {
    fn.get(host).get(em.state).mem(Op.i64Load, lowOf(rt)).mem(STORE_BY_LOG2[Math.min(log2, 3)]!, 0)
    if (log2 === 4) fn.get(host).get(em.state).mem(Op.i64Load, highOf(rt)).mem(Op.i64Store, 8)
    return
  }
  fn.get(em.state).get(host).mem(LOAD_BY_LOG2[Math.min(log2, 3)]!, 0).mem(Op.i64Store, lowOf(rt))
  fn.get(em.state)
  if (log2 === 4) fn.get(host).mem(Op.i64Load, 8)
  else fn.i64(0)
  fn.mem(Op.i64Store, highOf(rt))
}

/** The 64-bit multiplier that copies an element of 2^log2 bytes (zero-extended) to every lane of a doubleword. */
const REPLICATE_BY_LOG2: readonly (readonly [number, number])[] = [[0x0101_0101, 0x0101_0101], [0x0001_0001, 0x0001_0001], [1, 1], [1, 0]]

/**
 * LD1R (one register): the element of 2^log2 bytes at Xn|SP in every lane of Vt (its high
 * doubleword zeroed when q = 0), as LDR of that size (aligned to it, unchecked as LDR's when
 * SP-based without writeback). Post-index (`rm` given): Xn|SP += Xm, or the element's size for
 * Rm = 31.
 */
function loadReplicate(em: Emitter, b: Block, k: number, log2: number, q: number, rn: number, rt: number, rm?: number): void {
  const fn = em.fn
  const size = 1 << log2
  address(em, b, k, rn, rm === undefined ? 'offset' : 'post', 0)
  access(em, b, k, size, size, false, rn === 31 && rm === undefined, false, true)
  const [lo, hi] = REPLICATE_BY_LOG2[log2]!
  fn.get(em.h).mem(LOAD_BY_LOG2[log2]!, 0)
  if (log2 < 3) fn.i64(lo, hi).op(Op.i64Mul)
  fn.set(em.t1)
  fn.get(em.state).get(em.t1).mem(Op.i64Store, lowOf(rt))
  fn.get(em.state)
  if (q) fn.get(em.t1)
  else fn.i64(0)
  fn.mem(Op.i64Store, highOf(rt))
  if (rm === undefined) return
  // Xn|SP = the address plus Xm, or plus the element's size (Rm = 31).
  fn.get(em.a)
  if (rm === 31) fn.i64(size)
  else em.get(rm)
  fn.op(Op.i64Add)
  em.set(rs(rn))
}

/** AND/ORR/EOR/BIC (vector, register): each doubleword; with q = 0 the high one is zeroed. */
function bitwise(em: Emitter, name: string, q: number, rd: number, rn: number, rm: number): void {
  const fn = em.fn
  const half = (at: (n: number) => number): void => {
    fn.get(em.state)
    fn.get(em.state).mem(Op.i64Load, at(rn))
    fn.get(em.state).mem(Op.i64Load, at(rm))
    if (name === 'BIC_v') fn.i64(-1).op(Op.i64Xor)
    fn.op(name === 'EOR_v' ? Op.i64Xor : name === 'ORR_v' ? Op.i64Or : Op.i64And)
    fn.mem(Op.i64Store, at(rd))
  }
  // The low half is read and written first: with rd = rn or rm, the high half reads its own
  // doublewords, which the low half's store did not touch.
  half(lowOf)
  if (q) half(highOf)
  else fn.get(em.state).i64(0).mem(Op.i64Store, highOf(rd))
}
