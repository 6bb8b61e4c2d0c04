import { PhysicalMemory } from '@tagvm/tag-memory'
import { expect, test } from 'vitest'
import {
  ACCESS_READ,
  ACCESS_WRITE,
  FAULT_ALIGNMENT,
  FAULT_EXTERNAL_ON_WALK,
  Mmu,
  Stage2Builder,
  TranslationResult,
  recordFault,
} from './index.js'
import type { DescriptorMemory } from './index.js'

test('PhysicalMemory from @tagvm/tag-memory serves as DescriptorMemory for the builder and the walker', () => {
  const memory: DescriptorMemory = new PhysicalMemory({ size: 16 * 1024 * 1024 })
  let next = 8 * 1024 * 1024
  const s2 = new Stage2Builder(memory, {
    ipaBits: 40,
    allocTable: () => {
      const pa = next
      next += 4096
      return pa
    },
  })
  s2.map(0x4000_0000, 0x20_0000, 0x20_0000, { read: true, write: true, exec: true, memAttr: 0b0110 })
  const mmu = new Mmu(memory)
  mmu.setVtcrEl2(s2.vtcr)
  mmu.setVttbrEl2(3 << 16, s2.rootPa)
  mmu.setHcrEl2((1 << 14) | (1 << 25), 1 | (1 << 12)) // FWB, DCT; VM, DC
  expect([mmu.currentVmid, mmu.stage1Enabled, mmu.stage2Enabled]).toEqual([3, false, true])
  const out = new TranslationResult()
  expect(mmu.translate(0, 0x4001_2345, ACCESS_WRITE, 1, false, out)).toBe(true)
  expect(out.pa).toBe(0x21_2345)
  expect(out.tagged).toBe(true)
  // A stage-2 table pointing outside the 16 MiB of memory: external abort on the walk.
  memory.write32(s2.rootPa, (0x100_0000 | 3) >>> 0)
  mmu.flushAll()
  expect(mmu.walk(0, 0x4001_2345, ACCESS_READ, 1, false, out)).toBe(false)
  expect(out.fault).toBe(FAULT_EXTERNAL_ON_WALK)
  expect(out.stage).toBe(2)
})

test('recordFault builds the CPU\'s alignment fault record', () => {
  const out = new TranslationResult()
  expect(recordFault(out, FAULT_ALIGNMENT, 1, 0, ACCESS_WRITE, false, 0, 0x4000_1008, false, 0)).toBe(false)
  expect([out.fsc, out.iss, out.farLo, out.ipaValid]).toEqual([0x21, 0x61, 0x4000_1008, false])
  expect(() => recordFault(out, 99, 1, 0, ACCESS_READ, false, 0, 0, false, 0)).toThrow(RangeError)
})
