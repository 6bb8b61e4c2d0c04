// Translator (a): a region of A64 code to JavaScript source, compiled with `new Function`.
// Guest registers live in local variables across the region, each 64-bit value as two
// int32 halves (xNl, xNh); the region is one function with a `switch` over its blocks in a
// loop, a block that branches to itself becomes an inner `for (;;)`, and a block falls into
// the next one when that is its successor. Loads and stores look up the fast TLB inline and
// compare the MTE tag inline; anything unusual leaves with exact state (see runtime.ts).

import type { Instruction } from '@tagvm/a64'
import { CC_SUB32, CC_SUB64, condHolds, nzcvOf } from './flags.js'
import {
  STATE, ST_CC_A, ST_CC_B, ST_CC_OP, ST_EXIT_SITE, ST_GCR, ST_LEFT, ST_NZCV, ST_PC, ST_SP, ST_X, TLB, TLB_ENTRIES, TLB_ENTRY_BYTES, TLB_HOST,
  TLB_READ_KEY, TLB_TAGS, TLB_WRITE_KEY,
} from './layout.js'
import { SP, ZR, type Block, type Region } from './region.js'
import { EXIT_BRANCH, EXIT_BUDGET, EXIT_SLOW, cpuMsSince, type Backend, type TierRuntime, type Translation } from './runtime.js'

type Pair = [string, string]

/** Local names of a register (front-end numbering; ZR reads as constants). */
function reg(n: number): Pair {
  if (n === ZR) return ['0', '0']
  if (n === SP) return ['spl', 'sph']
  return [`x${n}l`, `x${n}h`]
}
/** Register field: 31 is SP where the encoding says so, else XZR. */
const f = (n: number, sp = false): number => (n === 31 ? (sp ? SP : ZR) : n)

const hex = (n: number): string => `0x${(n >>> 0).toString(16)}`

class JsEmitter {
  private out: string[] = []
  private site = 0
  constructor(private readonly region: Region, private readonly checks: boolean) {}

  line(s: string): void {
    this.out.push(s)
  }

  source(): string {
    return this.out.join('\n')
  }

  get sites(): number {
    return this.site
  }

  // ---- exits ----
  /** Leaves before insns[k] of block b, which has not changed anything. */
  sideExit(b: Block, k: number): string {
    const pc = b.insns[k]!.pc
    return `{ exitL = ${hex(pc)} | 0; exitH = 0; left += ${b.insns.length - k}; code = ${EXIT_SLOW}; break dispatch }`
  }
  branchExit(pcL: string, pcH: string): string {
    return `{ exitL = ${pcL}; exitH = ${pcH}; code = ${EXIT_BRANCH}; site = ${this.site++}; break dispatch }`
  }
  /** Goes to guest address `target`: a block of this region, or out. */
  goto(target: number, selfLoop: string | null, self: number, fallsTo: number | null): string {
    const j = this.region.internalBranches ? this.region.blockAt.get(target) : undefined
    if (j === undefined) return this.branchExit(`${hex(target)} | 0`, '0')
    if (j === self && selfLoop !== null) return `continue ${selfLoop}`
    if (j === fallsTo) return ''
    return `{ bb = ${j}; continue dispatch }`
  }

