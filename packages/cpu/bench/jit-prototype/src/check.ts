// The correctness check run.ts performs before it measures anything: every translated
// configuration against the interpreter, on the three kernels, with tag checking on and
// off. Equal means every register, SP, PC, NZCV, RGSR_EL1, ESR/FAR/ELR_EL1, the 2 MiB of
// Tagged data and all its tags, the retired count and the exit. Besides whole runs: runs cut
// by an instruction budget at awkward points (then finished), a tag check fault in the
// middle of a loop, and a stage-2 fault (what an MMIO access looks like) in the middle.

import type { CpuExit } from '../../../src/index.js'
import { archState, diffStates, makeRunner, prepareCall, type Runner, type TierConfig } from './harness.js'
import { KERNELS, KERNEL_NAMES, type Kernel } from './kernels.js'
import { RAM_BASE, RAM_SIZE } from './layout.js'

/** A page for hand-assembled check snippets. */
const SNIPPET = RAM_BASE + 0xa_0000

function exitText(exit: CpuExit | null): string {
  if (exit === null) return 'budget'
  if (exit.kind === 'hvc') return `hvc #0x${exit.imm16.toString(16)}`
  if (exit.kind === 'data-abort') return `data-abort esr=0x${exit.esr.toString(16)} ipa=0x${exit.ipa.toString(16)}`
  return exit.kind
}

class Mismatch extends Error {}

/** Runs the same thing on both runners and demands equal results. */
function same(what: string, ref: Runner, tier: Runner, budget: number): { exit: CpuExit | null; retired: number } {
  const a = ref.run(budget)
  const b = tier.run(budget)
  const problems = diffStates(archState(ref.machine), archState(tier.machine))
  if (exitText(a.exit) !== exitText(b.exit)) problems.push(`exit ${exitText(a.exit)} != ${exitText(b.exit)}`)
  if (a.retired !== b.retired) problems.push(`retired ${a.retired} != ${b.retired}`)
  if (problems.length > 0) throw new Mismatch(`${what}: ${problems.join('; ')}`)
  return a
}

export interface CheckReport {
  cases: number
  lines: string[]
}

/** Throws (a Mismatch) on the first difference. */
export function runChecks(configs: TierConfig[]): CheckReport {
  const lines: string[] = []
  let cases = 0
  // Rounds per call: small enough for the interpreter, every loop still runs many times.
  const ROUNDS: Record<string, number> = { crc32: 2, sieve: 1, tagalloc: 2 }
  for (const config of configs) {
    for (const checks of [false, true]) {
      const label = `${config.tier}${config.tagKeys ? '+tagkeys' : ''}/${config.maxBlocks === 1 ? 'block' : 'region'}/${config.dispatch}/${checks ? 'MTE on' : 'MTE off'}`
      const ref = makeRunner({ tier: 'interp', maxBlocks: 1, dispatch: 'map' }, checks)
      const tier = makeRunner(config, checks)
      const both = (k: Kernel, rounds: number, args?: readonly [bigint, bigint]): void => {
        prepareCall(ref.machine, k, rounds, args)
        prepareCall(tier.machine, k, rounds, args)
      }
      for (const name of KERNEL_NAMES) {
        const k = KERNELS[name]
        // A whole call.
        both(k, ROUNDS[name]!)
        const whole = same(`${label} ${name}: whole run`, ref, tier, 2_000_000_000)
        if (whole.exit === null || whole.exit.kind !== 'hvc') throw new Mismatch(`${label} ${name}: did not return`)
        cases++
        // Cut by a budget (mid-block, at a block start, one before the end), then finished.
        const n = whole.retired
        for (const cut of [1, 2, 5, 17, 999, Math.floor(n / 3) + 7, n - 1]) {
          both(k, ROUNDS[name]!)
          const first = same(`${label} ${name}: first ${cut} instructions`, ref, tier, cut)
          if (first.exit !== null || first.retired !== cut) throw new Mismatch(`${label} ${name}: budget ${cut} not exact`)
          same(`${label} ${name}: the rest after ${cut}`, ref, tier, 2_000_000_000)
          cases++
        }
      }
      // A tag check fault in the middle of a loop (with MTE off: no fault, same result).
      for (const [name, at] of [['crc32', 0x4020_4010], ['sieve', 0x4030_8000]] as const) {
        for (const r of [ref, tier]) r.machine.memory.setTag(at, 9)
        both(KERNELS[name], 1)
        const x = same(`${label} ${name}: granule 0x${at.toString(16)} retagged`, ref, tier, 2_000_000_000)
        const expected = checks ? 'hvc #0x104' : 'hvc #0xf00d' // EL1h synchronous vector, or the return
        if (exitText(x.exit) !== expected) throw new Mismatch(`${label} ${name}: expected ${expected}, got ${exitText(x.exit)}`)
        for (const r of [ref, tier]) r.machine.memory.setTag(at, name === 'crc32' ? 3 : 7)
        cases++
      }
      // A retag by STG inside translated code, then a load through the old tag: the page had
      // one tag (the tag-in-key variant's fast case), so the STG must spoil that.
      // ldr x3, [x0]; stg x1, [x0]; ldr x2, [x0]; ret
      const snippet = [0xf9400003, 0xd9200801, 0xf9400002, 0xd65f03c0]
      for (const r of [ref, tier]) {
        for (const [i, w] of snippet.entries()) r.machine.memory.write32(SNIPPET + 4 * i, w)
        r.machine.cpu.invalidateCode(SNIPPET, 0x1000)
      }
      const crc = KERNELS.crc32
      const retag: Kernel = { ...crc, entry: SNIPPET }
      both(retag, 0, [crc.args[0], (crc.args[0] & ~(0xfn << 56n)) | (5n << 56n)])
      const stale = same(`${label} STG then a load through the old tag`, ref, tier, 1000)
      const want = checks ? 'hvc #0x104' : 'hvc #0xf00d'
      if (exitText(stale.exit) !== want) throw new Mismatch(`${label}: stale tag: expected ${want}, got ${exitText(stale.exit)}`)
      for (const r of [ref, tier]) r.machine.memory.setTag(Number(crc.args[0] & 0xffff_ffffn), 3)
      cases++
      // A stage-2 fault mid-loop: the CRC runs off the end of guest RAM.
      const end = RAM_BASE + RAM_SIZE
      both(KERNELS.crc32, 1, [BigInt(end - 0x1000), 0x2000n])
      const abort = same(`${label} crc32 across the end of RAM`, ref, tier, 2_000_000_000)
      if (abort.exit === null || abort.exit.kind !== 'data-abort') throw new Mismatch(`${label}: no stage-2 fault (${exitText(abort.exit)})`)
      cases++
      const st = tier.runtime!.stats
      lines.push(
        `${label.padEnd(26)} equal: 3 kernels x (whole + 7 budget cuts), 3 tag faults, 1 stage-2 fault` +
          ` (${st.regions} translations, ${st.interpretedSteps} instructions left to the interpreter)`,
      )
    }
  }
  return { cases, lines }
}
