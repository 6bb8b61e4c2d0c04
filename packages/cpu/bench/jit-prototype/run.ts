// A MEASUREMENT, NOT THE COMPILED TIER: two throwaway translators (A64 -> JavaScript via
// `new Function`, A64 -> WebAssembly built at run time) for exactly the instructions of
// three hot loops, checked against the interpreter, then timed side by side with today's
// interpreter and with QEMU 10 on the same loops. See README.md for what it found.
//
//   npx tsx --conditions=source packages/cpu/bench/jit-prototype/run.ts [--rounds N] [--no-qemu] [--quick] [--checks-only]
//
// Exits non-zero if any translated run differs from the interpreter or QEMU computes a
// different result. Prints figures; never fails on time.

import { runChecks } from './src/check.js'
import { batchCosts, callCosts, coldCosts, kernelRegions, readyCosts } from './src/costs.js'
import { BLOCK, REGION, type TierConfig } from './src/harness.js'
import { KERNELS, KERNEL_NAMES, type KernelName } from './src/kernels.js'
import { CHAIN_VARIANTS, MAIN_VARIANTS, instructionCounts, measureAll, variantLabel, type Measured } from './src/measure.js'
import { qemuAvailable } from './src/qemu.js'

const args = process.argv.slice(2)
const flag = (name: string): boolean => args.includes(name)
const value = (name: string, fallback: number): number => {
  const i = args.indexOf(name)
  return i >= 0 ? Number(args[i + 1]) : fallback
}
const quick = flag('--quick')
const rounds = value('--rounds', quick ? 1 : 5)
const log = (s: string): void => console.log(s)
const f1 = (x: number): string => x.toFixed(x >= 100 ? 0 : 1)
const f2 = (x: number): string => x.toFixed(2)

log('jit-prototype: a measurement for issue 17 (not the compiled tier; nothing here is used by @tagvm/cpu)')
log(`Node ${process.version} (V8 ${process.versions.v8})`)
const qemuVersion = flag('--no-qemu') ? null : qemuAvailable()
log(qemuVersion === null ? 'QEMU: not run' : `QEMU: ${qemuVersion}`)

// ---- 1. correctness ----
log('\n## Check: translated runs against the interpreter')
const configs: TierConfig[] = [
  { tier: 'js', maxBlocks: REGION, dispatch: 'map' },
  { tier: 'js', maxBlocks: BLOCK, dispatch: 'links' },
  { tier: 'wasm', maxBlocks: REGION, dispatch: 'map' },
  { tier: 'wasm', maxBlocks: REGION, dispatch: 'map', tagKeys: true },
  { tier: 'wasm', maxBlocks: BLOCK, dispatch: 'table' },
]
try {
  const report = runChecks(configs)
  for (const l of report.lines) log(`  ${l}`)
  log(`  ${report.cases} cases, all equal`)
} catch (e) {
  console.error(`\nCHECK FAILED: ${e instanceof Error ? e.message : String(e)}`)
  process.exit(1)
}
if (flag('--checks-only')) process.exit(0)

const counts = instructionCounts()
log('\n## Kernels (guest/kernels.c, clang 14 -O2; instructions per call = base + rounds x per round)')
for (const name of KERNEL_NAMES) {
  log(`  ${name.padEnd(9)} ${KERNELS[name].what}: ${counts[name].perRound} per round (+${counts[name].base})`)
}

// ---- 2. costs around the steady state ----
log('\n## Translation cost (MTE on; medians of 5 fresh machines)')
const regions = kernelRegions()
log(`  kernel    tier  translations  insns  code bytes  codegen ms  compile ms  cold MIPS (first ~2 M instructions, all included)`)
log(`  (compile: new Function, or WebAssembly.Module + Instance; both engines compile a body lazily, at its first call: that is in cold MIPS)`)
for (const c of coldCosts(true)) {
  log(`  ${c.kernel.padEnd(9)} ${c.tier.padEnd(5)} ${String(c.regions).padStart(12)} ${String(c.instructions).padStart(6)} ${String(c.codeBytes).padStart(11)} ${f2(c.codegenMs).padStart(11)} ${f2(c.compileMs).padStart(11)} ${f1(c.coldMips).padStart(10)}`)
}
const ready = readyCosts(regions, true)
log(`  warm generators, per region: JS source ${f2(ready.jsSource)} ms, then new Function + first call ${f2(ready.jsReady)} ms;`)
log(`    wasm bytes ${f2(ready.wasmBytes)} ms, then Module + Instance + first call ${f2(ready.wasmReady)} ms (V8 compiles wasm lazily, with Liftoff, at the first call)`)
log('  wasm: one module holding N region functions, Module + Instance + a first call of each (bytes ready):')
for (const b of batchCosts(regions, true)) {
  log(`    N = ${String(b.functions).padStart(2)}: ${String(b.bytes).padStart(7)} bytes, ${f2(b.msPerFunction)} ms per region`)
}
const calls = callCosts()
log(`  calls: wasm -> JS import ${f1(calls.wasmToJs)} ns, JS -> wasm export ${f1(calls.jsToWasm)} ns, JS -> JS ${f1(calls.jsToJs)} ns (per call, net of the loop)`)

