// SIMD&FP loads and stores move aligned elements one host access each (single-copy atomic
// against other vCPU threads; the threads test is packages/machine's smp-tearing): here, that
// the element path moves every byte right, NaN payloads included, within a page and across one.
import { describe, expect, test } from 'vitest'
import { RAM_BASE, asm, enableIdentityMmu, makeMachine, runSnippet, type Machine } from './test-helpers.js'

/** A 16-byte value whose doublewords are signalling and quiet NaNs with payloads (bits must survive a Float64 element). */
const NANS = 0x7ff0_0000_dead_beefn | (0xfff8_0123_4567_89abn << 64n)
const OTHER = 0x0102_0304_0506_0708n | (0x1112_1314_1516_1718n << 64n)

function setup(): Machine {
  const m = makeMachine()
  enableIdentityMmu(m)
  m.cpu.setSysreg('CPACR_EL1', 3n << 20n)
  return m
}

function bytesOf(v: bigint, n = 16): Uint8Array {
  return Uint8Array.from({ length: n }, (_, i) => Number((v >> BigInt(8 * i)) & 0xffn))
}

function read(m: Machine, pa: number, n: number): Uint8Array {
  const out = new Uint8Array(n)
  m.memory.readBytes(pa, out)
  return out
}

describe('SIMD&FP element accesses', () => {
  // x1: the address, 5 to 16 bytes before a page boundary.
  test.each([
    ['at 8-aligned doublewords', RAM_BASE + 0x3ff8],
    ['16-aligned', RAM_BASE + 0x3ff0],
    ['4-aligned (bytes only)', RAM_BASE + 0x3ff4],
    ['byte-aligned (bytes only)', RAM_BASE + 0x3ff3],
  ])('LD1/ST1 of two registers of .2d elements %s, across a page: every byte, NaN payloads kept', (_, at) => {
    const m = setup()
    m.memory.writeBytes(at, new Uint8Array([...bytesOf(NANS), ...bytesOf(OTHER)]))
    m.cpu.setX(1, BigInt(at))
    m.cpu.setX(2, BigInt(at + 0x1000))
    expect(runSnippet(m, asm`ld1 {v0.2d, v1.2d}, [x1]; st1 {v0.2d, v1.2d}, [x2]`)).toMatchObject({ kind: 'hvc' })
    expect(m.cpu.getV(0)).toBe(NANS)
    expect(m.cpu.getV(1)).toBe(OTHER)
    expect(read(m, at + 0x1000, 32)).toEqual(new Uint8Array([...bytesOf(NANS), ...bytesOf(OTHER)]))
  })

  test('LD1/ST1 of .8h and .4s elements across a page, 2- and 4-aligned: every byte', () => {
    const m = setup()
    const at = RAM_BASE + 0x3ffa
    m.memory.writeBytes(at, new Uint8Array([...bytesOf(NANS), ...bytesOf(OTHER)]))
    m.cpu.setX(1, BigInt(at))
    m.cpu.setX(2, BigInt(at + 0x1000))
    m.cpu.setX(3, BigInt(at + 2))
    m.cpu.setX(4, BigInt(at + 0x2002))
    expect(runSnippet(m, asm`ld1 {v0.8h, v1.8h}, [x1]; st1 {v0.8h, v1.8h}, [x2]; ld1 {v2.4s}, [x3]; st1 {v2.4s}, [x4]`)).toMatchObject({ kind: 'hvc' })
    expect(m.cpu.getV(0)).toBe(NANS)
    expect(read(m, at + 0x1000, 32)).toEqual(new Uint8Array([...bytesOf(NANS), ...bytesOf(OTHER)]))
    expect(read(m, at + 0x2002, 16)).toEqual(new Uint8Array([...bytesOf(NANS), ...bytesOf(OTHER)].slice(2, 18)))
  })

  test('LDR/STR D, LDR/STR Q, LD1/ST1 of .4s and .8h elements and one lane, within a page', () => {
    const m = setup()
    const src = RAM_BASE + 0x5000
    const dst = RAM_BASE + 0x6000
    m.memory.writeBytes(src, new Uint8Array([...bytesOf(NANS), ...bytesOf(OTHER)]))
    m.cpu.setX(1, BigInt(src))
    m.cpu.setX(2, BigInt(src + 16))
    for (let r = 0; r < 5; r++) m.cpu.setX(3 + r, BigInt(dst + 16 * r))
    const exit = runSnippet(
      m,
      asm`ldr d0, [x1]; str d0, [x3]; ldr q1, [x2]; str q1, [x4]; ld1 {v2.4s}, [x1]; st1 {v2.4s}, [x5]; ld1 {v3.8h}, [x2]; st1 {v3.8h}, [x6]; ld1 {v4.s}[3], [x1]; st1 {v4.s}[3], [x7]`,
    )
    expect(exit).toMatchObject({ kind: 'hvc' })
    expect(m.cpu.getV(0)).toBe(NANS & 0xffff_ffff_ffff_ffffn)
    expect(m.cpu.getV(1)).toBe(OTHER)
    expect(read(m, dst, 68)).toEqual(new Uint8Array([...bytesOf(NANS, 8), ...bytesOf(0n, 8), ...bytesOf(OTHER), ...bytesOf(NANS), ...bytesOf(OTHER), ...bytesOf(NANS, 4)]))
  })
})
