// LLVM 14 text for the base (non-FP/SIMD) instructions, including LLVM's preferred aliases.
import type { PrinterTable } from '../printer-types.js'
import { cond, gr, grsp, hex, imm, insn, shiftSuffix, wr, xr, xsp, EXTENDS } from '../print-helpers.js'
import { movnAlias, movzAlias, orrMovAlias } from '../print-mov.js'
import { pstateFieldName, sysregReadName, sysregWriteName } from '../sysreg-names.js'
import { sysAliasText } from '../sys-op-names.js'

const BARRIER_NAMES: readonly (string | undefined)[] = [
  undefined, 'oshld', 'oshst', 'osh', undefined, 'nshld', 'nshst', 'nsh',
  undefined, 'ishld', 'ishst', 'ish', undefined, 'ld', 'st', 'sy',
]

function barrier(crm: number): string {
  return BARRIER_NAMES[crm] ?? `#${crm}`
}

/** Condition inverted (for cset/cinc/... aliases). */
function invCond(c: number): string {
  return cond(c ^ 1)
}

/** `, <extend> #n` for ADD/SUB (extended register), with LLVM's `lsl` form next to SP. */
function extendSuffix(sf: number, option: number, amount: number, rd: number, rn: number, rdIsSp: boolean): string {
  const lslForm = sf ? 3 : 2
  if (option === lslForm && ((rdIsSp && rd === 31) || rn === 31)) return amount ? `, lsl #${amount}` : ''
  return `, ${EXTENDS[option]}${amount ? ` #${amount}` : ''}`
}

const PAC_KEYS = ['ia', 'ib', 'da', 'db'] as const
const AB = ['a', 'b'] as const

