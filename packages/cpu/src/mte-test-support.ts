// Test-only helpers for MTE (not exported from index.ts): a machine set up as arm-mte.md §7
// assumes, and encoders for the instructions the tests use (checked against the decoder).

import type { CpuExit } from './exits.js'
import { CODE, RAM_BASE, VECTOR_HVC, enableIdentityMmu, makeMachine, type Machine } from './test-helpers.js'

/** The test vectors' tagged VA (identity-mapped, MAIR attr 0xF0, stage 2 Normal WB). */
export const V = 0x4000_1000
/** Vectors live in the second 2 MiB block (always EL1-only, untagged). */
export const VBAR = RAM_BASE + 0x20_0000
export const END = 0xf00d
/** EL1-only code address for tests that make the first block EL0-accessible. */
export const CODE_EL1 = VBAR + 0x1000
/** Level-2 table written by enableIdentityMmu. */
const L2 = RAM_BASE + 0x1_1000
const L1 = RAM_BASE + 0x1_0000

/** p(t): V with logical tag t. */
export const p = (t: number, offset = 0): bigint => (BigInt(t) << 56n) | BigInt(V + offset)

const hvc = (imm: number): number => (0xd4000002 | (imm << 5)) >>> 0

export interface MteOptions {
  /** SCTLR_EL1.TCF (default 1, sync). */
  tcf?: number
  tcf0?: number
  /** SCTLR_EL1.ATA / ATA0 (default 1 / 1). */
  ata?: number
  ata0?: number
  /** HCR_EL2.ATA (default 1). */
  hcrAta?: number
  tcma0?: number
  tcma1?: number
  /** ID_AA64PFR1_EL1.MTE (default 3). */
  level?: number
  /** Make the first 2 MiB block EL0-accessible (AP = 01); EL1 cannot then execute from it. */
  el0Data?: boolean
  /** MAIR attribute for the tagged block (default 0xF0). */
  attr?: number
}

/**
 * The §7 defaults: EL1, TBI0 = TBI1 = 1, TCMA = 0, SCTLR_EL1.ATA = 1, TCF = 1, HCR_EL2.ATA = 1,
 * TCO = 0, GCR = 0; VA 0x40001000 Tagged with granule tags 3, 4, 0, F. TTBR1 maps the same
 * tables, so 0xFFFF_FF80_xxxx_xxxx aliases the low half.
 */
export function mteMachine(o: MteOptions = {}): Machine {
  const m = makeMachine()
  enableIdentityMmu(m)
  const cpu = m.cpu
  // Block 0 (0x4000_0000..0x401f_ffff) uses MAIR attr 2 = the chosen attribute.
  const block0 = m.memory.read32(L2)
  m.memory.write32(L2, (block0 & ~0x1c) | (2 << 2) | (o.el0Data ? 1 << 6 : 0))
  cpu.setSysreg('MAIR_EL1', 0xf0ffn | (BigInt(o.attr ?? 0xf0) << 16n))
  const tcr = cpu.getSysreg('TCR_EL1') & ~(1n << 23n) // EPD1 = 0: TTBR1 walks on
  cpu.setSysreg(
    'TCR_EL1',
    tcr | (25n << 16n) | (1n << 24n) | (1n << 26n) | (3n << 28n) | (2n << 30n) | (1n << 37n) | (1n << 38n) |
      (BigInt(o.tcma0 ?? 0) << 57n) | (BigInt(o.tcma1 ?? 0) << 58n),
  )
  cpu.setSysreg('TTBR1_EL1', BigInt(L1))
  cpu.setSysreg('ID_AA64PFR1_EL1', 0x10n | (BigInt(o.level ?? 3) << 8n))
  cpu.setHcrEl2(1n | (BigInt(o.hcrAta ?? 1) << 56n))
  const sctlr = cpu.getSysreg('SCTLR_EL1') & ~(0xfn << 40n) & ~(3n << 38n)
  cpu.setSysreg(
    'SCTLR_EL1',
    sctlr | (BigInt(o.ata ?? 1) << 43n) | (BigInt(o.ata0 ?? 1) << 42n) | (BigInt(o.tcf ?? 1) << 40n) | (BigInt(o.tcf0 ?? 0) << 38n),
  )
  for (const [i, t] of [3, 4, 0, 0xf].entries()) m.memory.setTag(V + 16 * i, t)
  // Recognisable data: byte i of V.. is i + 1.
  m.memory.writeBytes(V, Uint8Array.from({ length: 0x100 }, (_, i) => i + 1))
  for (let k = 0; k < 16; k++) m.memory.write32(VBAR + 0x80 * k, hvc(VECTOR_HVC + k))
  cpu.invalidateCode(VBAR, 0x800)
  cpu.setSysreg('VBAR_EL1', BigInt(VBAR))
  return m
}

/** Runs `words` + `hvc #0xf00d` at `at` (default CODE). */
export function runWords(m: Machine, words: readonly number[], budget = 10_000, at = CODE): CpuExit {
  const all = [...words, hvc(END)]
  for (const [i, w] of all.entries()) m.memory.write32(at + 4 * i, w)
  m.cpu.invalidateCode(at, all.length * 4)
  m.cpu.pc = BigInt(at)
  return m.cpu.run(budget)
}

/** The vector entry the run stopped in (0..15), or 'end', or the exit kind. */
export function stopReason(exit: CpuExit): number | string {
  if (exit.kind !== 'hvc') return exit.kind
  return exit.imm16 === END ? 'end' : exit.imm16 - VECTOR_HVC
}

