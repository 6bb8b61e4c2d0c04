// Every test vector of arm-mte.md §7, table-driven. Defaults (mteMachine): EL1, TBI on,
// ATA = 1, TCF = 1, HCR_EL2.ATA = 1, TCO = 0, GCR = 0; V = 0x40001000 Tagged with granule
// tags 3, 4, 0, F.

import { describe, expect, test } from 'vitest'
import { CODE } from './test-helpers.js'
import type { Machine } from './test-helpers.js'
import { CODE_EL1, V, enc, mteMachine, p, read64, runWords, stopReason, type MteOptions } from './mte-test-support.js'

interface Vector {
  id: number
  what: string
  options?: MteOptions
  setup?: (m: Machine) => void
  code: number[]
  /** Where the code runs (default CODE). */
  at?: number
  regs?: Record<number, bigint>
  /** Where the run stops: 'end' (completed) or a vector entry (4 = EL1 sync, 8 = from EL0). */
  stop?: number | string
  check: (m: Machine) => void
}

const x = (m: Machine, n: number): bigint => m.cpu.getX(n)
const sys = (m: Machine, name: Parameters<Machine['cpu']['getSysreg']>[0]): bigint => m.cpu.getSysreg(name)
const tag = (m: Machine, va: number): number => m.memory.getTag(va)
const rgsr = (m: Machine, v: bigint): void => m.cpu.setSysreg('RGSR_EL1', v)
const gcr = (m: Machine, v: bigint): void => m.cpu.setSysreg('GCR_EL1', v)
const A = BigInt(V)
const DATA0 = 0x0807060504030201n // bytes 1..8 at V

/** A synchronous tag check fault at EL1 on the first instruction, nothing else changed. */
function syncFault(esr: bigint, far: bigint) {
  return (m: Machine): void => {
    expect(sys(m, 'ESR_EL1')).toBe(esr)
    expect(sys(m, 'FAR_EL1') & 0x0fff_ffff_ffff_ffffn).toBe(far)
    expect(sys(m, 'ELR_EL1')).toBe(BigInt(CODE))
  }
}

