// Translations never run stale: code written by the VMM, by the CPU itself (from inside a
// translation) or by another vCPU (with IC IVAU), TLB maintenance, TTBR switches and MTE
// setting changes all take effect as they do in the interpreter. Instruction words are
// hand-encoded (comments give the assembly).

import { describe, expect, test } from 'vitest'
import type { Cpu } from '../cpu.js'
import { CODE, RAM_BASE, addCpu, enableIdentityMmu, makeMachine, type Machine } from '../test-helpers.js'

const ADD1 = 0x91000400 // add x0, x0, #1
const ADD2 = 0x91000800 // add x0, x0, #2
const SUBS = 0xf1000463 // subs x3, x3, #1
const BNE = (back: number): number => (0x54000001 | ((-back & 0x7ffff) << 5)) >>> 0 // b.ne .-4*back
const STR_W7_X2 = 0xb9000047 // str w7, [x2]
const STR_W1_X2 = 0xb9000041 // str w1, [x2]
const IC_IVAU_X2 = 0xd50b7522 // ic ivau, x2
const DSB_ISH = 0xd5033b9f // dsb ish
const ISB = 0xd5033fdf // isb
const LDR_X4_X5 = 0xf94000a4 // ldr x4, [x5]
const TLBI_VMALLE1 = 0xd508871f // tlbi vmalle1
const HVC = 0xd4000002 // hvc #0

const JIT = { threshold: 1 }

function load(m: Machine, words: number[], at = CODE): void {
  words.forEach((w, i) => m.memory.write32(at + 4 * i, w))
  m.cpu.invalidateCode(at, 4 * words.length)
}

function runAt(cpu: Cpu, at: number, regs: Record<number, bigint>): string {
  for (const [r, v] of Object.entries(regs)) cpu.setX(Number(r), v)
  cpu.pc = BigInt(at)
  return cpu.run(100_000).kind
}

