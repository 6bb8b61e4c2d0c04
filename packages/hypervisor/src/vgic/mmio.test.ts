// Register by register, what a guest reads and writes in the distributor and redistributor
// frames, with the values Linux's vgic-mmio-v3.c gives.
import { describe, expect, test } from 'vitest'
import {
  GICD_CTLR,
  GICD_ICACTIVER,
  GICD_ICENABLER,
  GICD_ICFGR,
  GICD_ICPENDR,
  GICD_IGROUPR,
  GICD_IGRPMODR,
  GICD_IIDR,
  GICD_IPRIORITYR,
  GICD_IROUTER,
  GICD_ISACTIVER,
  GICD_ISENABLER,
  GICD_ISPENDR,
  GICD_ITARGETSR,
  GICD_PIDR2,
  GICD_STATUSR,
  GICD_TYPER,
  GICD_TYPER2,
  GICR_CTLR,
  GICR_ICENABLER0,
  GICR_ICFGR0,
  GICR_IGROUPR0,
  GICR_IIDR,
  GICR_IPRIORITYR0,
  GICR_ISENABLER0,
  GICR_ISPENDR0,
  GICR_PENDBASER,
  GICR_PIDR2,
  GICR_PROPBASER,
  GICR_TYPER,
  GICR_WAKER,
  KVM_VGIC_V3_REDIST_SIZE,
} from './registers.js'
import { DIST, REDIST, mappedGic } from './test-support.js'

const rd = (v: number, offset: number): number => REDIST + v * KVM_VGIC_V3_REDIST_SIZE + offset

describe('distributor identification', () => {
  test('GICD_CTLR: ARE and DS are set and fixed; only EnableGrp1 is writable', () => {
    const { read, write } = mappedGic()
    expect(read(DIST + GICD_CTLR)).toBe(0x50)
    write(DIST + GICD_CTLR, 0xffff_ffff)
    expect(read(DIST + GICD_CTLR)).toBe(0x52)
    write(DIST + GICD_CTLR, 0)
    expect(read(DIST + GICD_CTLR)).toBe(0x50)
  })

  test('GICD_TYPER: ITLinesNumber from the interrupt count, 10 INTID bits; TYPER2 0; writes ignored', () => {
    const { read, write } = mappedGic(2, 288)
    expect(read(DIST + GICD_TYPER)).toBe((288 / 32 - 1) | (9 << 19))
    write(DIST + GICD_TYPER, 0)
    expect(read(DIST + GICD_TYPER)).toBe(0x48_0008)
    expect(read(DIST + GICD_TYPER2)).toBe(0)
    expect(mappedGic(1, 64).read(DIST + GICD_TYPER)).toBe(0x48_0001)
  })

  test('GICD_IIDR is KVM (0x4b) by Arm (0x43b), revision 3; PIDR2 says GICv3; STATUSR reads all ones', () => {
    const { read } = mappedGic()
    expect(read(DIST + GICD_IIDR)).toBe(0x4b00_343b)
    expect(read(DIST + GICD_PIDR2)).toBe(0x3b)
    expect(read(DIST + GICD_PIDR2 + 4)).toBe(0)
    expect(read(DIST + GICD_STATUSR)).toBe(0xffff_ffff)
  })
})