export const printers: PrinterTable = {
  // Data processing: immediate
  ADD_i: (i) => {
    if (i.imm === 0 && !i.sh && (i.rd === 31 || i.rn === 31)) return insn('mov', grsp(i.sf, i.rd), grsp(i.sf, i.rn))
    return insn('add', grsp(i.sf, i.rd), grsp(i.sf, i.rn), imm(i.imm12) + (i.sh ? ', lsl #12' : ''))
  },
  ADDS_i: (i) =>
    i.rd === 31
      ? insn('cmn', grsp(i.sf, i.rn), imm(i.imm12) + (i.sh ? ', lsl #12' : ''))
      : insn('adds', gr(i.sf, i.rd), grsp(i.sf, i.rn), imm(i.imm12) + (i.sh ? ', lsl #12' : '')),
  SUB_i: (i) => insn('sub', grsp(i.sf, i.rd), grsp(i.sf, i.rn), imm(i.imm12) + (i.sh ? ', lsl #12' : '')),
  SUBS_i: (i) =>
    i.rd === 31
      ? insn('cmp', grsp(i.sf, i.rn), imm(i.imm12) + (i.sh ? ', lsl #12' : ''))
      : insn('subs', gr(i.sf, i.rd), grsp(i.sf, i.rn), imm(i.imm12) + (i.sh ? ', lsl #12' : '')),
  ADDG: (i) => insn('addg', xsp(i.rd), xsp(i.rn), imm(i.offset), imm(i.tag)),
  SUBG: (i) => insn('subg', xsp(i.rd), xsp(i.rn), imm(i.offset), imm(i.tag)),
  ADR: (i) => insn('adr', xr(i.rd), imm(i.imm)),
  ADRP: (i) => insn('adrp', xr(i.rd), imm(i.imm)),
  AND_i: (i) => insn('and', grsp(i.sf, i.rd), gr(i.sf, i.rn), logicalImm(i.sf, i.immHi, i.immLo)),
  ORR_i: (i) => {
    const alias = i.rn === 31 ? orrMovAlias(i.immHi, i.immLo, i.sf ? 64 : 32) : undefined
    if (alias) return insn('mov', grsp(i.sf, i.rd), alias)
    return insn('orr', grsp(i.sf, i.rd), gr(i.sf, i.rn), logicalImm(i.sf, i.immHi, i.immLo))
  },
  EOR_i: (i) => insn('eor', grsp(i.sf, i.rd), gr(i.sf, i.rn), logicalImm(i.sf, i.immHi, i.immLo)),
  ANDS_i: (i) =>
    i.rd === 31
      ? insn('tst', gr(i.sf, i.rn), logicalImm(i.sf, i.immHi, i.immLo))
      : insn('ands', gr(i.sf, i.rd), gr(i.sf, i.rn), logicalImm(i.sf, i.immHi, i.immLo)),
  MOVN: (i) => {
    const alias = movnAlias(i.imm16, i.shift, i.sf ? 64 : 32)
    if (alias) return insn('mov', gr(i.sf, i.rd), alias)
    return insn('movn', gr(i.sf, i.rd), imm(i.imm16) + (i.shift ? `, lsl #${i.shift}` : ''))
  },
  MOVZ: (i) => {
    const alias = movzAlias(i.imm16, i.shift, i.sf ? 64 : 32)
    if (alias) return insn('mov', gr(i.sf, i.rd), alias)
    return insn('movz', gr(i.sf, i.rd), imm(i.imm16) + (i.shift ? `, lsl #${i.shift}` : ''))
  },
  MOVK: (i) => insn('movk', gr(i.sf, i.rd), imm(i.imm16) + (i.shift ? `, lsl #${i.shift}` : '')),
  SBFM: (i) => bitfieldMove(true, i.sf, i.rd, i.rn, i.immr, i.imms),
  UBFM: (i) => bitfieldMove(false, i.sf, i.rd, i.rn, i.immr, i.imms),
  BFM: (i) => {
    const width = i.sf ? 64 : 32
    if (i.rn === 31 && (i.immr === 0 || i.imms < i.immr)) {
      return insn('bfc', gr(i.sf, i.rd), imm((width - i.immr) % width), imm(i.imms + 1))
    }
    if (i.imms < i.immr) return insn('bfi', gr(i.sf, i.rd), gr(i.sf, i.rn), imm((width - i.immr) % width), imm(i.imms + 1))
    return insn('bfxil', gr(i.sf, i.rd), gr(i.sf, i.rn), imm(i.immr), imm(i.imms - i.immr + 1))
  },
  EXTR: (i) =>
    i.rn === i.rm
      ? insn('ror', gr(i.sf, i.rd), gr(i.sf, i.rn), imm(i.imms))
      : insn('extr', gr(i.sf, i.rd), gr(i.sf, i.rn), gr(i.sf, i.rm), imm(i.imms)),

  // Branches, exceptions, system
  B: (i) => insn('b', imm(i.imm)),
  BL: (i) => insn('bl', imm(i.imm)),
  B_cond: (i) => insn(`b.${cond(i.cond)}`, imm(i.imm)),
  CBZ: (i) => insn('cbz', gr(i.sf, i.rt), imm(i.imm)),
  CBNZ: (i) => insn('cbnz', gr(i.sf, i.rt), imm(i.imm)),
  TBZ: (i) => insn('tbz', gr(i.bit >= 32 ? 1 : 0, i.rt), imm(i.bit), imm(i.imm)),
  TBNZ: (i) => insn('tbnz', gr(i.bit >= 32 ? 1 : 0, i.rt), imm(i.bit), imm(i.imm)),
  BR: (i) => insn('br', xr(i.rn)),
  BLR: (i) => insn('blr', xr(i.rn)),
  RET: (i) => (i.rn === 30 ? 'ret' : insn('ret', xr(i.rn))),
  ERET: () => 'eret',
  DRPS: () => 'drps',
  BRAZ: (i) => insn(`bra${AB[i.key]}z`, xr(i.rn)),
  BLRAZ: (i) => insn(`blra${AB[i.key]}z`, xr(i.rn)),
  RETA: (i) => `reta${AB[i.key]}`,
  ERETA: (i) => `ereta${AB[i.key]}`,
  BRA: (i) => insn(`bra${AB[i.key]}`, xr(i.rn), xsp(i.rm)),
  BLRA: (i) => insn(`blra${AB[i.key]}`, xr(i.rn), xsp(i.rm)),
  SVC: (i) => insn('svc', excImm(i.imm16)),
  HVC: (i) => insn('hvc', excImm(i.imm16)),
  SMC: (i) => insn('smc', excImm(i.imm16)),
  BRK: (i) => insn('brk', excImm(i.imm16)),
  HLT: (i) => insn('hlt', excImm(i.imm16)),
  DCPS: (i) => (i.imm16 === 0 ? `dcps${i.level}` : insn(`dcps${i.level}`, excImm(i.imm16))),
  UDF: (i) => insn('udf', imm(i.imm16)),

  CFINV: () => 'cfinv',
  XAFLAG: () => 'xaflag',
  AXFLAG: () => 'axflag',
  MSR_i: (i) => {
    const name = pstateFieldName(i.op1, i.op2, i.crm)
    if (name) return insn('msr', name, imm(i.crm))
    return insn('msr', `S0_${i.op1}_C4_C${i.crm}_${i.op2}`, 'xzr')
  },
  NOP: () => 'nop',
  YIELD: () => 'yield',
  WFE: () => 'wfe',
  WFI: () => 'wfi',
  SEV: () => 'sev',
  SEVL: () => 'sevl',
  DGH: () => 'dgh',
  XPACLRI: () => 'xpaclri',
  PAC1716: (i) => (i.key ? 'pacib1716' : 'pacia1716'),
  AUT1716: (i) => (i.key ? 'autib1716' : 'autia1716'),
  ESB: () => 'esb',
  PSB_CSYNC: () => 'psb csync',
  TSB_CSYNC: () => 'tsb csync',
  CSDB: () => 'csdb',
  PACSP: (i) => `paci${AB[i.key]}${i.sp ? 'sp' : 'z'}`,
  AUTSP: (i) => `auti${AB[i.key]}${i.sp ? 'sp' : 'z'}`,
  BTI: (i) => ['bti', 'bti c', 'bti j', 'bti jc'][i.targets] as string,
  HINT: (i) => insn('hint', imm(i.imm)),
  CLREX: (i) => (i.crm === 15 ? 'clrex' : insn('clrex', imm(i.crm))),
  DSB: (i) => (i.crm === 0 ? 'ssbb' : i.crm === 4 ? 'pssbb' : insn('dsb', barrier(i.crm))),
  DMB: (i) => insn('dmb', barrier(i.crm)),
  ISB: (i) => (i.crm === 15 ? 'isb' : insn('isb', imm(i.crm))),
  SB: () => 'sb',
  SYS: (i) => {
    const alias = sysAliasText((i.op1 << 11) | (i.crn << 7) | (i.crm << 3) | i.op2, i.rt)
    if (alias) return alias
    const ops = [imm(i.op1), `c${i.crn}`, `c${i.crm}`, imm(i.op2)]
    if (i.rt !== 31) ops.push(xr(i.rt))
    return insn('sys', ...ops)
  },
  SYSL: (i) => insn('sysl', xr(i.rt), imm(i.op1), `c${i.crn}`, `c${i.crm}`, imm(i.op2)),
  MSR_r: (i) => insn('msr', sysregWriteName(i.sysreg), xr(i.rt)),
  MRS: (i) => insn('mrs', xr(i.rt), sysregReadName(i.sysreg)),
  MSR_S0: (i) => insn('msr', genericSysreg(i.sysreg), xr(i.rt)),
  MRS_S0: (i) => insn('mrs', xr(i.rt), genericSysreg(i.sysreg)),

  // Data processing: register
  AND_r: (i) => logicalReg('and', i),
  BIC_r: (i) => logicalReg('bic', i),
  ORR_r: (i) =>
    i.rn === 31 && i.shift === 0 && i.amount === 0 ? insn('mov', gr(i.sf, i.rd), gr(i.sf, i.rm)) : logicalReg('orr', i),
  ORN_r: (i) =>
    i.rn === 31 ? insn('mvn', gr(i.sf, i.rd), gr(i.sf, i.rm) + shiftSuffix(i.shift, i.amount)) : logicalReg('orn', i),
  EOR_r: (i) => logicalReg('eor', i),
  EON_r: (i) => logicalReg('eon', i),
  ANDS_r: (i) =>
    i.rd === 31 ? insn('tst', gr(i.sf, i.rn), gr(i.sf, i.rm) + shiftSuffix(i.shift, i.amount)) : logicalReg('ands', i),
  BICS_r: (i) => logicalReg('bics', i),
  ADD_r: (i) => arithReg('add', i),
  ADDS_r: (i) =>
    i.rd === 31 ? insn('cmn', gr(i.sf, i.rn), gr(i.sf, i.rm) + shiftSuffix(i.shift, i.amount)) : arithReg('adds', i),
  SUB_r: (i) =>
    i.rn === 31 ? insn('neg', gr(i.sf, i.rd), gr(i.sf, i.rm) + shiftSuffix(i.shift, i.amount)) : arithReg('sub', i),
  SUBS_r: (i) =>
    i.rd === 31
      ? insn('cmp', gr(i.sf, i.rn), gr(i.sf, i.rm) + shiftSuffix(i.shift, i.amount))
      : i.rn === 31
        ? insn('negs', gr(i.sf, i.rd), gr(i.sf, i.rm) + shiftSuffix(i.shift, i.amount))
        : arithReg('subs', i),
  ADD_x: (i) => arithExt('add', i, true),
  ADDS_x: (i) => (i.rd === 31 ? arithExtCompare('cmn', i) : arithExt('adds', i, false)),
  SUB_x: (i) => arithExt('sub', i, true),
  SUBS_x: (i) => (i.rd === 31 ? arithExtCompare('cmp', i) : arithExt('subs', i, false)),
  ADC: (i) => insn('adc', gr(i.sf, i.rd), gr(i.sf, i.rn), gr(i.sf, i.rm)),
  ADCS: (i) => insn('adcs', gr(i.sf, i.rd), gr(i.sf, i.rn), gr(i.sf, i.rm)),
  SBC: (i) =>
    i.rn === 31 ? insn('ngc', gr(i.sf, i.rd), gr(i.sf, i.rm)) : insn('sbc', gr(i.sf, i.rd), gr(i.sf, i.rn), gr(i.sf, i.rm)),
  SBCS: (i) =>
    i.rn === 31 ? insn('ngcs', gr(i.sf, i.rd), gr(i.sf, i.rm)) : insn('sbcs', gr(i.sf, i.rd), gr(i.sf, i.rn), gr(i.sf, i.rm)),
  RMIF: (i) => insn('rmif', xr(i.rn), imm(i.imm6), imm(i.mask)),
  SETF8: (i) => insn('setf8', wr(i.rn)),
  SETF16: (i) => insn('setf16', wr(i.rn)),
  CCMN_r: (i) => insn('ccmn', gr(i.sf, i.rn), gr(i.sf, i.rm), imm(i.nzcv), cond(i.cond)),
  CCMP_r: (i) => insn('ccmp', gr(i.sf, i.rn), gr(i.sf, i.rm), imm(i.nzcv), cond(i.cond)),
  CCMN_i: (i) => insn('ccmn', gr(i.sf, i.rn), imm(i.imm), imm(i.nzcv), cond(i.cond)),
  CCMP_i: (i) => insn('ccmp', gr(i.sf, i.rn), imm(i.imm), imm(i.nzcv), cond(i.cond)),
  CSEL: (i) => insn('csel', gr(i.sf, i.rd), gr(i.sf, i.rn), gr(i.sf, i.rm), cond(i.cond)),
  CSINC: (i) => condSelectAlias('csinc', 'cset', 'cinc', i),
  CSINV: (i) => condSelectAlias('csinv', 'csetm', 'cinv', i),
  CSNEG: (i) =>
    i.rn === i.rm && i.cond < 14
      ? insn('cneg', gr(i.sf, i.rd), gr(i.sf, i.rn), invCond(i.cond))
      : insn('csneg', gr(i.sf, i.rd), gr(i.sf, i.rn), gr(i.sf, i.rm), cond(i.cond)),
  MADD: (i) => mulAdd('madd', 'mul', i.sf, i.sf, i),
  MSUB: (i) => mulAdd('msub', 'mneg', i.sf, i.sf, i),
  SMADDL: (i) => mulAdd('smaddl', 'smull', 1, 0, i),
  SMSUBL: (i) => mulAdd('smsubl', 'smnegl', 1, 0, i),
  UMADDL: (i) => mulAdd('umaddl', 'umull', 1, 0, i),
  UMSUBL: (i) => mulAdd('umsubl', 'umnegl', 1, 0, i),
  SMULH: (i) => insn('smulh', xr(i.rd), xr(i.rn), xr(i.rm)),
  UMULH: (i) => insn('umulh', xr(i.rd), xr(i.rn), xr(i.rm)),
  UDIV: (i) => insn('udiv', gr(i.sf, i.rd), gr(i.sf, i.rn), gr(i.sf, i.rm)),
  SDIV: (i) => insn('sdiv', gr(i.sf, i.rd), gr(i.sf, i.rn), gr(i.sf, i.rm)),
  LSLV: (i) => insn('lsl', gr(i.sf, i.rd), gr(i.sf, i.rn), gr(i.sf, i.rm)),
  LSRV: (i) => insn('lsr', gr(i.sf, i.rd), gr(i.sf, i.rn), gr(i.sf, i.rm)),
  ASRV: (i) => insn('asr', gr(i.sf, i.rd), gr(i.sf, i.rn), gr(i.sf, i.rm)),
  RORV: (i) => insn('ror', gr(i.sf, i.rd), gr(i.sf, i.rn), gr(i.sf, i.rm)),
  CRC32: (i) => insn(`crc32${'bhwx'[i.sz]}`, wr(i.rd), wr(i.rn), gr(i.sz === 3 ? 1 : 0, i.rm)),
  CRC32C: (i) => insn(`crc32c${'bhwx'[i.sz]}`, wr(i.rd), wr(i.rn), gr(i.sz === 3 ? 1 : 0, i.rm)),
  SUBP: (i) => insn('subp', xr(i.rd), xsp(i.rn), xsp(i.rm)),
  // LLVM 14 never prints the cmpp alias: it disassembles SUBPS xzr as `subps xzr, ...`.
  SUBPS: (i) => insn('subps', xr(i.rd), xsp(i.rn), xsp(i.rm)),
  IRG: (i) => (i.rm === 31 ? insn('irg', xsp(i.rd), xsp(i.rn)) : insn('irg', xsp(i.rd), xsp(i.rn), xr(i.rm))),
  GMI: (i) => insn('gmi', xr(i.rd), xsp(i.rn), xr(i.rm)),
  PACGA: (i) => insn('pacga', xr(i.rd), xr(i.rn), xsp(i.rm)),
  RBIT: (i) => insn('rbit', gr(i.sf, i.rd), gr(i.sf, i.rn)),
  REV16: (i) => insn('rev16', gr(i.sf, i.rd), gr(i.sf, i.rn)),
  REV32: (i) => insn('rev32', xr(i.rd), xr(i.rn)),
  REV: (i) => insn('rev', gr(i.sf, i.rd), gr(i.sf, i.rn)),
  CLZ: (i) => insn('clz', gr(i.sf, i.rd), gr(i.sf, i.rn)),
  CLS: (i) => insn('cls', gr(i.sf, i.rd), gr(i.sf, i.rn)),
  PAC: (i) => insn(`pac${PAC_KEYS[i.key]}`, xr(i.rd), xsp(i.rn)),
  AUT: (i) => insn(`aut${PAC_KEYS[i.key]}`, xr(i.rd), xsp(i.rn)),
  PACZ: (i) => insn(`pac${PAC_KEYS[i.key]?.[0]}z${PAC_KEYS[i.key]?.[1]}`, xr(i.rd)),
  AUTZ: (i) => insn(`aut${PAC_KEYS[i.key]?.[0]}z${PAC_KEYS[i.key]?.[1]}`, xr(i.rd)),
  XPAC: (i) => insn(i.data ? 'xpacd' : 'xpaci', xr(i.rd)),

  // MTE loads and stores
  STZGM: (i) => insn('stzgm', xr(i.rt), `[${xsp(i.rn)}]`),
  STGM: (i) => insn('stgm', xr(i.rt), `[${xsp(i.rn)}]`),
  LDGM: (i) => insn('ldgm', xr(i.rt), `[${xsp(i.rn)}]`),
  LDG: (i) => insn('ldg', xr(i.rt), memOffset(xsp(i.rn), i.imm)),
  STG: (i) => insn('stg', xsp(i.rt), tagMem(i.rn, i.imm, i.mode)),
  STZG: (i) => insn('stzg', xsp(i.rt), tagMem(i.rn, i.imm, i.mode)),
  ST2G: (i) => insn('st2g', xsp(i.rt), tagMem(i.rn, i.imm, i.mode)),
  STZ2G: (i) => insn('stz2g', xsp(i.rt), tagMem(i.rn, i.imm, i.mode)),
  STGP: (i) => insn('stgp', xr(i.rt), xr(i.rt2), tagMem(i.rn, i.imm, i.mode)),
}

