// MMIO through the whole machine: a guest's 1-, 2-, 4- and 8-byte stores and loads reach a
// device as bytes and come back as bytes, so values with bits above 2^53 survive both ways
// (the device interface moves Uint8Arrays, never JavaScript numbers).
import { expect, test } from 'vitest'
import type { MmioDevice } from '@tagvm/devices'
import { xRegId } from '@tagvm/vmm-api'
import { Machine } from './machine.js'

const DEVICE = 0x0a00_0000
/** What the device's 64-bit register reads as: top bit set, every byte different. */
const READ_VALUE = 0x8123_4567_89ab_cdefn

/** A device of one 64-bit register that records each write's bytes and answers reads with READ_VALUE's low bytes. */
function register64(): MmioDevice & { writes: string[]; reads: number[] } {
  const writes: string[] = []
  const reads: number[] = []
  return {
    name: 'reg64',
    writes,
    reads,
    write: (offset, data) => void writes.push(`${offset}:${Buffer.from(data).toString('hex')}`),
    read: (offset, data) => {
      reads.push(data.length)
      for (let i = 0; i < data.length; i++) data[i] = Number((READ_VALUE >> BigInt(8 * i)) & 0xffn)
    },
  }
}

// movz x1, #0x0a00, lsl #16; x2 = 0xfedcba9876543210 (movz + 3 movk);
// str x2 / str w2 / strh w2 / strb w2, [x1];
// ldr x3 / ldr w4 / ldrh w5 / ldrb w6 / ldrsw x7 / ldrsh x8 / ldrsb x9 / ldrsh w10, [x1];
// str xzr, [x1]; movz x0, #0x8400, lsl #16; movk x0, #8; hvc #0   (assembled with llvm-mc 14)
const PROGRAM = Uint32Array.of(
  0xd2a14001, 0xd2864202, 0xf2aeca82, 0xf2d75302, 0xf2ffdb82, 0xf9000022, 0xb9000022, 0x79000022, 0x39000022, 0xf9400023, 0xb9400024, 0x79400025,
  0x39400026, 0xb9800027, 0x79800028, 0x39800029, 0x79c0002a, 0xf900003f, 0xd2b08000, 0xf2800100, 0xd4000002,
)

test('1-, 2-, 4- and 8-byte MMIO stores and loads keep every bit, zero- and sign-extended as the load says', () => {
  const machine = Machine.create({ ramBase: 0x4000_0000, ramSize: 8 << 20, cpus: 1, mte: true, backing: 'anon' }, { console: () => {} })
  const device = register64()
  machine.bus.add(DEVICE, 0x1000, device)
  machine.boot(new Uint8Array(PROGRAM.buffer), 'mmio.bin', { base: 0x4008_0000 })
  expect(machine.run()).toEqual({ kind: 'power-off' })
  // Stores: the bytes the guest stored, least significant first, the top ones included.
  expect(device.writes).toEqual(['0:1032547698badcfe', '0:10325476', '0:1032', '0:10', '0:0000000000000000'])
  expect(device.reads).toEqual([8, 4, 2, 1, 4, 2, 1, 2])
  const x = (n: number): bigint => machine.vcpus[0]!.getOneReg(xRegId(n))
  expect(x(3)).toBe(READ_VALUE) // above 2^53, exactly
  expect(x(4)).toBe(0x89ab_cdefn)
  expect(x(5)).toBe(0xcdefn)
  expect(x(6)).toBe(0xefn)
  expect(x(7)).toBe(0xffff_ffff_89ab_cdefn)
  expect(x(8)).toBe(0xffff_ffff_ffff_cdefn)
  expect(x(9)).toBe(0xffff_ffff_ffff_ffefn)
  expect(x(10)).toBe(0xffff_cdefn) // sign-extended to 32 bits, the upper half of X10 zero
})
