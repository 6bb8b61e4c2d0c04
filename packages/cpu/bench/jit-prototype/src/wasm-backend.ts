// Translator (b): a region of A64 code to a WebAssembly module generated at run time. Guest
// registers are i64 locals across the region; the region is one function: a loop around a
// br_table over its blocks (a block falls into the next when that is its successor, a block
// that branches to itself is a wasm `loop`). Guest RAM, its tags, the fast TLB and the
// registers are all in the one shared WebAssembly.Memory (see layout.ts and machine.ts), so
// the TLB look-up and the tag compare are plain i64/i32 loads; the TLB fill, IRG and the
// cold NZCV materialization are calls to JavaScript imports.

import type { Instruction } from '@tagvm/a64'
import { CC_SUB32, CC_SUB64, condHolds, nzcvOf } from './flags.js'
import {
  CRC_TABLES, PC_CACHE, STATE, ST_CC_A, ST_CC_B, ST_CC_OP, ST_EXIT_SITE, ST_GCR, ST_LEFT, ST_NZCV, ST_PC, ST_SP, ST_X, TLB, TLB_ENTRIES,
  TLB_ENTRY_BYTES, TLB_HOST, TLB_READ_KEY, TLB_TAGS, TLB_WRITE_KEY, WASM_PAGES, TLB_CHECK_MASK, TLB_CHECK_READ_KEY,
  TLB_CHECK_WRITE_KEY,
} from './layout.js'
import { SP, ZR, type Block, type Region } from './region.js'
import {
  EXIT_BRANCH, EXIT_BUDGET, EXIT_MISS, EXIT_SLOW, cpuMsSince, type Backend, type TableDispatcher, type TierRuntime, type Translation,
} from './runtime.js'
import { Wasm, type WasmImports, type WasmInstance } from './wasm-api.js'
import { FunctionBody, I32, I64, Op, encodeModule, type ModuleSpec } from './wasm-encoder.js'

const f = (n: number, sp = false): number => (n === 31 ? (sp ? SP : ZR) : n)

// Function indices: the imports, then the region function.
const FN_FILL = 0
const FN_IRG = 1
const FN_ADDG = 2
const FN_NZCV = 3
const FN_COND = 4
const TYPES = [
  { params: [I32, I32, I32], results: [I32] }, // 0 fill
  { params: [I32], results: [I32] }, // 1 irg, region(entry)
  { params: [I32, I32], results: [I32] }, // 2 addgTag, condHolds
  { params: [I32, I32, I32, I32, I32, I32], results: [I32] }, // 3 nzcvOf
  { params: [], results: [I32] }, // 4 dispatch
]
const T_REGION = 1

/** TBI: VA[55:12] of a page, the fast TLB's key. */
const KEY_MASK_LO = -4096
const KEY_MASK_HI = 0x00ff_ffff
/** ~(0xF << 56): clears a pointer's tag. */
const UNTAG_HI = ~0x0f00_0000

class WasmEmitter {
  readonly fn = new FunctionBody(1)
  private readonly regs = new Map<number, number>()
  private site = 0
  // Locals.
  readonly ccA: number
  readonly ccB: number
  readonly ccOp: number
  readonly ccLit: number
  readonly ccT: number
  readonly left: number
  readonly bb: number
  readonly code: number
  readonly siteLocal: number
  readonly exitPc: number
  readonly a: number
  readonly v: number
  readonly w: number
  readonly t64: number
  readonly al: number
  readonly e: number
  readonly h: number
  readonly tg: number
  readonly g: number
  readonly c: number
  readonly tv: number

  constructor(private readonly region: Region, private readonly checks: boolean, private readonly tagKeys = false) {
    const fn = this.fn
    for (const r of [...new Set([...region.reads, ...region.writes])].sort((x, y) => x - y)) this.regs.set(r, fn.local(I64))
    this.ccA = fn.local(I64)
    this.ccB = fn.local(I64)
    this.exitPc = fn.local(I64)
    this.a = fn.local(I64)
    this.v = fn.local(I64)
    this.w = fn.local(I64)
    this.t64 = fn.local(I64)
    this.ccOp = fn.local(I32)
    this.ccLit = fn.local(I32)
    this.ccT = fn.local(I32)
    this.left = fn.local(I32)
    this.bb = fn.local(I32)
    this.code = fn.local(I32)
    this.siteLocal = fn.local(I32)
    this.al = fn.local(I32)
    this.e = fn.local(I32)
    this.h = fn.local(I32)
    this.tg = fn.local(I32)
    this.g = fn.local(I32)
    this.c = fn.local(I32)
    this.tv = fn.local(I32)
  }

