// Test-only helpers (not exported from index.ts): a machine with guest RAM at IPA
// 0x4000_0000 identity-mapped at stage 2, and assembled snippets.

import { Stage2Builder } from '@tagvm/mmu'
import { PhysicalMemory } from '@tagvm/tag-memory'
import { ASSEMBLED } from './asm.generated.js'
import { Cpu } from './cpu.js'
import type { CpuExit } from './exits.js'
import type { JitOptions } from './jit/jit.js'

export const RAM_BASE = 0x4000_0000
export const CODE = 0x4008_0000

/** Words of an assembled snippet (statements separated by ';' or newlines). */
export function asm(strings: TemplateStringsArray): number[] {
  const source = strings.raw.join('')
  const words = ASSEMBLED.get(source)
  if (!words) throw new Error(`snippet not assembled; run npx tsx scripts/gen-asm.ts:\n${source}`)
  return [...words]
}

export interface Machine {
  memory: PhysicalMemory
  cpu: Cpu
  stage2: Stage2Builder
}

/**
 * Host memory covers PA 0..RAM_BASE+ramSize; guest RAM [RAM_BASE, +ramSize) is mapped
 * 1:1 at stage 2 (Normal WB, RWX). Stage-2 tables live below RAM_BASE, so the guest
 * cannot reach them. Everything else (e.g. the UART at 0x0900_0000) is a stage-2 fault.
 */
export function makeMachine(ramSize = 16 << 20, blocks = true, shared = false, jit?: JitOptions): Machine {
  // The compiled tier needs RAM and tags inside one shared WebAssembly.Memory.
  const wasmMemory = jit === undefined ? undefined : new WasmMemory({ initial: 1, maximum: 65536, shared: true })
  const memory = new PhysicalMemory({ size: RAM_BASE + ramSize, shared, wasmMemory })
  let next = 0x10_0000
  const stage2 = new Stage2Builder(memory, {
    ipaBits: 40,
    allocTable: () => {
      const pa = next
      next += 0x1000
      return pa
    },
  })
  stage2.map(RAM_BASE, RAM_BASE, ramSize, { read: true, write: true, exec: true, memAttr: 0b1111 })
  return { memory, cpu: addCpu(memory, stage2, blocks, jit), stage2 }
}

const WasmMemory = (globalThis as unknown as { WebAssembly: { Memory: new (d: { initial: number; maximum: number; shared: boolean }) => WasmMemoryType } }).WebAssembly.Memory
type WasmMemoryType = NonNullable<ConstructorParameters<typeof PhysicalMemory>[0]['wasmMemory']>

/** Another vCPU of the same machine: its own MMU and caches, the same memory and stage 2. */
export function addCpu(memory: PhysicalMemory, stage2: Stage2Builder, blocks = true, jit?: JitOptions): Cpu {
  const cpu = new Cpu({ memory, blocks, jit: jit ?? false })
  cpu.setVtcrEl2(stage2.vtcr)
  cpu.setVttbrEl2((1n << 48n) | BigInt(stage2.rootPa))
  cpu.setHcrEl2(1n) // VM
  return cpu
}

/** Writes words at a guest physical address (= host PA here) and points PC at it. */
export function load(m: Machine, words: readonly number[], at = CODE): void {
  for (const [i, w] of words.entries()) m.memory.write32(at + 4 * i, w)
  m.cpu.invalidateCode(at, words.length * 4)
  m.cpu.pc = BigInt(at)
}

const hvc = (imm: number): number => (0xd4000002 | (imm << 5)) >>> 0

/** HVC immediate that ends a snippet. */
export const SNIPPET_END = 0xf00d
/** HVC immediate at vector entry k (0..15) is VECTOR_HVC + k. */
export const VECTOR_HVC = 0x100

/**
 * Loads a snippet followed by `hvc #0xf00d` and runs it. Each of the 16 exception vectors
 * holds `hvc #(0x100 + k)`, so an exception taken to EL1 also ends the run; the caller
 * checks the exit's imm16 and ESR_EL1/ELR_EL1.
 */
export function runSnippet(m: Machine, words: readonly number[], budget = 100_000): CpuExit {
  load(m, [...words, hvc(SNIPPET_END)])
  const vbar = RAM_BASE + 0x1000
  for (let k = 0; k < 16; k++) m.memory.write32(vbar + 0x80 * k, hvc(VECTOR_HVC + k))
  m.cpu.invalidateCode(vbar, 0x800)
  m.cpu.setSysreg('VBAR_EL1', BigInt(vbar))
  return m.cpu.run(budget)
}

/**
 * Turns on stage 1 with an identity map of [0x4000_0000, 0x8000_0000) in 2 MiB blocks
 * (Normal WB, MAIR attr 0 = 0xFF; attr 1 = 0xF0 tagged), EL1 RW, executable. Tables are
 * written at RAM_BASE + 0x1_0000. T0SZ = 25 (39-bit VAs, walks start at level 1).
 */
export function enableIdentityMmu(m: Machine): void {
  const l1 = RAM_BASE + 0x1_0000
  const l2 = l1 + 0x1000
  m.memory.write32(l1 + 8, (l2 | 0b11) >>> 0)
  for (let i = 0; i < 512; i++) {
    const pa = RAM_BASE + i * 0x20_0000
    m.memory.write32(l2 + 8 * i, (pa | (1 << 10) | (3 << 8) | 0b01) >>> 0)
  }
  m.cpu.setSysreg('MAIR_EL1', 0xf0ffn)
  m.cpu.setSysreg('TCR_EL1', 25n | (1n << 8n) | (1n << 10n) | (3n << 12n) | (1n << 23n) | (2n << 32n))
  m.cpu.setSysreg('TTBR0_EL1', BigInt(l1))
  m.cpu.setSysreg('SCTLR_EL1', m.cpu.getSysreg('SCTLR_EL1') | 0x1005n)
}

/** The access a data abort's syndrome describes (ESR ISS: ISV, WnR, SAS, SRT, SSE, SF), as a hypervisor reads it. */
export function abortSyndrome(exit: CpuExit): { isv: boolean; isWrite: boolean; size: number; srt: number; signExtend: boolean; sixtyFour: boolean } {
  if (exit.kind !== 'data-abort') throw new Error(`expected a data abort, got ${exit.kind}`)
  const esr = exit.esr
  return {
    isv: ((esr >>> 24) & 1) === 1,
    isWrite: ((esr >>> 6) & 1) === 1,
    size: 1 << ((esr >>> 22) & 3),
    srt: (esr >>> 16) & 31,
    signExtend: ((esr >>> 21) & 1) === 1,
    sixtyFour: ((esr >>> 15) & 1) === 1,
  }
}

/**
 * What a hypervisor does with an emulated MMIO access (the tests' stand-in for it): a load
 * gets `value` in Xt (already extended), then PC moves past the instruction.
 */
export function emulateMmio(cpu: Cpu, exit: CpuExit, value = 0n): void {
  const access = abortSyndrome(exit)
  if (!access.isv) throw new Error('the data abort has no valid syndrome')
  if (!access.isWrite) cpu.setX(access.srt, value)
  cpu.advancePc()
}
