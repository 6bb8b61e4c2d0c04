// Decoded instruction -> semantics: one handler per @tagvm/a64 row name for every integer
// AdvSIMD, permute and crypto instruction (SIMD_EXECUTE), and the data movement of every
// SIMD&FP load and store (SIMD_MEMORY). Handlers read the decoder's ready-to-use fields.

import type { InstructionName, InstructionOf } from '@tagvm/a64'
import { type Lane2, type Lane3, type Lane64, type Lane64x3, broadcastToScratch, lanes1, lanes2, lanes3 } from './lanes.js'
import * as op from './int-ops.js'
import { ACC_ADD, ACC_NONE, ACC_SUB, LONG_ABD, LONG_ADD, LONG_DMUL, LONG_MUL, LONG_PMUL, LONG_SUB, SQXTN, SQXTUN, UQXTN, XTN, extractNarrow, long3, longShift, narrowHigh3, pairwiseLong, wide3 } from './widen.js'
import { SHRN, SQSHRN, SQSHRUN, UQSHRN, type ShiftImmOp, shiftImmOp, shiftRightNarrow } from './shift-imm.js'
import * as perm from './permute.js'
import { ADDV, SADDLV, SMAXV, SMINV, UADDLV, UMAXV, UMINV, acrossLanes, addpScalar, dot, dotElement, pairwise } from './reduce.js'
import * as crypto from './crypto.js'
import { loadReplicate, multipleBytes, transferLane, transferMultiple, transferRegister } from './ldst.js'
import { type VRegs, lanesOf } from './vregs.js'

/** FPSR.QC, the cumulative saturation bit. */
export const FPSR_QC = 1 << 27

/** What the handlers need from the CPU. */
export interface SimdState {
  readonly v: VRegs
  /**
   * The CPU's FP status (FPCR/FPSR, the same object the FP handlers get): saturating
   * instructions OR QC (bit 27) into `fpsr` and touch nothing else.
   */
  readonly fp: { fpsr: number }
  /**
   * General registers as (low, high) uint32 pairs: register n at [2n], [2n + 1], with
   * register 31 reading as zero (the CPU's state layout). Handlers never write register 31.
   */
  readonly x: Uint32Array
}

type Handler<K extends InstructionName> = (i: InstructionOf<K>, s: SimdState) => void

interface Vec3 {
  readonly q: number
  readonly esz: number
  readonly rd: number
  readonly rn: number
  readonly rm: number
}
interface Vec2 {
  readonly q: number
  readonly esz: number
  readonly rd: number
  readonly rn: number
}
interface Scalar3 {
  readonly esz: number
  readonly rd: number
  readonly rn: number
  readonly rm: number
}
interface Scalar2 {
  readonly esz: number
  readonly rd: number
  readonly rn: number
}
interface ByElement extends Vec3 {
  readonly idx: number
}
interface ScalarByElement extends Scalar3 {
  readonly idx: number
}
interface ShiftVec extends Vec2 {
  readonly shift: number
}
interface ShiftScalar extends Scalar2 {
  readonly shift: number
}
interface ModImm {
  readonly q: number
  readonly rd: number
  readonly immLo: number
  readonly immHi: number
}

function qc(s: SimdState, sat: number): void {
  if (sat) s.fp.fpsr |= FPSR_QC
}

// ---------------------------------------------------------------- handler builders

const vec = (f: Lane2, f64?: Lane64) => (i: Vec3, s: SimdState) => qc(s, lanes2(s.v, f, f64, i.esz, lanesOf(i.esz, i.q), i.rd, i.rn, i.rm))
const vecAcc = (f: Lane3, f64?: Lane64x3) => (i: Vec3, s: SimdState) =>
  qc(s, lanes3(s.v, f, f64, i.esz, lanesOf(i.esz, i.q), i.rd, i.rn, i.rm))
const scalar = (f: Lane2, f64?: Lane64) => (i: Scalar3, s: SimdState) => qc(s, lanes2(s.v, f, f64, i.esz, 1, i.rd, i.rn, i.rm))
const scalarAcc = (f: Lane3) => (i: Scalar3, s: SimdState) => qc(s, lanes3(s.v, f, undefined, i.esz, 1, i.rd, i.rn, i.rm))
const unary = (f: Lane2, f64?: Lane64) => (i: Vec2, s: SimdState) => qc(s, lanes1(s.v, f, f64, i.esz, lanesOf(i.esz, i.q), i.rd, i.rn))
const unaryScalar = (f: Lane2, f64?: Lane64) => (i: Scalar2, s: SimdState) => qc(s, lanes1(s.v, f, f64, i.esz, 1, i.rd, i.rn))
/** SUQADD/USQADD: Vd = f(Vd, Vn). */
const intoD = (f: Lane2, f64: Lane64) => (i: Vec2, s: SimdState) => qc(s, lanes2(s.v, f, f64, i.esz, lanesOf(i.esz, i.q), i.rd, i.rd, i.rn))
const intoDScalar = (f: Lane2, f64: Lane64) => (i: Scalar2, s: SimdState) => qc(s, lanes2(s.v, f, f64, i.esz, 1, i.rd, i.rd, i.rn))
const pair = (f: Lane2, f64?: Lane64) => (i: Vec3, s: SimdState) => pairwise(s.v, f, f64, i.esz, i.q, i.rd, i.rn, i.rm)
const byElement = (f: Lane2) => (i: ByElement, s: SimdState) =>
  qc(s, lanes2(s.v, f, undefined, i.esz, lanesOf(i.esz, i.q), i.rd, i.rn, broadcastToScratch(s.v, i.esz, i.rm, i.idx)))
