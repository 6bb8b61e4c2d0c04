// Calling a kernel, running it on each tier, and the architectural state the checks compare.

import type { CpuExit } from '../../../src/index.js'
import { jsBackend } from './js-backend.js'
import type { Kernel } from './kernels.js'
import { loadKernels } from './kernels.js'
import { RGSR_SEED, STACK_TOP, STUB, STUB_HVC, TAGGED_BLOCK, makeMachine, type Machine } from './machine.js'
import { TierRuntime, type Dispatch } from './runtime.js'
import { makeTableDispatcher, wasmBackend } from './wasm-backend.js'

export type TierName = 'interp' | 'js' | 'wasm'

export interface TierConfig {
  tier: TierName
  /** Basic blocks per translation (translated tiers). */
  maxBlocks: number
  dispatch: Dispatch
  /** wasm: the pointer's tag is part of the TLB compare for checked accesses. */
  tagKeys?: boolean
}

export const REGION = 1 << 20
export const BLOCK = 1

export interface Runner {
  config: TierConfig
  machine: Machine
  runtime: TierRuntime | null
  /** Runs up to `budget` instructions from the Cpu's state. */
  run(budget: number): { exit: CpuExit | null; retired: number }
}

export function makeRunner(config: TierConfig, checks: boolean): Runner {
  const machine = makeMachine({ wasm: config.tier !== 'interp', checks })
  loadKernels(machine)
  if (config.tier === 'interp') {
    return {
      config,
      machine,
      runtime: null,
      run(budget) {
        const before = machine.cpu.retired
        const exit = machine.cpu.run(budget)
        return { exit: exit.kind === 'budget' ? null : exit, retired: machine.cpu.retired - before }
      },
    }
  }
  const runtime = new TierRuntime(machine, config.tier === 'js' ? jsBackend : wasmBackend, {
    maxBlocks: config.maxBlocks,
    dispatch: config.dispatch,
    tagKeys: config.tagKeys ?? false,
  })
  if (config.dispatch === 'table') runtime.tableDispatcher = makeTableDispatcher(runtime)
  return { config, machine, runtime, run: (budget) => runtime.run(budget) }
}

/** Sets up a call of the kernel as guest/main.c makes it (x2 = rounds, LR = the hvc stub). */
export function prepareCall(m: Machine, k: Kernel, rounds: number, args: readonly [bigint, bigint] = k.args): void {
  const cpu = m.cpu
  for (let n = 0; n < 31; n++) cpu.setX(n, 0n)
  cpu.setX(0, args[0])
  cpu.setX(1, args[1])
  cpu.setX(2, BigInt(rounds))
  cpu.setX(30, BigInt(STUB))
  cpu.sp = BigInt(STACK_TOP)
  // EL1h, DAIF masked, NZCV and TCO clear (a tag check fault taken earlier sets TCO).
  cpu.pstate = 0x3c5
  cpu.setSysreg('RGSR_EL1', BigInt(RGSR_SEED << 8))
  cpu.pc = BigInt(k.entry)
}

/** Runs a prepared call to its end (the stub's HVC); returns the instructions retired. */
export function runCall(r: Runner, budget = 2_000_000_000): number {
  const { exit, retired } = r.run(budget)
  if (exit === null || exit.kind !== 'hvc' || exit.imm16 !== STUB_HVC) {
    throw new Error(`${r.config.tier}: the kernel did not return (${exit === null ? 'budget' : JSON.stringify(exit)})`)
  }
  return retired
}

/** Everything the checks compare. */
export interface ArchState {
  x: bigint[]
  sp: bigint
  pc: bigint
  nzcv: number
  rgsr: bigint
  esr: bigint
  far: bigint
  elr: bigint
  /** FNV-1a of the Tagged block's bytes and of its granule tags. */
  dataHash: number
  tagHash: number
}

function fnv(h: number, byte: number): number {
  return Math.imul(h ^ byte, 0x01000193)
}

export function archState(m: Machine): ArchState {
  const cpu = m.cpu
  const bytes = new Uint8Array(0x20_0000)
  m.memory.readBytes(TAGGED_BLOCK, bytes)
  let dataHash = 0x811c9dc5
  for (const b of bytes) dataHash = fnv(dataHash, b)
  let tagHash = 0x811c9dc5
  for (let pa = TAGGED_BLOCK; pa < TAGGED_BLOCK + 0x20_0000; pa += 16) tagHash = fnv(tagHash, m.memory.getTag(pa))
  return {
    x: Array.from({ length: 31 }, (_, n) => cpu.getX(n)),
    sp: cpu.sp,
    pc: cpu.pc,
    nzcv: cpu.pstate >>> 28,
    rgsr: cpu.getSysreg('RGSR_EL1'),
    esr: cpu.getSysreg('ESR_EL1'),
    far: cpu.getSysreg('FAR_EL1'),
    elr: cpu.getSysreg('ELR_EL1'),
    dataHash: dataHash >>> 0,
    tagHash: tagHash >>> 0,
  }
}

/** Differences between two states, as readable lines (empty: equal). */
export function diffStates(a: ArchState, b: ArchState): string[] {
  const out: string[] = []
  const hex = (v: bigint | number): string => `0x${v.toString(16)}`
  for (let n = 0; n < 31; n++) if (a.x[n] !== b.x[n]) out.push(`x${n} ${hex(a.x[n]!)} != ${hex(b.x[n]!)}`)
  for (const k of ['sp', 'pc', 'nzcv', 'rgsr', 'esr', 'far', 'elr', 'dataHash', 'tagHash'] as const) {
    if (a[k] !== b[k]) out.push(`${k} ${hex(a[k])} != ${hex(b[k])}`)
  }
  return out
}