describe('distributor per-interrupt registers (SPIs)', () => {
  test('private interrupts are RAZ/WI in the distributor (affinity routing)', () => {
    const { read, write } = mappedGic()
    expect(read(DIST + GICD_IGROUPR)).toBe(0)
    write(DIST + GICD_ISENABLER, 0xffff_ffff)
    expect(read(DIST + GICD_ISENABLER)).toBe(0)
    expect(read(rd(0, GICR_ISENABLER0))).toBe(0xffff) // the SGIs' reset enable, untouched
  })

  test('IGROUPR: SPIs start in group 1; both values of each bit are written', () => {
    const { read, write } = mappedGic()
    expect(read(DIST + GICD_IGROUPR + 4)).toBe(0xffff_ffff)
    write(DIST + GICD_IGROUPR + 4, 0x0000_00f0)
    expect(read(DIST + GICD_IGROUPR + 4)).toBe(0xf0)
  })

  test('ISENABLER sets and ICENABLER clears only the bits written as one; both read the enables', () => {
    const { read, write } = mappedGic()
    write(DIST + GICD_ISENABLER + 4, 0b1010)
    write(DIST + GICD_ISENABLER + 4, 0b0100)
    expect(read(DIST + GICD_ISENABLER + 4)).toBe(0b1110)
    write(DIST + GICD_ICENABLER + 4, 0b0010)
    expect(read(DIST + GICD_ICENABLER + 4)).toBe(0b1100)
  })

  test('ISPENDR/ICPENDR set and clear the pending latch', () => {
    const { read, write } = mappedGic()
    write(DIST + GICD_ISPENDR + 4, 0x8000_0001)
    expect(read(DIST + GICD_ISPENDR + 4)).toBe(0x8000_0001)
    expect(read(DIST + GICD_ICPENDR + 4)).toBe(0x8000_0001)
    write(DIST + GICD_ICPENDR + 4, 1)
    expect(read(DIST + GICD_ISPENDR + 4)).toBe(0x8000_0000)
  })

  test('ISACTIVER/ICACTIVER set and clear the active state', () => {
    const { read, write } = mappedGic()
    write(DIST + GICD_ISACTIVER + 8, 0x10)
    expect(read(DIST + GICD_ICACTIVER + 8)).toBe(0x10)
    write(DIST + GICD_ICACTIVER + 8, 0x10)
    expect(read(DIST + GICD_ISACTIVER + 8)).toBe(0)
  })

  test('IPRIORITYR: byte and word access, 5 priority bits kept (multiples of 8)', () => {
    const { read, write } = mappedGic()
    write(DIST + GICD_IPRIORITYR + 32, 0x1234_56ff)
    expect(read(DIST + GICD_IPRIORITYR + 32)).toBe(0x1030_50f8)
    write(DIST + GICD_IPRIORITYR + 33, 0xa7, 1)
    expect(read(DIST + GICD_IPRIORITYR + 33, 1)).toBe(0xa0)
    expect(read(DIST + GICD_IPRIORITYR + 32)).toBe(0x1030_a0f8)
    expect(read(DIST + GICD_IPRIORITYR + 4)).toBe(0) // private: RAZ
  })

  test('ICFGR: SPIs default to edge (KVM leaves config 0); bit 1 of each field chooses edge', () => {
    const { read, write } = mappedGic()
    expect(read(DIST + GICD_ICFGR + 8)).toBe(0xaaaa_aaaa)
    write(DIST + GICD_ICFGR + 8, 0x0000_0008) // interrupt 33 edge, every other level
    expect(read(DIST + GICD_ICFGR + 8)).toBe(0x8)
  })

  test('ITARGETSR and IGRPMODR are RAZ/WI under affinity routing', () => {
    const { read, write } = mappedGic()
    write(DIST + GICD_ITARGETSR + 32, 0x0101_0101)
    expect(read(DIST + GICD_ITARGETSR + 32)).toBe(0)
    write(DIST + GICD_IGRPMODR + 4, 0xffff_ffff)
    expect(read(DIST + GICD_IGRPMODR + 4)).toBe(0)
  })

  test('IROUTER: 64-bit and 32-bit access; Aff2.Aff1.Aff0 kept, IRM and Aff3 RAZ/WI', () => {
    const { read, read64, write, write64, gic } = mappedGic(18)
    const spi40 = DIST + GICD_IROUTER + 8 * 40
    expect(read64(spi40)).toBe(0n)
    write64(spi40, 0xff_8012_0311n) // Aff3 0xff, IRM set, Aff2 0x12, Aff1 3, Aff0 0x11
    expect(read64(spi40)).toBe(0x12_0311n)
    write(spi40, 0x0000_0101) // Aff1 1, Aff0 1: vCPU 17
    expect(read(spi40)).toBe(0x101)
    expect(read(spi40 + 4)).toBe(0)
    expect(gic.irqs.target[40 - 32]).toBe(17)
    write(spi40, 0x0000_0203) // nobody
    expect(gic.irqs.target[40 - 32]).toBe(-1)
    expect(read64(DIST + GICD_IROUTER + 8 * 31)).toBe(0n) // private range RAZ
  })

  test('accesses to interrupts the VM does not have, at wrong widths or misaligned, are RAZ/WI', () => {
    const { read, write } = mappedGic(1, 64) // SPIs 32..63
    write(DIST + GICD_ISENABLER + 8, 0xffff_ffff)
    expect(read(DIST + GICD_ISENABLER + 8)).toBe(0)
    expect(read(DIST + GICD_IPRIORITYR + 64)).toBe(0)
    write(DIST + GICD_ISENABLER + 4, 0xffff, 1) // 8-bit access to a 32-bit-only register
    expect(read(DIST + GICD_ISENABLER + 4)).toBe(0)
    write(DIST + GICD_IPRIORITYR + 34, 0xf8f8_f8f8) // misaligned word
    expect(read(DIST + GICD_IPRIORITYR + 32)).toBe(0)
  })
})