const byElementAcc = (f: Lane3) => (i: ByElement, s: SimdState) =>
  qc(s, lanes3(s.v, f, undefined, i.esz, lanesOf(i.esz, i.q), i.rd, i.rn, broadcastToScratch(s.v, i.esz, i.rm, i.idx)))
const scalarByElement = (f: Lane2) => (i: ScalarByElement, s: SimdState) =>
  qc(s, lanes2(s.v, f, undefined, i.esz, 1, i.rd, i.rn, broadcastToScratch(s.v, i.esz, i.rm, i.idx)))
const scalarByElementAcc = (f: Lane3) => (i: ScalarByElement, s: SimdState) =>
  qc(s, lanes3(s.v, f, undefined, i.esz, 1, i.rd, i.rn, broadcastToScratch(s.v, i.esz, i.rm, i.idx)))
const long = (kind: number, signed: boolean, acc: number, sat = false) => (i: Vec3, s: SimdState) =>
  qc(s, long3(s.v, kind, signed, acc, sat, i.esz, i.q, 8 >> i.esz, i.rd, i.rn, i.rm))
const longElement = (kind: number, signed: boolean, acc: number, sat = false) => (i: ByElement, s: SimdState) =>
  qc(s, long3(s.v, kind, signed, acc, sat, i.esz, i.q, 8 >> i.esz, i.rd, i.rn, broadcastToScratch(s.v, i.esz, i.rm, i.idx)))
const longScalar = (acc: number) => (i: Scalar3, s: SimdState) => qc(s, long3(s.v, LONG_DMUL, true, acc, true, i.esz, 0, 1, i.rd, i.rn, i.rm))
const longScalarElement = (acc: number) => (i: ScalarByElement, s: SimdState) =>
  qc(s, long3(s.v, LONG_DMUL, true, acc, true, i.esz, 0, 1, i.rd, i.rn, broadcastToScratch(s.v, i.esz, i.rm, i.idx)))
const shiftVec = (name: ShiftImmOp) => {
  const f = shiftImmOp(name)
  return (i: ShiftVec, s: SimdState) => qc(s, f(s.v, i.esz, lanesOf(i.esz, i.q), i.rd, i.rn, i.shift))
}
const shiftScalar = (name: ShiftImmOp) => {
  const f = shiftImmOp(name)
  return (i: ShiftScalar, s: SimdState) => qc(s, f(s.v, i.esz, 1, i.rd, i.rn, i.shift))
}
const narrowShift = (kind: number, round: boolean) => (i: ShiftVec, s: SimdState) =>
  qc(s, shiftRightNarrow(s.v, kind, round, i.esz, i.q, i.rd, i.rn, i.shift, false))
const narrowShiftScalar = (kind: number, round: boolean) => (i: ShiftScalar, s: SimdState) =>
  qc(s, shiftRightNarrow(s.v, kind, round, i.esz, 0, i.rd, i.rn, i.shift, true))
const across = (kind: number) => (i: Vec2, s: SimdState) => acrossLanes(s.v, kind, i.esz, i.q, i.rd, i.rn)
const logic = (kind: number) => (i: Vec3, s: SimdState) => perm.logical(s.v, kind, i.q, i.rd, i.rn, i.rm)
const modImm = (kind: number) => (i: ModImm, s: SimdState) => perm.modifiedImmediate(s.v, kind, i.q, i.rd, i.immLo, i.immHi)
const xtn = (kind: number) => (i: Vec2, s: SimdState) => qc(s, extractNarrow(s.v, kind, i.esz, i.q, i.rd, i.rn, false))
const xtnScalar = (kind: number) => (i: Scalar2, s: SimdState) => qc(s, extractNarrow(s.v, kind, i.esz, 0, i.rd, i.rn, true))

// ---------------------------------------------------------------- the data-processing table