  // ---- 64-bit arithmetic on halves ----
  add(d: Pair, a: Pair, b: Pair): void {
    this.line(`t = (${a[0]} >>> 0) + (${b[0]} >>> 0); ${d[1]} = (${a[1]} + ${b[1]} + (t > 4294967295 ? 1 : 0)) | 0; ${d[0]} = t | 0`)
  }
  sub(d: Pair, a: Pair, b: Pair): void {
    this.line(`t = (${a[0]} >>> 0) - (${b[0]} >>> 0); ${d[1]} = (${a[1]} - ${b[1]} - (t < 0 ? 1 : 0)) | 0; ${d[0]} = t | 0`)
  }
  /** d = a + imm for a small signed constant. */
  addImm(d: Pair, a: Pair, imm: number): void {
    if (imm === 0) {
      if (d[0] !== a[0]) this.line(`${d[0]} = ${a[0]}; ${d[1]} = ${a[1]}`)
      return
    }
    const carry = imm > 0 ? `t > 4294967295 ? (${a[1]} + 1) | 0 : ${a[1]}` : `t < 0 ? (${a[1]} - 1) | 0 : ${a[1]}`
    this.line(`t = (${a[0]} >>> 0) + ${imm}; ${d[1]} = ${carry}; ${d[0]} = t | 0`)
  }
  /** Shifted register operand into (sl, sh). */
  shifted(src: Pair, shift: number, amount: number, sf: number): Pair {
    if (amount === 0) return src
    const [l, h] = src
    if (sf === 0) {
      const ops = ['<<', '>>>', '>>', 'ror']
      if (shift === 3) this.line(`sl = (${l} >>> ${amount}) | (${l} << ${32 - amount}); sh = 0`)
      else this.line(`sl = ${l} ${ops[shift]} ${amount}; sh = 0`)
      return ['sl', 'sh']
    }
    if (amount >= 32) throw new Error('shift amounts >= 32 are not in the kernels')
    switch (shift) {
      case 0:
        this.line(`sh = (${h} << ${amount}) | (${l} >>> ${32 - amount}); sl = ${l} << ${amount}`)
        break
      case 1:
        this.line(`sl = (${l} >>> ${amount}) | (${h} << ${32 - amount}); sh = ${h} >>> ${amount}`)
        break
      case 2:
        this.line(`sl = (${l} >>> ${amount}) | (${h} << ${32 - amount}); sh = ${h} >> ${amount}`)
        break
      default:
        this.line(`sl = (${l} >>> ${amount}) | (${h} << ${32 - amount}); sh = (${h} >>> ${amount}) | (${l} << ${32 - amount})`)
    }
    return ['sl', 'sh']
  }

  // ---- flags ----
  setSub(a: Pair, b: Pair, sf: number): void {
    this.line(`ccOp = ${sf ? CC_SUB64 : CC_SUB32}; ccAl = ${a[0]}; ccAh = ${sf ? a[1] : '0'}; ccBl = ${b[0]}; ccBh = ${sf ? b[1] : '0'}`)
  }
  /** Condition after a SUBS of width sf whose operands are in the cc locals. */
  subCond(cond: number, sf: number): string {
    const ltu = sf ? '((ccAh >>> 0) < (ccBh >>> 0) || (ccAh === ccBh && (ccAl >>> 0) < (ccBl >>> 0)))' : '((ccAl >>> 0) < (ccBl >>> 0))'
    const gtu = sf ? '((ccAh >>> 0) > (ccBh >>> 0) || (ccAh === ccBh && (ccAl >>> 0) > (ccBl >>> 0)))' : '((ccAl >>> 0) > (ccBl >>> 0))'
    const lts = sf ? '(ccAh < ccBh || (ccAh === ccBh && (ccAl >>> 0) < (ccBl >>> 0)))' : '(ccAl < ccBl)'
    const gts = sf ? '(ccAh > ccBh || (ccAh === ccBh && (ccAl >>> 0) > (ccBl >>> 0)))' : '(ccAl > ccBl)'
    const eq = sf ? '(ccAl === ccBl && ccAh === ccBh)' : '(ccAl === ccBl)'
    const mi = sf ? '(((ccAh - ccBh - ((ccAl >>> 0) < (ccBl >>> 0) ? 1 : 0)) | 0) < 0)' : '(((ccAl - ccBl) | 0) < 0)'
    // Conditions 2k and 2k+1 are a test and its negation; VS/VC read V the generic way.
    const even: (string | null)[] = [eq, `!${ltu}`, mi, null, gtu, `!${lts}`, gts, 'true']
    const c = even[cond >> 1] ?? null
    if (c === null) return `condHolds(${cond}, nzcvOf(ccOp, ccAl, ccAh, ccBl, ccBh, ccLit))`
    return (cond & 1) === 1 ? `!(${c})` : c
  }
  /** The condition `cond` as flag reader insns[k] of block b sees it. */
  cond(b: Block, k: number, cond: number): string {
    if (cond >> 1 === 7) return 'true'
    const s = b.setterOf.get(k) ?? -1
    if (s < 0) return `condHolds(${cond}, nzcvOf(ccOp, ccAl, ccAh, ccBl, ccBh, ccLit))`
    const setter = b.insns[s]!.d
    if (setter.name === 'SUBS_i' || setter.name === 'SUBS_r') return this.subCond(cond, setter.sf)
    if (setter.name === 'CCMP_r') {
      const lit = condHolds(cond, setter.nzcv << 28) ? 'true' : 'false'
      return `(ccT ? ${this.subCond(cond, setter.sf)} : ${lit})`
    }
    throw new Error(`no flag setter ${setter.name}`)
  }

