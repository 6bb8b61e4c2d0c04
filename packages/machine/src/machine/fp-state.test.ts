// The FP/SIMD register file travels with the vCPU: 128-bit V registers, FPSR and FPCR are
// in KVM_GET_REG_LIST, so a snapshot and a live migration carry them as ONE_REG values.
import { readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { expect, test } from 'vitest'
import { REG_FPCR, REG_FPSR, vRegId as vreg } from '@tagvm/vmm-api'
import type { MachineConfig } from '../config.js'
import { channelPair } from '../migration/channel.js'
import { receiveMachine, sendMachine } from '../migration/live.js'
import { restoreSnapshot } from '../restore.js'
import { SnapshotEncoder } from '../snapshot/format.js'
import { writeMachineSnapshot } from '../snapshot/save.js'
import { Machine } from './machine.js'

const CONFIG: MachineConfig = { ramBase: 0x4000_0000, ramSize: 8 << 20, cpus: 2, mte: true, backing: 'anon' }
const hello = fileURLToPath(new URL('../../../../guests/hello/hello.elf', import.meta.url))

/** A booted machine whose vCPUs hold distinct 128-bit patterns in every V register. */
function machineWithVregs(): { machine: Machine; expected: bigint[][] } {
  const machine = Machine.create(CONFIG, { console: () => undefined })
  machine.boot(readFileSync(hello), hello)
  const expected = machine.vcpus.map((vcpu, c) =>
    Array.from({ length: 32 }, (_, n) => {
      // High bits set in every word (the upper 64 bits too), so a lost or truncated half shows.
      const value = (0xf0e1_d2c3_b4a5_9687n << 64n) ^ (BigInt(c * 32 + n + 1) * 0x9e37_79b9_7f4a_7c15n) ^ (BigInt(n) << 120n)
      const v = value & ((1n << 128n) - 1n)
      vcpu.setOneReg(vreg(n), v)
      return v
    }),
  )
  machine.vcpus[1]!.setOneReg(REG_FPCR, 0x0340_0000n) // DN, FZ, RMode = RP
  machine.vcpus[1]!.setOneReg(REG_FPSR, 0x0800_0011n) // QC, IXC, IOC
  return { machine, expected }
}

function expectSameFpState(machine: Machine, expected: bigint[][]): void {
  machine.vcpus.forEach((vcpu, c) => {
    expect(Array.from({ length: 32 }, (_, n) => vcpu.getOneReg(vreg(n)))).toEqual(expected[c])
  })
  expect(machine.vcpus[1]!.getOneReg(REG_FPCR)).toBe(0x0340_0000n)
  expect(machine.vcpus[1]!.getOneReg(REG_FPSR)).toBe(0x0800_0011n)
}

test('a snapshot restores every 128-bit V register, FPSR and FPCR of every vCPU', () => {
  const { machine, expected } = machineWithVregs()
  const chunks: Uint8Array[] = []
  writeMachineSnapshot(machine, new SnapshotEncoder((c) => chunks.push(c.slice())))
  const bytes = new Uint8Array(Buffer.concat(chunks))
  const restored = restoreSnapshot(bytes, 'fp.snap', (config) => Machine.create(config, { console: () => undefined }))
  expectSameFpState(restored, expected)
})

test('a live migration carries them too', async () => {
  const { machine, expected } = machineWithVregs()
  const [a, b] = channelPair()
  const received = receiveMachine(b, (config) => Machine.create(config, { console: () => undefined }))
  const result = await sendMachine(machine, a, { maxRounds: 2, insnsPerRound: 100 })
  expect(result.kind).toBe('migrated')
  expectSameFpState(await received, expected)
})
