// Integer Advanced SIMD in WebAssembly SIMD: the vector forms the FP guests' set-up loops are
// made of (clang vectorises `(i * 17) % 101` into MUL, UMULL/UMULL2, UZP2, USRA, USHR, MLS,
// SCVTF: 21 handler runs a round of bench-dot's init, ~14% of its whole run). Integer lanes
// wrap in both, so ADD/SUB/MUL/MLA/MLS, the long multiplies, the shifts by an immediate, the
// permutes (UZP/ZIP/TRN, EXT) and the element moves (DUP, INS, UMOV) are exact as wasm does them;
// none reads FPCR or writes FPSR, so, like the moves in emit-fp.ts, they need only the FP
// trap's test. SCVTF/UCVTF (vector, 32-bit lanes) are FP: wasm's conversion rounds to nearest,
// so they run here only while FPCR.RMode is RN (else the handler), and set IXC, while it is
// clear, when a lane does not convert back to its integer (emit-fp-simd-ops.ts stickyInexact).
// A 64-bit vector (q = 0) writes the low doubleword and zeroes the high one, as Arm does.

import type { Instruction } from '@tagvm/a64'
import { SLOT } from '../sysreg-table.js'
import type { Emitter } from './emit.js'
import { ST_SYSREGS, ST_VREGS } from './layout.js'
import { I32, Op } from './wasm-encoder.js'
import { S, V128, simd, simdMem, stickyInexact } from './emit-fp-simd-ops.js'
import { REG_DISCARD } from '../state.js'

const FPCR_RMODE = 0x00c0_0000

/** Opcodes by element size (8, 16, 32, 64 bits; -1: none in wasm). */
const ADD = [0x6e, 0x8e, 0xae, 0xce]
const SUB = [0x71, 0x91, 0xb1, 0xd1]
const MUL = [-1, 0x95, 0xb5, -1]
const SHL = [0x6b, 0x8b, 0xab, 0xcb]
const SHR_S = [0x6c, 0x8c, 0xac, 0xcc]
const SHR_U = [0x6d, 0x8d, 0xad, 0xcd]
const SPLAT = [0x0f, 0x10, 0x11, 0x12]
/** The widening ops by source element size (8, 16, 32): [low signed, high signed, low unsigned, high unsigned]. */
const EXTEND = [[0x87, 0x88, 0x89, 0x8a], [0xa7, 0xa8, 0xa9, 0xaa], [0xc7, 0xc8, 0xc9, 0xca]]
const EXTMUL = [[0x9c, 0x9d, 0x9e, 0x9f], [0xbc, 0xbd, 0xbe, 0xbf], [0xdc, 0xdd, 0xde, 0xdf]]
const SHUFFLE = 0x0d
const I32X4_EQ = 0x37
const I32X4_NE = 0x38
const F32X4_CONVERT = { signed: 0xfa, unsigned: 0xfb }
const I32X4_TRUNC_SAT = { signed: 0xf8, unsigned: 0xf9 }

const LOAD_BY_LOG2 = [Op.i64Load8U, Op.i64Load16U, Op.i64Load32U, Op.i64Load]
const STORE_BY_LOG2 = [Op.i64Store8, Op.i64Store16, Op.i64Store32, Op.i64Store]

const vreg = (n: number): number => ST_VREGS + 16 * n

/**
 * Emits integer Advanced SIMD instruction `d` (and SCVTF/UCVTF vector of 32-bit lanes) in
 * WebAssembly SIMD after `fpAllowed` (the FP trap's test); `handler` runs SCVTF/UCVTF under
 * another rounding mode. False, having emitted nothing, for any other form.
 */
