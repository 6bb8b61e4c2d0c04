// Steady-state guest MIPS of every configuration and of QEMU, interleaved: each round runs
// every variant on every kernel once (and QEMU on every kernel with tag checking off and on),
// so a slow spell of the shared machine hits all of them alike; the best of the rounds is
// reported. MIPS are guest instructions per CPU-second of the process doing the work.

import { BLOCK, REGION, makeRunner, prepareCall, runCall, type Runner, type TierConfig } from './harness.js'
import { KERNELS, KERNEL_NAMES, type KernelName } from './kernels.js'
import { NO_KERNEL, runQemu } from './qemu.js'
import { cpuMsSince } from './runtime.js'

export interface Variant {
  key: string
  config: TierConfig
  checks: boolean
}

export const MAIN_VARIANTS: Variant[] = [
  { key: 'interp', config: { tier: 'interp', maxBlocks: 1, dispatch: 'map' }, checks: false },
  { key: 'interp', config: { tier: 'interp', maxBlocks: 1, dispatch: 'map' }, checks: true },
  { key: 'js', config: { tier: 'js', maxBlocks: REGION, dispatch: 'map' }, checks: false },
  { key: 'js', config: { tier: 'js', maxBlocks: REGION, dispatch: 'map' }, checks: true },
  { key: 'wasm', config: { tier: 'wasm', maxBlocks: REGION, dispatch: 'map' }, checks: false },
  { key: 'wasm', config: { tier: 'wasm', maxBlocks: REGION, dispatch: 'map' }, checks: true },
  { key: 'wasm tagkeys', config: { tier: 'wasm', maxBlocks: REGION, dispatch: 'map', tagKeys: true }, checks: true },
]

/** Block-at-a-time translations: what chaining costs when regions are small. MTE on. */
export const CHAIN_VARIANTS: Variant[] = [
  { key: 'js block, Map dispatch', config: { tier: 'js', maxBlocks: BLOCK, dispatch: 'map' }, checks: true },
  { key: 'js block, exit-site links', config: { tier: 'js', maxBlocks: BLOCK, dispatch: 'links' }, checks: true },
  { key: 'wasm block, JS dispatch loop', config: { tier: 'wasm', maxBlocks: BLOCK, dispatch: 'map' }, checks: true },
  { key: 'wasm block, wasm table dispatch', config: { tier: 'wasm', maxBlocks: BLOCK, dispatch: 'table' }, checks: true },
]

export const variantLabel = (v: Variant): string => `${v.key} ${v.checks ? 'MTE on' : 'MTE off'}`

interface Cell {
  rounds: number
  instructions: number
  best: number
  all: number[]
  /** JS dispatch-loop entries per call (block granularity: ~ one per basic block executed). */
  dispatches: number
}

export interface Measured {
  variant: Variant
  cells: Record<KernelName, Cell>
}

export interface QemuCell {
  rounds: number
  instructions: number
  best: number
  all: number[]
}

export interface MeasureResult {
  tagvm: Measured[]
  qemu: Record<KernelName, { off: QemuCell; on: QemuCell }> | null
  qemuBootSeconds: number
}

const cpuSeconds = (t0: NodeJS.CpuUsage): number => cpuMsSince(t0) / 1000

/** Instructions of one call: affine in the rounds (checked on three points). */
export interface InstructionCount {
  base: number
  perRound: number
}

export function instructionCounts(): Record<KernelName, InstructionCount> {
  const r = makeRunner({ tier: 'wasm', maxBlocks: REGION, dispatch: 'map' }, false)
  const out = {} as Record<KernelName, InstructionCount>
  for (const name of KERNEL_NAMES) {
    const n: number[] = []
    for (const rounds of [1, 2, 5]) {
      prepareCall(r.machine, KERNELS[name], rounds)
      n.push(runCall(r))
    }
    const perRound = n[1]! - n[0]!
    if (n[2]! - n[1]! !== 3 * perRound) throw new Error(`${name}: instruction count not affine in the rounds (${n.join(', ')})`)
    out[name] = { base: n[0]! - perRound, perRound }
  }
  return out
}

/** One call; returns MIPS per CPU-second, the instructions and the result (x0). */
function timeCall(r: Runner, name: KernelName, rounds: number): { mips: number; instructions: number; result: bigint } {
  prepareCall(r.machine, KERNELS[name], rounds)
  const t0 = process.cpuUsage()
  const n = runCall(r)
  const s = cpuSeconds(t0)
  return { mips: n / s / 1e6, instructions: n, result: r.machine.cpu.getX(0) }
}

export interface MeasureOptions {
  rounds: number
  /** CPU seconds each timed tagvm call should take, and each QEMU kernel run. */
  tagvmSeconds: number
  qemuSeconds: number
  qemu: boolean
  variants: Variant[]
  log: (s: string) => void
}