export const SIMD_EXECUTE = {
  // Three same.
  SHADD_v: vec(op.shadd),
  UHADD_v: vec(op.uhadd),
  SRHADD_v: vec(op.srhadd),
  URHADD_v: vec(op.urhadd),
  SHSUB_v: vec(op.shsub),
  UHSUB_v: vec(op.uhsub),
  SQADD_v: vec(op.sqadd, op.sqadd64),
  UQADD_v: vec(op.uqadd, op.uqadd64),
  SQSUB_v: vec(op.sqsub, op.sqsub64),
  UQSUB_v: vec(op.uqsub, op.uqsub64),
  CMGT_v: vec(op.cmgt, op.cmgt64),
  CMHI_v: vec(op.cmhi, op.cmhi64),
  CMGE_v: vec(op.cmge, op.cmge64),
  CMHS_v: vec(op.cmhs, op.cmhs64),
  CMTST_v: vec(op.cmtst, op.cmtst64),
  CMEQ_v: vec(op.cmeq, op.cmeq64),
  SSHL_v: vec(op.sshl, op.sshl64),
  USHL_v: vec(op.ushl, op.ushl64),
  SQSHL_v: vec(op.sqshl, op.sqshl64),
  UQSHL_v: vec(op.uqshl, op.uqshl64),
  SRSHL_v: vec(op.srshl, op.srshl64),
  URSHL_v: vec(op.urshl, op.urshl64),
  SQRSHL_v: vec(op.sqrshl, op.sqrshl64),
  UQRSHL_v: vec(op.uqrshl, op.uqrshl64),
  SMAX_v: vec(op.smax),
  UMAX_v: vec(op.umax),
  SMIN_v: vec(op.smin),
  UMIN_v: vec(op.umin),
  SABD_v: vec(op.sabd),
  UABD_v: vec(op.uabd),
  SABA_v: vecAcc(op.saba),
  UABA_v: vecAcc(op.uaba),
  ADD_v: vec(op.add, op.add64l),
  SUB_v: vec(op.sub, op.sub64l),
  MLA_v: vecAcc(op.mla),
  MLS_v: vecAcc(op.mls),
  MUL_v: vec(op.mul),
  PMUL_v: vec(op.pmul),
  SQDMULH_v: vec(op.sqdmulh),
  SQRDMULH_v: vec(op.sqrdmulh),
  SQRDMLAH_v: vecAcc(op.sqrdmlah),
  SQRDMLSH_v: vecAcc(op.sqrdmlsh),
  SMAXP_v: pair(op.smax),
  UMAXP_v: pair(op.umax),
  SMINP_v: pair(op.smin),
  UMINP_v: pair(op.umin),
  ADDP_v: pair(op.add, op.add64l),
  AND_v: logic(perm.AND),
  BIC_v: logic(perm.BIC),
  ORR_v: logic(perm.ORR),
  ORN_v: logic(perm.ORN),
  EOR_v: logic(perm.EOR),
  BSL_v: logic(perm.BSL),
  BIT_v: logic(perm.BIT),
  BIF_v: logic(perm.BIF),
  SDOT_v: (i, s) => dot(s.v, true, i.q, i.rd, i.rn, i.rm, -1),
  UDOT_v: (i, s) => dot(s.v, false, i.q, i.rd, i.rn, i.rm, -1),

  // Three different.
  SADDL_v: long(LONG_ADD, true, ACC_NONE),
  UADDL_v: long(LONG_ADD, false, ACC_NONE),
  SSUBL_v: long(LONG_SUB, true, ACC_NONE),
  USUBL_v: long(LONG_SUB, false, ACC_NONE),
  SABAL_v: long(LONG_ABD, true, ACC_ADD),
  UABAL_v: long(LONG_ABD, false, ACC_ADD),
  SABDL_v: long(LONG_ABD, true, ACC_NONE),
  UABDL_v: long(LONG_ABD, false, ACC_NONE),
  SMLAL_v: long(LONG_MUL, true, ACC_ADD),
  UMLAL_v: long(LONG_MUL, false, ACC_ADD),
  SMLSL_v: long(LONG_MUL, true, ACC_SUB),
  UMLSL_v: long(LONG_MUL, false, ACC_SUB),
  SMULL_v: long(LONG_MUL, true, ACC_NONE),
  UMULL_v: long(LONG_MUL, false, ACC_NONE),
  SQDMLAL_v: long(LONG_DMUL, true, ACC_ADD, true),
  SQDMLSL_v: long(LONG_DMUL, true, ACC_SUB, true),
  SQDMULL_v: long(LONG_DMUL, true, ACC_NONE),
  PMULL_v: (i, s) => {
    if (i.esz === 3) crypto.pmull64(s.v, i.q, i.rd, i.rn, i.rm)
    else long3(s.v, LONG_PMUL, false, ACC_NONE, false, 0, i.q, 8, i.rd, i.rn, i.rm)
  },
  SADDW_v: (i, s) => wide3(s.v, false, true, i.esz, i.q, i.rd, i.rn, i.rm),
  UADDW_v: (i, s) => wide3(s.v, false, false, i.esz, i.q, i.rd, i.rn, i.rm),
  SSUBW_v: (i, s) => wide3(s.v, true, true, i.esz, i.q, i.rd, i.rn, i.rm),
  USUBW_v: (i, s) => wide3(s.v, true, false, i.esz, i.q, i.rd, i.rn, i.rm),
  ADDHN_v: (i, s) => narrowHigh3(s.v, false, false, i.esz, i.q, i.rd, i.rn, i.rm),
  RADDHN_v: (i, s) => narrowHigh3(s.v, false, true, i.esz, i.q, i.rd, i.rn, i.rm),
  SUBHN_v: (i, s) => narrowHigh3(s.v, true, false, i.esz, i.q, i.rd, i.rn, i.rm),
  RSUBHN_v: (i, s) => narrowHigh3(s.v, true, true, i.esz, i.q, i.rd, i.rn, i.rm),

  // Two-register miscellaneous.
  REV64_v: (i, s) => perm.rev(s.v, 8, i.esz, i.q, i.rd, i.rn),
  REV32_v: (i, s) => perm.rev(s.v, 4, i.esz, i.q, i.rd, i.rn),
  REV16_v: (i, s) => perm.rev(s.v, 2, i.esz, i.q, i.rd, i.rn),
  SADDLP_v: (i, s) => pairwiseLong(s.v, true, false, i.esz, i.q, i.rd, i.rn),
  UADDLP_v: (i, s) => pairwiseLong(s.v, false, false, i.esz, i.q, i.rd, i.rn),
  SADALP_v: (i, s) => pairwiseLong(s.v, true, true, i.esz, i.q, i.rd, i.rn),
  UADALP_v: (i, s) => pairwiseLong(s.v, false, true, i.esz, i.q, i.rd, i.rn),
  SUQADD_v: intoD(op.suqadd, op.suqadd64),
  USQADD_v: intoD(op.usqadd, op.usqadd64),
  CLS_v: unary(op.cls),
  CLZ_v: unary(op.clz),
  CNT_v: unary(op.cnt),
  RBIT_v: unary(op.rbit),
  NOT_v: unary(op.not),
  SQABS_v: unary(op.sqabs, op.sqabs64),
  SQNEG_v: unary(op.sqneg, op.sqneg64),
  ABS_v: unary(op.abs, op.abs64),
  NEG_v: unary(op.neg, op.neg64l),
  CMGT_vz: unary(op.cmgtz, op.cmgtz64),
  CMGE_vz: unary(op.cmgez, op.cmgez64),
  CMEQ_vz: unary(op.cmeqz, op.cmeqz64),
  CMLE_vz: unary(op.cmlez, op.cmlez64),
  CMLT_vz: unary(op.cmltz, op.cmltz64),
  XTN_v: xtn(XTN),
  SQXTN_v: xtn(SQXTN),
  UQXTN_v: xtn(UQXTN),
  SQXTUN_v: xtn(SQXTUN),
  SHLL_v: (i, s) => longShift(s.v, false, 8 << i.esz, i.esz, i.q, i.rd, i.rn),

  // Across lanes.
  ADDV: across(ADDV),
  SADDLV: across(SADDLV),
  UADDLV: across(UADDLV),
  SMAXV: across(SMAXV),
  UMAXV: across(UMAXV),
  SMINV: across(SMINV),
  UMINV: across(UMINV),

  // Copy.
  DUP_ve: (i, s) => perm.dupElement(s.v, i.esz, lanesOf(i.esz, i.q), i.rd, i.rn, i.idx),
  DUP_se: (i, s) => perm.dupElement(s.v, i.esz, 1, i.rd, i.rn, i.idx),
  DUP_vg: (i, s) => perm.dupGeneral(s.v, i.esz, i.q, i.rd, s.x[2 * i.rn]!, s.x[2 * i.rn + 1]!),
  INS_g: (i, s) => perm.insGeneral(s.v, i.esz, i.rd, i.idx, s.x[2 * i.rn]!, s.x[2 * i.rn + 1]!),
  INS_e: (i, s) => perm.insElement(s.v, i.esz, i.rd, i.idx, i.rn, i.idx2),
  UMOV_w: (i, s) => {
    if (i.rd !== 31) perm.moveToGeneral(s.v, i.esz, i.rn, i.idx, false, false, s.x, 2 * i.rd)
  },
  UMOV_x: (i, s) => {
    if (i.rd !== 31) perm.moveToGeneral(s.v, i.esz, i.rn, i.idx, false, true, s.x, 2 * i.rd)
  },
  SMOV_w: (i, s) => {
    if (i.rd !== 31) perm.moveToGeneral(s.v, i.esz, i.rn, i.idx, true, false, s.x, 2 * i.rd)
  },
  SMOV_x: (i, s) => {
    if (i.rd !== 31) perm.moveToGeneral(s.v, i.esz, i.rn, i.idx, true, true, s.x, 2 * i.rd)
  },

  // Permute, extract, table lookup.
  UZP1_v: (i, s) => perm.uzp(s.v, 0, i.esz, i.q, i.rd, i.rn, i.rm),
  UZP2_v: (i, s) => perm.uzp(s.v, 1, i.esz, i.q, i.rd, i.rn, i.rm),
  TRN1_v: (i, s) => perm.trn(s.v, 0, i.esz, i.q, i.rd, i.rn, i.rm),
  TRN2_v: (i, s) => perm.trn(s.v, 1, i.esz, i.q, i.rd, i.rn, i.rm),
  ZIP1_v: (i, s) => perm.zip(s.v, 0, i.esz, i.q, i.rd, i.rn, i.rm),
  ZIP2_v: (i, s) => perm.zip(s.v, 1, i.esz, i.q, i.rd, i.rn, i.rm),
  EXT_v: (i, s) => perm.ext(s.v, i.q, i.rd, i.rn, i.rm, i.imm),
  TBL_v: (i, s) => perm.tbl(s.v, false, i.q, i.len + 1, i.rd, i.rn, i.rm),
  TBX_v: (i, s) => perm.tbl(s.v, true, i.q, i.len + 1, i.rd, i.rn, i.rm),

  // Modified immediate.
  MOVI_v: modImm(perm.IMM_MOVI),
  MVNI_v: modImm(perm.IMM_MVNI),
  ORR_vi: modImm(perm.IMM_ORR),
  BIC_vi: modImm(perm.IMM_BIC),
  MOVI_d: (i, s) => perm.modifiedImmediate(s.v, perm.IMM_MOVI, 0, i.rd, i.immLo, i.immHi),
  MOVI_2d: (i, s) => perm.modifiedImmediate(s.v, perm.IMM_MOVI, 1, i.rd, i.immLo, i.immHi),

  // Shift by immediate.
  SSHR_vi: shiftVec('SSHR'),
  USHR_vi: shiftVec('USHR'),
  SRSHR_vi: shiftVec('SRSHR'),
  URSHR_vi: shiftVec('URSHR'),
  SSRA_vi: shiftVec('SSRA'),
  USRA_vi: shiftVec('USRA'),
  SRSRA_vi: shiftVec('SRSRA'),
  URSRA_vi: shiftVec('URSRA'),
  SHL_vi: shiftVec('SHL'),
  SQSHL_vi: shiftVec('SQSHL'),
  UQSHL_vi: shiftVec('UQSHL'),
  SQSHLU_vi: shiftVec('SQSHLU'),
  SRI_vi: shiftVec('SRI'),
  SLI_vi: shiftVec('SLI'),
  SHRN_vi: narrowShift(SHRN, false),
  RSHRN_vi: narrowShift(SHRN, true),
  SQSHRN_vi: narrowShift(SQSHRN, false),
  SQRSHRN_vi: narrowShift(SQSHRN, true),
  UQSHRN_vi: narrowShift(UQSHRN, false),
  UQRSHRN_vi: narrowShift(UQSHRN, true),
  SQSHRUN_vi: narrowShift(SQSHRUN, false),
  SQRSHRUN_vi: narrowShift(SQSHRUN, true),
  SSHLL_vi: (i, s) => longShift(s.v, true, i.shift, i.esz, i.q, i.rd, i.rn),
  USHLL_vi: (i, s) => longShift(s.v, false, i.shift, i.esz, i.q, i.rd, i.rn),
  SSHR_si: shiftScalar('SSHR'),
  USHR_si: shiftScalar('USHR'),
  SRSHR_si: shiftScalar('SRSHR'),
  URSHR_si: shiftScalar('URSHR'),
  SSRA_si: shiftScalar('SSRA'),
  USRA_si: shiftScalar('USRA'),
  SRSRA_si: shiftScalar('SRSRA'),
  URSRA_si: shiftScalar('URSRA'),
  SHL_si: shiftScalar('SHL'),
  SQSHL_si: shiftScalar('SQSHL'),
  UQSHL_si: shiftScalar('UQSHL'),
  SQSHLU_si: shiftScalar('SQSHLU'),
  SRI_si: shiftScalar('SRI'),
  SLI_si: shiftScalar('SLI'),
  SQSHRN_si: narrowShiftScalar(SQSHRN, false),
  SQRSHRN_si: narrowShiftScalar(SQSHRN, true),
  UQSHRN_si: narrowShiftScalar(UQSHRN, false),
  UQRSHRN_si: narrowShiftScalar(UQSHRN, true),
  SQSHRUN_si: narrowShiftScalar(SQSHRUN, false),
  SQRSHRUN_si: narrowShiftScalar(SQSHRUN, true),

  // Vector by element.
  MUL_ve: byElement(op.mul),
  MLA_ve: byElementAcc(op.mla),
  MLS_ve: byElementAcc(op.mls),
  SQDMULH_ve: byElement(op.sqdmulh),
  SQRDMULH_ve: byElement(op.sqrdmulh),
  SQRDMLAH_ve: byElementAcc(op.sqrdmlah),
  SQRDMLSH_ve: byElementAcc(op.sqrdmlsh),
  SMLAL_ve: longElement(LONG_MUL, true, ACC_ADD),
  UMLAL_ve: longElement(LONG_MUL, false, ACC_ADD),
  SMLSL_ve: longElement(LONG_MUL, true, ACC_SUB),
  UMLSL_ve: longElement(LONG_MUL, false, ACC_SUB),
  SMULL_ve: longElement(LONG_MUL, true, ACC_NONE),
  UMULL_ve: longElement(LONG_MUL, false, ACC_NONE),
  SQDMLAL_ve: longElement(LONG_DMUL, true, ACC_ADD, true),
  SQDMLSL_ve: longElement(LONG_DMUL, true, ACC_SUB, true),
  SQDMULL_ve: longElement(LONG_DMUL, true, ACC_NONE),
  SDOT_ve: (i, s) => dotElement(s.v, true, i.q, i.rd, i.rn, i.rm, i.idx),
  UDOT_ve: (i, s) => dotElement(s.v, false, i.q, i.rd, i.rn, i.rm, i.idx),

  // Scalar by element.
  SQDMULH_se: scalarByElement(op.sqdmulh),
  SQRDMULH_se: scalarByElement(op.sqrdmulh),
  SQRDMLAH_se: scalarByElementAcc(op.sqrdmlah),
  SQRDMLSH_se: scalarByElementAcc(op.sqrdmlsh),
  SQDMLAL_se: longScalarElement(ACC_ADD),
  SQDMLSL_se: longScalarElement(ACC_SUB),
  SQDMULL_se: longScalarElement(ACC_NONE),

  // Scalar three same / three different.
  SQADD_s: scalar(op.sqadd, op.sqadd64),
  UQADD_s: scalar(op.uqadd, op.uqadd64),
  SQSUB_s: scalar(op.sqsub, op.sqsub64),
  UQSUB_s: scalar(op.uqsub, op.uqsub64),
  CMGT_s: scalar(op.cmgt, op.cmgt64),
  CMHI_s: scalar(op.cmhi, op.cmhi64),
  CMGE_s: scalar(op.cmge, op.cmge64),
  CMHS_s: scalar(op.cmhs, op.cmhs64),
  CMTST_s: scalar(op.cmtst, op.cmtst64),
  CMEQ_s: scalar(op.cmeq, op.cmeq64),
  SSHL_s: scalar(op.sshl, op.sshl64),
  USHL_s: scalar(op.ushl, op.ushl64),
  SQSHL_s: scalar(op.sqshl, op.sqshl64),
  UQSHL_s: scalar(op.uqshl, op.uqshl64),
  SRSHL_s: scalar(op.srshl, op.srshl64),
  URSHL_s: scalar(op.urshl, op.urshl64),
  SQRSHL_s: scalar(op.sqrshl, op.sqrshl64),
  UQRSHL_s: scalar(op.uqrshl, op.uqrshl64),
  ADD_s: scalar(op.add, op.add64l),
  SUB_s: scalar(op.sub, op.sub64l),
  SQDMULH_s: scalar(op.sqdmulh),
  SQRDMULH_s: scalar(op.sqrdmulh),
  SQRDMLAH_s: scalarAcc(op.sqrdmlah),
  SQRDMLSH_s: scalarAcc(op.sqrdmlsh),
  SQDMLAL_s: longScalar(ACC_ADD),
  SQDMLSL_s: longScalar(ACC_SUB),
  SQDMULL_s: longScalar(ACC_NONE),

  // Scalar two-register miscellaneous and pairwise.
  SUQADD_s: intoDScalar(op.suqadd, op.suqadd64),
  USQADD_s: intoDScalar(op.usqadd, op.usqadd64),
  SQABS_s: unaryScalar(op.sqabs, op.sqabs64),
  SQNEG_s: unaryScalar(op.sqneg, op.sqneg64),
  ABS_s: unaryScalar(op.abs, op.abs64),
  NEG_s: unaryScalar(op.neg, op.neg64l),
  CMGT_sz: unaryScalar(op.cmgtz, op.cmgtz64),
  CMGE_sz: unaryScalar(op.cmgez, op.cmgez64),
  CMEQ_sz: unaryScalar(op.cmeqz, op.cmeqz64),
  CMLE_sz: unaryScalar(op.cmlez, op.cmlez64),
  CMLT_sz: unaryScalar(op.cmltz, op.cmltz64),
  SQXTN_s: xtnScalar(SQXTN),
  UQXTN_s: xtnScalar(UQXTN),
  SQXTUN_s: xtnScalar(SQXTUN),
  ADDP_s: (i, s) => addpScalar(s.v, i.rd, i.rn),

  // Cryptography.
  AESE: (i, s) => crypto.aesRound(s.v, false, i.rd, i.rn),
  AESD: (i, s) => crypto.aesRound(s.v, true, i.rd, i.rn),
  AESMC: (i, s) => crypto.aesMix(s.v, false, i.rd, i.rn),
  AESIMC: (i, s) => crypto.aesMix(s.v, true, i.rd, i.rn),
  SHA1C: (i, s) => crypto.sha1Hash(s.v, crypto.SHA1_C, i.rd, i.rn, i.rm),
  SHA1P: (i, s) => crypto.sha1Hash(s.v, crypto.SHA1_P, i.rd, i.rn, i.rm),
  SHA1M: (i, s) => crypto.sha1Hash(s.v, crypto.SHA1_M, i.rd, i.rn, i.rm),
  SHA1H: (i, s) => crypto.sha1h(s.v, i.rd, i.rn),
  SHA1SU0: (i, s) => crypto.sha1su0(s.v, i.rd, i.rn, i.rm),
  SHA1SU1: (i, s) => crypto.sha1su1(s.v, i.rd, i.rn),
  SHA256H: (i, s) => crypto.sha256Hash(s.v, true, i.rd, i.rn, i.rm),
  SHA256H2: (i, s) => crypto.sha256Hash(s.v, false, i.rd, i.rn, i.rm),
  SHA256SU0: (i, s) => crypto.sha256su0(s.v, i.rd, i.rn),
  SHA256SU1: (i, s) => crypto.sha256su1(s.v, i.rd, i.rn, i.rm),
  SHA512H: (i, s) => crypto.sha512h(s.v, i.rd, i.rn, i.rm),
  SHA512H2: (i, s) => crypto.sha512h2(s.v, i.rd, i.rn, i.rm),
  SHA512SU0: (i, s) => crypto.sha512su0(s.v, i.rd, i.rn),
  SHA512SU1: (i, s) => crypto.sha512su1(s.v, i.rd, i.rn, i.rm),
  EOR3: (i, s) => crypto.eor3(s.v, false, i.rd, i.rn, i.rm, i.ra),
  BCAX: (i, s) => crypto.eor3(s.v, true, i.rd, i.rn, i.rm, i.ra),
  RAX1: (i, s) => crypto.rax1(s.v, i.rd, i.rn, i.rm),
  XAR: (i, s) => crypto.xar(s.v, i.rd, i.rn, i.rm, i.imm),
  SM3SS1: (i, s) => crypto.sm3ss1(s.v, i.rd, i.rn, i.rm, i.ra),
  SM3TT1A: (i, s) => crypto.sm3tt(s.v, crypto.SM3_TT1A, i.rd, i.rn, i.rm, i.idx),
  SM3TT1B: (i, s) => crypto.sm3tt(s.v, crypto.SM3_TT1B, i.rd, i.rn, i.rm, i.idx),
  SM3TT2A: (i, s) => crypto.sm3tt(s.v, crypto.SM3_TT2A, i.rd, i.rn, i.rm, i.idx),
  SM3TT2B: (i, s) => crypto.sm3tt(s.v, crypto.SM3_TT2B, i.rd, i.rn, i.rm, i.idx),
  SM3PARTW1: (i, s) => crypto.sm3partw1(s.v, i.rd, i.rn, i.rm),
  SM3PARTW2: (i, s) => crypto.sm3partw2(s.v, i.rd, i.rn, i.rm),
  SM4E: (i, s) => crypto.sm4(s.v, false, i.rd, i.rn, 0),
  SM4EKEY: (i, s) => crypto.sm4(s.v, true, i.rd, i.rn, i.rm),
} satisfies { readonly [K in InstructionName]?: Handler<K> }

