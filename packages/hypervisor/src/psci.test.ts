import { describe, expect, test } from 'vitest'
import {
  KVM_ARM_PSCI_0_1,
  KVM_ARM_PSCI_0_2,
  KVM_ARM_PSCI_1_0,
  KVM_PSCI_FN_CPU_OFF,
  KVM_PSCI_FN_CPU_ON,
  KVM_SYSTEM_EVENT_RESET,
  KVM_SYSTEM_EVENT_SHUTDOWN,
  PSCI_AFFINITY_OFF,
  PSCI_AFFINITY_ON,
  PSCI_VERSION_1_1,
  PsciFunction,
  PsciReturn,
  SmcccFunction,
  handleSmcccCall,
  mpidrForVcpu,
  type PsciVcpu,
} from './psci.js'

const U64 = (1n << 64n) - 1n
const neg = (n: number): bigint => BigInt(n) & U64

function call(fn: number, a1 = 0n, a2 = 0n, a3 = 0n, vcpus: PsciVcpu[] = []) {
  return handleSmcccCall([BigInt(fn), a1, a2, a3], vcpus)
}

const twoVcpus = (secondStopped: boolean): PsciVcpu[] => [
  { mpidr: mpidrForVcpu(0), stopped: false },
  { mpidr: mpidrForVcpu(1), stopped: secondStopped },
]

test('PSCI ids and codes have their SMCCC values', () => {
  expect(PsciFunction.SYSTEM_OFF).toBe(0x84000008)
  expect(PsciFunction.CPU_ON_64).toBe(0xc4000003)
  expect(PsciReturn.NOT_SUPPORTED).toBe(-1)
  expect(PSCI_VERSION_1_1).toBe(0x10001)
})

test('MPIDR of vCPU n follows reset_mpidr', () => {
  expect(mpidrForVcpu(0)).toBe(0x8000_0000n)
  expect(mpidrForVcpu(0x12)).toBe(0x8000_0102n)
  expect(mpidrForVcpu(0x1234)).toBe(0x8001_2304n)
})