export function measureAll(counts: Record<KernelName, InstructionCount>, o: MeasureOptions): MeasureResult {
  // Calibrate: a warm-up call per variant and kernel (translation and engine tier-up happen
  // here), then rounds for about tagvmSeconds per call.
  const runners = new Map<Variant, Runner>()
  const measured: Measured[] = []
  for (const v of o.variants) {
    const r = makeRunner(v.config, v.checks)
    runners.set(v, r)
    const cells = {} as Record<KernelName, Cell>
    for (const name of KERNEL_NAMES) {
      const warm = Math.max(1, Math.round(2_000_000 / counts[name].perRound))
      timeCall(r, name, warm)
      const { mips } = timeCall(r, name, warm)
      const rounds = Math.max(1, Math.round((o.tagvmSeconds * mips * 1e6) / counts[name].perRound))
      timeCall(r, name, rounds) // and once at full size, so the engine's tier-up is behind us
      cells[name] = { rounds, instructions: counts[name].base + rounds * counts[name].perRound, best: 0, all: [], dispatches: 0 }
    }
    measured.push({ variant: v, cells })
    o.log(`  calibrated ${variantLabel(v)}`)
  }

  // QEMU: rounds for about qemuSeconds of kernel, from a first run of known size; its result
  // must be tagvm's.
  let qemu: MeasureResult['qemu'] = null
  let boot = Infinity
  if (o.qemu) {
    boot = runQemu(NO_KERNEL, 0, 0).cpuSeconds
    const check = makeRunner({ tier: 'wasm', maxBlocks: REGION, dispatch: 'map' }, true)
    qemu = {} as NonNullable<MeasureResult['qemu']>
    for (const name of KERNEL_NAMES) {
      const k = KERNELS[name]
      const cell = {} as { off: QemuCell; on: QemuCell }
      for (const tcf of [0, 1]) {
        let rounds = Math.max(1, Math.round(20_000_000 / counts[name].perRound))
        let run = runQemu(k.id, tcf, rounds)
        while (run.cpuSeconds - boot < 0.2 && rounds < 1e7) {
          rounds *= 4
          run = runQemu(k.id, tcf, rounds)
        }
        prepareCall(check.machine, k, rounds)
        runCall(check)
        const ours = check.machine.cpu.getX(0)
        const rgsr = check.machine.cpu.getSysreg('RGSR_EL1')
        if (ours !== run.result || (name === 'tagalloc' && rgsr !== run.rgsr)) {
          throw new Error(`${name}: QEMU computed 0x${run.result.toString(16)} (RGSR 0x${run.rgsr.toString(16)}), tagvm 0x${ours.toString(16)} (RGSR 0x${rgsr.toString(16)})`)
        }
        const mips = (counts[name].base + rounds * counts[name].perRound) / (run.cpuSeconds - boot) / 1e6
        const target = Math.max(1, Math.round((o.qemuSeconds * mips * 1e6) / counts[name].perRound))
        cell[tcf === 0 ? 'off' : 'on'] = { rounds: target, instructions: counts[name].base + target * counts[name].perRound, best: 0, all: [] }
      }
      qemu[name] = cell
      o.log(`  calibrated QEMU ${name} (results equal to tagvm's)`)
    }
  }

  for (let round = 1; round <= o.rounds; round++) {
    const t0 = Date.now()
    if (qemu !== null) boot = Math.min(boot, runQemu(NO_KERNEL, 0, 0).cpuSeconds)
    for (const name of KERNEL_NAMES) {
      for (const m of measured) {
        const r = runners.get(m.variant)!
        const cell = m.cells[name]
        const before = r.runtime?.stats.dispatches ?? 0
        const { mips } = timeCall(r, name, cell.rounds)
        cell.dispatches = (r.runtime?.stats.dispatches ?? 0) - before
        cell.all.push(mips)
        cell.best = Math.max(cell.best, mips)
      }
      if (qemu !== null) {
        for (const mode of ['off', 'on'] as const) {
          const cell = qemu[name][mode]
          const run = runQemu(KERNELS[name].id, mode === 'on' ? 1 : 0, cell.rounds)
          cell.all.push(run.cpuSeconds)
        }
      }
    }
    o.log(`  round ${round}/${o.rounds} (${((Date.now() - t0) / 1000).toFixed(0)} s)`)
  }
  if (qemu !== null) {
    // Boot time is subtracted once all rounds are in (its best over every round).
    for (const name of KERNEL_NAMES) {
      for (const mode of ['off', 'on'] as const) {
        const cell = qemu[name][mode]
        cell.all = cell.all.map((s) => cell.instructions / (s - boot) / 1e6)
        cell.best = Math.max(...cell.all)
      }
    }
  }
  return { tagvm: measured, qemu, qemuBootSeconds: boot }
}