/** Names of the data-processing instructions SIMD_EXECUTE handles. */
export type SimdExecuteName = keyof typeof SIMD_EXECUTE

// ---------------------------------------------------------------- loads and stores

/**
 * A SIMD&FP load or store: how many bytes it moves (`bytes(i)`) and the data movement
 * between the transfer's memory image and the registers (`transfer(i, s, buf, off)`).
 */
export interface MemoryForm<K extends InstructionName> {
  readonly load: boolean
  /** Bytes of the single contiguous range the instruction accesses. */
  bytes(i: InstructionOf<K>): number
  transfer(i: InstructionOf<K>, s: SimdState, buf: Uint8Array, off: number): void
}

const register = <K extends InstructionName>(load: boolean) =>
  ({
    load,
    bytes: (i: { readonly esz: number }) => 1 << i.esz,
    transfer: (i: { readonly esz: number; readonly rt: number }, s: SimdState, buf: Uint8Array, off: number) => transferRegister(s.v, load, i.esz, i.rt, buf, off),
  }) as unknown as MemoryForm<K>
const registerPair = <K extends InstructionName>(load: boolean) =>
  ({
    load,
    bytes: (i: { readonly esz: number }) => 2 << i.esz,
    transfer: (i: { readonly esz: number; readonly rt: number; readonly rt2: number }, s: SimdState, buf: Uint8Array, off: number) => {
      transferRegister(s.v, load, i.esz, i.rt, buf, off)
      transferRegister(s.v, load, i.esz, i.rt2, buf, off + (1 << i.esz))
    },
  }) as unknown as MemoryForm<K>
