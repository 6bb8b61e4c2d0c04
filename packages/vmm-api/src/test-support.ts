// Test helpers: machine code for asm`...` snippets (encoded by the hypervisor package's
// scripts/gen-asm.ts: `npx tsx ../hypervisor/scripts/gen-asm.ts src`), and a tiny ELF loader.
import { readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { ASSEMBLED } from './asm.generated.js'
import {
  ErrnoError,
  KVM_ARM_VCPU_PSCI_0_2,
  KVM_CAP_ARM_MTE,
  KVM_SYSTEM_EVENT_SHUTDOWN,
  Kvm,
  MAP_ANONYMOUS,
  MAP_PRIVATE,
  PROT_READ,
  PROT_WRITE,
  REG_PC,
  ga,
  sysregId,
  type VcpuFd,
} from './index.js'

export function asm(strings: TemplateStringsArray): Uint8Array {
  const source = strings.raw.join('')
  const words = ASSEMBLED.get(source)
  if (!words) throw new Error(`snippet not assembled yet, run gen-asm: ${source}`)
  const bytes = new Uint8Array(words.length * 4)
  const view = new DataView(bytes.buffer)
  words.forEach((word, i) => view.setUint32(i * 4, word, true))
  return bytes
}

/** Fills 64 KiB at 0x4010_0000 with a pattern, then sums it back (x5: writes, x6: reads); SYSTEM_OFF. */
export const CHECKSUM_GUEST = asm`movz x1, #0x4010, lsl #16; mov x2, #0; mov x5, #0; mov x6, #0; mov x3, #8192; 1: add x4, x2, x2, lsl #3; eor x4, x4, x2, lsl #13; str x4, [x1, x2, lsl #3]; add x5, x5, x4; add x2, x2, #1; cmp x2, x3; b.ne 1b; mov x2, #0; 2: ldr x4, [x1, x2, lsl #3]; add x6, x6, x4; add x2, x2, #1; cmp x2, x3; b.ne 2b; movz x0, #0x8400, lsl #16; movk x0, #8; hvc #0`

export interface LoadSegment {
  readonly paddr: number
  readonly data: Uint8Array
  readonly memsz: number
}

/** The entry point and PT_LOAD segments of a little-endian ELF64 image. */
export function readElf(image: Uint8Array): { entry: number; segments: LoadSegment[] } {
  const view = new DataView(image.buffer, image.byteOffset, image.byteLength)
  if (view.getUint32(0, false) !== 0x7f454c46 || image[4] !== 2 || image[5] !== 1) throw new Error('not a little-endian ELF64 image')
  const entry = Number(view.getBigUint64(24, true))
  const phoff = Number(view.getBigUint64(32, true))
  const phentsize = view.getUint16(54, true)
  const phnum = view.getUint16(56, true)
  const segments: LoadSegment[] = []
  for (let i = 0; i < phnum; i++) {
    const at = phoff + i * phentsize
    if (view.getUint32(at, true) !== 1) continue // PT_LOAD
    const offset = Number(view.getBigUint64(at + 8, true))
    const paddr = Number(view.getBigUint64(at + 24, true))
    const filesz = Number(view.getBigUint64(at + 32, true))
    const memsz = Number(view.getBigUint64(at + 40, true))
    segments.push({ paddr, data: image.subarray(offset, offset + filesz), memsz })
  }
  return { entry, segments }
}

/** Counts x1 down from 0x2fa0000 (49.9 M) to 0, then SYSTEM_OFF: two instructions a step. */
export const SPIN_GUEST = asm`movz x1, #0x2fa, lsl #16; 1: subs x1, x1, #1; b.ne 1b; movz x0, #0x8400, lsl #16; movk x0, #8; hvc #0`

/** Writes the PL011 data register 65536 times (one MMIO exit each), then SYSTEM_OFF. */
export const UART_GUEST = asm`movz x2, #0x900, lsl #16; movz x1, #0x1, lsl #16; 1: strb w1, [x2]; subs x1, x1, #1; b.ne 1b; movz x0, #0x8400, lsl #16; movk x0, #8; hvc #0`

export const GUESTS = fileURLToPath(new URL('../../../guests/', import.meta.url))
const RAM = 0x4000_0000
const SCTLR_EL1 = sysregId(3, 0, 1, 0, 0)

export interface ElfRunOptions {
  /** SCTLR_EL1 to start with (QEMU TCG's 0xc50838 to match its recordings). */
  readonly sctlr?: bigint
  readonly mte?: boolean
  /** Host ID_AA64PFR1_EL1.MTE (QEMU's -cpu max has MTE3). */
  readonly hostMteLevel?: 0 | 2 | 3
  /** Instructions per KVM_RUN. */
  readonly budget?: number
  /** Called whenever a run returns KVM_EXIT_INTR (the host can swap, migrate...). */
  readonly betweenRuns?: (kvm: Kvm, ram: number) => void
}

/** A VM with `ramSize` bytes of RAM at 0x4000_0000 (no PROT_MTE) and one initialised vCPU. */
export function bootMachine(kvm: Kvm, options: { ramSize?: number; mte?: boolean; sctlr?: bigint } = {}) {
  const vmFd = kvm.createVm({ ipaBits: 40 })
  if (options.mte) vmFd.enableCap(KVM_CAP_ARM_MTE)
  const size = options.ramSize ?? 128 * 1024 * 1024
  const ram = kvm.mmap({ length: size, prot: PROT_READ | PROT_WRITE, flags: MAP_PRIVATE | MAP_ANONYMOUS })
  vmFd.setUserMemoryRegion({ slot: 0, flags: 0, guestPhysAddr: ga(RAM), memorySize: size, userspaceAddr: ram })
  const vcpu = vmFd.createVcpu(0)
  vcpu.init({ ...vmFd.armPreferredTarget(), features: [KVM_ARM_VCPU_PSCI_0_2] })
  if (options.sctlr !== undefined) vcpu.setOneReg(SCTLR_EL1, options.sctlr)
  return { vmFd, vcpu, ram, size }
}

/** Copies guests/<name>/<name>.elf into RAM through the VMM's mapping; returns the entry point. */
export function loadElf(kvm: Kvm, ram: number, name: string): number {
  const elf = readElf(new Uint8Array(readFileSync(`${GUESTS}${name}/${name}.elf`)))
  for (const segment of elf.segments) {
    kvm.process.userWrite(ram + segment.paddr - RAM, segment.data)
    const zeroes = segment.memsz - segment.data.length
    if (zeroes > 0) kvm.process.userWrite(ram + segment.paddr - RAM + segment.data.length, new Uint8Array(zeroes))
  }
  return elf.entry
}

/**
 * Runs until SYSTEM_OFF, another exit, or (with `stopOnIntr`) the first spent budget,
 * appending PL011 output to `console.text`.
 */
export function runGuest(
  vcpu: VcpuFd,
  console: { text: string },
  options: { budget?: number; stopOnIntr?: boolean; betweenRuns?: () => void; stopWhen?: (text: string) => boolean } = {},
): string {
  for (let exits = 0; exits < 10_000_000; exits++) {
    const exit = vcpu.run(options.budget)
    if (exit.kind === 'mmio') {
      if (exit.write && exit.addr === 0x0900_0000) console.text += String.fromCharCode(exit.data[0] ?? 0)
      else if (!exit.write) exit.data.fill(0) // every other PL011 register reads 0
      if (options.stopWhen?.(console.text)) {
        // What a VMM does before saving: KVM_RUN with immediate_exit completes the access.
        vcpu.immediateExit = true
        try {
          vcpu.run()
        } catch (error) {
          if (!(error instanceof ErrnoError && error.code === 'EINTR')) throw error
        } finally {
          vcpu.immediateExit = false
        }
        return 'stopped'
      }
      continue
    }
    if (exit.kind === 'intr') {
      if (options.stopOnIntr) return 'intr'
      options.betweenRuns?.()
      continue
    }
    return exit.kind === 'system-event' && exit.type === KVM_SYSTEM_EVENT_SHUTDOWN ? 'shutdown' : exit.kind
  }
  throw new Error('the guest did not stop')
}

/** Loads guests/<name>/<name>.elf into 128 MiB of RAM at 0x4000_0000 and runs it, collecting PL011 output. */
export function runElfGuest(name: string, options: ElfRunOptions = {}): { uart: string; exit: string; kvm: Kvm } {
  const kvm = Kvm.open({ hostMemory: 256 * 1024 * 1024, hostMteLevel: options.hostMteLevel ?? 3 })
  const { vcpu, ram } = bootMachine(kvm, options)
  vcpu.setOneReg(REG_PC, BigInt(loadElf(kvm, ram, name)))
  const console = { text: '' }
  const exit = runGuest(vcpu, console, { ...(options.budget ? { budget: options.budget } : {}), betweenRuns: () => options.betweenRuns?.(kvm, ram) })
  return { uart: console.text, exit, kvm }
}