const IRG_CASES: Vector[] = [
  {
    id: 1, what: 'IRG with seed 1, tag 0', setup: (m) => rgsr(m, 0x100n), code: [enc.irg(0, 1)], regs: { 1: A },
    check: (m) => {
      expect(x(m, 0)).toBe(0x0100_0000_4000_1000n)
      expect(sys(m, 'RGSR_EL1')).toBe(0x0010_0001n)
    },
  },
  {
    id: 2, what: '5 more IRGs', setup: (m) => rgsr(m, 0x100n),
    code: [enc.irg(0, 1), enc.irg(2, 1), enc.irg(3, 1), enc.irg(4, 1), enc.irg(5, 1), enc.irg(6, 1)], regs: { 1: A },
    check: (m) => {
      expect([2, 3, 4, 5, 6].map((r) => Number(x(m, r) >> 56n))).toEqual([1, 9, 0xf, 0, 4])
      expect(sys(m, 'RGSR_EL1')).toBe(0x0041_6804n)
    },
  },
  {
    id: 3, what: 'IRG with seed 0', setup: (m) => rgsr(m, 5n), code: [enc.irg(0, 1)], regs: { 1: A },
    check: (m) => {
      expect(x(m, 0) >> 56n).toBe(5n)
      expect(sys(m, 'RGSR_EL1')).toBe(5n)
    },
  },
  {
    id: 4, what: 'IRG, seed 0, GCR.Exclude = 1', setup: (m) => gcr(m, 1n), code: [enc.irg(0, 1)], regs: { 1: A },
    check: (m) => {
      expect(x(m, 0) >> 56n).toBe(1n)
      expect(sys(m, 'RGSR_EL1')).toBe(1n)
    },
  },
  {
    id: 5, what: 'IRG, RGSR 0x00ACE103', setup: (m) => rgsr(m, 0xace103n), code: [enc.irg(0, 1)], regs: { 1: A },
    check: (m) => {
      expect(x(m, 0) >> 56n).toBe(5n)
      expect(sys(m, 'RGSR_EL1')).toBe(0x002a_ce05n)
    },
  },
  {
    id: 6, what: '#5 with Xm = 0xFF', setup: (m) => rgsr(m, 0xace103n), code: [enc.irg(0, 1, 2)], regs: { 1: A, 2: 0xffn },
    check: (m) => {
      expect(x(m, 0) >> 56n).toBe(9n)
      expect(sys(m, 'RGSR_EL1')).toBe(0x002a_ce09n)
    },
  },
  {
    id: 7, what: '#5 with Xm = 0xFFFF', setup: (m) => rgsr(m, 0xace103n), code: [enc.irg(0, 1, 2)], regs: { 1: p(5), 2: 0xffffn },
    check: (m) => {
      expect(x(m, 0)).toBe(A)
      expect(sys(m, 'RGSR_EL1')).toBe(0x002a_ce00n)
    },
  },
  {
    id: 8, what: 'IRG, Exclude 0xFFFE', setup: (m) => { gcr(m, 0xfffen); rgsr(m, 0x123407n) }, code: [enc.irg(0, 1)], regs: { 1: A },
    check: (m) => {
      expect(x(m, 0) >> 56n).toBe(0n)
      expect(sys(m, 'RGSR_EL1')).toBe(0x00e1_2300n)
    },
  },
  {
    id: 9, what: 'IRG with SCTLR_EL1.ATA = 0', options: { ata: 0 }, setup: (m) => rgsr(m, 0xace103n), code: [enc.irg(0, 1)],
    regs: { 1: p(7) },
    check: (m) => {
      expect(x(m, 0)).toBe(A)
      expect(sys(m, 'RGSR_EL1')).toBe(0xace103n)
    },
  },
]

const ARITH_CASES: Vector[] = [
  { id: 10, what: 'ADDG', code: [enc.addg(0, 1, 16, 1)], regs: { 1: p(3) }, check: (m) => expect(x(m, 0)).toBe(0x0400_0000_4000_1010n) },
  { id: 11, what: 'ADDG tag wraps', code: [enc.addg(0, 1, 0, 1)], regs: { 1: p(0xf) }, check: (m) => expect(x(m, 0)).toBe(A) },
  {
    id: 12, what: 'ADDG skipping an excluded tag', setup: (m) => gcr(m, 8n), code: [enc.addg(0, 1, 32, 1)], regs: { 1: p(2) },
    check: (m) => expect(x(m, 0)).toBe(0x0400_0000_4000_1020n),
  },
  {
    id: 13, what: 'ADDG #0 skips an excluded start tag', setup: (m) => gcr(m, 8n), code: [enc.addg(0, 1, 0, 0)], regs: { 1: p(3) },
    check: (m) => expect(x(m, 0)).toBe(0x0400_0000_4000_1000n),
  },
  {
    id: 14, what: 'ADDG with Exclude 0x8003', setup: (m) => gcr(m, 0x8003n), code: [enc.addg(0, 1, 0, 3)], regs: { 1: p(0xe) },
    check: (m) => expect(x(m, 0)).toBe(0x0400_0000_4000_1000n),
  },
  {
    id: 15, what: 'ADDG with every tag excluded', setup: (m) => gcr(m, 0xffffn), code: [enc.addg(0, 1, 16, 3)], regs: { 1: p(7) },
    check: (m) => expect(x(m, 0)).toBe(0x0000_0000_4000_1010n),
  },
  { id: 16, what: 'SUBG (tag goes up)', code: [enc.subg(0, 1, 16, 1)], regs: { 1: p(3) }, check: (m) => expect(x(m, 0)).toBe(0x0400_0000_4000_0ff0n) },
  {
    id: 17, what: 'SUBG below zero', code: [enc.subg(0, 1, 16, 2)], regs: { 1: 0x0a00_0000_0000_0000n },
    check: (m) => expect(x(m, 0)).toBe(0x0cff_ffff_ffff_fff0n),
  },
  {
    id: 18, what: 'SUBP', code: [enc.subp(0, 1, 2), enc.subp(3, 4, 5), enc.subp(6, 7, 8)],
    regs: { 1: 0x0500_0000_4000_1040n, 2: 0x0a00_0000_4000_1000n, 4: 0x1000n, 5: 0x2000n, 7: 0xff80_0000_0000_0000n, 8: 0x0080_0000_0000_0000n },
    check: (m) => {
      expect(x(m, 0)).toBe(0x40n)
      expect(x(m, 3)).toBe(0xffff_ffff_ffff_f000n)
      expect(x(m, 6)).toBe(0n)
    },
  },
  {
    id: 19, what: 'GMI', code: [enc.gmi(0, 1, 31), enc.gmi(2, 3, 4)], regs: { 1: p(5), 3: p(0xf), 4: 1n },
    check: (m) => {
      expect(x(m, 0)).toBe(0x20n)
      expect(x(m, 2)).toBe(0x8001n)
    },
  },
]