/** S<op0>_<op1>_C<n>_C<m>_<op2> for encodings outside the named system registers. */
function genericSysreg(e: number): string {
  return `S${e >>> 14}_${(e >>> 11) & 7}_C${(e >>> 7) & 15}_C${(e >>> 3) & 15}_${e & 7}`
}

/** Exception-generating immediates: LLVM prints hex, except 0. */
function excImm(v: number): string {
  return v === 0 ? '#0' : '#' + hex(v)
}

function logicalImm(sf: number, hi: number, lo: number): string {
  return '#' + (sf ? hex64(hi, lo) : hex(lo))
}

function hex64(hi: number, lo: number): string {
  if (hi === 0) return hex(lo)
  return `0x${(hi >>> 0).toString(16)}${(lo >>> 0).toString(16).padStart(8, '0')}`
}

function bitfieldMove(signed: boolean, sf: number, rd: number, rn: number, immr: number, imms: number): string {
  const top = sf ? 63 : 31
  if (immr === 0) {
    const ext =
      imms === 7 ? (signed ? 'sxtb' : sf ? undefined : 'uxtb') : imms === 15 ? (signed ? 'sxth' : sf ? undefined : 'uxth') : imms === 31 && sf && signed ? 'sxtw' : undefined
    if (ext) return insn(ext, gr(sf, rd), wr(rn))
  }
  if (!signed && imms !== top && imms + 1 === immr) return insn('lsl', gr(sf, rd), gr(sf, rn), imm(top - imms))
  if (imms === top) return insn(signed ? 'asr' : 'lsr', gr(sf, rd), gr(sf, rn), imm(immr))
  if (immr > imms) return insn(signed ? 'sbfiz' : 'ubfiz', gr(sf, rd), gr(sf, rn), imm(top + 1 - immr), imm(imms + 1))
  return insn(signed ? 'sbfx' : 'ubfx', gr(sf, rd), gr(sf, rn), imm(immr), imm(imms - immr + 1))
}