  get sites(): number {
    return this.site
  }

  private stateOffset(r: number): number {
    return STATE + (r === SP ? ST_SP : ST_X + 8 * r)
  }

  getReg(n: number): void {
    if (n === ZR) this.fn.i64(0)
    else this.fn.get(this.regs.get(n)!)
  }
  /** Pops an i64 into register n (dropped for XZR). */
  setReg(n: number): void {
    if (n === ZR) this.fn.op(Op.drop)
    else this.fn.set(this.regs.get(n)!)
  }
  get32(n: number): void {
    this.getReg(n)
    this.fn.op(Op.i32WrapI64)
  }
  set32(n: number): void {
    this.fn.op(Op.i64ExtendI32U)
    this.setReg(n)
  }

  // ---- exits ----
  sideExit(b: Block, k: number): void {
    const fn = this.fn
    fn.i64(b.insns[k]!.pc).set(this.exitPc)
    fn.get(this.left).i32(b.insns.length - k).op(Op.i32Add).set(this.left)
    fn.i32(EXIT_SLOW).set(this.code).br('exit')
  }
  /** if (i32 on the stack) side exit. */
  exitIf(b: Block, k: number): void {
    this.fn.if()
    this.sideExit(b, k)
    this.fn.end()
  }
  branchExit(): void {
    // exitPc already set.
    this.fn.i32(EXIT_BRANCH).set(this.code).i32(this.site++).set(this.siteLocal).br('exit')
  }
  goto(target: number, fallsTo: number | null): void {
    const j = this.region.internalBranches ? this.region.blockAt.get(target) : undefined
    if (j === undefined) {
      this.fn.i64(target).set(this.exitPc)
      this.branchExit()
    } else if (j !== fallsTo) {
      this.fn.i32(j).set(this.bb).br('dispatch')
    }
  }

  // ---- operands ----
  /** Pushes the (shifted) register operand, 64-bit. */
  shifted64(rm: number, shift: number, amount: number): void {
    this.getReg(rm)
    if (amount === 0) return
    this.fn.i64(amount).op([Op.i64Shl, Op.i64ShrU, Op.i64ShrS, Op.i64Rotr][shift]!)
  }
  shifted32(rm: number, shift: number, amount: number): void {
    this.get32(rm)
    if (amount === 0) return
    this.fn.i32(amount).op([Op.i32Shl, Op.i32ShrU, Op.i32ShrS, Op.i32Rotr][shift]!)
  }

  // ---- flags ----
  /** Pops b then a (i64, zero-extended for 32-bit) into the cc locals. */
  setSubFromStack(sf: number): void {
    this.fn.set(this.ccB).set(this.ccA).i32(sf ? CC_SUB64 : CC_SUB32).set(this.ccOp)
  }
  /** Pushes the condition after a SUBS of width sf (operands in the cc locals). */
  subCond(cond: number, sf: number): void {
    const fn = this.fn
    const kind = cond >> 1
    if (kind === 3) return this.dynamicCond(cond)
    if (kind === 7) {
      fn.i32(1)
      return
    }
    const ops64 = [
      [Op.i64Eq, Op.i64Ne], [Op.i64GeU, Op.i64LtU], [0, 0], [0, 0], [Op.i64GtU, Op.i64LeU], [Op.i64GeS, Op.i64LtS],
      [Op.i64GtS, Op.i64LeS],
    ]
    const ops32 = [
      [Op.i32Eq, Op.i32Ne], [Op.i32GeU, Op.i32LtU], [0, 0], [0, 0], [Op.i32GtU, Op.i32LeU], [Op.i32GeS, Op.i32LtS],
      [Op.i32GtS, Op.i32LeS],
    ]
    if (sf) {
      fn.get(this.ccA).get(this.ccB)
      if (kind === 2) fn.op(Op.i64Sub).i64(0).op(cond & 1 ? Op.i64GeS : Op.i64LtS)
      else fn.op(ops64[kind]![cond & 1]!)
    } else {
      fn.get(this.ccA).op(Op.i32WrapI64).get(this.ccB).op(Op.i32WrapI64)
      if (kind === 2) fn.op(Op.i32Sub).i32(0).op(cond & 1 ? Op.i32GeS : Op.i32LtS)
      else fn.op(ops32[kind]![cond & 1]!)
    }
  }
  /** Pushes NZCV materialized from the cc locals (a call to JS: cold paths only). */
  nzcv(): void {
    const fn = this.fn
    fn.get(this.ccOp)
    fn.get(this.ccA).op(Op.i32WrapI64).get(this.ccA).i64(32).op(Op.i64ShrU, Op.i32WrapI64)
    fn.get(this.ccB).op(Op.i32WrapI64).get(this.ccB).i64(32).op(Op.i64ShrU, Op.i32WrapI64)
    fn.get(this.ccLit).call(FN_NZCV)
  }
  dynamicCond(cond: number): void {
    this.fn.i32(cond)
    this.nzcv()
    this.fn.call(FN_COND)
  }
  /** Pushes condition `cond` as flag reader insns[k] of block b sees it. */
  cond(b: Block, k: number, cond: number): void {
    if (cond >> 1 === 7) {
      this.fn.i32(1)
      return
    }
    const s = b.setterOf.get(k) ?? -1
    if (s < 0) return this.dynamicCond(cond)
    const setter = b.insns[s]!.d
    if (setter.name === 'SUBS_i' || setter.name === 'SUBS_r') return this.subCond(cond, setter.sf)
    if (setter.name === 'CCMP_r') {
      this.subCond(cond, setter.sf)
      this.fn.i32(condHolds(cond, setter.nzcv << 28) ? 1 : 0).get(this.ccT).op(Op.select)
      return
    }
    throw new Error(`no flag setter ${setter.name}`)
  }

