// The compiled tier (MachineHostOptions.jit): the machine's host memory in a shared
// WebAssembly.Memory and every vCPU's Cpu translating hot code. The guest must not see it:
// the bundled guests print what they print under QEMU and retire what the interpreter
// retires, snapshots taken with the tier on restore with it off and the other way round, and
// the host options it cannot go with are refused with the reason.
import { readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { describe, expect, test } from 'vitest'
import { MachineRefusedError } from '../errors.js'
import type { MachineConfig } from '../config.js'
import { restoreSnapshot } from '../restore.js'
import { encodeSnapshot } from '../snapshot/format.js'
import { MAX_JIT_GUEST_RAM, Machine, type MachineHostOptions } from './machine.js'

const guests = fileURLToPath(new URL('../../../../guests/', import.meta.url))
const elf = (name: string): string => `${guests}${name}/${name}.elf`
const recorded = (name: string): string => readFileSync(`${guests}${name}/qemu.out`, 'latin1')

const CONFIG: MachineConfig = { ramBase: 0x4000_0000, ramSize: 128 << 20, cpus: 1, mte: true, backing: 'anon' }
/** Translate every region at its first entry, so the guests run almost entirely in translations. */
const JIT: MachineHostOptions = { jit: { threshold: 1 } }

interface Run {
  machine: Machine
  console: { text: string }
}

function build(config: MachineConfig, host: MachineHostOptions): Run {
  const console = { text: '' }
  const machine = Machine.create(config, { console: (bytes) => (console.text += Buffer.from(bytes).toString('latin1')) }, host)
  return { machine, console }
}

function runGuest(name: string, host: MachineHostOptions, config: Partial<MachineConfig> = {}): Run & { stop: ReturnType<Machine['run']> } {
  const run = build({ ...CONFIG, ...config }, host)
  run.machine.boot(readFileSync(elf(name)), elf(name))
  return { ...run, stop: run.machine.run() }
}

/** Whether vCPU `index` of a machine runs with the compiled tier (the hypervisor's Cpu behind the fd). */
function hasJit(machine: Machine, index = 0): boolean {
  const cpu = (machine.vcpus[index]!.vcpu as unknown as { cpu: { jit: unknown } }).cpu
  return cpu.jit !== null
}

describe('bundled guests under the compiled tier print what they print under QEMU, retiring what the interpreter retires', () => {
  for (const name of ['hello', 'cpu-basic', 'mte-basic', 'mte-sync', 'mte-async', 'mte-asym', 'mte-el0', 'mte-demo']) {
    test(name, () => {
      const jit = runGuest(name, JIT)
      expect(hasJit(jit.machine)).toBe(true)
      expect(jit.stop).toEqual({ kind: 'power-off' })
      expect(jit.console.text).toBe(recorded(name))
      const interpreter = runGuest(name, {})
      expect(hasJit(interpreter.machine)).toBe(false)
      expect(jit.machine.retired).toBe(interpreter.machine.retired)
    })
  }

  test('two lockstep vCPUs, MTE off: every vCPU has the tier', () => {
    for (const config of [{ cpus: 2 }, { mte: false }]) {
      const { machine, console, stop } = runGuest('hello', { jit: true }, config)
      expect(stop.kind).toBe('power-off')
      expect(console.text).toBe(recorded('hello'))
      for (let i = 0; i < machine.vcpus.length; i++) expect(hasJit(machine, i)).toBe(true)
    }
  })
})

describe('snapshots carry no trace of the tier', () => {
  // mte-demo: MMU on, EL0 and EL1, tag faults; saved at several points mid-run, restored with
  // the tier on and off: the console and the retired count are the uninterrupted run's.
  const whole = runGuest('mte-demo', {})
  for (const [from, to] of [[JIT, {}], [{}, JIT], [JIT, JIT]] as const) {
    test(`saved ${from.jit ? 'with' : 'without'} the tier, restored ${to.jit ? 'with' : 'without'} it`, () => {
      for (const at of [1_000, 20_000, Math.floor(whole.machine.retired / 2)]) {
        const first = build(CONFIG, from)
        first.machine.boot(readFileSync(elf('mte-demo')), elf('mte-demo'))
        expect(first.machine.run(at)).toEqual({ kind: 'budget' })
        const snapshot = encodeSnapshot({ config: first.machine.config, vcpus: first.machine.saveVcpus(), devices: first.machine.saveDevices(), pages: [...first.machine.memory.pages()] })
        let second: Run | undefined
        restoreSnapshot(snapshot, 'mte-demo.snap', (config) => {
          second = build(config, to)
          return second.machine
        })
        expect(hasJit(second!.machine)).toBe(to.jit !== undefined)
        expect(second!.machine.run()).toEqual({ kind: 'power-off' })
        expect(first.console.text + second!.console.text).toBe(whole.console.text)
        expect(first.machine.retired + second!.machine.retired).toBe(whole.machine.retired)
      }
    })
  }
})

describe('the tier refuses what it cannot host, saying why', () => {
  test('vCPU threads, shared host memory, and RAM beyond one WebAssembly.Memory', () => {
    const io = { console: () => {} }
    expect(() => Machine.create(CONFIG, io, { jit: true, threads: { spawn: () => { throw new Error('not reached') } } })).toThrow(/lockstep vCPUs only/)
    expect(() => Machine.create(CONFIG, io, { jit: true, sharedMemory: true })).toThrow(MachineRefusedError)
    const big = MAX_JIT_GUEST_RAM + 2 ** 20
    expect(() => Machine.create({ ...CONFIG, ramSize: big }, io, { jit: true })).toThrow(new RegExp(`${big} bytes of RAM is more than the compiled tier`))
    // Without the tier the same RAM is fine (allocated lazily).
    expect(() => Machine.create({ ...CONFIG, ramSize: big }, io)).not.toThrow()
  })
})