export function emitFpInt(em: Emitter, d: Instruction, fpAllowed: () => void, handler: () => void): boolean {
  const fn = em.fn
  const load = (n: number): void => loadV(em, n)
  switch (d.name) {
    case 'ADD_v': case 'SUB_v': case 'MUL_v': case 'MLA_v': case 'MLS_v': {
      const mul = d.name !== 'ADD_v' && d.name !== 'SUB_v'
      if ((mul && MUL[d.esz]! < 0) || (!d.q && d.esz === 3)) return false
      fpAllowed()
      fn.get(em.state)
      if (d.name === 'MLA_v' || d.name === 'MLS_v') load(d.rd)
      load(d.rn)
      load(d.rm)
      simd(fn, d.name === 'ADD_v' ? ADD[d.esz]! : d.name === 'SUB_v' ? SUB[d.esz]! : MUL[d.esz]!)
      if (d.name === 'MLA_v') simd(fn, ADD[d.esz]!)
      if (d.name === 'MLS_v') simd(fn, SUB[d.esz]!)
      storeV(em, d.rd, d.q)
      return true
    }
    case 'UMULL_v': case 'SMULL_v': {
      // Source lanes of 2^esz bytes, the low (q = 0) or high (UMULL2, q = 1) half, products twice as wide.
      if (d.esz > 2) return false
      fpAllowed()
      fn.get(em.state)
      load(d.rn)
      load(d.rm)
      simd(fn, EXTMUL[d.esz]![(d.name === 'UMULL_v' ? 2 : 0) + d.q]!)
      storeV(em, d.rd, 1)
      return true
    }
    case 'USHLL_vi': case 'SSHLL_vi': {
      // Widened (the low or, for the "2" forms, high half), then shifted left by less than the source width.
      if (d.esz > 2) return false
      fpAllowed()
      fn.get(em.state)
      load(d.rn)
      simd(fn, EXTEND[d.esz]![(d.name === 'USHLL_vi' ? 2 : 0) + d.q]!)
      if (d.shift !== 0) {
        fn.i32(d.shift)
        simd(fn, SHL[d.esz + 1]!)
      }
      storeV(em, d.rd, 1)
      return true
    }
    case 'USHR_vi': case 'SSHR_vi': case 'USRA_vi': case 'SSRA_vi': case 'SHL_vi': {
      if (!d.q && d.esz === 3) return false
      const bits = 8 << d.esz
      const signed = d.name[0] === 'S' && d.name !== 'SHL_vi'
      const accumulate = d.name.endsWith('RA_vi')
      fpAllowed()
      fn.get(em.state)
      if (accumulate) load(d.rd)
      if (d.name !== 'SHL_vi' && !signed && d.shift >= bits) {
        // USHR by the element's width: 0 (wasm would shift by the width mod itself, 0).
        fn.i64(0, 0)
        simd(fn, S.i64x2Splat)
      } else {
        load(d.rn)
        // SSHR by the width fills with the sign, as by the width - 1.
        fn.i32(Math.min(d.shift, bits - 1))
        simd(fn, d.name === 'SHL_vi' ? SHL[d.esz]! : signed ? SHR_S[d.esz]! : SHR_U[d.esz]!)
      }
      if (accumulate) simd(fn, ADD[d.esz]!)
      storeV(em, d.rd, d.q)
      return true
    }
    case 'UZP1_v': case 'UZP2_v': case 'ZIP1_v': case 'ZIP2_v': case 'TRN1_v': case 'TRN2_v': {
      if (!d.q && d.esz === 3) return false
      fpAllowed()
      fn.get(em.state)
      load(d.rn)
      load(d.rm)
      fn.op(0xfd, SHUFFLE)
      for (const byte of permutation(d.name, d.esz, d.q)) fn.op(byte)
      storeV(em, d.rd, d.q)
      return true
    }
    case 'EXT_v': {
      // Bytes imm.. of Vn:Vm (16 bytes each, or the low 8 of each for q = 0).
      fpAllowed()
      const bytes = d.q ? 16 : 8
      fn.get(em.state)
      load(d.rn)
      load(d.rm)
      fn.op(0xfd, SHUFFLE)
      for (let i = 0; i < 16; i++) {
        const k = d.imm + i
        fn.op(i >= bytes ? 0 : k < bytes ? k : 16 + k - bytes)
      }
      storeV(em, d.rd, d.q)
      return true
    }
    case 'INS_e':
      // Element idx of Vd = element idx2 of Vn; the rest stays.
      fpAllowed()
      fn.get(em.state).get(em.state).mem(LOAD_BY_LOG2[d.esz]!, vreg(d.rn) + (d.idx2 << d.esz))
      fn.mem(STORE_BY_LOG2[d.esz]!, vreg(d.rd) + (d.idx << d.esz))
      return true
    case 'DUP_vg':
      if (!d.q && d.esz === 3) return false
      fpAllowed()
      fn.get(em.state)
      em.get(d.rn)
      if (d.esz < 3) fn.op(Op.i32WrapI64)
      simd(fn, SPLAT[d.esz]!)
      storeV(em, d.rd, d.q)
      return true
    case 'INS_g':
      // One element of Vd = the low bits of Xn; the rest stays.
      fpAllowed()
      fn.get(em.state)
      em.get(d.rn)
      fn.mem(STORE_BY_LOG2[d.esz]!, vreg(d.rd) + (d.idx << d.esz))
      return true
    case 'UMOV_w': case 'UMOV_x':
      fpAllowed()
      fn.get(em.state).mem(LOAD_BY_LOG2[d.esz]!, vreg(d.rn) + (d.idx << d.esz))
      em.set(d.rd === 31 ? REG_DISCARD : d.rd)
      return true
    case 'SCVTF_v': case 'UCVTF_v':
      if (d.esz !== 2) return false
      fpAllowed()
      convert(em, d.name === 'SCVTF_v' ? 'signed' : 'unsigned', d.q, d.rd, d.rn, handler)
      return true
    default:
      return false
  }
}