  // ---- memory ----
  /** Address in `a`; leaves the host offset in `h` and the TLB entry offset in `e`, or exits. */
  access(b: Block, k: number, size: number, isWrite: boolean, checked: boolean): void {
    const fn = this.fn
    fn.get(this.a).op(Op.i32WrapI64).set(this.al)
    if (size > 1) {
      fn.get(this.al).i32(4095).op(Op.i32And).i32(4096 - size).op(Op.i32GtU)
      this.exitIf(b, k)
    }
    fn.get(this.al).i32(12).op(Op.i32ShrU).i32(TLB_ENTRIES - 1).op(Op.i32And).i32(Math.log2(TLB_ENTRY_BYTES)).op(Op.i32Shl).set(this.e)
    const check = this.checks && checked
    if (check && this.tagKeys) {
      // One compare covers page, permission and tag on untagged and single-tag pages.
      fn.get(this.a).get(this.e).mem(Op.i64Load, TLB + TLB_CHECK_MASK).op(Op.i64And)
      fn.get(this.e).mem(Op.i64Load, TLB + (isWrite ? TLB_CHECK_WRITE_KEY : TLB_CHECK_READ_KEY)).op(Op.i64Ne)
      fn.if()
    }
    fn.get(this.e).mem(Op.i64Load, TLB + (isWrite ? TLB_WRITE_KEY : TLB_READ_KEY))
    fn.get(this.a).i64(KEY_MASK_LO, KEY_MASK_HI).op(Op.i64And).op(Op.i64Ne)
    fn.if()
    fn.get(this.al).get(this.a).i64(32).op(Op.i64ShrU, Op.i32WrapI64).i32(isWrite ? 1 : 0).call(FN_FILL).op(Op.i32Eqz)
    this.exitIf(b, k)
    fn.end()
    if (check) {
      fn.get(this.e).mem(Op.i32Load, TLB + TLB_TAGS).tee(this.tg).i32(0).op(Op.i32GeS)
      fn.if()
      if (size > 1) {
        fn.get(this.al).i32(15).op(Op.i32And).i32(16 - size).op(Op.i32GtU)
        this.exitIf(b, k)
      }
      fn.get(this.al).i32(4095).op(Op.i32And).i32(4).op(Op.i32ShrU).set(this.g)
      // The granule's tag: byte tg + g.
      fn.get(this.tg).get(this.g).op(Op.i32Add).mem(Op.i32Load8U, 0)
      fn.get(this.a).i64(56).op(Op.i64ShrU, Op.i32WrapI64).i32(15).op(Op.i32And)
      fn.op(Op.i32Ne)
      this.exitIf(b, k)
      fn.end()
    }
    if (check && this.tagKeys) fn.end()
    fn.get(this.e).mem(Op.i32Load, TLB + TLB_HOST).get(this.al).i32(4095).op(Op.i32And, Op.i32Add).set(this.h)
  }
  load(size: number, offset = 0): void {
    this.fn.get(this.h).mem([Op.i64Load8U, Op.i64Load16U, Op.i64Load32U, Op.i64Load][Math.log2(size)]!, offset)
  }
  /** Stores register rt at h + offset. */
  store(rt: number, size: number, offset = 0): void {
    this.fn.get(this.h)
    this.getReg(rt)
    this.fn.mem([Op.i64Store8, Op.i64Store16, Op.i64Store32, Op.i64Store][Math.log2(size)]!, offset)
  }
  /** Index modes of STG/LDP/STP: 1 post-index (Xn += imm), 3 pre-index (Xn = the address in a). */
  writeBack(rn: number, mode: number, imm: number): void {
    if (mode === 1) {
      this.getReg(rn)
      this.fn.i64(imm).op(Op.i64Add)
      this.setReg(rn)
    } else if (mode === 3) {
      this.fn.get(this.a)
      this.setReg(rn)
    }
  }
  /** a = Xn + imm. */
  address(rn: number, imm: number): void {
    this.getReg(rn)
    if (imm !== 0) this.fn.i64(imm).op(Op.i64Add)
    this.fn.set(this.a)
  }