/** LD1/ST1 multiple: nregs repetitions of one element; LD2-4/ST2-4: nregs elements, once. */
const multiple = <K extends InstructionName>(load: boolean, interleaved: boolean) =>
  ({
    load,
    bytes: (i: { readonly nregs: number; readonly q: number }) => multipleBytes(i.nregs, i.q),
    transfer: (i: { readonly nregs: number; readonly q: number; readonly esz: number; readonly rt: number }, s: SimdState, buf: Uint8Array, off: number) =>
      transferMultiple(s.v, load, interleaved ? i.nregs : 1, interleaved ? 1 : i.nregs, i.esz, i.q, i.rt, buf, off),
  }) as unknown as MemoryForm<K>
const lane = <K extends InstructionName>(load: boolean, selem: number) =>
  ({
    load,
    bytes: (i: { readonly esz: number }) => selem << i.esz,
    transfer: (i: { readonly esz: number; readonly idx: number; readonly rt: number }, s: SimdState, buf: Uint8Array, off: number) =>
      transferLane(s.v, load, selem, i.esz, i.idx, i.rt, buf, off),
  }) as unknown as MemoryForm<K>
const replicate = <K extends InstructionName>(selem: number) =>
  ({
    load: true,
    bytes: (i: { readonly esz: number }) => selem << i.esz,
    transfer: (i: { readonly esz: number; readonly q: number; readonly rt: number }, s: SimdState, buf: Uint8Array, off: number) =>
      loadReplicate(s.v, selem, i.esz, i.q, i.rt, buf, off),
  }) as unknown as MemoryForm<K>

