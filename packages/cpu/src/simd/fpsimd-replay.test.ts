// The integer and crypto guests of the shared differential framework (guests/fpsimd/int-*,
// crypto) replayed through SIMD_EXECUTE: every line QEMU 10 printed must come out identically.
import { describe, expect, it } from 'vitest'
import type { Instruction } from '@tagvm/a64'
import { loadGuests, replayForm, type ReplayHandler } from '../fp/replay.js'
import { SIMD_EXECUTE, type SimdExecuteName, type SimdState } from './execute.js'
import { VRegs } from './vregs.js'

// The framework's context holds V0-V31 as a plain Uint32Array; the handlers see it through a
// VRegs whose file is copied in and out around each case.
const vregs = new VRegs()
function simdHandler(insn: Instruction): ReplayHandler | undefined {
  const handler = SIMD_EXECUTE[insn.name as SimdExecuteName] as ((i: Instruction, s: SimdState) => void) | undefined
  if (!handler) return undefined
  return (i, ctx) => {
    vregs.file.set(ctx.v)
    handler(i, { v: vregs, fp: ctx.fp, x: ctx.x })
    ctx.v.set(vregs.file)
  }
}

const guests = loadGuests().filter((g) => g.manifest.guest.startsWith('int-') || g.manifest.guest.startsWith('crypto'))

describe('integer AdvSIMD and crypto guests of guests/fpsimd replay QEMU byte for byte', () => {
  it('has the recorded guests', () => {
    expect(guests.map((g) => g.manifest.guest).sort()).toEqual(['crypto', 'int-element', 'int-misc', 'int-permute', 'int-shift', 'int-three'])
    for (const g of guests) expect(g.recorded, `${g.manifest.guest}/qemu.out`).not.toBeNull()
  })
  for (const { manifest, recorded } of guests) {
    it(`${manifest.guest}: ${manifest.forms.length} forms`, () => {
      const mismatches: string[] = []
      for (const form of manifest.forms) {
        const got = replayForm(form, simdHandler).line
        const want = recorded?.get(form.name)
        if (got !== want) mismatches.push(`${form.asm}: got "${got}", QEMU "${want}"`)
      }
      expect(mismatches).toEqual([])
    })
  }
})
