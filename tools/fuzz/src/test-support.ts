// Test helpers: scenarios with a hand-written program in place of the random code.
import { NOP, Sys } from './encode.js'
import { generateScenario } from './generate.js'
import { scenarioImage } from './image.js'
import { CODE_GPA, LOG_OFFSET, SLOT1_GPA } from './layout.js'
import type { Machine } from './machine.js'
import { hex64, type PageKind, type Regime, type Scenario } from './scenario.js'

/** The first generated scenario (seeds `prefix:0`, `prefix:1`, ...) that `accept` likes. */
export function findScenario(prefix: string, accept: (s: Scenario) => boolean, instructions?: number): Scenario {
  for (let i = 0; i < 10_000; i++) {
    const s = generateScenario(`${prefix}:${i}`, { strict: true, ...(instructions ? { instructions } : {}) })
    if (accept(s)) return s
  }
  throw new Error(`no scenario for ${prefix}`)
}

export interface ProgramOptions {
  readonly mmu: Regime['mmu']
  /** Exception level the program runs at. */
  readonly el: 0 | 1
  readonly mte: boolean
  /** Registers to set (others keep the generated values). */
  readonly x?: Readonly<Record<number, bigint>>
  /** Stage-1 kind of the first 64 KiB of slot 1. */
  readonly dataKind?: PageKind
  readonly instructions?: number
}

/**
 * A one-vCPU scenario from a generated one with the wanted regime, running `program` from
 * the start of the code (the rest NOPs, then the handler's restart), no perturbations, and
 * slot 1 page 0 filled by the VMM.
 */
export function programScenario(name: string, program: readonly number[], options: ProgramOptions): Scenario {
  const base = findScenario(`program-${name}`, (s) => s.regime.mmu === options.mmu && s.mte === options.mte && s.vcpus.length === 1)
  const code = [...program, ...Array<number>(1024 - program.length).fill(NOP)]
  const vcpu = base.vcpus[0]
  if (!vcpu) throw new Error('no vCPU')
  const x = vcpu.x.map((v, n) => (options.x?.[n] !== undefined ? hex64(options.x[n] as bigint) : v))
  const spsr = (BigInt(vcpu.spsr) & ~0x1fn & ~(1n << 25n)) | (options.el === 0 ? 0n : 5n)
  const pages = base.pages.map((p) => (p.va === SLOT1_GPA && options.dataKind ? { ...p, kind: options.dataKind } : p))
  // Keep TBI0 on so tagged pointers translate.
  const regime = { ...base.regime, tcr: hex64(BigInt(base.regime.tcr) | (1n << 37n)) }
  return {
    ...base,
    regime,
    pages,
    code,
    vcpus: [{ ...vcpu, x, spsr: hex64(spsr), entry: 0, startedByPsci: false }],
    filledPages: [[1, 0]],
    slices: [options.instructions ?? 2000],
    perturbations: [],
  }
}

/** The first 8 bytes of slot 1 as the VMM filled them, and the tag of that granule. */
export function slot1First(s: Scenario): { value: bigint; tag: number } {
  const image = scenarioImage(s).get(1)
  const page = image?.pages.get(0)
  if (!page) throw new Error('slot 1 page 0 is not filled')
  return { value: new DataView(page.buffer, page.byteOffset).getBigUint64(0, true), tag: image?.tags.get(0)?.[0] ?? 0 }
}

/** The exception log of vCPU 0: how many, and the ring entries (vector, ESR, FAR, ELR). */
export function exceptionLog(m: Machine, vcpu = 0): { count: number; entries: { vector: number; esr: number; far: bigint; elr: bigint }[] } {
  const page = new Uint8Array(4096)
  m.process.userRead(m.slot(0).hva + LOG_OFFSET + vcpu * 0x1000, page)
  const view = new DataView(page.buffer)
  const count = Number(view.getBigUint64(0, true))
  const entries = []
  for (let i = 1; i <= Math.min(count, 63); i++) {
    const at = 64 + i * 32
    entries.push({ vector: Number(view.getBigUint64(at, true)), esr: Number(view.getBigUint64(at + 8, true)), far: view.getBigUint64(at + 16, true), elr: view.getBigUint64(at + 24, true) })
  }
  return { count, entries }
}

export const CODE = BigInt(CODE_GPA)
export { Sys }