const CHECK_CASES: Vector[] = [
  { id: 20, what: 'LDR with the matching tag', code: [enc.ldr(0, 1)], regs: { 1: p(3) }, check: (m) => expect(x(m, 0)).toBe(DATA0) },
  {
    id: 21, what: 'LDR with a mismatching tag', code: [enc.ldr(0, 1)], regs: { 0: 0x77n, 1: p(4) }, stop: 4,
    check: (m) => {
      syncFault(0x9600_0011n, 0x0400_0000_4000_1000n)(m)
      expect(x(m, 0)).toBe(0x77n)
    },
  },
  {
    id: 22, what: 'STR with a mismatching tag', code: [enc.str(0, 1)], regs: { 0: 0x77n, 1: p(4) }, stop: 4,
    check: (m) => {
      syncFault(0x9600_0051n, 0x0400_0000_4000_1000n)(m)
      expect(read64(m, V)).toBe(DATA0)
    },
  },
  {
    id: 23, what: 'TCF = 2: async', options: { tcf: 2 }, code: [enc.ldr(0, 1)], regs: { 1: p(4) },
    check: (m) => {
      expect(x(m, 0)).toBe(DATA0)
      expect(sys(m, 'TFSR_EL1')).toBe(1n)
    },
  },
  {
    id: 24, what: 'TCF = 2 through TTBR1 (bit 55 = 1)', options: { tcf: 2 }, code: [enc.ldr(0, 1)], regs: { 1: 0xf4ff_ff80_4000_1000n },
    check: (m) => {
      expect(x(m, 0)).toBe(DATA0)
      expect(sys(m, 'TFSR_EL1')).toBe(2n)
    },
  },
  {
    id: 25, what: 'TCF = 3: mismatching STR is async and done', options: { tcf: 3 }, code: [enc.str(0, 1)], regs: { 0: 0x77n, 1: p(4) },
    check: (m) => {
      expect(read64(m, V)).toBe(0x77n)
      expect(sys(m, 'TFSR_EL1')).toBe(1n)
    },
  },
  {
    id: 25.5, what: 'TCF = 3: mismatching LDR is sync', options: { tcf: 3 }, code: [enc.ldr(0, 1)], regs: { 1: p(4) }, stop: 4,
    check: (m) => {
      syncFault(0x9600_0011n, 0x0400_0000_4000_1000n)(m)
      expect(sys(m, 'TFSR_EL1')).toBe(0n)
    },
  },
  {
    id: 26, what: 'TCMA0 with tag 0', options: { tcma0: 1 }, code: [enc.ldr(0, 1, 0x10)], regs: { 1: A },
    check: (m) => expect(x(m, 0)).toBe(0x1817_1615_1413_1211n),
  },
  {
    id: 27, what: 'TCMA0 with tag F is checked', options: { tcma0: 1 }, code: [enc.ldr(0, 1, 0x10)], regs: { 1: p(0xf) }, stop: 4,
    check: syncFault(0x9600_0011n, 0x0f00_0000_4000_1010n),
  },
  { id: 28, what: 'tag 0 on tag 0 memory', code: [enc.ldr(0, 1, 0x20)], regs: { 1: A }, check: (m) => expect(x(m, 0)).toBe(0x2827_2625_2423_2221n) },
  { id: 28.5, what: 'tag 0 on tag 3 memory', code: [enc.ldr(0, 1)], regs: { 1: A }, stop: 4, check: syncFault(0x9600_0011n, A) },
  {
    id: 29, what: 'PSTATE.TCO = 1', code: [enc.msrTcoImm(1), enc.ldr(0, 1)], regs: { 1: p(4) },
    check: (m) => expect(x(m, 0)).toBe(DATA0),
  },
  {
    id: 30, what: 'SP + immediate is unchecked', setup: (m) => (m.cpu.sp = p(4)), code: [enc.ldr(0, 31, 8)],
    check: (m) => expect(x(m, 0)).toBe(0x100f_0e0d_0c0b_0a09n),
  },
  {
    id: 30.1, what: 'SP pre-index is checked', setup: (m) => (m.cpu.sp = p(4)), code: [enc.ldrPre(0, 31, 8)], stop: 4,
    check: (m) => {
      syncFault(0x9600_0011n, 0x0400_0000_4000_1008n)(m)
    },
  },
  {
    id: 30.2, what: 'SP + register is checked', setup: (m) => (m.cpu.sp = p(4)), code: [enc.ldrReg(0, 31, 1)], regs: { 1: 8n }, stop: 4,
    check: syncFault(0x9600_0011n, 0x0400_0000_4000_1008n),
  },
  {
    id: 31, what: 'an access spanning two granules faults on the second', code: [enc.ldr(0, 1)], regs: { 1: 0x0300_0000_4000_100cn }, stop: 4,
    check: syncFault(0x9600_0011n, 0x0300_0000_4000_1010n),
  },
  {
    id: 32, what: 'ATA = 0: no checks, LDG 0, STG stores nothing', options: { ata: 0 },
    code: [enc.ldr(0, 1), enc.ldg(2, 1), enc.stg(3, 1)], regs: { 1: p(4), 2: p(9), 3: p(0xc) },
    check: (m) => {
      expect(x(m, 0)).toBe(DATA0)
      expect(x(m, 2)).toBe(A)
      expect(tag(m, V)).toBe(3)
    },
  },
  {
    id: 32.5, what: 'HCR_EL2.ATA = 0: no checks, LDG 0', options: { hcrAta: 0 }, code: [enc.ldr(0, 1), enc.ldg(2, 1)],
    regs: { 1: p(4), 2: p(9) },
    check: (m) => {
      expect(x(m, 0)).toBe(DATA0)
      expect(x(m, 2)).toBe(A)
    },
  },
  {
    id: 34, what: 'untagged memory (MAIR 0xFF): no checks, LDG 0', options: { attr: 0xff }, code: [enc.ldr(0, 1), enc.ldg(2, 1)],
    regs: { 1: p(4), 2: p(9) },
    check: (m) => {
      expect(x(m, 0)).toBe(DATA0)
      expect(x(m, 2)).toBe(A)
    },
  },
  {
    id: 34.1, what: 'untagged memory (MAIR 0x44 Normal NC)', options: { attr: 0x44 }, code: [enc.ldr(0, 1)], regs: { 1: p(4) },
    check: (m) => expect(x(m, 0)).toBe(DATA0),
  },
]

