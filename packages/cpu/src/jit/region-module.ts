// The WebAssembly module of a batch of translated regions (emit.ts makes each region's
// function): the imports, the flag helpers every module carries, the regions, and one
// exported entry.

import { Emitter, TYPES, T_COND, T_FILL, T_NZCV, T_REGION } from './emit.js'
import { condFunction, nzcvFunction } from './flags.js'
import type { Region } from './region.js'
import type { SysregLookup } from './sysreg-wasm.js'
import {
  HASH_BLOCK, HASH_ENTRIES, HASH_ENTRY_BYTES, HASH_GEN, HASH_KEY, HASH_SLOT, ST_CHAIN, ST_CHAIN_GEN, ST_HASH, ST_HOPS, ST_PAGE_VA, ST_PC, ST_STOP,
} from './layout.js'
import { FunctionBody, I32, I64, Op, encodeModule } from './wasm-encoder.js'

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
 * The module of one or more regions. Exports region function i as `r<i>`: the runtime puts
 * them into the CPU's chain table (a funcref table only the CPU's dispatcher imports:
 * V8 updates every instance that imports a table on each change to it, which made hundreds
 * of region modules importing it quadratic), and the dispatcher (`chainDispatcher`) calls
 * them from there, so every entry from JS goes through the same wasm function (one call
 * site, one wrapper) and a translation ending in a branch can go straight on to the next
 * one. Many regions per module because V8's cost of a module is mostly fixed (~0.8 ms for a
 * 1.5 KB one). Imports the memory, the TLB fill and the helper; the regions' helper
 * instructions are numbered across the module (`helperRegion` says whose each is).
 */
export function regionModule(regions: readonly Region[], base: number, maxPages: number, sysregs: SysregLookup): RegionModule {
  const helpers: number[] = []
  const helperRegion: number[] = []
  const bodies = regions.map((r, i) => {
    r.helpers = helpers
    const body = new Emitter(r, base, sysregs).build()
    while (helperRegion.length < helpers.length) helperRegion.push(i)
    return body
  })
  const bytes = encodeModule({
    types: TYPES,
    importFunctions: [{ module: 'env', field: 'fill', type: T_FILL }, { module: 'env', field: 'helper', type: T_REGION }],
    importMemory: { module: 'env', field: 'mem', min: 1, max: maxPages, shared: true },
    functions: [
      { type: T_NZCV, body: (nzcvBody ??= nzcvFunction()) },
      { type: T_COND, body: (condBody ??= condFunction()) },
      ...bodies.map((body, i) => ({ type: T_REGION, body, export: `r${i}` })),
    ],
    // V8 caches compiled modules by their bytes: a recompiled page must not share a stale
    // compilation's identity.
    salt: salt++,
  })
  return { bytes, helperRegion }
}

/**
 * The CPU's dispatcher: `run(slot, block) -> exit code` calls the region function in table
 * slot `slot` at its block `block`; while it ends in a branch (EXIT_BRANCH) whose target the
 * chain table holds in the current generation, with ST_CHAIN set and no stop requested, it
 * enters that translation at once (ST_PAGE_VA from the target) instead of returning. Budget
 * and interrupts stay exact: every translation checks the budget at each block start, and a
 * stop request or anything the run loop must look at (ST_CHAIN cleared) ends the chain at the
 * branch, with the state a return to the run loop there would have.
 */
export function chainDispatcher(base: number, maxPages: number): Uint8Array {
  const run = new FunctionBody(2)
  const slot = 0
  const block = 1
  const code = run.local(I32)
  const pc = run.local(I64)
  const e = run.local(I32)
  run.loop('go').block('leave')
  run.get(block).get(slot).callIndirect(T_REGION).tee(code).brIf('leave')
  run.i32(0).mem(Op.i32Load, base + ST_CHAIN).op(Op.i32Eqz).brIf('leave')
  run.i32(0).mem(Op.i32Load, base + ST_STOP).brIf('leave')
  run.i32(0).mem(Op.i64Load, base + ST_PC).set(pc)
  run.get(pc).op(Op.i32WrapI64).i32(2).op(Op.i32ShrU).i32(HASH_ENTRIES - 1).op(Op.i32And)
  run.i32(Math.log2(HASH_ENTRY_BYTES)).op(Op.i32Shl).i32(base + ST_HASH).op(Op.i32Add).set(e)
  run.get(e).mem(Op.i64Load, HASH_KEY).get(pc).op(Op.i64Ne).brIf('leave')
  run.get(e).mem(Op.i32Load, HASH_GEN).i32(0).mem(Op.i32Load, base + ST_CHAIN_GEN).op(Op.i32Ne).brIf('leave')
  run.i32(0).get(pc).i64(~0xfff).op(Op.i64And).mem(Op.i64Store, base + ST_PAGE_VA)
  run.get(e).mem(Op.i32Load, HASH_SLOT).set(slot)
  run.get(e).mem(Op.i32Load, HASH_BLOCK).set(block)
  run.i32(0).i32(0).mem(Op.i32Load, base + ST_HOPS).i32(1).op(Op.i32Add).mem(Op.i32Store, base + ST_HOPS)
  run.br('go').end()
  run.get(code).op(Op.return).end()
  run.op(Op.unreachable)
  return encodeModule({
    types: TYPES,
    importFunctions: [],
    importMemory: { module: 'env', field: 'mem', min: 1, max: maxPages, shared: true },
    importTable: { module: 'env', field: 'table', min: 0 },
    functions: [{ type: T_COND, body: run, export: 'run' }],
  })
}