describe('in-kernel PSCI 1.1', () => {
  test('PSCI_VERSION is 1.1 and SMCCC_VERSION is 1.1', () => {
    expect(call(PsciFunction.VERSION)).toEqual({ kind: 'return', x0: 0x10001n })
    expect(call(SmcccFunction.SMCCC_VERSION)).toEqual({ kind: 'return', x0: 0x10001n })
  })

  test('PSCI_FEATURES: 0 for implemented calls, NOT_SUPPORTED (-1 as u64) otherwise', () => {
    for (const fn of [PsciFunction.CPU_ON_64, PsciFunction.SYSTEM_OFF, PsciFunction.FEATURES, PsciFunction.AFFINITY_INFO_64]) {
      expect(call(PsciFunction.FEATURES, BigInt(fn))).toEqual({ kind: 'return', x0: 0n })
    }
    expect(call(PsciFunction.FEATURES, 0x8400_000en)).toEqual({ kind: 'return', x0: neg(-1) }) // SYSTEM_SUSPEND not enabled
  })

  test('unknown function ids return NOT_SUPPORTED', () => {
    expect(call(0xc500_0000)).toEqual({ kind: 'return', x0: U64 })
  })

  test('CPU_ON: bad MPIDR bits and unknown CPUs are INVALID_PARAMETERS, a running CPU ALREADY_ON', () => {
    expect(call(PsciFunction.CPU_ON_64, 1n << 24n, 0n, 0n, twoVcpus(true))).toEqual({ kind: 'return', x0: neg(-2) })
    expect(call(PsciFunction.CPU_ON_64, 7n, 0n, 0n, twoVcpus(true))).toEqual({ kind: 'return', x0: neg(-2) })
    expect(call(PsciFunction.CPU_ON_64, 0n, 0n, 0n, twoVcpus(true))).toEqual({ kind: 'return', x0: neg(-4) })
    expect(call(PsciFunction.CPU_ON_64, 1n, 0x4008_0000n, 0xabcn, twoVcpus(true))).toEqual({
      kind: 'cpu-on',
      target: 1,
      entry: 0x4008_0000n,
      contextId: 0xabcn,
    })
  })

  test('CPU_ON (SMC32) uses only the low 32 bits of its arguments', () => {
    const result = call(SmcccFunction.CPU_ON_32, 0xffff_ffff_0000_0001n, 0x1_4000_0000n, 0x1_0000_0005n, twoVcpus(true))
    expect(result).toEqual({ kind: 'cpu-on', target: 1, entry: 0x4000_0000n, contextId: 5n })
  })

  test('AFFINITY_INFO reports ON/OFF and rejects levels above 3', () => {
    expect(call(PsciFunction.AFFINITY_INFO_64, 1n, 0n, 0n, twoVcpus(true))).toEqual({ kind: 'return', x0: BigInt(PSCI_AFFINITY_OFF) })
    expect(call(PsciFunction.AFFINITY_INFO_64, 1n, 0n, 0n, twoVcpus(false))).toEqual({ kind: 'return', x0: BigInt(PSCI_AFFINITY_ON) })
    // Level 1 ignores Aff0: vCPU 0 is on, so cluster 0 is on.
    expect(call(PsciFunction.AFFINITY_INFO_64, 1n, 1n, 0n, twoVcpus(true))).toEqual({ kind: 'return', x0: BigInt(PSCI_AFFINITY_ON) })
    expect(call(PsciFunction.AFFINITY_INFO_64, 1n, 4n, 0n, twoVcpus(true))).toEqual({ kind: 'return', x0: neg(-2) })
  })

  test('SYSTEM_OFF / SYSTEM_RESET / SYSTEM_RESET2 become system events', () => {
    expect(call(PsciFunction.SYSTEM_OFF)).toEqual({ kind: 'system-event', type: KVM_SYSTEM_EVENT_SHUTDOWN, flags: 0n })
    expect(call(PsciFunction.SYSTEM_RESET)).toEqual({ kind: 'system-event', type: KVM_SYSTEM_EVENT_RESET, flags: 0n })
    expect(call(SmcccFunction.SYSTEM_RESET2_64, 0n)).toEqual({ kind: 'system-event', type: KVM_SYSTEM_EVENT_RESET, flags: 1n })
    expect(call(SmcccFunction.SYSTEM_RESET2_64, 5n)).toEqual({ kind: 'return', x0: neg(-2) })
  })

  test('CPU_OFF, CPU_SUSPEND and MIGRATE_INFO_TYPE', () => {
    expect(call(PsciFunction.CPU_OFF)).toEqual({ kind: 'cpu-off' })
    expect(call(PsciFunction.CPU_SUSPEND_64)).toEqual({ kind: 'suspend' })
    expect(call(PsciFunction.MIGRATE_INFO_TYPE)).toEqual({ kind: 'return', x0: 2n })
  })
})

describe('PSCI versions chosen through KVM_REG_ARM_PSCI_VERSION', () => {
  const v = (fn: number, version: number, a1 = 0n) => handleSmcccCall([BigInt(fn), a1, 0n, 0n], twoVcpus(true), version)

  test('PSCI_VERSION reports the chosen version; 0.2 lacks FEATURES, 1.0 lacks SYSTEM_RESET2', () => {
    expect(v(PsciFunction.VERSION, KVM_ARM_PSCI_0_2)).toEqual({ kind: 'return', x0: 2n })
    expect(v(PsciFunction.FEATURES, KVM_ARM_PSCI_0_2, BigInt(PsciFunction.CPU_ON_64))).toEqual({ kind: 'return', x0: U64 })
    expect(v(PsciFunction.FEATURES, KVM_ARM_PSCI_1_0, BigInt(PsciFunction.CPU_ON_64))).toEqual({ kind: 'return', x0: 0n })
    expect(v(SmcccFunction.SYSTEM_RESET2_64, KVM_ARM_PSCI_1_0)).toEqual({ kind: 'return', x0: U64 })
  })

  test('PSCI 0.1 knows only KVM_PSCI_FN_CPU_OFF/CPU_ON', () => {
    expect(v(KVM_PSCI_FN_CPU_OFF, KVM_ARM_PSCI_0_1)).toEqual({ kind: 'cpu-off' })
    expect(v(KVM_PSCI_FN_CPU_ON, KVM_ARM_PSCI_0_1, 1n)).toMatchObject({ kind: 'cpu-on', target: 1 })
    expect(v(KVM_PSCI_FN_CPU_ON, KVM_ARM_PSCI_0_1, 0n)).toEqual({ kind: 'return', x0: neg(-2) })
    expect(v(PsciFunction.SYSTEM_OFF, KVM_ARM_PSCI_0_1)).toEqual({ kind: 'return', x0: U64 })
  })
})
