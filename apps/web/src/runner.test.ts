import { readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { expect, test } from 'vitest'
import { Machine, decodeSnapshot, restoreSnapshot } from '@tagvm/machine'
import type { Report } from './protocol.js'
import { DEFAULT_CONFIG, MachineRunner } from './runner.js'

const guests = fileURLToPath(new URL('../../../guests/', import.meta.url))
const elf = (name: string): Uint8Array => readFileSync(`${guests}${name}/${name}.elf`)
const recorded = (name: string): string => readFileSync(`${guests}${name}/qemu.out`, 'latin1')
const latin1 = (bytes: Uint8Array): string => Buffer.from(bytes).toString('latin1')

/** A runner whose scheduled slices run when `drain()` says, as the worker's event loop would. */
function harness() {
  const reports: Report[] = []
  const tasks: (() => void)[] = []
  const runner = new MachineRunner({ post: (r) => reports.push(r), schedule: (t) => tasks.push(t), sliceMs: 5 })
  const drain = (limit = 100_000): void => {
    for (let i = 0; i < limit && tasks.length > 0; i++) tasks.shift()!()
  }
  const consoleText = (): string => latin1(Buffer.concat(reports.flatMap((r) => (r.type === 'console' ? [r.bytes] : []))))
  const last = <K extends Report['type']>(type: K): Extract<Report, { type: K }> | undefined => reports.filter((r): r is Extract<Report, { type: K }> => r.type === type).at(-1)
  return { runner, reports, drain, consoleText, last }
}

test('runs the MTE demo to power-off in slices: console as QEMU printed it, status and vCPU at the end', () => {
  const h = harness()
  h.runner.handle({ type: 'boot', name: 'mte-demo.elf', bytes: elf('mte-demo') })
  const machine = h.last('machine')!
  expect(machine.config).toEqual(DEFAULT_CONFIG)
  expect(machine).toMatchObject({ name: 'mte-demo.elf', state: 'running', retired: 0 })
  expect(machine.tags.frames.byteLength).toBe((128 << 20) / 4096 * 4)
  h.drain()
  expect(h.consoleText()).toBe(recorded('mte-demo'))
  expect(h.last('status')).toMatchObject({ state: 'stopped', stop: 'the guest powered off (PSCI SYSTEM_OFF)', retired: h.runner.current!.retired })
  const cpu = h.last('cpu')!.cpu
  expect(cpu.disassembly.find((l) => l.current)!.text).toMatch(/^b\s/) // power_off's `hvc` retired; the PC is past it
  expect(cpu.registers.map((r) => r.name).slice(0, 3)).toEqual(['x0', 'x1', 'x2'])
  expect(cpu.system.map((r) => r.name)).toContain('GCR_EL1')
  expect(h.runner.runState).toBe('stopped')
})

test('pause, step and continue: a step retires exactly the instructions asked for, and the disassembly follows the PC', () => {
  const h = harness()
  h.runner.handle({ type: 'boot', name: 'hello.elf', bytes: elf('hello'), paused: true })
  expect(h.last('status')!.state).toBe('paused')
  expect(h.last('machine')!.state).toBe('paused')
  const first = h.last('cpu')!.cpu
  expect(first.pc).toBe('0000000040000000')
  expect(first.disassembly.find((l) => l.current)).toMatchObject({ address: '0000000040000000', symbol: '_start' })
  h.runner.handle({ type: 'step', count: 1 })
  expect(h.runner.current!.retired).toBe(1)
  const second = h.last('cpu')!.cpu
  expect(second.pc).toBe('0000000040000004')
  expect(second.registers.some((r) => r.changed)).toBe(true)
  h.runner.handle({ type: 'step', count: 100 })
  expect(h.runner.current!.retired).toBe(101)
  h.runner.handle({ type: 'continue' })
  h.runner.handle({ type: 'pause' })
  expect(h.runner.runState).toBe('paused')
  h.runner.handle({ type: 'continue' })
  h.drain()
  expect(h.consoleText()).toBe(recorded('hello'))
  expect(h.runner.runState).toBe('stopped')
})

test('a snapshot mid-run is the CLI format: it decodes, and a machine restored from it finishes the demo', () => {
  const h = harness()
  h.runner.handle({ type: 'boot', name: 'mte-demo.elf', bytes: elf('mte-demo'), paused: true })
  // Up to the middle of the demo: objects allocated and tagged, the first bug caught.
  while (!h.consoleText().includes('2. Out-of-bounds write')) h.runner.handle({ type: 'step', count: 1000 })
  const before = h.consoleText()
  const retired = h.runner.current!.retired
  h.runner.handle({ type: 'snapshot' })
  const snap = h.last('snapshot')!
  expect(snap.name).toBe(`mte-demo-${retired}.snap`)
  const decoded = decodeSnapshot(snap.bytes, snap.name)
  expect(decoded.config).toEqual(DEFAULT_CONFIG)
  expect(decoded.pages.some((p) => p.tags && p.tags.some((t) => t !== 0))).toBe(true)
  let rest = ''
  const restored = restoreSnapshot(snap.bytes, snap.name, (c) => Machine.create(c, { console: (b) => (rest += latin1(b)) }))
  expect(restored.run().kind).toBe('power-off')
  expect(before + rest).toBe(recorded('mte-demo'))

  // And the runner restores it too, paused, and runs it on.
  const again = harness()
  again.runner.handle({ type: 'restore', name: snap.name, bytes: snap.bytes })
  expect(again.last('status')).toMatchObject({ state: 'paused', retired: 0 })
  again.runner.handle({ type: 'continue' })
  again.drain()
  expect(again.consoleText()).toBe(rest)
})

test('bad files and impossible commands are reported and change nothing', () => {
  const h = harness()
  h.runner.handle({ type: 'step', count: 1 })
  expect(h.last('error')!.message).toBe('no guest to step: run or load one first')
  h.runner.handle({ type: 'snapshot' })
  expect(h.last('error')!.message).toBe('no guest to save: run or load one first')
  h.runner.handle({ type: 'boot', name: 'hello.elf', bytes: elf('hello'), paused: true })
  const machine = h.runner.current
  const broken = elf('hello').slice(0, 100)
  h.runner.handle({ type: 'boot', name: 'broken.elf', bytes: broken })
  expect(h.last('error')!.message).toMatch(/broken\.elf/)
  h.runner.handle({ type: 'restore', name: 'junk.snap', bytes: new TextEncoder().encode('not a snapshot at all') })
  expect(h.last('error')!.message).toMatch(/junk\.snap/)
  expect(h.runner.current).toBe(machine)
  expect(h.runner.runState).toBe('paused')
  h.runner.handle({ type: 'step', count: 0 })
  expect(h.last('error')!.message).toMatch(/positive integer/)
})

test('typed bytes wait until the guest enables its UART receiver, then reach the receive FIFO in order', () => {
  const h = harness()
  h.runner.handle({ type: 'boot', name: 'hello.elf', bytes: elf('hello'), paused: true })
  h.runner.handle({ type: 'input', bytes: new TextEncoder().encode('hi') })
  // The bundled guests never enable the receiver (UARTCR.RXE and UARTEN), so nothing is taken.
  h.runner.handle({ type: 'step', count: 10 })
  expect(h.last('status')!.inputWaiting).toBe(2)
  const uart = h.runner.current!.uart
  uart.write(0x2c, Uint8Array.of(0x10, 0, 0, 0)) // UARTLCR_H.FEN: FIFOs on (else the receiver holds one byte)
  uart.write(0x30, Uint8Array.of(0x01, 0x03, 0, 0)) // UARTCR = UARTEN | TXE | RXE
  h.runner.handle({ type: 'step', count: 1 })
  expect(h.last('status')!.inputWaiting).toBe(0)
  const fifo = h.runner.current!.saveDevices().find((d) => d.name === 'pl011')!.state.rxFifo
  expect(fifo).toEqual([0x68, 0x69])
})