  // ---- memory ----
  /**
   * Host offset of an access of `size` bytes at (aL, aH) into `h`, or a side exit: page
   * crossing, TLB miss the fill cannot serve, or (tag checking on, `checked` access on a
   * Tagged page) a tag that differs from the pointer's or a second granule.
   */
  access(b: Block, k: number, aL: string, aH: string, size: number, isWrite: boolean, checked: boolean): void {
    const exit = this.sideExit(b, k)
    if (size > 1) this.line(`if ((${aL} & 4095) > ${4096 - size}) ${exit}`)
    const key = (isWrite ? TLB_WRITE_KEY : TLB_READ_KEY) / 4
    this.line(`e = ${TLB / 4} + (((${aL} >>> 12) & ${TLB_ENTRIES - 1}) << ${Math.log2(TLB_ENTRY_BYTES / 4)})`)
    this.line(`if (S32[e + ${key}] !== (${aL} & -4096) || S32[e + ${key + 1}] !== (${aH} & 16777215)) { if (fill(${aL}, ${aH}, ${isWrite ? 1 : 0}) === 0) ${exit} }`)
    this.line(`h = S32[e + ${TLB_HOST / 4}] + (${aL} & 4095)`)
    if (this.checks && checked) {
      const cross = size > 1 ? `if ((${aL} & 15) > ${16 - size}) ${exit} ` : ''
      this.line(`tg = S32[e + ${TLB_TAGS / 4}]`)
      this.line(`if (tg >= 0) { ${cross}g = (${aL} & 4095) >>> 4; if (U8[tg + g] !== ((${aH} >>> 24) & 15)) ${exit} }`)
    }
  }
  load(d: Pair, size: number, at = 'h'): void {
    switch (size) {
      case 1:
        this.line(`${d[0]} = U8[${at}]; ${d[1]} = 0`)
        break
      case 2:
        this.line(`${d[0]} = DV.getUint16(${at}, true); ${d[1]} = 0`)
        break
      case 4:
        this.line(`${d[0]} = DV.getInt32(${at}, true); ${d[1]} = 0`)
        break
      default:
        this.line(`if ((${at} & 3) === 0) { ${d[0]} = S32[${at} >> 2]; ${d[1]} = S32[(${at} >> 2) + 1] } else { ${d[0]} = DV.getInt32(${at}, true); ${d[1]} = DV.getInt32(${at} + 4, true) }`)
    }
  }
  store(v: Pair, size: number, at = 'h'): void {
    switch (size) {
      case 1:
        this.line(`U8[${at}] = ${v[0]}`)
        break
      case 2:
        this.line(`DV.setUint16(${at}, ${v[0]}, true)`)
        break
      case 4:
        this.line(`DV.setInt32(${at}, ${v[0]}, true)`)
        break
      default:
        this.line(`if ((${at} & 3) === 0) { S32[${at} >> 2] = ${v[0]}; S32[(${at} >> 2) + 1] = ${v[1]} } else { DV.setInt32(${at}, ${v[0]}, true); DV.setInt32(${at} + 4, ${v[1]}, true) }`)
    }
  }
  /** Index modes of STG/LDP/STP: 1 post-index (Xn += imm), 3 pre-index (Xn = the address in aL/aH). */
  writeBack(n: Pair, mode: number, imm: number): void {
    if (mode === 1) this.addImm(n, n, imm)
    else if (mode === 3) this.line(`${n[0]} = aL; ${n[1]} = aH`)
  }
  /** Writes a loaded value (a) into register rt; discards for XZR. */
  setReg(rt: number, v: Pair): void {
    if (rt === ZR) return
    const d = reg(rt)
    this.line(`${d[0]} = ${v[0]}; ${d[1]} = ${v[1]}`)
  }

