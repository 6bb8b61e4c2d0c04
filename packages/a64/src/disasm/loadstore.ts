// LLVM 14 text for general-register loads and stores (literal, exclusive, acquire/release,
// CAS, RCpc, pairs, register forms, PAuth LDRA, LSE atomics).
import type { PrinterTable } from '../printer-types.js'
import { EXTENDS, gr, imm, insn, wr, xr, xsp } from '../print-helpers.js'

const SIZE_SUFFIX = ['b', 'h', '', ''] as const

/** LLVM's prefetch operation names (PRFM/PRFUM): type, target level, policy. */
function prfop(op: number): string {
  const type = ['pld', 'pli', 'pst'][op >>> 3]
  const target = (op >>> 1) & 3
  if (type === undefined || target === 3) return imm(op)
  return `${type}l${target + 1}${op & 1 ? 'strm' : 'keep'}`
}

/** Register width for a load/store of `size` (log2 bytes) into a general register. */
function rt(size: number, n: number): string {
  return gr(size === 3 ? 1 : 0, n)
}

function base(rn: number): string {
  return `[${xsp(rn)}]`
}

function offsetMem(rn: number, offset: number): string {
  return offset === 0 ? `[${xsp(rn)}]` : `[${xsp(rn)}, #${offset}]`
}

function preMem(rn: number, offset: number): string {
  return `[${xsp(rn)}, #${offset}]!`
}

function postMem(rn: number, offset: number): string {
  return `[${xsp(rn)}], #${offset}`
}

/** Pair and STGP addressing; mode 0/2 offset, 1 post-index, 3 pre-index. */
function pairMem(rn: number, offset: number, mode: number): string {
  if (mode === 1) return postMem(rn, offset)
  if (mode === 3) return preMem(rn, offset)
  return offsetMem(rn, offset)
}

interface RegOffset {
  readonly size: number
  readonly rn: number
  readonly rm: number
  readonly option: number
  readonly s: number
}

/** `[xn, xm{, lsl #n}]` / `[xn, wm, uxtw{ #n}]` as LLVM prints the register offset. */
function regMem(i: RegOffset, size: number): string {
  const index = i.option & 1 ? xr(i.rm) : wr(i.rm)
  const amount = i.s ? size : 0
  if (i.option === 3) return `[${xsp(i.rn)}, ${index}${i.s ? `, lsl #${amount}` : ''}]`
  return `[${xsp(i.rn)}, ${index}, ${EXTENDS[i.option]}${i.s ? ` #${amount}` : ''}]`
}

const signedLoad = (m: string, size: number): string => `${m}s${'bhw'[size]}`

type AtomicOp = 'add' | 'clr' | 'eor' | 'set' | 'smax' | 'smin' | 'umax' | 'umin'

interface Atomic {
  readonly size: number
  readonly a: number
  readonly r: number
  readonly rs: number
  readonly rn: number
  readonly rt: number
}

function atomic(op: AtomicOp, i: Atomic): string {
  const order = (i.a ? 'a' : '') + (i.r ? 'l' : '')
  const suffix = SIZE_SUFFIX[i.size]
  if (!i.a && i.rt === 31) return insn(`st${op}${order}${suffix}`, rt(i.size, i.rs), base(i.rn))
  return insn(`ld${op}${order}${suffix}`, rt(i.size, i.rs), rt(i.size, i.rt), base(i.rn))
}

