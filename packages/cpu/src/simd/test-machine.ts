// Test support (not exported): a register file plus "execute this instruction word",
// decoding with @tagvm/a64 and dispatching through SIMD_EXECUTE as the CPU will.

import { decode } from '@tagvm/a64'
import { SIMD_EXECUTE, type SimdExecuteName, type SimdState } from './execute.js'
import { VRegs } from './vregs.js'

export class SimdMachine implements SimdState {
  readonly v = new VRegs()
  readonly fp = { fpcr: 0, fpsr: 0 }
  readonly x = new Uint32Array(64)

  run(word: number): void {
    const insn = decode(word)
    const handler = SIMD_EXECUTE[insn.name as SimdExecuteName] as ((i: unknown, s: SimdState) => void) | undefined
    if (!handler) throw new Error(`not a SIMD data-processing instruction: ${word.toString(16)} (${insn.name})`)
    handler(insn, this)
  }

  /** Register r's 16 bytes (a copy). */
  bytes(r: number): Uint8Array {
    return this.v.u8.slice(r << 4, (r + 1) << 4)
  }
  setBytes(r: number, bytes: ArrayLike<number>): void {
    this.v.u8.fill(0, r << 4, (r + 1) << 4)
    this.v.u8.set(Array.from(bytes), r << 4)
  }
  word(r: number, i: number): number {
    return this.v.u32[(r << 2) + i]!
  }
  setWords(r: number, words: ArrayLike<number>): void {
    this.v.u32.fill(0, r << 2, (r + 1) << 2)
    this.v.u32.set(Array.from(words, (w) => w >>> 0), r << 2)
  }
}

export function hex(bytes: ArrayLike<number>): string {
  return Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('')
}
export function unhex(s: string): Uint8Array {
  return Uint8Array.from(s.match(/../g) ?? [], (h) => parseInt(h, 16))
}