  // ---- instructions ----
  insn(b: Block, k: number): void {
    const fn = this.fn
    const d = b.insns[k]!.d
    switch (d.name) {
      case 'ADD_i':
      case 'SUB_i': {
        const imm = d.name === 'ADD_i' ? d.imm : -d.imm
        if (d.sf) {
          this.getReg(f(d.rn, true))
          fn.i64(imm).op(Op.i64Add)
          this.setReg(f(d.rd, true))
        } else {
          this.get32(f(d.rn, true))
          fn.i32(imm).op(Op.i32Add)
          this.set32(f(d.rd, true))
        }
        break
      }
      case 'SUBS_i':
      case 'SUBS_r': {
        if (d.sf) {
          this.getReg(f(d.rn, d.name === 'SUBS_i'))
          if (d.name === 'SUBS_i') fn.i64(d.imm)
          else this.shifted64(f(d.rm), d.shift, d.amount)
        } else {
          this.get32(f(d.rn, d.name === 'SUBS_i'))
          fn.op(Op.i64ExtendI32U)
          if (d.name === 'SUBS_i') fn.i64(d.imm)
          else {
            this.shifted32(f(d.rm), d.shift, d.amount)
            fn.op(Op.i64ExtendI32U)
          }
        }
        this.setSubFromStack(d.sf)
        if (d.rd !== 31) {
          fn.get(this.ccA).get(this.ccB).op(Op.i64Sub)
          if (!d.sf) fn.op(Op.i32WrapI64, Op.i64ExtendI32U)
          this.setReg(d.rd)
        }
        break
      }
      case 'ADD_r':
      case 'SUB_r':
      case 'ORR_r':
      case 'ORN_r':
      case 'EOR_r': {
        if (d.rd === 31) break
        const ops: Record<string, [number, number]> = {
          ADD_r: [Op.i64Add, Op.i32Add], SUB_r: [Op.i64Sub, Op.i32Sub], ORR_r: [Op.i64Or, Op.i32Or], ORN_r: [Op.i64Or, Op.i32Or],
          EOR_r: [Op.i64Xor, Op.i32Xor],
        }
        const [op64, op32] = ops[d.name]!
        if (d.sf) {
          this.getReg(f(d.rn))
          this.shifted64(f(d.rm), d.shift, d.amount)
          if (d.name === 'ORN_r') fn.i64(-1).op(Op.i64Xor)
          fn.op(op64)
          this.setReg(d.rd)
        } else {
          this.get32(f(d.rn))
          this.shifted32(f(d.rm), d.shift, d.amount)
          if (d.name === 'ORN_r') fn.i32(-1).op(Op.i32Xor)
          fn.op(op32)
          this.set32(d.rd)
        }
        break
      }
      case 'AND_i':
        this.getReg(f(d.rn))
        fn.i64(d.immLo | 0, d.sf ? d.immHi | 0 : 0).op(Op.i64And)
        this.setReg(f(d.rd, true))
        break
      case 'MOVZ':
      case 'MOVN': {
        if (d.rd === 31) break
        let lo = d.shift < 32 ? (d.imm16 << d.shift) | 0 : 0
        let hi = d.shift >= 32 ? (d.imm16 << (d.shift - 32)) | 0 : 0
        if (d.name === 'MOVN') {
          lo = ~lo
          hi = d.sf ? ~hi : 0
        }
        fn.i64(lo, hi)
        this.setReg(d.rd)
        break
      }
      case 'MADD':
        if (d.rd === 31) break
        if (d.sf) {
          this.getReg(f(d.rn))
          this.getReg(f(d.rm))
          fn.op(Op.i64Mul)
          this.getReg(f(d.ra))
          fn.op(Op.i64Add)
          this.setReg(d.rd)
        } else {
          this.get32(f(d.rn))
          this.get32(f(d.rm))
          fn.op(Op.i32Mul)
          this.get32(f(d.ra))
          fn.op(Op.i32Add)
          this.set32(d.rd)
        }
        break
      case 'CCMP_r':
        this.cond(b, k, d.cond)
        fn.tee(this.ccT).if()
        this.getReg(f(d.rn))
        if (!d.sf) fn.op(Op.i32WrapI64, Op.i64ExtendI32U)
        this.getReg(f(d.rm))
        if (!d.sf) fn.op(Op.i32WrapI64, Op.i64ExtendI32U)
        this.setSubFromStack(d.sf)
        fn.else().i32(0).set(this.ccOp).i32(d.nzcv << 28).set(this.ccLit).end()
        break
      case 'CRC32C': {
        if (d.sz === 3) {
          this.get32(f(d.rn))
          this.get32(f(d.rm))
          fn.op(Op.i32Xor).set(this.c)
          this.getReg(f(d.rm))
          fn.i64(32).op(Op.i64ShrU, Op.i32WrapI64).set(this.tv)
          const lookup = (table: number, src: number, byte: number): void => {
            fn.get(src)
            if (byte > 0) fn.i32(8 * byte).op(Op.i32ShrU)
            if (byte < 3) fn.i32(255).op(Op.i32And)
            fn.i32(2).op(Op.i32Shl).mem(Op.i32Load, CRC_TABLES + 1024 * table)
          }
          // Slicing by 8: byte i of the (crc ^ data) word pair indexes table 7 - i.
          for (let i = 0; i < 8; i++) {
            lookup(7 - i, i < 4 ? this.c : this.tv, i & 3)
            if (i > 0) fn.op(Op.i32Xor)
          }
        } else {
          this.get32(f(d.rn))
          fn.set(this.c)
          for (let i = 0; i < 1 << d.sz; i++) {
            // c = T0[(c ^ byte i) & 255] ^ (c >>> 8)
            fn.get(this.c)
            this.get32(f(d.rm))
            if (i > 0) fn.i32(8 * i).op(Op.i32ShrU)
            fn.op(Op.i32Xor).i32(255).op(Op.i32And).i32(2).op(Op.i32Shl).mem(Op.i32Load, CRC_TABLES)
            fn.get(this.c).i32(8).op(Op.i32ShrU, Op.i32Xor).set(this.c)
          }
          fn.get(this.c)
        }
        this.set32(f(d.rd))
        break
      }
      case 'IRG':
        this.getReg(f(d.rn, true))
        fn.i64(-1, UNTAG_HI).op(Op.i64And)
        this.get32(f(d.rm))
        fn.call(FN_IRG).op(Op.i64ExtendI32U).i64(56).op(Op.i64Shl, Op.i64Or)
        this.setReg(f(d.rd, true))
        break
      case 'ADDG': {
        // Tag: GCR_EL1.Exclude = 0 steps without a call; otherwise ChooseNonExcludedTag in JS.
        this.getReg(f(d.rn, true))
        fn.i64(56).op(Op.i64ShrU, Op.i32WrapI64).i32(15).op(Op.i32And).set(this.tv)
        fn.i32(0).mem(Op.i32Load, STATE + ST_GCR).i32(0xffff).op(Op.i32And, Op.i32Eqz)
        fn.if('', I32).get(this.tv).i32(d.tag).op(Op.i32Add).i32(15).op(Op.i32And)
        fn.else().get(this.tv).i32(d.tag).call(FN_ADDG).end()
        fn.op(Op.i64ExtendI32U).i64(56).op(Op.i64Shl).set(this.t64)
        this.getReg(f(d.rn, true))
        fn.i64(d.offset).op(Op.i64Add).i64(-1, UNTAG_HI).op(Op.i64And).get(this.t64).op(Op.i64Or)
        this.setReg(f(d.rd, true))
        break
      }
      case 'STG': {
        this.getReg(f(d.rt, true))
        fn.i64(56).op(Op.i64ShrU, Op.i32WrapI64).i32(15).op(Op.i32And).set(this.tv)
        this.address(f(d.rn, true), d.mode === 1 ? 0 : d.imm)
        fn.get(this.a).op(Op.i32WrapI64).i32(15).op(Op.i32And)
        this.exitIf(b, k)
        this.access(b, k, 1, true, false)
        fn.get(this.e).mem(Op.i32Load, TLB + TLB_TAGS).tee(this.tg).i32(0).op(Op.i32GeS)
        fn.if()
        // The granule's tag byte: tg + g.
        fn.get(this.tg).get(this.al).i32(4095).op(Op.i32And).i32(4).op(Op.i32ShrU, Op.i32Add)
        fn.get(this.tv).mem(Op.i32Store8, 0)
        if (this.tagKeys) {
          // A tag other than the page's single tag: the one-compare check no longer applies.
          fn.get(this.e).mem(Op.i64Load, TLB + TLB_CHECK_READ_KEY).i64(56).op(Op.i64ShrU, Op.i32WrapI64).i32(15).op(Op.i32And)
          fn.get(this.tv).op(Op.i32Ne).if()
          fn.get(this.e).i64(0).mem(Op.i64Store, TLB + TLB_CHECK_MASK)
          fn.get(this.e).i64(-1).mem(Op.i64Store, TLB + TLB_CHECK_READ_KEY)
          fn.get(this.e).i64(-1).mem(Op.i64Store, TLB + TLB_CHECK_WRITE_KEY)
          fn.end()
        }
        fn.end()
        this.writeBack(f(d.rn, true), d.mode, d.imm)
        break
      }
      case 'LDR_post':
      case 'STR_post':
      case 'LDR_ui':
      case 'STR_ui':
      case 'LDUR':
      case 'STUR': {
        const isWrite = d.name.startsWith('S')
        const size = 1 << d.size
        const post = d.name.endsWith('_post')
        this.address(f(d.rn, true), post ? 0 : d.imm)
        this.access(b, k, size, isWrite, d.rn !== 31)
        if (isWrite) this.store(f(d.rt), size)
        else {
          this.load(size)
          fn.set(this.v)
        }
        if (post) {
          this.getReg(f(d.rn, true))
          fn.i64(d.imm).op(Op.i64Add)
          this.setReg(f(d.rn, true))
        }
        if (!isWrite) {
          fn.get(this.v)
          this.setReg(f(d.rt))
        }
        break
      }
      case 'LDR_reg':
      case 'STR_reg': {
        const isWrite = d.name === 'STR_reg'
        const size = 1 << d.size
        this.getReg(f(d.rn, true))
        this.getReg(f(d.rm))
        if (d.option === 2) fn.op(Op.i32WrapI64, Op.i64ExtendI32U)
        else if (d.option === 6) fn.op(Op.i32WrapI64, Op.i64ExtendI32S)
        if (d.amount !== 0) fn.i64(d.amount).op(Op.i64Shl)
        fn.op(Op.i64Add).set(this.a)
        this.access(b, k, size, isWrite, true)
        if (isWrite) this.store(f(d.rt), size)
        else {
          this.load(size)
          this.setReg(f(d.rt))
        }
        break
      }
      case 'LDP':
      case 'STP': {
        if (!d.sf) throw new Error('32-bit pairs are not in the kernels')
        const isWrite = d.name === 'STP'
        this.address(f(d.rn, true), d.mode === 1 ? 0 : d.imm)
        this.access(b, k, 16, isWrite, d.rn !== 31)
        if (isWrite) {
          this.store(f(d.rt), 8)
          this.store(f(d.rt2), 8, 8)
        } else {
          this.load(8)
          fn.set(this.v)
          this.load(8, 8)
          fn.set(this.w)
        }
        this.writeBack(f(d.rn, true), d.mode, d.imm)
        if (!isWrite) {
          fn.get(this.v)
          this.setReg(f(d.rt))
          fn.get(this.w)
          this.setReg(f(d.rt2))
        }
        break
      }
      case 'B':
      case 'B_cond':
      case 'CBZ':
      case 'CBNZ':
      case 'RET':
        break
      default:
        throw new Error(`the wasm translator has no ${d.name}`)
    }
  }