interface ShiftedReg {
  readonly sf: number
  readonly rd: number
  readonly rn: number
  readonly rm: number
  readonly shift: number
  readonly amount: number
}

function logicalReg(m: string, i: ShiftedReg): string {
  return insn(m, gr(i.sf, i.rd), gr(i.sf, i.rn), gr(i.sf, i.rm) + shiftSuffix(i.shift, i.amount))
}

function arithReg(m: string, i: ShiftedReg): string {
  return insn(m, gr(i.sf, i.rd), gr(i.sf, i.rn), gr(i.sf, i.rm) + shiftSuffix(i.shift, i.amount))
}

interface ExtendedReg {
  readonly sf: number
  readonly rd: number
  readonly rn: number
  readonly rm: number
  readonly option: number
  readonly amount: number
}

function extendedRm(i: ExtendedReg): string {
  return (i.option & 3) === 3 ? gr(i.sf, i.rm) : wr(i.rm)
}

function arithExt(m: string, i: ExtendedReg, rdIsSp: boolean): string {
  const rd = rdIsSp ? grsp(i.sf, i.rd) : gr(i.sf, i.rd)
  return insn(m, rd, grsp(i.sf, i.rn), extendedRm(i) + extendSuffix(i.sf, i.option, i.amount, i.rd, i.rn, rdIsSp))
}

