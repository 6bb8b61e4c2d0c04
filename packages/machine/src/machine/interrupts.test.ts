// The machine's interrupt wiring end to end: a raw guest arms the physical timer (PPI 30)
// through its vGIC and sleeps in WFI six times; on the instruction clock idle time is skipped,
// so the counter values the guest sees are repeatable, and a snapshot taken between two
// interrupts (vGIC state as a device record, timers as ONE_REGs) continues the same way.
import { describe, expect, test } from 'vitest'
import { xRegId } from '@tagvm/vmm-api'
import type { MachineConfig } from '../config.js'
import { encodeSnapshot } from '../snapshot/format.js'
import { restoreSnapshot } from '../restore.js'
import { Machine } from './machine.js'

const CONFIG: MachineConfig = { ramBase: 0x4000_0000, ramSize: 8 << 20, cpus: 1, mte: false, backing: 'anon', clock: 'instructions' }
const BASE = 0x4008_0000

// clang/ld.lld 14 at 0x4008_0000: GICD_CTLR.EnableGrp1; GICR_ISENABLER0 = PPI 30; PMR 0xf8;
// IGRPEN1; CNTP_TVAL = 5000, CNTP_CTL = 1; DAIFClr I; loop { wfi } until x20 = 6; SYSTEM_OFF.
const MAIN = [
  0x10004001, 0xd518c001, 0xd2a10002, 0x52800043, 0xb9000043, 0xd2a10164, 0x52a80005, 0xb9010085, 0xd2801f06, 0xd5184606,
  0xd2800026, 0xd518cce6, 0xd5033fdf, 0xd2800014, 0xd2827107, 0xd51be207, 0xd2800027, 0xd51be227, 0xd50342ff, 0xd503207f,
  0xf1001a9f, 0x54ffffcb, 0x52b08000, 0x11002000, 0xd4000002,
]
// At VBAR + 0x280: x21 = IAR1; x22 = CNTPCT; x23 ^= x22; x20++; CNTP_TVAL = 5000; EOIR1 x21; ERET.
const IRQ = [0xd538cc15, 0xd53be036, 0xca1602f7, 0x91000694, 0xd2827107, 0xd51be207, 0xd518cc35, 0xd69f03e0]

function image(): Uint8Array {
  const words = new Uint32Array(0xa80 / 4 + IRQ.length)
  words.set(MAIN)
  words.set(IRQ, 0xa80 / 4)
  return new Uint8Array(words.buffer)
}

function boot(): Machine {
  const machine = Machine.create(CONFIG, { console: () => {} })
  machine.boot(image(), 'timer-irq.bin', { base: BASE })
  return machine
}

const reg = (m: Machine, n: number): bigint => m.vcpus[0]!.getOneReg(xRegId(n))

describe('timer interrupts on the machine', () => {
  test('six PPI 30 interrupts wake WFI; guest time skips the sleeps, the same on every run', () => {
    const results = [boot(), boot()].map((m) => {
      expect(m.run()).toEqual({ kind: 'power-off' })
      return { count: reg(m, 20), intid: reg(m, 21), last: reg(m, 22), mix: reg(m, 23), retired: m.retired }
    })
    expect(results[0]!.count).toBe(6n)
    expect(results[0]!.intid).toBe(30n)
    expect(results[0]!.last).toBeGreaterThanOrEqual(6n * 5000n) // six sleeps of 5000 ticks
    expect(results[0]!.retired).toBeLessThan(200) // ...that cost no instructions
    expect(results[1]).toEqual(results[0])
  })

  test('a snapshot between two interrupts restores vGIC and timers and carries on exactly', () => {
    const reference = boot()
    expect(reference.run()).toEqual({ kind: 'power-off' })

    const m = boot()
    while (reg(m, 20) < 3n) expect(m.run(7)).toEqual({ kind: 'budget' })
    const saved = encodeSnapshot({ config: m.config, vcpus: m.saveVcpus(), devices: m.saveDevices(), pages: [...m.memory.pages()] })
    const copy = restoreSnapshot(saved, 'timer-irq.snap', (c) => Machine.create(c, { console: () => {} }))
    expect(copy.run()).toEqual({ kind: 'power-off' })
    for (const n of [20, 21, 22, 23]) expect(reg(copy, n)).toBe(reg(reference, n))
  })
})