  /** Pushes the taken condition of block b's conditional branch. */
  branchCond(b: Block): void {
    const k = b.insns.length - 1
    const d: Instruction = b.insns[k]!.d
    if (d.name === 'B_cond') return this.cond(b, k, d.cond)
    if (d.name === 'CBZ' || d.name === 'CBNZ') {
      if (d.sf) {
        this.getReg(f(d.rt))
        this.fn.op(Op.i64Eqz)
      } else {
        this.get32(f(d.rt))
        this.fn.op(Op.i32Eqz)
      }
      if (d.name === 'CBNZ') this.fn.op(Op.i32Eqz)
      return
    }
    throw new Error(`not a conditional branch: ${d.name}`)
  }

  block(i: number): void {
    const fn = this.fn
    const b = this.region.blocks[i]!
    const n = b.insns.length
    const t = b.term
    const self = this.region.internalBranches && (t.kind === 'cond' || t.kind === 'jump') && t.target === b.start
    const fallsTo = i + 1 < this.region.blocks.length ? i + 1 : null
    if (self) fn.loop(`self${i}`)
    if (n > 0) {
      fn.get(this.left).i32(n).op(Op.i32LtS).if()
      fn.i64(b.start).set(this.exitPc).i32(EXIT_BUDGET).set(this.code).br('exit')
      fn.end()
      fn.get(this.left).i32(n).op(Op.i32Sub).set(this.left)
    }
    for (let k = 0; k < n; k++) this.insn(b, k)
    switch (t.kind) {
      case 'fall':
        this.goto(t.next, fallsTo)
        break
      case 'jump':
        if (self) fn.br(`self${i}`).end()
        else this.goto(t.target, null)
        break
      case 'cond':
        this.branchCond(b)
        if (self) fn.brIf(`self${i}`).end()
        else {
          fn.if()
          this.goto(t.target, null)
          fn.end()
        }
        this.goto(t.next, fallsTo)
        break
      case 'indirect':
        this.getReg(f(t.reg))
        fn.set(this.exitPc)
        this.branchExit()
        break
      case 'unsupported':
        fn.i64(t.pc).set(this.exitPc).i32(EXIT_SLOW).set(this.code).br('exit')
        break
    }
  }

