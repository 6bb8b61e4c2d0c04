// The whole differential FP/SIMD run on this CPU (CI runs a sample: src/exec-fp-guests.test.ts):
// every guests/fpsimd guest, all forms, every line compared with QEMU 10's recording.
//   pnpm --filter @tagvm/cpu guests:fpsimd [guest ...] [--budget INSTRUCTIONS]
import { FPSIMD_GUESTS, runFpsimdGuest } from '../src/exec-fp-guests.js'

const args = process.argv.slice(2)
const budgetAt = args.indexOf('--budget')
const budget = budgetAt >= 0 ? Number(args.splice(budgetAt, 2)[1]) : undefined
const guests = args.length > 0 ? args : [...FPSIMD_GUESTS]
let failed = 0
const start = Date.now()
for (const guest of guests) {
  const t = Date.now()
  const run = runFpsimdGuest(guest, budget)
  const got = run.output.split('\n')
  const want = run.expected.split('\n')
  const bad = want.filter((line, i) => got[i] !== line)
  failed += bad.length
  const seconds = (Date.now() - t) / 1000
  console.log(`${guest}: ${run.forms} forms, ${(run.instructions / 1e6).toFixed(1)} M instructions, ${seconds.toFixed(1)} s (${(run.instructions / 1e6 / seconds).toFixed(1)} MIPS), ${bad.length === 0 ? 'every line as QEMU printed it' : `${bad.length} lines differ`}`)
  for (const line of bad.slice(0, 5)) console.log(`  expected: ${line}\n  got:      ${got[want.indexOf(line)]}`)
}
console.log(`total ${((Date.now() - start) / 1000).toFixed(1)} s, ${failed === 0 ? 'all identical' : `${failed} lines differ`}`)
process.exitCode = failed === 0 ? 0 : 1