function arithExtCompare(m: string, i: ExtendedReg): string {
  return insn(m, grsp(i.sf, i.rn), extendedRm(i) + extendSuffix(i.sf, i.option, i.amount, i.rd, i.rn, false))
}

interface CondSelect {
  readonly sf: number
  readonly rd: number
  readonly rn: number
  readonly rm: number
  readonly cond: number
}

function condSelectAlias(m: string, setName: string, incName: string, i: CondSelect): string {
  if (i.rn === 31 && i.rm === 31 && i.cond < 14) return insn(setName, gr(i.sf, i.rd), invCond(i.cond))
  if (i.rn === i.rm && i.cond < 14) return insn(incName, gr(i.sf, i.rd), gr(i.sf, i.rn), invCond(i.cond))
  return insn(m, gr(i.sf, i.rd), gr(i.sf, i.rn), gr(i.sf, i.rm), cond(i.cond))
}

interface MulAdd {
  readonly rd: number
  readonly rn: number
  readonly rm: number
  readonly ra: number
}

function mulAdd(m: string, alias: string, dsf: number, ssf: number, i: MulAdd): string {
  if (i.ra === 31) return insn(alias, gr(dsf, i.rd), gr(ssf, i.rn), gr(ssf, i.rm))
  return insn(m, gr(dsf, i.rd), gr(ssf, i.rn), gr(ssf, i.rm), gr(dsf, i.ra))
}

function memOffset(base: string, offset: number): string {
  return offset === 0 ? `[${base}]` : `[${base}, #${offset}]`
}

/** mode as in bits [11:10] of STG (and [24:23] of STGP): 1 post, 2 offset, 3 pre-index. */
function tagMem(rn: number, offset: number, mode: number): string {
  const base = xsp(rn)
  if (mode === 1) return `[${base}], #${offset}`
  if (mode === 3) return `[${base}, #${offset}]!`
  return memOffset(base, offset)
}

