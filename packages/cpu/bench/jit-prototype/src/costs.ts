// The costs around the steady state: translating (code generation, compile, instantiate),
// running cold (translation and the engine's own tier-up included), batching many regions
// into one wasm module, and the price of a call across the JS/wasm boundary.

import { formRegion, type Region } from './region.js'
import { jsSource } from './js-backend.js'
import { makeRunner, prepareCall, runCall, REGION, type TierName } from './harness.js'
import { jsBackend } from './js-backend.js'
import { STATE, ST_LEFT } from './layout.js'
import { cpuMsSince, type TierRuntime } from './runtime.js'
import { KERNELS, KERNEL_NAMES, type KernelName } from './kernels.js'
import { instantiateBatch, wasmBatchBytes, wasmModuleBytes } from './wasm-backend.js'
import { Wasm } from './wasm-api.js'
import { FunctionBody, I32, Op, encodeModule } from './wasm-encoder.js'

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b)
  return s[Math.floor(s.length / 2)]!
}

const cpuMs = cpuMsSince

export interface ColdCost {
  kernel: KernelName
  tier: TierName
  /** Translations made, guest instructions in them, bytes of JS source or wasm. */
  regions: number
  instructions: number
  codeBytes: number
  /** CPU ms per run forming regions and generating code, and compiling/instantiating it. */
  codegenMs: number
  compileMs: number
  /** Guest MIPS of a first ~2 M-instruction call on a fresh machine, everything included. */
  coldMips: number
}

/** A first call of each kernel on a fresh machine, 5 times, medians. */
export function coldCosts(checks: boolean): ColdCost[] {
  const rounds: Record<KernelName, number> = { crc32: 50, sieve: 3, tagalloc: 40 }
  const out: ColdCost[] = []
  for (const name of KERNEL_NAMES) {
    for (const tier of ['js', 'wasm'] as const) {
      const gen: number[] = []
      const comp: number[] = []
      const mips: number[] = []
      let last = { regions: 0, instructions: 0, codeBytes: 0 }
      for (let i = 0; i < 5; i++) {
        const r = makeRunner({ tier, maxBlocks: REGION, dispatch: 'map' }, checks)
        prepareCall(r.machine, KERNELS[name], rounds[name])
        const t0 = process.cpuUsage()
        const n = runCall(r)
        mips.push(n / cpuMs(t0) / 1000)
        const st = r.runtime!.stats
        gen.push(st.codegenMs)
        comp.push(st.compileMs)
        last = { regions: st.regions, instructions: st.translatedInstructions, codeBytes: st.codeBytes }
      }
      out.push({ kernel: name, tier, ...last, codegenMs: median(gen), compileMs: median(comp), coldMips: median(mips) })
    }
  }
  return out
}

/** The kernels' regions as the runtime forms them. */
export function kernelRegions(): Region[] {
  const r = makeRunner({ tier: 'wasm', maxBlocks: REGION, dispatch: 'map' }, true)
  return KERNEL_NAMES.map((name) => formRegion((pc) => r.machine.memory.read32(pc), KERNELS[name].entry, { maxBlocks: REGION, maxInstructions: 1024 }))
}

export interface BatchCost {
  functions: number
  bytes: number
  /** WebAssembly.Module + Instance + a first call of every function (V8 compiles lazily), per function. */
  msPerFunction: number
}

/** The state's budget at 0: a translation called now leaves at its first block's budget check. */
function zeroBudget(rt: TierRuntime): void {
  rt.s32[(STATE + ST_LEFT) >> 2] = 0
}

/**
 * wasm modules holding 1..48 region functions (the three kernels' regions, repeated), each
 * made ready to run: compiled, instantiated and called once. Bytes made beforehand, salted.
 */
export function batchCosts(regions: Region[], checks: boolean): BatchCost[] {
  const r = makeRunner({ tier: 'wasm', maxBlocks: REGION, dispatch: 'map' }, checks)
  const rt = r.runtime!
  zeroBudget(rt)
  const out: BatchCost[] = []
  for (const n of [1, 3, 12, 48]) {
    const list = Array.from({ length: n }, (_, i) => regions[i % regions.length]!)
    const times: number[] = []
    let bytes = 0
    for (let i = 0; i < 5; i++) {
      const b = wasmBatchBytes(list, checks)
      bytes = b.length
      const t0 = process.cpuUsage()
      const exports = instantiateBatch(b, rt).exports
      for (let f = 0; f < n; f++) (exports[`run${f}`] as (entry: number) => number)(0)
      times.push(cpuMs(t0))
    }
    out.push({ functions: n, bytes, msPerFunction: median(times) / n })
  }
  return out
}

export interface ReadyCost {
  /** CPU ms per region, median over 20 passes over the kernels' regions. */
  jsSource: number
  /** new Function, binding, and a first call (V8 compiles the body to bytecode then). */
  jsReady: number
  wasmBytes: number
  /** WebAssembly.Module + Instance + a first call (Liftoff compiles lazily, on that call). */
  wasmReady: number
}