  // ---- instructions ----
  insn(b: Block, k: number): void {
    const d = b.insns[k]!.d
    this.line(`// ${d.name}`)
    switch (d.name) {
      case 'ADD_i':
      case 'SUB_i': {
        const dst = reg(f(d.rd, true))
        const imm = d.name === 'ADD_i' ? d.imm : -d.imm
        if (d.sf) this.addImm(dst, reg(f(d.rn, true)), imm)
        else this.line(`${dst[0]} = (${reg(f(d.rn, true))[0]} + ${imm}) | 0; ${dst[1]} = 0`)
        break
      }
      case 'SUBS_i': {
        const a = reg(f(d.rn, true))
        this.setSub(a, [String(d.imm), '0'], d.sf)
        if (d.rd !== 31) this.result(d.rd, d.sf)
        break
      }
      case 'SUBS_r': {
        const m = this.shifted(reg(f(d.rm)), d.shift, d.amount, d.sf)
        this.setSub(reg(f(d.rn)), m, d.sf)
        if (d.rd !== 31) this.result(d.rd, d.sf)
        break
      }
      case 'ADD_r':
      case 'SUB_r': {
        if (d.rd === 31) break
        const m = this.shifted(reg(f(d.rm)), d.shift, d.amount, d.sf)
        const dst = reg(d.rd)
        if (d.sf) {
          if (d.name === 'ADD_r') this.add(dst, reg(f(d.rn)), m)
          else this.sub(dst, reg(f(d.rn)), m)
        } else {
          this.line(`${dst[0]} = (${reg(f(d.rn))[0]} ${d.name === 'ADD_r' ? '+' : '-'} ${m[0]}) | 0; ${dst[1]} = 0`)
        }
        break
      }
      case 'AND_i': {
        const dst = reg(f(d.rd, true))
        const n = reg(f(d.rn))
        this.line(`${dst[0]} = ${n[0]} & ${d.immLo | 0}; ${dst[1]} = ${d.sf ? `${n[1]} & ${d.immHi | 0}` : '0'}`)
        break
      }
      case 'ORR_r':
      case 'ORN_r':
      case 'EOR_r': {
        if (d.rd === 31) break
        const m = this.shifted(reg(f(d.rm)), d.shift, d.amount, d.sf)
        const n = reg(f(d.rn))
        const dst = reg(d.rd)
        const op = d.name === 'EOR_r' ? '^' : '|'
        const inv = d.name === 'ORN_r' ? '~' : ''
        const lo = n[0] === '0' ? `${inv}${m[0]}` : `${n[0]} ${op} ${inv}${m[0]}`
        const hi = d.sf ? (n[1] === '0' ? `${inv}${m[1]}` : `${n[1]} ${op} ${inv}${m[1]}`) : '0'
        this.line(`t = ${lo}; ${dst[1]} = ${hi}; ${dst[0]} = t`)
        break
      }
      case 'MOVZ':
      case 'MOVN': {
        if (d.rd === 31) break
        const dst = reg(d.rd)
        const shift = d.shift
        let lo = shift < 32 ? (d.imm16 << shift) | 0 : 0
        let hi = shift >= 32 ? (d.imm16 << (shift - 32)) | 0 : 0
        if (d.name === 'MOVN') {
          lo = ~lo
          hi = d.sf ? ~hi : 0
        }
        this.line(`${dst[0]} = ${lo}; ${dst[1]} = ${hi}`)
        break
      }
      case 'MADD': {
        if (d.rd === 31) break
        const n = reg(f(d.rn))
        const m = reg(f(d.rm))
        const a = reg(f(d.ra))
        const dst = reg(d.rd)
        if (!d.sf) {
          this.line(`${dst[0]} = (Math.imul(${n[0]}, ${m[0]}) + ${a[0]}) | 0; ${dst[1]} = 0`)
          break
        }
        this.line(`p0 = ${n[0]} & 65535; p1 = ${n[0]} >>> 16; q0 = ${m[0]} & 65535; q1 = ${m[0]} >>> 16`)
        this.line(`r00 = p0 * q0; r01 = p0 * q1; r10 = p1 * q0; mid = (r00 >>> 16) + (r01 & 65535) + (r10 & 65535)`)
        this.line(`sh = (p1 * q1 + (r01 >>> 16) + (r10 >>> 16) + (mid >>> 16) + Math.imul(${n[0]}, ${m[1]}) + Math.imul(${n[1]}, ${m[0]})) | 0; sl = Math.imul(${n[0]}, ${m[0]})`)
        this.add(dst, ['sl', 'sh'], a)
        break
      }
      case 'CCMP_r': {
        this.line(`ccT = ${this.cond(b, k, d.cond)}`)
        const n = reg(f(d.rn))
        const m = reg(f(d.rm))
        this.line(`if (ccT) { ccOp = ${d.sf ? CC_SUB64 : CC_SUB32}; ccAl = ${n[0]}; ccAh = ${d.sf ? n[1] : '0'}; ccBl = ${m[0]}; ccBh = ${d.sf ? m[1] : '0'} } else { ccOp = 0; ccLit = ${d.nzcv << 28} }`)
        break
      }
      case 'CRC32C': {
        const acc = reg(f(d.rn))[0]
        const [vl, vh] = reg(f(d.rm))
        const dst = reg(f(d.rd))
        if (d.sz === 3) {
          this.line(`c = ${acc} ^ ${vl}; t = ${vh}`)
          this.line(`c = CRC[${7 * 256} + (c & 255)] ^ CRC[${6 * 256} + ((c >>> 8) & 255)] ^ CRC[${5 * 256} + ((c >>> 16) & 255)] ^ CRC[${4 * 256} + (c >>> 24)] ^ CRC[${3 * 256} + (t & 255)] ^ CRC[${2 * 256} + ((t >>> 8) & 255)] ^ CRC[256 + ((t >>> 16) & 255)] ^ CRC[t >>> 24]`)
        } else if (d.sz === 2) {
          this.line(`c = ${acc} ^ ${vl}`)
          this.line(`c = CRC[${3 * 256} + (c & 255)] ^ CRC[${2 * 256} + ((c >>> 8) & 255)] ^ CRC[256 + ((c >>> 16) & 255)] ^ CRC[c >>> 24]`)
        } else {
          this.line(`c = ${acc}`)
          for (let i = 0; i < 1 << d.sz; i++) this.line(`c = CRC[(c ^ (${vl} >>> ${8 * i})) & 255] ^ (c >>> 8)`)
        }
        if (d.rd !== 31) this.line(`${dst[0]} = c; ${dst[1]} = 0`)
        break
      }
      case 'IRG': {
        const n = reg(f(d.rn, true))
        const m = reg(f(d.rm))
        const dst = reg(f(d.rd, true))
        this.line(`t = irg(${m[0]}); ${dst[0]} = ${n[0]}; ${dst[1]} = (${n[1]} & -251658241) | (t << 24)`)
        break
      }
      case 'ADDG': {
        const n = reg(f(d.rn, true))
        const dst = reg(f(d.rd, true))
        this.line(`c = S32[${(STATE + ST_GCR) >> 2}] & 65535; c = c === 0 ? ((${n[1]} >>> 24) + ${d.tag}) & 15 : addgTag((${n[1]} >>> 24) & 15, ${d.tag})`)
        this.addImm(['aL', 'aH'], n, d.offset)
        this.line(`${dst[0]} = aL; ${dst[1]} = (aH & -251658241) | (c << 24)`)
        break
      }
      case 'STG': {
        const n = reg(f(d.rn, true))
        const tval = reg(f(d.rt, true))
        this.line(`tv = (${tval[1]} >>> 24) & 15`) // before a writeback of the same register
        this.addImm(['aL', 'aH'], n, d.mode === 1 ? 0 : d.imm)
        this.line(`if ((aL & 15) !== 0) ${this.sideExit(b, k)}`)
        this.access(b, k, 'aL', 'aH', 1, true, false)
        this.line(`tg = S32[e + ${TLB_TAGS / 4}]`)
        this.line(`if (tg >= 0) U8[tg + ((aL & 4095) >>> 4)] = tv`)
        this.writeBack(n, d.mode, d.imm)
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
        const n = reg(f(d.rn, true))
        const post = d.name.endsWith('_post')
        this.addImm(['aL', 'aH'], n, post ? 0 : d.imm)
        // MTE: accesses based on SP with an immediate offset are not checked.
        this.access(b, k, 'aL', 'aH', size, isWrite, d.rn !== 31)
        if (isWrite) this.store(reg(f(d.rt)), size)
        else this.load(['vL', 'vH'], size)
        if (post) this.addImm(n, n, d.imm)
        if (!isWrite) this.setReg(f(d.rt), ['vL', 'vH'])
        break
      }
      case 'LDR_reg':
      case 'STR_reg': {
        const isWrite = d.name === 'STR_reg'
        const size = 1 << d.size
        const n = reg(f(d.rn, true))
        const m = reg(f(d.rm))
        let off: Pair
        if (d.option === 3 || d.option === 7) off = this.shifted(m, 0, d.amount, 1)
        else {
          this.line(d.option === 2 ? `ol = ${m[0]}; oh = 0` : `ol = ${m[0]}; oh = ${m[0]} >> 31`)
          off = this.shifted(['ol', 'oh'], 0, d.amount, 1)
        }
        this.add(['aL', 'aH'], n, off)
        this.access(b, k, 'aL', 'aH', size, isWrite, true)
        if (isWrite) this.store(reg(f(d.rt)), size)
        else {
          this.load(['vL', 'vH'], size)
          this.setReg(f(d.rt), ['vL', 'vH'])
        }
        break
      }
      case 'LDP':
      case 'STP': {
        if (!d.sf) throw new Error('32-bit pairs are not in the kernels')
        const isWrite = d.name === 'STP'
        const n = reg(f(d.rn, true))
        this.addImm(['aL', 'aH'], n, d.mode === 1 ? 0 : d.imm)
        this.access(b, k, 'aL', 'aH', 16, isWrite, d.rn !== 31)
        if (isWrite) {
          this.store(reg(f(d.rt)), 8)
          this.line('h2 = h + 8')
          this.store(reg(f(d.rt2)), 8, 'h2')
        } else {
          this.load(['vL', 'vH'], 8)
          this.line('h2 = h + 8')
          this.load(['wL', 'wH'], 8, 'h2')
        }
        this.writeBack(n, d.mode, d.imm)
        if (!isWrite) {
          this.setReg(f(d.rt), ['vL', 'vH'])
          this.setReg(f(d.rt2), ['wL', 'wH'])
        }
        break
      }
      case 'B':
      case 'B_cond':
      case 'CBZ':
      case 'CBNZ':
      case 'RET':
        break // the block's terminator
      default:
        throw new Error(`the JS translator has no ${d.name}`)
    }
  }

