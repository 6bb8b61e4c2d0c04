// Single-copy atomicity between vCPU threads (guests/smp-tear): aligned 64- and 32-bit stores,
// each element of an STP pair and ST2G's tags, made by one vCPU while others load them, are
// never seen half old and half new.
import { readFileSync } from 'node:fs'
import { describe, expect, test } from 'vitest'
import { Machine, parseElf64, type MachineConfig } from '../index.js'
import { spawnSourceWorker } from '../smp/node-spawn.test-support.js'

const GUESTS = new URL('../../../../guests/', import.meta.url)
const FILE = 'smp-tear.elf'
const TEAR = readFileSync(new URL(`smp-tear/${FILE}`, GUESTS))
const symbols = new Map(parseElf64(TEAR, FILE).symbols.map((s) => [s.name, s.value]))
const qemu = (cpus: number) => readFileSync(new URL(`smp-tear/qemu-smp${cpus}.out`, GUESTS), 'utf8')

function symbol(name: string): number {
  const at = symbols.get(name)
  if (at === undefined) throw new Error(`${FILE} has no symbol ${name}`)
  return at
}

function run(cpus: number, threads: boolean): { output: string; changes: number } {
  const config: MachineConfig = { ramBase: 0x4000_0000, ramSize: 16 << 20, cpus, mte: true, backing: 'anon', clock: 'host' }
  let output = ''
  const machine = Machine.create(config, { console: (b) => (output += new TextDecoder().decode(b)) }, threads ? { threads: { spawn: spawnSourceWorker } } : {})
  try {
    machine.boot(TEAR, FILE)
    expect(machine.run()).toEqual({ kind: 'power-off' })
    const changes = new Uint8Array(8)
    machine.memory.read(symbol('tear_changes'), changes)
    return { output, changes: Number(new DataView(changes.buffer).getBigUint64(0, true)) }
  } finally {
    machine.close()
  }
}

describe('single-copy atomicity across vCPUs (smp-tear guest)', () => {
  test('in lockstep, as QEMU: nothing torn', () => {
    expect(run(2, false).output).toBe(qemu(2))
  })

  // Each run boots its workers (seconds; several times that under load).
  test.each([2, 4])('on %i threads: nothing torn while the stores and loads overlap', { timeout: 300_000 }, (cpus) => {
    const { output, changes } = run(cpus, true)
    expect(output).toBe(qemu(cpus))
    // The readers saw the writer's values change under them (each reads on until it has seen
    // 64 changes): the accesses really overlapped.
    expect(changes).toBeGreaterThanOrEqual(64 * (cpus - 1))
  })
})
