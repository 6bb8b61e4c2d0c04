// Cpu.kick (kick.ts): another thread ends a run promptly by bumping a word in shared memory, at an
// instruction boundary, whatever budget the run was given (vCPU threads, issue 18).
import { Worker } from 'node:worker_threads'
import { describe, expect, it } from 'vitest'
import { CODE, load, makeMachine } from './test-helpers.js'

const B_SELF = 0x14000000 // b .
const NOP = 0xd503201f
const B_BACK3 = 0x17fffffe // b .-8 (back to the first of three instructions)

describe('kick word', () => {
  it('a run whose word already moved ends before its first instruction, kicked', () => {
    const m = makeMachine()
    load(m, [B_SELF])
    const words = new Int32Array(new SharedArrayBuffer(8))
    words[1] = 5
    m.cpu.kick.watch(words, 1, 4)
    expect(m.cpu.run(1_000).kind).toBe('budget')
    expect(m.cpu.kick.kicked).toBe(true)
    expect(m.cpu.retired).toBe(0)
    expect(m.cpu.pc).toBe(BigInt(CODE))
  })

  it('an unmoved word changes nothing; null stops watching', () => {
    const m = makeMachine()
    load(m, [NOP, NOP, B_BACK3])
    const words = new Int32Array(new SharedArrayBuffer(4))
    m.cpu.kick.watch(words, 0, 0)
    expect(m.cpu.run(3_000).kind).toBe('budget')
    expect([m.cpu.kick.kicked, m.cpu.retired]).toEqual([false, 3_000])
    words[0] = 1
    m.cpu.kick.watch(null)
    expect(m.cpu.run(300).kind).toBe('budget')
    expect([m.cpu.kick.kicked, m.cpu.retired]).toEqual([false, 3_300])
  })

  it('another thread bumping the word ends an endless loop at an instruction boundary', { timeout: 30_000 }, async () => {
    for (const blocks of [true, false]) {
      const m = makeMachine(16 << 20, blocks)
      load(m, [NOP, NOP, B_BACK3])
      const words = new Int32Array(new SharedArrayBuffer(4))
      m.cpu.kick.watch(words, 0, 0)
      const kicker = new Worker(
        `const { workerData } = require('node:worker_threads'); const w = new Int32Array(workerData); Atomics.wait(w, 0, 0, 200); Atomics.add(w, 0, 1); Atomics.notify(w, 0)`,
        { eval: true, workerData: words.buffer },
      )
      const budget = Number.MAX_SAFE_INTEGER
      expect(m.cpu.run(budget).kind).toBe('budget')
      await kicker.terminate()
      expect(m.cpu.kick.kicked).toBe(true)
      expect(m.cpu.retired).toBeGreaterThan(0)
      expect(m.cpu.retired).toBeLessThan(budget)
      // Stopped at an instruction of the loop, nothing half done.
      expect([CODE, CODE + 4, CODE + 8]).toContain(Number(m.cpu.pc))
    }
  })
})