export const printers: PrinterTable = {
  LDR_lit: (i) => insn('ldr', gr(i.sf, i.rt), imm(i.imm)),
  LDRSW_lit: (i) => insn('ldrsw', xr(i.rt), imm(i.imm)),
  PRFM_lit: (i) => insn('prfm', prfop(i.rt), imm(i.imm)),

  STXR: (i) => insn(`stxr${SIZE_SUFFIX[i.size]}`, wr(i.rs), rt(i.size, i.rt), base(i.rn)),
  STLXR: (i) => insn(`stlxr${SIZE_SUFFIX[i.size]}`, wr(i.rs), rt(i.size, i.rt), base(i.rn)),
  LDXR: (i) => insn(`ldxr${SIZE_SUFFIX[i.size]}`, rt(i.size, i.rt), base(i.rn)),
  LDAXR: (i) => insn(`ldaxr${SIZE_SUFFIX[i.size]}`, rt(i.size, i.rt), base(i.rn)),
  STXP: (i) => insn('stxp', wr(i.rs), gr(i.sf, i.rt), gr(i.sf, i.rt2), base(i.rn)),
  STLXP: (i) => insn('stlxp', wr(i.rs), gr(i.sf, i.rt), gr(i.sf, i.rt2), base(i.rn)),
  LDXP: (i) => insn('ldxp', gr(i.sf, i.rt), gr(i.sf, i.rt2), base(i.rn)),
  LDAXP: (i) => insn('ldaxp', gr(i.sf, i.rt), gr(i.sf, i.rt2), base(i.rn)),
  CASP: (i) => insn('casp', gr(i.sf, i.rs), gr(i.sf, i.rs + 1), gr(i.sf, i.rt), gr(i.sf, i.rt + 1), base(i.rn)),
  CASPL: (i) => insn('caspl', gr(i.sf, i.rs), gr(i.sf, i.rs + 1), gr(i.sf, i.rt), gr(i.sf, i.rt + 1), base(i.rn)),
  CASPA: (i) => insn('caspa', gr(i.sf, i.rs), gr(i.sf, i.rs + 1), gr(i.sf, i.rt), gr(i.sf, i.rt + 1), base(i.rn)),
  CASPAL: (i) => insn('caspal', gr(i.sf, i.rs), gr(i.sf, i.rs + 1), gr(i.sf, i.rt), gr(i.sf, i.rt + 1), base(i.rn)),
  STLLR: (i) => insn(`stllr${SIZE_SUFFIX[i.size]}`, rt(i.size, i.rt), base(i.rn)),
  STLR: (i) => insn(`stlr${SIZE_SUFFIX[i.size]}`, rt(i.size, i.rt), base(i.rn)),
  LDLAR: (i) => insn(`ldlar${SIZE_SUFFIX[i.size]}`, rt(i.size, i.rt), base(i.rn)),
  LDAR: (i) => insn(`ldar${SIZE_SUFFIX[i.size]}`, rt(i.size, i.rt), base(i.rn)),
  CAS: (i) => insn(`cas${SIZE_SUFFIX[i.size]}`, rt(i.size, i.rs), rt(i.size, i.rt), base(i.rn)),
  CASL: (i) => insn(`casl${SIZE_SUFFIX[i.size]}`, rt(i.size, i.rs), rt(i.size, i.rt), base(i.rn)),
  CASA: (i) => insn(`casa${SIZE_SUFFIX[i.size]}`, rt(i.size, i.rs), rt(i.size, i.rt), base(i.rn)),
  CASAL: (i) => insn(`casal${SIZE_SUFFIX[i.size]}`, rt(i.size, i.rs), rt(i.size, i.rt), base(i.rn)),

  STLUR: (i) => insn(`stlur${SIZE_SUFFIX[i.size]}`, rt(i.size, i.rt), offsetMem(i.rn, i.imm)),
  LDAPUR: (i) => insn(`ldapur${SIZE_SUFFIX[i.size]}`, rt(i.size, i.rt), offsetMem(i.rn, i.imm)),
  LDAPURS: (i) => insn(signedLoad('ldapur', i.size), gr(i.sf, i.rt), offsetMem(i.rn, i.imm)),

  STP: (i) => insn(i.mode ? 'stp' : 'stnp', gr(i.sf, i.rt), gr(i.sf, i.rt2), pairMem(i.rn, i.imm, i.mode)),
  LDP: (i) => insn(i.mode ? 'ldp' : 'ldnp', gr(i.sf, i.rt), gr(i.sf, i.rt2), pairMem(i.rn, i.imm, i.mode)),
  LDPSW: (i) => insn('ldpsw', xr(i.rt), xr(i.rt2), pairMem(i.rn, i.imm, i.mode)),

  PRFM_ui: (i) => insn('prfm', prfop(i.rt), offsetMem(i.rn, i.imm)),
  PRFUM: (i) => insn('prfum', prfop(i.rt), offsetMem(i.rn, i.imm)),
  PRFM_reg: (i) => insn('prfm', prfop(i.rt), regMem({ ...i, size: 3 }, 3)),
  STR_ui: (i) => insn(`str${SIZE_SUFFIX[i.size]}`, rt(i.size, i.rt), offsetMem(i.rn, i.imm)),
  LDR_ui: (i) => insn(`ldr${SIZE_SUFFIX[i.size]}`, rt(i.size, i.rt), offsetMem(i.rn, i.imm)),
  LDRS_ui: (i) => insn(signedLoad('ldr', i.size), gr(i.sf, i.rt), offsetMem(i.rn, i.imm)),
  STUR: (i) => insn(`stur${SIZE_SUFFIX[i.size]}`, rt(i.size, i.rt), offsetMem(i.rn, i.imm)),
  LDUR: (i) => insn(`ldur${SIZE_SUFFIX[i.size]}`, rt(i.size, i.rt), offsetMem(i.rn, i.imm)),
  LDURS: (i) => insn(signedLoad('ldur', i.size), gr(i.sf, i.rt), offsetMem(i.rn, i.imm)),
  STR_post: (i) => insn(`str${SIZE_SUFFIX[i.size]}`, rt(i.size, i.rt), postMem(i.rn, i.imm)),
  LDR_post: (i) => insn(`ldr${SIZE_SUFFIX[i.size]}`, rt(i.size, i.rt), postMem(i.rn, i.imm)),
  LDRS_post: (i) => insn(signedLoad('ldr', i.size), gr(i.sf, i.rt), postMem(i.rn, i.imm)),
  STTR: (i) => insn(`sttr${SIZE_SUFFIX[i.size]}`, rt(i.size, i.rt), offsetMem(i.rn, i.imm)),
  LDTR: (i) => insn(`ldtr${SIZE_SUFFIX[i.size]}`, rt(i.size, i.rt), offsetMem(i.rn, i.imm)),
  LDTRS: (i) => insn(signedLoad('ldtr', i.size), gr(i.sf, i.rt), offsetMem(i.rn, i.imm)),
  STR_pre: (i) => insn(`str${SIZE_SUFFIX[i.size]}`, rt(i.size, i.rt), preMem(i.rn, i.imm)),
  LDR_pre: (i) => insn(`ldr${SIZE_SUFFIX[i.size]}`, rt(i.size, i.rt), preMem(i.rn, i.imm)),
  LDRS_pre: (i) => insn(signedLoad('ldr', i.size), gr(i.sf, i.rt), preMem(i.rn, i.imm)),
  STR_reg: (i) => insn(`str${SIZE_SUFFIX[i.size]}`, rt(i.size, i.rt), regMem(i, i.size)),
  LDR_reg: (i) => insn(`ldr${SIZE_SUFFIX[i.size]}`, rt(i.size, i.rt), regMem(i, i.size)),
  LDRS_reg: (i) => insn(signedLoad('ldr', i.size), gr(i.sf, i.rt), regMem(i, i.size)),
  LDRA: (i) => insn(i.key ? 'ldrab' : 'ldraa', xr(i.rt), i.wb ? preMem(i.rn, i.imm) : offsetMem(i.rn, i.imm)),

  LDAPR: (i) => insn(`ldapr${SIZE_SUFFIX[i.size]}`, rt(i.size, i.rt), base(i.rn)),
  LDADD: (i) => atomic('add', i),
  LDCLR: (i) => atomic('clr', i),
  LDEOR: (i) => atomic('eor', i),
  LDSET: (i) => atomic('set', i),
  LDSMAX: (i) => atomic('smax', i),
  LDSMIN: (i) => atomic('smin', i),
  LDUMAX: (i) => atomic('umax', i),
  LDUMIN: (i) => atomic('umin', i),
  SWP: (i) => insn(`swp${i.a ? 'a' : ''}${i.r ? 'l' : ''}${SIZE_SUFFIX[i.size]}`, rt(i.size, i.rs), rt(i.size, i.rt), base(i.rn)),
}
