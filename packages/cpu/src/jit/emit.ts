// A region of A64 code to one WebAssembly function. Guest registers are read and written in
// place, in the Cpu's `x` array in the wasm memory (as i64 locals they made V8's optimizing
// compile several times slower and its code no faster: every side exit and block edge
// merged all of them), so nothing is written back at an exit; NZCV is lazy (a setter leaves its operands, a reader in
// the same block compares them directly); loads and stores go through the fast TLB in the
// same memory with the tag compare inline. Anything the fast path cannot finish leaves
// *before* the instruction (EXIT_SLOW) with exact state, and the interpreter runs it.

import type { Instruction } from '@tagvm/a64'
import { REG_DISCARD, REG_SP, REG_ZR } from '../state.js'
import {
  CC_ADD32, CC_ADD64, CC_LIT, CC_LOGIC32, CC_LOGIC64, CC_SUB32, CC_SUB64, EXIT_BRANCH, EXIT_BUDGET, EXIT_SLOW, EXIT_STOP,
  FN_NZCV, ST_LEFT, ST_NZCV, ST_PAGE_VA, ST_PC, ST_STOP, ST_X,
} from './layout.js'
import { type Block, type Region } from './region.js'
import { FunctionBody, I32, I64, Op } from './wasm-encoder.js'
import { loopCacheEnter, loopCacheResetAll } from './emit-tags.js'
import { entryVerify, verifiedEntries } from './emit-groups.js'
import { MASK32, access, bitfield, cond, divide, extended, mulHigh, setterKind, shifted } from './emit-ops.js'
import { emitMore } from './emit-more.js'
import { emitSys } from './emit-sys.js'
import type { SysregLookup } from './sysreg-wasm.js'

// Function indices: the import, then the helpers, then the region functions.
export const T_FILL = 0
export const T_NZCV = 1
export const T_COND = 2
export const T_REGION = 3
export const TYPES = [
  { params: [I32, I32, I32], results: [I32] },
  { params: [I32, I64, I64, I32], results: [I32] },
  { params: [I32, I32], results: [I32] },
  { params: [I32], results: [I32] },
]

const rs = (n: number): number => (n === 31 ? REG_SP : n)
const wz = (n: number): number => (n === 31 ? REG_DISCARD : n)

/** What a flag setter in the same block left: how to test a condition on it without NZCV. */
export type SetterKind = { op: number } | null

export class Emitter {
  readonly fn = new FunctionBody(1)
  readonly ccOp: number
  readonly ccA: number
  readonly ccB: number
  readonly ccLit: number
  readonly left: number
  readonly bb: number
  readonly code: number
  readonly exitPc: number
  readonly a: number
  readonly v: number
  readonly w: number
  readonly t1: number
  readonly t2: number
  readonly t3: number
  readonly t4: number
  readonly spill: number
  readonly a2: number
  readonly c2: number
  readonly h2: number
  readonly e: number
  readonly h: number
  readonly tg: number
  readonly c: number
  readonly slowAt: number
  /** Blocks a branch or fall-through reaches from a block at the same or a later address. */
  private readonly loopHeads = new Set<number>()
  /** The block being emitted, and whether it branches to itself. */
  private current = 0
  private selfLoop = false
  /** The VA of the page this run entered (ST_PAGE_VA), loaded at entry. */
  readonly pageVa: number
  /**
   * The state page's address (the constant `base`), in a local: register accesses then carry
   * a one- or two-byte offset instead of a five-byte one (the state page lies above guest
   * RAM), a third less code to emit and compile.
   */
  readonly state: number

  constructor(
    readonly region: Region,
    readonly base: number,
    /** Which system instructions run in wasm (emit-sys.ts), from the CPU's rows. */
    readonly sysregs: SysregLookup,
  ) {
    const fn = this.fn
    this.ccA = fn.local(I64)
    this.ccB = fn.local(I64)
    this.exitPc = fn.local(I64)
    this.a = fn.local(I64)
    this.v = fn.local(I64)
    this.w = fn.local(I64)
    this.t1 = fn.local(I64)
    this.t2 = fn.local(I64)
    this.t3 = fn.local(I64)
    this.t4 = fn.local(I64)
    this.spill = fn.local(I64)
    this.a2 = fn.local(I64)
    this.c2 = fn.local(I32)
    this.h2 = fn.local(I32)
    this.ccOp = fn.local(I32)
    this.ccLit = fn.local(I32)
    this.left = fn.local(I32)
    this.bb = fn.local(I32)
    this.code = fn.local(I32)
    this.e = fn.local(I32)
    this.h = fn.local(I32)
    this.tg = fn.local(I32)
    this.c = fn.local(I32)
    this.slowAt = fn.local(I32)
    region.blocks.forEach((b, i) => {
      const t = b.term
      for (const to of t.kind === 'cond' ? [t.target, t.next] : t.kind === 'jump' ? [t.target] : t.kind === 'fall' ? [t.next] : []) {
        const j = region.blockAt.get(to)
        if (j !== undefined && j <= i) this.loopHeads.add(j)
      }
    })
    this.pageVa = fn.local(I64)
    this.state = fn.local(I32)
  }