  build(): FunctionBody {
    const fn = this.fn
    for (const [r, local] of this.regs) fn.i32(0).mem(Op.i64Load, this.stateOffset(r)).set(local)
    fn.i32(0).mem(Op.i32Load, STATE + ST_LEFT).set(this.left)
    fn.i32(0).mem(Op.i32Load, STATE + ST_NZCV).set(this.ccLit)
    fn.i32(0).mem(Op.i32Load, STATE + ST_CC_OP).set(this.ccOp)
    fn.i32(0).mem(Op.i64Load, STATE + ST_CC_A).set(this.ccA)
    fn.i32(0).mem(Op.i64Load, STATE + ST_CC_B).set(this.ccB)
    fn.get(0).set(this.bb)
    const blocks = this.region.blocks
    fn.block('exit').loop('dispatch')
    for (let i = blocks.length - 1; i >= 0; i--) fn.block(`b${i}`)
    fn.get(this.bb).brTable(blocks.map((_, i) => `b${i}`), 'b0')
    for (let i = 0; i < blocks.length; i++) {
      fn.end() // b{i}: its code follows
      this.block(i)
    }
    fn.op(Op.unreachable).end().end()
    for (const r of [...this.region.writes].sort((x, y) => x - y)) {
      fn.i32(0)
      this.getReg(r)
      fn.mem(Op.i64Store, this.stateOffset(r))
    }
    fn.i32(0).get(this.left).mem(Op.i32Store, STATE + ST_LEFT)
    // Flags stay lazy across translations: the operands go to the state area as they are.
    fn.i32(0).get(this.ccLit).mem(Op.i32Store, STATE + ST_NZCV)
    fn.i32(0).get(this.ccOp).mem(Op.i32Store, STATE + ST_CC_OP)
    fn.i32(0).get(this.ccA).mem(Op.i64Store, STATE + ST_CC_A)
    fn.i32(0).get(this.ccB).mem(Op.i64Store, STATE + ST_CC_B)
    fn.i32(0).get(this.exitPc).mem(Op.i64Store, STATE + ST_PC)
    fn.i32(0).get(this.siteLocal).mem(Op.i32Store, STATE + ST_EXIT_SITE)
    fn.get(this.code)
    return fn
  }
}

