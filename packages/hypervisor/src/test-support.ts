// Helpers shared by the hypervisor's tests: a host with memory, a VMM process, and
// synthetic stage-2 abort records built the way the CPU builds them.
import { ErrnoError, HostKernel, MAP_ANONYMOUS, MAP_PRIVATE, PROT_READ, PROT_WRITE, PhysicalMemory, type HostMm } from '@tagvm/tag-memory'
import { Hypervisor } from './hypervisor.js'
import type { GuestAbort } from './fault.js'
import type { MtePolicy, Vm } from './vm.js'
import { ASSEMBLED } from './asm.generated.js'

export const KiB = 1024
export const MiB = 1024 * KiB
export const GUEST_RAM = 0x4000_0000

export interface TestHost {
  memory: PhysicalMemory
  kernel: HostKernel
  mm: HostMm
  hv: Hypervisor
  vm: Vm
}

export function makeHost(options: { memory?: number; hostMteLevel?: 0 | 2 | 3; mtePolicy?: MtePolicy; ipaBits?: number; firstFrame?: number } = {}): TestHost {
  const memory = new PhysicalMemory({ size: options.memory ?? 64 * MiB })
  const kernel = new HostKernel({ memory, firstFrame: options.firstFrame ?? 0 })
  const mm = kernel.createMm()
  const hv = new Hypervisor({ kernel, hostMteLevel: options.hostMteLevel ?? 3 })
  const vm = hv.createVm({ mm, ipaBits: options.ipaBits ?? 40, mtePolicy: options.mtePolicy ?? 'linux' })
  return { memory, kernel, mm, hv, vm }
}

/** mmap of anonymous private RAM (no PROT_MTE unless asked). */
export function anonRam(mm: HostMm, length: number, extraProt = 0, flags = MAP_PRIVATE): number {
  return mm.mmap({ length, prot: PROT_READ | PROT_WRITE | extraProt, flags: flags | MAP_ANONYMOUS })
}

const DABT = 0x24
const IABT = 0x20
export const FSC_TRANSLATION_L3 = 0x07
export const FSC_PERMISSION_L3 = 0x0f
export const FSC_ACCESS_FLAG_L3 = 0x0b

function esr(ec: number, iss: number): number {
  return ((ec << 26) | (1 << 25) | iss) >>> 0
}

function record(ipa: number, esrValue: number): GuestAbort {
  return { esr: esrValue, hpfar: Math.floor(ipa / 4096) * 16, farLo: ipa & 0xfff }
}

/** A data abort on `ipa`: translation fault unless `fsc` says otherwise. */
export function dataAbort(
  ipa: number,
  options: { write?: boolean; fsc?: number; isv?: boolean; size?: 1 | 2 | 4 | 8; srt?: number; s1ptw?: boolean; cm?: boolean } = {},
): GuestAbort {
  const size = options.size ?? 4
  let iss = options.fsc ?? FSC_TRANSLATION_L3
  if (options.write) iss |= 1 << 6
  if (options.s1ptw) iss |= 1 << 7
  if (options.cm) iss |= 1 << 8
  if (options.isv ?? true) {
    iss |= (1 << 24) | ({ 1: 0, 2: 1, 4: 2, 8: 3 }[size] << 22) | ((options.srt ?? 1) << 16) | (size === 8 ? 1 << 15 : 0)
  }
  return record(ipa, esr(DABT, iss))
}

export function instructionAbort(ipa: number, fsc = FSC_TRANSLATION_L3): GuestAbort {
  return record(ipa, esr(IABT, fsc))
}

/**
 * A host with transparent huge pages always on: guest RAM (4 MiB at GUEST_RAM + slotOffset)
 * gets a 2 MiB huge page on its first write fault.
 */
export function hugeHost(slotOffset = 0, mte = false) {
  const memory = new PhysicalMemory({ size: 64 * MiB })
  const kernel = new HostKernel({ memory, transparentHugepages: 'always' })
  const mm = kernel.createMm()
  const hv = new Hypervisor({ kernel })
  const vm = hv.createVm({ mm, ipaBits: 40 })
  if (mte) vm.enableMte()
  const hva = anonRam(mm, 4 * MiB)
  vm.setUserMemoryRegion({ slot: 0, flags: 0, guestPhysAddr: GUEST_RAM + slotOffset, memorySize: 4 * MiB, userspaceAddr: hva })
  return { memory, kernel, mm, hv, vm, hva }
}

/** Machine code for an assembly snippet (encoded by scripts/gen-asm.ts; rerun it after editing snippets). */
export function asm(strings: TemplateStringsArray): Uint8Array {
  const source = strings.raw.join('')
  const words = ASSEMBLED.get(source)
  if (!words) throw new Error(`snippet not assembled yet, run scripts/gen-asm.ts: ${source}`)
  const bytes = new Uint8Array(words.length * 4)
  const view = new DataView(bytes.buffer)
  words.forEach((word, i) => view.setUint32(i * 4, word, true))
  return bytes
}

/**
 * What a guest access does until it succeeds: a translation fault while the IPA is unmapped,
 * a permission fault while a write finds it read-only (the handler may ask for a retry).
 */
export function touch(vm: Vm, ipa: number, write = false): void {
  for (let attempt = 0; attempt < 4; attempt++) {
    const mapping = vm.stage2.query(ipa)
    if (mapping && (!write || mapping.attrs.write)) return
    const outcome = vm.handleGuestAbort(dataAbort(ipa, { write, ...(mapping ? { fsc: FSC_PERMISSION_L3 } : {}) }))
    if (outcome.kind !== 'resume') throw new Error(`access to 0x${ipa.toString(16)} did not resume: ${outcome.kind}`)
  }
  throw new Error(`access to 0x${ipa.toString(16)} did not settle`)
}

/** The errno code `fn` fails with, or 'no error'. */
export function errno(fn: () => unknown): string {
  try {
    fn()
  } catch (error) {
    if (error instanceof ErrnoError) return error.code
    throw error
  }
  return 'no error'
}