export const SIMD_MEMORY: { readonly [K in SimdMemoryName]: MemoryForm<K> } = {
  LDR_fl: register(true),
  LDR_f: register(true),
  LDR_fpre: register(true),
  LDR_fpost: register(true),
  LDR_fr: register(true),
  LDUR_f: register(true),
  STR_f: register(false),
  STR_fpre: register(false),
  STR_fpost: register(false),
  STR_fr: register(false),
  STUR_f: register(false),
  LDP_f: registerPair(true),
  LDP_fpre: registerPair(true),
  LDP_fpost: registerPair(true),
  LDNP_f: registerPair(true),
  STP_f: registerPair(false),
  STP_fpre: registerPair(false),
  STP_fpost: registerPair(false),
  STNP_f: registerPair(false),
  LD1_m: multiple(true, false),
  LD1_mp: multiple(true, false),
  ST1_m: multiple(false, false),
  ST1_mp: multiple(false, false),
  LD2_m: multiple(true, true),
  LD2_mp: multiple(true, true),
  ST2_m: multiple(false, true),
  ST2_mp: multiple(false, true),
  LD3_m: multiple(true, true),
  LD3_mp: multiple(true, true),
  ST3_m: multiple(false, true),
  ST3_mp: multiple(false, true),
  LD4_m: multiple(true, true),
  LD4_mp: multiple(true, true),
  ST4_m: multiple(false, true),
  ST4_mp: multiple(false, true),
  LD1_l: lane(true, 1),
  LD1_lp: lane(true, 1),
  ST1_l: lane(false, 1),
  ST1_lp: lane(false, 1),
  LD2_l: lane(true, 2),
  LD2_lp: lane(true, 2),
  ST2_l: lane(false, 2),
  ST2_lp: lane(false, 2),
  LD3_l: lane(true, 3),
  LD3_lp: lane(true, 3),
  ST3_l: lane(false, 3),
  ST3_lp: lane(false, 3),
  LD4_l: lane(true, 4),
  LD4_lp: lane(true, 4),
  ST4_l: lane(false, 4),
  ST4_lp: lane(false, 4),
  LD1R: replicate(1),
  LD1R_p: replicate(1),
  LD2R: replicate(2),
  LD2R_p: replicate(2),
  LD3R: replicate(3),
  LD3R_p: replicate(3),
  LD4R: replicate(4),
  LD4R_p: replicate(4),
}