  /** Pushes the VA at page offset `off` (which may lie outside the page) of the page entered. */
  va(off: number): void {
    this.fn.get(this.pageVa)
    if (off === 0) return
    // ADRP's offsets reach +-4 GiB: the constant as int32 halves.
    const hi = Math.floor(off / 2 ** 32)
    this.fn.i64((off - hi * 2 ** 32) | 0, hi | 0).op(Op.i64Add)
  }

  /** Pushes a register (XZR: 0). */
  get(slot: number): void {
    if (slot === REG_ZR) this.fn.i64(0)
    else this.fn.get(this.state).mem(Op.i64Load, ST_X + 8 * slot)
  }
  /** Pops a register's new value (the discard slot drops it). */
  set(slot: number): void {
    if (slot === REG_DISCARD) this.fn.op(Op.drop)
    else this.fn.set(this.spill).get(this.state).get(this.spill).mem(Op.i64Store, ST_X + 8 * slot)
  }
  /** Pops a 64-bit value, keeps its low 32 bits (zero-extended) for a 32-bit destination. */
  setW(slot: number, sf: number): void {
    if (!sf) MASK32(this.fn)
    this.set(slot)
  }

  // ---- exits ----
  /**
   * Leaves before instruction k of block b: the interpreter runs it. The shared stub at the
   * 'slow' label sets PC and gives back the block's uncounted instructions from `slowAt`
   * (page offset << 12 | count), so each exit point is a few bytes.
   */
  sideExit(b: Block, k: number): void {
    this.fn.i32((b.insns[k]!.off << 12) | (b.insns.length - k)).set(this.slowAt).br('slow')
  }
  exitIf(b: Block, k: number): void {
    this.fn.if()
    this.sideExit(b, k)
    this.fn.end()
  }
  /**
   * Continues at page offset `target` from the block being emitted: leave (another region or
   * page), nothing (the next block follows), a branch to its own loop, a forward `br` (the
   * labels of the later blocks are still open), or back through the dispatch loop.
   */
  goto(target: number, fallsTo: number | null): void {
    const j = this.region.blockAt.get(target)
    if (j !== undefined) loopCacheEnter(this, this.current, j)
    if (j === undefined) {
      this.va(target)
      this.fn.set(this.exitPc).i32(EXIT_BRANCH).set(this.code).br('exit')
    } else if (j === fallsTo) {
      // falls through
    } else if (j === this.current && this.selfLoop) {
      this.fn.br(`s${j}`)
    } else if (j > this.current) {
      this.fn.br(`b${j}`)
    } else {
      this.fn.i32(j).set(this.bb).br('dispatch')
    }
  }

  // ---- flags ----
  /** a and b are in t1 and t2 (zero-extended for 32-bit): they become the lazy flags. */
  setCc(op: number): void {
    this.fn.get(this.t1).set(this.ccA).get(this.t2).set(this.ccB).i32(op).set(this.ccOp)
  }
  /** Pushes NZCV (bits 31:28) of the lazy flags. */
  nzcv(): void {
    this.fn.get(this.ccOp).get(this.ccA).get(this.ccB).get(this.ccLit).call(FN_NZCV)
  }

  /** SP-based accesses check SP alignment (SCTLR_EL1.SA/SA0): misaligned SP goes to the interpreter. */
  spAligned(b: Block, k: number, rn: number): void {
    if (rn !== 31) return
    this.get(REG_SP)
    this.fn.op(Op.i32WrapI64).i32(15).op(Op.i32And)
    this.exitIf(b, k)
  }
  load(size: number, signed: boolean, at = 0, host = this.h): void {
    const ops = signed ? [Op.i64Load8S, Op.i64Load16S, Op.i64Load32S, Op.i64Load] : [Op.i64Load8U, Op.i64Load16U, Op.i64Load32U, Op.i64Load]
    this.fn.get(host).mem(ops[Math.log2(size)]!, at)
  }
  store(slot: number, size: number, at = 0, host = this.h): void {
    this.fn.get(host)
    this.get(slot)
    this.fn.mem([Op.i64Store8, Op.i64Store16, Op.i64Store32, Op.i64Store][Math.log2(size)]!, at)
  }