export const read64 = (m: Machine, pa: number): bigint =>
  (BigInt(m.memory.read32(pa + 4)) << 32n) | BigInt(m.memory.read32(pa))

// ---- encoders (registers are numbers; 31 = SP or ZR as the instruction says) ----
const rd = (n: number, d: number): number => (n << 5) | d
const imm9 = (bytes: number): number => ((bytes / 16) & 0x1ff) << 12
export const enc = {
  irg: (d: number, n: number, m = 31) => (0x9ac01000 | (m << 16) | rd(n, d)) >>> 0,
  gmi: (d: number, n: number, m: number) => (0x9ac01400 | (m << 16) | rd(n, d)) >>> 0,
  addg: (d: number, n: number, off: number, tag: number) => (0x91800000 | ((off / 16) << 16) | (tag << 10) | rd(n, d)) >>> 0,
  subg: (d: number, n: number, off: number, tag: number) => (0xd1800000 | ((off / 16) << 16) | (tag << 10) | rd(n, d)) >>> 0,
  subp: (d: number, n: number, m: number) => (0x9ac00000 | (m << 16) | rd(n, d)) >>> 0,
  subps: (d: number, n: number, m: number) => (0xbac00000 | (m << 16) | rd(n, d)) >>> 0,
  /** mode: 1 post, 2 offset, 3 pre. */
  stg: (t: number, n: number, off = 0, mode = 2) => (0xd9200000 | imm9(off) | (mode << 10) | rd(n, t)) >>> 0,
  stzg: (t: number, n: number, off = 0, mode = 2) => (0xd9600000 | imm9(off) | (mode << 10) | rd(n, t)) >>> 0,
  st2g: (t: number, n: number, off = 0, mode = 2) => (0xd9a00000 | imm9(off) | (mode << 10) | rd(n, t)) >>> 0,
  stz2g: (t: number, n: number, off = 0, mode = 2) => (0xd9e00000 | imm9(off) | (mode << 10) | rd(n, t)) >>> 0,
  stgp: (t: number, t2: number, n: number, off = 0, mode = 2) =>
    (0x68000000 | (mode << 23) | (((off / 16) & 0x7f) << 15) | (t2 << 10) | rd(n, t)) >>> 0,
  ldg: (t: number, n: number, off = 0) => (0xd9600000 | imm9(off) | rd(n, t)) >>> 0,
  ldgm: (t: number, n: number) => (0xd9e00000 | rd(n, t)) >>> 0,
  stgm: (t: number, n: number) => (0xd9a00000 | rd(n, t)) >>> 0,
  stzgm: (t: number, n: number) => (0xd9200000 | rd(n, t)) >>> 0,
  dcGva: (t: number) => (0xd50b7460 | t) >>> 0,
  dcGzva: (t: number) => (0xd50b7480 | t) >>> 0,
  dcZva: (t: number) => (0xd50b7420 | t) >>> 0,
  /** LDR/STR Xt, [Xn, #uimm] (64-bit). */
  ldr: (t: number, n: number, off = 0) => (0xf9400000 | ((off / 8) << 10) | rd(n, t)) >>> 0,
  str: (t: number, n: number, off = 0) => (0xf9000000 | ((off / 8) << 10) | rd(n, t)) >>> 0,
  ldrPre: (t: number, n: number, off: number) => (0xf8400c00 | ((off & 0x1ff) << 12) | rd(n, t)) >>> 0,
  ldrReg: (t: number, n: number, m: number) => (0xf8606800 | (m << 16) | rd(n, t)) >>> 0,
  ldur: (t: number, n: number, off: number) => (0xf8400000 | ((off & 0x1ff) << 12) | rd(n, t)) >>> 0,
  ldrb: (t: number, n: number, off = 0) => (0x39400000 | (off << 10) | rd(n, t)) >>> 0,
  ldp: (t: number, t2: number, n: number) => (0xa9400000 | (t2 << 10) | rd(n, t)) >>> 0,
  ldtr: (t: number, n: number) => (0xf8400800 | rd(n, t)) >>> 0,
  sttr: (t: number, n: number) => (0xf8000800 | rd(n, t)) >>> 0,
  ldxr: (t: number, n: number) => (0xc85f7c00 | rd(n, t)) >>> 0,
  ldadd: (s: number, t: number, n: number) => (0xf8200000 | (s << 16) | rd(n, t)) >>> 0,
  svc: (imm: number) => (0xd4000001 | (imm << 5)) >>> 0,
  eret: 0xd69f03e0,
  msrTcoImm: (i: number) => (0xd503409f | (i << 8)) >>> 0,
  msrTco: (t: number) => (0xd51b42e0 | t) >>> 0,
  mrsTco: (t: number) => (0xd53b42e0 | t) >>> 0,
  mrs: (t: number, key: number) => (0xd5200000 | (key << 5) | t) >>> 0,
  msr: (t: number, key: number) => (0xd5000000 | (key << 5) | t) >>> 0,
}

/** What KVM gives an MTE-enabled guest: ID_AA64PFR1_EL1.MTE = 3 (QEMU max) and HCR_EL2.ATA. */
export function enableGuestMte(m: Machine): void {
  m.cpu.setSysreg('ID_AA64PFR1_EL1', m.cpu.getSysreg('ID_AA64PFR1_EL1') | (3n << 8n))
  m.cpu.setHcrEl2(m.cpu.hcrEl2 | (1n << 56n))
}