// ---- 3. steady-state MIPS, interleaved ----
log(`\n## Guest MIPS per CPU-second, best of ${rounds} interleaved rounds${qemuVersion === null ? '' : ' (QEMU: kernel CPU time = process minus a boot that runs no kernel)'}`)
const result = measureAll(counts, {
  rounds,
  tagvmSeconds: quick ? 0.15 : 0.3,
  qemuSeconds: quick ? 0.4 : 1.0,
  qemu: qemuVersion !== null,
  variants: [...MAIN_VARIANTS, ...(quick ? [] : CHAIN_VARIANTS)],
  log,
})
const find = (key: string, checks: boolean): Measured => result.tagvm.find((m) => m.variant.key === key && m.variant.checks === checks)!
const best = (key: string, checks: boolean, k: KernelName): number => find(key, checks).cells[k].best

log('')
log('| kernel | QEMU off | QEMU on | interp off | interp on | JS off | JS on | wasm off | wasm on | wasm on, tag in TLB key |')
log('|---|---|---|---|---|---|---|---|---|---|')
for (const k of KERNEL_NAMES) {
  const q = result.qemu?.[k]
  log(`| ${k} | ${q ? f1(q.off.best) : '-'} | ${q ? f1(q.on.best) : '-'} | ${f1(best('interp', false, k))} | ${f1(best('interp', true, k))} | ${f1(best('js', false, k))} | ${f1(best('js', true, k))} | ${f1(best('wasm', false, k))} | ${f1(best('wasm', true, k))} | ${f1(best('wasm tagkeys', true, k))} |`)
}
if (result.qemu !== null) {
  log('\nRatios tagvm/QEMU (issue 17 targets: MTE on >= 1.0, MTE off >= 0.25) and the cost of tag checking under tagvm (target <= 10%):')
  log('| kernel | interp on | interp off | JS on | JS off | wasm on | wasm off | wasm on, tag in key | JS check cost | wasm check cost | wasm, tag in key, check cost | QEMU check cost |')
  log('|---|---|---|---|---|---|---|---|---|---|---|---|')
  for (const k of KERNEL_NAMES) {
    const q = result.qemu[k]
    const cost = (off: number, on: number): string => `${f1((1 - on / off) * 100)}%`
    log(`| ${k} | ${f2(best('interp', true, k) / q.on.best)} | ${f2(best('interp', false, k) / q.off.best)} | ${f2(best('js', true, k) / q.on.best)} | ${f2(best('js', false, k) / q.off.best)} | ${f2(best('wasm', true, k) / q.on.best)} | ${f2(best('wasm', false, k) / q.off.best)} | ${f2(best('wasm tagkeys', true, k) / q.on.best)} | ${cost(best('js', false, k), best('js', true, k))} | ${cost(best('wasm', false, k), best('wasm', true, k))} | ${cost(best('wasm', false, k), best('wasm tagkeys', true, k))} | ${cost(q.off.best, q.on.best)} |`)
  }
  log(`(QEMU boot without a kernel: ${f2(result.qemuBootSeconds)} CPU-s; kernel runs of ~${quick ? 0.4 : 1.0} CPU-s)`)
}
if (!quick) {
  log('\nBlock-at-a-time translations (MTE on): every basic block a translation, every block transition a dispatch')
  log('| kernel | wasm region (ref.) | ' + CHAIN_VARIANTS.map((v) => v.key).join(' | ') + ' |')
  log('|---|---|' + CHAIN_VARIANTS.map(() => '---|').join(''))
  for (const k of KERNEL_NAMES) {
    const cells = CHAIN_VARIANTS.map((v) => f1(result.tagvm.find((m) => m.variant === v)!.cells[k].best))
    log(`| ${k} | ${f1(best('wasm', true, k))} | ${cells.join(' | ')} |`)
  }
  // ns per dispatch: extra time per call over the region translation, divided by the block
  // transitions (counted by the JS loop of the Map variant; the same blocks in every variant).
  log('ns per block transition, over the whole-region translation of the same backend:')
  for (const k of KERNEL_NAMES) {
    const mapCell = result.tagvm.find((m) => m.variant === CHAIN_VARIANTS[0])!.cells[k]
    const perInsn = mapCell.dispatches / mapCell.instructions
    const parts = CHAIN_VARIANTS.map((v) => {
      const ref = v.config.tier === 'js' ? best('js', true, k) : best('wasm', true, k)
      const mips = result.tagvm.find((m) => m.variant === v)!.cells[k].best
      const ns = ((1 / mips - 1 / ref) * 1e3) / perInsn
      return `${v.key} ${f1(ns)}`
    })
    log(`  ${k.padEnd(9)} (${f1(1 / perInsn)} instructions per block): ${parts.join('; ')}`)
  }
}
log('\nAll figures:')
for (const m of result.tagvm) {
  log(`  ${variantLabel(m.variant).padEnd(40)} ${KERNEL_NAMES.map((k) => `${k} ${m.cells[k].all.map(f1).join('/')}`).join('  ')}`)
}
if (result.qemu !== null) {
  for (const mode of ['off', 'on'] as const) {
    log(`  ${`QEMU MTE ${mode}`.padEnd(40)} ${KERNEL_NAMES.map((k) => `${k} ${result.qemu![k][mode].all.map(f1).join('/')}`).join('  ')}`)
  }
}