const TAG_CASES: Vector[] = [
  {
    id: 35, what: 'LDG', code: [enc.ldg(0, 1)], regs: { 0: 0xab00_0000_0000_1234n, 1: BigInt(V + 0x18) },
    check: (m) => expect(x(m, 0)).toBe(0xa400_0000_0000_1234n),
  },
  {
    id: 36, what: 'misaligned STG', code: [enc.stg(0, 1)], regs: { 0: p(9), 1: BigInt(V + 8) }, stop: 4,
    check: (m) => {
      expect(sys(m, 'ESR_EL1')).toBe(0x9600_0061n)
      expect(sys(m, 'FAR_EL1')).toBe(BigInt(V + 8))
      expect(tag(m, V)).toBe(3)
    },
  },
  {
    id: 37, what: 'STG pre-index', code: [enc.stg(0, 1, 16, 3)], regs: { 0: 0x0900_0000_0000_0000n, 1: A },
    check: (m) => {
      expect(tag(m, V + 0x10)).toBe(9)
      expect(x(m, 1)).toBe(A + 0x10n)
    },
  },
  {
    id: 38, what: 'ST2G post-index', code: [enc.st2g(0, 1, 32, 1)], regs: { 0: 0x0600_0000_0000_0000n, 1: A + 0x10n },
    check: (m) => {
      expect([tag(m, V), tag(m, V + 0x10), tag(m, V + 0x20), tag(m, V + 0x30)]).toEqual([3, 6, 6, 0xf])
      expect(x(m, 1)).toBe(A + 0x30n)
    },
  },
  {
    id: 39, what: 'STZ2G', code: [enc.stz2g(0, 1)], regs: { 0: 0x0200_0000_0000_0000n, 1: A },
    check: (m) => {
      expect([0, 8, 16, 24].map((o) => read64(m, V + o))).toEqual([0n, 0n, 0n, 0n])
      expect(read64(m, V + 32)).toBe(0x2827_2625_2423_2221n)
      expect([tag(m, V), tag(m, V + 0x10), tag(m, V + 0x20)]).toEqual([2, 2, 0])
    },
  },
  {
    id: 40, what: 'STGP takes the tag from the address', code: [enc.stgp(2, 3, 4)],
    regs: { 2: 0x0100_0000_0000_1111n, 3: 0x2222n, 4: 0x0700_0000_4000_1020n },
    check: (m) => {
      expect(read64(m, V + 0x20)).toBe(0x0100_0000_0000_1111n)
      expect(read64(m, V + 0x28)).toBe(0x2222n)
      expect(tag(m, V + 0x20)).toBe(7)
    },
  },
  {
    id: 41, what: 'LDGM (GMID.BS = 4)',
    setup: (m) => {
      m.cpu.setSysreg('GMID_EL1', 4n)
      for (const [i, t] of [1, 2, 3, 4].entries()) m.memory.setTag(V + 0x40 + 16 * i, t)
    },
    code: [enc.ldgm(0, 1)], regs: { 0: 0x5555n, 1: BigInt(V + 0x48) },
    check: (m) => expect(x(m, 0)).toBe(0x4321_0000n),
  },
  {
    id: 42, what: 'STGM (GMID.BS = 4)', setup: (m) => m.cpu.setSysreg('GMID_EL1', 4n), code: [enc.stgm(0, 1)], regs: { 0: 0x8765n, 1: A },
    check: (m) => expect([0, 1, 2, 3].map((i) => tag(m, V + 16 * i))).toEqual([5, 6, 7, 8]),
  },
  {
    id: 43, what: 'STZGM (DCZID.BS = 4)', code: [enc.stzgm(0, 1)], regs: { 0: 0xan, 1: BigInt(V + 0x30) },
    check: (m) => {
      for (let o = 0; o < 0x40; o += 8) expect(read64(m, V + o)).toBe(0n)
      expect(read64(m, V + 0x40)).toBe(0x4847_4645_4443_4241n)
      expect([0, 1, 2, 3, 4].map((i) => tag(m, V + 16 * i))).toEqual([0xa, 0xa, 0xa, 0xa, 0])
    },
  },
  {
    id: 48, what: 'DC GVA', code: [enc.dcGva(0)], regs: { 0: 0x0b00_0000_4000_1000n },
    check: (m) => {
      expect([0, 1, 2, 3, 4].map((i) => tag(m, V + 16 * i))).toEqual([0xb, 0xb, 0xb, 0xb, 0])
      expect(read64(m, V)).toBe(DATA0)
    },
  },
]