  // ---- instructions ----
  insn(b: Block, k: number): void {
    const fn = this.fn
    const insn = b.insns[k]!
    const d: Instruction = insn.d
    switch (d.name) {
      case 'ADD_i': case 'ADDS_i': case 'SUB_i': case 'SUBS_i':
      case 'ADD_r': case 'ADDS_r': case 'SUB_r': case 'SUBS_r':
      case 'ADD_x': case 'ADDS_x': case 'SUB_x': case 'SUBS_x': {
        const isSub = d.name.startsWith('SUB')
        const setsFlags = d.name.includes('S_')
        if ('imm' in d) {
          this.get(rs(d.rn))
          if (!d.sf) MASK32(fn)
          fn.set(this.t1).i64(d.imm).set(this.t2)
        } else if ('shift' in d) {
          this.get(d.rn)
          if (!d.sf) MASK32(fn)
          fn.set(this.t1)
          shifted(this, d.rm, d.shift, d.amount, d.sf)
          fn.set(this.t2)
        } else {
          this.get(rs(d.rn))
          if (!d.sf) MASK32(fn)
          fn.set(this.t1)
          extended(this, d.rm, d.option, d.amount)
          if (!d.sf) MASK32(fn)
          fn.set(this.t2)
        }
        fn.get(this.t1).get(this.t2).op(isSub ? Op.i64Sub : Op.i64Add)
        const rd = setsFlags || d.name.endsWith('_r') ? wz(d.rd) : rs(d.rd)
        this.setW(rd, d.sf)
        if (setsFlags) this.setCc(isSub ? (d.sf ? CC_SUB64 : CC_SUB32) : d.sf ? CC_ADD64 : CC_ADD32)
        break
      }
      case 'AND_i': case 'ORR_i': case 'EOR_i': case 'ANDS_i': {
        this.get(d.rn)
        fn.i64(d.immLo, d.sf ? d.immHi : 0)
        fn.op(d.name === 'ORR_i' ? Op.i64Or : d.name === 'EOR_i' ? Op.i64Xor : Op.i64And)
        if (!d.sf) MASK32(fn)
        if (d.name === 'ANDS_i') {
          fn.tee(this.t1).i64(0).set(this.t2)
          this.set(wz(d.rd))
          this.setCc(d.sf ? CC_LOGIC64 : CC_LOGIC32)
        } else this.set(rs(d.rd))
        break
      }
      case 'AND_r': case 'BIC_r': case 'ORR_r': case 'ORN_r': case 'EOR_r': case 'EON_r': case 'ANDS_r': case 'BICS_r': {
        this.get(d.rn)
        shifted(this, d.rm, d.shift, d.amount, d.sf)
        if (d.name.startsWith('BIC') || d.name === 'ORN_r' || d.name === 'EON_r') fn.i64(-1).op(Op.i64Xor)
        fn.op(d.name.startsWith('ORR') || d.name === 'ORN_r' ? Op.i64Or : d.name.startsWith('E') ? Op.i64Xor : Op.i64And)
        if (!d.sf) MASK32(fn)
        if (d.name === 'ANDS_r' || d.name === 'BICS_r') {
          fn.tee(this.t1).i64(0).set(this.t2)
          this.set(wz(d.rd))
          this.setCc(d.sf ? CC_LOGIC64 : CC_LOGIC32)
        } else this.set(wz(d.rd))
        break
      }
      case 'MOVZ': case 'MOVN': {
        let lo = d.shift < 32 ? (d.imm16 << d.shift) | 0 : 0
        let hi = d.shift >= 32 ? (d.imm16 << (d.shift - 32)) | 0 : 0
        if (d.name === 'MOVN') {
          lo = ~lo
          hi = d.sf ? ~hi : 0
        }
        fn.i64(lo, hi)
        this.set(wz(d.rd))
        break
      }
      case 'MOVK': {
        const maskLo = d.shift < 32 ? ~(0xffff << d.shift) : -1
        const maskHi = d.shift >= 32 ? ~(0xffff << (d.shift - 32)) : -1
        this.get(d.rd)
        fn.i64(maskLo, maskHi).op(Op.i64And)
        fn.i64(d.shift < 32 ? (d.imm16 << d.shift) | 0 : 0, d.shift >= 32 ? (d.imm16 << (d.shift - 32)) | 0 : 0).op(Op.i64Or)
        this.setW(wz(d.rd), d.sf)
        break
      }
      case 'ADR':
        this.va(insn.off + d.imm)
        this.set(wz(d.rd))
        break
      case 'ADRP':
        this.va((insn.off & ~0xfff) + d.imm)
        this.set(wz(d.rd))
        break
      case 'SBFM': case 'UBFM': case 'BFM':
        bitfield(this, d.name, d.sf, d.immr, d.imms, d.rn, d.rd)
        break
      case 'EXTR': {
        const width = d.sf ? 64 : 32
        if (d.imms === 0) this.get(d.rm)
        else if (d.sf) {
          this.get(d.rm)
          fn.i64(d.imms).op(Op.i64ShrU)
          this.get(d.rn)
          fn.i64(width - d.imms).op(Op.i64Shl, Op.i64Or)
        } else {
          this.get(d.rm)
          fn.op(Op.i32WrapI64).i32(d.imms).op(Op.i32ShrU)
          this.get(d.rn)
          fn.op(Op.i32WrapI64).i32(width - d.imms).op(Op.i32Shl, Op.i32Or, Op.i64ExtendI32U)
        }
        this.setW(wz(d.rd), d.sf)
        break
      }
      case 'LSLV': case 'LSRV': case 'ASRV': case 'RORV': {
        const i = ['LSLV', 'LSRV', 'ASRV', 'RORV'].indexOf(d.name)
        if (d.sf) {
          this.get(d.rn)
          this.get(d.rm)
          fn.op([Op.i64Shl, Op.i64ShrU, Op.i64ShrS, Op.i64Rotr][i]!)
        } else {
          this.get(d.rn)
          fn.op(Op.i32WrapI64)
          this.get(d.rm)
          fn.op(Op.i32WrapI64, [Op.i32Shl, Op.i32ShrU, Op.i32ShrS, Op.i32Rotr][i]!, Op.i64ExtendI32U)
        }
        this.set(wz(d.rd))
        break
      }
      case 'MADD': case 'MSUB':
        this.get(d.ra)
        this.get(d.rn)
        this.get(d.rm)
        fn.op(Op.i64Mul, d.name === 'MADD' ? Op.i64Add : Op.i64Sub)
        this.setW(wz(d.rd), d.sf)
        break
      case 'SMADDL': case 'SMSUBL': case 'UMADDL': case 'UMSUBL': {
        const ext = d.name.startsWith('S') ? Op.i64ExtendI32S : Op.i64ExtendI32U
        this.get(d.ra)
        this.get(d.rn)
        fn.op(Op.i32WrapI64, ext)
        this.get(d.rm)
        fn.op(Op.i32WrapI64, ext, Op.i64Mul, d.name.endsWith('ADDL') ? Op.i64Add : Op.i64Sub)
        this.set(wz(d.rd))
        break
      }
      case 'UMULH': case 'SMULH':
        mulHigh(this, d.rn, d.rm, d.name === 'SMULH')
        this.set(wz(d.rd))
        break
      case 'UDIV': case 'SDIV':
        divide(this, d.rn, d.rm, d.sf, d.name === 'SDIV')
        this.set(wz(d.rd))
        break
      case 'CLZ':
        this.get(d.rn)
        if (d.sf) fn.op(Op.i64Clz)
        else fn.op(Op.i32WrapI64, Op.i32Clz, Op.i64ExtendI32U)
        this.set(wz(d.rd))
        break
      case 'CSEL': case 'CSINC': case 'CSINV': case 'CSNEG':
        this.get(d.rn)
        this.get(d.rm)
        if (d.name === 'CSINC') fn.i64(1).op(Op.i64Add)
        else if (d.name === 'CSINV') fn.i64(-1).op(Op.i64Xor)
        else if (d.name === 'CSNEG') fn.set(this.t1).i64(0).get(this.t1).op(Op.i64Sub)
        cond(this, d.cond, setterKind(b, k))
        fn.op(Op.select)
        this.setW(wz(d.rd), d.sf)
        break
      case 'CCMP_r': case 'CCMN_r': case 'CCMP_i': case 'CCMN_i': {
        cond(this, d.cond, setterKind(b, k))
        fn.set(this.c)
        this.get(d.rn)
        if (!d.sf) MASK32(fn)
        fn.set(this.t1)
        if ('rm' in d) {
          this.get(d.rm)
          if (!d.sf) MASK32(fn)
        } else fn.i64(d.imm)
        fn.set(this.t2)
        const isSub = d.name.startsWith('CCMP')
        this.setCc(isSub ? (d.sf ? CC_SUB64 : CC_SUB32) : d.sf ? CC_ADD64 : CC_ADD32)
        fn.get(this.ccOp).i32(CC_LIT).get(this.c).op(Op.select).set(this.ccOp)
        fn.i32(d.nzcv << 28).set(this.ccLit)
        break
      }
      case 'NOP': case 'HINT': case 'YIELD': case 'PACSP': case 'AUTSP': case 'XPACLRI': case 'PAC1716': case 'AUT1716': case 'BTI': case 'CSDB':
      case 'DSB': case 'DMB':
      case 'B': case 'B_cond': case 'CBZ': case 'CBNZ': case 'TBZ': case 'TBNZ': case 'BR': case 'RET':
        break
      case 'BL':
        this.va(insn.off + 4)
        this.set(30)
        break
      case 'BLR':
        // The target is read before X30 is written (BLR X30).
        this.get(d.rn)
        fn.set(this.exitPc)
        this.va(insn.off + 4)
        this.set(30)
        break
      case 'LDR_ui': case 'STR_ui': case 'LDRS_ui': case 'LDUR': case 'STUR': case 'LDURS':
      case 'LDR_post': case 'STR_post': case 'LDRS_post': case 'LDR_pre': case 'STR_pre': case 'LDRS_pre': {
        const isWrite = d.name.startsWith('STR') || d.name === 'STUR'
        const post = d.name.endsWith('_post')
        const pre = d.name.endsWith('_pre')
        const size = 1 << d.size
        this.spAligned(b, k, d.rn)
        this.get(rs(d.rn))
        if (!post && d.imm !== 0) fn.i64(d.imm).op(Op.i64Add)
        fn.set(this.a)
        access(this, b, k, size, size, isWrite, d.rn === 31 && !post && !pre, false, true)
        if (isWrite) this.store(d.rt, size)
        else {
          const signed = d.name.startsWith('LDRS') || d.name === 'LDURS'
          this.load(size, signed)
          if (signed && !(d as { sf: number }).sf) MASK32(fn)
          fn.set(this.v)
        }
        if (post || pre) {
          fn.get(this.a)
          if (post && d.imm !== 0) fn.i64(d.imm).op(Op.i64Add)
          this.set(rs(d.rn))
        }
        if (!isWrite) {
          fn.get(this.v)
          this.set(wz(d.rt))
        }
        break
      }
      case 'LDR_reg': case 'STR_reg': case 'LDRS_reg': {
        const isWrite = d.name === 'STR_reg'
        const size = 1 << d.size
        this.spAligned(b, k, d.rn)
        this.get(rs(d.rn))
        extended(this, d.rm, d.option, d.amount)
        fn.op(Op.i64Add).set(this.a)
        access(this, b, k, size, size, isWrite, false, false, true)
        if (isWrite) this.store(d.rt, size)
        else {
          const signed = d.name === 'LDRS_reg'
          this.load(size, signed)
          if (signed && !(d as { sf: number }).sf) MASK32(fn)
          this.set(wz(d.rt))
        }
        break
      }
      default:
        if (!emitSys(this, b, k)) emitMore(this, b, k)
    }
  }

