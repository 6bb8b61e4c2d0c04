// Decoded code stays coherent with every writer: another vCPU's stores, and writes from
// outside any CPU (a VMM or device on another thread, through the same shared memory),
// become visible to a vCPU that has executed the old instructions once the architecture
// says they must: after IC IVAU (by either CPU) and a context synchronisation (ISB).
import { PhysicalMemory } from '@tagvm/tag-memory'
import { describe, expect, test } from 'vitest'
import { CODE, SNIPPET_END, addCpu, asm, makeMachine, type Machine } from './test-helpers.js'
import type { Cpu } from './cpu.js'

const PATCHED = CODE + 0x1000 // movz x0, #1; hvc #0xf00d: the instruction others rewrite
const WRITER = CODE + 0x2000 // vCPU B's code
const SYNC = CODE + 0x3000 // vCPU A's code
const MOVZ_X0_2 = 0xd2800040

/** Runs from `pc` until the snippet's HVC; returns X0. */
function runAt(cpu: Cpu, pc: number): bigint {
  cpu.pc = BigInt(pc)
  expect(cpu.run(1000)).toMatchObject({ kind: 'hvc', imm16: SNIPPET_END })
  return cpu.getX(0)
}

function write(m: Machine, at: number, words: readonly number[]): void {
  words.forEach((w, i) => m.memory.write32(at + 4 * i, w))
}

/** A machine whose vCPU A has executed PATCHED often enough to hold it decoded (and as a block). */
function hotMachine(blocks: boolean, shared = false): { m: Machine; a: Cpu } {
  const m = makeMachine(16 << 20, blocks, shared)
  write(m, PATCHED, asm`movz x0, #1; hvc #0xf00d`)
  const a = m.cpu
  for (let i = 0; i < 20; i++) expect(runAt(a, PATCHED)).toBe(1n)
  return { m, a }
}

describe.each([true, false])('code coherence (blocks %s)', (blocks) => {
  /** B runs `writer` (with x1 = the new instruction, x2 = its address), then A runs `sync` and reaches it. */
  function patchOnB(writer: readonly number[], sync: readonly number[]): bigint {
    const { m, a } = hotMachine(blocks)
    const b = addCpu(m.memory, m.stage2, blocks)
    write(m, WRITER, writer)
    b.setX(1, BigInt(MOVZ_X0_2))
    b.setX(2, BigInt(PATCHED))
    runAt(b, WRITER)
    write(m, SYNC, sync)
    a.setX(2, BigInt(PATCHED))
    return runAt(a, SYNC)
  }

  test('vCPU B stores a new instruction; IC IVAU + ISB on A; A executes the new one', () => {
    expect(patchOnB(asm`str w1, [x2]; hvc #0xf00d`, asm`ic ivau, x2; dsb ish; isb; br x2`)).toBe(2n)
  })

  test('B patches and cleans (DC CVAU, IC IVAU) as Linux does; A only needs ISB', () => {
    expect(patchOnB(asm`str w1, [x2]; dc cvau, x2; dsb ish; ic ivau, x2; dsb ish; hvc #0xf00d`, asm`isb; br x2`)).toBe(2n)
  })

  test('IC IALLUIS on B drops A decoded code of every page', () => {
    expect(patchOnB(asm`str w1, [x2]; dsb ish; ic ialluis; dsb ish; hvc #0xf00d`, asm`isb; br x2`)).toBe(2n)
  })

  test('a VMM on another thread writes through its own view of the shared memory; IC IVAU + ISB on A', () => {
    const { m, a } = hotMachine(blocks, true)
    // What a VMM (or a device model doing DMA) in a worker thread holds: the same buffers.
    const vmm = PhysicalMemory.attach(m.memory.share())
    vmm.write32(PATCHED, MOVZ_X0_2)
    write(m, SYNC, asm`ic ivau, x2; dsb ish; isb; br x2`)
    a.setX(2, BigInt(PATCHED))
    expect(runAt(a, SYNC)).toBe(2n)
    // And without any maintenance, a new run (KVM_RUN) sees a host write at once.
    vmm.write32(PATCHED, 0xd2800060) // movz x0, #3
    expect(runAt(a, PATCHED)).toBe(3n)
  })
})

test('a store by the executing CPU into its own code ends its block and is seen at once (self-modifying code)', () => {
  const m = makeMachine()
  // A loop whose body rewrites the instruction after it, as a JIT would.
  write(m, CODE, asm`str w1, [x2]; movz x0, #1; hvc #0xf00d`)
  m.cpu.setX(1, BigInt(MOVZ_X0_2))
  m.cpu.setX(2, BigInt(CODE + 4))
  expect(runAt(m.cpu, CODE)).toBe(2n)
})