/** Names of the SIMD&FP loads and stores. */
export type SimdMemoryName =
  | 'LDR_fl' | 'LDR_f' | 'LDR_fpre' | 'LDR_fpost' | 'LDR_fr' | 'LDUR_f'
  | 'STR_f' | 'STR_fpre' | 'STR_fpost' | 'STR_fr' | 'STUR_f'
  | 'LDP_f' | 'LDP_fpre' | 'LDP_fpost' | 'LDNP_f' | 'STP_f' | 'STP_fpre' | 'STP_fpost' | 'STNP_f'
  | 'LD1_m' | 'LD1_mp' | 'ST1_m' | 'ST1_mp' | 'LD2_m' | 'LD2_mp' | 'ST2_m' | 'ST2_mp'
  | 'LD3_m' | 'LD3_mp' | 'ST3_m' | 'ST3_mp' | 'LD4_m' | 'LD4_mp' | 'ST4_m' | 'ST4_mp'
  | 'LD1_l' | 'LD1_lp' | 'ST1_l' | 'ST1_lp' | 'LD2_l' | 'LD2_lp' | 'ST2_l' | 'ST2_lp'
  | 'LD3_l' | 'LD3_lp' | 'ST3_l' | 'ST3_lp' | 'LD4_l' | 'LD4_lp' | 'ST4_l' | 'ST4_lp'
  | 'LD1R' | 'LD1R_p' | 'LD2R' | 'LD2R_p' | 'LD3R' | 'LD3R_p' | 'LD4R' | 'LD4R_p'