const STATE_CASES: Vector[] = [
  {
    id: 33, what: 'HCR_EL2.ATA = 0 traps MRS GCR_EL1 to EL2', options: { hcrAta: 0 }, code: [enc.mrs(0, 0xc086)], stop: 'sysreg-trap',
    check: (m) => {
      expect(m.cpu.exits.sysregTrap.esr).toBe(0x623c_0401)
    },
  },
  {
    id: 44, what: 'LDGM at EL0 is UNDEFINED', options: { el0Data: true },
    setup: (m) => (m.cpu.pstate = 0), code: [enc.ldgm(0, 1)], regs: { 1: A }, stop: 8,
    check: (m) => {
      expect(sys(m, 'ESR_EL1')).toBe(0x0200_0000n)
      expect(sys(m, 'ELR_EL1')).toBe(BigInt(CODE)) // the LDGM, not the closing HVC (also UNDEFINED at EL0)
    },
  },
  {
    id: 45, what: 'EL0 tag check fault with TCF0 = 1', options: { el0Data: true, tcf0: 1 },
    setup: (m) => (m.cpu.pstate = 0), code: [enc.ldr(0, 1)], regs: { 1: p(4) }, stop: 8,
    check: syncFault(0x9200_0011n, 0x0400_0000_4000_1000n),
  },
  {
    id: 46, what: 'LDTR at EL1 is checked as EL0 (TCF0 = 2)', options: { el0Data: true, tcf: 1, tcf0: 2 },
    at: CODE_EL1, // EL1 cannot execute from an EL0-writable page
    code: [enc.ldtr(0, 1)], regs: { 1: p(4) },
    check: (m) => {
      expect(x(m, 0)).toBe(DATA0)
      expect(sys(m, 'TFSRE0_EL1')).toBe(1n)
      expect(sys(m, 'TFSR_EL1')).toBe(0n)
    },
  },
  {
    id: 47, what: 'SVC sets TCO, saves it in SPSR; ERET restores', code: [enc.svc(0)], stop: 4,
    check: (m) => {
      expect((m.cpu.pstate >>> 25) & 1).toBe(1)
      expect((sys(m, 'SPSR_EL1') >> 25n) & 1n).toBe(0n)
      m.cpu.setSysreg('ELR_EL1', BigInt(CODE + 4))
      m.cpu.pc = BigInt(0x4020_0000 + 0x1000)
      m.memory.write32(0x4020_1000, enc.eret)
      m.cpu.invalidateCode(0x4020_1000, 4)
      const exit = m.cpu.run(10)
      expect(stopReason(exit)).toBe('end')
      expect((m.cpu.pstate >>> 25) & 1).toBe(0)
    },
  },
]

describe('arm-mte.md §7 test vectors', () => {
  const all = [...IRG_CASES, ...ARITH_CASES, ...CHECK_CASES, ...TAG_CASES, ...STATE_CASES]
  test('cover all 48', () => {
    const ids = new Set(all.map((v) => Math.floor(v.id)))
    expect([...ids].sort((a, b) => a - b)).toEqual(Array.from({ length: 48 }, (_, i) => i + 1))
  })
  test.each(all.map((v) => [v.id, v.what, v] as const))('#%s %s', (_id, _what, v) => {
    const m = mteMachine(v.options)
    v.setup?.(m)
    for (const [r, val] of Object.entries(v.regs ?? {})) m.cpu.setX(Number(r), val)
    const exit = runWords(m, v.code, 10_000, v.at)
    expect(stopReason(exit)).toBe(v.stop ?? 'end')
    v.check(m)
  })
})