function imports(rt: TierRuntime): WasmImports {
  return {
    env: {
      mem: rt.machine.wasmMemory!,
      fill: rt.fill,
      irg: rt.irg,
      addgTag: rt.addgTag,
      nzcvOf,
      condHolds: (cond: number, nzcv: number) => (condHolds(cond, nzcv) ? 1 : 0),
    },
  }
}

const IMPORT_FUNCTIONS = [
  { module: 'env', field: 'fill', type: 0 },
  { module: 'env', field: 'irg', type: 1 },
  { module: 'env', field: 'addgTag', type: 2 },
  { module: 'env', field: 'nzcvOf', type: 3 },
  { module: 'env', field: 'condHolds', type: 2 },
]

/** Makes every module's bytes unique (see ModuleSpec.salt). */
let salt = 0

/** The module bytes of one region (exported function `run(entry) -> exit code`). */
export function wasmModuleBytes(region: Region, checks: boolean, tagKeys = false): { bytes: Uint8Array; sites: number } {
  const em = new WasmEmitter(region, checks, tagKeys)
  const body = em.build()
  const spec: ModuleSpec = {
    types: TYPES,
    importFunctions: IMPORT_FUNCTIONS,
    importMemory: { module: 'env', field: 'mem', min: WASM_PAGES, max: WASM_PAGES, shared: true },
    functions: [{ type: T_REGION, body, export: 'run' }],
    salt: salt++,
  }
  return { bytes: encodeModule(spec), sites: em.sites }
}

