// The WebAssembly module of a batch of translated regions (emit.ts makes each region's
// function): the imports, the flag helpers every module carries, the regions, and one
// exported entry.

import { Emitter, TYPES, T_COND, T_FILL, T_NZCV, T_REGION } from './emit.js'
import { condFunction, nzcvFunction } from './flags.js'
import type { Region } from './region.js'
import { FunctionBody, Op, encodeModule } from './wasm-encoder.js'

let salt = 0
/** The flag helpers every module carries: the same bodies each time, built once. */
let nzcvBody: FunctionBody | undefined
let condBody: FunctionBody | undefined

/** A module of translated regions: its bytes, and for each `helper` index the region it belongs to. */
export interface RegionModule {
  bytes: Uint8Array
  helperRegion: number[]
}

/**
 * The module of one or more regions. It exports one function, `run(region, block) -> exit
 * code`, which calls region function `region` at its block `block`: one export per module
 * (not one per region) so V8's JS-to-wasm entry gets past its generic wrapper sooner, and many
 * regions per module because V8's cost of a module is mostly fixed (~0.8 ms for a 1.5 KB one).
 * Imports the memory, the TLB fill and the helper; the regions' helper instructions are
 * numbered across the module (`helperRegion` says whose each is).
 */
export function regionModule(regions: readonly Region[], base: number, maxPages: number): RegionModule {
  const helpers: number[] = []
  const helperRegion: number[] = []
  const bodies = regions.map((r, i) => {
    r.helpers = helpers
    const body = new Emitter(r, base).build()
    while (helperRegion.length < helpers.length) helperRegion.push(i)
    return body
  })
  const run = new FunctionBody(2)
  const first = 4 // fill, helper, nzcv, cond
  for (let i = regions.length - 1; i >= 0; i--) run.block(`c${i}`)
  run.get(0).brTable(regions.map((_, i) => `c${i}`), 'c0')
  regions.forEach((_, i) => {
    run.end()
    run.get(1).call(first + i).op(Op.return)
  })
  run.op(Op.unreachable)
  const bytes = encodeModule({
    types: TYPES,
    importFunctions: [{ module: 'env', field: 'fill', type: T_FILL }, { module: 'env', field: 'helper', type: T_REGION }],
    importMemory: { module: 'env', field: 'mem', min: 1, max: maxPages, shared: true },
    functions: [
      { type: T_NZCV, body: (nzcvBody ??= nzcvFunction()) },
      { type: T_COND, body: (condBody ??= condFunction()) },
      ...bodies.map((body) => ({ type: T_REGION, body })),
      { type: T_COND, body: run, export: 'run' },
    ],
    // V8 caches compiled modules by their bytes: a recompiled page must not share a stale
    // compilation's identity.
    salt: salt++,
  })
  return { bytes, helperRegion }
}
