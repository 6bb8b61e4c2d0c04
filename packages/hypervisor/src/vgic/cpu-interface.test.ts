// The ICC_*_EL1 registers one by one, as KVM's guest sees them (5 priority bits, 16-bit INTIDs).
import { describe, expect, test } from 'vitest'
import type { CpuInterface } from './cpu-interface.js'
import { GICD_CTLR, GICD_IPRIORITYR, GICD_ISENABLER, GICD_ISPENDR, ICC, KVM_VGIC_V3_REDIST_SIZE, GICR_ISENABLER0, GICR_IPRIORITYR0, GICR_ISPENDR0, GICR_IGROUPR0 } from './registers.js'
import { DIST, REDIST, mappedGic } from './test-support.js'

function get(cif: CpuInterface, key: number): number {
  if (!cif.read(key)) throw new Error(`read of 0x${key.toString(16)} is UNDEFINED`)
  expect(cif.valueHi).toBe(0)
  return cif.valueLo
}

function set(cif: CpuInterface, key: number, value: number): void {
  if (!cif.write(key, value, 0)) throw new Error(`write of 0x${key.toString(16)} is UNDEFINED`)
}

describe('reset values', () => {
  test('PMR 0, BPR0 2 and BPR1 3 (their minimum), groups off, idle running priority, SRE fixed at 7', () => {
    const cif = mappedGic().gic.cpuInterface(0)
    expect(get(cif, ICC.PMR_EL1)).toBe(0)
    expect(get(cif, ICC.BPR0_EL1)).toBe(2)
    expect(get(cif, ICC.BPR1_EL1)).toBe(3)
    expect(get(cif, ICC.IGRPEN0_EL1)).toBe(0)
    expect(get(cif, ICC.IGRPEN1_EL1)).toBe(0)
    expect(get(cif, ICC.RPR_EL1)).toBe(0xff)
    expect(get(cif, ICC.SRE_EL1)).toBe(7)
    expect(get(cif, ICC.IAR1_EL1)).toBe(1023)
    expect(get(cif, ICC.HPPIR1_EL1)).toBe(1023)
    expect(get(cif, ICC.AP1R0_EL1)).toBe(0)
  })

  test('ICC_CTLR_EL1: PRIbits 4 (5 bits), IDbits 0 (16 bits), A3V, SEIS 0, EOImode and CBPR clear', () => {
    expect(get(mappedGic().gic.cpuInterface(0), ICC.CTLR_EL1)).toBe((4 << 8) | (1 << 15))
  })
})

describe('register behaviour', () => {
  test('PMR keeps the 5 implemented priority bits', () => {
    const cif = mappedGic().gic.cpuInterface(0)
    set(cif, ICC.PMR_EL1, 0xff)
    expect(get(cif, ICC.PMR_EL1)).toBe(0xf8)
    set(cif, ICC.PMR_EL1, 0x1_0087)
    expect(get(cif, ICC.PMR_EL1)).toBe(0x80)
  })

  test('binary points are clamped to their minimum; CBPR makes BPR1 read BPR0 + 1 and ignore writes', () => {
    const cif = mappedGic().gic.cpuInterface(0)
    set(cif, ICC.BPR0_EL1, 0)
    expect(get(cif, ICC.BPR0_EL1)).toBe(2)
    set(cif, ICC.BPR1_EL1, 1)
    expect(get(cif, ICC.BPR1_EL1)).toBe(3)
    set(cif, ICC.BPR0_EL1, 5)
    set(cif, ICC.BPR1_EL1, 6)
    set(cif, ICC.CTLR_EL1, 1) // CBPR
    expect(get(cif, ICC.BPR1_EL1)).toBe(6 /* = BPR0 + 1 */)
    set(cif, ICC.BPR1_EL1, 4)
    set(cif, ICC.CTLR_EL1, 0)
    expect(get(cif, ICC.BPR1_EL1)).toBe(6)
  })

  test('ICC_CTLR_EL1 writes change only CBPR and EOImode', () => {
    const cif = mappedGic().gic.cpuInterface(0)
    set(cif, ICC.CTLR_EL1, 0xffff_ffff)
    expect(get(cif, ICC.CTLR_EL1)).toBe((4 << 8) | (1 << 15) | 3)
  })

  test('IGRPEN0/1 hold bit 0; SRE ignores writes', () => {
    const cif = mappedGic().gic.cpuInterface(0)
    set(cif, ICC.IGRPEN1_EL1, 3)
    set(cif, ICC.IGRPEN0_EL1, 1)
    expect([get(cif, ICC.IGRPEN0_EL1), get(cif, ICC.IGRPEN1_EL1)]).toEqual([1, 1])
    set(cif, ICC.SRE_EL1, 0)
    expect(get(cif, ICC.SRE_EL1)).toBe(7)
  })

  test('UNDEFINED: reads of write-only registers, writes of read-only ones, AP*R1..3 with 5 priority bits', () => {
    const cif = mappedGic().gic.cpuInterface(0)
    for (const key of [ICC.EOIR1_EL1, ICC.EOIR0_EL1, ICC.DIR_EL1, ICC.SGI1R_EL1, ICC.SGI0R_EL1, ICC.ASGI1R_EL1, ICC.AP1R1_EL1, ICC.AP0R3_EL1]) {
      expect(cif.read(key)).toBe(false)
    }
    for (const key of [ICC.IAR1_EL1, ICC.IAR0_EL1, ICC.HPPIR1_EL1, ICC.RPR_EL1, ICC.AP1R2_EL1]) {
      expect(cif.write(key, 0, 0)).toBe(false)
    }
    expect(cif.read(0xc000)).toBe(false) // not an ICC register
  })
})