/** Several regions' functions in one module (exports run0, run1, ...): v86-style batching. */
export function wasmBatchBytes(regions: Region[], checks: boolean): Uint8Array {
  return encodeModule({
    types: TYPES,
    importFunctions: IMPORT_FUNCTIONS,
    importMemory: { module: 'env', field: 'mem', min: WASM_PAGES, max: WASM_PAGES, shared: true },
    functions: regions.map((r, i) => ({ type: T_REGION, body: new WasmEmitter(r, checks).build(), export: `run${i}` })),
    salt: salt++,
  })
}

export const wasmBackend: Backend = {
  name: 'wasm',
  compile(region: Region, rt: TierRuntime): Translation {
    const t0 = process.cpuUsage()
    const { bytes, sites } = wasmModuleBytes(region, rt.checks, rt.options.tagKeys)
    const codegenMs = cpuMsSince(t0)
    const t1 = process.cpuUsage()
    const module = new Wasm.Module(bytes)
    const instance = new Wasm.Instance(module, imports(rt))
    const run = instance.exports['run'] as (entry: number) => number
    const compileMs = cpuMsSince(t1)
    return {
      run, region, links: new Array<undefined>(sites).fill(undefined), wasmFunction: run, codeBytes: bytes.length, codegenMs,
      compileMs,
    }
  },
}

export function instantiateBatch(bytes: Uint8Array, rt: TierRuntime): WasmInstance {
  return new Wasm.Instance(new Wasm.Module(bytes), imports(rt))
}

/**
 * v86's arrangement: a dispatcher in WebAssembly that looks the PC up in a cache in memory
 * and calls the translation through a shared funcref table, so chaining from one
 * translation to the next never returns to JavaScript. It returns on a miss or any exit
 * other than a branch.
 */
export function makeTableDispatcher(rt: TierRuntime): TableDispatcher {
  const table = new Wasm.Table({ initial: 64, element: 'anyfunc' })
  const fn = new FunctionBody(0)
  const pc = fn.local(I64)
  const e = fn.local(I32)
  const code = fn.local(I32)
  fn.loop('next')
  fn.i32(0).mem(Op.i32Load, STATE + ST_LEFT).i32(0).op(Op.i32LeS).if().i32(EXIT_BRANCH).op(Op.return).end()
  fn.i32(0).mem(Op.i64Load, STATE + ST_PC).set(pc)
  fn.get(pc).op(Op.i32WrapI64).i32(2).op(Op.i32ShrU).i32(4095).op(Op.i32And).i32(4).op(Op.i32Shl).set(e)
  fn.get(e).mem(Op.i64Load, PC_CACHE).get(pc).op(Op.i64Ne).if().i32(EXIT_MISS).op(Op.return).end()
  fn.get(e).mem(Op.i32Load, PC_CACHE + 12).get(e).mem(Op.i32Load, PC_CACHE + 8).callIndirect(T_REGION).tee(code)
  fn.op(Op.i32Eqz).brIf('next')
  fn.end()
  fn.get(code)
  const bytes = encodeModule({
    types: TYPES,
    importFunctions: [],
    importMemory: { module: 'env', field: 'mem', min: WASM_PAGES, max: WASM_PAGES, shared: true },
    importTable: { module: 'env', field: 'table', min: 64 },
    functions: [{ type: 4, body: fn, export: 'dispatch' }],
  })
  const instance = new Wasm.Instance(new Wasm.Module(bytes), { env: { mem: rt.machine.wasmMemory!, table } })
  return { table, dispatch: instance.exports['dispatch'] as () => number }
}
