// The structured part of every scenario works: the setup code programs each translation
// regime and enters the code at EL0 or EL1, loads go through the generated stage-1 tables
// (4, 16 and 64 KiB granules, MMU off), and the vectors record an exception and resume.
import { describe, expect, test } from 'vitest'
import { REG_PC, xRegId } from '@tagvm/vmm-api'
import { runCase } from './oracle.js'
import { runScenario } from './run.js'
import { hex64 } from './scenario.js'
import { CODE, exceptionLog, programScenario, slot1First } from './test-support.js'
import type { Machine } from './machine.js'
import { SLOT1_GPA } from './layout.js'

const LDR_X3_X2 = 0xf9400043 // ldr x3, [x2]
const LDR_X4_X5 = 0xf94000a4 // ldr x4, [x5]
const MOV_X6_7 = 0xd28000e6 // mov x6, #7
const B_SELF = 0x14000000 // b .

function finalMachine(s: Parameters<typeof runScenario>[0]): Machine {
  let machine: Machine | undefined
  const outcome = runScenario(s, { perturb: false, inspect: (m) => (machine = m) })
  expect(outcome.error).toBeNull()
  expect(outcome.violations).toEqual([])
  if (!machine) throw new Error('no machine')
  return machine
}

describe.each(['off', 4, 16, 64] as const)('MMU %s', (mmu) => {
  test.each([0, 1] as const)('a tagged load at EL%i reads what the VMM put there', (el) => {
    const probe = programScenario(`load-${mmu}-${el}`, [LDR_X3_X2, B_SELF], { mmu, el, mte: true, dataKind: el === 0 ? 'el0-tagged' : 'tagged' })
    const { value, tag } = slot1First(probe)
    const s = programScenario(`load-${mmu}-${el}`, [LDR_X3_X2, B_SELF], {
      mmu,
      el,
      mte: true,
      dataKind: el === 0 ? 'el0-tagged' : 'tagged',
      x: { 2: (BigInt(tag) << 56n) | BigInt(SLOT1_GPA) },
    })
    const m = finalMachine(s)
    const vcpu = m.vcpus[0]
    if (!vcpu) throw new Error('no vCPU')
    expect(vcpu.getOneReg(xRegId(3))).toBe(value)
    expect(vcpu.getOneReg(REG_PC)).toBe(CODE + 4n)
    expect(exceptionLog(m).count).toBe(0)
    // And the differential holds for the hand-made case too.
    expect(runCase(s).findings).toEqual([])
  })
})

describe.each([4, 16, 64] as const)('%i KiB granule', (mmu) => {
  test('a translation fault is recorded by the vectors, which resume after it with X0-X2 intact', () => {
    const x = { 0: 0x1111n, 1: 0x2222n, 2: 0x3333n, 5: 0x4800_0000n }
    const s = programScenario(`fault-${mmu}`, [LDR_X4_X5, MOV_X6_7, B_SELF], { mmu, el: 1, mte: true, x })
    const m = finalMachine(s)
    const vcpu = m.vcpus[0]
    if (!vcpu) throw new Error('no vCPU')
    const log = exceptionLog(m)
    expect(log.count).toBe(1)
    const entry = log.entries[0]
    expect(entry?.esr !== undefined && entry.esr >>> 26).toBe(0x25) // data abort, same EL
    expect((entry?.esr ?? 0) & 0x3c).toBe(0x04) // translation fault, some level
    expect(entry?.far).toBe(0x4800_0000n)
    expect(entry?.elr).toBe(CODE)
    expect(vcpu.getOneReg(xRegId(6))).toBe(7n)
    for (const [n, v] of Object.entries(x)) if (Number(n) <= 2) expect(vcpu.getOneReg(xRegId(Number(n)))).toBe(v)
  })

  test('a load through a pointer with the wrong tag takes a synchronous tag check fault', () => {
    const probe = programScenario(`tcf-${mmu}`, [LDR_X3_X2, B_SELF], { mmu, el: 1, mte: true, dataKind: 'tagged' })
    const { tag } = slot1First(probe)
    const wrong = BigInt((tag + 1) & 15)
    const sync = (BigInt(probe.regime.sctlr) & ~(3n << 40n)) | (1n << 40n) | (1n << 43n) // TCF = sync, ATA
    const tcr = BigInt(probe.regime.tcr) & ~(1n << 57n) // no TCMA0: tag 0 is checked too
    const s = { ...programScenario(`tcf-${mmu}`, [LDR_X3_X2, B_SELF], { mmu, el: 1, mte: true, dataKind: 'tagged', x: { 2: (wrong << 56n) | BigInt(SLOT1_GPA) } }) }
    const checked = { ...s, regime: { ...s.regime, sctlr: hex64(sync), tcr: hex64(tcr) } }
    const log = exceptionLog(finalMachine(checked))
    expect(log.count).toBe(1)
    expect((log.entries[0]?.esr ?? 0) >>> 26).toBe(0x25)
    expect((log.entries[0]?.esr ?? 0) & 0x3f).toBe(0x11) // synchronous tag check fault
  })
})