/** Code generation and getting the code ready to run, once the generators are warm. */
export function readyCosts(regions: Region[], checks: boolean): ReadyCost {
  const js = makeRunner({ tier: 'js', maxBlocks: REGION, dispatch: 'map' }, checks).runtime!
  const wasm = makeRunner({ tier: 'wasm', maxBlocks: REGION, dispatch: 'map' }, checks).runtime!
  zeroBudget(js)
  zeroBudget(wasm)
  const m = { jsSource: [] as number[], jsReady: [] as number[], wasmBytes: [] as number[], wasmReady: [] as number[] }
  for (let i = 0; i < 20; i++) {
    let t0 = process.cpuUsage()
    for (const r of regions) jsSource(r, checks)
    const source = cpuMs(t0) / regions.length
    m.jsSource.push(source)
    t0 = process.cpuUsage()
    for (const r of regions) jsBackend.compile(r, js).run(0)
    m.jsReady.push(cpuMs(t0) / regions.length - source)
    t0 = process.cpuUsage()
    const modules = regions.map((r) => wasmModuleBytes(r, checks).bytes)
    m.wasmBytes.push(cpuMs(t0) / regions.length)
    t0 = process.cpuUsage()
    for (const b of modules) (instantiateBatch(b, wasm).exports['run'] as (entry: number) => number)(0)
    m.wasmReady.push(cpuMs(t0) / regions.length)
  }
  return { jsSource: median(m.jsSource), jsReady: median(m.jsReady), wasmBytes: median(m.wasmBytes), wasmReady: median(m.wasmReady) }
}

export interface CallCosts {
  /** ns per call of a JS function imported into wasm, from a wasm loop. */
  wasmToJs: number
  /** ns per call of an exported wasm function, from a JS loop. */
  jsToWasm: number
  /** ns per call of a small JS function from a JS loop (the engine may inline it). */
  jsToJs: number
}

/** Loops of 10 M calls, best of 5, minus the same loop doing the work inline. */
export function callCosts(): CallCosts {
  const N = 10_000_000
  // Module: import f(i32)->i32; export callImport(n), inline(n), leaf(x).
  const types = [
    { params: [I32], results: [I32] },
  ]
  const loopBody = (useImport: boolean): FunctionBody => {
    const fn = new FunctionBody(1)
    const acc = fn.local(I32)
    fn.block('done').loop('l')
    fn.get(0).op(Op.i32Eqz).brIf('done')
    if (useImport) fn.get(acc).call(0).set(acc)
    else fn.get(acc).i32(3).op(Op.i32Mul).i32(1).op(Op.i32Add).set(acc)
    fn.get(0).i32(1).op(Op.i32Sub).set(0).br('l')
    fn.end().end()
    fn.get(acc)
    return fn
  }
  const leaf = new FunctionBody(1)
  leaf.get(0).i32(3).op(Op.i32Mul).i32(1).op(Op.i32Add)
  const bytes = encodeModule({
    types,
    importFunctions: [{ module: 'env', field: 'f', type: 0 }],
    functions: [
      { type: 0, body: loopBody(true), export: 'callImport' },
      { type: 0, body: loopBody(false), export: 'inline' },
      { type: 0, body: leaf, export: 'leaf' },
    ],
  })
  const f = (x: number): number => (x * 3 + 1) | 0
  const ex = new Wasm.Instance(new Wasm.Module(bytes), { env: { f } }).exports as Record<string, (n: number) => number>
  const callImport = ex['callImport']!
  const inline = ex['inline']!
  const wasmLeaf = ex['leaf']!
  const jsLeaf = new Function('x', 'return (x * 3 + 1) | 0') as (x: number) => number
  const best = (run: () => void): number => {
    let t = Infinity
    for (let i = 0; i < 5; i++) {
      const t0 = process.cpuUsage()
      run()
      t = Math.min(t, cpuMs(t0))
    }
    return (t * 1e6) / N
  }
  let sink = 0
  const tImport = best(() => (sink ^= callImport(N)))
  const tInline = best(() => (sink ^= inline(N)))
  const tJsWasm = best(() => {
    let acc = 0
    for (let i = 0; i < N; i++) acc = wasmLeaf(acc)
    sink ^= acc
  })
  const tJsJs = best(() => {
    let acc = 0
    for (let i = 0; i < N; i++) acc = jsLeaf(acc)
    sink ^= acc
  })
  const tJsInline = best(() => {
    let acc = 0
    for (let i = 0; i < N; i++) acc = (acc * 3 + 1) | 0
    sink ^= acc
  })
  if (sink === 0.5) console.log(sink) // keep the loops alive
  return {
    wasmToJs: tImport - tInline,
    jsToWasm: tJsWasm - tJsInline,
    jsToJs: tJsJs - tJsInline,
  }
}