  /** Pushes whether block b's conditional branch is taken. */
  branchCond(b: Block): void {
    const fn = this.fn
    const k = b.insns.length - 1
    const d: Instruction = b.insns[k]!.d
    switch (d.name) {
      case 'B_cond':
        return cond(this, d.cond, setterKind(b, k))
      case 'CBZ':
      case 'CBNZ':
        this.get(d.rt)
        if (d.sf) fn.op(Op.i64Eqz)
        else fn.op(Op.i32WrapI64, Op.i32Eqz)
        if (d.name === 'CBNZ') fn.op(Op.i32Eqz)
        return
      case 'TBZ':
      case 'TBNZ':
        this.get(d.rt)
        fn.i64(d.bit).op(Op.i64ShrU, Op.i32WrapI64).i32(1).op(Op.i32And)
        if (d.name === 'TBZ') fn.op(Op.i32Eqz)
        return
      default:
        throw new Error(`not a conditional branch: ${d.name}`)
    }
  }

  block(i: number): void {
    const fn = this.fn
    const b = this.region.blocks[i]!
    const n = b.insns.length
    const t = b.term
    const fallsTo = i + 1 < this.region.blocks.length ? i + 1 : null
    // A block that branches to itself (a tight loop) is a wasm loop of its own: V8 compiles
    // that as a loop, where the way round through the dispatch's br_table is a jump table.
    this.current = i
    this.selfLoop = (t.kind === 'jump' || t.kind === 'cond') && t.target === b.start
    if (this.selfLoop) fn.loop(`s${i}`)
    if (n > 0) {
      // A stop request (tested where a branch comes back, so that every cycle through the
      // region sees it) or a budget that does not cover the block: leave at its start.
      if (this.loopHeads.has(i)) {
        fn.i32(0).mem(Op.i32Load, this.base + ST_STOP)
        fn.if()
        this.va(b.start)
        fn.set(this.exitPc).i32(EXIT_STOP).set(this.code).br('exit')
        fn.end()
      }
      fn.get(this.left).i32(n).op(Op.i32LtS)
      fn.if()
      this.va(b.start)
      fn.set(this.exitPc).i32(EXIT_BUDGET).set(this.code).br('exit')
      fn.end()
      fn.get(this.left).i32(n).op(Op.i32Sub).set(this.left)
    }
    for (let k = 0; k < n; k++) this.insn(b, k)
    switch (t.kind) {
      case 'fall':
        this.goto(t.next, fallsTo)
        break
      case 'jump':
        this.goto(t.target, null)
        break
      case 'cond':
        this.branchCond(b)
        fn.if()
        this.goto(t.target, null)
        fn.end()
        this.goto(t.next, fallsTo)
        break
      case 'indirect': {
        const d: Instruction = b.insns[n - 1]!.d
        if (d.name !== 'BLR') {
          this.get((d as { rn: number }).rn)
          fn.set(this.exitPc)
        }
        fn.i32(EXIT_BRANCH).set(this.code).br('exit')
        break
      }
      case 'unsupported':
        this.va(t.off)
        fn.set(this.exitPc).i32(EXIT_SLOW).set(this.code).br('exit')
        break
    }
    if (this.selfLoop) fn.end()
  }