  /** Writes the SUBS result (ccA - ccB) to Xd/Wd. */
  private result(rd: number, sf: number): void {
    const dst = reg(rd)
    if (sf) this.sub(dst, ['ccAl', 'ccAh'], ['ccBl', 'ccBh'])
    else this.line(`${dst[0]} = (ccAl - ccBl) | 0; ${dst[1]} = 0`)
  }

  /** The taken condition of a conditional branch at the end of block b. */
  branchCond(b: Block): string {
    const k = b.insns.length - 1
    const d: Instruction = b.insns[k]!.d
    switch (d.name) {
      case 'B_cond':
        return this.cond(b, k, d.cond)
      case 'CBZ':
      case 'CBNZ': {
        const [l, h] = reg(f(d.rt))
        const zero = d.sf ? `(${l} | ${h}) === 0` : `${l} === 0`
        return d.name === 'CBZ' ? zero : `!(${zero})`
      }
      default:
        throw new Error(`not a conditional branch: ${d.name}`)
    }
  }

  block(i: number): void {
    const b = this.region.blocks[i]!
    const n = b.insns.length
    const t = b.term
    const selfLoop = this.region.internalBranches && (t.kind === 'cond' || t.kind === 'jump') && t.target === b.start ? `self${i}` : null
    const fallsTo = i + 1 < this.region.blocks.length ? i + 1 : null
    this.line(`case ${i}:`)
    if (selfLoop !== null) this.line(`${selfLoop}: for (;;) {`)
    if (n > 0) {
      this.line(`if (left < ${n}) { exitL = ${hex(b.start)} | 0; exitH = 0; code = ${EXIT_BUDGET}; break dispatch }`)
      this.line(`left -= ${n}`)
    }
    for (let k = 0; k < n; k++) this.insn(b, k)
    switch (t.kind) {
      case 'fall':
        this.line(this.goto(t.next, null, i, selfLoop === null ? fallsTo : null))
        break
      case 'jump':
        this.line(this.goto(t.target, selfLoop, i, null))
        break
      case 'cond':
        this.line(`if (${this.branchCond(b)}) ${this.goto(t.target, selfLoop, i, null) || '{}'}`)
        if (selfLoop !== null) this.line('break }')
        this.line(this.goto(t.next, null, i, fallsTo))
        break
      case 'indirect': {
        const [l, h] = reg(f(t.reg))
        this.line(this.branchExit(l, h))
        break
      }
      case 'unsupported':
        this.line(`{ exitL = ${hex(t.pc)} | 0; exitH = 0; code = ${EXIT_SLOW}; break dispatch }`)
        break
    }
    if (selfLoop !== null && t.kind === 'jump') this.line('}')
  }
}

