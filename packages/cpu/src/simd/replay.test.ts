import { readFileSync } from 'node:fs'
import { describe, expect, it } from 'vitest'
import { GUEST_DIR, loadForms, parseLayout, replayForm } from './replay-harness.js'

// guests/simd ran every form under QEMU 10 (qemu.out); the replay rebuilds each case and
// runs it through the semantics library. Every form line must be identical.
describe('integer AdvSIMD, crypto and SIMD&FP loads/stores replayed against QEMU 10', () => {
  const lines = readFileSync(GUEST_DIR + 'qemu.out', 'utf8').split(/\r?\n/)
  const layout = parseLayout(lines)
  const forms = loadForms()
  const recorded = lines.filter((l) => / line \d+ cases /.test(l))

  it('the recording and forms.json list the same forms', () => {
    expect(recorded.length).toBe(forms.length)
    expect(lines).toContain(`done: ${forms.reduce((n, f) => n + f.cases, 0)} cases`)
  })

  it('every form line matches', () => {
    const mismatches: string[] = []
    forms.forEach((form, i) => {
      const { line } = replayForm(form, i, layout)
      if (line !== recorded[i]) mismatches.push(`qemu: ${recorded[i]}\n  ts: ${line}`)
    })
    expect(mismatches.join('\n')).toBe('')
  })
})
