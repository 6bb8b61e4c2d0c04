// The three kernels (guest/kernels.c), their data and how each is called; the same
// addresses, data and tagged pointers as guest/main.c uses under QEMU.

import { readFileSync } from 'node:fs'
import type { Machine } from './machine.js'
import { RAM_BASE } from './layout.js'

interface KernelFixture {
  address: string
  entries: Record<string, number>
  words: string[]
}
const fixture = JSON.parse(readFileSync(new URL('../fixtures/kernels.json', import.meta.url), 'utf8')) as KernelFixture

export const KERNEL_WORDS: readonly number[] = fixture.words.map((w) => Number(w))
/**
 * tagvm loads the words at this page with the same offset in the page as in the ELF, so
 * regions split at the same places.
 */
export const KERNEL_BASE = RAM_BASE + 0x8_0000 + (Number(fixture.address) & 0xfff)

const CRC_BUF = 0x4020_0000
const CRC_LEN = 0x1_0000
const CRC_TAG = 3
const SIEVE_BUF = 0x4030_0000
const SIEVE_N = 0x1_0000
const SIEVE_TAG = 7
const ARENA = 0x4038_0000
const ARENA_OBJECTS = 1024

export type KernelName = 'crc32' | 'sieve' | 'tagalloc'
export const KERNEL_NAMES: readonly KernelName[] = ['crc32', 'sieve', 'tagalloc']

export interface Kernel {
  name: KernelName
  /** The guest main.c's kernel number. */
  id: number
  entry: number
  /** x0, x1 (x2 is the rounds). */
  args: readonly [bigint, bigint]
  what: string
}

const tagged = (pa: number, tag: number): bigint => (BigInt(tag) << 56n) | BigInt(pa)

export const KERNELS: Record<KernelName, Kernel> = {
  crc32: {
    name: 'crc32', id: 0, entry: KERNEL_BASE + fixture.entries['crc32_kernel']!,
    args: [tagged(CRC_BUF, CRC_TAG), BigInt(CRC_LEN)],
    what: 'CRC-32C of 64 KiB (LDR post-index + CRC32CX)',
  },
  sieve: {
    name: 'sieve', id: 1, entry: KERNEL_BASE + fixture.entries['sieve_kernel']!,
    args: [tagged(SIEVE_BUF, SIEVE_TAG), BigInt(SIEVE_N)],
    what: 'sieve of 64 Ki byte flags (LDRB/STRB, 64-bit add/cmp)',
  },
  tagalloc: {
    name: 'tagalloc', id: 2, entry: KERNEL_BASE + fixture.entries['tagalloc_kernel']!,
    args: [BigInt(ARENA), BigInt(ARENA_OBJECTS)],
    what: '1024 64-byte objects: IRG, 8x STG, STP/LDP, ADDG',
  },
}

/** Loads the kernels' code and the data every kernel expects (main.c's fill()). */
export function loadKernels(m: Machine): void {
  for (const [i, w] of KERNEL_WORDS.entries()) m.memory.write32(KERNEL_BASE + 4 * i, w)
  m.cpu.invalidateCode(KERNEL_BASE & ~0xfff, 0x1000)
  let x = 0x12345678
  for (let i = 0; i < CRC_LEN / 4; i++) {
    x ^= x << 13
    x ^= x >>> 17
    x ^= x << 5
    m.memory.write32(CRC_BUF + 4 * i, x >>> 0)
  }
  m.memory.setTags(CRC_BUF, CRC_LEN, CRC_TAG)
  m.memory.setTags(SIEVE_BUF, SIEVE_N, SIEVE_TAG)
}
