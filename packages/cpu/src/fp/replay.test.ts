// The FP differential guests replayed through FP_HANDLERS: every line QEMU 10 printed for an
// FP form (guests/fpsimd/fp-*/qemu.out) must come out of the library identically.
import { describe, expect, it } from 'vitest'
import { decode, type Instruction } from '@tagvm/a64'
import { FP_HANDLERS } from './handlers.js'
import { loadGuests, replayForm, type ReplayHandler } from './replay.js'

function fpHandler(insn: Instruction): ReplayHandler | undefined {
  return (FP_HANDLERS as Record<string, ReplayHandler | undefined>)[insn.name]
}

const guests = loadGuests().filter((g) => g.manifest.guest.startsWith('fp-'))

describe('FP differential guests replay QEMU byte for byte', () => {
  it('has recorded FP guests', () => {
    expect(guests.length).toBeGreaterThan(0)
    for (const g of guests) expect(g.recorded, `${g.manifest.guest}/qemu.out`).not.toBeNull()
  })
  for (const { manifest, recorded } of guests) {
    it(`${manifest.guest}: ${manifest.forms.length} forms`, () => {
      const mismatches: string[] = []
      for (const form of manifest.forms) {
        // Forms are named after the decoder row they exercise.
        const decoded = decode(form.word).name
        if (!form.name.startsWith(`${decoded}.`)) mismatches.push(`${form.name}: decodes as ${decoded}`)
        const got = replayForm(form, fpHandler).line
        const want = recorded?.get(form.name)
        if (got !== want) mismatches.push(`${form.asm}: got "${got}", QEMU "${want}"`)
      }
      expect(mismatches).toEqual([])
    })
  }
})