describe('redistributors', () => {
  test('GICR_TYPER: Processor_Number, affinity in the upper word, Last on the last vCPU', () => {
    const { read64 } = mappedGic(3)
    expect(read64(rd(0, GICR_TYPER))).toBe(0n)
    expect(read64(rd(1, GICR_TYPER))).toBe((1n << 32n) | (1n << 8n))
    expect(read64(rd(2, GICR_TYPER))).toBe((2n << 32n) | (2n << 8n) | 0x10n)
  })

  test('GICR_TYPER of vCPU 17 reports Aff1 = 1, Aff0 = 1 (KVM packs 16 vCPUs per Aff0)', () => {
    const { read, read64 } = mappedGic(18)
    expect(read64(rd(17, GICR_TYPER))).toBe((0x101n << 32n) | (17n << 8n) | 0x10n)
    expect(read(rd(17, GICR_TYPER + 4))).toBe(0x101)
  })

  test('CTLR reads IR|CES at revision 3; IIDR; WAKER is RAZ/WI (always awake); PIDR2', () => {
    const { read, write } = mappedGic()
    expect(read(rd(0, GICR_CTLR))).toBe(0x6)
    expect(read(rd(0, GICR_IIDR))).toBe(0x4b00_043b)
    write(rd(0, GICR_WAKER), 0x2)
    expect(read(rd(0, GICR_WAKER))).toBe(0)
    expect(read(rd(1, GICR_PIDR2))).toBe(0x3b)
  })

  test('SGI frame reset: SGIs enabled and edge, PPIs level, all group 1; ICFGR0/1 read-only', () => {
    const { read, write } = mappedGic()
    expect(read(rd(1, GICR_ISENABLER0))).toBe(0x0000_ffff)
    expect(read(rd(1, GICR_IGROUPR0))).toBe(0xffff_ffff)
    expect(read(rd(1, GICR_ICFGR0))).toBe(0xaaaa_aaaa)
    expect(read(rd(1, GICR_ICFGR0 + 4))).toBe(0)
    write(rd(1, GICR_ICFGR0 + 4), 0xaaaa_aaaa)
    write(rd(1, GICR_ICFGR0), 0)
    expect(read(rd(1, GICR_ICFGR0 + 4))).toBe(0)
    expect(read(rd(1, GICR_ICFGR0))).toBe(0xaaaa_aaaa)
  })

  test('private interrupts are banked: each redistributor has its own', () => {
    const { read, write } = mappedGic()
    write(rd(0, GICR_ISENABLER0), 1 << 27)
    write(rd(1, GICR_ICENABLER0), 0xffff)
    write(rd(1, GICR_IPRIORITYR0 + 24), 0xa0, 1)
    expect(read(rd(0, GICR_ISENABLER0))).toBe(0x0800_ffff)
    expect(read(rd(1, GICR_ISENABLER0))).toBe(0)
    expect(read(rd(0, GICR_IPRIORITYR0 + 24))).toBe(0)
    expect(read(rd(1, GICR_IPRIORITYR0 + 24))).toBe(0xa0)
    write(rd(1, GICR_ISPENDR0), 1 << 3)
    expect(read(rd(1, GICR_ISPENDR0))).toBe(8)
    expect(read(rd(0, GICR_ISPENDR0))).toBe(0)
  })

  test('PROPBASER/PENDBASER keep what is written minus RES0 bits, with KVM\'s cacheability fix-ups', () => {
    const { read, read64, write64 } = mappedGic()
    write64(rd(0, GICR_PROPBASER), 0xffff_ffff_ffff_ffffn)
    // RES0 63:59, 55:52, 6:5 cleared; outer cacheability 7 becomes SameAsInner (0).
    expect(read64(rd(0, GICR_PROPBASER))).toBe(0x000f_ffff_ffff_ff9fn)
    // Inner non-cacheable becomes RaWb (3 << 7); bit 12 is RES0; PTZ (bit 62) reads as 0.
    write64(rd(1, GICR_PENDBASER), 0x4000_0000_0000_1000n)
    expect(read(rd(1, GICR_PENDBASER))).toBe(0x180)
    expect(read(rd(1, GICR_PENDBASER + 4))).toBe(0)
    expect(read(rd(0, GICR_PENDBASER))).toBe(0)
  })
})

describe('the bus', () => {
  test('addresses outside the frames are not the vGIC\'s', () => {
    const { gic } = mappedGic(2)
    expect(gic.mmioRead(0, DIST - 4, 4)).toBe(false)
    expect(gic.mmioRead(0, REDIST + 2 * KVM_VGIC_V3_REDIST_SIZE, 4)).toBe(false)
    expect(gic.mmioRead(0, REDIST + 2 * KVM_VGIC_V3_REDIST_SIZE - 4, 4)).toBe(true)
  })
})
