import { readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { describe, expect, test } from 'vitest'
import { KVM_MP_STATE_STOPPED, REG_PC, REG_PSTATE, xRegId } from '@tagvm/vmm-api'
import { BOOT_PSTATE, Machine, type MachineIo } from './machine.js'
import type { MachineConfig } from '../config.js'

const guests = fileURLToPath(new URL('../../../../guests/', import.meta.url))
const elf = (name: string): string => `${guests}${name}/${name}.elf`
const recorded = (name: string): Buffer => readFileSync(`${guests}${name}/qemu.out`)

const CONFIG: MachineConfig = { ramBase: 0x4000_0000, ramSize: 128 << 20, cpus: 1, mte: true, backing: 'anon' }

export function consoleCapture(): MachineIo & { bytes(): Buffer; messages: string[]; traced: string[] } {
  const chunks: Uint8Array[] = []
  const messages: string[] = []
  const traced: string[] = []
  return {
    console: (b) => chunks.push(b.slice()),
    message: (t) => messages.push(t),
    bytes: () => Buffer.concat(chunks),
    messages,
    traced,
  }
}

function runGuest(name: string, config: Partial<MachineConfig> = {}): { out: Buffer; machine: Machine; stop: ReturnType<Machine['run']> } {
  const io = consoleCapture()
  const machine = Machine.create({ ...CONFIG, ...config }, io)
  machine.boot(readFileSync(elf(name)), elf(name))
  const stop = machine.run()
  return { out: io.bytes(), machine, stop }
}

// Every bundled guest except tag-workload (168 M instructions, see the bench) against QEMU 10.
const GUESTS = ['hello', 'cpu-basic', 'mte-basic', 'mte-sync', 'mte-access', 'mte-async', 'mte-asym', 'mte-tcma', 'mte-tco', 'mte-block', 'mte-off', 'mte-el0', 'mte-demo']

describe('bundled guests print what they print under QEMU', () => {
  for (const name of GUESTS) {
    test(name, () => {
      const { out, stop } = runGuest(name)
      expect(stop).toEqual({ kind: 'power-off' })
      expect(out.toString('latin1')).toBe(recorded(name).toString('latin1'))
    })
  }
})

test('vCPU 0 starts as QEMU starts a -kernel ELF; secondaries are powered off', () => {
  const machine = Machine.create({ ...CONFIG, cpus: 2 }, consoleCapture())
  const plan = machine.boot(readFileSync(elf('hello')), elf('hello'))
  const [boot, second] = machine.vcpus
  expect(boot!.getOneReg(REG_PC)).toBe(BigInt(plan.entry))
  expect(boot!.getOneReg(REG_PSTATE)).toBe(BOOT_PSTATE)
  expect(boot!.getOneReg(xRegId(0))).toBe(0n)
  expect(second!.getMpState()).toBe(KVM_MP_STATE_STOPPED)
})

test('hello runs the same with two vCPUs, shmem backing, MTE off and more memory', () => {
  for (const config of [{ cpus: 2 }, { backing: 'shmem' as const }, { mte: false }, { ramSize: 512 << 20 }]) {
    const { out, stop } = runGuest('hello', config)
    expect(stop.kind).toBe('power-off')
    expect(out.toString()).toBe(recorded('hello').toString())
  }
})

test('file-backed RAM cannot hold tags: building an MTE machine on it fails with EINVAL', () => {
  expect(() => Machine.create({ ...CONFIG, ramSize: 8 << 20, backing: 'file' }, consoleCapture())).toThrow(/PROT_MTE/)
  const { out, stop } = runGuest('hello', { backing: 'file', mte: false, ramSize: 8 << 20 })
  expect(stop.kind).toBe('power-off')
  expect(out.toString()).toBe(recorded('hello').toString())
})

test('an instruction budget stops the guest exactly and run() continues from there', () => {
  const io = consoleCapture()
  const machine = Machine.create(CONFIG, io)
  machine.boot(readFileSync(elf('mte-demo')), elf('mte-demo'))
  expect(machine.run(50_000)).toEqual({ kind: 'budget' })
  expect(machine.retired).toBe(50_000)
  expect(machine.run(1)).toEqual({ kind: 'budget' })
  expect(machine.retired).toBe(50_001)
  expect(machine.run()).toEqual({ kind: 'power-off' })
  expect(io.bytes().toString()).toBe(recorded('mte-demo').toString())
})

test('--trace prints each executed instruction with its disassembly; the console is unchanged', () => {
  const io = consoleCapture()
  const machine = Machine.create(CONFIG, { ...io, trace: (line) => io.traced.push(line) })
  // movz x1, #0x900, lsl #16; mov w0, #'h'; strb w0, [x1]; mov w0, #'i'; strb w0, [x1]; movz x0, #0x8400, lsl #16; movk x0, #8; hvc #0
  const code = Uint32Array.of(0xd2a12001, 0x52800d00, 0x39000020, 0x52800d20, 0x39000020, 0xd2b08000, 0xf2800100, 0xd4000002)
  machine.boot(new Uint8Array(code.buffer), 'hi.bin', { base: 0x4008_0000 })
  expect(machine.run()).toEqual({ kind: 'power-off' })
  expect(io.bytes().toString()).toBe('hi')
  expect(io.traced).toEqual([
    'cpu0 0x0000000040080000: d2a12001  mov x1, #150994944\n',
    'cpu0 0x0000000040080004: 52800d00  mov w0, #104\n',
    'cpu0 0x0000000040080008: 39000020  strb w0, [x1]\n',
    'cpu0 0x000000004008000c: 52800d20  mov w0, #105\n',
    'cpu0 0x0000000040080010: 39000020  strb w0, [x1]\n',
    'cpu0 0x0000000040080014: d2b08000  mov x0, #2214592512\n',
    'cpu0 0x0000000040080018: f2800100  movk x0, #8\n',
    'cpu0 0x000000004008001c: d4000002  hvc #0\n',
  ])
})

test('--trace follows the guest through its stage-1 tables once the MMU is on', () => {
  const io = consoleCapture()
  const machineIo: MachineIo = { ...io }
  const machine = Machine.create(CONFIG, machineIo)
  machine.boot(readFileSync(elf('mte-tcma')), elf('mte-tcma'))
  // Past the .bss zeroing with the MMU off; then trace the rest (TTBR0 and TTBR1 addresses).
  expect(machine.run(100_000)).toEqual({ kind: 'budget' })
  machineIo.trace = (line) => io.traced.push(line)
  expect(machine.run()).toEqual({ kind: 'power-off' })
  expect(io.traced.length).toBeGreaterThan(1000)
  expect(io.traced.filter((l) => l.includes('????????'))).toEqual([])
  expect(io.traced.some((l) => l.startsWith('cpu0 0xffffffff'))).toBe(false)
  expect(io.bytes().toString()).toBe(recorded('mte-tcma').toString())
})

test('an access to an address with no device reads as zero and is reported once', () => {
  const io = consoleCapture()
  const machine = Machine.create(CONFIG, io)
  // ldr w2, [x1]; ldr w2, [x1]; movz x0, #0x8400, lsl #16; movk x0, #8; hvc #0  with x1 = where QEMU has virtio-mmio
  const code = Uint32Array.of(0xb9400022, 0xb9400022, 0xd2b08000, 0xf2800100, 0xd4000002)
  machine.boot(new Uint8Array(code.buffer), 'probe.bin', { base: 0x4008_0000 })
  machine.vcpus[0]!.setOneReg(xRegId(1), 0x0a00_0000n)
  machine.vcpus[0]!.setOneReg(xRegId(2), 0xffn)
  expect(machine.run()).toEqual({ kind: 'power-off' })
  expect(machine.vcpus[0]!.getOneReg(xRegId(2))).toBe(0n)
  expect(io.messages).toEqual(['guest read from 0xa000000, where no device is (read as zero)'])
})

test('the GICv3 distributor is there: GICD_PIDR2 says ArchRev 3, answered in the kernel (no MMIO exit to report)', () => {
  const io = consoleCapture()
  const machine = Machine.create(CONFIG, io)
  const code = Uint32Array.of(0xb9400022, 0xb9400022, 0xd2b08000, 0xf2800100, 0xd4000002)
  machine.boot(new Uint8Array(code.buffer), 'gic-probe.bin', { base: 0x4008_0000 })
  machine.vcpus[0]!.setOneReg(xRegId(1), 0x0800_ffe8n) // GICD_PIDR2
  expect(machine.run()).toEqual({ kind: 'power-off' })
  expect((machine.vcpus[0]!.getOneReg(xRegId(2)) >> 4n) & 0xfn).toBe(3n)
  expect(io.messages).toEqual([])
})

test('a guest that jumps where no memory is stops with a clear message instead of spinning', () => {
  const machine = Machine.create(CONFIG, consoleCapture())
  // Outside every memslot: KVM injects a prefetch abort, whose vector (VBAR_EL1 = 0) has no memory either.
  machine.vcpus[0]!.setOneReg(REG_PC, 0x1_0000_0000n)
  expect(machine.run(10_000)).toEqual({ kind: 'error', message: 'the guest makes no progress (vCPU 0 at pc 0x200 retires no instructions)' })
})

test('the dirty log reports every page whose data or tags the guest changed (mte-basic, 2000-instruction steps)', () => {
  const machine = Machine.create({ ...CONFIG, ramSize: 8 << 20 }, consoleCapture())
  machine.boot(readFileSync(elf('mte-basic')), elf('mte-basic'))
  const snapshotOf = (): Map<number, string> => new Map([...machine.memory.pages()].map((p) => [p.gpa, `${Buffer.from(p.data ?? []).toString('hex')}/${Buffer.from(p.tags ?? []).toString('hex')}`]))
  machine.memory.startDirtyLog()
  machine.memory.dirtyPages()
  let before = snapshotOf()
  let tagChanges = 0
  for (;;) {
    const stop = machine.run(2000)
    const dirty = new Set(machine.memory.dirtyPages())
    const after = snapshotOf()
    for (const gpa of new Set([...before.keys(), ...after.keys()])) {
      const was = before.get(gpa)
      const now = after.get(gpa)
      if (was === now) continue
      if (was?.split('/')[1] !== now?.split('/')[1]) tagChanges++
      expect({ gpa, dirty: dirty.has(gpa) }).toEqual({ gpa, dirty: true })
    }
    before = after
    if (stop.kind !== 'budget') break
  }
  expect(tagChanges).toBeGreaterThan(0)
})

test('PSCI SYSTEM_RESET ends the run with a reset; CPU_ON starts a secondary that then runs in turn', () => {
  const io = consoleCapture()
  const machine = Machine.create({ ...CONFIG, cpus: 2 }, io)
  // movz x0, #0x8400, lsl #16; movk x0, #9; hvc #0   (SYSTEM_RESET)
  machine.boot(new Uint8Array(Uint32Array.of(0xd2b08000, 0xf2800120, 0xd4000002).buffer), 'reset.bin', { base: 0x4008_0000 })
  expect(machine.run()).toEqual({ kind: 'reset' })

  const two = Machine.create({ ...CONFIG, cpus: 2 }, io)
  // vCPU 0: CPU_ON(target 1, entry 0x40081000, context 0) then spin; vCPU 1 at 0x40081000: SYSTEM_OFF.
  // movz x0, #0xc400, lsl #16; movk x0, #3; mov x1, #1; movz x2, #0x4008, lsl #16; movk x2, #0x1000; mov x3, #0; hvc #0; b .
  const primary = Uint32Array.of(0xd2b88000, 0xf2800060, 0xd2800021, 0xd2a80102, 0xf2820002, 0xd2800003, 0xd4000002, 0x14000000)
  const secondary = Uint32Array.of(0xd2b08000, 0xf2800100, 0xd4000002)
  two.boot(new Uint8Array(primary.buffer), 'smp.bin', { base: 0x4008_0000 })
  two.memory.write(0x4008_1000, new Uint8Array(secondary.buffer))
  expect(two.run()).toEqual({ kind: 'power-off' })
  expect(two.vcpus[1]!.vcpu.cpu.retired).toBeGreaterThan(0)
})