describe('acknowledge and end of interrupt', () => {
  /** vCPU 0 with its CPU interface open (PMR 0xf0, group 1 on) and the distributor enabled. */
  function ready() {
    const t = mappedGic()
    t.write(DIST + GICD_CTLR, 2)
    const cif = t.gic.cpuInterface(0)
    set(cif, ICC.PMR_EL1, 0xf0)
    set(cif, ICC.IGRPEN1_EL1, 1)
    return { ...t, cif }
  }

  test('IAR1 takes the pending interrupt, marks its priority active and RPR shows it; EOIR1 undoes both', () => {
    const { write, read, cif } = ready()
    write(REDIST + GICR_IPRIORITYR0 + 5, 0x48, 1)
    write(REDIST + GICR_ISPENDR0, 1 << 5)
    expect(get(cif, ICC.HPPIR1_EL1)).toBe(5)
    expect(cif.signal).toBe(1)
    expect(get(cif, ICC.IAR1_EL1)).toBe(5)
    expect(cif.signal).toBe(0)
    expect(get(cif, ICC.RPR_EL1)).toBe(0x48)
    expect(get(cif, ICC.AP1R0_EL1)).toBe(1 << (0x48 >> 3))
    expect(read(REDIST + GICR_ISPENDR0)).toBe(0)
    expect(get(cif, ICC.IAR1_EL1)).toBe(1023)
    set(cif, ICC.EOIR1_EL1, 5)
    expect(get(cif, ICC.RPR_EL1)).toBe(0xff)
    expect(get(cif, ICC.AP1R0_EL1)).toBe(0)
    expect(read(REDIST + 0x1_0300 /* ISACTIVER0 */)).toBe(0)
  })

  test('a group-0 interrupt is signalled as FIQ and taken through IAR0 only', () => {
    const { write, cif } = ready()
    write(REDIST + GICR_IGROUPR0, ~(1 << 7))
    write(REDIST + GICR_ISPENDR0, 1 << 7)
    expect(cif.signal).toBe(0) // group 0 disabled
    set(cif, ICC.IGRPEN0_EL1, 1)
    expect(cif.signal).toBe(2)
    expect(get(cif, ICC.HPPIR1_EL1)).toBe(1023)
    expect(get(cif, ICC.IAR1_EL1)).toBe(1023)
    expect(get(cif, ICC.HPPIR0_EL1)).toBe(7)
    expect(get(cif, ICC.IAR0_EL1)).toBe(7)
    expect(get(cif, ICC.AP0R0_EL1)).toBe(1)
    set(cif, ICC.EOIR0_EL1, 7)
    expect(get(cif, ICC.AP0R0_EL1)).toBe(0)
  })

  test('EOI of a special INTID does nothing; an EOI for the wrong priority drops it but deactivates nothing', () => {
    const { write, read, cif } = ready()
    write(REDIST + GICR_ISPENDR0, 0b11)
    write(REDIST + GICR_IPRIORITYR0, 0x0000_1020)
    expect(get(cif, ICC.IAR1_EL1)).toBe(1) // priority 0x10 beats 0x20
    set(cif, ICC.EOIR1_EL1, 1023)
    expect(get(cif, ICC.RPR_EL1)).toBe(0x10)
    set(cif, ICC.EOIR1_EL1, 0) // interrupt 0 is not active
    expect(get(cif, ICC.RPR_EL1)).toBe(0xff)
    expect(read(REDIST + 0x1_0300)).toBe(0b10) // interrupt 1 still active
  })

  test('spurious when the distributor or the group is disabled, or nothing beats PMR', () => {
    const { write, cif } = ready()
    write(DIST + GICD_ISENABLER + 4, 1)
    write(DIST + GICD_IPRIORITYR + 32, 0xf0, 1)
    write(DIST + GICD_ISPENDR + 4, 1)
    expect(get(cif, ICC.HPPIR1_EL1)).toBe(32)
    expect(get(cif, ICC.IAR1_EL1)).toBe(1023) // priority 0xf0 is not below PMR 0xf0
    set(cif, ICC.PMR_EL1, 0xf8)
    write(DIST + GICD_CTLR, 0)
    expect(get(cif, ICC.HPPIR1_EL1)).toBe(1023)
    write(DIST + GICD_CTLR, 2)
    set(cif, ICC.IGRPEN1_EL1, 0)
    expect(get(cif, ICC.IAR1_EL1)).toBe(1023)
    set(cif, ICC.IGRPEN1_EL1, 1)
    expect(get(cif, ICC.IAR1_EL1)).toBe(32)
  })

  test('a disabled interrupt stays pending but is not presented', () => {
    const { write, read, cif } = ready()
    write(REDIST + 0x1_0180 /* ICENABLER0 */, 1 << 2)
    write(REDIST + GICR_ISPENDR0, 1 << 2)
    expect(get(cif, ICC.HPPIR1_EL1)).toBe(1023)
    expect(read(REDIST + GICR_ISPENDR0)).toBe(4)
    write(REDIST + GICR_ISENABLER0, 1 << 2)
    expect(get(cif, ICC.IAR1_EL1)).toBe(2)
  })

  test('the other redistributor\'s interrupts are not this CPU interface\'s', () => {
    const { write, gic } = ready()
    write(REDIST + KVM_VGIC_V3_REDIST_SIZE + GICR_ISPENDR0, 1)
    expect(get(gic.cpuInterface(0), ICC.HPPIR1_EL1)).toBe(1023)
  })
})