describe('compiled tier coherence', () => {
  test('a VMM write to translated code is seen at the next run', () => {
    const m = makeMachine(16 << 20, true, false, JIT)
    load(m, [ADD1, SUBS, BNE(2), HVC])
    for (let i = 0; i < 2; i++) runAt(m.cpu, CODE, { 0: 0n, 3: 100n })
    expect(m.cpu.getX(0)).toBe(100n)
    const entries = m.cpu.jit!.stats.entries
    expect(entries).toBeGreaterThan(0)
    m.memory.write32(CODE, ADD2) // no invalidateCode: the memory tells the CPU
    expect(runAt(m.cpu, CODE, { 0: 0n, 3: 100n })).toBe('hvc')
    expect(m.cpu.getX(0)).toBe(200n)
    expect(m.cpu.jit!.stats.entries).toBeGreaterThan(entries) // retranslated and run
  })

  test('a store from translated code into its own page changes the next iteration, as in the interpreter', () => {
    const program = [ADD1, STR_W7_X2, SUBS, BNE(3), HVC]
    const results = [false, true].map((jit) => {
      const m = makeMachine(16 << 20, true, false, jit ? JIT : undefined)
      load(m, program)
      runAt(m.cpu, CODE, { 0: 0n, 3: 1n, 2: BigInt(CODE + 0x100), 7: BigInt(ADD1) }) // warm: store elsewhere
      load(m, program)
      runAt(m.cpu, CODE, { 0: 0n, 3: 50n, 2: BigInt(CODE), 7: BigInt(ADD2) })
      return [m.cpu.getX(0), m.cpu.retired]
    })
    expect(results[1]).toEqual(results[0])
    expect(results[0]![0]).toBe(1n + 2n * 49n)
  })

  test("another vCPU's store and IC IVAU drop this CPU's translation", () => {
    const m = makeMachine(16 << 20, true, false, JIT)
    const other = addCpu(m.memory, m.stage2, true, JIT)
    load(m, [ADD1, SUBS, BNE(2), HVC])
    const patcher = CODE + 0x2000
    load(m, [STR_W1_X2, DSB_ISH, IC_IVAU_X2, DSB_ISH, ISB, HVC], patcher)
    other.invalidateCode(patcher, 24)
    for (let i = 0; i < 2; i++) runAt(m.cpu, CODE, { 0: 0n, 3: 10n })
    expect(m.cpu.getX(0)).toBe(10n)
    expect(runAt(other, patcher, { 1: BigInt(ADD2), 2: BigInt(CODE) })).toBe('hvc')
    runAt(m.cpu, CODE, { 0: 0n, 3: 10n })
    expect(m.cpu.getX(0)).toBe(20n)
  })

  describe('with stage 1 on', () => {
    const L2 = RAM_BASE + 0x1_1000
    /** VA of a 2 MiB block that is remapped below; data differs between the two PAs. */
    const VA = RAM_BASE + 0x60_0000
    const PA_B = RAM_BASE + 0x80_0000

    function setup(): Machine {
      const m = makeMachine(16 << 20, true, false, JIT)
      enableIdentityMmu(m)
      m.memory.write32(VA, 0xaaaa)
      m.memory.write32(PA_B, 0xbbbb)
      load(m, [LDR_X4_X5, HVC])
      load(m, [TLBI_VMALLE1, DSB_ISH, ISB, HVC], CODE + 0x1000)
      for (let i = 0; i < 2; i++) runAt(m.cpu, CODE, { 5: BigInt(VA) })
      expect(m.cpu.getX(4)).toBe(0xaaaan)
      return m
    }

    test('TLBI after a page-table change: the translated load sees the new mapping', () => {
      const m = setup()
      m.memory.write32(L2 + 8 * 3, (PA_B | (1 << 10) | (3 << 8) | 0b01) >>> 0) // VA's block -> PA_B
      runAt(m.cpu, CODE + 0x1000, {})
      runAt(m.cpu, CODE, { 5: BigInt(VA) })
      expect(m.cpu.getX(4)).toBe(0xbbbbn)
    })

    test("TLBI by VA for a page the MMU's TLB no longer holds (evicted) still drops the fast TLB's entry", () => {
      // Linux: unmap or write-protect a PTE, then TLBI VALE1IS. The fast TLB outlives the MMU
      // TLB entry it was filled from when that slot is refilled for another page.
      const m = setup()
      const LDAR_X4_X5 = 0xc8dffca4 // ldar x4, [x5] (not translated: the interpreter's MMU fills the slot)
      const TLBI_VAAE1_X1 = 0xd5088761 // tlbi vaae1, x1
      load(m, [LDAR_X4_X5, HVC], CODE + 0x2000)
      load(m, [TLBI_VAAE1_X1, DSB_ISH, ISB, HVC], CODE + 0x3000)
      // Both pages become code first (a new code frame empties the fast TLB), then the
      // translated load fills the fast TLB for VA again.
      runAt(m.cpu, CODE + 0x2000, { 5: BigInt(VA) })
      runAt(m.cpu, CODE + 0x3000, { 1: 0n })
      runAt(m.cpu, CODE, { 5: BigInt(VA) })
      expect(m.cpu.getX(4)).toBe(0xaaaan)
      runAt(m.cpu, CODE + 0x2000, { 5: BigInt(VA + 0x40_0000) }) // same MMU TLB slot (1024 entries), another page
      expect(m.cpu.mmu.lookupData(0, VA)).toBe(-1)
      m.memory.write32(L2 + 8 * 3, (PA_B | (1 << 10) | (3 << 8) | 0b01) >>> 0) // VA's block -> PA_B
      runAt(m.cpu, CODE + 0x3000, { 1: BigInt(VA >>> 12) })
      runAt(m.cpu, CODE, { 5: BigInt(VA) })
      expect(m.cpu.getX(4)).toBe(0xbbbbn)
    })

    test('a TTBR0_EL1 switch (another ASID: no flush in the MMU) is seen', () => {
      const m = setup()
      const NG = 1 << 11 // not global: the entry belongs to the current ASID
      m.memory.write32(L2 + 8 * 3, (VA | NG | (1 << 10) | (3 << 8) | 0b01) >>> 0)
      runAt(m.cpu, CODE + 0x1000, {})
      for (let i = 0; i < 2; i++) runAt(m.cpu, CODE, { 5: BigInt(VA) })
      expect(m.cpu.getX(4)).toBe(0xaaaan)
      // A second table set: same map but VA's block -> PA_B.
      const L1b = RAM_BASE + 0x2_0000
      const L2b = L1b + 0x1000
      m.memory.write32(L1b + 8, (L2b | 0b11) >>> 0)
      for (let i = 0; i < 512; i++) {
        const pa = i === 3 ? PA_B : RAM_BASE + i * 0x20_0000
        m.memory.write32(L2b + 8 * i, (pa | (i === 3 ? NG : 0) | (1 << 10) | (3 << 8) | 0b01) >>> 0)
      }
      m.cpu.setSysreg('TTBR0_EL1', BigInt(L1b) | (5n << 48n))
      runAt(m.cpu, CODE, { 5: BigInt(VA) })
      expect(m.cpu.getX(4)).toBe(0xbbbbn)
    })

    test('turning tag checks on, and PSTATE.TCO, change what a translated load does', () => {
      const m = setup()
      const cpu = m.cpu
      // VA's block Normal Tagged (MAIR attr 1 = 0xF0); granule tag 3; pointer tag 5.
      m.memory.write32(L2 + 8 * 3, (VA | (1 << 10) | (3 << 8) | (1 << 2) | 0b01) >>> 0)
      runAt(cpu, CODE + 0x1000, {})
      m.memory.setTag(VA, 3)
      cpu.setSysreg('ID_AA64PFR1_EL1', cpu.getSysreg('ID_AA64PFR1_EL1') | (3n << 8n))
      cpu.setHcrEl2(1n | (1n << 56n))
      cpu.setSysreg('TCR_EL1', cpu.getSysreg('TCR_EL1') | (1n << 37n))
      cpu.setSysreg('SCTLR_EL1', cpu.getSysreg('SCTLR_EL1') | (1n << 43n))
      const vbar = RAM_BASE + 0x1000
      for (let k = 0; k < 16; k++) m.memory.write32(vbar + 0x80 * k, (0xd4000002 | ((0x100 + k) << 5)) >>> 0)
      cpu.invalidateCode(vbar, 0x800)
      cpu.setSysreg('VBAR_EL1', BigInt(vbar))
      const tagged = (5n << 56n) | BigInt(VA)
      const hvcImm = (): number => (Number(cpu.getSysreg('ESR_EL1')) >>> 26 === 0x25 ? 1 : 0)
      for (let i = 0; i < 2; i++) runAt(cpu, CODE, { 5: tagged }) // TCF = 0: no check
      expect(cpu.getX(4)).toBe(0xaaaan)
      cpu.setSysreg('SCTLR_EL1', cpu.getSysreg('SCTLR_EL1') | (1n << 40n)) // TCF = 1: sync faults
      cpu.setSysreg('ESR_EL1', 0n)
      cpu.setX(4, 0n)
      runAt(cpu, CODE, { 5: tagged })
      expect(hvcImm()).toBe(1) // data abort taken (to the vector's hvc)
      expect(cpu.getSysreg('ESR_EL1') & 0x3fn).toBe(0x11n) // tag check fault
      expect(cpu.getX(4)).toBe(0n)
      cpu.pstate = (cpu.pstate | (1 << 25)) >>> 0 // PSTATE.TCO: unchecked
      cpu.setSysreg('ESR_EL1', 0n)
      expect(runAt(cpu, CODE, { 5: tagged })).toBe('hvc')
      expect(cpu.getX(4)).toBe(0xaaaan)
      expect(cpu.getSysreg('ESR_EL1')).toBe(0n)
    })
  })

  test('code translated at one VA runs right at another VA of the same page (PC, ADR, BL, exits follow the fetch VA)', () => {
    // The kernel runs its early code through the identity map, then the same frames at their
    // link address; user space maps one file page at several VAs. A translation belongs to the
    // physical page, so nothing VA-derived may be baked into it.
    const ADR_X6 = 0x10000006 // adr x6, .
    const BL_2 = 0x94000002 // bl .+8
    const program = [ADR_X6, ADD1, BL_2, HVC, HVC]
    const ALIAS = RAM_BASE + 0xa0_0000 // a second VA of CODE's 2 MiB block
    const results = [false, true].map((jit) => {
      const m = makeMachine(16 << 20, true, false, jit ? JIT : undefined)
      enableIdentityMmu(m)
      m.memory.write32(RAM_BASE + 0x1_1000 + 8 * 5, ((CODE & ~0x1f_ffff) | (1 << 10) | (3 << 8) | 0b01) >>> 0)
      load(m, program)
      const alias = ALIAS + (CODE & 0x1f_ffff)
      const seen: bigint[] = []
      for (const at of [CODE, CODE, alias, alias, CODE]) {
        expect(runAt(m.cpu, at, { 0: 0n })).toBe('hvc')
        seen.push(m.cpu.getX(6), m.cpu.getX(30), m.cpu.pc, m.cpu.getX(0))
      }
      return seen
    })
    expect(results[1]).toEqual(results[0])
    expect(results[0]![8]).toBe(BigInt(ALIAS + (CODE & 0x1f_ffff)))
  })

  test('a threshold the entry counter cannot reach is refused, not silently never translating', () => {
    expect(() => makeMachine(16 << 20, true, false, { threshold: 1000 })).toThrow(/threshold must be an integer in 1\.\.255, got 1000/)
    expect(() => makeMachine(16 << 20, true, false, { threshold: 0 })).toThrow(RangeError)
    const m = makeMachine(16 << 20, true, false, { threshold: 255 })
    load(m, [ADD1, SUBS, BNE(2), HVC])
    runAt(m.cpu, CODE, { 0: 0n, 3: 1000n })
    expect(m.cpu.jit!.stats.regions).toBeGreaterThan(0)
  })

  test('requestStop ends a translated loop at a block start with exact state', () => {
    const m = makeMachine(16 << 20, true, false, JIT)
    load(m, [ADD1, SUBS, BNE(2), HVC])
    runAt(m.cpu, CODE, { 0: 0n, 3: 5n })
    // A stop requested before the run: the translation leaves at once, the loop goes on.
    m.cpu.jit!.requestStop()
    expect(runAt(m.cpu, CODE, { 0: 0n, 3: 1000n })).toBe('hvc')
    expect(m.cpu.getX(0)).toBe(1000n)
    expect(m.cpu.jit!.stats.exits[3]).toBe(1)
  })
})
