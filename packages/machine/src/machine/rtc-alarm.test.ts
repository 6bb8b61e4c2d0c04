// The PL031's alarm wakes a guest asleep in WFI, as a timer does: with every vCPU waiting and
// no timer armed, the machine sleeps until the RTC's match (the instruction clock jumps to it),
// then the RTC's SPI reaches the vCPU through the vGIC.
import { describe, expect, test } from 'vitest'
import { xRegId } from '@tagvm/vmm-api'
import type { MachineConfig } from '../config.js'
import { Machine } from './machine.js'

const CONFIG: MachineConfig = { ramBase: 0x4000_0000, ramSize: 8 << 20, cpus: 1, mte: false, backing: 'anon', clock: 'instructions' }

// clang/ld.lld 14 at 0x4008_0000: VBAR = +0x800; GICD_CTLR.EnableGrp1; GICD_ISENABLER1 = SPI 2
// (INTID 34, the RTC); PMR 0xf8; IGRPEN1; RTCMR = RTCDR + 2; RTCIMSC = 1; DAIFClr I;
// loop { wfi } until x20 != 0; x22 = CNTPCT; SYSTEM_OFF.
const MAIN = [
  0x10004001, 0xd518c001, 0xd2a10002, 0x52800043, 0xb9000043, 0x52800083, 0xb9010443, 0xd2801f06, 0xd5184606, 0xd2800026,
  0xd518cce6, 0xd5033fdf, 0xd2a12027, 0xb94000e8, 0x11000908, 0xb90004e8, 0x52800029, 0xb90010e9, 0xd2800014, 0xd50342ff,
  0xd503207f, 0xb4fffff4, 0xd53be036, 0x52b08000, 0x11002000, 0xd4000002,
]
// At VBAR + 0x280: x21 = IAR1; RTCICR = 1; x20++; EOIR1 x21; ERET.
const IRQ = [0xd538cc15, 0x52800029, 0xb9001ce9, 0x91000694, 0xd518cc35, 0xd69f03e0]

function boot(): Machine {
  const words = new Uint32Array(0xa80 / 4 + IRQ.length)
  words.set(MAIN)
  words.set(IRQ, 0xa80 / 4)
  const machine = Machine.create(CONFIG, { console: () => {} })
  machine.boot(new Uint8Array(words.buffer), 'rtc-alarm.bin', { base: 0x4008_0000 })
  return machine
}

describe('the PL031 alarm as a wake-up', () => {
  test('a guest waiting in WFI for the RTC alarm 2 s ahead wakes at 2 s of guest time, having run a few instructions', () => {
    const machine = boot()
    expect(machine.run()).toEqual({ kind: 'power-off' })
    const reg = (n: number): bigint => machine.vcpus[0]!.getOneReg(xRegId(n))
    expect(reg(20)).toBe(1n) // one interrupt
    expect(reg(21)).toBe(34n) // INTID 34: SPI 2
    // The RTC counts whole seconds from counter 0: RTCDR + 2 is reached at exactly 2 s.
    expect(reg(22)).toBeGreaterThanOrEqual(2_000_000_000n)
    expect(reg(22)).toBeLessThan(2_000_000_000n + 100n)
    expect(machine.retired).toBeLessThan(100)
  })
})