const TEMPS = [
  't', 'c', 'e', 'h', 'h2', 'tg', 'g', 'tb', 'tv', 'aL', 'aH', 'vL', 'vH', 'wL', 'wH', 'sl', 'sh', 'ol', 'oh', 'p0', 'p1',
  'q0', 'q1', 'r00', 'r01', 'r10', 'mid',
]

/** Makes every source unique: V8 caches what `new Function` compiles by its source text. */
let salt = 0

/** JavaScript source of a region's function and how many exit sites it has. */
export function jsSource(region: Region, checks: boolean): { source: string; sites: number } {
  const em = new JsEmitter(region, checks)
  em.line(`// region at 0x${region.entry.toString(16)}, translation ${salt++}`)
  const regs = [...new Set([...region.reads, ...region.writes])].sort((a, b) => a - b)
  const off = (r: number): number => (STATE + (r === SP ? ST_SP : ST_X + 8 * r)) >> 2
  em.line('return function region(entry) {')
  for (const r of regs) {
    const [l, h] = reg(r)
    em.line(`let ${l} = S32[${off(r)}], ${h} = S32[${off(r) + 1}]`)
  }
  em.line(`let left = S32[${(STATE + ST_LEFT) >> 2}]`)
  const cc = { op: (STATE + ST_CC_OP) >> 2, a: (STATE + ST_CC_A) >> 2, b: (STATE + ST_CC_B) >> 2, lit: (STATE + ST_NZCV) >> 2 }
  em.line(`let ccOp = S32[${cc.op}], ccAl = S32[${cc.a}], ccAh = S32[${cc.a + 1}], ccBl = S32[${cc.b}], ccBh = S32[${cc.b + 1}], ccT = 0, ccLit = S32[${cc.lit}]`)
  em.line('let exitL = 0, exitH = 0, code = 0, site = 0, bb = entry')
  em.line(`let ${TEMPS.map((t) => `${t} = 0`).join(', ')}`)
  em.line('dispatch: for (;;) {')
  em.line('switch (bb) {')
  for (let i = 0; i < region.blocks.length; i++) em.block(i)
  em.line(`default: throw new Error('no block ' + bb)`)
  em.line('}')
  em.line('}')
  for (const r of [...region.writes].sort((a, b) => a - b)) {
    const [l, h] = reg(r)
    em.line(`S32[${off(r)}] = ${l}; S32[${off(r) + 1}] = ${h}`)
  }
  em.line(`S32[${(STATE + ST_LEFT) >> 2}] = left`)
  em.line(`S32[${cc.op}] = ccOp; S32[${cc.a}] = ccAl; S32[${cc.a + 1}] = ccAh; S32[${cc.b}] = ccBl; S32[${cc.b + 1}] = ccBh; S32[${cc.lit}] = ccLit`)
  em.line(`S32[${(STATE + ST_PC) >> 2}] = exitL; S32[${((STATE + ST_PC) >> 2) + 1}] = exitH`)
  em.line(`S32[${(STATE + ST_EXIT_SITE) >> 2}] = site`)
  em.line('return code')
  em.line('}')
  return { source: em.source(), sites: em.sites }
}

type Factory = (...args: unknown[]) => (entry: number) => number

export const jsBackend: Backend = {
  name: 'js',
  compile(region: Region, rt: TierRuntime): Translation {
    const t0 = process.cpuUsage()
    const { source, sites } = jsSource(region, rt.checks)
    const codegenMs = cpuMsSince(t0)
    const t1 = process.cpuUsage()
    const factory = new Function(
      'S32', 'U8', 'DV', 'CRC', 'fill', 'irg', 'addgTag', 'nzcvOf', 'condHolds', source,
    ) as Factory
    const run = factory(rt.s32, rt.u8, rt.dv, rt.crc, rt.fill, rt.irg, rt.addgTag, nzcvOf, condHolds)
    const compileMs = cpuMsSince(t1)
    return { run, region, links: new Array<undefined>(sites).fill(undefined), codeBytes: source.length, codegenMs, compileMs }
  },
}