  build(): FunctionBody {
    const fn = this.fn
    fn.i32(this.base).set(this.state)
    loopCacheResetAll(this)
    fn.i32(0).mem(Op.i32Load, this.base + ST_LEFT).set(this.left)
    fn.i32(0).mem(Op.i64Load, this.base + ST_PAGE_VA).set(this.pageVa)
    fn.i32(0).mem(Op.i32Load, this.base + ST_NZCV).set(this.ccLit)
    fn.i32(CC_LIT).set(this.ccOp)
    fn.get(0).set(this.bb)
    const blocks = this.region.blocks
    fn.block('exit').block('slow')
    // A block entered with a group's range verified (emit-groups.ts Group): verify it for the
    // registers' values now, or leave before its first instruction, with nothing to give back.
    for (const i of verifiedEntries(this)) {
      fn.get(this.bb).i32(i).op(Op.i32Eq)
      fn.if()
      entryVerify(this, i, () => fn.i32(blocks[i]!.start << 12).set(this.slowAt).br('slow'))
      fn.end()
    }
    fn.loop('dispatch')
    for (let i = blocks.length - 1; i >= 0; i--) fn.block(`b${i}`)
    fn.get(this.bb).brTable(blocks.map((_, i) => `b${i}`), 'b0')
    for (let i = 0; i < blocks.length; i++) {
      fn.end()
      this.block(i)
    }
    fn.op(Op.unreachable).end().end()
    // The side-exit stub (see sideExit), then the exit.
    this.va(0)
    fn.get(this.slowAt).i32(12).op(Op.i32ShrU, Op.i64ExtendI32U, Op.i64Add).set(this.exitPc)
    fn.get(this.left).get(this.slowAt).i32(4095).op(Op.i32And, Op.i32Add).set(this.left)
    fn.i32(EXIT_SLOW).set(this.code).end()
    fn.i32(0).get(this.left).mem(Op.i32Store, this.base + ST_LEFT)
    fn.i32(0)
    this.nzcv()
    fn.mem(Op.i32Store, this.base + ST_NZCV)
    fn.i32(0).get(this.exitPc).mem(Op.i64Store, this.base + ST_PC)
    fn.get(this.code)
    return fn
  }
}
