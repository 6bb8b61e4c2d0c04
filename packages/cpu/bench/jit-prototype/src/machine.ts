// The machine every tier runs on: guest RAM at 0x4000_0000 (stage 2 identity), stage 1 on
// with an identity map in 2 MiB blocks, the block at 0x4020_0000 Normal Tagged, MTE enabled
// as KVM gives it to a guest (ID_AA64PFR1_EL1.MTE = 3, HCR_EL2.ATA), TBI0 on, and tag
// checking synchronous (TCF = 1) or off (TCF = 0). Only public APIs of the packages.

import { Cpu } from '../../../src/index.js'
import { Stage2Builder } from '@tagvm/mmu'
import { PhysicalMemory, type SharedMemoryHandle } from '@tagvm/tag-memory'
import { Wasm, type WasmMemory } from './wasm-api.js'
import { PAGE, RAM_BASE, RAM_SIZE, TAG_BYTES_PER_PAGE, WASM_PAGES, WASM_TAGS } from './layout.js'

export interface Machine {
  memory: PhysicalMemory
  cpu: Cpu
  /** The WebAssembly.Memory holding RAM, tags and the tier's state (null: plain memory). */
  wasmMemory: WasmMemory | null
  checks: boolean
}

/** Vectors: entry k holds `hvc #(0x100 + k)`, so an exception to EL1 ends the run. */
export const VBAR = RAM_BASE + 0x1000
const L1 = RAM_BASE + 0x1_0000
const L2 = L1 + 0x1000
/** A return from a kernel lands here: `hvc #0xf00d`. */
export const STUB = RAM_BASE + 0x9_0000
export const STUB_HVC = 0xf00d
export const STACK_TOP = RAM_BASE + 0x10_0000
export const TAGGED_BLOCK = RAM_BASE + 0x20_0000
export const RGSR_SEED = 0xace1

const hvc = (imm: number): number => (0xd4000002 | (imm << 5)) >>> 0

/**
 * `wasm`: RAM and tags inside one shared WebAssembly.Memory, through PhysicalMemory's shared
 * mode: its data regions and its tag buffer may be any SharedArrayBuffers, and a shared
 * WebAssembly.Memory's buffer is one. RAM's data is region 1 (wasm offset 0 = PA RAM_BASE);
 * the tag buffer is the same wasm buffer, where frame pfn's tags sit at pfn * 256, i.e.
 * RAM's tags from WASM_TAGS = 64 MiB, clear of RAM's 16 MiB. Frames below RAM_BASE (the
 * stage-2 tables) would alias wasm bytes if they were ever tagged; nothing tags them.
 */
export function makeMachine(options: { wasm: boolean; checks: boolean }): Machine {
  const size = RAM_BASE + RAM_SIZE
  let memory: PhysicalMemory
  let wasmMemory: WasmMemory | null = null
  if (options.wasm) {
    wasmMemory = new Wasm.Memory({ initial: WASM_PAGES, maximum: WASM_PAGES, shared: true })
    const buffer = wasmMemory.buffer as SharedArrayBuffer
    if (WASM_TAGS + (RAM_SIZE / PAGE) * TAG_BYTES_PER_PAGE > buffer.byteLength) throw new Error('wasm memory too small for the tags')
    const handle: SharedMemoryHandle = {
      size,
      dataRegions: [new SharedArrayBuffer(RAM_BASE), buffer],
      tags: buffer,
      flags: new SharedArrayBuffer((size / PAGE + 1) * 4),
    }
    // The constructor, not attach(): attach() insists the regions add up to exactly `size`.
    memory = new PhysicalMemory({ size, shared: true }, handle)
  } else {
    memory = new PhysicalMemory({ size })
  }
  let next = 0x10_0000
  const stage2 = new Stage2Builder(memory, {
    ipaBits: 40,
    allocTable: () => {
      const pa = next
      next += 0x1000
      return pa
    },
  })
  stage2.map(RAM_BASE, RAM_BASE, RAM_SIZE, { read: true, write: true, exec: true, memAttr: 0b1111 })
  const cpu = new Cpu({ memory })
  cpu.setVtcrEl2(stage2.vtcr)
  cpu.setVttbrEl2((1n << 48n) | BigInt(stage2.rootPa))
  cpu.setHcrEl2(1n | (1n << 56n)) // VM, ATA
  cpu.setSysreg('ID_AA64PFR1_EL1', cpu.getSysreg('ID_AA64PFR1_EL1') | (3n << 8n))

  // Stage 1: [0x4000_0000, 0x8000_0000) in 2 MiB blocks, MAIR attr 0 = 0xFF, attr 1 = 0xF0.
  memory.write32(L1 + 8, (L2 | 0b11) >>> 0)
  for (let i = 0; i < 512; i++) {
    const pa = RAM_BASE + i * 0x20_0000
    const attr = pa === TAGGED_BLOCK ? 1 : 0
    memory.write32(L2 + 8 * i, (pa | (1 << 10) | (3 << 8) | (attr << 2) | 0b01) >>> 0)
  }
  cpu.setSysreg('MAIR_EL1', 0xf0ffn)
  // T0SZ 25, WBWA inner/outer, inner shareable, EPD1, TBI0.
  cpu.setSysreg('TCR_EL1', 25n | (1n << 8n) | (1n << 10n) | (3n << 12n) | (1n << 23n) | (2n << 32n) | (1n << 37n))
  cpu.setSysreg('TTBR0_EL1', BigInt(L1))
  const tcf = options.checks ? 1n : 0n
  cpu.setSysreg('SCTLR_EL1', cpu.getSysreg('SCTLR_EL1') | 0x1005n | (1n << 43n) | (tcf << 40n))
  cpu.setSysreg('GCR_EL1', 0n)
  cpu.setSysreg('RGSR_EL1', BigInt(RGSR_SEED << 8))

  for (let k = 0; k < 16; k++) memory.write32(VBAR + 0x80 * k, hvc(0x100 + k))
  cpu.setSysreg('VBAR_EL1', BigInt(VBAR))
  memory.write32(STUB, hvc(STUB_HVC))
  cpu.invalidateCode(RAM_BASE, 0x10_0000)
  return { memory, cpu, wasmMemory, checks: options.checks }
}