/** Pushes V<n> (all 16 bytes: lanes past a 64-bit vector's end are dropped by storeV). */
function loadV(em: Emitter, n: number): void {
  em.fn.get(em.state)
  simdMem(em.fn, S.load, vreg(n))
}

/** With the state base and a v128 on the stack: V<n> = it (its low doubleword, the high one zeroed, when q = 0). */
function storeV(em: Emitter, n: number, q: number): void {
  const fn = em.fn
  if (q) {
    simdMem(fn, S.store, vreg(n))
    return
  }
  simd(fn, S.i64x2ExtractLane)
  fn.op(0).mem(Op.i64Store, vreg(n))
  fn.get(em.state).i64(0).mem(Op.i64Store, vreg(n) + 8)
}

/**
 * The byte indices (0-15 Vn, 16-31 Vm) of an i8x16.shuffle doing UZP/ZIP/TRN 1 or 2 on
 * elements of 2^esz bytes in 16-byte (q = 1) or 8-byte vectors; a 64-bit vector's result is
 * the low 8 bytes.
 */
function permutation(name: string, esz: number, q: number): number[] {
  const size = 1 << esz
  const count = (q ? 16 : 8) / size
  const part = name[3] === '2' ? 1 : 0
  /** Byte `b` of element `e` of the operand (0: Vn, 1: Vm). */
  const byteOf = (operand: number, e: number, b: number): number => 16 * operand + e * size + b
  const bytes: number[] = []
  for (let e = 0; e < count; e++) {
    let operand: number
    let element: number
    if (name.startsWith('UZP')) {
      // The even (UZP1) or odd elements of Vn:Vm concatenated.
      const j = 2 * e + part
      operand = j < count ? 0 : 1
      element = j % count
    } else if (name.startsWith('ZIP')) {
      // Interleaves the low (ZIP1) or high halves.
      const base = part * (count / 2)
      operand = e % 2
      element = base + (e >> 1)
    } else {
      // TRN: Vn's even (TRN1) or odd element, then Vm's, pair by pair.
      operand = e % 2
      element = (e & ~1) + part
    }
    for (let b = 0; b < size; b++) bytes.push(byteOf(operand, element, b))
  }
  while (bytes.length < 16) bytes.push(0)
  return bytes
}

/**
 * SCVTF/UCVTF (vector, 32-bit lanes, no fraction bits) when FPCR.RMode is RN: f32x4's
 * conversion, which rounds to nearest even, is FixedToFP's result there (an integer converts
 * to a normal single or zero, so FZ and DN do not apply). IXC (tested while it is clear) when a
 * lane does not convert back to its integer: the saturating truncation of the single is the
 * integer exactly when the conversion was exact, except for the largest integer, whose single
 * rounds up to 2^31 (2^32) and saturates back to it; it is never exact.
 */
function convert(em: Emitter, kind: 'signed' | 'unsigned', q: number, rd: number, rn: number, handler: () => void): void {
  const fn = em.fn
  const [x, r] = [fn.local(V128), fn.local(V128)]
  const rmode = fn.local(I32)
  fn.get(em.state).mem(Op.i32Load, ST_SYSREGS + 8 * SLOT.FPCR).i32(FPCR_RMODE).op(Op.i32And).set(rmode)
  fn.get(rmode).op(Op.i32Eqz)
  fn.if()
  fn.get(em.state)
  // A 64-bit vector's high lanes as zeros (exact).
  fn.get(em.state)
  simdMem(fn, q ? S.load : S.load64Zero, vreg(rn))
  fn.tee(x)
  simd(fn, F32X4_CONVERT[kind])
  fn.tee(r)
  storeV(em, rd, q)
  stickyInexact(em, handler, (exact) => {
    fn.get(r)
    simd(fn, I32X4_TRUNC_SAT[kind])
    fn.get(x)
    simd(fn, I32X4_EQ)
    fn.get(x)
    fn.i32(kind === 'signed' ? 0x7fff_ffff : -1)
    simd(fn, S.i32x4Splat, I32X4_NE, S.and)
    fn.set(exact)
  })
}
