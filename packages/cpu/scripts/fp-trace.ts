// Debugging aid for the FP differential guests: prints a form's first N cases as the library
// computes them, in the format of the trace guest (guests/fpsimd/trace.sh), so the two can be
// diffed line by line.
//   npx tsx packages/cpu/scripts/fp-trace.ts FMADD_f.s 64
import type { Instruction } from '@tagvm/a64'
import { FP_HANDLERS } from '../src/fp/handlers.js'
import { loadGuests, replayForm, type ReplayHandler } from '../src/fp/replay.js'

const [name, count] = process.argv.slice(2)
const form = loadGuests()
  .flatMap((g) => g.manifest.forms)
  .find((f) => f.name === name)
if (!form) throw new Error(`no form named ${name}`)
const handlerFor = (insn: Instruction): ReplayHandler | undefined =>
  (FP_HANDLERS as Record<string, ReplayHandler | undefined>)[insn.name]
const { traces } = replayForm(form, handlerFor, Number(count ?? 16))
const u64 = (w: number[], i: number): string => ((BigInt(w[2 * i + 1] as number) << 32n) | BigInt(w[2 * i] as number)).toString(16)
for (const t of traces) {
  const ins = Array.from({ length: 10 }, (_, i) => u64(t.input, i)).join(' ')
  const outs = Array.from({ length: 5 }, (_, i) => u64(t.output, i)).join(' ')
  console.log(`case ${t.i} fpcr ${t.fpcr.toString(16)} in ${ins} out ${outs}`)
}
